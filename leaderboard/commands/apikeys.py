"""`python -m leaderboard apikeys add|list|revoke`: keys for the HTTP API (/api/v1)."""

from __future__ import annotations

import argparse
import getpass
import sys

from db import apikeys
from leaderboard.cli import UserError
from leaderboard.commands.common import add_db_argument, add_format_argument, run_accounts, write_rows


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "apikeys",
        help="manage API keys",
        description="An API key is sent as `Authorization: Bearer KEY` to /api/v1/ratings and /api/v1/interactions.",
    )
    sub = parser.add_subparsers(dest="apikeys_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="create a key; it is printed alone on the last line, once")
    add.add_argument("name")
    add.add_argument("--source", default="", help="where its ratings come from (e.g. zendesk)")
    add.add_argument(
        "--site", action="append", default=[], metavar="SITE",
        help="the key writes only to this site (repeatable, or a comma list); default: every site",
    )
    add_db_argument(add)
    add.set_defaults(handler=run_add)
    lst = sub.add_parser("list", help="list keys (never the keys themselves)")
    add_format_argument(lst)
    add_db_argument(lst)
    lst.set_defaults(handler=run_list)
    rev = sub.add_parser("revoke", help="revoke a key (its next request gets 401)")
    rev.add_argument("name")
    add_db_argument(rev)
    rev.set_defaults(handler=run_revoke)
    sec = sub.add_parser(
        "secret",
        help="set the help desk's webhook signing secret of a key (from a prompt or stdin, never the command line)",
        description=(
            "Keep the signing secret the help desk (zendesk, intercom, helpscout) signs its webhooks with: "
            "from then on a request without a valid signature header gets 401. Read from a prompt, or the "
            "first line of stdin when it is not a terminal. `apikeys list` shows only whether one is set."
        ),
    )
    sec.add_argument("name")
    sec.add_argument("--clear", action="store_true", help="remove the secret (signatures are no longer checked)")
    add_db_argument(sec)
    sec.set_defaults(handler=run_secret)


def run_add(args: argparse.Namespace) -> int:
    key = run_accounts(args, lambda session: apikeys.add_key(
        session=session, name=args.name, source=args.source, actor="cli", sites=args.site))
    sites = apikeys.site_names(args.site)
    scope = f"sites {', '.join(sites)}" if sites else apikeys.EVERY_SITE
    print(f"API key {args.name!r} created for {scope}; send it as `Authorization: Bearer <key>`. Shown once:")
    print(key)
    return 0


def run_list(args: argparse.Namespace) -> int:
    return run_accounts(args, lambda session: write_rows(apikeys.list_keys(session=session), apikeys.KEY_COLUMNS, args.format))


def run_revoke(args: argparse.Namespace) -> int:
    run_accounts(args, lambda session: apikeys.revoke_key(session=session, name=args.name, actor="cli"))
    print(f"API key {args.name!r} revoked")
    return 0


def read_secret() -> str:
    """From a prompt on a terminal, else the first line of stdin; never from the command line."""
    if sys.stdin is not None and sys.stdin.isatty():
        return getpass.getpass("Signing secret: ")
    line = sys.stdin.readline() if sys.stdin is not None else ""
    return line.rstrip("\r\n")


def run_secret(args: argparse.Namespace) -> int:
    secret = "" if args.clear else read_secret().strip()
    if not secret and not args.clear:
        raise UserError(
            "no signing secret on standard input (pipe it in: echo \"$SECRET\" | python -m leaderboard apikeys "
            "secret NAME; --clear removes one)")
    run_accounts(args, lambda session: apikeys.set_signing_secret(
        session=session, name=args.name, secret=secret, actor="cli"))
    print(f"API key {args.name!r}: signing secret {'cleared' if args.clear else 'set'}")
    return 0
