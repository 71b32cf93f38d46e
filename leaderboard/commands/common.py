"""Helpers shared by the commands: --db, --format and output tables."""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from typing import Any, Iterable, Sequence

from sqlalchemy.engine import Engine

from db.engine import make_engine
from leaderboard.settings import Settings, get_settings

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


def engine_for(args: argparse.Namespace) -> Engine:
    """The database of ``--db`` (else the settings), upgraded to the newest revision."""
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
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        for r in clean:
            writer.writerow(["" if r[c] is None else _csv_text(r[c]) for c in columns])
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
    # imported here, not at the top, only because this branch appends to common.py (another edits its head): hoist on merge
    from leaderboard.periods import PERIODS

    parser.add_argument(
        "--period",
        default="week",
        help=f"{', '.join(PERIODS)}, or START..END as YYYY-MM-DD..YYYY-MM-DD (default: week)",
    )
    parser.add_argument("--site", help="only this site")
    parser.add_argument("--team", help="only this team (SITE/TEAM when the name is used at several sites)")
    parser.add_argument("--tz", help="time zone for days and weeks when the scope spans sites (default: UTC)")
