"""`python -m leaderboard purge-comments --older-than DAYS`: retention for customer comments."""

from __future__ import annotations

import argparse

from sqlmodel import Session

from db import accounts
from leaderboard.auth import AuthError
from leaderboard.cli import UserError
from leaderboard.commands.common import add_db_argument, engine_for


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "purge-comments",
        help="blank customer comments older than N days (stars are kept)",
        description="Blank customer comments older than DAYS days; stars, tags and figures are kept.",
    )
    parser.add_argument("--older-than", type=int, required=True, metavar="DAYS")
    add_db_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        with Session(engine_for(args)) as session:
            count = accounts.purge_comments(session=session, older_than_days=args.older_than, actor="cli")
    except AuthError as exc:
        raise UserError(str(exc)) from None
    print(f"purged {count} comments older than {args.older_than} days")
    return 0
