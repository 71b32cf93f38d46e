"""`python -m leaderboard sites add-manager SITE USER`."""

from __future__ import annotations

import argparse

from db import accounts
from leaderboard.commands.common import add_db_argument, run_accounts


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "sites",
        help="manage sites: who manages them",
        description=(
            "Manage sites. A manager covers one site, or every site when none is set "
            "(users add --role manager without --site)."
        ),
    )
    sub = parser.add_subparsers(dest="sites_command", metavar="ACTION", required=True)
    manager = sub.add_parser(
        "add-manager",
        help="make an account with the manager role the manager of a site (its one site from now on)",
    )
    manager.add_argument("site", help="the site's name")
    manager.add_argument("username", help="an account with the manager role (users set-role USER manager)")
    add_db_argument(manager)
    manager.set_defaults(handler=run_add_manager)


def run_add_manager(args: argparse.Namespace) -> int:
    def action(session):
        site = accounts.add_site_manager(session=session, site=args.site, username=args.username, actor="cli")
        print(f"{args.username} now manages {site}")

    return run_accounts(args, action)
