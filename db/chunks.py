"""IN lists in slices, so a statement's bound parameters stay few.

900 per statement: under the 999 of old SQLite builds, far under today's
SQLite (32766) and PostgreSQL (65535).
"""

from __future__ import annotations

from typing import Iterable, Sequence

CHUNK = 900


def chunks(values: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    """``values`` in consecutive slices of at most ``size``."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
