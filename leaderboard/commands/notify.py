"""`python -m leaderboard notify add|list|test|remove|run`: where alerts, digests and shout-outs go.

- ``notify add NAME URL --for team:Manila/Bayanihan|site:Manila|user:USER --kinds recovery,digest
  [--type slack|teams|webhook|email] [--quiet 22:00-07:00] [--per-minute N]``;
- ``notify list``: every destination, its URL masked;
- ``notify test NAME``: sends a sample message now and prints the destination's answer;
- ``notify remove NAME``: the destination and its undelivered messages;
- ``notify run``: the scheduled notifications queued, then the outbox's notifications delivered
  once (the server does both by itself every second; this is for a separate worker or cron).
"""

from __future__ import annotations

import argparse
import sys

from leaderboard import notify
from leaderboard.auth import SYSTEM_VIEWER
from leaderboard.cli import UserError
from leaderboard.commands.common import add_db_argument, engine_for, settings_for, write_rows
from leaderboard.notify_rules import KINDS, PRIVATE_KINDS, PUBLIC_KINDS, TYPES, NotifyInputError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "notify",
        help="notification destinations (Slack, Teams, webhooks, e-mail): add, list, test, remove, run",
        description="Where recovery alerts, digests and shout-outs go. Stored URLs are secrets: shown masked.",
    )
    sub = parser.add_subparsers(dest="notify_command", metavar="ACTION", required=True)
    add = sub.add_parser(
        "add",
        help="add a destination",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Add a destination. URL: a Slack or Teams incoming webhook (or Teams Workflows) URL, any https://\n"
            "URL taking JSON (a generic webhook), or mailto:name@example.com (sent through STARBOARD_SMTP_URL).\n"
            "The type is inferred from the URL unless --type says it.\n"
            f"Kinds, private (a leader's or manager's own channel): {', '.join(PRIVATE_KINDS)};\n"
            f"public (shout-out channels): {', '.join(PUBLIC_KINDS)}. One destination takes one or the other:\n"
            "praise in public, criticism only 1:1.\n"
            "Exit code: 0 added, 2 bad input."
        ),
    )
    add.add_argument("name", metavar="NAME")
    add.add_argument("url", metavar="URL")
    add.add_argument("--for", dest="scope", required=True, metavar="SCOPE",
                     help="team:SITE/TEAM, site:SITE or user:USERNAME")
    add.add_argument("--kinds", required=True, help=f"comma-separated, from: {', '.join(KINDS)}")
    add.add_argument("--type", dest="type_", choices=TYPES, help="slack, teams, webhook or email (default: from the URL)")
    add.add_argument("--quiet", metavar="HH:MM-HH:MM", help="hold messages in this window (the site's local time)")
    add.add_argument("--per-minute", type=int, metavar="N",
                     help="at most N messages a minute; more are sent as one 'and N more' message (default 20)")
    add_db_argument(add)
    add.set_defaults(handler=run_add)

    listing = sub.add_parser("list", help="list destinations (URLs masked)")
    add_db_argument(listing)
    listing.set_defaults(handler=run_list)

    test = sub.add_parser("test", help="send a sample message now and print the destination's answer",
                          description="Exit code: 0 the destination accepted it, 1 it refused or was out of reach, 2 no such destination.")
    test.add_argument("name", metavar="NAME")
    add_db_argument(test)
    test.set_defaults(handler=run_test)

    remove = sub.add_parser("remove", help="remove a destination and its undelivered messages")
    remove.add_argument("name", metavar="NAME")
    add_db_argument(remove)
    remove.set_defaults(handler=run_remove)

    run = sub.add_parser(
        "run",
        help="queue what is scheduled, deliver due notifications once, print the counts",
        description=(
            "Queue the scheduled notifications (digests, reminders) and deliver what is due, once: sent,\n"
            "collapsed into an 'and N more' message, held (quiet hours, per-minute limit), retried later\n"
            "(1, 2, 4 ... minutes apart), failed after STARBOARD_NOTIFY_MAX_ATTEMPTS tries. Safe beside\n"
            "running servers: each message is sent once."
        ),
    )
    add_db_argument(run)
    run.set_defaults(handler=run_run)


def run_add(args: argparse.Namespace) -> int:
    engine = engine_for(args)
    try:
        added = notify.add(engine=engine, viewer=SYSTEM_VIEWER, name=args.name, url=args.url, scope=args.scope,
                           kinds=args.kinds, type_=args.type_, quiet=args.quiet, per_minute=args.per_minute)
    except NotifyInputError as exc:
        raise UserError(str(exc)) from None
    finally:
        engine.dispose()
    print(f"added {added.name}: {added.type} {added.url} for {added.scope}, kinds {added.kinds}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    engine = engine_for(args)
    try:
        rows = notify.listed(engine=engine)
    finally:
        engine.dispose()
    if not rows:
        print("no destinations: add one with `notify add NAME URL --for team:SITE/TEAM --kinds recovery`")
        return 0
    columns = ["name", "type", "url", "for", "kinds", "quiet", "per_minute"]
    write_rows([dict(zip(columns, (r.name, r.type, r.url, r.scope, r.kinds, r.quiet, r.per_minute))) for r in rows],
               columns, "table")
    return 0


def run_test(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    engine = engine_for(args)
    try:
        answer = notify.test(engine=engine, settings=settings, name=args.name)
    finally:
        engine.dispose()
    if answer is None:
        raise UserError(f"no destination {args.name!r}: see `notify list`")
    print(f"{args.name}: {'accepted' if answer.ok else 'refused'}: {answer.text}")
    return 0 if answer.ok else 1


def run_remove(args: argparse.Namespace) -> int:
    engine = engine_for(args)
    try:
        removed = notify.remove(engine=engine, viewer=SYSTEM_VIEWER, name=args.name)
    finally:
        engine.dispose()
    if not removed:
        raise UserError(f"no destination {args.name!r}: see `notify list`")
    print(f"removed {args.name}")
    return 0


def run_run(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    engine = engine_for(args)
    try:
        counts = notify.run(engine=engine, settings=settings)
        left = notify.status(engine=engine)
    finally:
        engine.dispose()
    for answer in dict.fromkeys(counts.answers):
        print(f"send error: {answer}", file=sys.stderr)
    print(f"{counts.summary()} queued={left['queued']} failed_total={left['failed']}")
    return 0
