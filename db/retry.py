"""Retrying a write that met another writer: one helper for every write path.

SQLite lets one writer in at a time: a transaction that read before another one
committed fails with "database is locked" at its first write (its snapshot is
stale, so waiting on ``busy_timeout`` does not help); PostgreSQL answers a
serialization failure or a deadlock the same way. Such an error says nothing is
wrong with the write itself: run the whole transaction again, a little later.

``with_retry(fn)`` runs ``fn`` (one whole transaction) up to ``attempts`` times
with a growing, jittered delay between tries and raises ``DatabaseBusy`` (one
line for the user: "busy, try again") when the last try is still refused. Used
by the import's batch writer (db.ingest.write), hence by ``simulate`` and the
seed, and meant for sign-in's writes too.
"""

from __future__ import annotations

import random
import time
from typing import Callable, TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError

T = TypeVar("T")

DEFAULT_ATTEMPTS = 5
# First pause, doubled after each refused try (with ±50 % jitter so two writers drift apart), capped.
BASE_DELAY_S = 0.05
MAX_DELAY_S = 2.0

# PostgreSQL SQLSTATEs that mean "another transaction was in the way: run me again".
_RETRY_SQLSTATES = frozenset({"40001", "40P01", "55P03"})  # serialization_failure, deadlock_detected, lock_not_available
_UNIQUE_VIOLATION = "23505"
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")


class DatabaseBusy(Exception):
    """A write still refused after every retry because other writers held the database: try again later."""

    def __init__(self, detail: str = "") -> None:
        self.detail = detail
        super().__init__("the database is busy (another write is in progress): try again in a moment")


def _sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is a lock, serialization or deadlock refusal (worth running the transaction again)."""
    if not isinstance(exc, DBAPIError):
        return False
    if _sqlstate(exc) in _RETRY_SQLSTATES:
        return True
    text = str(getattr(exc, "orig", exc)).lower()
    return any(marker in text for marker in _SQLITE_BUSY)


def is_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` is a unique-key clash (a concurrent writer landed the same key first)."""
    if not isinstance(exc, IntegrityError):
        return False
    if _sqlstate(exc) == _UNIQUE_VIOLATION:
        return True
    return "unique constraint failed" in str(getattr(exc, "orig", exc)).lower()


def with_retry(
    fn: Callable[[], T],
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    retry_conflicts: bool = False,
    on_retry: Callable[[BaseException], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``fn()``, run again after a busy refusal (and, with ``retry_conflicts``, a unique-key clash).

    ``fn`` must be one whole transaction (begun and ended inside it) so that a retry
    starts afresh; ``on_retry`` is called with the error before each new try (to
    forget what the failed transaction cached). Raises ``DatabaseBusy`` after
    ``attempts`` busy refusals; any other error, or the last clash, as it is.
    """
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except DBAPIError as exc:
            busy = is_busy(exc)
            if not (busy or (retry_conflicts and is_conflict(exc))):
                raise
            if attempt == attempts:
                if busy:
                    raise DatabaseBusy((str(getattr(exc, "orig", exc)).strip().splitlines() or [""])[0]) from exc
                raise
            if on_retry is not None:
                on_retry(exc)
            delay = min(MAX_DELAY_S, BASE_DELAY_S * 2 ** (attempt - 1))
            sleep(delay * random.uniform(0.5, 1.5))
    raise AssertionError("unreachable")  # the loop returns or raises
