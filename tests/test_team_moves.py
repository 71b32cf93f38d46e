"""An import never moves an agent between teams unseen (issue 13, item 4).

Team membership is history (``agent_team``): a rating counts for the team the agent was
in when it was earned, today's screens show today's team. A move a file asks for is
listed by the dry run, made only when confirmed (``--allow-moves``), otherwise held back
and named; the audit entry of the import lists both.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from db.ingest import import_file
from db.models import Agent, AgentTeam, AuditLog, Team
from leaderboard.auth import SYSTEM_VIEWER
from leaderboard.board import build_board
from tests.cli_util import run_cli
from tests.test_import import GOOD, write_csv

MANILA = {"site": "Manila", "agent": "José Núñez"}
MOVE = "José Núñez: Sampaguita → Mabuhay from 2026-11-20"


def _row(n: int, team: str, day: int, stars: int = 5, agent: str = "José Núñez") -> dict[str, str]:
    return {
        **GOOD,
        **MANILA,
        "agent": agent,
        "interaction_id": f"M-{n}",
        "team": team,
        "closed_at": f"2026-11-{day:02d}T09:00:00+08:00",
        "rated_at": f"2026-11-{day:02d}T09:10:00+08:00",
        "stars": str(stars),
    }


def _history(tmp_path):
    """José in Sampaguita with three 5★ (10-12 Nov), a teammate in Mabuhay; then a file naming José under Mabuhay."""
    first = [_row(i, "Sampaguita", 9 + i) for i in (1, 2, 3)] + [_row(9, "Mabuhay", 12, 3, agent="Ana Cruz")]
    later = [_row(5, "Mabuhay", 21, 1), _row(4, "Mabuhay", 20, 1)]  # not in date order: the move dates from the 20th
    return write_csv(tmp_path, first, name="first.csv"), write_csv(tmp_path, later, name="later.csv")


def _team_of(engine, name: str = "José Núñez") -> str:
    with Session(engine) as s:
        return s.exec(select(Team.name).join(Agent, Agent.team_id == Team.id).where(Agent.name == name)).scalar_one()


def _import_audit(engine, target: str) -> str:
    with Session(engine) as s:
        (detail,) = s.exec(
            select(AuditLog.detail).where(AuditLog.action == "import", AuditLog.target == target)
        ).scalars().all()
    return detail


def test_a_move_is_held_back_without_confirmation_and_the_ratings_land(engine, db_url, tmp_path):
    first, later = _history(tmp_path)
    assert run_cli("import", str(first), db=db_url).returncode == 0
    dry = run_cli("import", str(later), "--dry-run", db=db_url)
    assert dry.returncode == 0, dry.stderr
    assert f"would move with --allow-moves: {MOVE}" in dry.stdout
    assert _team_of(engine) == "Sampaguita"

    done = run_cli("import", str(later), db=db_url)
    assert done.returncode == 0, done.stderr
    assert f"held back (the agent keeps their team; run again with --allow-moves): {MOVE}" in done.stdout
    assert "inserted=2" in done.stdout
    assert _team_of(engine) == "Sampaguita"
    detail = _import_audit(engine, "later.csv")
    assert "agents moved=0" in detail and f"moves held back (not confirmed)=1: {MOVE}" in detail
    # The ratings landed, for the team the agent is still in.
    with Session(engine) as s:
        board = build_board(session=s, period="all", site="Manila", team="Sampaguita")
    assert int(board.agents.loc[board.agents["agent"] == "José Núñez", "ratings"].iloc[0]) == 5


def test_a_confirmed_move_keeps_the_earlier_ratings_with_the_old_team(engine, db_url, tmp_path):
    first, later = _history(tmp_path)
    assert run_cli("import", str(first), db=db_url).returncode == 0
    done = run_cli("import", str(later), "--allow-moves", db=db_url)
    assert done.returncode == 0, done.stderr
    assert f"moved: {MOVE}" in done.stdout
    assert _team_of(engine) == "Mabuhay"
    assert f"agents moved=1: {MOVE}" in _import_audit(engine, "later.csv")
    with Session(engine) as s:
        jose = s.exec(select(Agent).where(Agent.name == "José Núñez")).scalar_one()
        history = s.exec(
            select(Team.name, AgentTeam.valid_from, AgentTeam.valid_to)
            .join(Team, Team.id == AgentTeam.team_id)
            .where(AgentTeam.agent_id == jose.id)
            .order_by(AgentTeam.valid_from)
        ).all()
        assert [(t, to) for t, _, to in history] == [
            ("Sampaguita", datetime(2026, 11, 20, 1, 10)),
            ("Mabuhay", None),
        ]
        assert history[1][1] == datetime(2026, 11, 20, 1, 10)
        old = build_board(session=s, period="all", site="Manila", team="Sampaguita")
        new = build_board(session=s, period="all", site="Manila", team="Mabuhay")
        site = build_board(session=s, period="all", site="Manila")
    # Sampaguita's board keeps the three 5★ José earned there; his row names today's team.
    jose_old = old.agents[old.agents["agent"] == "José Núñez"].iloc[0]
    assert (int(jose_old["ratings"]), float(jose_old["avg_stars"]), jose_old["team"]) == (3, 5.0, "Mabuhay")
    # Mabuhay's board counts only the two 1★ from the 20th on.
    jose_new = new.agents[new.agents["agent"] == "José Núñez"].iloc[0]
    assert (int(jose_new["ratings"]), float(jose_new["avg_stars"])) == (2, 1.0)
    assert int(new.agents["ratings"].sum()) == 3  # with Ana's 3★
    # Team standings of the site split his ratings by the team he was in.
    teams = site.teams.set_index("team")
    assert int(teams.loc["Sampaguita", "ratings"]) == 3 and float(teams.loc["Sampaguita", "avg_stars"]) == 5.0
    assert int(teams.loc["Mabuhay", "ratings"]) == 3
    # ... while the site's agent row holds all five, under today's team.
    row = site.agents[site.agents["agent"] == "José Núñez"].iloc[0]
    assert (int(row["ratings"]), row["team"]) == (5, "Mabuhay")
    # The Coaching page's table of Sampaguita in the week he earned them lists him too, as the Leaderboard does.
    from leaderboard.coaching import sheets  # lazy: only this test reads the coaching table

    with Session(engine) as s:
        old_team = s.exec(select(Team).where(Team.name == "Sampaguita")).scalar_one()
        week = build_board(session=s, period="week", site="Manila", team="Sampaguita", now=datetime(2026, 11, 13, 6))
        table = sheets.team_table(session=s, viewer=SYSTEM_VIEWER, team_id=old_team.id, now=datetime(2026, 11, 13, 6))
    assert dict(zip(table["agent"], table["ratings_this_week"])) == dict(zip(week.agents["agent"], week.agents["ratings"]))
    assert dict(zip(table["agent"], table["ratings_this_week"]))["José Núñez"] == 3


def test_team_trend_and_distribution_count_ratings_for_the_team_at_the_time(engine, db_url, tmp_path):
    """The charts of a team's board add up to its board: José's 5★ stay with Sampaguita, his 1★ go to Mabuhay."""
    from leaderboard.board import daily_trend, star_distribution  # lazy: only this test draws the charts

    first, later = _history(tmp_path)
    assert run_cli("import", str(first), db=db_url).returncode == 0
    assert run_cli("import", str(later), "--allow-moves", db=db_url).returncode == 0
    with Session(engine) as s:
        for team, stars in (("Sampaguita", [0, 0, 0, 0, 3]), ("Mabuhay", [2, 0, 1, 0, 0])):
            board = build_board(session=s, period="2026-11-01..2026-11-30", site="Manila", team=team)
            spread = star_distribution(session=s, scope=board.scope, period=board.period)
            assert spread["ratings"].tolist() == stars, team
            assert int(spread["ratings"].sum()) == int(board.agents["ratings"].sum())
            trend = daily_trend(session=s, scope=board.scope, period=board.period)
            assert int(trend["ratings"].sum()) == int(board.agents["ratings"].sum())


def test_write_rows_holds_moves_back_unless_allowed(engine, tmp_path):
    first, later = _history(tmp_path)
    import_file(engine=engine, viewer=SYSTEM_VIEWER, path=first)
    report = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=later)
    assert (report.moves, report.held_moves) == ([], [MOVE])
    assert _team_of(engine) == "Sampaguita"
    report = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=later, allow_moves=True)
    assert (report.moves, report.held_moves) == ([MOVE], [])
    assert _team_of(engine) == "Mabuhay"


def test_a_new_agent_gets_an_open_membership(engine, tmp_path):
    first, _ = _history(tmp_path)
    import_file(engine=engine, viewer=SYSTEM_VIEWER, path=first)
    with Session(engine) as s:
        rows = s.exec(select(AgentTeam.agent_id, AgentTeam.valid_to)).all()
        agents = s.exec(select(Agent.id)).scalars().all()
    assert sorted(a for a, _ in rows) == sorted(agents)
    assert all(to is None for _, to in rows)


def test_the_migration_backfills_one_open_membership_per_agent(tmp_path):
    """An existing database keeps every agent in its team: one open agent_team row each."""
    from alembic import command
    from sqlalchemy import text

    from db import migrate
    from db.engine import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}", create=False)
    try:
        with engine.begin() as conn:
            command.upgrade(migrate.alembic_config(connection=conn), "0005")
            conn.execute(text("INSERT INTO site (id, name, timezone) VALUES (1, 'Manila', 'Asia/Manila')"))
            conn.execute(text("INSERT INTO team (id, name, site_id) VALUES (1, 'Sampaguita', 1), (2, 'Mabuhay', 1)"))
            conn.execute(
                text(
                    "INSERT INTO agent (id, name, name_key, display_name, team_id, active, hide_from_wall) VALUES "
                    "(1, 'José Núñez', 'jose nunez', 'José N.', 1, 1, 0), (2, 'Ana Cruz', 'ana cruz', 'Ana C.', 2, 1, 0)"
                )
            )
        with engine.begin() as conn:
            command.upgrade(migrate.alembic_config(connection=conn), "head")
            rows = conn.execute(text("SELECT agent_id, team_id, valid_to FROM agent_team ORDER BY agent_id")).all()
        assert [tuple(r) for r in rows] == [(1, 1, None), (2, 2, None)]
    finally:
        engine.dispose()


def test_the_data_page_lists_the_moves_and_makes_them_only_when_ticked(db_env, engine, tmp_path):
    """The Data page (AppTest, as an admin): the dry run lists the move; unticked it is held back, ticked made."""
    import streamlit as st

    from pages.common import md
    from tests.app_util import app_as

    first, later = _history(tmp_path)
    import_file(engine=engine, viewer=SYSTEM_VIEWER, path=first)
    st.cache_data.clear()
    st.cache_resource.clear()
    at = app_as("admin.one", role="admin")
    at.run()
    at.switch_page("pages/data.py").run()
    at.file_uploader(key="data_upload").set_value(("later.csv", later.read_bytes(), "text/csv")).run()
    assert not at.exception, [e.message for e in at.exception]
    moves = next(d.value for d in at.dataframe if "move" in d.value.columns)
    assert list(moves["move"]) == [MOVE]
    at.button(key="data_import").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(md(MOVE) in w.value and "Held back" in w.value for w in at.warning), [w.value for w in at.warning]
    assert _team_of(engine) == "Sampaguita"
    assert "moves held back (not confirmed)=1" in _import_audit(engine, "later.csv")
    at.checkbox(key="data_allow_moves").check().run()
    at.button(key="data_import").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(md(MOVE) in i.value for i in at.info), [i.value for i in at.info]
    assert _team_of(engine) == "Mabuhay"
    st.cache_data.clear()
    st.cache_resource.clear()
