"""`python -m leaderboard import FILE [--mapping MAP.toml]`: load ratings from a canonical
CSV, or from another system's export (.csv or .xlsx) through a mapping."""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from db.ingest import COLUMNS, DEFAULT_BATCH_SIZE, ImportReport, RejectedRows, import_file
from db.mapping import MappingError, load_mapping
from db.retry import DatabaseBusy
from leaderboard.auth import SYSTEM_VIEWER
from leaderboard.cli import UserError
from leaderboard.commands.common import add_db_argument, engine_for

# Rejections printed before "... and N more" (the summary still counts them all).
MAX_PRINTED_ERRORS = 50


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "import",
        help="import ratings from a CSV or .xlsx file (canonical columns, or any export with --mapping)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Import closed interactions and their ratings from a .csv or .xlsx file whose header names\n"
            f"  {', '.join(COLUMNS)}\n"
            "(any order, case-insensitive; an optional leader column names the team's leader). Leave\n"
            "every rating column empty for an interaction the customer did not rate. Times are ISO 8601\n"
            "(UTC unless they carry an offset); stars 1-5; nps 0-10; resolved yes/no; went_well and\n"
            "to_improve are ';'-separated tags.\n"
            "\n"
            "Another system's export (other column names, a Date and a Time column, day-first dates,\n"
            "good/bad scores, local times) imports through a mapping: --mapping MAP.toml (see\n"
            "examples/mappings/README.md).\n"
            "\n"
            "A CSV may use any delimiter (, ; tab |) and be UTF-8, UTF-16 with a BOM, or cp1252/latin-1:\n"
            "the first line printed says how the file was read. Valid rows land, rejected rows are listed\n"
            "on stderr with their line number; importing the same file again changes nothing, and an\n"
            "interrupted import finishes when run again. Unknown sites, teams and agents are created.\n"
            "A row dated before STARBOARD_EARLIEST_DATE (2000-01-01) or more than STARBOARD_MAX_DAYS_AHEAD\n"
            "days (1) after today is rejected, as is a line holding a NUL byte. The database must exist\n"
            "(`db upgrade` creates an empty one); another writer's lock is waited out, then reported.\n"
            "\n"
            "Agents: an optional agent_external_id column (the agent's id in your own systems) identifies\n"
            "an agent whatever the spelling of their name; without it an agent is found by name within\n"
            "the row's site, ignoring case and accents (\"ann good\" is Ann Good). A name at another site\n"
            "is another agent, and a file never moves an agent to another site: a row that would is\n"
            "rejected (`python -m leaderboard agents move` does it, audited). A row naming a known agent\n"
            "under another team of their site asks to move them: the move is listed (\"Ann Good: Blue → Red\n"
            "from 2026-11-20\") and made only with --allow-moves (ratings from that date on count for the\n"
            "new team, earlier ones for the old); without it the ratings land, the agent keeps their team\n"
            "and each move held back is named. --dry-run lists the moves a file asks for. Every import is\n"
            "written to the audit log (file name and SHA-256, counts, agents moved and moves held back,\n"
            "ratings changed in place).\n"
            "Exit code: 0 every row landed, 1 some rows were rejected, 2 the file could not be read."
        ),
    )
    parser.add_argument("file", metavar="FILE", help="the .csv or .xlsx file to import")
    parser.add_argument("--mapping", metavar="MAP.toml", help="how the file's columns become canonical columns")
    parser.add_argument(
        "--dry-run", action="store_true", help="check every row and report, but write nothing"
    )
    parser.add_argument(
        "--allow-moves",
        action="store_true",
        help="move agents the file names under another team of their site (listed first by --dry-run)",
    )
    parser.add_argument(
        "--rejects", metavar="OUT.csv", help="write the rejected rows, with their line and problems, to this CSV file"
    )
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help=argparse.SUPPRESS)
    add_db_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    mapping = None
    if args.mapping:
        try:
            mapping = load_mapping(args.mapping)
        except MappingError as exc:
            raise UserError(str(exc)) from None
    rejects_file = None
    if args.rejects:
        try:
            rejects_file = Path(args.rejects).open("w", encoding="utf-8", newline="")
        except OSError as exc:
            raise UserError(f"cannot write {args.rejects}: {exc.strerror or exc}") from None
    engine = engine_for(args)
    # This process only imports: the cyclic garbage collector's full passes over every live
    # object cost a sixth of the CPU of a large import, and the import makes no cycles.
    gc.disable()
    try:
        report = import_file(
            engine=engine,
            viewer=SYSTEM_VIEWER,
            path=args.file,
            mapping=mapping,
            batch_size=args.batch_size,
            dry_run=args.dry_run,
            progress=_progress_printer() if sys.stderr.isatty() else None,
            rejects=RejectedRows(rejects_file) if rejects_file else None,
            allow_moves=args.allow_moves,
        )
    except DatabaseBusy as exc:
        raise UserError(f"{exc} (batches already written stay: run the import again to finish)") from None
    except SQLAlchemyError as exc:
        # Batches already written stay (each is its own transaction); the import can simply be run again.
        raise UserError(f"database error, import stopped (run it again to finish): {_first_line(exc)}") from None
    finally:
        gc.enable()
        engine.dispose()
        if rejects_file:
            rejects_file.close()
    if sys.stderr.isatty():
        print("\r\033[K", end="", file=sys.stderr)
    if report.fatal:
        hint = ""
        if mapping is None and "missing column" in report.fatal:
            hint = " (another system's export? describe its columns with --mapping MAP.toml: see examples/mappings/)"
        # A file problem starts with the file's name; a mapping that does not fit it, with the mapping's.
        prefix = "cannot import " if report.fatal.startswith(f"{Path(args.file).name}: ") else ""
        raise UserError(f"{prefix}{report.fatal}{hint}")
    print(f"{Path(args.file).name}: {report.source}{' (dry run: nothing written)' if args.dry_run else ''}")
    for error in report.errors[:MAX_PRINTED_ERRORS]:
        print(error, file=sys.stderr)
    if report.rejected > MAX_PRINTED_ERRORS:
        print(f"... and {report.rejected - MAX_PRINTED_ERRORS} more rejected rows", file=sys.stderr)
    _print_moves(report, dry_run=args.dry_run, allowed=args.allow_moves)
    print(report.summary())
    return report.exit_code


def _print_moves(report: ImportReport, *, dry_run: bool, allowed: bool) -> None:
    """Each team move: made, held back (the agent kept their team), or, in a dry run, asked for."""
    if dry_run:
        verb = "would move" if allowed else "would move with --allow-moves"
        lines = [f"{verb}: {m}" for m in report.held_moves]
    else:
        lines = [f"moved: {m}" for m in report.moves]
        lines += [f"held back (the agent keeps their team; run again with --allow-moves): {m}" for m in report.held_moves]
    for line in lines:
        print(line)


def _progress_printer():
    def show(report: ImportReport) -> None:
        print(f"\r{report.read:,} rows read, {report.rejected:,} rejected", end="", file=sys.stderr, flush=True)

    return show


def _first_line(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
