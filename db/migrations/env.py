"""Alembic's entry point for Starboard's revisions.

``db.migrate`` hands over an open connection (``config.attributes["connection"]``),
already inside the transaction that holds the migration lock. Without one, the
URL comes from the config or the settings (``DATABASE_URL`` / ``STARBOARD_DB``).
"""

from alembic import context
from sqlalchemy import create_engine
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

from db import models  # noqa: F401  (registers every table on SQLModel.metadata)
from leaderboard.settings import get_settings

config = context.config
target_metadata = SQLModel.metadata


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or get_settings().database_url


def _render_item(kind: str, obj, _context):
    # SQLModel's AutoString is a plain VARCHAR: written as sa.String, a revision needs no sqlmodel import.
    if kind == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


def _options() -> dict:
    # Batch mode rewrites a table change as "copy, drop, rename" on SQLite (which cannot
    # ALTER most things) and as plain ALTERs elsewhere, so one revision fits both.
    return {"target_metadata": target_metadata, "render_as_batch": True, "compare_type": True,
            "render_item": _render_item}


def run_migrations_offline() -> None:
    context.configure(url=_url(), literal_binds=True, **_options())
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, **_options())
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url())
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, **_options())
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
