"""`rank --format csv` is byte-identical to the release before the restructuring (tests/golden/).

Always on SQLite files, even when TEST_DATABASE_URL points at PostgreSQL: the
golden files were made on SQLite. Each database is built once for the module.
"""

from __future__ import annotations

import contextlib
import io
import sys
from datetime import datetime
from pathlib import Path

import pytest

from leaderboard.cli import main

GOLDEN = Path(__file__).resolve().parent / "golden"
sys.path.insert(0, str(GOLDEN))
from make_golden import DEMO_CASES, GEN_CASES, SEED_NOW  # noqa: E402  (the case list lives next to the files)


def _quiet(*argv: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert main(list(argv)) == 0


def test_the_shared_demo_floor_is_the_golden_one():
    """conftest's demo floor is made as make_golden.py makes it (the default seed, up to SEED_NOW)."""
    from tests.conftest import DEMO_NOW  # lazy: conftest is pytest's, imported here only to compare

    assert DEMO_NOW == datetime.fromisoformat(SEED_NOW)


@pytest.fixture(scope="module")
def gen_db(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('golden') / 'gen.db'}"
    _quiet("db", "upgrade", "--db", url)  # only seed and db upgrade create a database
    _quiet("import", str(GOLDEN / "ratings_10k.csv"), "--db", url)
    return url


def _rank_csv(capsys, url: str, args: list[str]) -> str:
    capsys.readouterr()
    assert main(["rank", *args, "--format", "csv", "--db", url]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("name, args", DEMO_CASES, ids=[c[0] for c in DEMO_CASES])
def test_rank_csv_of_the_demo_seed_is_byte_identical(capsys, demo_db_url, name, args):
    expected = (GOLDEN / f"rank_{name}.csv").read_text(encoding="utf-8")
    assert _rank_csv(capsys, demo_db_url, args) == expected


@pytest.mark.parametrize("name, args", GEN_CASES, ids=[c[0] for c in GEN_CASES])
def test_rank_csv_of_the_10k_file_is_byte_identical(capsys, gen_db, name, args):
    expected = (GOLDEN / f"rank_{name}.csv").read_text(encoding="utf-8")
    assert _rank_csv(capsys, gen_db, args) == expected
