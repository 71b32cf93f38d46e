"""`python -m leaderboard badges list|award|evaluate|catalogue|candidates`."""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, timedelta

import pandas as pd
from sqlmodel import Session

from db import badge_store as store
from db.accounts import viewer_for_user
from db.models import Badge
from leaderboard import badges
from leaderboard.auth import Viewer
from leaderboard.cli import UserError
from leaderboard.commands.common import add_db_argument, add_format_argument, engine_for, settings_for, write_rows
from leaderboard.periods import PeriodError, zone

# The command line runs with the operator's authority: every agent.
_OPERATOR = Viewer(role="admin", username="cli")
CATALOGUE_COLUMNS = ("code", "name", "kind", "active", "criteria")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "badges",
        help="list, award and evaluate badges",
        description="Value badges are awarded by team leaders; automatic badges are earned from ratings "
        "(run 'badges evaluate' after new ratings, for example every few minutes).",
    )
    sub = parser.add_subparsers(dest="badges_command", metavar="ACTION", required=True)

    lst = sub.add_parser("list", help="list awards: " + ", ".join(store.AWARD_COLUMNS))
    lst.add_argument("--agent", help="only this agent (name, case-insensitive)")
    lst.add_argument("--since", metavar="DATE", help="only awards on or after this date (YYYY-MM-DD, UTC)")
    add_format_argument(lst)
    add_db_argument(lst)
    lst.set_defaults(handler=run_list)

    award = sub.add_parser("award", help="award a value badge to an agent")
    award.add_argument("agent", metavar="AGENT", help="the agent's name (case-insensitive)")
    award.add_argument("badge", metavar="BADGE", help="badge code or name (case-insensitive), e.g. empathetic")
    award.add_argument("--by", required=True, metavar="LEADER", help="username of the leader awarding it")
    award.add_argument("--reason", required=True, metavar="TEXT", help="what the agent did")
    award.add_argument("--about", metavar="INTERACTION_ID", help="the interaction it is about (external id)")
    add_db_argument(award)
    award.set_defaults(handler=run_award)

    ev = sub.add_parser(
        "evaluate", help="award the automatic badges earned so far (safe to run again: awards nothing twice)"
    )
    ev.add_argument("--now", metavar="DATETIME", help="evaluate as of this UTC time (YYYY-MM-DD[THH:MM]); default now")
    add_format_argument(ev)
    add_db_argument(ev)
    ev.set_defaults(handler=run_evaluate)

    cat = sub.add_parser("catalogue", help="list the badges and their criteria")
    add_format_argument(cat)
    add_db_argument(cat)
    cat.set_defaults(handler=run_catalogue)

    cand = sub.add_parser("candidates", help="value badge candidates from a week's 4-5 star feedback")
    cand.add_argument("--week", metavar="DATE", help="any day of the week (default: last week)")
    cand.add_argument("--as", dest="as_user", metavar="USERNAME", help="only the agents this user may see")
    cand.add_argument("--tz", help="time zone of the week (default: UTC)")
    add_format_argument(cand)
    add_db_argument(cand)
    cand.set_defaults(handler=run_candidates)


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"{option} {text!r} is not a date (YYYY-MM-DD)") from None


def _records(frame: pd.DataFrame) -> list[dict]:
    return [
        {k: (None if v is None or v is pd.NA or (isinstance(v, float) and pd.isna(v)) else v) for k, v in r.items()}
        for r in frame.to_dict("records")
    ]


def _named(found, what: str, name: str):
    """``found`` (a row looked up by ``name``), or a UserError "no <what> named <name>"."""
    if found is None:
        raise UserError(f"no {what} named {name!r}")
    return found


def run_list(args: argparse.Namespace) -> int:
    since = None
    if args.since:
        since = datetime.combine(_date(args.since, "--since"), datetime.min.time())
    with Session(engine_for(args)) as session:
        agent_id = None
        if args.agent:
            agent_id = _named(store.find_agent(session=session, name=args.agent), "agent", args.agent).id
        frame = badges.list_awards(session=session, viewer=_OPERATOR, agent_id=agent_id, since=since)
    write_rows(_records(frame), store.AWARD_COLUMNS, args.format)
    return 0


def run_award(args: argparse.Namespace) -> int:
    with Session(engine_for(args), expire_on_commit=False) as session:
        agent = _named(store.find_agent(session=session, name=args.agent), "agent", args.agent)
        user = _named(store.find_user(session=session, username=args.by), "user", args.by)
        try:
            row = badges.award(
                session=session,
                agent_id=agent.id,
                badge_code=args.badge,
                by_user_id=user.id,
                reason=args.reason,
                interaction_id=args.about,
            )
        except badges.BadgeError as exc:
            raise UserError(str(exc)) from None
        badge = session.get(Badge, row.badge_id)
    about = f" for {args.about}" if args.about else ""
    print(f"awarded {badge.name} to {agent.name}{about} (by {user.username})")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    now = None
    if args.now:
        try:
            now = datetime.fromisoformat(args.now.strip())
        except ValueError:
            raise UserError(f"--now {args.now!r} is not a date or time (YYYY-MM-DD[THH:MM])") from None
        if now.tzinfo is not None:
            now = (now - now.utcoffset()).replace(tzinfo=None)
    settings = settings_for(args)
    with Session(engine_for(args), expire_on_commit=False) as session:
        try:
            new = badges.evaluate(session=session, now=now, settings=settings)
        except PeriodError as exc:
            raise UserError(str(exc)) from None
        frame = store.award_rows(session=session, viewer=_OPERATOR, award_ids=[a.id for a in new])
    frame = frame.sort_values(["awarded_at", "agent"], kind="mergesort")
    if args.format == "table":
        if frame.empty:
            print("no new awards")
            return 0
        write_rows(_records(frame), store.AWARD_COLUMNS, "table")
        print(f"{len(frame)} new award{'s' if len(frame) != 1 else ''}", file=sys.stderr)
        return 0
    write_rows(_records(frame), store.AWARD_COLUMNS, args.format)
    return 0


def run_catalogue(args: argparse.Namespace) -> int:
    with Session(engine_for(args)) as session:
        rows = badges.catalogue(session=session, include_inactive=True)
    write_rows(rows, CATALOGUE_COLUMNS, args.format)
    return 0


def run_candidates(args: argparse.Namespace) -> int:
    try:
        tz = zone(args.tz)
    except PeriodError as exc:
        raise UserError(str(exc)) from None
    day = _date(args.week, "--week") if args.week else date.today() - timedelta(days=7)
    monday = day - timedelta(days=day.weekday())
    with Session(engine_for(args)) as session:
        viewer = _OPERATOR
        if args.as_user:
            user = _named(store.find_user(session=session, username=args.as_user), "user", args.as_user)
            viewer = viewer_for_user(session=session, user=user)
        frame = badges.value_candidates(session=session, viewer=viewer, week_start=monday, tz=tz)
    columns = ("agent", "team", "badge", "ratings", "interaction_id", "matched", "quote", "already_awarded")
    write_rows(_records(frame), columns, args.format)
    return 0
