"""Shared pieces for the benchmarks in bench/: a fast bulk data builder,
timing with medians, peak memory and the final RESULT line.

The builder writes through the DBAPI's ``executemany`` inside one transaction
per table: row-by-row ORM inserts would take an hour at a million ratings.
The schema (tables, indexes, check constraints) is always created by
``db.engine.make_engine``, so a benchmark measures the schema the app ships.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # so `python bench/x.py` finds db/ and leaderboard/
    sys.path.insert(0, str(ROOT))

from db.engine import make_engine  # noqa: E402
from db.models import CHANNELS, EXCLUSION_CAUSES  # noqa: E402
from leaderboard.names import name_key  # noqa: E402

# --- Measuring -----------------------------------------------------------------


@dataclass
class Timing:
    """Wall-clock samples of one measured call, in milliseconds."""

    label: str
    samples_ms: list[float] = field(default_factory=list)
    # CPU time of this process per run: on a busy shared box wall time far above it means waiting, not work.
    cpu_ms: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms) if self.samples_ms else float("nan")

    @property
    def best(self) -> float:
        return min(self.samples_ms) if self.samples_ms else float("nan")

    @property
    def worst(self) -> float:
        return max(self.samples_ms) if self.samples_ms else float("nan")

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_ms) if self.cpu_ms else float("nan")

    def line(self, width: int = 42) -> str:
        cpu = f"   cpu {fmt_ms(self.cpu_median):>10}" if self.cpu_ms else ""
        return (
            f"  {self.label:<{width}} median {fmt_ms(self.median):>10}   "
            f"min {fmt_ms(self.best):>10}   max {fmt_ms(self.worst):>10}{cpu}   (n={len(self.samples_ms)})"
        )


def fmt_ms(ms: float) -> str:
    return f"{ms:,.1f} ms" if ms < 10_000 else f"{ms / 1000:,.2f} s"


def time_call(label: str, fn: Callable[[], object], *, runs: int, warmup: int = 1) -> tuple[Timing, object]:
    """Run ``fn`` ``warmup`` times unmeasured, then ``runs`` times measured; returns the last result too."""
    result = None
    for _ in range(warmup):
        result = fn()
    timing = Timing(label)
    for _ in range(runs):
        cpu = time.process_time()
        start = time.perf_counter()
        result = fn()
        timing.samples_ms.append((time.perf_counter() - start) * 1000.0)
        timing.cpu_ms.append((time.process_time() - cpu) * 1000.0)
    return timing, result


class Stopwatch:
    """``with Stopwatch() as sw: ...`` then ``sw.seconds``."""

    def __enter__(self) -> "Stopwatch":
        self._start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *_exc) -> None:
        self.seconds = time.perf_counter() - self._start


def sw_now(sw: "Stopwatch") -> float:
    """Seconds since ``sw`` started (inside its with-block)."""
    return time.perf_counter() - sw._start


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def machine_line() -> str:
    """CPUs, load average and versions: timings on a busy shared box need this beside them."""
    import platform
    import sqlite3

    import sqlalchemy

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return (
        f"{os.cpu_count()} CPUs, load average {load}; Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, SQLAlchemy {sqlalchemy.__version__}, pandas {pd.__version__}"
    )


def result_line(**figures: float | int | str) -> str:
    """``RESULT k=v ...``: the one machine-readable line every bench ends with."""
    parts = []
    for key, value in figures.items():
        if isinstance(value, float):
            value = f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
        parts.append(f"{key}={value}")
    return "RESULT " + " ".join(parts)


def print_result(**figures: float | int | str) -> None:
    print(result_line(**figures), flush=True)


# --- Building a large database ---------------------------------------------------

# SQLAlchemy's SQLite DATETIME storage format; bound parameters in queries are
# rendered the same way, so rows written here compare correctly with them.
def sqlite_datetimes(values: np.ndarray) -> list[str]:
    """datetime64 values as 'YYYY-MM-DD HH:MM:SS.ffffff' strings (SQLAlchemy's SQLite format)."""
    text = np.datetime_as_string(values.astype("datetime64[us]"), unit="us")
    return np.strings.replace(text, "T", " ").tolist()


SITES = (
    ("Belgrade", "Europe/Belgrade"),
    ("Austin", "America/Chicago"),
    ("Manila", "Asia/Manila"),
)
_FIRST = (
    "Ana Marko Jelena Nikola Milica Stefan Ivana Luka Maja Petar Sara Filip Tijana Vuk Nina "
    "Olivia Liam Emma Noah Ava Elijah Mia James Sofia Lucas Grace Mateo Chloe Ethan Zoe "
    "Maria Jose Andrea Paolo Camille Miguel Bea Carlo Joy Rafael Kim Angelo Trisha Mark Rose"
).split()
_LAST = (
    "Petrovic Jovanovic Nikolic Ilic Markovic Djordjevic Stojanovic Popovic Smith Johnson "
    "Williams Brown Garcia Miller Davis Martinez Lopez Wilson Santos Reyes Cruz Bautista "
    "Ocampo Mendoza Villanueva Castillo Ramos Aquino Flores Torres"
).split()
_REASONS = (
    "billing", "delivery", "returns", "account access", "product question", "refund",
    "order change", "technical issue", "complaint", "cancellation", "warranty", "other",
)
_PRAISE = (
    "Very helpful, thank you!", "Solved it in minutes.", "Friendly and patient.",
    "Great service as always.", "Explained everything clearly.", "Above and beyond!",
    "Quick and polite.", "Finally someone who listens.",
)
_NEUTRAL = ("It was ok.", "Took a while but fine.", "Average experience.", "Had to repeat myself once.")
_CRITICISM = (
    "Nobody called me back.", "Still not fixed.", "Rude and in a hurry.", "Waited an hour.",
    "Transferred three times.", "Did not understand my problem.",
)
# Share of 1★..5★ across all ratings: an average of about 4.5, as a service desk that is doing well.
STAR_MIX = np.array([0.04, 0.03, 0.05, 0.16, 0.72])


@dataclass(frozen=True)
class BuildSpec:
    ratings: int = 1_000_000
    agents: int = 2_000
    teams: int = 40
    interactions: int | None = None  # default: ratings / rated_share
    rated_share: float = 0.35
    days: int = 365
    seed: int = 20261123
    now: datetime | None = None  # naive UTC; default: the current time

    @property
    def interaction_count(self) -> int:
        return self.interactions or int(round(self.ratings / self.rated_share))


@dataclass
class BuildReport:
    now: datetime
    seconds: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    avg_stars: float = float("nan")

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


def _exec_many(conn, sql: str, rows: Iterable[Sequence], *, chunk: int = 250_000) -> None:
    """executemany in chunks inside the caller's transaction (bounded memory for the tuples)."""
    cur = conn.cursor()
    batch: list = []
    for row in rows:
        batch.append(row)
        if len(batch) >= chunk:
            cur.executemany(sql, batch)
            batch.clear()
    if batch:
        cur.executemany(sql, batch)
    cur.close()


class _IndexesDeferred:
    """Drop a table's plain (non-unique) indexes for a bulk insert and rebuild them after.

    Rebuilding sorts each index once instead of inserting millions of keys in
    random order; the definitions come from the models' metadata, so the schema
    ends up exactly as ``make_engine`` creates it. Unique indexes stay (they
    guard the data being loaded).
    """

    def __init__(self, conn, table_name: str):
        self.conn, self.table_name = conn, table_name
        self.sql: list[tuple[str, str]] = []

    def __enter__(self) -> "_IndexesDeferred":
        rows = self.conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL"
            " AND sql NOT LIKE 'CREATE UNIQUE%'",
            (self.table_name,),
        ).fetchall()
        self.sql = [(name, sql) for name, sql in rows]
        for name, _ in self.sql:
            self.conn.execute(f'DROP INDEX "{name}"')
        return self

    def __exit__(self, *_exc) -> None:
        for _, sql in self.sql:
            self.conn.execute(sql)


