"""How fast does a million-row export import, and in how much memory?

Writes a canonical CSV of 1,000,000 closed interactions (35% rated, tags, comments,
a leader column; 2,000 agents in 40 teams at 3 sites) to a temporary file, streaming
it row by row, then runs ``python -m leaderboard import`` on it into an empty SQLite
database in a child process: the same command a user runs, measured from outside.
The child's CPU seconds and peak resident memory come from ``getrusage(RUSAGE_CHILDREN)``
(exact, measured by the kernel); psutil samples its memory while it runs, as a cross-check.

    python bench/import_bench.py                  # 1M rows
    python bench/import_bench.py --quick          # 100k rows
    python bench/import_bench.py --rows 300000 --reimport   # then import the same file again
    python bench/import_bench.py --db postgresql+psycopg://postgres@127.0.0.1:5432/bench   # an empty database

Wall-clock rows per second depend on what else the machine is doing; CPU seconds do
not (much), so both are printed: rows per second and rows per CPU-second. The last
line is ``RESULT rows_per_s=... peak_rss_mb=... cpu_s=... rows_per_cpu_s=... wall_s=...``.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, file_size_mb, machine_line, print_result, table_counts  # noqa: E402
from db.engine import make_engine  # noqa: E402
from db.ingest import COLUMNS, DEFAULT_BATCH_SIZE  # noqa: E402
from leaderboard.settings import sqlite_url  # noqa: E402

SITES = ("Belgrade", "Austin", "Manila")
FIRST = "Ana Marko Jelena Nikola Milica Stefan Olivia Liam Emma Noah Ava Maria Jose Andrea Paolo Camille".split()
LAST = "Petrovic Jovanovic Ilic Smith Johnson Brown Garcia Santos Reyes Cruz Bautista Ocampo Mendoza".split()
REASONS = ("billing", "delivery", "returns", "account access", "product question", "refund", "other")
COMMENTS = (
    "Very helpful, thank you!", "Solved it in minutes.", "Friendly and patient.", "It was ok.",
    "Took a while but fine.", "Nobody called me back.", "Still not fixed, \"soon\" they said", "",
)
PRAISE = ("friendly", "quick", "knowledgeable", "clear explanation", "patient")
IMPROVE = ("wait time", "follow-up", "policy explanation", "transfer")
STARS = (1, 2, 3, 4, 4, 5, 5, 5, 5, 5, 5, 5)  # about 4.4 on average


def write_export(path: Path, rows: int, *, seed: int = 20261123, agents: int = 2000, teams: int = 40) -> float:
    """Stream ``rows`` canonical rows to ``path``; returns its size in MB. Deterministic for a seed."""
    rng = random.Random(seed)
    team_names = [f"Team {i:02d}" for i in range(teams)]
    people = [f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]} {i:04d}" for i in range(agents)]
    leaders = [f"{FIRST[(i * 7) % len(FIRST)]} {LAST[(i * 5) % len(LAST)]} Lead{i:02d}" for i in range(teams)]
    start = datetime(2025, 11, 23)
    step = timedelta(days=365) / max(rows, 1)
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow((*COLUMNS, "leader"))
        for i in range(rows):
            agent = rng.randrange(agents)
            team = agent % teams
            closed = start + step * i
            common = (
                f"EX-{i:08d}", people[agent], team_names[team], SITES[team % len(SITES)],
                ("phone", "chat", "email", "social")[i % 4], REASONS[i % len(REASONS)],
                closed.isoformat(timespec="seconds") + "Z",
            )
            if rng.random() < 0.35:
                stars = rng.choice(STARS)
                rated = closed + timedelta(minutes=rng.randrange(1, 240))
                went_well = ";".join(rng.sample(PRAISE, 2)) if stars >= 4 and rng.random() < 0.4 else ""
                to_improve = rng.choice(IMPROVE) if stars <= 3 and rng.random() < 0.6 else ""
                out.writerow((
                    *common, rated.isoformat(timespec="seconds") + "Z", stars, rng.choice(COMMENTS),
                    ("yes", "no", "")[rng.randrange(3)], rng.randrange(11), went_well, to_improve, leaders[team],
                ))
            else:
                out.writerow((*common, "", "", "", "", "", "", "", leaders[team]))
    return path.stat().st_size / (1024 * 1024)


class RssSampler:
    """Samples a process's resident memory every 50 ms (psutil), keeping the peak."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:
                return
            self._stop.wait(0.05)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak / (1024 * 1024)


