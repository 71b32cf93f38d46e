"""`python -m leaderboard rank`: the fair leaderboard as a table, CSV or JSON."""

from __future__ import annotations

import argparse

from sqlmodel import Session

from db.queries import ScopeError
from leaderboard.board import build_board, public_rows
from leaderboard.cli import UserError
from leaderboard.fairness import (
    ADJUSTED_RANK_COLUMNS,
    IMPROVEMENT_COLUMNS,
    NoBaseline,
    adjusted_board,
    adjusted_rows,
    improvement_rows,
    improvement_table,
)
from leaderboard.commands.common import (
    add_db_argument,
    add_format_argument,
    add_period_scope_arguments,
    engine_for,
    settings_for,
    write_rows,
)
from leaderboard.periods import PeriodError
from leaderboard.ranking import RANK_COLUMNS


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "rank",
        help="print the fair star leaderboard",
        description=(
            "Print the fair star leaderboard for a period and scope. score = (n*avg + m*C) / (n + m), "
            "C = mean stars of every rating in the period and scope, m = prior weight. Agents with "
            "fewer than the minimum ratings are provisional (listed, not ranked)."
        ),
    )
    add_period_scope_arguments(parser)
    parser.add_argument(
        "--adjust",
        choices=("case-mix",),
        help="case-mix: rank by adjusted_score, the agent's expected stars on the whole center's mix of "
        "contact reasons and channels, and add expected_stars, adjusted_score, band_low, band_high "
        "(a 90%% interval)",
    )
    parser.add_argument(
        "--by",
        choices=("score", "improvement"),
        default="score",
        help="improvement: most improved against the agent's own last 8 weeks (adjusted for the contact "
        "mix, pulled toward zero for few ratings); columns rank, agent, team, site, ratings, "
        "baseline_ratings, baseline_score, adjusted_score, improvement",
    )
    add_format_argument(parser)
    add_db_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    engine = engine_for(args)
    try:
        with Session(engine) as session:
            board = build_board(
                session=session, period=args.period, site=args.site, team=args.team, tz=args.tz, settings=settings
            )
            if args.by == "improvement":
                improved = improvement_table(session=session, board=board, min_ratings=settings.min_ratings)
            elif args.adjust == "case-mix":
                adjusted = adjusted_board(session=session, board=board, min_ratings=settings.min_ratings)
    except (ScopeError, PeriodError, NoBaseline) as exc:
        raise UserError(str(exc)) from None
    if args.by == "improvement":
        write_rows(improvement_rows(improved), IMPROVEMENT_COLUMNS, args.format)
        return 0
    if args.adjust == "case-mix":
        write_rows(adjusted_rows(adjusted.agents), ADJUSTED_RANK_COLUMNS, args.format)
        return 0
    write_rows(public_rows(board.agents), RANK_COLUMNS, args.format)
    return 0