def _bulk_insert(conn, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """INSERT ``rows`` into ``table`` inside the caller's transaction, its plain indexes rebuilt once after."""
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    with _IndexesDeferred(conn, table):
        _exec_many(conn, sql, rows)


def _local_to_utc(local: np.ndarray, tz: str) -> np.ndarray:
    """Naive local datetime64 values in ``tz`` -> naive UTC datetime64[us] (DST-aware)."""
    index = pd.DatetimeIndex(local)
    aware = index.tz_localize(tz, ambiguous=np.zeros(len(index), dtype=bool), nonexistent="shift_forward")
    return aware.tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[us]")


def build_dataset(url: str, spec: BuildSpec, *, log: Callable[[str], None] = print) -> BuildReport:
    """Fill an empty database at ``url`` with sites, teams, agents, interactions and ratings.

    Deterministic for a given spec (seed and now). Every row satisfies the
    schema's check constraints, which SQLite enforces as the rows go in.
    """
    rng = np.random.default_rng(spec.seed)
    now = (spec.now or datetime.now(timezone.utc).replace(tzinfo=None)).replace(microsecond=0)
    report = BuildReport(now=now)
    n_int = spec.interaction_count
    if spec.ratings > n_int:
        raise ValueError(f"{spec.ratings} ratings need at least as many interactions (got {n_int})")

    engine = make_engine(url)  # creates tables, indexes and constraints exactly as the app does
    raw = engine.raw_connection()
    conn = raw.driver_connection
    cur = conn.cursor()
    if cur.execute("SELECT count(*) FROM rating").fetchone()[0]:
        raise RuntimeError(f"{url} already holds ratings; refusing to add more")
    # Build-time only (this connection is discarded afterwards): a big page cache
    # keeps the randomly ordered agent_id indexes in memory while they grow.
    cur.execute("PRAGMA cache_size=-1000000")
    cur.execute("PRAGMA synchronous=OFF")
    cur.close()

    # --- people -------------------------------------------------------------------
    with Stopwatch() as sw:
        team_site = np.arange(spec.teams) % len(SITES)
        team_rows, user_rows = [], []
        per_site_count = [0] * len(SITES)
        for team_id in range(1, spec.teams + 1):
            site_index = int(team_site[team_id - 1])
            per_site_count[site_index] += 1
            user_rows.append(
                (team_id, f"leader{team_id:03d}", f"Leader {team_id}", "leader", "", 0, None, f"{now:%Y-%m-%d %H:%M:%S}.000000")
            )
            team_rows.append((team_id, f"Team {per_site_count[site_index]:02d}", site_index + 1, team_id))
        # Teams differ in size (some 30 agents, some 70): agents drawn with uneven team weights.
        team_weight = rng.uniform(0.6, 1.4, spec.teams)
        agent_team = rng.choice(spec.teams, size=spec.agents, p=team_weight / team_weight.sum()) + 1
        agent_team[: spec.teams] = np.arange(1, spec.teams + 1)  # no empty team
        first = rng.choice(_FIRST, spec.agents)
        last = rng.choice(_LAST, spec.agents)
        agent_rows = [
            (i + 1, f"{first[i]} {last[i]} {i + 1:04d}", f"{first[i]} {last[i][0]}.", int(agent_team[i]), None,
             1, int(rng.random() < 0.02))
            for i in range(spec.agents)
        ]
        # Hires during the year and leavers: their interactions sit inside [start_day, end_day].
        start_day = np.where(rng.random(spec.agents) < 0.10, rng.integers(0, spec.days - 30, spec.agents), 0)
        end_day = np.where(
            rng.random(spec.agents) < 0.04, np.maximum(start_day + 30, rng.integers(60, spec.days, spec.agents)),
            spec.days - 1,
        )
        end_day = np.minimum(end_day, spec.days - 1)
        agent_rows = [
            row[:5] + (int(end_day[i] == spec.days - 1),) + row[6:] for i, row in enumerate(agent_rows)
        ]
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO site (id, name, timezone) VALUES (?, ?, ?)",
            [(i + 1, name, tz) for i, (name, tz) in enumerate(SITES)],
        )
        conn.executemany(
            "INSERT INTO app_user (id, username, display_name, role, password_hash, disabled, site_id,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            user_rows,
        )
        conn.executemany("INSERT INTO team (id, name, site_id, leader_id) VALUES (?, ?, ?, ?)", team_rows)
        conn.executemany(
            # name_key's default is Python-side (the ORM's): raw inserts give it themselves.
            "INSERT INTO agent (id, name, display_name, team_id, user_id, active, hide_from_wall, name_key)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [row + (name_key(row[1]),) for row in agent_rows],
        )
        conn.commit()
    report.seconds["people"] = sw.seconds

    # --- interactions -------------------------------------------------------------
    with Stopwatch() as sw:
        # Busy agents handle ~2x the quiet ones; a part-year agent handles a share of a year.
        active_share = (end_day - start_day + 1) / spec.days
        weight = rng.lognormal(0.0, 0.35, spec.agents) * active_share
        per_agent = rng.multinomial(n_int, weight / weight.sum())
        agent_of = np.repeat(np.arange(1, spec.agents + 1), per_agent)
        # Day of the year: weekends quieter, volume growing ~25% over the year.
        first_day = (now.date() - timedelta(days=spec.days - 1))
        day_dates = np.array([first_day + timedelta(days=d) for d in range(spec.days)], dtype="datetime64[D]")
        weekday = (day_dates.astype("int64") + 3) % 7  # 0 = Monday
        day_weight = np.select([weekday == 5, weekday == 6], [0.45, 0.3], 1.0) * np.linspace(0.9, 1.12, spec.days)
        cdf = np.cumsum(day_weight) / day_weight.sum()
        cdf_before = np.concatenate([[0.0], cdf[:-1]])
        a = agent_of - 1
        lo, hi = cdf_before[start_day[a]], cdf[end_day[a]]
        day = np.minimum(np.searchsorted(cdf, lo + rng.random(n_int) * (hi - lo), side="right"), spec.days - 1)
        # Local working hours, busiest late morning.
        secs = np.clip(rng.normal(13.0 * 3600, 2.6 * 3600, n_int), 7 * 3600, 21 * 3600 - 1).astype("int64")
        local = day_dates[day].astype("datetime64[s]") + secs.astype("timedelta64[s]")
        local = local + rng.integers(0, 1_000_000, n_int).astype("timedelta64[us]")
        site_of_agent = team_site[agent_team - 1]
        site_of = site_of_agent[a]
        closed = np.empty(n_int, dtype="datetime64[us]")
        for s, (_, tz) in enumerate(SITES):
            mask = site_of == s
            closed[mask] = _local_to_utc(local[mask], tz)
        now64 = np.datetime64(now, "us")
        future = closed > now64  # today's afternoon has not happened yet: fold into the past hours
        closed[future] = now64 - rng.integers(1, 8 * 3600 * 10**6, int(future.sum())).astype("timedelta64[us]")
        order = np.argsort(closed, kind="stable")  # ids follow time, as they would in a live system
        closed, agent_of, site_of = closed[order], agent_of[order], site_of[order]
        channel = rng.choice(len(CHANNELS), size=n_int, p=[0.45, 0.30, 0.20, 0.05])
        reason = rng.integers(0, len(_REASONS), n_int)
        closed_text = sqlite_datetimes(closed)
        site_prefix = [name[:3].upper() for name, _ in SITES]
        ids = range(1, n_int + 1)
        rows = (
            (i, f"{site_prefix[s]}-{i:08d}", ag, CHANNELS[ch], _REASONS[r], c)
            for i, s, ag, ch, r, c in zip(
                ids, site_of.tolist(), agent_of.tolist(), channel.tolist(), reason.tolist(), closed_text
            )
        )
        generated = sw_now(sw)
        conn.execute("BEGIN")
        _bulk_insert(
            conn, "interaction", ("id", "interaction_id", "agent_id", "channel", "contact_reason", "closed_at"), rows
        )
        conn.commit()
        del closed_text, rows
    report.seconds["interactions"] = sw.seconds
    log(f"  interactions: {n_int:,} in {sw.seconds:.1f} s (generating {generated:.1f} s)")

    # --- ratings ------------------------------------------------------------------
    with Stopwatch() as sw:
        # Exactly spec.ratings rated interactions, more likely for chat and for
        # some agents' customers (weighted sampling without replacement via exponential keys).
        agent_propensity = rng.beta(7, 13, spec.agents)  # ~0.35 on average, 0.15..0.6 across agents
        channel_factor = np.array([0.9, 1.3, 0.8, 1.0])[channel]
        w = agent_propensity[agent_of - 1] * channel_factor
        keys = rng.exponential(size=n_int) / w
        rated = np.sort(np.argpartition(keys, spec.ratings - 1)[: spec.ratings]) if spec.ratings < n_int else np.arange(n_int)
        r_agent = agent_of[rated]
        # Most answers come within the hour, some days later; never after now.
        delay_us = np.minimum(rng.lognormal(np.log(25 * 60), 1.4, spec.ratings), 5 * 86400) * 1e6
        rated_at = np.minimum(closed[rated] + delay_us.astype("int64").astype("timedelta64[us]"), now64)
        # Each agent has their own star mix around STAR_MIX.
        agent_mix = rng.dirichlet(STAR_MIX * 60, spec.agents)
        cum = np.cumsum(agent_mix, axis=1)[:, :4]
        stars = 1 + (rng.random(spec.ratings)[:, None] > cum[r_agent - 1]).sum(axis=1)
        resolved_p = np.array([0.2, 0.35, 0.6, 0.85, 0.95])[stars - 1]
        resolved = np.where(rng.random(spec.ratings) < resolved_p, 1, 0).astype(object)
        resolved[rng.random(spec.ratings) >= 0.85] = None  # question skipped
        nps_mu = np.array([1.5, 3.5, 5.5, 7.8, 9.4])[stars - 1]
        nps = np.clip(np.rint(rng.normal(nps_mu, 1.0)), 0, 10).astype("int64").astype(object)
        nps[rng.random(spec.ratings) >= 0.55] = None
        comment_p = np.array([0.6, 0.5, 0.35, 0.2, 0.25])[stars - 1]
        has_comment = rng.random(spec.ratings) < comment_p
        pick = rng.integers(0, 1000, spec.ratings)
        excluded = (stars <= 2) & (rng.random(spec.ratings) < 0.08)
        cause = rng.integers(0, len(EXCLUSION_CAUSES), spec.ratings)
        order = np.argsort(rated_at, kind="stable")  # rating ids follow the time they arrived
        interaction_ids = (rated + 1)[order].tolist()
        r_agent, stars, resolved, nps = r_agent[order], stars[order], resolved[order], nps[order]
        has_comment, pick, excluded, cause = has_comment[order], pick[order], excluded[order], cause[order]
        rated_text = sqlite_datetimes(rated_at[order])

        def comment_for(s: int, p: int) -> str:
            pool = _PRAISE if s >= 4 else _NEUTRAL if s == 3 else _CRITICISM
            return pool[p % len(pool)]

        rows = (
            (
                i, iid, ag, s,
                comment_for(s, p) if hc else "",
                res, n, t,
                EXCLUSION_CAUSES[c] if ex else None,
                "outside the agent's control" if ex else "",
            )
            for i, iid, ag, s, hc, p, res, n, t, ex, c in zip(
                range(1, spec.ratings + 1), interaction_ids, r_agent.tolist(), stars.tolist(),
                has_comment.tolist(), pick.tolist(), resolved.tolist(), nps.tolist(), rated_text,
                excluded.tolist(), cause.tolist(),
            )
        )
        generated = sw_now(sw)
        conn.execute("BEGIN")
        _bulk_insert(
            conn,
            "rating",
            ("id", "interaction_id", "agent_id", "stars", "comment", "resolved", "nps", "rated_at",
             "excluded_cause", "excluded_reason"),
            rows,
        )
        conn.execute(
            "INSERT INTO app_meta (key, value) VALUES ('bench_now', ?), ('bench_seed', ?)",
            (now.isoformat(" "), str(spec.seed)),
        )
        conn.commit()
        report.avg_stars = float(stars.mean())
    report.seconds["ratings"] = sw.seconds
    log(f"  ratings: {spec.ratings:,} in {sw.seconds:.1f} s (generating {generated:.1f} s)")

    with Stopwatch() as sw:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    report.seconds["checkpoint"] = sw.seconds
    raw.close()
    engine.dispose()
    report.counts = table_counts(url)
    return report


