"""`python -m leaderboard digest`: print exactly the daily digest a leader or manager gets for a day."""

from __future__ import annotations

import argparse
import sys
from datetime import date

from sqlmodel import Session

from leaderboard.cli import UserError
from leaderboard.commands.common import add_db_argument, engine_for, settings_for
from leaderboard.digest import DigestError, build_digest, find_recipient
from leaderboard.notify_messages import digest_message
from leaderboard.notify_rules import email_parts

FORMATS = ("text", "html")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "digest",
        help="print the daily digest a leader or manager gets for a day",
        description=(
            "Print exactly what the daily digest of USER (a team leader: their teams; a manager: their site) "
            "says for DATE: the day's best and worst interactions, the praise-to-criticism ratio against the "
            "target, open coaching prompts and overdue recovery cases, as sent at STARBOARD_DIGEST_TIME "
            "local time. Nothing is sent."
        ),
    )
    parser.add_argument("--leader", required=True, metavar="USER", help="username of a team leader or manager")
    parser.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="the local day of the digest")
    parser.add_argument("--format", choices=FORMATS, default="text",
                        help="the e-mail's text part (default) or its HTML part")
    add_db_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        day = date.fromisoformat(args.date.strip())
    except ValueError:
        raise UserError(f"--date {args.date!r} is not a date like 2026-11-30") from None
    settings = settings_for(args)
    with Session(engine_for(args)) as session:
        try:
            user = find_recipient(session=session, username=args.leader)
            digest = build_digest(session=session, user=user, day=day, settings=settings)
        except DigestError as exc:
            raise UserError(f"--leader: {exc}") from None
    # Exactly what an e-mail destination gets (Slack, Teams and webhooks get the same message, escaped their way).
    mail = email_parts(digest_message(digest))
    sys.stdout.write(mail.html + "\n" if args.format == "html" else mail.text)
    return 0
