"""`python -m leaderboard import FILE.csv`: load ratings in the canonical CSV format."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy.exc import SQLAlchemyError

from db.ingest import COLUMNS, import_csv
from leaderboard.cli import UserError
from leaderboard.commands.common import add_db_argument, engine_for

# Rejections printed before "... and N more" (the summary still counts them all).
MAX_PRINTED_ERRORS = 50


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "import",
        help="import ratings from a canonical CSV file",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Import closed interactions and their ratings from a CSV file with a header row naming\n"
            f"  {', '.join(COLUMNS)}\n"
            "(any order, case-insensitive). Leave every rating column empty for an interaction the\n"
            "customer did not rate. Times are ISO 8601 (UTC unless they carry an offset); stars 1-5;\n"
            "nps 0-10; resolved yes/no; went_well and to_improve are ';'-separated tags.\n"
            "\n"
            "Valid rows land, rejected rows are listed on stderr with their line number; importing\n"
            "the same file again changes nothing. Unknown sites, teams and agents are created.\n"
            "Exit code: 0 every row landed, 1 some rows were rejected, 2 the file could not be read."
        ),
    )
    parser.add_argument("file", metavar="FILE.csv", help="the CSV file to import (UTF-8)")
    parser.add_argument("--batch-size", type=int, default=2000, help=argparse.SUPPRESS)
    add_db_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    engine = engine_for(args)
    try:
        report = import_csv(engine=engine, path=args.file, batch_size=args.batch_size)
    except SQLAlchemyError as exc:
        # Batches already written stay (each is its own transaction); the import can simply be run again.
        raise UserError(f"database error, import stopped (run it again to finish): {_first_line(exc)}") from None
    finally:
        engine.dispose()
    if report.fatal:
        raise UserError(f"cannot import {report.fatal}")
    for error in report.errors[:MAX_PRINTED_ERRORS]:
        print(error, file=sys.stderr)
    if report.rejected > MAX_PRINTED_ERRORS:
        print(f"... and {report.rejected - MAX_PRINTED_ERRORS} more rejected rows", file=sys.stderr)
    print(report.summary())
    return report.exit_code


def _first_line(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
