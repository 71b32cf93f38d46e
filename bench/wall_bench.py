"""How live, how cheap and how steady is the wall display in a real browser?

Seeds a SQLite file in a temp folder with ``db.seed.seed_demo``, creates a
display token (``db.accounts.add_display``, name "bench-tv") and appends
``&display=<token>`` to every wall address, starts ``streamlit run app.py``
against it (STARBOARD_AUTO_SEED=0) and drives Debian's Chromium headless
through Playwright. Three measurements:

freshness  one wall at ``refresh=5`` with the shout-outs panel pinned
           (``&panel=shoutouts``): this process writes a 5★ rating with a
           unique comment for a public agent through ``db.ingest.write_rows``
           (another process from the server) and times insert -> comment in
           the page. The clock starts when ``write_rows`` is called and stops
           at the browser's ``Date.now()`` when a MutationObserver first finds
           the comment in the DOM (same machine, same clock). Before each
           insert the bench waits a random 0..refresh s, so inserts land at
           every phase of the wall's refresh timer.
cost       server CPU seconds per minute (user+system of the server's process
           tree, psutil) over ``--window`` s with no wall (idle), one wall and
           ten walls at ``refresh=5`` (rotating panels), each wall its own
           browser context in one Chromium. Fragment reruns are counted from
           the walls' WebSocket traffic (``script_finished`` messages), so the
           CPU per rerun is printed too.
soak       resident memory (RSS, server process tree) while ``--soak-walls``
           walls run at ``refresh=1``, with a 5★ rating every
           ``--soak-insert-every`` s as on a live floor. Refresh cycles are
           counted as the server sees them, summed over walls: each wall adds
           (seconds since it opened) / refresh, so 5 walls reach 1,000 cycles
           in 200 s. The reruns the server really finished (counted from the
           WebSocket) are printed beside, to show whether it kept up.

    python bench/wall_bench.py                    # full run, about 13 minutes
    python bench/wall_bench.py --quick            # about 4 minutes, smaller counts (labelled)
    python bench/wall_bench.py --server-arg=--runner.postScriptGC=false
    python bench/wall_bench.py --window 30 --inserts 20 --soak-walls 5 --soak-cycles 1000

``--server-arg`` is passed to ``streamlit run`` as is (repeatable; a value
with spaces is split like a shell would). The last line is
``RESULT fresh_p50_s=… fresh_p95_s=… cpu_1=… cpu_10=… rss_100_mb=… rss_1000_mb=…``.
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import psutil
from sqlmodel import Session, select

from bench.common import machine_line, result_line
from db.engine import make_engine
from db.ingest import CanonicalRow, write_rows
from db.models import Agent, Site, Team
from leaderboard.auth import SYSTEM_VIEWER
from tests.browser_util import (
    APP,
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    StreamlitServer,
    free_port,
    launch_chromium,
    seed_database,
    stop_server,
)

WALL_READY = ".sb-wall"
OPEN_TIMEOUT_MS = 120_000  # a saturated server answers slowly; a wall must still open
SEEN_TIMEOUT_MS = 60_000
VIEWPORT = {"width": 1920, "height": 1080}

# Records, in the page, the browser clock at which each wanted text first enters the DOM.
OBSERVER_JS = """
() => {
  if (window.__sbSeen) return;
  window.__sbSeen = {};
  window.__sbWant = new Set();
  const check = () => {
    if (!window.__sbWant.size) return;
    const text = document.body.textContent;
    for (const want of window.__sbWant) {
      if (text.includes(want)) { window.__sbSeen[want] = Date.now(); window.__sbWant.delete(want); }
    }
  };
  new MutationObserver(check).observe(document.body, {childList: true, subtree: true, characterData: true});
}
"""


def log(message: str = "") -> None:
    print(message, flush=True)


# --------------------------------------------------------------------------- the server


def start_server(
    *, database_url: str, log_path: Path, server_args: list[str], timeout: float = 120.0
) -> StreamlitServer:
    """``streamlit run app.py`` as tests.browser_util.start_server runs it, plus ``server_args``."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "STARBOARD_AUTO_SEED": "0", "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--server.headless", "true",
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        *server_args,
    ]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = StreamlitServer(
        url=f"http://127.0.0.1:{port}", port=port, database_url=database_url, process=process, log_path=log_path
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {process.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return server
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    stop_server(server)
    raise RuntimeError(f"streamlit did not answer on {server.url} within {timeout:.0f} s:\n{server.log_tail()}")


def check_server_args(args: list[str]) -> None:
    """Fail early, with the list of runner options, on a --section.option this Streamlit does not know."""
    from streamlit import config

    known = config.get_config_options()
    for arg in args:
        if arg.startswith("--") and "." in arg:
            name = arg[2:].split("=", 1)[0]
            if name not in known:
                runner = ", ".join(k for k in known if k.startswith("runner."))
                raise SystemExit(f"streamlit has no option {name!r} (runner options: {runner})")


class ServerProcess:
    """CPU time and resident memory of the server's process tree."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)

    def _tree(self) -> list[psutil.Process]:
        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def cpu_seconds(self) -> float:
        total = 0.0
        for proc in self._tree():
            try:
                times = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def rss_mb(self) -> float:
        total = 0
        for proc in self._tree():
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total / (1024 * 1024)


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class PublicAgent:
    name: str
    team: str
    site: str


def public_agent(engine) -> PublicAgent:
    """The first active agent shown on public screens (as tests/test_wall_browser.py picks it)."""
    with Session(engine) as session:
        agent, team, site = session.exec(
            select(Agent, Team, Site)
            .join(Team, Team.id == Agent.team_id)
            .join(Site, Site.id == Team.site_id)
            .where(Agent.hide_from_wall.is_(False), Agent.active.is_(True))
            .order_by(Agent.id)
        ).first()
        return PublicAgent(agent.name, team.name, site.name)


def create_display_token(engine) -> str:
    from db.accounts import add_display

    with Session(engine) as session:
        return add_display(session=session, name="bench-tv")


def insert_five_star(engine, agent: PublicAgent, comment: str) -> tuple[float, float]:
    """One 5★ rating rated now, through the one write path; returns (started, finished) as time.time()."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    row = CanonicalRow(
        interaction_id=f"BENCH-{uuid.uuid4().hex}",
        agent=agent.name,
        team=agent.team,
        site=agent.site,
        channel="chat",
        contact_reason="order status",
        closed_at=now,
        rated_at=now,
        stars=5,
        comment=comment,
        resolved=True,
        nps=10,
        went_well=("friendly",),
    )
    started = time.time()
    report = write_rows(engine=engine, viewer=SYSTEM_VIEWER, rows=[row])
    finished = time.time()
    if report.inserted != 1:
        raise RuntimeError(f"write_rows did not insert the rating: {report.summary()}")
    return started, finished


# --------------------------------------------------------------------------- walls in the browser


@dataclass
class Wall:
    """One wall in its own browser context, counting the reruns the server finished for it."""

    context: object
    page: object
    opened_at: float = 0.0  # time.monotonic() when it first rendered
    runs_at_open: int = 0  # finished_runs then (the first full run and its fragment run)
    finished_runs: int = 0  # script_finished messages received (full runs and fragment reruns)
    rerun_requests: int = 0  # fragment rerun requests the browser sent (the run_every timer)
    errors: list[str] = field(default_factory=list)

    def close(self) -> None:
        try:
            self.context.close()
        except Exception:  # noqa: BLE001 — closing a dead context is not a bench failure
            pass


def _watch_socket(wall: Wall):
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    def received(payload) -> None:
        if isinstance(payload, (bytes, bytearray)):
            try:
                if ForwardMsg.FromString(bytes(payload)).WhichOneof("type") == "script_finished":
                    wall.finished_runs += 1
            except Exception:  # noqa: BLE001 — a frame we cannot parse is not counted
                pass

    def sent(payload) -> None:
        if isinstance(payload, (bytes, bytearray)):
            try:
                msg = BackMsg.FromString(bytes(payload))
                if msg.WhichOneof("type") == "rerun_script" and msg.rerun_script.fragment_id:
                    wall.rerun_requests += 1
            except Exception:  # noqa: BLE001
                pass

    def on_socket(ws) -> None:
        ws.on("framereceived", received)
        ws.on("framesent", sent)

    return on_socket


def wall_url(server: StreamlitServer, *, refresh: int, rotate: int, token: str, panel: str | None = None) -> str:
    query = {"refresh": refresh, "rotate": rotate}
    if panel:
        query["panel"] = panel
    query["display"] = token
    return f"{server.url}/wall?{urllib.parse.urlencode(query)}"


def open_wall(browser, url: str) -> Wall:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    wall = Wall(context=context, page=page)
    page.on("websocket", _watch_socket(wall))
    page.on("pageerror", lambda exc: wall.errors.append(str(exc)))
    page.goto(url, wait_until="domcontentloaded", timeout=OPEN_TIMEOUT_MS)
    page.wait_for_selector(WALL_READY, state="visible", timeout=OPEN_TIMEOUT_MS)
    wall.opened_at = time.monotonic()
    wall.runs_at_open = wall.finished_runs
    if page.locator('[data-testid="stException"]').count():
        raise RuntimeError("the wall shows an exception:\n" + page.locator('[data-testid="stException"]').first.inner_text())
    return wall


def pump(page, seconds: float) -> None:
    """Wait while Playwright delivers the walls' events (sync API events arrive only inside its calls)."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        page.wait_for_timeout(min(left, 1.0) * 1000)


def warm_up(browser, server: StreamlitServer) -> None:
    """Open "/" once, as someone setting up the TV would: app.py runs and st.navigation is in place."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(server.url + "/", wait_until="domcontentloaded", timeout=OPEN_TIMEOUT_MS)
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=OPEN_TIMEOUT_MS)
        page.wait_for_selector('[data-testid="stSkeleton"]', state="detached", timeout=OPEN_TIMEOUT_MS)
    finally:
        context.close()


