"""`python -m leaderboard simulate`: a live feed of new interactions and ratings, for demos and wall tests."""

from __future__ import annotations

import argparse
import random
import signal
import sys
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.ingest import CanonicalRow, write_rows
from db.models import utcnow
from db.seed import Persona, draw_interaction, live_personas
from leaderboard.auth import SYSTEM_VIEWER
from leaderboard.cli import UserError
from leaderboard.commands.common import add_db_argument, engine_for

DEFAULT_RATE = 30.0  # ratings per minute
# Unrated interactions added with each rating: on average 2, so about a third of customers answer.
UNRATED_PER_RATING = (1, 2, 2, 3)
WORKING_HOURS = range(7, 21)  # local hours in which a site's agents are on the phones


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="keep adding live interactions and ratings",
        description=(
            "Add new interactions and ratings at the current time for the active agents, like a live feed. "
            f"The feed follows each site's working hours: only agents whose site's local time is between "
            f"{WORKING_HOURS.start:02d}:00 and {WORKING_HOURS.stop:02d}:00 take contacts (so at 09:00 UTC "
            "Manila and Belgrade are busy while New York sleeps); in the rare hour when no site is open, every "
            "site's agents do. About a third of the interactions get rated, with comments and tags fitting "
            "the stars and the site's language. Prints one line per rating; stops after --duration seconds "
            "or on Ctrl-C."
        ),
    )
    parser.add_argument(
        "--rate", type=float, default=DEFAULT_RATE, metavar="N", help=f"ratings per minute (default: {DEFAULT_RATE:g})"
    )
    parser.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this many seconds (default: run until Ctrl-C)")
    parser.add_argument("--seed", type=int, help="random seed, for a repeatable feed (default: random)")
    add_db_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.rate <= 0:
        raise UserError("--rate must be more than 0 ratings per minute")
    if args.duration is not None and args.duration < 0:
        raise UserError("--duration cannot be negative")
    engine = engine_for(args)
    with Session(engine) as session:
        personas = live_personas(session=session)
    if not personas:
        engine.dispose()
        raise UserError("there are no active agents: run `python -m leaderboard seed` or import ratings first")
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a service stop ends as cleanly as Ctrl-C
    try:
        _feed(engine=engine, personas=personas, rng=random.Random(args.seed), rate=args.rate, duration=args.duration)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        engine.dispose()
    return 0


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


def _feed(
    *, engine: Engine, personas: list[tuple[Persona, str]], rng: random.Random, rate: float, duration: float | None
) -> int:
    """Add one rating (and a few unrated interactions) every 60/rate seconds; returns ratings added.

    Each write goes through the import's batch writer, so it waits out another writer's lock
    (``db.retry.with_retry``) instead of crashing with "database is locked".
    """
    interval = 60.0 / rate
    started = time.monotonic()
    added = 0
    try:
        while duration is None or time.monotonic() - started < duration:
            row = _add_one(engine=engine, personas=personas, rng=rng, serial=added)
            added += 1
            print(_line(row), flush=True)
            # Sleep to the next tick on the clock, not after the write, so the rate holds.
            next_tick = started + added * interval
            wait = next_tick - time.monotonic()
            if duration is not None:
                wait = min(wait, started + duration - time.monotonic())
            if wait > 0:
                time.sleep(wait)
    except KeyboardInterrupt:
        pass  # Ctrl-C or a service stop: the normal end of a feed without --duration
    # Not after an error (a database busy past every retry): that ends in its one line alone.
    print(f"added {added} rating{'s' if added != 1 else ''}", file=sys.stderr)
    return added


def _on_shift(personas: list[tuple[Persona, str]], now: datetime) -> list[Persona]:
    aware = now.replace(tzinfo=timezone.utc)
    working = [p for p, tz in personas if aware.astimezone(ZoneInfo(tz)).hour in WORKING_HOURS]
    return working or [p for p, _ in personas]


def _add_one(*, engine: Engine, personas: list[tuple[Persona, str]], rng: random.Random, serial: int) -> CanonicalRow:
    now = utcnow().replace(microsecond=0)
    stamp = f"LIVE-{utcnow():%Y%m%dT%H%M%S%f}"
    on_shift = _on_shift(personas, now)
    rows = []
    for k in range(1 + rng.choice(UNRATED_PER_RATING)):
        persona = rng.choice(on_shift)
        closed = now - timedelta(seconds=rng.randint(30, 20 * 60))
        rows.append(
            draw_interaction(
                rng,
                persona=persona,
                interaction_id=f"{stamp}-{serial}-{k}",
                closed_at=closed,
                now=now,
                answered=k == 0,
                rated_at=now if k == 0 else None,
            )
        )
    write_rows(engine=engine, viewer=SYSTEM_VIEWER, rows=rows)
    return rows[0]


def _line(row: CanonicalRow) -> str:
    stars = row.stars or 0
    comment = row.comment.replace("\n", " ")
    if len(comment) > 70:
        comment = comment[:69] + "…"
    text = f"{row.rated_at:%H:%M:%S}Z  {'★' * stars}{'☆' * (5 - stars)}  {row.agent} ({row.team}, {row.site})  {row.channel}/{row.contact_reason}"
    return f"{text}  \"{comment}\"" if comment else text
