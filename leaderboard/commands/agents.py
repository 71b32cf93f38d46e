"""`python -m leaderboard agents move AGENT --site S --team T`: move an agent to another site, audited.

An import never moves an agent to another site (a row that would is rejected): this
explicit command does, and the audit log records it (``agent_moved``).
"""

from __future__ import annotations

import argparse

from sqlmodel import Session

from db.agent_store import AgentError, move_agent
from leaderboard.auth import SYSTEM_VIEWER
from leaderboard.cli import UserError
from leaderboard.commands.common import add_db_argument, engine_for


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "agents",
        help="move an agent to another site or team (audited)",
        description="Agents as an admin manages them. Imports never move an agent between sites; this does.",
    )
    sub = parser.add_subparsers(dest="agents_command", metavar="ACTION", required=True)
    move = sub.add_parser(
        "move",
        help="move an agent to a team of another (or the same) site, with their history",
        description=(
            "Move AGENT (an external id, or a name: case and accents ignored) to team T of site S. "
            "The team is created if site S has none by that name. The agent's ratings, notes and badges "
            "go with them. Written to the audit log as agent_moved."
        ),
    )
    move.add_argument("agent", metavar="AGENT", help="the agent's external id or name")
    move.add_argument("--site", required=True, metavar="S", help="the site to move to")
    move.add_argument("--team", required=True, metavar="T", help="the team of that site")
    move.add_argument("--from-site", metavar="S", help="the agent's current site (when two sites have that name)")
    add_db_argument(move)
    move.set_defaults(handler=run_move)


def run_move(args: argparse.Namespace) -> int:
    try:
        with Session(engine_for(args)) as session:
            done = move_agent(
                session=session, viewer=SYSTEM_VIEWER, agent=args.agent, site=args.site, team=args.team,
                from_site=args.from_site,
            )
    except AgentError as exc:
        raise UserError(str(exc)) from None
    print(f"{done.agent}: {done.before} -> {done.after}{' (new team)' if done.team_created else ''}")
    return 0