# --------------------------------------------------------------------------- the three measurements


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def measure_freshness(browser, server, *, engine, agent, token, inserts: int, refresh: int, run_id: str) -> dict:
    log(f"\n== freshness: {inserts} inserts, 1 wall at refresh={refresh}, shout-outs panel pinned (&panel=shoutouts)")
    wall = open_wall(browser, wall_url(server, refresh=refresh, rotate=15, panel="shoutouts", token=token))
    page = wall.page
    page.evaluate(OBSERVER_JS)
    pump(page, refresh)  # past the first timer tick
    rng = random.Random(run_id)
    latencies, write_ms, invisible = [], [], 0
    try:
        for i in range(inserts):
            pump(page, rng.uniform(0, refresh))
            comment = f"Bench {run_id} no {i:02d}: brilliant, patient help"
            page.evaluate("w => window.__sbWant.add(w)", comment)
            started, finished = insert_five_star(engine, agent, comment)
            write_ms.append((finished - started) * 1000)
            page.wait_for_function("w => window.__sbSeen[w] !== undefined", arg=comment, timeout=SEEN_TIMEOUT_MS, polling=100)
            seen = page.evaluate("w => window.__sbSeen[w]", comment) / 1000.0
            if not page.get_by_text(comment).first.is_visible():
                invisible += 1
            latencies.append(seen - started)
            log(f"  insert {i + 1:2d}: visible after {seen - started:5.2f} s (write_rows {write_ms[-1]:.0f} ms)")
    finally:
        wall.close()
    result = {
        "n": len(latencies),
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "min": min(latencies),
        "max": max(latencies),
        "mean": statistics.fmean(latencies),
        "write_ms": statistics.median(write_ms),
    }
    log(
        f"  insert -> visible (s): p50 {result['p50']:.2f}  p95 {result['p95']:.2f}  min {result['min']:.2f}  "
        f"max {result['max']:.2f}  mean {result['mean']:.2f}  (n={result['n']}; write_rows median {result['write_ms']:.0f} ms)"
    )
    if invisible:
        log(f"  WARNING: {invisible} comment(s) were in the DOM but not visible when checked")
    return result


