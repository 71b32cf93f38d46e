"""One number, every screen (issue 13, item 5).

For the same period and scope, the count, average, fair score, prior C and
praise-to-criticism ratio are computed from every screen's loader and the command
line on the demo floor, and must be equal: the Leaderboard page's loader, the
Coaching page's team table, My page, the wall, `rank` and `ratios`.

The clock is the demo floor's (a Wednesday, the end of its history): the Manila week
and the UTC week hold different ratings, so a week counted in the wrong zone shows.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest
from sqlmodel import Session, select

from db.accounts import viewer_for_user
from db.engine import make_engine
from db.models import Agent, Site, Team, User
from tests.cli_util import run_cli
from tests.conftest import DEMO_NOW

# Wednesday 12:00 UTC, the end of the demo's history. The Manila week began on Sunday 16:00 UTC:
# ratings of Manila's Monday morning are in the previous UTC week.
NOW = DEMO_NOW
TEAM, SITE = "Bayanihan", "Manila"


class _FrozenDatetime(datetime):
    @classmethod
    def now(cls, tz=None):  # noqa: D102 - the frozen clock
        aware = NOW.replace(tzinfo=timezone.utc)
        return aware if tz is not None else aware.astimezone().replace(tzinfo=None)


@pytest.fixture
def floor(demo_db, monkeypatch):
    from leaderboard import periods
    from pages import loaders

    monkeypatch.setattr(periods, "datetime", _FrozenDatetime)
    monkeypatch.setattr(loaders, "datetime", _FrozenDatetime)
    monkeypatch.setenv("DATABASE_URL", demo_db)
    monkeypatch.setenv("STARBOARD_AUTO_SEED", "0")
    engine = make_engine(demo_db)
    yield engine
    engine.dispose()


def _csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def _figures(frame) -> dict[str, tuple[int, float, float]]:
    """agent -> (ratings, average, fair score) for agents with ratings, rounded as `rank --format csv` rounds."""
    out = {}
    for rec in frame.to_dict("records"):
        n = int(rec["ratings"] or 0)
        if n:
            out[rec["agent"]] = (n, round(float(rec["avg_stars"]), 3), round(float(rec["score"]), 4))
    return out


def test_count_average_fair_score_prior_and_ratio_agree_on_every_screen(floor, demo_db):
    from leaderboard import me, wall
    from leaderboard.coaching import sheets
    from leaderboard.settings import get_settings
    from pages import loaders

    settings = get_settings()
    with Session(floor) as session:
        team = session.exec(
            select(Team).join(Site, Site.id == Team.site_id).where(Team.name == TEAM, Site.name == SITE)
        ).one()
        leader = viewer_for_user(session=session, user=session.get(User, team.leader_id))
        member = session.exec(
            select(Agent).where(Agent.team_id == team.id, Agent.user_id.is_not(None)).order_by(Agent.id)
        ).first()
        agent_viewer = viewer_for_user(session=session, user=session.get(User, member.user_id))
        # An agent who left mid-week: their ratings this week still count for the team on every screen.
        leaver = session.exec(
            select(Agent).where(Agent.team_id == team.id, Agent.id != member.id).order_by(Agent.id.desc())
        ).first()
        leaver_name = leaver.name
        leaver.active = False
        session.add(leaver)
        session.commit()
        mine_name = member.name

        # The Leaderboard page's loader.
        view = loaders.load_leaderboard(demo_db, ("t",), settings, "week", SITE, TEAM)
        board = view.board
        page = _figures(board.agents)
        # The Coaching page's team table.
        table = sheets.team_table(session=session, viewer=leader, team_id=team.id, now=NOW, settings=settings)
        coaching = _figures(table.rename(columns={"ratings_this_week": "ratings"}))
        coaching_ratio = dict(zip(table["agent"], table["ratio_received"].fillna("")))
        # My page (the agent's team board this week).
        mine = me.my_summary(session=session, viewer=agent_viewer, now=NOW, settings=settings)
        standing = mine.standing("week", "team")
        team_row = mine.compare["week"].set_index("measure")
        # The wall of the team.
        wall_data = wall.wall_data(
            session=session, config=wall.WallConfig(site=SITE, team=TEAM, top=50), now=NOW, settings=settings
        )
        wall_rows = {r["agent"]: r for r in wall_data.week}

    # `rank` and `ratios` at the command line, on the same clock.
    ranked = run_cli("rank", "--period", "week", "--site", SITE, "--team", TEAM, "--format", "csv", db=demo_db)
    assert ranked.returncode == 0, ranked.stderr
    cli = {
        r["agent"]: (int(r["ratings"]), float(r["avg_stars"]), float(r["score"]))
        for r in _csv(ranked.stdout)
        if int(r["ratings"])
    }
    ratio_run = run_cli(
        "ratios", "--by", "agent", "--period", "week", "--site", SITE, "--team", TEAM, "--format", "csv", db=demo_db
    )
    assert ratio_run.returncode == 0, ratio_run.stderr

    # Count, average and fair score of every agent: the page, the coaching table and the CLI.
    assert page, "the demo floor has ratings this week"
    assert leaver_name in page
    assert coaching == page
    assert int(table["ratings_this_week"].sum()) == sum(n for n, _, _ in page.values())  # Coaching's headline
    assert cli == page
    # The team's count and average (Leaderboard totals, My page's "team" column, the board's C).
    total = sum(n for n, _, _ in page.values())
    assert int(view.totals["ratings"]) == total
    assert round(float(view.totals["avg_stars"]), 2) == round(float(team_row.loc["avg_stars", "team"]), 2)
    assert round(board.prior, 6) == round(float(view.totals["avg_stars"]), 6)
    # My page: the agent's own line is the page's line.
    if mine_name in page:
        n, avg, score = page[mine_name]
        assert (standing.ratings, round(standing.avg_stars, 3), round(standing.score, 4)) == (n, avg, score)
    # The wall: each agent it names (public names) carries the page's figures.
    by_public = {}
    for rec in board.agents.to_dict("records"):
        if int(rec["ratings"] or 0) and rec["rank"] == rec["rank"] and rec["rank"] is not None:
            by_public[int(rec["rank"])] = (int(rec["ratings"]), round(float(rec["avg_stars"]), 2), round(float(rec["score"]), 2))
    assert wall_rows, "the wall ranks someone this week"
    for row in wall_rows.values():
        assert (row["ratings"], row["avg_stars"], row["score"]) == by_public[row["rank"]]
    # The ratio received, per agent: the coaching table and `ratios`.
    cli_ratio = {r["name"]: r for r in _csv(ratio_run.stdout)}
    assert coaching_ratio
    for name, label in coaching_ratio.items():
        row = cli_ratio[name]
        expected = "" if not row["ratio"] else f"{float(row['ratio']):.1f} : 1"
        assert (name, label) == (name, expected), (row, label)


def _cli_figures(demo_db: str, *args: str) -> dict[str, tuple[int, float, float]]:
    ranked = run_cli("rank", *args, "--format", "csv", db=demo_db)
    assert ranked.returncode == 0, ranked.stderr
    return {
        r["agent"]: (int(r["ratings"]), float(r["avg_stars"]), float(r["score"]))
        for r in _csv(ranked.stdout)
        if int(r["ratings"])
    }


@pytest.mark.parametrize("period", ["today", "week", "month"])
def test_my_page_the_leaderboard_and_rank_agree_for_team_and_site(floor, demo_db, period):
    from leaderboard import me
    from leaderboard.settings import get_settings
    from pages import loaders

    settings = get_settings()
    with Session(floor) as session:
        team = session.exec(select(Team).where(Team.name == TEAM)).one()
        member = session.exec(
            select(Agent).where(Agent.team_id == team.id, Agent.user_id.is_not(None)).order_by(Agent.id)
        ).first()
        viewer = viewer_for_user(session=session, user=session.get(User, member.user_id))
        mine = me.my_summary(session=session, viewer=viewer, now=NOW, settings=settings)
    for scope, args in (("team", ("--site", SITE, "--team", TEAM)), ("site", ("--site", SITE))):
        view = loaders.load_leaderboard(demo_db, ("t",), settings, period, SITE, TEAM if scope == "team" else None)
        page = _figures(view.board.agents)
        assert _cli_figures(demo_db, "--period", period, *args) == page
        standing = mine.standing(period, scope)
        assert standing.ranked == int(view.board.agents["rank"].notna().sum())
        if member.name in page:
            assert (standing.ratings, round(standing.avg_stars, 3), round(standing.score, 4)) == page[member.name]


def test_a_leaders_ratio_and_an_agents_notes_agree_with_ratios(floor, demo_db):
    from leaderboard import me
    from leaderboard.coaching import workspace
    from leaderboard.settings import get_settings

    settings = get_settings()
    with Session(floor) as session:
        team = session.exec(select(Team).where(Team.name == TEAM)).one()
        leader = viewer_for_user(session=session, user=session.get(User, team.leader_id))
        given = workspace.given_ratio(
            session=session, viewer=leader, team_id=team.id, author_id=team.leader_id, now=NOW, settings=settings
        )
        members = session.exec(select(Agent).where(Agent.team_id == team.id, Agent.user_id.is_not(None))).all()
        week_notes = {}
        for agent in members:
            viewer = viewer_for_user(session=session, user=session.get(User, agent.user_id))
            summary = me.my_summary(session=session, viewer=viewer, now=NOW, settings=settings)
            week_notes[agent.name] = (summary.notes_this_week.get("praise", 0), summary.notes_this_week.get("criticism", 0))
        leader_name = session.get(User, team.leader_id).display_name
    by_leader = run_cli(
        "ratios", "--by", "leader", "--period", "week", "--site", SITE, "--team", TEAM, "--format", "csv", db=demo_db
    )
    rows = {r["name"]: r for r in _csv(by_leader.stdout)}
    assert (given["praise"], given["criticism"]) == (int(rows[leader_name]["praise"]), int(rows[leader_name]["criticism"]))
    by_agent = run_cli(
        "ratios", "--by", "agent", "--period", "week", "--site", SITE, "--team", TEAM, "--format", "csv", db=demo_db
    )
    rows = {r["name"]: (int(r["praise"]), int(r["criticism"])) for r in _csv(by_agent.stdout)}
    assert week_notes and {name: rows[name] for name in week_notes} == week_notes
