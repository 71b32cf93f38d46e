"""`python -m leaderboard survey link|request|send`: ask customers for feedback.

- ``survey link INTERACTION_ID``: the survey URL, alone on the last line (records a "link" offer);
- ``survey request FILE.csv [--out OUT.csv]``: creates or updates the file's interactions
  (canonical columns, no rating) through the one write path and writes ``interaction_id,url``;
  rows with a ``customer_email`` get the survey e-mail (when SMTP is configured);
- ``survey send``: delivers the queued survey e-mails once (the server does it by itself;
  this is for a cron job or a separate worker) and prints the counts.
"""

from __future__ import annotations

import argparse
import sys
from collections import OrderedDict
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from db import outbox, survey_store
from db.accounts import end_demo
from db.audit import record
from db.ingest import (
    COLUMNS,
    OPTIONAL_COLUMNS,
    RATING_COLUMNS,
    BatchWriter,
    CanonicalRow,
    DateWindow,
    FileProblem,
    ImportReport,
    Refusal,
    RowError,
    open_table,
    parse_row,
    read_rows,
)
from db.ingest.importer import file_digest
from db.retry import DatabaseBusy
from leaderboard.auth import SYSTEM_VIEWER
from leaderboard.cli import UserError
from leaderboard.commands.common import add_db_argument, engine_for, settings_for
from leaderboard.mail_rules import check_address, check_customer_name
from leaderboard.survey_mail import MAIL_KIND, SurveyRequest, mail_configured, offer_surveys, run_outbox
from leaderboard.text import write_csv

# Rejections printed before "... and N more" (as `import` does).
MAX_PRINTED_ERRORS = 50
INTERACTION_COLUMNS = tuple(c for c in COLUMNS if c not in RATING_COLUMNS)
CONTACT_COLUMNS = ("customer_email", "customer_name")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "survey",
        help="customer survey links, survey requests (links and e-mails), sending queued e-mails",
        description="Survey links open /s/<token> on this server (base: STARBOARD_PUBLIC_URL).",
    )
    sub = parser.add_subparsers(dest="survey_command", metavar="ACTION", required=True)
    link = sub.add_parser("link", help="print an interaction's survey link, alone on the last line")
    link.add_argument("interaction_id")
    add_db_argument(link)
    link.set_defaults(handler=run_link)

    request = sub.add_parser(
        "request",
        help="create interactions from a CSV and write their survey links (interaction_id,url)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Create or update the interactions of a .csv or .xlsx file and write their survey links as CSV\n"
            "(interaction_id,url) to standard output or --out. Columns (any order, case-insensitive):\n"
            f"  {', '.join(INTERACTION_COLUMNS)}\n"
            f"optional: {', '.join(OPTIONAL_COLUMNS + CONTACT_COLUMNS)}. The rating columns may be\n"
            "present but must be empty (rated rows are imported with `import`). A row with a customer_email\n"
            "also gets the survey e-mail (STARBOARD_SMTP_URL; once per interaction; never to an address that\n"
            "unsubscribed). Rows are checked as `import` checks them; rejected rows are listed on stderr with\n"
            "their line and the rest still land.\n"
            "Exit code: 0 every row landed, 1 some rows were rejected, 2 the file could not be read."
        ),
    )
    request.add_argument("file", metavar="FILE", help="the .csv or .xlsx file")
    request.add_argument("--out", metavar="OUT.csv", help="write the links here instead of standard output")
    add_db_argument(request)
    request.set_defaults(handler=run_request)

    send = sub.add_parser(
        "send",
        help="deliver the queued survey e-mails once and print the counts",
        description=(
            "Deliver the survey e-mails that are due (STARBOARD_SMTP_URL), once: sent, retried later (1, 2, 4 ...\n"
            "minutes apart), failed after STARBOARD_MAIL_MAX_ATTEMPTS tries, skipped (unsubscribed). The server\n"
            "does this by itself; run it from cron or a separate worker if you prefer. Safe beside running servers."
        ),
    )
    add_db_argument(send)
    send.set_defaults(handler=run_send)


def _secret(settings, engine) -> bytes:
    return survey_store.server_secret(engine=engine, configured=settings.secret_key.get_secret_value())


