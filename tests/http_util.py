"""A real ``streamlit run app.py`` for the HTTP tests (survey and API), once per test module.

    from tests.http_util import live  # noqa: F401  (the fixture)

    def test_x(live):
        response = requests.get(live.url + "/api/v1/health", timeout=10)

The server runs against a database of its own (a temp SQLite file, or this run's
PostgreSQL schema when TEST_DATABASE_URL is set) holding a few unrated
interactions, with a known secret (tests sign their own links, expired ones
too) and a low API rate limit (``RATE_LIMIT`` per second, per key).
"""

from __future__ import annotations

import os
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from db.engine import make_engine
from db.models import utcnow
from leaderboard.survey_tokens import sign_survey
from tests.browser_util import StreamlitServer, start_server
from tests.cli_util import run_cli
from tests.conftest import empty_pg_schema, pg_schema_url
from tests.factories import add_interactions

SECRET = "test-secret-for-http-tests"
RATE_LIMIT = 5
AGENT = "Maria Santos"  # shown as "Maria S."
TEAM = "Alpha"


@dataclass
class Live:
    server: StreamlitServer
    engine: Engine
    db_url: str
    interactions: list[str]  # unrated, handed out one per test by take()

    @property
    def url(self) -> str:
        return self.server.url

    def take(self) -> str:
        return self.interactions.pop()

    def link(self, interaction_id: str, *, expires_at: datetime | None = None, secret: str = SECRET) -> str:
        token = sign_survey(interaction_id, secret=secret.encode(), expires_at=expires_at or utcnow() + timedelta(days=14))
        return f"{self.url}/s/{token}"

    def new_key(self, name: str) -> str:
        result = run_cli("apikeys", "add", name, db=self.db_url)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip().splitlines()[-1]

    def scalar(self, sql: str, **params):
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()


# Empty this run's PostgreSQL schema for a server of a test module's own (stray lock holders ended first).
empty_database = empty_pg_schema


@contextmanager
def live_server(folder: Path, *, name: str, interactions: int = 30, rate_limit: int = RATE_LIMIT,
                port: int | None = None, env: dict[str, str] | None = None) -> Iterator[Live]:
    """``streamlit run app.py`` on a database of its own holding ``interactions`` unrated interactions.

    On PostgreSQL a schema of its own (``sb_<name>_<pid>``): the tests of the same module that
    empty this run's schema (``db_url``) never pull the tables from under the running server.
    """
    base = os.environ.get("TEST_DATABASE_URL", "").strip()
    with (pg_schema_url(base, f"sb_{name}_{os.getpid()}") if base else nullcontext()) as pg_url:
        url = pg_url or f"sqlite:///{folder / 'starboard.db'}"
        engine = make_engine(url)
        ids = add_interactions(engine, AGENT, interactions, team=TEAM)
        server = start_server(
            database_url=url,
            log_path=folder / "streamlit.log",
            port=port,
            extra_env={"STARBOARD_SECRET_KEY": SECRET, "STARBOARD_API_RATE_LIMIT": str(rate_limit), **(env or {})},
        )
        try:
            yield Live(server=server, engine=engine, db_url=url, interactions=ids)
        finally:
            server.stop()
            engine.dispose()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("http"), name="http") as server:
        yield server
