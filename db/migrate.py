"""Schema migrations (Alembic): what happens to a database when Starboard opens it.

- empty (no Starboard table): ``create_all`` and stamp the head revision, the
  fast path of Alembic's "create from scratch" recipe (tests make thousands);
- made by release 9, the last one before migrations (tables, no
  ``alembic_version``): stamped ``0001`` (that release's schema), then upgraded;
- at an older revision: upgraded to the head in one transaction;
- at the head: nothing (one small query);
- at a revision this code does not know: :class:`DatabaseNewerError`, one line.

Every write happens in one transaction that also holds a lock (SQLite: ``BEGIN
IMMEDIATE``; PostgreSQL: an advisory lock), so two processes opening the same
old database upgrade it once. ``alembic_version`` is created unqualified, in
the connection's current schema (PostgreSQL: the first of ``search_path``).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from db import models  # noqa: F401  (registers every table on SQLModel.metadata)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The schema of release 9, the last release that only knew create_all.
BASELINE = "0001"
UPGRADE_COMMAND = "python -m leaderboard db upgrade"
# The migration lock on PostgreSQL: one pg_advisory_xact_lock key per schema, the same for every
# Starboard process using that schema (two Starboard databases in two schemas never wait on each other).
_PG_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended('starboard.migrate:' || current_schema(), 0))"


class DatabaseNewerError(Exception):
    """The database was upgraded by a newer release than this code: one line for the user."""

    def __init__(self, revision: str):
        self.revision = revision
        super().__init__(
            f"the database is newer than this code (revision {revision}, this code knows up to {head()}); "
            f"run `{UPGRADE_COMMAND}` with the newer release"
        )


@dataclass(frozen=True)
class Revision:
    revision: str
    down_revision: str | None
    message: str
    is_head: bool


@dataclass(frozen=True)
class Upgrade:
    """What :func:`upgrade` did: ``before`` is None for an empty or release-9 database."""

    before: str | None
    after: str
    action: str  # "none", "created", "upgraded"

    def describe(self) -> str:
        """One line: "upgraded 0001 -> 0002", "created the tables: none -> 0001", "already at 0001"."""
        if self.action == "none":
            return f"already at the newest revision {self.after}"
        before = self.before or ("none" if self.action == "created" else "release 9 (no revision)")
        verb = "created the tables" if self.action == "created" else "upgraded"
        return f"{verb}: {before} -> {self.after}"


# --------------------------------------------------------------------------- the revisions


def alembic_config(*, connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic config built in code (no alembic.ini); ``connection`` is what env.py runs on."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    # Parsing the revision files once per process keeps opening a database cheap.
    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    """The newest revision this code knows."""
    return _script().get_current_head()


def _known() -> set[str]:
    return {r.revision for r in _script().walk_revisions()}


def history() -> list[Revision]:
    """Every revision, oldest first."""
    top = head()
    revisions = [
        Revision(r.revision, r.down_revision, (r.doc or "").strip().splitlines()[0] if r.doc else "", r.revision == top)
        for r in _script().walk_revisions()
    ]
    return revisions[::-1]


def next_revision_id() -> str:
    """Revisions are numbered 0001, 0002, ...: the id after the head."""
    return f"{int(head()) + 1:04d}"


# --------------------------------------------------------------------------- reading a database


def _state(conn: Connection) -> tuple[str | None, bool]:
    """(revision in alembic_version or None, whether any Starboard table exists)."""
    revision = MigrationContext.configure(conn).get_current_revision()
    tables = set(inspect(conn).get_table_names())
    return revision, bool(tables & set(SQLModel.metadata.tables))


def _plan(revision: str | None, has_tables: bool) -> str:
    """"create", "baseline" (release 9), "upgrade" or "none"; raises for a newer database."""
    if not has_tables:
        return "create"
    if revision is None:
        return "baseline"
    if revision not in _known():
        raise DatabaseNewerError(revision)
    return "none" if revision == head() else "upgrade"


def current(engine: Engine) -> str | None:
    """The database's revision (None: empty or made before migrations)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def pending(engine: Engine) -> str:
    """What :func:`upgrade` would do to this database: "create", "baseline", "upgrade" or "none".

    Raises :class:`DatabaseNewerError` for a database newer than this code.
    """
    with engine.connect() as conn:
        return _plan(*_state(conn))


def check(engine: Engine) -> list:
    """Differences between the database and the models (Alembic autogenerate); empty when they match.

    On a database at the head this says whether the revisions describe the
    models: a model change without its revision shows up here.
    """
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)


# --------------------------------------------------------------------------- changing a database


@contextmanager
def _locked_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction holding the migration lock; committed on success, rolled back on error."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text(_PG_LOCK_SQL))
            yield conn
        return
    # pysqlite opens transactions only for DML, so DDL would commit statement by
    # statement: drive BEGIN/COMMIT ourselves. Foreign keys are off meanwhile, because
    # a batch table rebuild drops and recreates tables (with them on, a drop would
    # cascade); they are checked before the commit instead.
    with engine.connect() as raw:
        conn = raw.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left rows with dangling foreign keys: {broken[:5]}")
            except BaseException:
                conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")
        finally:
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")


def _run_upgrade(conn: Connection) -> None:
    command.upgrade(alembic_config(connection=conn), "head")


def upgrade(engine: Engine) -> Upgrade:
    """Bring the database to the head revision (see the module docstring for each case)."""
    with engine.connect() as conn:
        revision, has_tables = _state(conn)
    if _plan(revision, has_tables) == "none":
        return Upgrade(revision, revision, "none")
    with _locked_transaction(engine) as conn:
        # Again under the lock: another process may have done it meanwhile.
        revision, has_tables = _state(conn)
        plan = _plan(revision, has_tables)
        context = MigrationContext.configure(conn)
        if plan == "create":
            SQLModel.metadata.create_all(conn)
            context.stamp(_script(), "head")
            return Upgrade(None, head(), "created")
        if plan == "baseline":
            context.stamp(_script(), BASELINE)
        if plan in ("baseline", "upgrade"):
            _run_upgrade(conn)
            return Upgrade(revision, head(), "upgraded")
        return Upgrade(revision, revision, "none")


def revision(engine: Engine, *, message: str, autogenerate: bool) -> str:
    """Write a new revision file (compared against ``engine``'s database when ``autogenerate``)."""
    rev_id = next_revision_id()
    with engine.connect() as conn:
        script = command.revision(
            alembic_config(connection=conn), message=message, autogenerate=autogenerate, rev_id=rev_id
        )
    _script.cache_clear()
    return script.path if script is not None else rev_id
