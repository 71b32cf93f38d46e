"""The database engine: SQLite by default, any SQLAlchemy URL through DATABASE_URL."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, create_engine

from db import changes, migrate
from db import rollups  # noqa: F401  (imported for its session hook: ORM writes keep the rollups)
from db.retry import DatabaseBusy, is_busy

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


# Seconds a PostgreSQL connection attempt may take: a firewalled host otherwise hangs for minutes.
CONNECT_TIMEOUT_S = 10


class DatabaseUnavailable(Exception):
    """The database cannot be reached: one line naming it (never its password) and why."""


def shown_url(url: str) -> str:
    """``url`` without its password and query: postgresql+psycopg://user@host:5432/db."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(query={}).render_as_string(hide_password=False)
    # URL.set(password=None) keeps the password; the named tuple's own _replace drops it.
    return parsed.set(query={})._replace(password=None).render_as_string(hide_password=False)


# Driver messages -> the few words a user needs (first match wins).
_REASONS = (
    ("connection refused", "connection refused"),
    ("timeout expired", "timed out"),
    ("timed out", "timed out"),
    ("could not translate host name", "unknown host"),
    ("name or service not known", "unknown host"),
    ("temporary failure in name resolution", "unknown host"),
    ("nodename nor servname", "unknown host"),
    ("password authentication failed", "password authentication failed"),
    ("no password supplied", "a password is required"),
    ("unable to open database file", "cannot open the file"),
    ("no such host", "unknown host"),
    ("network is unreachable", "network unreachable"),
    ("no route to host", "no route to host"),
    ("server closed the connection", "the server closed the connection"),
    ("terminating connection", "the server closed the connection"),
)


def unreachable_reason(exc: BaseException) -> str:
    """Why a connection failed, in a few words ("connection refused", "unknown host", ...)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    lowered = text.lower()
    for marker, reason in _REASONS:
        if marker in lowered:
            return reason
    if "does not exist" in lowered:  # database "x" does not exist / role "y" does not exist
        for line in lowered.splitlines():
            if "does not exist" in line:
                return line.split("fatal:")[-1].strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return first.removeprefix("connection failed: ")[:160]


def database_error(url: str, exc: BaseException) -> Exception:
    """The one-line error a failed first use of ``url`` means: DatabaseBusy or DatabaseUnavailable."""
    if is_busy(exc):
        return DatabaseBusy(str(getattr(exc, "orig", exc)))
    return DatabaseUnavailable(f"cannot reach the database at {shown_url(url)} ({unreachable_reason(exc)})")


def missing_sqlite_file(url: str) -> Path | None:
    """The file a SQLite ``url`` names when it does not exist (None for an existing file or another database)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    if parsed.database.startswith("file:"):  # a URI filename: SQLite's own rules apply
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


def make_engine(url: str, *, create: bool = True) -> Engine:
    """An engine for ``url``, its schema brought to the head revision (``db.migrate.upgrade``).

    Creates the parent folder of a SQLite file; an empty database gets the tables,
    an older one is upgraded, a newer one raises ``migrate.DatabaseNewerError``.
    ``create=False`` touches nothing. A database that cannot be reached raises
    ``DatabaseUnavailable`` (one line, without the password); one held by other
    writers past every wait, ``db.retry.DatabaseBusy``.
    """
    parsed = make_url(url)
    kwargs: dict = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    else:
        kwargs["pool_pre_ping"] = True
        if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
            kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if create:
        try:
            migrate.upgrade(engine)
        except DBAPIError as exc:
            engine.dispose()
            raise database_error(url, exc) from exc
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
