"""How fast is the leaderboard at a year of a large contact centre?

Builds (or reuses) a SQLite database with 1,000,000 ratings over 2,000 agents
(3 sites in different time zones, 40 teams, ~2.86M interactions of which 35%
rated), then times ``leaderboard.board.build_board`` for this week and for all
time (everyone, with movement as the screen shows it) beside a naive baseline
that loads every rating joined to its agent into pandas and groups there (the
same measures, ranks and movement; response rate left out, which only flatters
the baseline). A site's and a team's week are timed too (the wall's scopes).

    python bench/leaderboard_bench.py                 # 1M ratings, temp database
    python bench/leaderboard_bench.py --quick         # 50k ratings, a few seconds
    python bench/leaderboard_bench.py --db /tmp/sb-1m.db   # build once, reuse after
    python bench/leaderboard_bench.py --profile       # plus cProfile of the week board

"Week" is measured at the end of the last complete week (Sunday 23:59:59 UTC
of the data), the largest a week gets: seven full days plus the previous week
for movement. The live week (whatever day the data was built on) is printed too.
The last line is ``RESULT week_ms=... all_ms=... naive_ms=... speedup=...``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlmodel import Session

from bench.common import (
    BuildSpec,
    Stopwatch,
    add_dataset_arguments,
    bench_now,
    build_dataset,
    dataset_file,
    file_size_mb,
    fmt_ms,
    machine_line,
    peak_rss_mb,
    print_result,
    table_counts,
    time_call,
)
from db import rollups
from db.engine import make_engine
from db.queries import ScopeError
from leaderboard.board import Board, build_board
from leaderboard.periods import Period, resolve_period
from leaderboard.settings import Settings, sqlite_url

# What a naive page would do: every rating, joined to its agent, into pandas.
NAIVE_SQL = text(
    "SELECT rating.agent_id, agent.name AS agent, agent.team_id, rating.stars, rating.resolved,"
    " rating.nps, rating.rated_at, rating.excluded_cause"
    " FROM rating JOIN agent ON agent.id = rating.agent_id"
)


def naive_board(engine, *, period: Period, settings: Settings) -> pd.DataFrame:
    """The week's measures, ranks and movement computed in pandas from every rating (load included)."""
    with engine.connect() as conn:
        frame = pd.read_sql(NAIVE_SQL, conn, parse_dates=["rated_at"])
    frame = frame[frame["excluded_cause"].isna()]

    def measures(p: Period) -> pd.DataFrame:
        start, end = p.utc_bounds()
        part = frame[(frame["rated_at"] >= start) & (frame["rated_at"] < end)]
        part = part.assign(
            five=part["stars"].eq(5),
            res_yes=part["resolved"].eq(1),
            res_n=part["resolved"].notna(),
            nps_n=part["nps"].notna(),
            prom=part["nps"].ge(9),
            detr=part["nps"].le(6),
        )
        g = part.groupby(["agent_id", "agent"], as_index=False).agg(
            ratings=("stars", "size"),
            star_sum=("stars", "sum"),
            five=("five", "sum"),
            res_yes=("res_yes", "sum"),
            res_n=("res_n", "sum"),
            nps_n=("nps_n", "sum"),
            prom=("prom", "sum"),
            detr=("detr", "sum"),
        )
        c = g["star_sum"].sum() / g["ratings"].sum() if len(g) else np.nan
        m = settings.prior_weight
        g["avg_stars"] = g["star_sum"] / g["ratings"]
        g["score"] = (g["star_sum"] + m * c) / (g["ratings"] + m)
        g["five_star_pct"] = g["five"] * 100.0 / g["ratings"]
        g["fcr_pct"] = g["res_yes"] * 100.0 / g["res_n"].where(g["res_n"] > 0)
        g["nps"] = (g["prom"] - g["detr"]) * 100.0 / g["nps_n"].where(g["nps_n"] > 0)
        ranked = g["ratings"] >= settings.min_ratings
        g["rank"] = g["score"].where(ranked).round(9).rank(method="min", ascending=False).astype("Int64")
        return g

    now = measures(period)
    previous = period.previous()
    if previous is not None:
        before = measures(previous)[["agent_id", "rank"]].rename(columns={"rank": "prev_rank"})
        now = now.merge(before, on="agent_id", how="left")
        now["movement"] = now["prev_rank"] - now["rank"]
    return now.sort_values(["rank", "ratings"], ascending=[True, False])


