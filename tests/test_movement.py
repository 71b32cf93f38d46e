"""Movement compares like with like: this period so far against the same elapsed part of the last.

Worked out by hand. "Now" is Tuesday 24 November 2026, 10:00 UTC (a UTC site; min ratings 5).
Last week (16–22 Nov) up to Tuesday 10:00, and this week so far:

    agent   last week Mon–Tue 10:00   last week after that   this week so far
    Ann     5 × 5★                    20 × 1★                5 × 5★
    Ben     5 × 3★                    20 × 5★                5 × 3★
    Cleo    2 × 5★ (provisional)      20 × 5★                5 × 2★

Like for like, Ann (1st) and Ben (2nd) hold their places ("="); against the whole of last week
(Cleo 1st, Ben 2nd, Ann 3rd) Ann would show ▲ 2. Cleo was below the minimum at the same point last week: no
movement at all, although she was ranked over the whole week.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from sqlmodel import Session

from leaderboard.board import build_board
from leaderboard.settings import Settings
from tests.factories import add_ratings

NOW = datetime(2026, 11, 24, 10, 0)
LAST_MONDAY = datetime(2026, 11, 16, 1, 0)
LAST_WEDNESDAY = datetime(2026, 11, 18, 9, 0)
THIS_MONDAY = datetime(2026, 11, 23, 8, 0)
HOUR = timedelta(hours=1)


def _floor(engine) -> None:
    for agent, early, later, now in (
        ("Ann Lee", [5] * 5, [1] * 20, [5] * 5),
        ("Ben Cruz", [3] * 5, [5] * 20, [3] * 5),
        ("Cleo Park", [5] * 2, [5] * 20, [2] * 5),
    ):
        add_ratings(engine, agent, early, at=LAST_MONDAY, step=HOUR, tz="UTC")
        add_ratings(engine, agent, later, at=LAST_WEDNESDAY, step=HOUR)
        add_ratings(engine, agent, now, at=THIS_MONDAY, step=HOUR)


def _movement(board) -> dict[str, int | None]:
    return {
        r["agent"]: (None if pd.isna(r["movement"]) else int(r["movement"]))
        for r in board.agents.to_dict("records")
    }


def test_movement_early_in_the_week_compares_the_same_elapsed_part(engine):
    _floor(engine)
    settings = Settings(min_ratings=5)
    with Session(engine) as session:
        board = build_board(session=session, period="week", now=NOW, settings=settings)
        ranks = dict(zip(board.agents["agent"], board.agents["rank"]))
        assert (ranks["Ann Lee"], ranks["Ben Cruz"], ranks["Cleo Park"]) == (1, 2, 3)
        assert _movement(board) == {"Ann Lee": 0, "Ben Cruz": 0, "Cleo Park": None}


def test_a_finished_week_still_compares_with_the_whole_week_before(engine):
    _floor(engine)
    settings = Settings(min_ratings=5)
    with Session(engine) as session:
        # Next Monday: this week is over, last week counts whole. Last week: Cleo 1 (22 × 5★),
        # Ben 2 (5 × 3★ + 20 × 5★), Ann 3 (5 × 5★ + 20 × 1★); this week: Ann 1, Ben 2, Cleo 3.
        board = build_board(session=session, period="2026-11-23..2026-11-29", now=NOW + timedelta(days=6),
                            settings=settings)
        assert _movement(board) == {"Ann Lee": 2, "Ben Cruz": 0, "Cleo Park": -2}
