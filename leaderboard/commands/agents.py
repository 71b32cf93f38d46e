"""`python -m leaderboard agents move|link`: move an agent to another site; link a help desk's agent id. Audited.

An import never moves an agent to another site (a row that would is rejected): this
explicit command does, and the audit log records it (``agent_moved``). ``agents link SOURCE
EXTERNAL_ID AGENT`` says which agent a help desk's agent id is (``agent_linked``) and writes the
webhook ratings that waited for it in the unmatched queue.
"""

from __future__ import annotations

import argparse

from sqlmodel import Session

from db.agent_store import AgentError, move_agent
from leaderboard.auth import SYSTEM_VIEWER
from leaderboard.hook_intake import link_and_replay
from leaderboard.cli import UserError
from leaderboard.commands.common import add_db_argument, engine_for


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "agents",
        help="move an agent to another site or team; link a help desk's agent id (audited)",
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
    link = sub.add_parser(
        "link",
        help="link a help desk's agent id to an agent (its unmatched webhook ratings are then written)",
        description=(
            "Say which agent a help desk's agent id is: SOURCE is zendesk, freshdesk, intercom, chatwoot or "
            "helpscout, EXTERNAL_ID the agent's id there (a Zendesk assignee_id, an Intercom teammate id...), "
            "AGENT the agent's external id or name (case and accents ignored). Ratings that waited in the "
            "unmatched queue for this id are written at once. Written to the audit log as agent_linked."
        ),
    )
    link.add_argument("source", metavar="SOURCE", help="the help desk")
    link.add_argument("external_id", metavar="EXTERNAL_ID", help="the agent's id in that help desk")
    link.add_argument("agent", metavar="AGENT", help="the Starboard agent's external id or name")
    link.add_argument("--site", metavar="S", help="the agent's site (when two sites have an agent of that name)")
    add_db_argument(link)
    link.set_defaults(handler=run_link)


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


def run_link(args: argparse.Namespace) -> int:
    try:
        done = link_and_replay(
            engine=engine_for(args), viewer=SYSTEM_VIEWER, source=args.source, external_id=args.external_id,
            agent=args.agent, site=args.site,
        )
    except AgentError as exc:
        raise UserError(str(exc)) from None
    linked = done.linked
    was = "" if linked.before in (None, linked.agent) else f" (was {linked.before})"
    print(f"{linked.source} agent {linked.external_id} -> {linked.agent}{was}")
    report = done.report
    if report.rejected:
        for error in report.errors:
            print(f"not replayed: {error.problem}")
        print(f"{report.rejected} queued rating(s) refused; they stay in the unmatched queue")
        return 1
    print(f"replayed {done.replayed} queued rating(s): {report.summary()}")
    return 0
