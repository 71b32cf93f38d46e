"""How soon after a low rating does the team leader's channel get the recovery alert, and is every
alert delivered exactly once?

Seeds the demo data (``tests.browser_util.seed_database``: a SQLite file in a temp folder, or
with ``--db postgresql+psycopg://…`` a schema of its own in that PostgreSQL database, dropped after), makes an API key, starts a local
HTTP receiver (a ThreadingHTTPServer in this process, answering 200 and recording the arrival
time and body of every POST) and gives every team a generic webhook destination on it
(``leaderboard.notify.add``: scope ``team:Site/Team``, kind ``recovery``, ``--per-minute`` at
its maximum so that no alert is collapsed into an "and N more" message). Then it starts
``--servers`` ``streamlit run app.py`` processes on the same database (default 1; each runs
its own sender thread, so 2 shows exactly-once delivery between processes) and POSTs
``--ratings`` (default 1,000) qualifying ratings, 1★ each (at or below the recovery
threshold: each opens a case, whose alert is queued in the same transaction), as single JSON
objects to ``POST /api/v1/ratings``, spread round-robin over the servers and the seed's
agents, at ``--rate`` ratings per second (default 20; 0: as fast as ``--clients`` threads go).

An alert's latency is from the moment its rating's POST was sent (``time.time()`` in this
process) to the receiver getting the alert that names the rating's interaction
(``case <interaction id>`` in the payload's text; same machine, same clock). Delivered counts
the distinct interactions alerted; duplicates the alerts received more than once.

    python bench/notify_bench.py                    # 1,000 ratings at 20/s, one server
    python bench/notify_bench.py --servers 2        # two server processes on one database
    python bench/notify_bench.py --rate 0           # a burst: as fast as the API answers
    python bench/notify_bench.py --quick            # 100 ratings, a smoke run

The last line is ``RESULT alert_p95_s=… delivered=… duplicates=…``. Targets (issue 15):
p95 under 5 s, delivered = expected, duplicates = 0.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from sqlalchemy import text
from sqlmodel import Session, select

from bench.common import machine_line, print_result
from bench.ingest_bench import Where, seed_agents
from bench.wall_bench import ServerProcess
from db import apikeys
from db.engine import make_engine
from db.models import Site, Team
from leaderboard import notify
from leaderboard.auth import SYSTEM_VIEWER
from leaderboard.demo import seed_demo
from leaderboard.notify_rules import MAX_PER_MINUTE
from tests.browser_util import free_port, seed_database, start_server, stop_server
from tests.conftest import pg_schema_url

CASE_ID = re.compile(r"case (NB-[0-9a-f]+-\d+)")
QUIET_DEADLINE_S = 60.0  # stop waiting when nothing new arrived for this long after the last rating


def log(message: str = "") -> None:
    print(message, flush=True)


# --------------------------------------------------------------------------- the receiver


@dataclass
class Received:
    arrivals: dict[str, list[float]] = field(default_factory=dict)  # interaction id -> arrival times
    other: int = 0  # posts naming no bench interaction (there should be none)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)

    def posts(self) -> int:
        with self.lock:
            return sum(len(v) for v in self.arrivals.values()) + self.other


def receiver(received: Received) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - the http.server hook's name
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            arrived = time.time()
            try:
                payload = json.loads(body)
                words = json.dumps(payload, ensure_ascii=False)
            except ValueError:
                words = body.decode("utf-8", "replace")
            found = CASE_ID.search(words)
            with received.lock:
                if found:
                    received.arrivals.setdefault(found.group(1), []).append(arrived)
                else:
                    received.other += 1
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args) -> None:  # quiet: one line per alert would drown the figures
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# --------------------------------------------------------------------------- the load


def low_rating(where: Where, interaction_id: str) -> dict:
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    return {
        "interaction_id": interaction_id, "agent": where.agent, "team": where.team, "site": where.site,
        "channel": "phone", "contact_reason": "billing",
        "closed_at": (now - timedelta(minutes=10)).isoformat(sep=" ", timespec="seconds"),
        "rated_at": now.isoformat(sep=" ", timespec="seconds"),
        "stars": 1, "comment": "Nobody called me back <@channel>", "resolved": False,
    }


@dataclass
class Sent:
    at: dict[str, float] = field(default_factory=dict)  # interaction id -> time.time() the POST was sent
    inserted: int = 0  # stored (answered "inserted", or "unchanged" on a retry after a lost connection)
    reconnects: int = 0
    failures: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def post_all(*, urls: list[str], key: str, agents: list[Where], ids: list[str], rate: float, clients: int,
             sent: Sent) -> None:
    """POST one rating per id: ``rate`` per second in total (0: as fast as ``clients`` threads go)."""
    start = time.perf_counter()
    interval = 1.0 / rate if rate > 0 else 0.0
    queue = list(enumerate(ids))
    take = threading.Lock()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def client(n: int) -> None:
        conns: dict[str, http.client.HTTPConnection] = {}
        while True:
            with take:
                if not queue:
                    break
                i, interaction_id = queue.pop(0)
            if interval:
                delay = start + i * interval - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            url = urls[i % len(urls)]
            parts = urllib.parse.urlsplit(url)
            body = json.dumps(low_rating(agents[i % len(agents)], interaction_id)).encode()
            began = time.perf_counter()
            at = time.time()  # the first try's moment: a retried request's alert is measured from it
            response = payload = None
            for _attempt in range(3):
                conn = conns.get(url) or http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
                conns[url] = conn
                try:
                    conn.request("POST", "/api/v1/ratings", body=body, headers=headers)
                    response = conn.getresponse()
                    payload = response.read()
                    break
                except (OSError, http.client.HTTPException) as exc:
                    # A keep-alive connection the server closed meanwhile: a new one, the same rating again
                    # (idempotent: a rating that did land answers "unchanged").
                    conn.close()
                    conns.pop(url, None)
                    with sent.lock:
                        sent.reconnects += 1
                        if len(sent.failures) < 20:
                            sent.failures.append(type(exc).__name__)
            if response is None:
                continue
            took = (time.perf_counter() - began) * 1000
            ok = response.status == 200 and json.loads(payload)["results"][0]["status"] in ("inserted", "unchanged")
            with sent.lock:
                sent.latencies_ms.append(took)
                if ok:
                    sent.at[interaction_id] = at
                    sent.inserted += 1
                elif len(sent.failures) < 20:
                    sent.failures.append(f"{response.status}: {payload[:200]!r}")
        for conn in conns.values():
            conn.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


# --------------------------------------------------------------------------- the run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ratings", type=int, default=1000, help="qualifying (1★) ratings to post (default 1,000)")
    ap.add_argument("--rate", type=float, default=20.0, help="ratings per second in total (default 20; 0: a burst)")
    ap.add_argument("--clients", type=int, default=4, help="posting threads (default 4)")
    ap.add_argument("--servers", type=int, default=1, help="server processes on the one database (default 1)")
    ap.add_argument("--db", default="", help="a PostgreSQL URL (the bench seeds a schema of its own there and drops it "
                    "after); default a temp SQLite file")
    ap.add_argument("--quick", action="store_true", help="100 ratings: a smoke run")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder (database and server logs)")
    args = ap.parse_args(argv)
    count = 100 if args.quick else args.ratings

    log(f"notify bench: {count} qualifying ratings -> recovery alerts on a local receiver")
    log(f"  machine: {machine_line()}")
    folder = Path(tempfile.mkdtemp(prefix="notify-bench-"))
    schema = None
    if args.db:
        db_url = args.db
        if db_url.startswith("postgresql"):  # a schema of the bench's own, dropped at the end
            schema = pg_schema_url(db_url, f"notify_bench_{os.getpid()}")
            db_url = schema.__enter__()
        seed_engine = make_engine(db_url)
        seed_demo(engine=seed_engine, seed=7)
        seed_engine.dispose()
    else:
        db_url = seed_database(folder / "bench.db")
    engine = make_engine(db_url)
    agents = seed_agents(engine)
    received = Received()
    hook = receiver(received)
    hook_url = f"http://127.0.0.1:{hook.server_address[1]}"
    with Session(engine) as session:
        key = apikeys.add_key(session=session, name="notify-bench", actor="bench")
        teams = session.exec(select(Site.name, Team.name, Team.id).join(Site, Site.id == Team.site_id)).all()
    for site, team, team_id in teams:
        notify.add(engine=engine, viewer=SYSTEM_VIEWER, name=f"bench-{team_id}", url=f"{hook_url}/team/{team_id}",
                   scope=f"team:{site}/{team}", kinds="recovery", type_="webhook", per_minute=MAX_PER_MINUTE)
    log(f"  database {db_url.split('@')[-1]}: {len(agents)} agents, {len(teams)} teams, one webhook destination each "
        f"(kind recovery, {MAX_PER_MINUTE}/min)")

    servers = []
    try:
        for n in range(args.servers):
            servers.append(start_server(database_url=db_url, log_path=folder / f"streamlit-{n}.log",
                                        extra_env={"STARBOARD_API_RATE_LIMIT": "100000"}))
        procs = [ServerProcess(s.process.pid) for s in servers]
        urls = [s.url for s in servers]
        log(f"  servers: {', '.join(urls)}")
        # The first call makes each server's engine; not measured (its interaction is not a bench one).
        for url in urls:
            warm = http.client.HTTPConnection(urllib.parse.urlsplit(url).hostname, urllib.parse.urlsplit(url).port,
                                              timeout=120)
            warm.request("GET", "/api/v1/health")
            warm.getresponse().read()
            warm.close()
        run_id = uuid.uuid4().hex[:6]
        ids = [f"NB-{run_id}-{i:05d}" for i in range(count)]
        sent = Sent()
        cpu0 = sum(p.cpu_seconds() for p in procs)
        began = time.perf_counter()
        log(f"\n== posting {count} ratings at {'full speed' if not args.rate else f'{args.rate:g}/s'} "
            f"({args.clients} clients, {args.servers} server(s))")
        post_all(urls=urls, key=key, agents=agents, ids=ids, rate=args.rate, clients=args.clients, sent=sent)
        posted_s = time.perf_counter() - began
        log(f"  posted in {posted_s:.1f} s: {sent.inserted} inserted; request p50 {pct(sent.latencies_ms, 50):.0f} ms "
            f"p95 {pct(sent.latencies_ms, 95):.0f} ms")
        if sent.failures:
            log(f"  connection errors or refusals (first few): {sent.failures[:5]}; reconnects {sent.reconnects}")
        # Wait for the alerts: until every inserted rating's alert arrived, or nothing new for a while.
        last, seen = time.monotonic(), -1
        while received.count() < sent.inserted and time.monotonic() - last < QUIET_DEADLINE_S:
            now_seen = received.posts()
            if now_seen != seen:
                seen, last = now_seen, time.monotonic()
            time.sleep(0.2)
        time.sleep(3.0)  # a late duplicate would arrive now
        drained_s = time.perf_counter() - began
        cpu = sum(p.cpu_seconds() for p in procs) - cpu0
    finally:
        for server in servers:
            stop_server(server)
        hook.shutdown()

    with received.lock:
        arrivals = {k: sorted(v) for k, v in received.arrivals.items()}
        other = received.other
    delays = [arrivals[i][0] - sent.at[i] for i in sent.at if i in arrivals]
    delivered = sum(1 for i in sent.at if i in arrivals)
    duplicates = sum(len(v) - 1 for v in arrivals.values())
    missing = [i for i in sent.at if i not in arrivals]
    with engine.connect() as conn:
        cases = conn.execute(text(
            "SELECT count(*) FROM recovery_case c JOIN rating r ON r.id = c.rating_id "
            "JOIN interaction i ON i.id = r.interaction_id WHERE i.interaction_id LIKE :p"), {"p": f"NB-{run_id}-%"}
        ).scalar()
        statuses = dict(conn.execute(text(
            "SELECT status, count(*) FROM outbox WHERE kind LIKE 'notify:%' GROUP BY status"
        )).all())
    engine.dispose()
    if schema is not None:
        schema.__exit__(None, None, None)
    p50, p95, worst = pct(delays, 50), pct(delays, 95), max(delays, default=float("nan"))
    log(f"  alerts: {delivered} of {sent.inserted} delivered, {duplicates} duplicates, {other} other posts; "
        f"{cases} cases opened; outbox notification rows by status: {statuses}")
    log(f"  rating -> alert delivered, s: p50 {p50:.2f}  p95 {p95:.2f}  max {worst:.2f}  "
        f"mean {statistics.fmean(delays) if delays else float('nan'):.2f}  (n={len(delays)})")
    if missing:
        log(f"  missing (first few): {missing[:5]}")
    log(f"  servers' CPU: {cpu:.1f} s over {drained_s:.0f} s ({cpu / max(drained_s, 1e-9):.2f} cores), "
        f"{cpu / max(1, sent.inserted) * 1000:.1f} ms per rating and its alert")
    log(f"  machine after: {machine_line()}")
    if args.keep:
        log(f"  kept {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)
    print_result(alert_p95_s=round(p95, 2), delivered=delivered, duplicates=duplicates)
    ok = delivered == count and duplicates == 0 and p95 < 5.0
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