def check_agreement(board: Board, naive: pd.DataFrame) -> str:
    """The naive frame and the board must agree on every rated agent's count, stars and score."""
    rated = board.agents[board.agents["ratings"] > 0]
    both = rated.merge(naive, on="agent_id", suffixes=("", "_naive"))
    problems = []
    if len(both) != len(rated) or len(naive) != len(rated):
        problems.append(f"agents: board {len(rated)}, naive {len(naive)}")
    if not (both["ratings"] == both["ratings_naive"]).all():
        problems.append("rating counts differ")
    if not np.allclose(both["score"], both["score_naive"]):
        problems.append("scores differ")
    if not np.allclose(both["fcr_pct"].fillna(-1), both["fcr_pct_naive"].fillna(-1)):
        problems.append("FCR differs")
    if not np.allclose(both["nps"].fillna(-999), both["nps_naive"].fillna(-999)):
        problems.append("NPS differs")
    return "agree on %d agents" % len(both) if not problems else "DISAGREE: " + "; ".join(problems)


def end_of_last_full_week(now: datetime) -> datetime:
    """Sunday 23:59:59 UTC before the Monday of ``now``'s week."""
    monday = datetime.combine(now.date() - timedelta(days=now.weekday()), datetime.min.time())
    return monday - timedelta(seconds=1)


def breakdown(engine, period: Period, *, runs: int) -> None:
    """Median time of each query build_board runs for a week (everyone), to see which one costs."""
    from db import queries
    from db.queries import Scope

    scope = Scope()
    print("\n--- query breakdown, week (everyone) ---")
    with Session(engine) as session:
        calls = [("agent_directory", lambda: queries.agent_directory(session=session, scope=scope))]
        for name, p in (("week", period), ("previous", period.previous())):
            start, end = p.utc_bounds()
            calls.append((f"rating_sums {name}",
                          lambda s=start, e=end: queries.rating_sums(session=session, scope=scope, start=s, end=e)))
            calls.append((f"interaction_sums {name}",
                          lambda s=start, e=end: queries.interaction_sums(session=session, scope=scope, start=s, end=e)))
        for label, fn in calls:
            print(time_call(label, fn, runs=runs)[0].line(), flush=True)


