"""`python -m leaderboard seed`: fill the database with deterministic demo data."""

from __future__ import annotations

import argparse
import time
from datetime import datetime

from sqlmodel import SQLModel

from leaderboard.demo import DEFAULT_DAYS, DEFAULT_SEED, is_empty, seed_demo
from leaderboard.cli import UserError
from leaderboard.commands.common import add_db_argument, engine_for, settings_for


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "seed",
        help="fill the database with demo data",
        description=(
            "Create a demo contact center: 3 sites (New York, Manila, Belgrade), 9 teams with leaders, "
            f"about 90 agents and {DEFAULT_DAYS} days of interactions, ratings, comments, coaching notes and "
            "badges up to now. The same --seed (and the same --now) always gives the same data. Refuses a "
            "database that already has agents unless --reset is given."
        ),
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default: {DEFAULT_SEED})")
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help=f"days of history (default: {DEFAULT_DAYS})")
    parser.add_argument(
        "--now", type=_utc_time, help="pretend it is this UTC time, YYYY-MM-DDTHH:MM (default: the current time)"
    )
    parser.add_argument(
        "--reset", action="store_true", help="drop every table and start from an empty database first (deletes all data)"
    )
    add_db_argument(parser)
    parser.set_defaults(handler=run)


def _utc_time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date-time: {text!r}") from None


def run(args: argparse.Namespace) -> int:
    if args.days < 1:
        raise UserError("--days must be at least 1")
    engine = engine_for(args, may_create=True)
    try:
        if args.reset:
            SQLModel.metadata.drop_all(engine)
            SQLModel.metadata.create_all(engine)
        elif not is_empty(engine):
            target = settings_for(args).database_url
            raise UserError(f"the database already has agents ({target}); add --reset to replace everything with demo data")
        started = time.perf_counter()
        counts = seed_demo(engine=engine, seed=args.seed, now=args.now, days=args.days)
    finally:
        engine.dispose()
    print(
        f"seeded demo data (seed {args.seed}) in {time.perf_counter() - started:.1f}s: "
        + ", ".join(f"{counts[k]:,} {k.replace('_', ' ')}" for k in _SHOWN)
    )
    return 0


_SHOWN = ("sites", "teams", "agents", "users", "interactions", "ratings", "coaching_notes", "badges", "badge_awards")
