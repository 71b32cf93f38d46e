"""`python -m leaderboard coach AGENT --kind praise|criticism --text TEXT`: log a coaching note."""

from __future__ import annotations

import argparse

from sqlmodel import Session

from db import coaching_store as store
from db.models import NOTE_KINDS, Team, User, utcnow
from leaderboard import ratios
from leaderboard.auth import SYSTEM_VIEWER
from leaderboard.cli import UserError
from leaderboard.coaching import CoachingError, log_note
from leaderboard.commands.common import add_db_argument, engine_for, settings_for


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "coach",
        help="log a praise or criticism note for an agent",
        description=(
            "Log a coaching note. Praise is public unless --private; criticism is always 1:1 (private). "
            "--by defaults to the agent's team leader."
        ),
    )
    parser.add_argument("agent", metavar="AGENT", help="the agent's name (as in exports) or display name")
    parser.add_argument("--kind", choices=NOTE_KINDS, required=True, help="praise (motivational) or criticism (developmental)")
    parser.add_argument("--text", required=True, help="the note, in a sentence or two")
    parser.add_argument("--by", metavar="LEADER", help="who gives it: a username or display name (default: the team leader)")
    parser.add_argument("--private", action="store_true", help="a 1:1 note rather than public praise")
    parser.add_argument("--about", metavar="INTERACTION_ID", help="the interaction (external id) whose rating this is about")
    add_db_argument(parser)
    parser.set_defaults(handler=run)


def _one(found: list, what: str, name: str, label) -> object:
    if not found:
        raise UserError(f"no {what} named {name!r}")
    if len(found) > 1:
        names = ", ".join(sorted(label(x) for x in found))
        raise UserError(f"{what} {name!r} is ambiguous ({names}): use the exact name")
    return found[0]


def run(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    with Session(engine_for(args), expire_on_commit=False) as session:
        agent = _one(store.find_agent(session=session, name=args.agent), "agent", args.agent, lambda a: a.name)
        if args.by:
            author = _one(store.find_user(session=session, name=args.by), "user", args.by, lambda u: u.username)
        else:
            team = session.get(Team, agent.team_id)
            author = session.get(User, team.leader_id) if team and team.leader_id else None
            if author is None:
                raise UserError(f"{agent.name}'s team has no leader: pass --by LEADER")
        rating_id = None
        if args.about:
            found = store.rating_for_interaction(session=session, interaction_id=args.about)
            if found is None:
                if store.interaction_exists(session=session, interaction_id=args.about):
                    raise UserError(f"interaction {args.about!r} has no rating")
                raise UserError(f"no interaction {args.about!r}")
            rating_id = found[0].id
        visibility = "private" if args.private or args.kind == "criticism" else "public"
        now = utcnow()
        try:
            note = log_note(
                session=session,
                agent_id=agent.id,
                author_id=author.id,
                kind=args.kind,
                text=args.text,
                visibility=visibility,
                rating_id=rating_id,
                now=now,
            )
        except CoachingError as exc:
            raise UserError(str(exc)) from None
        site_tz = agent.team.site.timezone if agent.team and agent.team.site else None
        received = ratios.received_this_week(
            session=session, agent_ids=[agent.id], team_ids=None, now=now, tz_by_agent={agent.id: site_tz},
            viewer=SYSTEM_VIEWER,
        )
        praise = int(received["praise"].sum()) if len(received) else 0
        criticism = int(received["criticism"].sum()) if len(received) else 0
        label = ratios.ratio_label(praise, criticism)
        status = ratios.ratio_status(praise, criticism, settings.ratio_target)
    shown = "1:1" if note.visibility == "private" else "public"
    print(
        f"Logged {note.kind} ({shown}) for {agent.name} by {author.username} (note {note.id}). "
        f"This week: {praise} praise, {criticism} criticism" + (f", {label}" if label else "") + f" ({status})."
    )
    return 0