def run_link(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    engine = engine_for(args)
    try:
        if not survey_store.interaction_exists(engine=engine, interaction_id=args.interaction_id):
            raise UserError(f"no interaction {args.interaction_id!r}: import it or send it to POST /api/v1/interactions first")
        offered = offer_surveys(engine=engine, settings=settings, secret=_secret(settings, engine), channel="link",
                                requests=[SurveyRequest(args.interaction_id)])
    finally:
        engine.dispose()
    print(f"survey link for {args.interaction_id} (valid {settings.survey_expiry_days} days):")
    print(offered[0].url)
    return 0


def run_send(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    if not mail_configured(settings):
        raise UserError("STARBOARD_SMTP_URL is not set: there is no mail server to send to")
    engine = engine_for(args)
    try:
        counts = run_outbox(engine=engine, settings=settings)
        left = outbox.status_counts(engine, kind=MAIL_KIND)
    finally:
        engine.dispose()
    for error in dict.fromkeys(counts.errors):
        print(f"send error: {error}", file=sys.stderr)
    print(f"{counts.summary()} queued={left['queued']}")
    return 0


# --------------------------------------------------------------------------- survey request FILE.csv


def _translator(header: list[str], *, file: str, contacts: dict[str, tuple[str, str]]):
    """Record -> CanonicalRow without a rating (the contact columns checked too), or its RowErrors."""
    names = [h.strip().lower() for h in header]
    positions: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in positions and name in (*COLUMNS, *OPTIONAL_COLUMNS, *CONTACT_COLUMNS):
            raise FileProblem(f"column {name!r} appears twice in the header")
        positions.setdefault(name, i)
    missing = [c for c in INTERACTION_COLUMNS if c not in positions]
    if missing:
        raise FileProblem(
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(expected: {', '.join(INTERACTION_COLUMNS)}; optional: {', '.join(OPTIONAL_COLUMNS + CONTACT_COLUMNS)})"
        )
    row_columns = [c for c in (*INTERACTION_COLUMNS, *OPTIONAL_COLUMNS) if c in positions]
    ratings = [c for c in RATING_COLUMNS if c in positions]

    def translate(cells: list[str], line: int) -> CanonicalRow | list[RowError]:
        errors: list[RowError] = []
        for column in ratings:
            value = cells[positions[column]]
            if value.strip():
                errors.append(RowError(file=file, line=line, column=column, value=value,
                                       reason="must be empty: a survey request asks for the rating "
                                              "(import rated rows with `import`)"))
        contact = {}
        for column, check in (("customer_email", check_address), ("customer_name", check_customer_name)):
            value = cells[positions[column]] if column in positions else ""
            try:
                contact[column] = check(value) if value.strip() else ""
            except ValueError as exc:
                errors.append(RowError(file=file, line=line, column=column, value=value, reason=str(exc)))
        parsed = parse_row({c: cells[positions[c]] for c in row_columns}, file=file, line=line)
        if isinstance(parsed, list):
            errors = parsed + errors
        if errors:
            return errors
        contacts[parsed.interaction_id] = (contact["customer_email"], contact["customer_name"])
        return parsed

    translate.positions = {c: positions[c] for c in row_columns}  # read_rows names a bad date's cell by it
    return translate


def run_request(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    path = Path(args.file)
    if not path.is_file():
        raise UserError(f"cannot read {path.name}: no such file")
    out_file = None
    if args.out:  # opened first: a mistyped --out stops before anything is written
        try:
            out_file = Path(args.out).open("w", encoding="utf-8", newline="")
        except OSError as exc:
            raise UserError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    try:
        engine = engine_for(args)
    except BaseException:
        if out_file:
            out_file.close()
        raise
    report = ImportReport()
    contacts: dict[str, tuple[str, str]] = {}
    landed: OrderedDict[str, None] = OrderedDict()
    lines: dict[str, int] = {}
    try:
        try:
            table = open_table(path)
        except FileProblem as exc:
            raise UserError(f"cannot read {path.name}: {exc}") from None
        with table:
            try:
                translate = _translator(table.header, file=table.name, contacts=contacts)
            except FileProblem as exc:
                raise UserError(f"cannot read {table.name}: {exc}") from None
            report.source = table.describe()

            def traced(cells: list[str], line: int):
                result = translate(cells, line)
                if type(result) is CanonicalRow:
                    lines[result.interaction_id] = line
                return result

            traced.positions = translate.positions

            def refused(row: CanonicalRow, why: Refusal) -> None:
                line = lines.get(row.interaction_id, 0)
                report.reject([RowError(file=table.name, line=line, column=why.column, value=why.value,
                                        reason=why.reason)])
                landed.pop(row.interaction_id, None)

            def rows():
                for row in read_rows(table, traced, report, window=DateWindow.for_today(
                        earliest_date=settings.earliest_date, max_days_ahead=settings.max_days_ahead)):
                    landed[row.interaction_id] = None
                    landed.move_to_end(row.interaction_id)
                    yield row

            writer = BatchWriter(engine=engine, viewer=SYSTEM_VIEWER, report=report, batch_size=1000,
                                 refused=refused)
            writer.write_all(rows())
        if report.inserted or report.updated:
            end_demo(engine)  # real interactions arrived, as after a file import
        requests = [SurveyRequest(i, *contacts.get(i, ("", ""))) for i in landed]
        offered = offer_surveys(engine=engine, settings=settings, secret=_secret(settings, engine),
                                channel="link", requests=requests)
        emails = {status: sum(1 for o in offered if o.email == status)
                  for status in ("queued", "not configured", "unsubscribed")}
        with engine.begin() as conn:
            record(conn, actor=SYSTEM_VIEWER.username, kind="survey_request", target=path.name,
                   detail=f"sha256={file_digest(path)}; {report.summary()}; links={len(offered)}; "
                          f"emails queued={emails['queued']} unsubscribed={emails['unsubscribed']} "
                          f"not configured={emails['not configured']}")
    except DatabaseBusy as exc:
        raise UserError(f"{exc} (run the request again: it is safe to repeat)") from None
    except SQLAlchemyError as exc:
        raise UserError(f"database error, request stopped (run it again: it is safe to repeat): "
                        f"{type(exc.orig if getattr(exc, 'orig', None) else exc).__name__}") from None
    except BaseException:
        if out_file:
            out_file.close()
        raise
    finally:
        engine.dispose()
    try:
        write_csv(({"interaction_id": o.interaction_id, "url": o.url} for o in offered), ("interaction_id", "url"),
                  out_file or sys.stdout)
    finally:
        if out_file:
            out_file.close()
    for error in report.errors[:MAX_PRINTED_ERRORS]:
        print(error, file=sys.stderr)
    if report.rejected > MAX_PRINTED_ERRORS:
        print(f"... and {report.rejected - MAX_PRINTED_ERRORS} more rejected rows", file=sys.stderr)
    email_line = ""
    if any(contacts.get(i, ("", ""))[0] for i in landed):
        if not mail_configured(settings):
            email_line = " emails=not configured (STARBOARD_SMTP_URL is not set)"
        else:
            email_line = f" emails queued={emails['queued']} unsubscribed={emails['unsubscribed']}"
    print(f"{path.name}: {report.summary()} links={len(offered)}{email_line}", file=sys.stderr)
    return report.exit_code
