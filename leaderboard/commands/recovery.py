"""`python -m leaderboard recovery list|update|followup|report`: the service-recovery queue."""

from __future__ import annotations

import argparse

from sqlmodel import Session

from db import recovery_store, survey_store
from db.models import RECOVERY_STATUSES, utcnow
from leaderboard.auth import SYSTEM_VIEWER
from leaderboard.cli import UserError
from leaderboard.commands.common import add_db_argument, add_format_argument, engine_for, settings_for, write_rows
from leaderboard.periods import PeriodError, resolve_period
from leaderboard.recovery_followup import FOLLOWUP_TEXT, close_case
from leaderboard.recovery import CLOSED_STATUSES, REPORT_COLUMNS, RecoveryError, report_rows

# `recovery list`'s default: the cases still to work, whatever their step.
OPEN_CASES = "active"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "recovery",
        help="service recovery cases for low ratings",
        description="Every rating at or below the recovery threshold opens a case the moment it lands.",
    )
    sub = parser.add_subparsers(dest="recovery_command", metavar="ACTION", required=True)

    lst = sub.add_parser(
        "list", help="list the open cases (overdue first)",
        description="The cases still to work (open or contacted), overdue first; --status all shows every case.",
    )
    lst.add_argument(
        "--status", choices=(OPEN_CASES, *RECOVERY_STATUSES, "all"), default=OPEN_CASES,
        help=f"'{OPEN_CASES}' (default): open or contacted; one status; or 'all'",
    )
    add_format_argument(lst)
    add_db_argument(lst)
    lst.set_defaults(handler=run_list)

    upd = sub.add_parser("update", help="record contact or outcome")
    upd.add_argument("case", type=int, metavar="CASE")
    upd.add_argument("--status", choices=RECOVERY_STATUSES, required=True)
    upd.add_argument("--by", required=True, metavar="NAME", help="who did it (username or display name)")
    upd.add_argument("--note", metavar="TEXT")
    add_db_argument(upd)
    upd.set_defaults(handler=run_update)

    fol = sub.add_parser("followup", help="record the customer's follow-up rating")
    fol.add_argument("case", type=int, metavar="CASE")
    fol.add_argument("--stars", type=int, required=True, choices=range(1, 6), metavar="N")
    add_db_argument(fol)
    fol.set_defaults(handler=run_followup)

    rep = sub.add_parser("report", help="opened, contacted in time, time to contact, resolved, uplift")
    rep.add_argument("--period", default="month", help="today, week, month, last7, last30, all or START..END")
    rep.add_argument("--by", choices=("team", "week"), default="team", dest="group")
    add_format_argument(rep)
    add_db_argument(rep)
    rep.set_defaults(handler=run_report)


def _guard(action):
    try:
        return action()
    except (RecoveryError, PeriodError) as exc:
        raise UserError(str(exc)) from None


def run_list(args: argparse.Namespace) -> int:
    status = None if args.status in ("all", OPEN_CASES) else args.status
    with Session(engine_for(args)) as session:
        frame = recovery_store.cases(session=session, viewer=SYSTEM_VIEWER, status=status)
    if args.status == OPEN_CASES:
        frame = frame[~frame["status"].isin(CLOSED_STATUSES)]
    write_rows(frame.to_dict("records"), recovery_store.CASE_COLUMNS, args.format)
    return 0


def run_update(args: argparse.Namespace) -> int:
    def action():
        settings = settings_for(args)
        engine = engine_for(args)
        # The signing secret is only needed (and only made, when unset) for a follow-up e-mail.
        secret = survey_store.server_secret(engine=engine, configured=settings.secret_key.get_secret_value()) \
            if settings.recovery_followup else b""
        with Session(engine) as session:
            user = recovery_store.find_user(session, args.by)
            closed = close_case(
                session=session, case_id=args.case, status=args.status, by=user, note=args.note,
                viewer=SYSTEM_VIEWER, settings=settings, secret=secret,
            )
            print(f"case {closed.case.id}: {closed.case.status}")
            if closed.followup and closed.followup != "off":
                print(f"follow-up: {FOLLOWUP_TEXT[closed.followup]}")
        return 0

    return _guard(action)


def run_followup(args: argparse.Namespace) -> int:
    def action():
        with Session(engine_for(args)) as session:
            case = recovery_store.record_followup(
                session=session, case_id=args.case, stars=args.stars, viewer=SYSTEM_VIEWER
            )
            print(f"case {case.id}: follow-up {case.followup_stars}★")
        return 0

    return _guard(action)


def run_report(args: argparse.Namespace) -> int:
    def action():
        period = resolve_period(args.period)
        start, end = period.utc_bounds()
        with Session(engine_for(args)) as session:
            frame = recovery_store.cases(session=session, viewer=SYSTEM_VIEWER, since=start)
        if end is not None and len(frame):
            frame = frame[frame["opened_at"] < end]
        rows = report_rows(frame, now=utcnow(), by=args.group)
        write_rows(rows, (args.group, *REPORT_COLUMNS), args.format)
        return 0

    return _guard(action)
