"""The command line: ``python -m leaderboard COMMAND ...``.

Each command lives in ``leaderboard/commands/<name>.py`` and exposes
``register(subparsers)``; its handler takes the parsed arguments and returns
an exit code. A user's mistake ends in one clear line on stderr and exit code
2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from sqlalchemy.exc import DBAPIError

from db.engine import DatabaseUnavailable, unreachable_reason
from db.migrate import DatabaseNewerError
from db.retry import DatabaseBusy, is_busy
from leaderboard.settings import SettingsError

# Order here is the order in --help.
COMMAND_MODULES = (
    "seed",
    "import_",
    "simulate",
    "rank",
    "users",
    "teams",
    "sites",
    "agents",
    "displays",
    "apikeys",
    "survey",
    "purge_comments",
    "recovery",
    "exclude",
    "badges",
    "coach",
    "ratios",
    "prompts",
    "db",
    "notify",
    "digest",
    "integrity",
)


class UserError(Exception):
    """A mistake in the user's input: printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m leaderboard",
        description="Starboard: fair star leaderboards and coaching for contact centers.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"leaderboard.commands.{name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except (UserError, SettingsError, DatabaseNewerError, DatabaseUnavailable, DatabaseBusy) as exc:
        # A bad setting, a database from a newer release, out of reach or busy: the user's to fix
        # (or wait out), like a bad flag.
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DBAPIError as exc:
        # The database went away (or stayed locked) in the middle of a command: one line, not a traceback.
        problem = DatabaseBusy() if is_busy(exc) else f"database error: {unreachable_reason(exc)}"
        print(f"error: {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`... | head`): not an error worth a traceback.
        sys.stderr.close()
        return 0
