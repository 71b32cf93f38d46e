"""`python -m leaderboard apikeys add|list|revoke`: keys for the HTTP API (/api/v1)."""

from __future__ import annotations

import argparse

from db import apikeys
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
