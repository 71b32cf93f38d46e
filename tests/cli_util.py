"""One command-line runner for the whole suite: argv in, exit code and output out, in this process.

``python -m leaderboard ARGS`` is ``leaderboard.cli.main(ARGS)``; running it in the
test process costs milliseconds instead of a fresh interpreter and the import of
pandas, SQLAlchemy and Altair (about a second each time). A few subprocess smoke
tests (tests/test_cli_smoke.py) keep the real ``python -m leaderboard`` honest.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class CliRun:
    returncode: int
    stdout: str
    stderr: str

    def error_line(self) -> str:
        """The one stderr line of a user error (exit 2), never a traceback."""
        assert self.returncode == 2, (self.returncode, self.stdout, self.stderr)
        assert "Traceback" not in self.stderr
        lines = self.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), self.stderr
        return lines[0]


@contextmanager
def _environ(env: Mapping[str, str] | None) -> Iterator[None]:
    """Set (or, with a None value, remove) environment variables for the duration."""
    saved = {key: os.environ.get(key) for key in (env or {})}
    try:
        for key, value in (env or {}).items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class _Stdin(io.StringIO):
    """Standard input that is not a terminal (as when piped)."""

    def isatty(self) -> bool:
        return False


def run_cli(*args: str, stdin: str = "", env: Mapping[str, str] | None = None, db: str | None = None) -> CliRun:
    """Run ``python -m leaderboard ARGS`` in this process; ``db`` adds ``--db``."""
    from leaderboard.cli import main

    argv = [str(a) for a in args] + (["--db", db] if db else [])
    out, err = io.StringIO(), io.StringIO()
    saved_stdin = sys.stdin
    sys.stdin = _Stdin(stdin)
    try:
        with _environ(env), redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    finally:
        sys.stdin = saved_stdin
    return CliRun(int(code or 0), out.getvalue(), err.getvalue())


def run_cli_subprocess(*args: str, stdin: str = "", env: Mapping[str, str] | None = None,
                       timeout: float = 180) -> CliRun:
    """The real ``python -m leaderboard`` in a new interpreter (smoke tests only)."""
    done = subprocess.run(
        [sys.executable, "-m", "leaderboard", *map(str, args)],
        input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    return CliRun(done.returncode, done.stdout, done.stderr)
