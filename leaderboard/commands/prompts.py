"""`python -m leaderboard prompts [done|dismiss ID]`: the micro-coaching queue.

Without an action: generate new prompts from the data (idempotent), then list
the open ones, highest priority first. ``done ID`` closes a prompt and logs
the matching coaching note; ``dismiss ID`` closes it without one.
"""

from __future__ import annotations

import argparse

from sqlmodel import Session, select

from db import coaching_store as store
from db.models import CoachingPrompt, Team, User
from db.queries import ScopeError, resolve_scope
from leaderboard.auth import Viewer
from leaderboard.cli import UserError
from leaderboard.coaching import (
    PROMPT_COLUMNS,
    CoachingError,
    dismiss,
    generate_prompts,
    mark_done,
    open_prompts,
    prompt_rows,
)
from leaderboard.commands.common import add_db_argument, add_format_argument, engine_for, settings_for, write_rows

# The command line is run by whoever administers the database.
CLI_VIEWER = Viewer(role="admin", username="cli")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "prompts",
        help="generate and list micro-coaching prompts; mark one done or dismiss it",
        description=(
            "Generate coaching prompts from the data (never twice for the same rule, agent and evidence), "
            "then list the open ones: id, agent, team, kind, rule, purpose, evidence, opening, priority, "
            "created_at, expires_at (times in UTC). 'prompts done ID' logs the matching note; "
            "'prompts dismiss ID' closes it without one."
        ),
    )
    parser.add_argument("--team", help="only this team (SITE/TEAM when the name is used at several sites)")
    parser.add_argument("--leader", metavar="L", help="only the teams this leader leads (username or display name)")
    parser.add_argument("--no-generate", action="store_true", help="list only, without generating new prompts")
    add_format_argument(parser)
    add_db_argument(parser)
    parser.set_defaults(handler=run_list)
    sub = parser.add_subparsers(dest="prompts_command", metavar="ACTION", required=False)
    for name, handler, text in (
        ("done", run_done, "mark a prompt done and log the matching coaching note"),
        ("dismiss", run_dismiss, "dismiss a prompt (it will not come back)"),
    ):
        action = sub.add_parser(name, help=text, description=text)
        action.add_argument("prompt_id", metavar="ID", type=int)
        action.add_argument("--by", metavar="USER", help="who did it: username or display name (default: the team leader)")
        # SUPPRESS: a --db given before the action is kept.
        action.add_argument("--db", metavar="PATH", default=argparse.SUPPRESS, help="SQLite file or SQLAlchemy URL")
        action.set_defaults(handler=handler)


def _user(session: Session, name: str) -> User:
    found = store.find_user(session=session, name=name)
    if not found:
        raise UserError(f"no user named {name!r}")
    if len(found) > 1:
        raise UserError(f"user {name!r} is ambiguous ({', '.join(sorted(u.username for u in found))}): use the username")
    return found[0]


def run_list(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    with Session(engine_for(args), expire_on_commit=False) as session:
        team_ids = None
        team_id = None
        leader_id = None
        if args.team:
            try:
                scope = resolve_scope(session=session, team=args.team)
            except ScopeError as exc:
                raise UserError(str(exc)) from None
            team_id = scope.team_id
            team_ids = [team_id]
        if args.leader:
            leader = _user(session, args.leader)
            led = list(session.exec(select(Team.id).where(Team.leader_id == leader.id)).all())
            if not led:
                raise UserError(f"{leader.username} leads no team")
            leader_id = leader.id
            team_ids = sorted(set(led) & set(team_ids)) if team_ids is not None else led
        try:
            if not args.no_generate:
                generate_prompts(session=session, team_ids=team_ids, settings=settings)
            frame = open_prompts(session=session, viewer=CLI_VIEWER, team_id=team_id, leader_user_id=leader_id)
        except CoachingError as exc:
            raise UserError(str(exc)) from None
    write_rows(prompt_rows(frame), PROMPT_COLUMNS, args.format)
    return 0


def _close(args: argparse.Namespace, action) -> tuple[CoachingPrompt, object, User]:
    with Session(engine_for(args), expire_on_commit=False) as session:
        prompt = session.get(CoachingPrompt, args.prompt_id)
        if prompt is None:
            raise UserError(f"no prompt with id {args.prompt_id}")
        if args.by:
            user = _user(session, args.by)
        else:
            team = session.get(Team, prompt.team_id)
            user = session.get(User, team.leader_id) if team and team.leader_id else None
            if user is None:
                raise UserError(f"prompt {prompt.id}'s team has no leader: pass --by USER")
        try:
            result = action(session=session, prompt_id=prompt.id, by_user_id=user.id)
        except CoachingError as exc:
            raise UserError(str(exc)) from None
        return prompt, result, user


def run_done(args: argparse.Namespace) -> int:
    prompt, note, user = _close(args, mark_done)
    logged = f"; logged {note.kind} note {note.id} ({'1:1' if note.visibility == 'private' else 'public'})" if note else ""
    print(f"Prompt {prompt.id} done by {user.username}{logged}.")
    return 0


def run_dismiss(args: argparse.Namespace) -> int:
    prompt, _, user = _close(args, dismiss)
    print(f"Prompt {prompt.id} dismissed by {user.username}.")
    return 0