def cpu_window(server_proc: ServerProcess, walls: list[Wall], page, seconds: float) -> dict:
    runs0 = sum(w.finished_runs for w in walls)
    cpu0, t0 = server_proc.cpu_seconds(), time.monotonic()
    pump(page, seconds)
    cpu1, t1 = server_proc.cpu_seconds(), time.monotonic()
    runs = sum(w.finished_runs for w in walls) - runs0
    elapsed = t1 - t0
    return {"cpu_per_min": (cpu1 - cpu0) * 60.0 / elapsed, "runs_per_min": runs * 60.0 / elapsed, "runs": runs,
            "cpu_s": cpu1 - cpu0, "elapsed": elapsed}


def measure_cost(browser, server, server_proc, *, token, window: float, refresh: int, many: int, settle: float) -> dict:
    log(f"\n== cost: server CPU over {window:.0f} s windows, walls at refresh={refresh}&rotate=15 (one context each)")
    results: dict[str, dict] = {}
    idle_page_ctx = browser.new_context()
    idle_page = idle_page_ctx.new_page()
    try:
        idle = cpu_window(server_proc, [], idle_page, min(window, 30.0))
    finally:
        idle_page_ctx.close()
    results["idle"] = idle
    log(f"  no wall    : {idle['cpu_per_min']:6.2f} CPU s/min")
    walls: list[Wall] = []
    url = wall_url(server, refresh=refresh, rotate=15, token=token)
    try:
        for count in (1, many):
            while len(walls) < count:
                walls.append(open_wall(browser, url))
            pump(walls[0].page, settle)
            r = cpu_window(server_proc, walls, walls[0].page, window)
            extra = r["cpu_per_min"] - idle["cpu_per_min"]
            r["ms_per_run"] = extra * 1000.0 / r["runs_per_min"] if r["runs_per_min"] else float("nan")
            results[count] = r
            expected = count * 60.0 / refresh
            log(
                f"  {count:2d} wall{'s' if count > 1 else ' '}   : {r['cpu_per_min']:6.2f} CPU s/min   "
                f"{r['runs_per_min']:6.1f} reruns/min (expected {expected:.0f})   "
                f"{r['ms_per_run']:5.1f} ms CPU per rerun above idle"
            )
    finally:
        for wall in walls:
            wall.close()
    one, ten = results[1]["cpu_per_min"], results[many]["cpu_per_min"]
    log(f"  cpu_{many}/cpu_1 = {ten / one:.2f} (target well under {many})")
    return results


