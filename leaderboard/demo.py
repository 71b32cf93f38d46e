"""Demo data as a use case: ``db.seed`` writes the floor and its history, then the real badge
evaluation awards the automatic badges that history earned (the seed has no badge rules of its own)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from db import seed as _seed
from db.seed import DEFAULT_DAYS, DEFAULT_SEED, is_empty
from leaderboard.badges import evaluate

__all__ = ["DEFAULT_DAYS", "DEFAULT_SEED", "ensure_seeded", "is_empty", "seed_demo"]


def _award_badges(session: Session, now: datetime) -> int:
    return len(evaluate(session=session, now=now))


def seed_demo(
    *, engine: Engine, seed: int = DEFAULT_SEED, now: datetime | None = None, days: int = DEFAULT_DAYS
) -> dict[str, int]:
    """Fill an empty database with the demo floor and award the badges it earned; counts by kind."""
    return _seed.seed_demo(engine=engine, seed=seed, now=now, days=days, after_seed=_award_badges)


def ensure_seeded(
    engine: Engine, *, seed: int = DEFAULT_SEED, now: datetime | None = None, days: int = DEFAULT_DAYS
) -> bool:
    """Seed demo data (badges included) when the database has no agents; True if it did."""
    return _seed.ensure_seeded(engine, seed=seed, now=now, days=days, after_seed=_award_badges)
