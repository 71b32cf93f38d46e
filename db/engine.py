"""The database engine: SQLite by default, any SQLAlchemy URL through DATABASE_URL."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from db import changes, migrate

# How long a SQLite writer waits for a lock before giving up (ms). The wall and
# an import or the simulator run in different processes against one file.
SQLITE_BUSY_TIMEOUT_MS = 5000


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    # WAL lets the wall read while an import writes; NORMAL sync is safe with WAL.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # 64 MB page cache: index upkeep during a million-row import stays in memory.
    cur.execute("PRAGMA cache_size=-65536")
    # Off by default in SQLite: without it ON DELETE CASCADE silently does nothing.
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(url: str, *, create: bool = True) -> Engine:
    """An engine for ``url``, its schema brought to the head revision (``db.migrate.upgrade``).

    Creates the parent folder of a SQLite file; an empty database gets the tables,
    an older one is upgraded, a newer one raises ``migrate.DatabaseNewerError``.
    ``create=False`` touches nothing.
    """
    parsed = make_url(url)
    kwargs: dict = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if create:
        try:
            migrate.upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
        # At the head revision now, so the change counter exists: every write moves it.
        changes.track(engine)
    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
