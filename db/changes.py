"""The change counter: one number that every write moves, in the transaction that writes.

Caches key on it (``read``): an edit in place (a rating corrected from 5★ to 3★, an
exclusion) moves it as surely as a new row, and reading it is one primary-key lookup
however large the database grows.

Nobody has to remember to move it. ``track(engine)`` (``db.engine.make_engine`` calls it)
watches every statement the engine runs: an INSERT, UPDATE or DELETE that changed rows of
a tracked table marks the transaction, and the commit of a marked transaction moves the
counter first, on the same connection, so the new value and the new data become visible
together. That covers ORM flushes, ORM bulk statements and Core writes alike. The counter
row is locked only for that last statement before the commit, so two writers never wait
on each other while holding other rows (no deadlock on PostgreSQL).

``bump(connection)`` moves it at once: for writers on an engine that is not tracked (the
batch writer calls it once per batch transaction, whatever engine it was given).
"""

from __future__ import annotations

import re

from sqlalchemy import event, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from db.models import ChangeCounter

COUNTER_ID = 1
_COUNTER = ChangeCounter.__table__

# Writes no cached screen reads: the counter itself, migrations' bookkeeping, the audit
# trail (always written beside the change it records) and coaching prompts (derived from
# the data by the rules; their queue is read live; a rules run writing them must not
# trigger the next run), the API's request log (one row per request, read live on the Admin page),
# and the outbox and the unsubscribe list: delivery machinery no screen caches (a sender's claims
# and marks must not refresh every wall).
UNTRACKED = frozenset({"change_counter", "alembic_version", "audit_log", "coaching_prompt", "api_request", "outbox",
                       "mail_unsubscribe"})

# Set in Connection.info (one per pooled DBAPI connection) between the first tracked write
# of a transaction and its commit or rollback.
_MARK = "starboard_changed"

# Driver-level SQL (exec_driver_sql, text()) has no compiled statement to ask.
_DML = re.compile(
    r"""\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)\s+["`\[]?(\w+)""",
    re.IGNORECASE,
)
# Plain SQL without parameters: the same text for every driver's parameter style.
_BUMP_SQL = f"UPDATE change_counter SET value = value + 1 WHERE id = {COUNTER_ID}"


def read(connection: Connection | Session) -> int:
    """The counter's value (0 on a database that has no row yet)."""
    value = connection.execute(select(_COUNTER.c.value).where(_COUNTER.c.id == COUNTER_ID)).scalar()
    return int(value or 0)


def bump(connection: Connection) -> None:
    """Move the counter now, inside ``connection``'s transaction."""
    connection.execute(update(_COUNTER).where(_COUNTER.c.id == COUNTER_ID).values(value=_COUNTER.c.value + 1))
    # Moved already: the commit need not move it again unless something is written after this.
    connection.info.pop(_MARK, None)


def written_table(statement: str, context) -> str | None:
    """The table an INSERT, UPDATE or DELETE writes (lower case), or None for anything else."""
    compiled = getattr(context, "compiled", None)
    if compiled is not None and (context.isinsert or context.isupdate or context.isdelete):
        table = getattr(compiled.statement, "table", None)
        name = getattr(table, "name", None)
        if name:
            return name.lower()
    match = _DML.match(statement)
    return match.group(1).lower() if match else None


def _after_cursor_execute(conn, cursor, statement, parameters, context, executemany) -> None:
    if conn.info.get(_MARK):
        return
    table = written_table(statement, context)
    if table is None or table in UNTRACKED:
        return
    # Nothing changed (an upsert that found its row): no reason to refresh anything. With
    # RETURNING (a description) the count is only known once the rows are read: count it.
    if cursor.rowcount == 0 and cursor.description is None:
        return
    conn.info[_MARK] = True


def _on_begin(conn) -> None:
    conn.info.pop(_MARK, None)


def _on_commit(conn) -> None:
    if not conn.info.pop(_MARK, False):
        return
    # On the DBAPI connection itself: same transaction, and no event or autobegin of
    # SQLAlchemy's runs again inside its own commit.
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(_BUMP_SQL)
    finally:
        cursor.close()


def _on_rollback(conn) -> None:
    conn.info.pop(_MARK, None)


def track(engine: Engine) -> None:
    """Move the counter in every transaction that writes through ``engine`` (once per engine)."""
    if event.contains(engine, "commit", _on_commit):
        return
    event.listen(engine, "after_cursor_execute", _after_cursor_execute)
    event.listen(engine, "begin", _on_begin)
    event.listen(engine, "commit", _on_commit)
    event.listen(engine, "rollback", _on_rollback)
