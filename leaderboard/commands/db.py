"""`python -m leaderboard db upgrade|current|history|revision|rebuild-rollups|check-rollups`.

Schema revisions (Alembic), and the rollups (``db.rollups``): rebuilt from the raw rows, or checked against them.

The app and every other command upgrade the database on start already; these
commands say where it stands, upgrade it on purpose (for example before
starting several servers) and write the file of a new schema change.
"""

from __future__ import annotations

import argparse
import sys

from db import migrate, rollups
from db.audit import record
from db.engine import make_engine
from leaderboard.auth import SYSTEM_VIEWER
from leaderboard.cli import UserError
from leaderboard.commands.common import (
    add_db_argument,
    add_format_argument,
    engine_for,
    refuse_missing_database,
    settings_for,
    write_rows,
)

HISTORY_COLUMNS = ("revision", "revises", "message", "head", "current")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "db",
        help="schema revisions: upgrade, current, history, revision",
        description=(
            "The database schema is versioned with Alembic (db/migrations/versions/). "
            "Every schema change is a new revision file; the app and every command upgrade "
            "an older database when they open it."
        ),
    )
    sub = parser.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = sub.add_parser("upgrade", help="bring the database to the newest revision and print from -> to")
    add_db_argument(up)
    up.set_defaults(handler=run_upgrade)
    cur = sub.add_parser("current", help="print the database's revision id ('none' before the first)")
    add_db_argument(cur)
    cur.set_defaults(handler=run_current)
    hist = sub.add_parser("history", help="list the revisions, oldest first, marking the database's")
    add_format_argument(hist)
    add_db_argument(hist)
    hist.set_defaults(handler=run_history)
    rev = sub.add_parser(
        "revision",
        help="write a new revision file in db/migrations/versions/",
        description=(
            "Write db/migrations/versions/NNNN_<message>.py. With --autogenerate it is filled in from "
            "the difference between the models (db/models.py) and the database (upgraded first): "
            "review it, then commit it."
        ),
    )
    rev.add_argument("-m", "--message", required=True, help="what the change does, e.g. 'add agent.email'")
    rev.add_argument("--autogenerate", action="store_true", help="compare the models with the database")
    add_db_argument(rev)
    rev.set_defaults(handler=run_revision)
    rebuild = sub.add_parser(
        "rebuild-rollups",
        help="recompute the per-agent per-day rollups (agent_day) from the raw rows",
        description="Every write keeps the rollups; this recomputes them all in one transaction (audited).",
    )
    add_db_argument(rebuild)
    rebuild.set_defaults(handler=run_rebuild_rollups)
    check = sub.add_parser(
        "check-rollups",
        help="compare the rollups with a full recomputation from the raw rows; exit 1 on any difference",
    )
    add_db_argument(check)
    check.set_defaults(handler=run_check_rollups)


def _engine(args: argparse.Namespace, *, may_create: bool = False):
    # Only look: current and history must not change (nor create) the database they describe.
    if not may_create:
        refuse_missing_database(args)
    return make_engine(settings_for(args).database_url, create=False)


def run_upgrade(args: argparse.Namespace) -> int:
    engine = _engine(args, may_create=True)  # an empty database on purpose: the one way besides seed
    try:
        print(migrate.upgrade(engine).describe())
    finally:
        engine.dispose()
    return 0


def run_current(args: argparse.Namespace) -> int:
    engine = _engine(args)
    try:
        revision = migrate.current(engine)
        try:
            note = "" if migrate.pending(engine) == "none" else (
                f"note: not at the newest revision {migrate.head()}: run `{migrate.UPGRADE_COMMAND}`"
            )
        except migrate.DatabaseNewerError as exc:
            note = f"note: {exc}"
    finally:
        engine.dispose()
    print(revision or "none")
    if note:
        print(note, file=sys.stderr)
    return 0


def run_history(args: argparse.Namespace) -> int:
    engine = _engine(args)
    try:
        at = migrate.current(engine)
    finally:
        engine.dispose()
    rows = [
        {"revision": r.revision, "revises": r.down_revision or "", "message": r.message,
         "head": r.is_head, "current": r.revision == at}
        for r in migrate.history()
    ]
    write_rows(rows, HISTORY_COLUMNS, args.format)
    return 0


def run_revision(args: argparse.Namespace) -> int:
    message = args.message.strip()
    if not message:
        raise UserError("give the revision a message (-m 'what it changes')")
    engine = engine_for(args, may_create=True)
    try:
        path = migrate.revision(engine, message=message, autogenerate=args.autogenerate)
    finally:
        engine.dispose()
    print(f"wrote {path}: review it, then commit it")
    return 0


def run_rebuild_rollups(args: argparse.Namespace) -> int:
    engine = engine_for(args)
    try:
        with engine.begin() as conn:
            count = rollups.rebuild(conn)
            record(conn, actor=SYSTEM_VIEWER.username, kind="rollups_rebuilt", detail=f"{count} rows")
    finally:
        engine.dispose()
    print(f"rollups rebuilt: {count} agent-day rows")
    return 0


def run_check_rollups(args: argparse.Namespace) -> int:
    engine = engine_for(args)
    try:
        with engine.connect() as conn:
            found = rollups.differences(conn)
    finally:
        engine.dispose()
    if not found:
        print("rollups match the raw rows")
        return 0
    for line in found:
        print(line)
    print(f"rollups differ from the raw rows ({len(found)} difference(s) shown): "
          "run `python -m leaderboard db rebuild-rollups`", file=sys.stderr)
    return 1
