"""Rollups maintained on write (issue 16): agent_day equals a full recomputation from the raw rows
after every kind of write, boards read from them equal boards read from the raw rows, and
`db check-rollups` names a difference a write that bypasses the write path leaves."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import text, update
from sqlmodel import Session, select

from db import recovery_store, rollups
from db.engine import make_engine
from db.ingest import write_rows
from db.models import Agent, Interaction, Rating, Team
from db.survey_mail_store import record_offers
from db.survey_store import Answer, record_answer
from leaderboard import board as board_module
from leaderboard.auth import SYSTEM_VIEWER
from leaderboard.board import build_board
from leaderboard.settings import Settings
from tests.cli_util import run_cli
from tests.factories import add_rows, make_site, make_user, rating_row
from tests.test_import import GOOD, write_csv
from tests.test_team_moves import _history

NOW = datetime(2026, 11, 25, 15, 0)


def _check(db_url) -> None:
    run = run_cli("db", "check-rollups", db=db_url)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "rollups match the raw rows" in run.stdout


def _stored(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return rollups.stored(conn).sort_values(list(rollups.KEY)).reset_index(drop=True)


# --------------------------------------------------------------------------- every kind of write


def test_import_edit_in_place_and_stale_rows_keep_the_rollups(engine, db_url, tmp_path):
    rows = [
        {**GOOD, "interaction_id": f"C-{i}", "stars": str(1 + i % 5),
         "rated_at": f"2026-11-{10 + i:02d}T23:30:00-05:00", "closed_at": f"2026-11-{10 + i:02d}T23:00:00-05:00"}
        for i in range(6)
    ]
    make_site(engine, "New York", "America/New_York")
    assert run_cli("import", str(write_csv(tmp_path, rows)), db=db_url).returncode == 0
    _check(db_url)
    assert int(_stored(engine)["ratings"].sum()) == 6
    # New York days, not UTC ones: 23:30 local on the 10th is the 10th.
    days = sorted(str(d) for d in _stored(engine)["day"])
    assert days[0] == "2026-11-10"
    # Edit in place: stars, agent and a rating moved to another day.
    edited = [{**rows[0], "stars": "5", "rated_at": "2026-11-20T09:00:00-05:00"},
              {**rows[1], "agent": "Ann Other", "rated_at": "2026-11-21T09:00:00-05:00"}]
    assert run_cli("import", str(write_csv(tmp_path, edited, name="edit.csv")), db=db_url).returncode == 0
    _check(db_url)
    # A stale row (older than the stored answer) changes nothing, rollups included.
    before = _stored(engine)
    stale = [{**rows[2], "stars": "1", "rated_at": "2026-11-12T23:10:00-05:00"}]
    run = run_cli("import", str(write_csv(tmp_path, stale, name="stale.csv")), db=db_url)
    assert run.returncode == 0
    _check(db_url)
    pd.testing.assert_frame_equal(before, _stored(engine))


def test_exclusion_and_undo_keep_the_rollups(engine, db_url, session):
    add_rows(engine, [rating_row(agent="Ann Lee", stars=1, interaction_id="S-1", rated_at=NOW),
                      rating_row(agent="Ann Lee", stars=5, interaction_id="S-2", rated_at=NOW)])
    make_user(session, "lead.a", role="leader")
    assert run_cli("exclude", "S-1", "--cause", "system", "--by", "lead.a", "--reason", "IVR down", db=db_url).returncode == 0
    _check(db_url)
    row = _stored(engine).iloc[0]
    assert (int(row["ratings"]), int(row["star_sum"]), int(row["excluded"])) == (1, 5, 1)
    assert run_cli("exclude", "S-1", "--undo", "--by", "lead.a", db=db_url).returncode == 0
    _check(db_url)
    row = _stored(engine).iloc[0]
    assert (int(row["ratings"]), int(row["star_sum"]), int(row["excluded"])) == (2, 6, 0)


def test_a_team_move_splits_the_rollups_by_the_team_at_the_time(engine, db_url, tmp_path):
    first, later = _history(tmp_path)
    assert run_cli("import", str(first), db=db_url).returncode == 0
    assert run_cli("import", str(later), "--allow-moves", db=db_url).returncode == 0
    _check(db_url)
    with Session(engine) as s:
        teams = dict(s.exec(select(Team.id, Team.name)).all())
        jose = s.exec(select(Agent.id).where(Agent.name == "José Núñez")).one()
    mine = _stored(engine)
    mine = mine[mine["agent_id"] == jose]
    by_team = mine.groupby(mine["team_id"].map(teams))["ratings"].sum().to_dict()
    assert by_team == {"Sampaguita": 3, "Mabuhay": 2}


def test_api_survey_offers_and_orm_writes_keep_the_rollups(engine, db_url, session):
    # The API / survey path: write_rows.
    report = write_rows(engine=engine, viewer=SYSTEM_VIEWER, rows=[
        rating_row(agent="Bo Chan", stars=None, interaction_id="A-1", closed_at=NOW - timedelta(hours=2)),
        rating_row(agent="Bo Chan", stars=None, interaction_id="A-2", closed_at=NOW - timedelta(hours=1)),
        rating_row(agent="Bo Chan", stars=4, interaction_id="A-3", rated_at=NOW),
    ])
    assert report.rejected == 0
    _check(db_url)
    # A survey answer.
    assert record_answer(engine=engine, interaction_id="A-1", answer=Answer(stars=5, nps=10, resolved=True),
                         now=NOW) == "recorded"
    _check(db_url)
    # A survey offer moves the response rate onto what was asked.
    with Session(engine) as s:
        pk = s.exec(select(Interaction.id).where(Interaction.interaction_id == "A-2")).one()
    with engine.begin() as conn:
        record_offers(conn, viewer=SYSTEM_VIEWER, interaction_pks=[pk], channel="link")
    _check(db_url)
    assert int(_stored(engine)["offered"].sum()) == 1
    # ORM writes (an admin's move to another site, a site's time zone) go through the session hook.
    make_site(engine, "Belgrade", "Europe/Belgrade")
    run = run_cli("agents", "move", "Bo Chan", "--site", "Belgrade", "--team", "Sava", db=db_url)
    assert run.returncode == 0, run.stderr
    _check(db_url)
    # A plain ORM change of an agent's team, then of its site's time zone.
    make_site(engine, "Elsewhere", "Asia/Manila")
    with Session(engine) as s:
        far = Team(name="Far", site_id=make_site(s, "Elsewhere").id)
        s.add(far)
        s.commit()
        agent = s.exec(select(Agent).where(Agent.name == "Bo Chan")).one()
        agent.team_id = far.id
        s.add(agent)
        s.commit()
    _check(db_url)
    make_site(engine, "Elsewhere", "Pacific/Kiritimati")
    _check(db_url)


def test_a_write_that_bypasses_the_write_path_is_named(engine, db_url):
    add_rows(engine, [rating_row(agent="Cy Dee", stars=5, interaction_id="B-1", rated_at=NOW)])
    _check(db_url)
    with engine.begin() as conn:
        conn.execute(update(Rating.__table__).values(stars=2))
    run = run_cli("db", "check-rollups", db=db_url)
    assert run.returncode == 1
    assert "star_sum 5 (raw 2)" in run.stdout and "2026-11-25" in run.stdout
    assert "rebuild-rollups" in run.stderr
    assert run_cli("db", "rebuild-rollups", db=db_url).returncode == 0
    _check(db_url)


# --------------------------------------------------------------------------- random sequences of writes

SITES = (("Belgrade", "Europe/Belgrade"), ("Manila", "Asia/Manila"))
TEAMS = {"Belgrade": ("Sava", "Dunav"), "Manila": ("Mabuhay", "Sampaguita")}
AGENTS = ("Ana", "Ben", "Cleo", "Dan", "Eve")
START = datetime(2026, 10, 27)  # DST ends in Belgrade on the 25th: days of both offsets


def _random_writes(engine, rng: random.Random, steps: int) -> None:
    for name, tz in SITES:
        make_site(engine, name, tz)
    home = {a: rng.choice(SITES)[0] for a in AGENTS}
    team = {a: TEAMS[home[a]][0] for a in AGENTS}
    known: dict[str, tuple[str, datetime]] = {}
    lead = make_user(engine, "lead.r", role="admin")
    for step in range(steps):
        op = rng.random()
        if op < 0.55 or not known:  # new rows (some unrated), through the one write path
            rows = []
            for _ in range(rng.randint(1, 6)):
                agent = rng.choice(AGENTS)
                at = START + timedelta(minutes=rng.randint(0, 30 * 24 * 60))
                stars = rng.choice([None, 1, 2, 3, 4, 5, 5])
                iid = f"R-{step}-{len(rows)}"
                rows.append(rating_row(agent=agent, team=team[agent], site=home[agent], stars=stars,
                                       closed_at=at, rated_at=at + timedelta(minutes=rng.randint(1, 600)),
                                       nps=rng.choice([None, 3, 7, 9, 10]), resolved=rng.choice([None, True, False]),
                                       interaction_id=iid))
                known[iid] = (agent, at)
            write_rows(engine=engine, viewer=SYSTEM_VIEWER, rows=rows)
        elif op < 0.75:  # edit in place (or a stale row): new stars, time, maybe another agent
            iid = rng.choice(sorted(known))
            agent, at = known[iid]
            if rng.random() < 0.3:
                agent = rng.choice([a for a in AGENTS if home[a] == home[known[iid][0]]])
            shift = timedelta(hours=rng.randint(0, 30))
            write_rows(engine=engine, viewer=SYSTEM_VIEWER, rows=[
                rating_row(agent=agent, team=team[agent], site=home[agent], stars=rng.randint(1, 5),
                           closed_at=at, rated_at=at + timedelta(hours=1) + shift, interaction_id=iid)])
            known[iid] = (agent, at)
        elif op < 0.85:  # exclusion or its undo
            iid = rng.choice(sorted(known))
            with Session(engine) as s:
                rating = s.exec(select(Rating).join(Interaction).where(Interaction.interaction_id == iid)).first()
                if rating is None:
                    continue
                if rating.excluded_cause is None:
                    recovery_store.exclude(session=s, interaction_id=iid, cause="other", by=lead,
                                           reason="test", viewer=SYSTEM_VIEWER)
                else:
                    recovery_store.undo_exclusion(session=s, interaction_id=iid, by=lead, viewer=SYSTEM_VIEWER)
        elif op < 0.93:  # a team move within the site, dated by the row
            agent = rng.choice(AGENTS)
            team[agent] = next(t for t in TEAMS[home[agent]] if t != team[agent])
            at = START + timedelta(minutes=rng.randint(0, 30 * 24 * 60))
            iid = f"M-{step}"
            write_rows(engine=engine, viewer=SYSTEM_VIEWER, allow_moves=True, rows=[
                rating_row(agent=agent, team=team[agent], site=home[agent], stars=rng.randint(1, 5),
                           closed_at=at, rated_at=at, interaction_id=iid)])
            known[iid] = (agent, at)
        else:  # survey offers
            picks = rng.sample(sorted(known), k=min(3, len(known)))
            with Session(engine) as s:
                pks = s.exec(select(Interaction.id).where(Interaction.interaction_id.in_(picks))).all()
            with engine.begin() as conn:
                record_offers(conn, viewer=SYSTEM_VIEWER, interaction_pks=list(pks), channel="link")


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_writes_keep_rollups_equal_to_a_full_recomputation(engine, seed):
    _random_writes(engine, random.Random(seed), steps=25)
    with engine.connect() as conn:
        assert rollups.differences(conn) == []
        rebuilt = rollups.compute(conn, [a for a in conn.execute(select(Agent.id)).scalars()])
    assert len(rebuilt) == len(_stored(engine))


def _boards(engine, monkeypatch, *, from_rollups: bool, **kwargs):
    if not from_rollups:
        monkeypatch.setattr(board_module, "_from_rollups", lambda **_: False)
    used = []
    real = board_module._from_rollups

    def spy(**kw):
        used.append(real(**kw))
        return used[-1]

    monkeypatch.setattr(board_module, "_from_rollups", spy)
    with Session(engine) as s:
        b = build_board(session=s, now=START + timedelta(days=20, hours=5), settings=Settings(min_ratings=2), **kwargs)
    monkeypatch.undo()
    return b, used


@pytest.mark.parametrize("seed", [5, 6])
def test_boards_from_rollups_equal_boards_from_raw_rows(engine, monkeypatch, seed):
    _random_writes(engine, random.Random(seed), steps=30)
    cases = [
        {"period": "week", "site": "Belgrade"},
        {"period": "month", "site": "Manila"},
        {"period": "all"},
        {"period": "2026-10-28..2026-11-12", "site": "Belgrade"},
        {"period": "last7", "team": "Mabuhay"},
        {"period": "last30", "team": "Sava"},
        {"period": "week"},  # everyone across two zones, counted in UTC: the raw rows
    ]
    for case in cases:
        fast, used = _boards(engine, monkeypatch, from_rollups=True, **case)
        slow, raw_used = _boards(engine, monkeypatch, from_rollups=False, **case)
        assert not any(raw_used)
        if case.get("site") or case["period"] == "all":
            assert used and used[0], case  # one zone, whole days: the rollups
        pd.testing.assert_frame_equal(fast.agents, slow.agents, check_dtype=True, obj=str(case))
        pd.testing.assert_frame_equal(fast.teams, slow.teams, check_dtype=True, obj=str(case))
        assert fast.prior == slow.prior or (pd.isna(fast.prior) and pd.isna(slow.prior))


def test_the_upgrade_builds_rollups_for_the_rows_already_stored(db_url):
    """A release-9 database upgraded in place: migration 0013 builds the rollups of its rows."""
    from tests.test_migrations import load_release9  # a test helper, imported where it is needed

    engine = make_engine(db_url, create=False)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    load_release9(db_url)
    engine = make_engine(db_url)  # upgrades to the newest revision
    try:
        with engine.connect() as conn:
            assert rollups.differences(conn) == []
            stored = rollups.stored(conn)
            rated = conn.execute(text("SELECT count(*) FROM rating WHERE excluded_cause IS NULL")).scalar_one()
            closed = conn.execute(text("SELECT count(*) FROM interaction")).scalar_one()
        assert int(stored["ratings"].sum()) == rated and int(stored["closed"].sum()) == closed > 0
    finally:
        engine.dispose()
    _check(db_url)
