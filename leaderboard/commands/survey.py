"""`python -m leaderboard survey link INTERACTION_ID`: the customer survey link of an interaction."""

from __future__ import annotations

import argparse

from db import survey_store
from db.models import utcnow
from leaderboard.cli import UserError
from leaderboard.commands.common import add_db_argument, engine_for, settings_for
from leaderboard.survey_tokens import survey_link


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "survey",
        help="customer survey links",
        description="Survey links open /s/<token> on this server (base: STARBOARD_PUBLIC_URL).",
    )
    sub = parser.add_subparsers(dest="survey_command", metavar="ACTION", required=True)
    link = sub.add_parser("link", help="print an interaction's survey link, alone on the last line")
    link.add_argument("interaction_id")
    add_db_argument(link)
    link.set_defaults(handler=run_link)


def run_link(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    engine = engine_for(args)
    try:
        if not survey_store.interaction_exists(engine=engine, interaction_id=args.interaction_id):
            raise UserError(f"no interaction {args.interaction_id!r}: import it or send it to POST /api/v1/interactions first")
        secret = survey_store.server_secret(engine=engine, configured=settings.secret_key.get_secret_value())
    finally:
        engine.dispose()
    print(f"survey link for {args.interaction_id} (valid {settings.survey_expiry_days} days):")
    print(survey_link(args.interaction_id, base_url=settings.public_url, secret=secret, now=utcnow(),
                      days=settings.survey_expiry_days))
    return 0