def table_counts(url: str, tables: Sequence[str] = ("site", "team", "agent", "interaction", "rating")) -> dict[str, int]:
    engine = make_engine(url, create=False)
    try:
        with engine.connect() as conn:
            return {t: int(conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()) for t in tables}
    finally:
        engine.dispose()


def bench_now(url: str) -> datetime | None:
    """The 'now' a bench database was built at (stored in app_meta), if any."""
    engine = make_engine(url, create=False)
    try:
        with engine.connect() as conn:
            value = conn.exec_driver_sql("SELECT value FROM app_meta WHERE key = 'bench_now'").scalar()
    finally:
        engine.dispose()
    return datetime.fromisoformat(value) if value else None


def file_size_mb(path: str | os.PathLike[str]) -> float:
    p = Path(path)
    total = sum(q.stat().st_size for q in (p, Path(f"{p}-wal")) if q.exists())
    return total / (1024 * 1024)


# --- A bench's own database -------------------------------------------------------


def add_dataset_arguments(ap: argparse.ArgumentParser) -> None:
    """--db, --ratings, --agents and --quick: the SQLite file a bench builds (or reuses) and its size."""
    ap.add_argument("--db", help="SQLite file to reuse (built there and kept if it does not exist)")
    ap.add_argument("--ratings", type=int, default=1_000_000)
    ap.add_argument("--agents", type=int, default=2_000)
    ap.add_argument("--quick", action="store_true", help="50,000 ratings over 200 agents, fewer runs")


def dataset_file(args: argparse.Namespace, *, prefix: str) -> tuple[Path, tempfile.TemporaryDirectory | None]:
    """The SQLite file of ``--db``, else ``bench.db`` in a new temporary folder (returned too, to clean up).

    ``--quick`` sets ``args.ratings`` and ``args.agents`` to 50,000 and 200.
    """
    if args.quick:
        args.ratings, args.agents = 50_000, 200
    if args.db:
        return Path(args.db).expanduser().resolve(), None
    tmp = tempfile.TemporaryDirectory(prefix=prefix)
    return Path(tmp.name) / "bench.db", tmp
