"""Two servers, one PostgreSQL: how soon does a rating posted to one reach a wall served by the other,
and does anything get stored twice when both take the same ratings at once?

Makes a schema of its own in the PostgreSQL database given by ``--db`` (dropped at the end), fills it
with the demo floor (``leaderboard.demo.seed_demo``), makes one API key and one wall display token,
and starts two ``streamlit run app.py`` processes on it (A and B, different ports, the same
``STARBOARD_SECRET_KEY``), as two app servers behind the proxy of ``deploy/`` would run. Then, for
``--seconds``:

load       ``--pairs`` pairs of client threads (default 2). The two threads of a pair send the *same*
           ratings in the same order (the same interaction ids, from ``bench.ingest_bench.client`` with
           the same seed), one to A and one to B: every rating races a copy of itself on the other
           server, as when a help desk retries on another server behind the proxy. Exactly one of
           the two may answer "inserted".
freshness  one wall is open on **B** all along in headless Chromium (Playwright, /usr/bin/chromium),
           ``refresh=--refresh`` (default 2 s), shout-outs pinned. Every few seconds the main thread
           POSTs a *marker* to **A**: a 5★ rating with a unique comment for a public agent. Freshness
           is from the marker's 200 (``time.time()`` here) to the browser's ``Date.now()`` when a
           MutationObserver first finds the comment in B's wall (``bench.wall_bench.OBSERVER_JS``,
           the marker approach of ``bench/ingest_bench.py``). It includes B's refresh timer, its read
           of the change counter written by A's transaction, B's cache and the render.

Afterwards: ``duplicates`` = ratings stored twice for one interaction id, plus ids that both
servers answered "inserted" (a double count even if the database held one row). Target: 0.

    python bench/multi_server_bench.py --db postgresql+psycopg://postgres@127.0.0.1:5432/test
    python bench/multi_server_bench.py --db … --seconds 20      # shorter

The last line is ``RESULT cross_fresh_p95_s=… duplicates=…`` (issue 16 target: p95 ≤ 3 s, 0).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text
from sqlmodel import Session

from bench.common import machine_line, print_result
from bench.ingest_bench import ClientLog, client, markers, percentile, seed_agents
from bench.wall_bench import OBSERVER_JS, ServerProcess, open_wall, pump, wall_url, warm_up
from db import accounts, apikeys
from db.engine import make_engine
from leaderboard.demo import seed_demo
from tests.browser_util import launch_chromium, start_server, stop_server
from tests.conftest import pg_schema_url

SECRET = "multi-server-bench-secret"  # a throwaway key for the bench's own temporary schema


def log(message: str = "") -> None:
    print(message, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True, help="a PostgreSQL URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test "
                    "(the bench makes a schema of its own there and drops it after)")
    ap.add_argument("--seconds", type=float, default=60.0, help="measured time (default 60)")
    ap.add_argument("--pairs", type=int, default=2, help="pairs of clients racing the same ratings on A and B")
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--refresh", type=int, default=2, help="the wall's refresh=… (seconds)")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder (server logs)")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 10 s, one pair")
    args = ap.parse_args(argv)
    if not args.db.startswith("postgresql"):
        ap.error("--db must be a PostgreSQL URL: several servers on one database is a PostgreSQL setup")
    if args.quick:
        args.seconds, args.pairs = 10.0, 1

    log("multi-server bench: ratings to server A (and raced on B), a wall on server B")
    log(f"  machine: {machine_line()}")
    folder = Path(tempfile.mkdtemp(prefix="multi-server-bench-"))
    schema = pg_schema_url(args.db, f"multi_bench_{os.getpid()}")
    db_url = schema.__enter__()
    engine = make_engine(db_url)
    servers = []
    playwright = browser = wall = None
    logs = {(n, side): ClientLog() for n in range(args.pairs) for side in "AB"}
    fresh: list[float] = []
    try:
        seed_demo(engine=engine, seed=7)
        agents = seed_agents(engine)
        with Session(engine) as session:
            key = apikeys.add_key(session=session, name="multi-bench", actor="bench")
            token = accounts.add_display(session=session, name="multi-bench-tv")
        log(f"  schema multi_bench_{os.getpid()}: demo floor, {len(agents)} agents")
        env = {"STARBOARD_SECRET_KEY": SECRET, "STARBOARD_API_RATE_LIMIT": "100000"}
        for name in "AB":
            servers.append(start_server(database_url=db_url, log_path=folder / f"streamlit-{name}.log", extra_env=env))
        a, b = servers
        procs = [ServerProcess(s.process.pid) for s in servers]
        log(f"  server A {a.url} (pid {a.process.pid}), server B {b.url} (pid {b.process.pid})")
        run_id = uuid.uuid4().hex[:6]

        from playwright.sync_api import sync_playwright  # the browser only when the bench runs

        playwright = sync_playwright().start()
        browser = launch_chromium(playwright)
        warm_up(browser, b)
        wall = open_wall(browser, wall_url(b, refresh=args.refresh, rotate=15, panel="shoutouts", token=token))
        wall.page.evaluate(OBSERVER_JS)
        pump(wall.page, args.refresh)
        log(f"  wall open on B: /wall?refresh={args.refresh}&panel=shoutouts")

        begin = time.perf_counter()
        start, stop = begin + args.warmup, begin + args.warmup + args.seconds
        threads = [
            threading.Thread(target=client, args=(n,), daemon=True,
                             kwargs=dict(url=(a if side == "A" else b).url, key=key, agents=agents, start=start,
                                         stop=stop, out=logs[(n, side)]))
            for n in range(args.pairs) for side in "AB"
        ]
        for thread in threads:
            thread.start()
        while time.perf_counter() < start:
            time.sleep(0.05)
        cpu0 = [p.cpu_seconds() for p in procs]
        log(f"\n== {args.seconds:.0f} s: {args.pairs} pair(s) racing the same ratings on A and B; markers to A")
        fresh = markers(wall.page, url=a.url, key=key, agents=agents, stop=stop, refresh=args.refresh, run_id=run_id)
        for thread in threads:
            thread.join(timeout=args.seconds + 120)
        elapsed = max(1e-9, min(time.perf_counter(), stop) - start)
        cpu = [p.cpu_seconds() - c for p, c in zip(procs, cpu0)]
        if wall.errors:
            log(f"  wall page errors: {wall.errors[:3]}")
    finally:
        if wall is not None:
            wall.close()
        if browser is not None:
            browser.close()
        if playwright is not None:
            playwright.stop()
        for server in servers:
            stop_server(server)

    try:
        items = {side: sum((logs[(n, side)].item_statuses for n in range(args.pairs)), Counter()) for side in "AB"}
        for side in "AB":
            log(f"  server {side} answers (items): {dict(items[side])}")
        failures = [f for c in logs.values() for f in c.failures]
        if failures:
            log(f"  failures (first few): {failures[:5]}")
        rated = sum(c.ratings for c in logs.values()) / 2 / elapsed
        log(f"  distinct ratings/s (each sent to both servers): {rated:,.1f}")
        log(f"  servers' CPU: A {cpu[0]:.1f} s, B {cpu[1]:.1f} s in {elapsed:.0f} s (B also serves the wall)")
        fresh_p95 = percentile(fresh, 95)
        if fresh:
            log(f"  cross-server freshness s (POST 200 on A -> on B's wall): p50 {percentile(fresh, 50):.2f}  "
                f"p95 {fresh_p95:.2f}  max {max(fresh):.2f}  (n={len(fresh)}, refresh={args.refresh})")
        with engine.connect() as conn:
            stored, distinct = conn.execute(text(
                "SELECT count(*), count(DISTINCT i.interaction_id) FROM rating r "
                "JOIN interaction i ON i.id = r.interaction_id WHERE i.interaction_id LIKE 'BENCH-%'"
            )).one()
            doubled_rows = conn.execute(text(
                "SELECT count(*) FROM (SELECT i.interaction_id FROM interaction i GROUP BY i.interaction_id "
                "HAVING count(*) > 1) d"
            )).scalar()
        inserted = sum(c.all_inserted for c in logs.values())  # both servers, warm-up included
        duplicates = (stored - distinct) + doubled_rows + max(0, inserted - distinct)
        log(f"  database: {stored:,} bench ratings for {distinct:,} interaction ids; 'inserted' answered {inserted:,} "
            f"times in all; duplicates {duplicates}")
        log(f"  machine after: {machine_line()}")
    finally:
        engine.dispose()
        schema.__exit__(None, None, None)
        if args.keep:
            log(f"  kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print_result(cross_fresh_p95_s=round(fresh_p95, 2) if fresh else "n/a", duplicates=duplicates)
    return 0 if duplicates == 0 and fresh else 1


if __name__ == "__main__":
    raise SystemExit(main())
