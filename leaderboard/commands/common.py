"""Helpers shared by the commands: --db, --format and output tables."""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
from typing import Any, Iterable, Sequence

from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.engine import make_engine, missing_sqlite_file
from leaderboard.auth import AuthError
from leaderboard.cli import UserError
from leaderboard.periods import PERIODS
from leaderboard.settings import Settings, get_settings
from leaderboard.text import write_csv

FORMATS = ("table", "csv", "json")


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="SQLite file or SQLAlchemy URL (default: $DATABASE_URL, else data/starboard.db)",
    )


def add_format_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")


def settings_for(args: argparse.Namespace) -> Settings:
    return get_settings().with_db(getattr(args, "db", None))


def refuse_missing_database(args: argparse.Namespace) -> None:
    """Raise UserError when the database is a SQLite file that does not exist.

    A mistyped ``--db`` (or DATABASE_URL, STARBOARD_DB) must not quietly start an empty
    database in a new folder: only ``seed`` and ``db upgrade`` (and ``db revision``) create one.
    """
    url = settings_for(args).database_url
    missing = missing_sqlite_file(url)
    if missing is None:
        return
    given = "--db" if getattr(args, "db", None) else "DATABASE_URL/STARBOARD_DB, else the default"
    raise UserError(
        f"no database at {missing} (from {given}): check the path, or create one with "
        "`python -m leaderboard db upgrade` (empty) or `python -m leaderboard seed` (demo data)"
    )


def engine_for(args: argparse.Namespace, *, may_create: bool = False) -> Engine:
    """The database of ``--db`` (else the settings), upgraded to the newest revision.

    A SQLite file that does not exist is refused (``refuse_missing_database``) unless
    ``may_create``: the commands that make a database say so.
    """
    if not may_create:
        refuse_missing_database(args)
    return make_engine(settings_for(args).database_url)


def _cell(value: Any) -> Any:
    """JSON/CSV-friendly value: NaN and None become empty."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalar
        return _cell(value.item())
    return value


def write_rows(
    rows: Iterable[dict[str, Any]],
    columns: Sequence[str],
    fmt: str,
    out=None,
) -> None:
    """Print ``rows`` with exactly ``columns`` as an aligned table, CSV or JSON."""
    out = out or sys.stdout
    clean = [{c: _cell(r.get(c)) for c in columns} for r in rows]
    if fmt == "json":
        json.dump(clean, out, indent=2, ensure_ascii=False)
        out.write("\n")
        return
    if fmt == "csv":
        # The one CSV writer: a cell a spreadsheet would run as a formula gets an apostrophe.
        buf = io.StringIO()
        write_csv(clean, columns, buf)
        out.write(buf.getvalue())
        return
    text = [[("" if r[c] is None else _csv_text(r[c])) for c in columns] for r in clean]
    widths = [max([len(c)] + [len(row[i]) for row in text]) for i, c in enumerate(columns)]
    out.write("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip() + "\n")
    for row in text:
        out.write("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() + "\n")
    if not text:
        out.write("(no rows)\n")


def _csv_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def add_period_scope_arguments(parser: argparse.ArgumentParser) -> None:
    """--period, --site, --team and --tz: the period and scope a leaderboard-like report covers."""
    parser.add_argument(
        "--period",
        default="week",
        help=f"{', '.join(PERIODS)}, or START..END as YYYY-MM-DD..YYYY-MM-DD (default: week)",
    )
    parser.add_argument("--site", help="only this site")
    parser.add_argument("--team", help="only this team (SITE/TEAM when the name is used at several sites)")
    parser.add_argument("--tz", help="time zone for days and weeks when the scope spans sites (default: UTC)")


def run_accounts(args: argparse.Namespace, action) -> int:
    """Run ``action(session)`` on the command's database; a refusal (AuthError) is one line, exit 2."""
    try:
        with Session(engine_for(args)) as session:
            return action(session) or 0
    except AuthError as exc:
        raise UserError(str(exc)) from None