def profile(label: str, fn, *, top: int = 25) -> None:
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(top)
    print(f"\n--- cProfile: {label} (cumulative, top {top}) ---")
    print(out.getvalue())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_dataset_arguments(ap)
    ap.add_argument("--interactions", type=int, help="default: ratings / 0.35")
    ap.add_argument("--now", type=datetime.fromisoformat,
                    help="build the data up to this UTC time (YYYY-MM-DDTHH:MM), for identical rebuilds")
    ap.add_argument("--seed", type=int, default=BuildSpec.seed)
    ap.add_argument("--runs", type=int, help="measured runs per figure (default 9, quick 5)")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of the week and all-time boards")
    args = ap.parse_args(argv)
    path, tmp = dataset_file(args, prefix="starboard-bench-")
    runs = args.runs or (5 if args.quick else 9)
    url = sqlite_url(path)

    print(f"Starboard leaderboard bench  (SQLite file {path})")
    print(f"  {machine_line()}")
    reuse = path.exists() and table_counts(url).get("rating", 0) > 0
    if reuse:
        print("  reusing the existing database (--ratings/--agents ignored)")
        data_now = bench_now(url) or datetime.now(timezone.utc).replace(tzinfo=None)
    else:
        spec = BuildSpec(ratings=args.ratings, agents=args.agents, interactions=args.interactions,
                         teams=min(40, args.agents), seed=args.seed, now=args.now)
        print(f"Building: {spec.ratings:,} ratings, {spec.interaction_count:,} interactions, "
              f"{spec.agents:,} agents, {spec.teams} teams, 3 sites, {spec.days} days")
        with Stopwatch() as sw:
            report = build_dataset(url, spec, log=print)
        data_now = report.now
        parts = ", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items())
        print(f"  built in {sw.seconds:.1f} s ({parts}); avg stars {report.avg_stars:.3f}")
    counts = table_counts(url)
    print("  rows: " + ", ".join(f"{k} {v:,}" for k, v in counts.items())
          + f"; file {file_size_mb(path):,.0f} MiB; peak RSS {peak_rss_mb():,.0f} MiB")

    engine = make_engine(url)
    settings = Settings(database_url=url)
    # The builder writes raw rows through the DBAPI, past the write path: the rollups the boards
    # read are built here (an upgraded older file has them from migration 0013 already).
    with engine.begin() as conn:
        if conn.execute(text("SELECT count(*) FROM agent_day")).scalar_one() == 0:
            with Stopwatch() as sw:
                built = rollups.rebuild(conn)
            print(f"  rollups built: {built:,} agent-day rows in {sw.seconds:.1f} s")
    full_week_now = end_of_last_full_week(data_now)
    week = resolve_period("week", now=full_week_now)
    live_week = resolve_period("week", now=data_now)
    with engine.connect() as conn:
        def n_ratings(p: Period) -> int:
            start, end = p.utc_bounds()
            return int(conn.execute(
                text("SELECT count(*) FROM rating WHERE rated_at >= :s AND rated_at < :e"),
                {"s": start, "e": end},
            ).scalar_one())
        week_n, prev_n, live_n = n_ratings(week), n_ratings(week.previous()), n_ratings(live_week)
    print(f"  data 'now' {data_now:%a %Y-%m-%d %H:%M} UTC; full week {week.start}..{week.end - timedelta(days=1)}: "
          f"{week_n:,} ratings (previous week {prev_n:,}); live week so far: {live_n:,}")

    def board(period: str, now: datetime):
        def run():
            with Session(engine) as session:
                return build_board(session=session, period=period, now=now, settings=settings)
        return run

    print(f"\nTiming (warm: 1 unmeasured run first; {runs} measured runs, median):")
    t_week, week_board = time_call("build_board week (full week)", board("week", full_week_now), runs=runs)
    print(t_week.line(), flush=True)
    t_live, _ = time_call("build_board week (live, today)", board("week", data_now), runs=runs)
    print(t_live.line(), flush=True)
    t_all, all_board = time_call("build_board all", board("all", data_now), runs=max(3, runs // 3))
    print(t_all.line(), flush=True)
    # A site's and a team's board (the wall's scopes) take the agent_id IN (...) query path.
    site, team = "Belgrade", "Belgrade/Team 01"
    for label, kw in ((f"build_board week, site {site}", {"site": site}), (f"build_board week, team {team}", {"team": team})):
        def scoped(kw=kw):
            with Session(engine) as session:
                return build_board(session=session, period="week", now=full_week_now, settings=settings, **kw)
        try:
            t_scope, _ = time_call(label, scoped, runs=max(3, runs // 3))
        except ScopeError as exc:  # a reused database of another shape
            print(f"  {label}: skipped ({exc})")
            continue
        print(t_scope.line(), flush=True)
    t_naive, naive = time_call(
        "naive pd.read_sql + groupby (week)",
        lambda: naive_board(engine, period=week, settings=settings),
        runs=3,
    )
    print(t_naive.line(), flush=True)
    print(f"  board vs naive: {check_agreement(week_board, naive)}")
    print(f"  week board: {len(week_board.agents):,} agents ({int(week_board.agents['rank'].notna().sum()):,} ranked), "
          f"{len(week_board.teams)} teams, C={week_board.prior:.3f}; all-time C={all_board.prior:.3f}")
    speedup = t_naive.median / t_week.median
    print(f"\n  week target < 100 ms: {'met' if t_week.median < 100 else 'MISSED'} ({fmt_ms(t_week.median)}); "
          f"speedup over naive {speedup:,.1f}x (target >= 10x: {'met' if speedup >= 10 else 'MISSED'})")
    print(f"  peak RSS {peak_rss_mb():,.0f} MiB; {machine_line()}")

    if args.profile:
        breakdown(engine, week, runs=runs)
        profile("build_board week (full week)", board("week", full_week_now))
        profile("build_board all", board("all", data_now))

    engine.dispose()
    if tmp is not None:
        tmp.cleanup()
    print_result(week_ms=t_week.median, all_ms=t_all.median, naive_ms=t_naive.median, speedup=speedup)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
