"""`python -m leaderboard exclude INTERACTION_ID --cause C --by NAME --reason TEXT` (or `--undo`)."""

from __future__ import annotations

import argparse

from sqlmodel import Session

from db import recovery_store
from db.models import EXCLUSION_CAUSES
from leaderboard.auth import SYSTEM_VIEWER
from leaderboard.cli import UserError
from leaderboard.commands.common import add_db_argument, engine_for
from leaderboard.recovery import RecoveryError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "exclude",
        help="take a rating out of an agent's figures (not their fault), or --undo",
        description=(
            "Mark a rating as caused by something outside the agent's control. It leaves the agent's "
            "leaderboard figures, badges and prompts, but stays in reports by cause and in recovery. "
            "Every exclusion and undo is in the audit log."
        ),
    )
    parser.add_argument("interaction_id", metavar="INTERACTION_ID")
    parser.add_argument("--cause", choices=EXCLUSION_CAUSES)
    parser.add_argument("--by", required=True, metavar="NAME", help="who decides (username or display name)")
    parser.add_argument("--reason", metavar="TEXT")
    parser.add_argument("--undo", action="store_true", help="put the rating back into the agent's figures")
    add_db_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not args.undo and (not args.cause or not args.reason):
        raise UserError("--cause and --reason are required (or --undo)")
    try:
        with Session(engine_for(args)) as session:
            user = recovery_store.find_user(session, args.by)
            if args.undo:
                recovery_store.undo_exclusion(
                    session=session, interaction_id=args.interaction_id, by=user, viewer=SYSTEM_VIEWER
                )
                print(f"{args.interaction_id}: exclusion undone")
            else:
                recovery_store.exclude(
                    session=session, interaction_id=args.interaction_id, cause=args.cause, by=user, reason=args.reason,
                    viewer=SYSTEM_VIEWER,
                )
                print(f"{args.interaction_id}: excluded ({args.cause})")
    except RecoveryError as exc:
        raise UserError(str(exc)) from None
    return 0
