"""The real ``python -m leaderboard`` in a fresh interpreter: a few smoke tests.

Everything else calls the command line in-process (tests/cli_util.py ``run_cli``);
these keep the module entry point, the exit codes and stdout/stderr honest.
"""

from __future__ import annotations

from pathlib import Path

from tests.cli_util import run_cli, run_cli_subprocess

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ratings_sample.csv"


def test_help_lists_every_command():
    run = run_cli_subprocess("--help")
    assert run.returncode == 0, run.stderr
    for command in ("seed", "import", "rank", "users", "badges", "prompts", "recovery", "db"):
        assert command in run.stdout


def test_import_then_rank_as_a_real_process(db_url):
    imported = run_cli_subprocess("import", str(SAMPLE), "--db", db_url)
    assert imported.returncode == 0, imported.stderr
    ranked = run_cli_subprocess("rank", "--period", "all", "--format", "csv", "--db", db_url)
    assert ranked.returncode == 0, ranked.stderr
    assert ranked.stdout.splitlines()[0].startswith("rank,agent,team,site,ratings")
    # The in-process runner gives the same bytes.
    assert run_cli("rank", "--period", "all", "--format", "csv", db=db_url).stdout == ranked.stdout


def test_a_user_error_is_one_line_and_exit_2(db_url):
    run = run_cli_subprocess("rank", "--site", "Atlantis", "--db", db_url)
    assert run.error_line().startswith("error: ")
