"""Concurrent writers (issue 12, item 15): imports that race to create the same site, the same
file imported twice at once, and a write that meets a lock all land (or say "busy" in one line).

The races are made deterministic: both imports read the (empty) directory of sites, teams
and agents before either writes, which is exactly the interleaving that used to end in a
unique-constraint error.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError

import db.engine
from db.engine import make_engine
from db.ingest import import_file, write as ingest_write
from db.models import Agent, Interaction, Rating, Site, Team
from db.retry import DatabaseBusy, with_retry
from leaderboard.auth import SYSTEM_VIEWER
from tests import factories
from tests.cli_util import run_cli
from tests.test_bad_input import csv_file, good

ON_POSTGRES = bool(os.environ.get("TEST_DATABASE_URL", "").strip())


def count(engine, model) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture
def directory_race(monkeypatch):
    """Every import's first look at the directory waits until the other import has looked too."""
    barrier = threading.Barrier(2, timeout=20)
    waited = threading.local()
    load = ingest_write._Directory.load.__func__

    def racing_load(cls, conn, *args, **kwargs):
        found = load(cls, conn, *args, **kwargs)
        if not getattr(waited, "done", False):
            waited.done = True
            barrier.wait()
        return found

    monkeypatch.setattr(ingest_write._Directory, "load", classmethod(racing_load))


def run_together(*jobs):
    """Run ``jobs`` in threads at once; their results, or the first exception raised."""
    results: list = [None] * len(jobs)
    errors: list[BaseException] = []

    def run(i, job):
        try:
            results[i] = job()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if errors:
        raise errors[0]
    return results


def test_two_imports_creating_the_same_new_site_at_once_both_land(engine, db_url, tmp_path, directory_race):
    """Two imports that both created site "Porto" stopped with a unique-constraint error."""
    first = csv_file(tmp_path, [good(n, site="Porto", team="Ribeira", agent=f"Agent {n % 3}") for n in range(1, 40)], "a.csv")
    second = csv_file(
        tmp_path, [good(n, site="Porto", team="Ribeira", agent=f"Agent {n % 3}") for n in range(100, 140)], "b.csv"
    )
    engines = [make_engine(db_url), make_engine(db_url)]
    try:
        reports = run_together(
            lambda: import_file(engine=engines[0], path=first, viewer=SYSTEM_VIEWER, batch_size=10),
            lambda: import_file(engine=engines[1], path=second, viewer=SYSTEM_VIEWER, batch_size=10),
        )
    finally:
        for e in engines:
            e.dispose()
    assert [(r.inserted, r.rejected, r.fatal) for r in reports] == [(39, 0, None), (40, 0, None)]
    assert (count(engine, Site), count(engine, Team), count(engine, Agent)) == (1, 1, 3)
    assert count(engine, Interaction) == 79


def test_the_same_file_twice_at_once_lands_once(engine, db_url, tmp_path, directory_race):
    """On PostgreSQL the second import stopped on the interaction ids the first had just inserted."""
    path = csv_file(tmp_path, [good(n, site="Braga", agent=f"Agent {n % 4}") for n in range(1, 60)])
    engines = [make_engine(db_url), make_engine(db_url)]
    try:
        reports = run_together(*(lambda e=e: import_file(engine=e, path=path, viewer=SYSTEM_VIEWER, batch_size=20) for e in engines))
    finally:
        for e in engines:
            e.dispose()
    assert all(r.rejected == 0 and r.fatal is None for r in reports)
    assert sum(r.inserted for r in reports) == 59
    assert all(r.inserted + r.updated + r.unchanged == 59 for r in reports)
    assert (count(engine, Site), count(engine, Agent), count(engine, Interaction), count(engine, Rating)) == (1, 4, 59, 59)


def _hold_write_lock(path: str, seconds: float, ready: threading.Event) -> None:
    conn = sqlite3.connect(path, timeout=10)
    try:
        conn.execute("BEGIN IMMEDIATE")
        ready.set()
        time.sleep(seconds)
        conn.commit()
    finally:
        conn.close()


@pytest.mark.skipif(ON_POSTGRES, reason="a SQLite file lock")
def test_an_import_waits_out_a_lock_held_past_the_busy_timeout(db_url, tmp_path, monkeypatch):
    """A write that met another writer's lock for longer than busy_timeout failed with "database is locked"."""
    monkeypatch.setattr(db.engine, "SQLITE_BUSY_TIMEOUT_MS", 200)
    engine = make_engine(db_url)
    ready = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(make_url(db_url).database, 0.8, ready))
    holder.start()
    try:
        assert ready.wait(10)
        report = import_file(engine=engine, path=csv_file(tmp_path, [good(1), good(2)]), viewer=SYSTEM_VIEWER)
    finally:
        holder.join()
        engine.dispose()
    assert (report.inserted, report.rejected) == (2, 0)


@pytest.mark.skipif(ON_POSTGRES, reason="a SQLite file lock")
def test_simulate_against_a_database_locked_for_long_says_busy_in_one_line(db_url, monkeypatch):
    """`simulate` beside a long write crashed with an OperationalError traceback."""
    engine = make_engine(db_url)
    factories.add_rows(engine, [factories.rating_row(agent="Ann Good", stars=5)])
    engine.dispose()
    monkeypatch.setattr(db.engine, "SQLITE_BUSY_TIMEOUT_MS", 50)
    ready = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(make_url(db_url).database, 4.0, ready))
    holder.start()
    try:
        assert ready.wait(10)
        result = run_cli("simulate", "--duration", "1", "--seed", "1", db=db_url)
    finally:
        holder.join()
    line = result.error_line()
    assert line == "error: the database is busy (another write is in progress): try again in a moment"


# --------------------------------------------------------------------------- the retry helper


class _Orig(Exception):
    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("INSERT", {}, _Orig("database is locked")),
        OperationalError("INSERT", {}, _Orig("could not serialize access", "40001")),
        OperationalError("INSERT", {}, _Orig("deadlock detected", "40P01")),
    ],
    ids=["sqlite-locked", "pg-serialization", "pg-deadlock"],
)
def test_with_retry_runs_a_busy_transaction_again_with_growing_pauses(error):
    calls, pauses = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise error
        return "landed"

    assert with_retry(flaky, sleep=pauses.append) == "landed"
    assert len(calls) == 3 and len(pauses) == 2 and pauses[1] > pauses[0] * 0.3


def test_with_retry_gives_up_with_database_busy():
    pauses = []

    def always_locked():
        raise OperationalError("INSERT", {}, _Orig("database is locked"))

    with pytest.raises(DatabaseBusy, match="busy"):
        with_retry(always_locked, attempts=4, sleep=pauses.append)
    assert len(pauses) == 3


def test_with_retry_leaves_other_errors_alone():
    clash = IntegrityError("INSERT", {}, _Orig("duplicate key value violates unique constraint", "23505"))
    calls = []

    def clashing():
        calls.append(1)
        raise clash

    with pytest.raises(IntegrityError):
        with_retry(clashing, sleep=lambda _s: None)
    assert len(calls) == 1  # a clash is retried only when the caller says so (retry_conflicts)
    calls.clear()
    with pytest.raises(IntegrityError):
        with_retry(clashing, retry_conflicts=True, attempts=3, sleep=lambda _s: None)
    assert len(calls) == 3
