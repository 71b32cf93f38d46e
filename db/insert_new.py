"""One INSERT that skips rows whose unique key is already taken, on every database Starboard runs on."""

from __future__ import annotations

from typing import Sequence

from sqlalchemy import Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

_ON_CONFLICT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def insert_new(dialect: str, table: Table | type, *, key: Sequence[str]) -> tuple[Insert, bool]:
    """(statement, skips_taken): ``INSERT ... ON CONFLICT (key) DO NOTHING`` on PostgreSQL and SQLite.

    ``table``: a Table, or a mapped class for an ORM insert (``session.scalars(... .returning(Model))``).

    Another database has no portable ON CONFLICT: a plain INSERT with ``skips_taken`` False, and
    the caller looks for the key first or retries a clash. Count what landed with RETURNING, not
    ``rowcount``: psycopg reports -1 for INSERT ... ON CONFLICT DO NOTHING.
    """
    make = _ON_CONFLICT.get(dialect)
    if make is None:
        return insert(table), False
    return make(table).on_conflict_do_nothing(index_elements=list(key)), True
