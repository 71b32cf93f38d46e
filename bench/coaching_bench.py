"""How fast are micro-coaching prompts for a large contact centre?

Builds (or reuses) a SQLite database with 1,000,000 ratings over 2,000 agents
(``bench.common.build_dataset``: 3 sites in different time zones, 40 teams, a
year of data), adds what coaching reads and that builder does not make — went
well / to improve tags on the ratings and a year of coaching notes — then
times ``leaderboard.coaching.generate_prompts`` for every team, from an empty
prompt table (the prompts are deleted between measured runs), and again on a
full one (the idempotent re-run a page makes on every load).

    python bench/coaching_bench.py                  # 1M ratings, temp database
    python bench/coaching_bench.py --quick          # 50k ratings over 200 agents, seconds
    python bench/coaching_bench.py --db /tmp/sb-1m.db   # build once, reuse after
    python bench/coaching_bench.py --profile        # plus a cProfile of one generation

"now" is the moment the data was built (stored in the database), so the
48-hour and 14-day windows hold live-looking data. The last line is
``RESULT prompts_s=<seconds> prompts=<count>`` (median of the measured runs;
target: under 2 s at 1M ratings).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from sqlalchemy import delete
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
    peak_rss_mb,
    print_result,
    sqlite_datetimes,
    table_counts,
    time_call,
)
from db.accounts import viewer_for_user
from db.engine import make_engine
from db.models import CoachingPrompt, Team, User
from leaderboard import coaching
from leaderboard.auth import Viewer
from leaderboard.settings import Settings, sqlite_url

EXTRAS_KEY = "coaching_bench_extras"
IMPROVE_TAGS = (
    "patience", "hold time", "product knowledge", "tone", "listening", "returns process",
    "wait time", "follow-up", "accuracy", "ownership", "billing rules", "escalation",
)
WELL_TAGS = ("friendly", "patient", "knowledgeable", "quick", "solved first time", "clear explanation")


def add_coaching_extras(url: str, *, seed: int = 7, log=print) -> None:
    """Tags on the ratings and coaching notes from team leaders (once per database)."""
    engine = make_engine(url)
    raw = engine.raw_connection()
    conn = raw.driver_connection
    try:
        if conn.execute("SELECT 1 FROM app_meta WHERE key = ?", (EXTRAS_KEY,)).fetchone():
            return
        rng = np.random.default_rng(seed)
        with Stopwatch() as sw:
            ids, stars = np.array(conn.execute("SELECT id, stars FROM rating ORDER BY id").fetchall(), dtype=np.int64).T
            # Low ratings mostly name something to improve; a few 4★ do too; good ones what went well.
            improve_p = np.array([0.85, 0.8, 0.6, 0.12, 0.02])[stars - 1]
            has_improve = rng.random(len(ids)) < improve_p
            # Agents' weak spots are not uniform: a Zipf-like pick over the vocabulary.
            weights = 1.0 / np.arange(1, len(IMPROVE_TAGS) + 1)
            first = rng.choice(len(IMPROVE_TAGS), size=len(ids), p=weights / weights.sum())
            second = rng.choice(len(IMPROVE_TAGS), size=len(ids), p=weights / weights.sum())
            two = rng.random(len(ids)) < 0.3
            well = (stars >= 4) & (rng.random(len(ids)) < 0.35)
            well_tag = rng.integers(0, len(WELL_TAGS), len(ids))
            rows = []
            for i in np.flatnonzero(has_improve).tolist():
                rows.append((int(ids[i]), "to_improve", IMPROVE_TAGS[first[i]]))
                if two[i] and second[i] != first[i]:
                    rows.append((int(ids[i]), "to_improve", IMPROVE_TAGS[second[i]]))
            rows += [(int(ids[i]), "went_well", WELL_TAGS[well_tag[i]]) for i in np.flatnonzero(well).tolist()]
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO rating_tag (rating_id, kind, tag) VALUES (?, ?, ?)", rows)

            # About one note per agent per week over the year, mostly praise, from the team leader.
            now = datetime.fromisoformat(conn.execute("SELECT value FROM app_meta WHERE key = 'bench_now'").fetchone()[0])
            agents = conn.execute("SELECT agent.id, team.leader_id FROM agent JOIN team ON team.id = agent.team_id").fetchall()
            per_agent = rng.poisson(50, len(agents))
            agent_of = np.repeat([a for a, _ in agents], per_agent)
            leader_of = np.repeat([lead for _, lead in agents], per_agent)
            seconds_ago = rng.integers(0, 365 * 86400, len(agent_of))
            created = np.datetime64(now, "us") - seconds_ago.astype("timedelta64[s]").astype("timedelta64[us]")
            kind = np.where(rng.random(len(agent_of)) < 0.78, "praise", "criticism")
            visibility = np.where((kind == "praise") & (rng.random(len(agent_of)) < 0.6), "public", "private")
            notes = list(zip(agent_of.tolist(), leader_of.tolist(), kind.tolist(), visibility.tolist(),
                             ["(bench note)"] * len(agent_of), sqlite_datetimes(created)))
            conn.executemany(
                "INSERT INTO coaching_note (agent_id, author_id, kind, visibility, text, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                notes,
            )
            conn.execute("INSERT INTO app_meta (key, value) VALUES (?, '1')", (EXTRAS_KEY,))
            conn.commit()
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        log(f"  coaching extras: {len(rows):,} tags, {len(notes):,} notes in {sw.seconds:.1f} s")
    finally:
        raw.close()
        engine.dispose()


def clear_prompts(engine) -> None:
    with Session(engine) as session:
        session.exec(delete(CoachingPrompt))
        session.commit()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_dataset_arguments(ap)
    ap.add_argument("--runs", type=int, help="measured runs (default 5, quick 3)")
    ap.add_argument("--profile", action="store_true", help="print a cProfile of one generation")
    args = ap.parse_args(argv)
    path, tmp = dataset_file(args, prefix="starboard-coaching-bench-")
    runs = args.runs or (3 if args.quick else 5)
    url = sqlite_url(path)

    print(f"Starboard coaching bench  (SQLite file {path})")
    if path.exists() and table_counts(url).get("rating", 0) > 0:
        print("  reusing the existing database (--ratings/--agents ignored)")
    else:
        spec = BuildSpec(ratings=args.ratings, agents=args.agents, teams=min(40, args.agents))
        print(f"Building: {spec.ratings:,} ratings, {spec.interaction_count:,} interactions, "
              f"{spec.agents:,} agents, {spec.teams} teams, 3 sites, {spec.days} days (bench.common.build_dataset)")
        with Stopwatch() as sw:
            build_dataset(url, spec, log=print)
        print(f"  built in {sw.seconds:.1f} s")
    add_coaching_extras(url)
    now = bench_now(url) or datetime.utcnow()
    counts = table_counts(url, ("agent", "team", "rating", "rating_tag", "coaching_note"))
    print("  rows: " + ", ".join(f"{k} {v:,}" for k, v in counts.items())
          + f"; file {file_size_mb(path):,.0f} MiB")
    print(f"  now = {now:%a %Y-%m-%d %H:%M} UTC (when the data was built)")

    engine = make_engine(url)
    settings = Settings(database_url=url)

    def generate() -> list:
        with Session(engine, expire_on_commit=False) as session:
            return coaching.generate_prompts(session=session, now=now, settings=settings)

    # Fresh generation: every measured run starts from an empty prompt table.
    samples, cpu = [], []
    created: list = []
    load_before = os.getloadavg()[0]
    for i in range(runs + 1):
        clear_prompts(engine)
        cpu_start = time.process_time()
        with Stopwatch() as sw:
            created = generate()
        if i:  # the first run warms caches (SQLite pages, imports) and is not counted
            samples.append(sw.seconds * 1000.0)
            cpu.append((time.process_time() - cpu_start) * 1000.0)
    samples.sort()
    cpu.sort()
    median_ms = samples[len(samples) // 2]
    by_rule = Counter(p.rule for p in created)
    print(f"\nPrompts generated from scratch: {len(created):,}  (" + ", ".join(f"{r} {n:,}" for r, n in sorted(by_rule.items())) + ")")
    print(f"  generate_prompts, empty table      median {fmt_ms(median_ms):>10}   min {fmt_ms(samples[0]):>10}   "
          f"max {fmt_ms(samples[-1]):>10}   (n={len(samples)})")
    # Wall time includes waiting for a CPU: on a shared machine read it beside this process's CPU time.
    print(f"    this process's CPU time           median {fmt_ms(cpu[len(cpu) // 2]):>10}   "
          f"(load average {load_before:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")

    again, again_result = time_call("generate_prompts, re-run (no new)", generate, runs=runs, warmup=0)
    print(again.line())
    assert again_result == [], "a second run must generate nothing"

    admin = Viewer(role="admin", username="bench")
    with Session(engine) as session:
        leader_team = created[0].team_id if created else None
        lead_id = session.get(Team, leader_team).leader_id if leader_team else None
        leader = viewer_for_user(session=session, user=session.get(User, lead_id)) if lead_id else None

        queue_all, frame = time_call("open_prompts, admin (every team)",
                                     lambda: coaching.open_prompts(session=session, viewer=admin, now=now), runs=runs)
        print(queue_all.line() + f"  rows {len(frame):,}")
        if leader is not None:
            queue_one, frame = time_call("open_prompts, one leader",
                                         lambda: coaching.open_prompts(session=session, viewer=leader, now=now), runs=runs)
            print(queue_one.line() + f"  rows {len(frame):,}")
            table, _ = time_call("team_table, one team",
                                 lambda: coaching.team_table(session=session, viewer=leader, team_id=leader_team, now=now),
                                 runs=runs)
            print(table.line())
    print(f"  peak RSS {peak_rss_mb():,.0f} MiB")

    if args.profile:
        clear_prompts(engine)
        prof = cProfile.Profile()
        prof.enable()
        generate()
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(30)
        print("\n--- cProfile: generate_prompts (cumulative, top 30) ---")
        print(out.getvalue())

    engine.dispose()
    if tmp is not None:
        tmp.cleanup()
    print_result(prompts_s=median_ms / 1000.0, prompts=len(created))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
