"""Case-mix adjusted leaderboard bench (issue 17): ``RESULT adjust_ms=<x>``.

Builds (or reuses, ``--db``) a SQLite floor with bench/common.py's builder (default 2,000 agents,
1,000,000 ratings over a year), then times for the whole period ("all"):

* ``adjust_ms``: the adjusted leaderboard with a cold fit (the ratings with their contact reason
  and channel read from the database, the model fitted, the board ranked by adjusted score);
* ``model_ms``: the model alone on the frame already in memory (``casemix.fit_effects`` + ``adjust``);
* ``--period last30`` and the like time a shorter board (its reason and channel effects still
  learnt over at least 28 days);
* ``warm_ms``: the adjusted leaderboard again with the fit cached (same data version), as a screen sees it.

Usage: python bench/fair_bench.py [--ratings N] [--agents N] [--db FILE] [--quick] [--runs N]
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone

from common import (  # noqa: E402  (bench/common.py puts the project on sys.path)
    BuildSpec,
    Stopwatch,
    add_dataset_arguments,
    bench_now,
    build_dataset,
    dataset_file,
    machine_line,
    print_result,
    table_counts,
    time_call,
)
from sqlmodel import Session  # noqa: E402

from db import queries  # noqa: E402
from db.engine import make_engine  # noqa: E402
from db.queries import Scope  # noqa: E402
from leaderboard import casemix, fairness  # noqa: E402
from leaderboard.board import build_board  # noqa: E402
from leaderboard.settings import Settings, sqlite_url  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_dataset_arguments(ap)
    ap.add_argument("--runs", type=int, help="measured runs per figure (default 5, quick 3)")
    ap.add_argument("--period", default="all", help="the board's period (default all: every rating)")
    args = ap.parse_args(argv)
    path, tmp = dataset_file(args, prefix="starboard-fair-")
    runs = args.runs or (3 if args.quick else 5)
    url = sqlite_url(path)
    print(f"Starboard case-mix bench  (SQLite file {path})")
    print(f"  {machine_line()}")
    if path.exists() and table_counts(url).get("rating", 0) > 0:
        print("  reusing the existing database (--ratings/--agents ignored)")
        now = bench_now(url) or datetime.now(timezone.utc).replace(tzinfo=None)
    else:
        spec = BuildSpec(ratings=args.ratings, agents=args.agents, teams=min(40, args.agents))
        print(f"Building: {spec.ratings:,} ratings, {spec.agents:,} agents, {spec.teams} teams")
        with Stopwatch() as sw:
            now = build_dataset(url, spec, log=print).now
        print(f"  built in {sw.seconds:.1f} s")
    print("  rows: " + ", ".join(f"{k} {v:,}" for k, v in table_counts(url).items()))
    engine = make_engine(url)
    settings = Settings(database_url=url)
    with Session(engine) as session:
        board = build_board(session=session, period=args.period, now=now, settings=settings, with_movement=False)
        start, end = fairness.context_bounds(*board.period.utc_bounds())
        frame = queries.ratings_with_mix(session=session, scope=Scope(), start=start, end=end)

    def cold():
        fairness._CACHE.clear()
        with Session(engine) as session:
            return fairness.adjusted_board(session=session, board=board, min_ratings=settings.min_ratings)

    def warm():
        with Session(engine) as session:
            return fairness.adjusted_board(session=session, board=board, min_ratings=settings.min_ratings)

    def model():
        return casemix.adjust(frame, casemix.fit_effects(frame))

    print(f"\nTiming, period {args.period} ({int(frame['n'].sum()):,} ratings in the model's window as "
          f"{len(frame):,} grouped rows, {board.agents['agent_id'].nunique():,} agents; median of {runs}):")
    t_cold, adjusted = time_call("adjusted board, cold fit (query + model)", cold, runs=runs)
    print(t_cold.line(), flush=True)
    t_model, _ = time_call("model only (frame in memory)", model, runs=runs)
    print(t_model.line(), flush=True)
    t_warm, _ = time_call("adjusted board, cached fit", warm, runs=runs)
    print(t_warm.line(), flush=True)
    bands = adjusted.agents["band"].nunique()
    print(f"  {bands} tie bands; notes: {adjusted.notes or 'none'}")
    print_result(adjust_ms=round(t_cold.median, 1), model_ms=round(t_model.median, 1), warm_ms=round(t_warm.median, 1))
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
