"""`python -m leaderboard prompts [generate|done|dismiss]`: the micro-coaching queue.

Without an action: list the open prompts (nothing is generated), highest
priority first, as a table wrapped to the terminal (the team budget shown, the
rest counted) or every open prompt as ``--format csv|json``. ``generate`` runs
the rules (idempotent). ``done ID`` closes a prompt without a note unless
``--note TEXT`` is given; ``dismiss ID`` closes it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import textwrap

from sqlmodel import Session, select

from db import coaching_store as store
from db.models import NOTE_KINDS, CoachingPrompt, Team, User
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

DEFAULT_WIDTH = 100
MIN_WIDTH = 40


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "prompts",
        help="list micro-coaching prompts; generate them; mark one done or dismiss it",
        description=(
            "List the open coaching prompts, highest priority first: as a table wrapped to the terminal "
            "(each team's budget, STARBOARD_PROMPT_BUDGET per 10 agents, then how many more; --all shows them), "
            "or every open prompt with --format csv|json (id, agent, team, kind, rule, purpose, evidence, "
            "opening, priority, created_at, expires_at; times in UTC). Listing generates nothing: "
            "'prompts generate' runs the rules. 'prompts done ID' closes a prompt (a note only with --note); "
            "'prompts dismiss ID' closes it."
        ),
    )
    _scope_arguments(parser, default=None)
    parser.add_argument(
        "--no-generate", action="store_true", help="accepted for old scripts; listing never generates any more"
    )
    parser.add_argument("--all", action="store_true", help="table: show every open prompt, not only the budget")
    parser.add_argument(
        "--width", type=int, metavar="N",
        help=f"table width in characters (default: the terminal's, or $COLUMNS, else {DEFAULT_WIDTH})",
    )
    add_format_argument(parser)
    add_db_argument(parser)
    parser.set_defaults(handler=run_list)
    sub = parser.add_subparsers(dest="prompts_command", metavar="ACTION", required=False)

    gen = sub.add_parser(
        "generate", help="run the coaching rules now and store the new prompts",
        description="Run the coaching rules now (never twice for the same rule, agent and evidence).",
    )
    # SUPPRESS: a --team, --leader or --db given before the action is kept.
    _scope_arguments(gen, default=argparse.SUPPRESS)
    gen.add_argument("--db", metavar="PATH", default=argparse.SUPPRESS, help="SQLite file or SQLAlchemy URL")
    gen.set_defaults(handler=run_generate)

    for name, handler, text in (
        ("done", run_done, "mark a prompt done: no note unless --note TEXT is given"),
        ("dismiss", run_dismiss, "dismiss a prompt (it will not come back)"),
    ):
        action = sub.add_parser(name, help=text, description=text)
        action.add_argument("prompt_id", metavar="ID", type=int)
        action.add_argument("--by", metavar="USER", help="who did it: username or display name (default: the team leader)")
        if name == "done":
            action.add_argument(
                "--note", metavar="TEXT",
                help="a note to the agent, in your words (logged with the prompt's first rating); without it none is",
            )
            action.add_argument(
                "--kind", choices=NOTE_KINDS,
                help="the note's kind (default: criticism for a develop prompt, else praise)",
            )
            action.add_argument(
                "--visibility", choices=("public", "1:1", "private"),
                help="the note's visibility (default: public for a praise prompt unless the agent hides from the wall, else 1:1)",
            )
        # SUPPRESS: a --db given before the action is kept.
        action.add_argument("--db", metavar="PATH", default=argparse.SUPPRESS, help="SQLite file or SQLAlchemy URL")
        action.set_defaults(handler=handler)


def _scope_arguments(parser: argparse.ArgumentParser, *, default) -> None:
    parser.add_argument("--team", default=default, help="only this team (SITE/TEAM when the name is used at several sites)")
    parser.add_argument("--leader", metavar="L", default=default,
                        help="only the teams this leader leads (username or display name)")


def _user(session: Session, name: str) -> User:
    found = store.find_user(session=session, name=name)
    if not found:
        raise UserError(f"no user named {name!r}")
    if len(found) > 1:
        raise UserError(f"user {name!r} is ambiguous ({', '.join(sorted(u.username for u in found))}): use the username")
    return found[0]


def _scope(session: Session, args: argparse.Namespace) -> tuple[list[int] | None, int | None, int | None]:
    """(team ids or None for every team, the --team id, the --leader's user id)."""
    team_ids = team_id = leader_id = None
    if getattr(args, "team", None):
        try:
            scope = resolve_scope(session=session, team=args.team)
        except ScopeError as exc:
            raise UserError(str(exc)) from None
        team_id = scope.team_id
        team_ids = [team_id]
    if getattr(args, "leader", None):
        leader = _user(session, args.leader)
        led = list(session.exec(select(Team.id).where(Team.leader_id == leader.id)).all())
        if not led:
            raise UserError(f"{leader.username} leads no team")
        leader_id = leader.id
        team_ids = sorted(set(led) & set(team_ids)) if team_ids is not None else led
    return team_ids, team_id, leader_id


def run_generate(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    with Session(engine_for(args), expire_on_commit=False) as session:
        team_ids, _, _ = _scope(session, args)
        try:
            created = generate_prompts(session=session, team_ids=team_ids, settings=settings)
        except CoachingError as exc:
            raise UserError(str(exc)) from None
    n = len(created)
    print(f"{n} new prompt{'s' if n != 1 else ''}." if n else "No new prompts: up to date.")
    return 0


def run_list(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    with Session(engine_for(args), expire_on_commit=False) as session:
        _, team_id, leader_id = _scope(session, args)
        try:
            frame = open_prompts(
                session=session, viewer=CLI_VIEWER, team_id=team_id, leader_user_id=leader_id, settings=settings
            )
        except CoachingError as exc:
            raise UserError(str(exc)) from None
    if args.format != "table":
        write_rows(prompt_rows(frame), PROMPT_COLUMNS, args.format)
        return 0
    sys.stdout.write(prompt_table(frame, width=_width(args.width), show_all=args.all))
    return 0


def _width(given: int | None) -> int:
    if given is not None:
        return max(MIN_WIDTH, given)
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit():
        return max(MIN_WIDTH, int(columns))
    if sys.stdout.isatty():
        return max(MIN_WIDTH, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns)
    return DEFAULT_WIDTH


def prompt_table(frame, *, width: int = DEFAULT_WIDTH, show_all: bool = False) -> str:
    """The open prompts as readable blocks, no line longer than ``width``: a head line, then what, evidence, opening."""
    total = len(frame)
    if not total:
        return "No open prompts. New ones come with new ratings (`prompts generate` runs the rules now).\n"
    shown = frame if show_all else frame[frame["in_budget"]]
    more = total - len(shown)
    indent = " " * 4
    lines: list[str] = []

    def wrap(text: str, first: str = indent, rest: str = indent + "  ") -> None:
        lines.extend(textwrap.wrap(text, width=width, initial_indent=first, subsequent_indent=rest,
                                   break_long_words=True, break_on_hyphens=False) or [first.rstrip()])

    summary = f"{total} open prompt{'s' if total != 1 else ''}, highest priority first"
    if more:
        summary += f"; {len(shown)} within the teams' budget shown, {more} more (--all shows them)"
    wrap(summary + ".", first="", rest="")
    for row in shown.to_dict("records"):
        lines.append("")
        who = row["agent"] or f"team {row['team']}"
        expires = row["expires_at"].strftime("%Y-%m-%d %H:%M") if hasattr(row["expires_at"], "strftime") else row["expires_at"]
        merged = f" · +{len(row['merged_ids'])} merged" if len(row.get("merged_ids") or []) else ""
        wrap(f"#{int(row['id'])} {row['kind']} · {who} · {row['team']} · priority {int(row['priority'])} · "
             f"until {expires} UTC{merged}", first="", rest=indent)
        wrap(str(row["purpose"]))
        if row["evidence"]:
            wrap(f"evidence: {row['evidence']}")
        if row["opening"]:
            wrap(f"say: “{row['opening']}”")
    if more:
        lines.append("")
        wrap(f"… and {more} more open prompt{'s' if more != 1 else ''} (lower priority): prompts --all", first="", rest="")
    return "\n".join(lines) + "\n"


def _close(args: argparse.Namespace, action, **extra) -> tuple[CoachingPrompt, object, User]:
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
            result = action(session=session, prompt_id=prompt.id, by_user_id=user.id, **extra)
        except CoachingError as exc:
            raise UserError(str(exc)) from None
        return prompt, result, user


def run_done(args: argparse.Namespace) -> int:
    if args.note is None and (args.kind or args.visibility):
        raise UserError("--kind and --visibility describe a note: give its text with --note TEXT")
    if args.note is not None and not args.note.strip():
        raise UserError("--note needs some text (leave it out to mark the prompt done without a note)")
    prompt, note, user = _close(args, mark_done, text=args.note, kind=args.kind, visibility=args.visibility)
    if note is None:
        print(f"Prompt {prompt.id} done by {user.username}; no note logged.")
    else:
        where = "1:1" if note.visibility == "private" else "public"
        print(f"Prompt {prompt.id} done by {user.username}; logged {note.kind} note {note.id} ({where}).")
    return 0


def run_dismiss(args: argparse.Namespace) -> int:
    prompt, _, user = _close(args, dismiss)
    print(f"Prompt {prompt.id} dismissed by {user.username}.")
    return 0
