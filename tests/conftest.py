"""Fresh database per test: a SQLite file in tmp_path, or PostgreSQL when
TEST_DATABASE_URL is set (the suite runs on both in CI)."""

from __future__ import annotations

import os
import shutil
import sys
from datetime import datetime
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from db.engine import make_engine

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives headless Chromium against a real server")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


# Every PostgreSQL connection the tests make (their subprocesses' too: the options travel in the
# URL) gives up on a lock after this long: a wait that would hang the run fails its test instead.
PG_LOCK_TIMEOUT = "120s"

# Other connections holding locks on tables of this connection's schema.
_LOCK_HOLDERS = text(
    "SELECT DISTINCT l.pid FROM pg_locks l "
    "JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = current_schema() AND l.pid <> pg_backend_pid()"
)


@contextmanager
def pg_schema_url(base: str, schema: str):
    """A fresh PostgreSQL schema for the duration; yields ``base`` pointed at it (dropped after)."""
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}%20-clock_timeout%3D{PG_LOCK_TIMEOUT}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def empty_pg_schema(url: str) -> None:
    """Drop every table of the schema ``url`` points at.

    A connection left open by an earlier test (a server or a command that did not stop, a
    transaction never ended) would make the drop wait for its locks: such connections are
    ended first. Within one test process the schema belongs to the test that asks for it.
    """
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for pid in conn.execute(_LOCK_HOLDERS).scalars().all():
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        SQLModel.metadata.drop_all(engine)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def server_db_url() -> str | None:
    """For PostgreSQL: a schema of this test run's own, so parallel runs never collide.

    The schema travels in the URL (libpq ``options``), so subprocesses started
    by tests (the CLI, a Streamlit server) land in it too.
    """
    base = os.environ.get("TEST_DATABASE_URL", "").strip()
    if not base:
        yield None
        return
    with pg_schema_url(base, f"sb_test_{os.getpid()}") as url:
        yield url


@pytest.fixture
def db_url(tmp_path, server_db_url) -> str:
    """URL of an empty database for this test."""
    if server_db_url:
        empty_pg_schema(server_db_url)
        return server_db_url
    # An empty file is an empty SQLite database (as the empty PostgreSQL schema above): commands
    # other than seed refuse a file that does not exist.
    (tmp_path / "starboard-test.db").touch()
    return f"sqlite:///{tmp_path / 'starboard-test.db'}"


@pytest.fixture
def engine(db_url) -> Engine:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine) -> Session:
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def db_env(db_url, monkeypatch) -> str:
    """Point the app and the CLI (via DATABASE_URL) at this test's database."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("STARBOARD_AUTO_SEED", "0")
    return db_url


DEMO_NOW = datetime(2026, 11, 25, 12, 0)  # a Wednesday: the demo floor's history ends here


@pytest.fixture(scope="session")
def demo_db_file(tmp_path_factory) -> Path:
    """The deterministic demo floor (seed 7, 70 days up to DEMO_NOW) in a SQLite file, built once per run.

    Read it through ``demo_db_url`` when a test only reads; ``demo_db`` gives a test its own copy.
    """
    from leaderboard.demo import seed_demo  # lazy: only the tests that ask for the demo floor pay for it

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        seed_demo(engine=engine, seed=7, now=DEMO_NOW)
    finally:
        engine.dispose()  # the last connection closing folds the WAL into the file
    return path


@pytest.fixture(scope="session")
def demo_db_url(demo_db_file) -> str:
    """The shared demo floor, for tests that only read it."""
    return f"sqlite:///{demo_db_file}"


@pytest.fixture
def demo_db(demo_db_file, tmp_path) -> str:
    """A copy of the demo floor of this test's own, to write to."""
    copy = tmp_path / "demo.db"
    shutil.copyfile(demo_db_file, copy)
    return f"sqlite:///{copy}"


@pytest.fixture(autouse=True)
def _fresh_streamlit_caches():
    """Cached engines and frames must not leak from one test's database into the next."""
    streamlit = sys.modules.get("streamlit")
    if streamlit is not None:
        streamlit.cache_data.clear()
        streamlit.cache_resource.clear()
    yield
    streamlit = sys.modules.get("streamlit")
    if streamlit is not None:
        streamlit.cache_data.clear()
        streamlit.cache_resource.clear()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
