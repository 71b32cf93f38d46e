"""Fresh database per test: a SQLite file in tmp_path, or PostgreSQL when
TEST_DATABASE_URL is set (the suite runs on both in CI)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from db.engine import make_engine

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives headless Chromium against a real server")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")


@pytest.fixture
def db_url(tmp_path) -> str:
    """URL of an empty database for this test."""
    url = os.environ.get("TEST_DATABASE_URL", "").strip()
    if url:
        engine = make_engine(url, create=False)
        SQLModel.metadata.drop_all(engine)
        engine.dispose()
        return url
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


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
