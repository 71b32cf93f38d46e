"""Build the golden ranking files the refactor must reproduce byte for byte.

    python tests/golden/make_golden.py          # (re)writes ratings_10k.csv and rank_*.csv

The expected outputs were made with the release before the restructuring
(commit 0504ec2); tests/test_golden_rank.py recomputes them with today's code.
"""

from __future__ import annotations

import csv
import random
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SEED_NOW = "2026-11-25T12:00"
# (name, arguments) for the demo seed, and for the generated file.
DEMO_CASES = [
    ("demo_week", ["--period", "2026-11-16..2026-11-22"]),
    ("demo_month", ["--period", "2026-10-01..2026-10-31", "--tz", "Asia/Manila"]),
    ("demo_all", ["--period", "all"]),
    ("demo_custom", ["--period", "2026-10-01..2026-11-20"]),
    ("demo_manila_last30", ["--period", "2026-10-27..2026-11-25", "--site", "Manila"]),
    ("demo_team_week", ["--period", "2026-11-16..2026-11-22", "--team", "Manila/Bayanihan"]),
]
GEN_CASES = [
    ("gen_all", ["--period", "all"]),
    ("gen_range", ["--period", "2026-10-05..2026-10-25"]),
    ("gen_site", ["--period", "2026-09-01..2026-11-30", "--site", "Lisbon"]),
]

SITES = {"Lisbon": "-00:00", "Austin": "-06:00"}
TEAMS = {"Lisbon": ["Tejo", "Douro"], "Austin": ["Pecan", "Bluebonnet"]}
FIRST = ["Ana", "Rui", "Joana", "Tiago", "Inês", "Sam", "Lee", "Kim", "Dana", "Alex", "Jo", "Pat"]
LAST = ["Silva", "Costa", "Moreira", "Reyes", "Nguyen", "Park", "O'Neil", "Brown"]


def generate(path: Path, rows: int = 10_000, seed: int = 11) -> None:
    rnd = random.Random(seed)
    agents = []
    for site, teams in TEAMS.items():
        for team in teams:
            for k in range(8):
                name = f"{rnd.choice(FIRST)} {rnd.choice(LAST)} {site[0]}{team[0]}{k}"
                skill = rnd.uniform(3.2, 4.9)
                agents.append((name, team, site, skill))
    start = datetime(2026, 9, 1, tzinfo=timezone.utc)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["interaction_id", "agent", "team", "site", "channel", "contact_reason", "closed_at",
                    "rated_at", "stars", "comment", "resolved", "nps", "went_well", "to_improve"])
        for i in range(rows):
            name, team, site, skill = rnd.choice(agents[: rnd.randint(4, len(agents))])
            closed = start + timedelta(minutes=rnd.randint(0, 90 * 24 * 60))
            off = SITES[site]
            stamp = closed.strftime("%Y-%m-%dT%H:%M:%S") + ("+00:00" if off == "-00:00" else off)
            if rnd.random() < 0.4:
                stars = max(1, min(5, round(rnd.gauss(skill, 0.8))))
                rated = (closed + timedelta(minutes=rnd.randint(1, 600))).strftime("%Y-%m-%dT%H:%M:%S") + (
                    "+00:00" if off == "-00:00" else off)
                w.writerow([f"G-{i:06d}", name, team, site, rnd.choice(["phone", "chat", "email"]),
                            rnd.choice(["billing", "returns", "login"]), stamp, rated, stars, "",
                            rnd.choice(["yes", "no", ""]), rnd.randint(0, 10), "", ""])
            else:
                w.writerow([f"G-{i:06d}", name, team, site, "phone", "billing", stamp, "", "", "", "", "", "", ""])


def cli(*args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "leaderboard", *args], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return out.stdout


def main() -> None:
    generate(HERE / "ratings_10k.csv")
    with tempfile.TemporaryDirectory() as tmp:
        demo = f"sqlite:///{tmp}/demo.db"
        cli("seed", "--now", SEED_NOW, "--db", demo)
        for name, args in DEMO_CASES:
            (HERE / f"rank_{name}.csv").write_text(cli("rank", *args, "--format", "csv", "--db", demo))
        gen = f"sqlite:///{tmp}/gen.db"
        cli("db", "upgrade", "--db", gen)  # import never creates a database (a mistyped --db would)
        cli("import", str(HERE / "ratings_10k.csv"), "--db", gen)
        for name, args in GEN_CASES:
            (HERE / f"rank_{name}.csv").write_text(cli("rank", *args, "--format", "csv", "--db", gen))


if __name__ == "__main__":
    main()
