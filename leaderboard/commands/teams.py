"""`python -m leaderboard teams set-leader TEAM USER`."""

from __future__ import annotations

import argparse

from db import accounts
from leaderboard.commands.common import add_db_argument, run_accounts


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "teams",
        help="manage teams: who leads them",
        description="Manage teams. A leader sees and coaches the teams they lead, from their next click.",
    )
    sub = parser.add_subparsers(dest="teams_command", metavar="ACTION", required=True)
    lead = sub.add_parser(
        "set-leader",
        help="make an account with the leader role the leader of a team (replacing its leader)",
    )
    lead.add_argument("team", help="the team's name (SITE/TEAM when the name is used at several sites)")
    lead.add_argument("username", help="an account with the leader role (users set-role USER leader)")
    add_db_argument(lead)
    lead.set_defaults(handler=run_set_leader)


def run_set_leader(args: argparse.Namespace) -> int:
    def action(session):
        label = accounts.set_team_leader(session=session, team=args.team, username=args.username, actor="cli")
        print(f"{args.username} now leads {label}")

    return run_accounts(args, action)
