"""`python -m leaderboard ratios`: praise-to-criticism ratios per agent, leader or team."""

from __future__ import annotations

import argparse

from sqlmodel import Session

from db.queries import ScopeError
from leaderboard.auth import SYSTEM_VIEWER
from leaderboard.cli import UserError
from leaderboard.commands import common
from leaderboard.commands.common import add_db_argument, add_format_argument, engine_for, settings_for, write_rows
from leaderboard.periods import PeriodError
from leaderboard.ratios import BY_CHOICES, RATIO_COLUMNS, ratio_rows, ratio_table


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "ratios",
        help="print praise-to-criticism ratios",
        description=(
            "Praise notes / criticism notes in a period: per agent (received), per leader (given) or per team. "
            "Columns: name, praise, criticism, ratio, target, status. ratio is empty when there is no "
            "criticism (status 'no criticism yet', or 'no notes yet'); it is rounded to one decimal, "
            "and shown as '5.2 : 1' in the table format."
        ),
    )
    common.add_period_scope_arguments(parser)
    parser.add_argument("--by", choices=BY_CHOICES, default="agent", help="one row per agent, leader or team (default: agent)")
    add_format_argument(parser)
    add_db_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    try:
        with Session(engine_for(args)) as session:
            table = ratio_table(
                session=session,
                by=args.by,
                period=args.period,
                site=args.site,
                team=args.team,
                tz=args.tz,
                viewer=SYSTEM_VIEWER,
                settings=settings,
            )
    except (ScopeError, PeriodError) as exc:
        raise UserError(str(exc)) from None
    write_rows(ratio_rows(table, fmt=args.format), RATIO_COLUMNS, args.format)
    return 0