def _children_usage() -> tuple[float, float]:
    """CPU seconds and peak RSS (MiB) of the waited-for children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = usage.ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else usage.ru_maxrss / 1024
    return usage.ru_utime + usage.ru_stime, peak


def run_import(csv_path: Path, url: str, batch_size: int) -> dict:
    """One ``python -m leaderboard import`` in a child process: wall, CPU, memory and its output."""
    command = [sys.executable, "-m", "leaderboard", "import", str(csv_path), "--db", url, "--batch-size", str(batch_size)]
    env = {**os.environ, "STARBOARD_AUTO_SEED": "0"}
    cpu_before, _ = _children_usage()
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = RssSampler(child.pid)
    stdout, stderr = child.communicate()
    wall = time.perf_counter() - started
    sampled = sampler.stop()
    cpu_after, peak = _children_usage()
    if child.returncode != 0:
        raise SystemExit(f"import failed ({child.returncode}): {stderr.strip() or stdout.strip()}")
    return {
        "wall": wall,
        "cpu": cpu_after - cpu_before,
        "peak_mb": peak,
        "sampled_mb": sampled,
        "summary": stdout.strip().splitlines()[-1],
        "load": (load_before + os.getloadavg()[0]) / 2,
    }


def _report(label: str, rows: int, figures: dict) -> None:
    print(
        f"  {label:<10} {figures['wall']:8.1f} s wall  {figures['cpu']:8.1f} s CPU   "
        f"{rows / figures['wall']:>9,.0f} rows/s  {rows / figures['cpu']:>9,.0f} rows/CPU-s   "
        f"peak RSS {figures['peak_mb']:,.0f} MB (sampled {figures['sampled_mb']:,.0f})   load ~{figures['load']:.1f}"
    )
    print(f"  {'':<10} {figures['summary']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the generated export (default 1,000,000)")
    parser.add_argument("--quick", action="store_true", help="100,000 rows")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="rows per transaction")
    parser.add_argument("--db", help="an empty database URL (default: a SQLite file in a temporary folder)")
    parser.add_argument("--reimport", action="store_true", help="import the same file a second time (nothing changes)")
    parser.add_argument("--keep", metavar="FOLDER", help="write the export (and the SQLite file) here and keep them")
    args = parser.parse_args(argv)
    rows = 100_000 if args.quick else args.rows

    print(machine_line())
    folder_ctx = tempfile.TemporaryDirectory(prefix="starboard-import-bench-") if not args.keep else None
    folder = Path(args.keep or folder_ctx.name)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        export = folder / "export.csv"
        started = time.perf_counter()
        size = write_export(export, rows)
        print(f"export: {rows:,} rows, {size:,.0f} MB, written in {time.perf_counter() - started:.1f} s ({export})")

        url = args.db or sqlite_url(folder / "import.db")
        engine = make_engine(url)  # the schema exactly as the app creates it
        with engine.connect() as conn:
            existing = conn.exec_driver_sql("SELECT count(*) FROM interaction").scalar_one()
        engine.dispose()
        if existing:
            raise SystemExit(f"{url} is not empty ({existing:,} interactions): the benchmark needs an empty database")

        print(f"python -m leaderboard import export.csv  (batch size {args.batch_size:,}, {url.split('://')[0]})")
        first = run_import(export, url, args.batch_size)
        _report("import", rows, first)
        counts = table_counts(url, ("interaction", "rating", "rating_tag", "recovery_case", "app_user"))
        print("  rows: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
        if counts["interaction"] != rows:
            raise SystemExit(f"expected {rows:,} interactions, found {counts['interaction']:,}")
        if not args.db:
            print(f"  database file: {file_size_mb(folder / 'import.db'):,.0f} MB")
        if args.reimport:
            again = run_import(export, url, args.batch_size)
            _report("re-import", rows, again)
    finally:
        if folder_ctx is not None:
            folder_ctx.cleanup()

    print_result(
        rows=rows,
        rows_per_s=rows / first["wall"],
        peak_rss_mb=first["peak_mb"],
        cpu_s=first["cpu"],
        rows_per_cpu_s=rows / first["cpu"],
        wall_s=first["wall"],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
