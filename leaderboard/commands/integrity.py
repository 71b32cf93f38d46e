"""`python -m leaderboard integrity`: agents who collect too few low ratings for their contact mix."""

from __future__ import annotations

import argparse

from sqlmodel import Session

from db.queries import ScopeError
from leaderboard.auth import SYSTEM_VIEWER, AuthError
from leaderboard.cli import UserError
from leaderboard.commands import common
from leaderboard.commands.common import add_db_argument, add_format_argument, engine_for, write_rows
from leaderboard.fairness import INTEGRITY_COLUMNS, integrity_report, integrity_rows
from leaderboard.periods import PeriodError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "integrity",
        help="check survey sending: flag agents with too few low ratings for their contact mix",
        description=(
            "Per agent: low_share (share of 1-3 star ratings) against expected_low_share (what their own "
            "mix of contact reasons and channels gives the rest of the center), a one-sided binomial "
            "p_value corrected for testing every agent (Benjamini-Hochberg), and the response rate "
            "(and surveys offered, where known) against their team's. flag is yes when the corrected "
            "p_value is under 0.01, the agent has 20 or more ratings and fewer of their contacts get "
            "or answer a survey than their team's. For leaders and managers, never the wall."
        ),
    )
    common.add_period_scope_arguments(parser)
    add_format_argument(parser)
    add_db_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        with Session(engine_for(args)) as session:
            table = integrity_report(
                session=session, viewer=SYSTEM_VIEWER, period=args.period, site=args.site, team=args.team, tz=args.tz
            )
    except (ScopeError, PeriodError, AuthError) as exc:
        raise UserError(str(exc)) from None
    write_rows(integrity_rows(table), INTEGRITY_COLUMNS, args.format)
    return 0
