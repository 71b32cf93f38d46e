"""What every HTTP handler shares: the settings, one engine per database, the signing secret."""

from __future__ import annotations

import threading

from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine

from db.engine import make_engine
from db.survey_store import server_secret
from leaderboard.settings import Settings, get_settings

_LOCK = threading.Lock()
_ENGINES: dict[str, Engine] = {}
_SECRETS: dict[str, bytes] = {}
_SETTINGS: list[Settings] = []


def settings() -> Settings:
    """The server's settings, read from the environment once (reading them costs milliseconds per request)."""
    if not _SETTINGS:
        _SETTINGS.append(get_settings())
    return _SETTINGS[0]


def engine(current: Settings | None = None) -> Engine:
    """The engine of the configured database, made (and upgraded) at first use; a failure is not kept."""
    url = (current or settings()).database_url
    with _LOCK:
        found = _ENGINES.get(url)
        if found is None:
            found = _ENGINES[url] = make_engine(url)
        return found


def secret(current: Settings | None = None) -> bytes:
    current = current or settings()
    configured = current.secret_key.get_secret_value()
    if configured:
        return configured.encode("utf-8")
    url = current.database_url
    found = _SECRETS.get(url)
    if found is None:
        found = _SECRETS[url] = server_secret(engine=engine(current))
    return found


def database_ok() -> bool:
    """Whether the database answers a trivial query now."""
    try:
        with engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:  # any failure means "unavailable" to a health check; never a traceback
        return False
    return True


async def with_engine(function, /, **kwargs):
    """``function(engine=..., **kwargs)`` on a worker thread (database work never blocks the event loop)."""
    return await run_in_threadpool(lambda: function(engine=engine(), **kwargs))


# One writer at a time per SQLite file in this process: SQLite takes one writer anyway, and a
# writer waiting in SQLite's busy handler sleeps in growing steps (1, 2, 5 ... 100 ms) where a
# queue on this lock hands over the moment the previous write commits.
_SQLITE_WRITES = threading.Lock()


async def writing(function, /, **kwargs):
    """``with_engine`` for a function that writes: on SQLite, behind the process's one write lock."""
    def call():
        current = engine()
        if current.dialect.name != "sqlite":
            return function(engine=current, **kwargs)
        with _SQLITE_WRITES:
            return function(engine=current, **kwargs)

    return await run_in_threadpool(call)


async def run(function, /, *args):
    """``function(*args)`` on a worker thread."""
    return await run_in_threadpool(function, *args)
