"""`python -m leaderboard displays add|list|revoke`: tokens for wall TVs."""

from __future__ import annotations

import argparse

from db import accounts
from leaderboard.commands.common import add_db_argument, add_format_argument, run_accounts, write_rows


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "displays",
        help="manage wall display tokens",
        description="A display token opens /wall?display=TOKEN without signing in, within its scope.",
    )
    sub = parser.add_subparsers(dest="displays_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="create a token; it is printed alone on the last line, once")
    add.add_argument("name")
    add.add_argument("--site")
    add.add_argument("--team")
    add_db_argument(add)
    add.set_defaults(handler=run_add)
    lst = sub.add_parser("list", help="list displays (never their tokens)")
    add_format_argument(lst)
    add_db_argument(lst)
    lst.set_defaults(handler=run_list)
    rev = sub.add_parser("revoke", help="revoke a display's token (the wall stops at its next refresh)")
    rev.add_argument("name")
    add_db_argument(rev)
    rev.set_defaults(handler=run_revoke)


def run_add(args: argparse.Namespace) -> int:
    token = run_accounts(args, lambda session: accounts.add_display(
        session=session, name=args.name, site=args.site, team=args.team, actor="cli"))
    print(f"display {args.name!r} created; open /wall?display=<token> on the TV. The token:")
    print(token)
    return 0


def run_list(args: argparse.Namespace) -> int:
    return run_accounts(args, lambda session: write_rows(
        accounts.list_displays(session=session), accounts.DISPLAY_COLUMNS, args.format))


def run_revoke(args: argparse.Namespace) -> int:
    run_accounts(args, lambda session: accounts.revoke_display(session=session, name=args.name, actor="cli"))
    print(f"display {args.name!r} revoked")
    return 0
