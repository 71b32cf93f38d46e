"""Scheduled notifications (issue 15): overdue recovery reminders, daily digests, weekly recognition.

CONTRACT: ``run_scheduled(*, engine, now, settings) -> int`` queues what is due at ``now``
(idempotent: dedupe keys make a second call at the same time queue nothing) and returns how
many notifications it queued. The server's sender thread and ``notify run`` call it on every
tick, before delivering the outbox.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from leaderboard.settings import Settings


def run_scheduled(*, engine: Engine, now: datetime, settings: Settings) -> int:
    """Stub: nothing is scheduled yet."""
    return 0
