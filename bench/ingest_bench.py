"""How many ratings per second does POST /api/v1/ratings take, how fast does it answer,
and how soon does a rating reach an open wall?

Seeds a SQLite file in a temp folder with the demo data (``db.seed`` via
``tests.browser_util.seed_database``), makes one API key (``db.apikeys.add_key``,
name "bench") and a wall display token, starts ``streamlit run app.py`` on a free
port against it (``tests.browser_util.start_server``) and then, for ``--seconds``:

load       ``--clients`` threads (default 8), each with its own keep-alive HTTP
           connection, POST one rating at a time (a single JSON object, a new
           interaction id, an existing agent/team/site of the seed, stars drawn
           around 4.5, no comment) as fast as the server answers. Throughput is
           the 200 answers per second of the measured window; latency is the
           client-side time of each request (connect excluded, keep-alive). The
           server's rate limit is raised for the bench (STARBOARD_API_RATE_LIMIT,
           ``--rate-limit``, default 100000): one key sends far more than the
           default 50/s here, and a 429 would measure the limiter, not the path.
freshness  one wall is open all along in headless Chromium (Playwright,
           /usr/bin/chromium), at ``refresh=--refresh`` (default 2 s) with the
           shout-outs panel pinned. Every few seconds the main thread POSTs a
           *marker*: a 5★ rating with a unique comment for a public agent. The
           load's ratings carry no comment, so they never push a marker off the
           shout-outs (which show commented 4–5★ praise). Freshness is the time
           from the marker's 200 answer (``time.time()`` in this process) to the
           browser's ``Date.now()`` when a MutationObserver first finds the
           comment in the wall's DOM (same machine, same clock). This is what a
           person at the TV sees, including the wall's refresh timer, the change
           counter it reads (``db.changes``), its cache and the render; a poller
           on the change counter alone would leave out the timer and the render.
           Before each marker the bench waits a random 0..refresh s, so markers
           land at every phase of the wall's timer.

Afterwards the database is checked: every 200 "inserted" is one stored rating,
nothing doubled, nothing lost.

    python bench/ingest_bench.py                 # 60 s of load
    python bench/ingest_bench.py --seconds 20    # shorter
    python bench/ingest_bench.py --no-wall       # throughput only (no browser)
    python bench/ingest_bench.py --batch 20      # lists of 20 ratings per request instead of single items

The last line is ``RESULT ratings_per_s=… p95_ms=… wall_fresh_p95_s=…``.
Targets (issue 14, 2-core machine): ≥ 300 ratings/s on SQLite, p95 < 100 ms,
wall freshness p95 ≤ 3 s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import requests
from sqlalchemy import text
from sqlmodel import Session, select

from bench.common import machine_line, print_result
from bench.wall_bench import OBSERVER_JS, ServerProcess, open_wall, pump, wall_url, warm_up
from db import accounts, apikeys
from db.engine import make_engine
from db.models import Agent, Site, Team
from tests.browser_util import launch_chromium, seed_database, start_server, stop_server

STAR_WEIGHTS = (0.04, 0.03, 0.05, 0.16, 0.72)  # about 4.5 on average, as bench.common.STAR_MIX
CHANNELS = ("phone", "chat", "email", "social")
REASONS = ("billing", "delivery", "returns", "order status", "technical issue")
SEEN_TIMEOUT_MS = 30_000


def log(message: str = "") -> None:
    print(message, flush=True)


@dataclass(frozen=True)
class Where:
    agent: str
    team: str
    site: str
    public: bool


def seed_agents(engine) -> list[Where]:
    with Session(engine) as session:
        rows = session.exec(
            select(Agent.name, Team.name, Site.name, Agent.hide_from_wall)
            .join(Team, Team.id == Agent.team_id)
            .join(Site, Site.id == Team.site_id)
            .where(Agent.active.is_(True))
            .order_by(Agent.id)
        ).all()
    return [Where(a, t, s, not hidden) for a, t, s, hidden in rows]


def now_text() -> str:
    return datetime.now(timezone.utc).replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")


def rating(where: Where, interaction_id: str, rng: random.Random, *, stars: int | None = None, comment: str = "") -> dict:
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    body = {
        "interaction_id": interaction_id,
        "agent": where.agent,
        "team": where.team,
        "site": where.site,
        "channel": rng.choice(CHANNELS),
        "contact_reason": rng.choice(REASONS),
        "closed_at": (now - timedelta(minutes=rng.randint(1, 30))).isoformat(sep=" ", timespec="seconds"),
        "rated_at": now.isoformat(sep=" ", timespec="seconds"),
        "stars": stars if stars is not None else rng.choices(range(1, 6), weights=STAR_WEIGHTS)[0],
        "resolved": rng.random() < 0.85,
    }
    if comment:
        body["comment"] = comment
    return body


@dataclass
class ClientLog:
    latencies_ms: list[float] = field(default_factory=list)  # 200 answers inside the window
    statuses: Counter = field(default_factory=Counter)
    item_statuses: Counter = field(default_factory=Counter)
    all_inserted: int = 0  # warm-up included: for the database check
    ratings: int = 0  # items of the 200 answers inside the window
    failures: list[str] = field(default_factory=list)


def client(
    n: int, *, url: str, key: str, agents: list[Where], start: float, stop: float, out: ClientLog, batch: int = 1
) -> None:
    """One help desk: a keep-alive connection (http.client: light, so the client spends little of the CPU)."""
    rng = random.Random(f"client-{n}")
    parsed = urllib.parse.urlsplit(url)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
    i = 0
    while time.perf_counter() < stop:
        i += 1
        if batch == 1:  # the case: one JSON object per request
            body = json.dumps(rating(rng.choice(agents), f"BENCH-{n}-{i:07d}", rng)).encode()
        else:
            body = json.dumps([rating(rng.choice(agents), f"BENCH-{n}-{i:07d}-{j:04d}", rng) for j in range(batch)]).encode()
        began = time.perf_counter()
        try:
            conn.request("POST", "/api/v1/ratings", body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException) as exc:
            out.failures.append(type(exc).__name__)
            conn.close()
            conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
            continue
        took = (time.perf_counter() - began) * 1000
        status = response.status
        results = json.loads(payload).get("results", []) if status in (200, 207) else []
        out.all_inserted += sum(r["status"] == "inserted" for r in results)
        if began < start:  # warm-up: not counted
            continue
        out.statuses[status] += 1
        for result in results:
            out.item_statuses[result["status"]] += 1
        if status == 200:
            out.latencies_ms.append(took)
            out.ratings += sum(r["status"] != "rejected" for r in results)
        elif len(out.failures) < 5:
            out.failures.append(f"{status}: {payload[:200]!r}")
    conn.close()


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def markers(page, *, url: str, key: str, agents: list[Where], stop: float, refresh: int, run_id: str) -> list[float]:
    """POST a 5★ marker now and then; seconds from its 200 to its comment in the wall's DOM."""
    public = [a for a in agents if a.public]
    rng = random.Random(run_id)
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    fresh: list[float] = []
    n = 0
    while time.perf_counter() < stop - 1:
        pump(page, rng.uniform(0, refresh))
        n += 1
        comment = f"Bench marker {run_id} no {n:03d}: patient, clear and kind"
        page.evaluate("w => window.__sbWant.add(w)", comment)
        body = rating(rng.choice(public), f"MARK-{run_id}-{n:03d}", rng, stars=5, comment=comment)
        response = session.post(f"{url}/api/v1/ratings", data=json.dumps(body), timeout=60)
        answered = time.time()
        if response.status_code != 200 or response.json()["results"][0]["status"] != "inserted":
            log(f"  marker {n}: HTTP {response.status_code} {response.text[:200]}")
            continue
        try:
            page.wait_for_function("w => window.__sbSeen[w] !== undefined", arg=comment, timeout=SEEN_TIMEOUT_MS,
                                   polling=100)
        except Exception:  # noqa: BLE001 — a marker the wall never showed counts as the timeout
            log(f"  marker {n}: not on the wall after {SEEN_TIMEOUT_MS / 1000:.0f} s")
            fresh.append(SEEN_TIMEOUT_MS / 1000)
            continue
        seen = page.evaluate("w => window.__sbSeen[w]", comment) / 1000.0
        fresh.append(seen - answered)
        log(f"  marker {n:2d}: on the wall {seen - answered:5.2f} s after its 200")
    session.close()
    return fresh


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="measured load (default 60)")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--warmup", type=float, default=3.0, help="seconds of load before measuring")
    ap.add_argument("--batch", type=int, default=1,
                    help="ratings per request (default 1, the issue's single items; >1 sends a JSON list)")
    ap.add_argument("--refresh", type=int, default=2, help="the wall's refresh=… (seconds)")
    ap.add_argument("--rate-limit", type=int, default=100_000, help="STARBOARD_API_RATE_LIMIT for the server")
    ap.add_argument("--no-wall", action="store_true", help="no browser: throughput and latency only")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder (database and server log)")
    args = ap.parse_args(argv)

    log("ingest bench: POST /api/v1/ratings, single items")
    log(f"  machine: {machine_line()}")
    folder = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    db_url = seed_database(folder / "bench.db")
    engine = make_engine(db_url)
    agents = seed_agents(engine)
    with Session(engine) as session:
        key = apikeys.add_key(session=session, name="bench", actor="bench")
        token = accounts.add_display(session=session, name="bench-tv")
    with engine.connect() as conn:
        seeded = conn.execute(text("SELECT count(*) FROM rating")).scalar()
    log(f"  seeded {folder / 'bench.db'}: {len(agents)} agents, {seeded:,} ratings")
    server = start_server(database_url=db_url, log_path=folder / "streamlit.log",
                          extra_env={"STARBOARD_API_RATE_LIMIT": str(args.rate_limit)})
    proc = ServerProcess(server.process.pid)
    log(f"  server {server.url} (pid {server.process.pid})")
    run_id = uuid.uuid4().hex[:6]
    logs = [ClientLog() for _ in range(args.clients)]
    fresh: list[float] = []
    playwright = browser = wall = None
    try:
        # The first API call makes the server's engine; not measured.
        first = requests.post(f"{server.url}/api/v1/ratings", timeout=120, headers={"Authorization": f"Bearer {key}"},
                              data=json.dumps(rating(agents[0], f"WARM-{run_id}", random.Random(0))))
        assert first.status_code == 200, first.text
        if not args.no_wall:
            from playwright.sync_api import sync_playwright  # only with a wall: the browser is optional

            playwright = sync_playwright().start()
            browser = launch_chromium(playwright)
            warm_up(browser, server)
            wall = open_wall(browser, wall_url(server, refresh=args.refresh, rotate=15, panel="shoutouts", token=token))
            wall.page.evaluate(OBSERVER_JS)
            pump(wall.page, args.refresh)
            log(f"  wall open: /wall?refresh={args.refresh}&panel=shoutouts")
        begin = time.perf_counter()
        start, stop = begin + args.warmup, begin + args.warmup + args.seconds
        threads = [
            threading.Thread(target=client, args=(n,), daemon=True,
                             kwargs=dict(url=server.url, key=key, agents=agents, start=start, stop=stop, out=logs[n],
                                         batch=args.batch))
            for n in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        while time.perf_counter() < start:
            time.sleep(0.05)
        cpu0 = proc.cpu_seconds()
        log(f"\n== load: {args.clients} clients for {args.seconds:.0f} s (after {args.warmup:.0f} s warm-up)")
        if wall is not None:
            fresh = markers(wall.page, url=server.url, key=key, agents=agents, stop=stop, refresh=args.refresh,
                            run_id=run_id)
        for thread in threads:
            thread.join(timeout=args.seconds + 120)
        elapsed = max(1e-9, min(time.perf_counter(), stop) - start)
        cpu = proc.cpu_seconds() - cpu0
        if wall is not None and wall.errors:
            log(f"  wall page errors: {wall.errors[:3]}")
    finally:
        if wall is not None:
            wall.close()
        if browser is not None:
            browser.close()
        if playwright is not None:
            playwright.stop()
        stop_server(server)

    latencies = [ms for c in logs for ms in c.latencies_ms]
    statuses = sum((c.statuses for c in logs), Counter())
    items = sum((c.item_statuses for c in logs), Counter())
    failures = [f for c in logs for f in c.failures]
    ok = statuses.get(200, 0)
    per_s = sum(c.ratings for c in logs) / elapsed
    p50, p95, p99 = (percentile(latencies, q) for q in (50, 95, 99))
    log(f"  answers: {dict(sorted(statuses.items()))}; items: {dict(items)}")
    if failures:
        log(f"  failures (first few): {failures[:5]}")
    log(f"  ratings/s (in 200 answers): {per_s:,.1f}   per client {per_s / args.clients:,.1f}   "
        f"requests/s {ok / elapsed:,.1f} ({args.batch} rating(s) each)")
    log(f"  latency ms: p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f}  max {max(latencies, default=float('nan')):.1f}"
        f"  mean {statistics.fmean(latencies) if latencies else float('nan'):.1f}  (n={len(latencies)})")
    log(f"  server CPU: {cpu:.1f} s in {elapsed:.0f} s ({cpu / elapsed:.2f} cores), "
        f"{cpu / max(1, per_s * elapsed) * 1000:.2f} ms per rating")
    fresh_p95 = percentile(fresh, 95)
    if fresh:
        log(f"  wall freshness s (POST 200 -> on the wall): p50 {percentile(fresh, 50):.2f}  p95 {fresh_p95:.2f}  "
            f"max {max(fresh):.2f}  (n={len(fresh)}, refresh={args.refresh})")

    # Nothing doubled, nothing lost: every "inserted" is one rating, under its own id.
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM rating r JOIN interaction i ON i.id = r.interaction_id "
                                   "WHERE i.interaction_id LIKE 'BENCH-%'")).scalar()
        distinct = conn.execute(text("SELECT count(DISTINCT interaction_id) FROM interaction "
                                     "WHERE interaction_id LIKE 'BENCH-%'")).scalar()
    engine.dispose()
    inserted = sum(c.all_inserted for c in logs)  # the warm-up's and the last requests' too
    check = "ok" if stored == distinct == inserted else "MISMATCH"
    log(f"  database: {stored:,} bench ratings stored, {inserted:,} answered 'inserted', {distinct:,} distinct ids: {check}")
    log(f"  machine after: {machine_line()}")
    if args.keep:
        log(f"  kept {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)
    print_result(ratings_per_s=round(per_s, 1), p95_ms=round(p95, 1),
                 wall_fresh_p95_s=round(fresh_p95, 2) if fresh else "n/a")
    return 0 if check == "ok" else 1


if __name__ == "__main__":
    raise SystemExit(main())