def measure_soak(
    browser, server, server_proc, *, engine, agent, token, walls_n: int, refresh: int, cycles: int,
    milestones: list[int], insert_every: float, run_id: str, sample_every: float = 2.0,
) -> dict:
    log(
        f"\n== soak: {walls_n} walls at refresh={refresh}, until {cycles:,} refresh cycles "
        f"(cycles = sum over walls of seconds open / refresh); a 5★ rating every {insert_every:g} s"
        if insert_every > 0 else
        f"\n== soak: {walls_n} walls at refresh={refresh}, until {cycles:,} refresh cycles (no inserts)"
    )
    url = wall_url(server, refresh=refresh, rotate=15, token=token)
    walls: list[Wall] = []
    log(f"  RSS before the walls open: {server_proc.rss_mb():.1f} MB")
    reached: dict[int, dict] = {}
    samples: list[dict] = []
    try:
        walls.append(open_wall(browser, url))
        page = walls[0].page
        start = walls[0].opened_at  # elapsed times below count from the first wall
        next_insert = time.monotonic() + insert_every if insert_every > 0 else float("inf")
        inserted = 0
        pending = sorted(milestones)
        while True:
            # The other walls open one per sample, so the cycle count is followed from the first one on.
            if len(walls) < walls_n:
                walls.append(open_wall(browser, url))
            else:
                pump(page, sample_every)
            now = time.monotonic()
            if now >= next_insert:
                insert_five_star(engine, agent, f"Soak {run_id} no {inserted}: lovely help")
                inserted += 1
                next_insert += insert_every
            nominal = sum((now - w.opened_at) / refresh for w in walls)
            sample = {
                "elapsed": now - start,
                "nominal": nominal,
                "finished": sum(w.finished_runs - w.runs_at_open for w in walls),
                "rss": server_proc.rss_mb(),
            }
            samples.append(sample)
            while pending and nominal >= pending[0]:
                reached[pending.pop(0)] = sample
                log(
                    f"  {sample['nominal']:6.0f} cycles ({sample['elapsed']:5.0f} s): RSS {sample['rss']:7.1f} MB   "
                    f"reruns finished {sample['finished']:6,} ({sample['finished'] / max(sample['nominal'], 1):.0%} of cycles)"
                )
            if not pending and nominal >= cycles:
                break
        errors = [e for w in walls for e in w.errors]
        if errors:
            log(f"  page errors: {len(errors)} (first: {errors[0][:200]})")
    finally:
        for wall in walls:
            wall.close()
    peak = max(s["rss"] for s in samples)
    # Growth rate after the first 100 cycles (least squares): a leak shows as a steady slope.
    later = [s for s in samples if s["nominal"] >= 100]
    slope = float("nan")
    if len(later) >= 3:
        slope = float(np.polyfit([s["nominal"] for s in later], [s["rss"] for s in later], 1)[0]) * 1000
    last = samples[-1]
    log(
        f"  peak RSS {peak:.1f} MB; trend after 100 cycles {slope:+.2f} MB per 1,000 cycles; "
        f"{inserted} ratings inserted; reruns finished {last['finished']:,} for {last['nominal']:,.0f} cycles "
        f"({last['finished'] / max(last['nominal'], 1):.0%})"
    )
    return {"reached": reached, "samples": samples, "peak": peak, "slope": slope}


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few minutes with smaller counts (labelled QUICK)")
    parser.add_argument("--inserts", type=int, help="freshness inserts (full 24, quick 8)")
    parser.add_argument("--refresh", type=int, default=5, help="refresh of the freshness and cost walls (default 5)")
    parser.add_argument("--window", type=float, help="CPU measuring window in seconds (full 60, quick 20)")
    parser.add_argument("--walls", type=int, default=10, help="walls for the 'many walls' CPU figure (default 10)")
    parser.add_argument("--soak-walls", type=int, default=5, help="walls during the soak (default 5)")
    parser.add_argument("--soak-refresh", type=int, default=1, help="refresh during the soak (default 1)")
    parser.add_argument("--soak-cycles", type=int, help="refresh cycles to soak for (full 2000, quick 300)")
    parser.add_argument("--soak-insert-every", type=float, default=15.0, help="seconds between ratings in the soak (0: none)")
    parser.add_argument(
        "--server-arg", action="append", default=[], metavar="ARG",
        help="passed to `streamlit run` (repeatable), e.g. --server-arg=--runner.postScriptGC=false",
    )
    parser.add_argument("--seed", type=int, default=7, help="demo seed (default 7)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (database and server log)")
    args = parser.parse_args(argv)

    quick = args.quick
    inserts = args.inserts or (8 if quick else 24)
    window = args.window or (20.0 if quick else 60.0)
    soak_cycles = args.soak_cycles or (300 if quick else 2000)
    low_mark, high_mark = (100, 1000) if soak_cycles >= 1000 else (100, soak_cycles)
    milestones = sorted({100, 300, 1000, 2000, 5000, soak_cycles} & set(range(1, soak_cycles + 1)) | {low_mark, high_mark})
    server_args = [part for arg in args.server_arg for part in shlex.split(arg)]
    check_server_args(server_args)
    settle = 5.0 if quick else 10.0
    run_id = uuid.uuid4().hex[:6]

    if not Path(CHROMIUM).exists():
        raise SystemExit(f"Chromium not found at {CHROMIUM}")
    log(f"wall bench{' (QUICK: smaller counts, not comparable with a full run)' if quick else ''}")
    log(f"  {machine_line()}")
    import streamlit

    log(f"  Streamlit {streamlit.__version__}; Chromium {CHROMIUM} {' '.join(CHROMIUM_ARGS)}")
    log(f"  server options added: {' '.join(server_args) if server_args else '(none: Streamlit defaults)'}")

    folder = Path(tempfile.mkdtemp(prefix="starboard-wall-bench-"))
    db_path = folder / "starboard.db"
    t = time.monotonic()
    url = seed_database(db_path, seed=args.seed)
    engine = make_engine(url)
    token = create_display_token(engine)
    agent = public_agent(engine)
    log(f"  seeded {db_path} in {time.monotonic() - t:.1f} s; display token for 'bench-tv' created; "
        f"ratings go to {agent.name} ({agent.team}, {agent.site})")

    server = start_server(database_url=url, log_path=folder / "streamlit.log", server_args=server_args)
    server_proc = ServerProcess(server.process.pid)
    log(f"  server pid {server.process.pid}: {' '.join(server.process.args[2:])}")
    began = time.monotonic()
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                warm_up(browser, server)
                log(f"  RSS after start and one visit to /: {server_proc.rss_mb():.1f} MB")
                fresh = measure_freshness(
                    browser, server, engine=engine, agent=agent, token=token, inserts=inserts,
                    refresh=args.refresh, run_id=run_id,
                )
                cost = measure_cost(
                    browser, server, server_proc, token=token, window=window, refresh=args.refresh,
                    many=args.walls, settle=settle,
                )
                soak = measure_soak(
                    browser, server, server_proc, engine=engine, agent=agent, token=token,
                    walls_n=args.soak_walls, refresh=args.soak_refresh, cycles=soak_cycles,
                    milestones=milestones, insert_every=args.soak_insert_every, run_id=run_id,
                )
            finally:
                browser.close()
    finally:
        stop_server(server)
        engine.dispose()
        if args.keep:
            log(f"  kept {folder}")
        else:
            for name in ("starboard.db", "starboard.db-wal", "starboard.db-shm", "streamlit.log"):
                (folder / name).unlink(missing_ok=True)
            try:
                folder.rmdir()
            except OSError:
                pass

    rss_low = soak["reached"][low_mark]["rss"]
    rss_high = soak["reached"][high_mark]["rss"]
    log("\n== summary")
    log(f"  freshness p50 {fresh['p50']:.2f} s, p95 {fresh['p95']:.2f} s (target p95 <= 10 s): "
        f"{'ok' if fresh['p95'] <= 10 else 'MISSED'}")
    ratio = cost[args.walls]["cpu_per_min"] / cost[1]["cpu_per_min"]
    log(f"  CPU {cost[1]['cpu_per_min']:.2f} s/min with 1 wall, {cost[args.walls]['cpu_per_min']:.2f} s/min with "
        f"{args.walls} ({ratio:.1f}x; idle {cost['idle']['cpu_per_min']:.2f})")
    growth = (rss_high - rss_low) / rss_low
    log(f"  RSS {rss_low:.1f} MB after {low_mark} cycles, {rss_high:.1f} MB after {high_mark} "
        f"({growth:+.1%}; target within 20%): {'ok' if abs(growth) <= 0.20 else 'MISSED'}")
    log(f"  server options: {' '.join(server_args) if server_args else '(Streamlit defaults)'}; "
        f"measured part took {(time.monotonic() - began) / 60:.1f} min")
    if quick:
        log(f"  QUICK MODE: {inserts} inserts, {window:.0f} s CPU windows, rss_1000_mb is the RSS after "
            f"{high_mark} cycles: use a full run for the real figures")
    log(result_line(
        fresh_p50_s=round(fresh["p50"], 2),
        fresh_p95_s=round(fresh["p95"], 2),
        cpu_1=round(cost[1]["cpu_per_min"], 2),
        cpu_10=round(cost[args.walls]["cpu_per_min"], 2),
        rss_100_mb=round(rss_low, 1),
        rss_1000_mb=round(rss_high, 1),
    ))
    return 0


if __name__ == "__main__":
    sys.exit(main())
