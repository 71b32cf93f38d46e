"""Survey e-mail (issue 14, section 3): the request e-mail over real SMTP, its star and unsubscribe
links on a real server, retries and failure, `survey request FILE.csv`, survey offers and the
response rate over offers.

A local SMTP server (aiosmtpd) in this process receives the e-mails; the live server
(``streamlit run app.py``) gets its address in STARBOARD_SMTP_URL, so its own background
sender delivers. A closed port stands in for a mail server that is down.
"""

from __future__ import annotations

import csv
import email
import email.policy
import re
import threading
import time
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
import requests
from aiosmtpd.controller import Controller
from sqlalchemy import text
from sqlmodel import Session

from db import outbox
from db.engine import make_engine
from db.queries import Scope, interaction_sums
from db.survey_mail_store import offers, record_offers, subjects, unsubscribe
from db.models import utcnow
from leaderboard.auth import SYSTEM_VIEWER
from leaderboard.board import build_board
from leaderboard.mail_rules import address_hash, parse_smtp_url, sign_unsubscribe, verify_unsubscribe
from leaderboard.settings import Settings
from leaderboard.survey_mail import MAIL_KIND, SurveyRequest, offer_surveys, run_outbox
from tests.browser_util import free_port
from tests.cli_util import run_cli
from tests.factories import add_interactions, add_rows, rating_row
from tests.http_util import SECRET, live_server

AGENT, TEAM = "Maria Santos", "Alpha"  # public name "Maria S."
EVIL_NAME = 'Bob <img src=x onerror=alert(1)> & "Co"'


# --------------------------------------------------------------------------- a local SMTP server


class Inbox:
    """What the local SMTP server received: (envelope recipients, parsed message)."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], email.message.EmailMessage]] = []
        self._changed = threading.Condition()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._changed:
            self.received.append((list(envelope.rcpt_tos), message))
            self._changed.notify_all()
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for rcpt, m in self.received if address in rcpt]

    def wait_for(self, address: str, *, deadline_s: float = 90) -> email.message.EmailMessage:
        """The first message to ``address``, waiting for the server's sender (a deadline, not a timing check)."""
        with self._changed:
            self._changed.wait_for(lambda: self.to(address), timeout=deadline_s)
        found = self.to(address)
        assert found, f"no e-mail to {address} arrived"
        return found[0]


@pytest.fixture(scope="module")
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, f"smtp://127.0.0.1:{controller.port}"
    finally:
        controller.stop()


def closed_port_url() -> str:
    return f"smtp://127.0.0.1:{free_port()}"  # nothing listens there: connection refused


def settings_for(db_url: str, smtp_url: str = "", **more) -> Settings:
    return Settings(database_url=db_url, smtp_url=smtp_url, smtp_from="survey@starboard.test",
                    public_url="https://feedback.example.com", secret_key=SECRET, **more)


def star_links(body: str) -> dict[int, str]:
    return {int(n): url for url, n in re.findall(r"(https?://\S+?\?stars=(\d))", body)}


def parts(message: email.message.EmailMessage) -> tuple[str, str]:
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


# --------------------------------------------------------------------------- the e-mail, sent and not sent


def test_request_email_reaches_the_customer_with_star_links_and_unsubscribe(engine, db_url, smtp):
    inbox, smtp_url = smtp
    (interaction,) = add_interactions(engine, AGENT, 1, team=TEAM)
    settings = settings_for(db_url, smtp_url)
    offered = offer_surveys(engine=engine, settings=settings, secret=SECRET.encode(), channel="api",
                            requests=[SurveyRequest(interaction, "ana@example.com", EVIL_NAME)])
    assert [o.email for o in offered] == ["queued"]
    # Asking again (a retried API call) queues nothing new.
    offer_surveys(engine=engine, settings=settings, secret=SECRET.encode(), channel="api",
                  requests=[SurveyRequest(interaction, "ana@example.com", EVIL_NAME)])
    assert len(outbox.messages(engine, kind=MAIL_KIND)) == 1

    counts = run_outbox(engine=engine, settings=settings)
    assert (counts.sent, counts.retried, counts.failed) == (1, 0, 0)
    message = inbox.wait_for("ana@example.com")
    assert message["From"] == "survey@starboard.test"
    assert message["Subject"] == "How did Maria S. do?"
    plain, html = parts(message)
    survey_url = offered[0].url
    assert star_links(plain) == {n: f"{survey_url}?stars={n}" for n in range(1, 6)}
    assert star_links(html) == {n: f"{survey_url}?stars={n}" for n in range(1, 6)}
    assert "Maria S." in plain and "Maria Santos" not in plain
    # The customer's name is text in the HTML: escaped, never markup.
    assert "<img" not in html and "Bob &lt;img src=x onerror=alert(1)&gt; &amp; &quot;Co&quot;" in html
    assert EVIL_NAME in plain
    unsubscribe_link = re.search(r"<(https://feedback\.example\.com/u/[^>]+)>", message["List-Unsubscribe"]).group(1)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe_link in plain and unsubscribe_link in html
    assert verify_unsubscribe(urlsplit(unsubscribe_link).path.rsplit("/", 1)[1], secret=SECRET.encode()) == \
        address_hash("ana@example.com")
    assert "ana@example.com" not in unsubscribe_link

    (row,) = outbox.messages(engine, kind=MAIL_KIND)
    assert row["status"] == "sent" and row["attempts"] == 1 and row["sent_at"] is not None
    assert row["recipient"] == ""  # the address is not kept once the e-mail is sent
    assert offers(engine, interaction_id=interaction) == ["api", "email"]
    # Nothing left to send.
    assert run_outbox(engine=engine, settings=settings).total == 0


def test_not_configured_and_unsubscribed_addresses_get_nothing(engine, db_url, smtp):
    inbox, smtp_url = smtp
    first, second, third = add_interactions(engine, AGENT, 3, team=TEAM)
    plain = offer_surveys(engine=engine, settings=settings_for(db_url), secret=b"s", channel="link",
                          requests=[SurveyRequest(first, "nomail@example.com")])
    assert plain[0].email == "not configured" and plain[0].url
    assert outbox.messages(engine) == []

    settings = settings_for(db_url, smtp_url)
    # Queued before the customer unsubscribed: checked again when it is sent, and skipped.
    queued = offer_surveys(engine=engine, settings=settings, secret=SECRET.encode(), channel="api",
                           requests=[SurveyRequest(second, "Gone@Example.com")])
    assert queued[0].email == "queued"
    assert unsubscribe(engine, viewer=SYSTEM_VIEWER, address_hash=address_hash(" gone@example.com "))
    assert not unsubscribe(engine, viewer=SYSTEM_VIEWER, address_hash=address_hash("gone@example.com"))
    counts = run_outbox(engine=engine, settings=settings)
    assert (counts.sent, counts.skipped) == (0, 1)
    (row,) = outbox.messages(engine, kind=MAIL_KIND)
    assert row["status"] == "skipped" and row["last_error"] == "unsubscribed" and row["recipient"] == ""
    # Asked after unsubscribing: never queued.
    later = offer_surveys(engine=engine, settings=settings, secret=SECRET.encode(), channel="api",
                          requests=[SurveyRequest(third, "gone@example.com")])
    assert later[0].email == "unsubscribed"
    assert len(outbox.messages(engine, kind=MAIL_KIND)) == 1
    assert inbox.to("gone@example.com") == [] and inbox.to("Gone@Example.com") == []
    assert offers(engine, interaction_id=second) == ["api"]  # no e-mail went out: no e-mail offer


def test_a_mail_server_that_is_down_means_retries_then_failed_and_nothing_lost(engine, db_url):
    (interaction,) = add_interactions(engine, AGENT, 1, team=TEAM)
    settings = settings_for(db_url, closed_port_url(), mail_max_attempts=3)
    offer_surveys(engine=engine, settings=settings, secret=SECRET.encode(), channel="api",
                  requests=[SurveyRequest(interaction, "wait@example.com")])
    start = utcnow() + timedelta(seconds=1)
    first = run_outbox(engine=engine, settings=settings, now=start)
    assert (first.sent, first.retried, first.failed) == (0, 1, 0)
    (row,) = outbox.messages(engine)
    assert row["status"] == "queued" and row["attempts"] == 1
    assert row["next_attempt_at"] == start + timedelta(minutes=1)  # backoff: 1, then 2 minutes
    assert "ConnectionRefusedError" in row["last_error"]
    assert run_outbox(engine=engine, settings=settings, now=start + timedelta(seconds=59)).total == 0  # not due
    second = run_outbox(engine=engine, settings=settings, now=start + timedelta(minutes=1))
    assert second.retried == 1
    (row,) = outbox.messages(engine)
    assert row["next_attempt_at"] == start + timedelta(minutes=3)
    third = run_outbox(engine=engine, settings=settings, now=start + timedelta(minutes=3))
    assert (third.retried, third.failed) == (0, 1)
    (row,) = outbox.messages(engine)
    assert row["status"] == "failed" and row["attempts"] == 3 and "ConnectionRefusedError" in row["last_error"]
    assert row["recipient"] == "wait@example.com"  # kept: a failed e-mail can be sent again
    assert run_outbox(engine=engine, settings=settings, now=start + timedelta(days=1)).total == 0
    assert offers(engine, interaction_id=interaction) == ["api"]


def test_survey_send_command_prints_counts_and_reports_errors(engine, db_url, smtp):
    inbox, smtp_url = smtp
    (interaction,) = add_interactions(engine, AGENT, 1, team=TEAM)
    down = closed_port_url()
    offer_surveys(engine=engine, settings=settings_for(db_url, down), secret=SECRET.encode(), channel="api",
                  requests=[SurveyRequest(interaction, "cron@example.com")])
    result = run_cli("survey", "send", db=db_url, env={"STARBOARD_SMTP_URL": down})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "sent=0 retried=1 failed=0 skipped=0 queued=1"
    assert "ConnectionRefusedError" in result.stderr and "Traceback" not in result.stderr
    assert run_cli("survey", "send", db=db_url, env={"STARBOARD_SMTP_URL": None}).error_line() == \
        "error: STARBOARD_SMTP_URL is not set: there is no mail server to send to"
    with engine.begin() as conn:  # due now (the next try is a minute away)
        conn.execute(text("UPDATE outbox SET next_attempt_at = :now"), {"now": utcnow() - timedelta(seconds=1)})
    result = run_cli("survey", "send", db=db_url, env={"STARBOARD_SMTP_URL": smtp_url})
    assert result.stdout.strip() == "sent=1 retried=0 failed=0 skipped=0 queued=0"
    assert inbox.wait_for("cron@example.com")["Subject"] == "How did Maria S. do?"


def test_two_senders_never_take_the_same_message(engine, db_url):
    add_interactions(engine, AGENT, 3, team=TEAM)
    ids = [r[0] for r in engine.connect().execute(text("SELECT interaction_id FROM interaction")).all()]
    settings = settings_for(db_url, closed_port_url())
    offer_surveys(engine=engine, settings=settings, secret=SECRET.encode(), channel="api",
                  requests=[SurveyRequest(i, f"{n}@example.com") for n, i in enumerate(ids)])
    token_a, first = outbox.claim(engine, limit=2)
    token_b, second = outbox.claim(engine, limit=5)
    assert len(first) == 2 and len(second) == 1 and token_a != token_b
    assert not {m.id for m in first} & {m.id for m in second}
    assert outbox.claim(engine)[1] == []  # all leased
    # A lease that ran out is due again (a sender died); the dead sender can no longer mark it.
    _, again = outbox.claim(engine, now=utcnow() + outbox.LEASE + timedelta(seconds=1))
    assert len(again) == 3
    assert not outbox.finish(engine, first[0], token=token_a, outcome="sent")


def test_two_senders_at_once_deliver_each_email_exactly_once(engine, db_url, smtp):
    inbox, smtp_url = smtp
    ids = add_interactions(engine, AGENT, 12, team=TEAM)
    settings = settings_for(db_url, smtp_url)
    offer_surveys(engine=engine, settings=settings, secret=SECRET.encode(), channel="api",
                  requests=[SurveyRequest(i, f"race{n}@example.com") for n, i in enumerate(ids)])
    other = make_engine(db_url)  # a second process's own connections
    results: list = []

    def sender(eng) -> None:
        try:
            while run_outbox(engine=eng, settings=settings, limit=2).total:
                pass
            results.append("done")
        except Exception as exc:  # reported below
            results.append(exc)

    threads = [threading.Thread(target=sender, args=(eng,)) for eng in (engine, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    other.dispose()
    assert results == ["done", "done"]
    assert outbox.status_counts(engine, kind=MAIL_KIND) == {"queued": 0, "sent": 12, "failed": 0, "skipped": 0}
    assert [len(inbox.to(f"race{n}@example.com")) for n in range(12)] == [1] * 12


def test_smtp_addresses():
    assert parse_smtp_url("smtp://user:p%40ss@mail.example.com:587") == \
        parse_smtp_url("smtp://user:p%40ss@mail.example.com")
    config = parse_smtp_url("smtp://user:p%40ss@mail.example.com")
    assert (config.security, config.port, config.username, config.password) == ("starttls", 587, "user", "p@ss")
    assert "p@ss" not in repr(config)
    assert parse_smtp_url("smtps://u:p@mail.example.com").security == "tls"
    assert parse_smtp_url("smtps://u:p@mail.example.com").port == 465
    local = parse_smtp_url("smtp://127.0.0.1:2525")
    assert (local.security, local.port, local.username) == ("none", 2525, "")
    with pytest.raises(ValueError):
        parse_smtp_url("http://mail.example.com")
    token = sign_unsubscribe(address_hash("a@b.c"), secret=b"k")
    assert verify_unsubscribe(token, secret=b"other") is None
    assert verify_unsubscribe(token[:-2] + "xx", secret=b"k") is None
    assert verify_unsubscribe("../../etc", secret=b"k") is None


def test_a_bad_smtp_setting_is_one_line_that_hides_the_password(db_url):
    result = run_cli("survey", "send", db=db_url, env={"STARBOARD_SMTP_URL": "smtp://u:hunter2@host:port"})
    assert result.returncode == 2 and "STARBOARD_SMTP_URL" in result.stderr
    assert "hunter2" not in result.stderr and "Traceback" not in result.stderr


# --------------------------------------------------------------------------- survey request FILE.csv

HEADER = "interaction_id,agent,team,site,channel,contact_reason,closed_at,customer_email,customer_name\n"


def test_survey_request_creates_interactions_writes_links_and_queues_emails(db_url, engine, tmp_path, smtp):
    inbox, smtp_url = smtp
    closed = (utcnow() - timedelta(hours=1)).replace(microsecond=0).isoformat() + "Z"
    source = tmp_path / "asks.csv"
    source.write_text(
        HEADER
        + f"Q-1,Maria Santos,Alpha,Manila,phone,billing,{closed},ann@example.com,Ann\n"
        + f"Q-2,Maria Santos,Alpha,Manila,chat,,{closed},,\n"
        + "Q-3,Maria Santos,Alpha,Manila,chat,,yesterday,not-an-address,\n"
        + f"Q-4,Ned York,Alpha,Manila,email,,{closed},=cmd@example.com,\n",
        encoding="utf-8",
    )
    env = {"STARBOARD_SMTP_URL": smtp_url, "STARBOARD_PUBLIC_URL": "https://fb.example.com",
           "STARBOARD_SECRET_KEY": SECRET}
    result = run_cli("survey", "request", source, db=db_url, env=env)
    assert result.returncode == 1, result.stderr  # some rows were rejected; the rest landed
    lines = result.stdout.splitlines()
    assert lines[0] == "interaction_id,url"
    links = dict(line.split(",") for line in lines[1:])
    assert list(links) == ["Q-1", "Q-2", "Q-4"]
    assert all(url.startswith("https://fb.example.com/s/") for url in links.values())
    assert "asks.csv:4: column closed_at: value 'yesterday': must be an ISO 8601 date-time" in result.stderr
    assert "asks.csv:4: column customer_email: value 'not-an-address': is not an e-mail address" in result.stderr
    assert "Traceback" not in result.stderr
    assert "read=4 inserted=3 updated=0 unchanged=0 rejected=1 links=3 emails queued=2 unsubscribed=0" in result.stderr
    with engine.connect() as conn:
        assert sorted(subjects(conn, ["Q-1", "Q-2", "Q-3", "Q-4"])) == ["Q-1", "Q-2", "Q-4"]
        audit = conn.execute(text("SELECT actor, target, detail FROM audit_log WHERE action = 'survey_request'")).all()
    assert [(a, t) for a, t, _ in audit] == [("system", "asks.csv")] and "rejected=1" in audit[0][2]
    assert offers(engine, interaction_id="Q-1") == ["link"]

    sent = run_cli("survey", "send", db=db_url, env=env)
    assert sent.stdout.strip() == "sent=2 retried=0 failed=0 skipped=0 queued=0", sent.stderr
    plain, _ = parts(inbox.wait_for("ann@example.com"))
    assert star_links(plain)[3] == links["Q-1"] + "?stars=3"
    assert "Hello Ann," in plain
    assert inbox.wait_for("=cmd@example.com")["Subject"] == "How did Ned Y. do?"
    assert offers(engine, interaction_id="Q-1") == ["email", "link"]

    # Again, into a file: the same interactions (unchanged), no second e-mail; the links go to --out.
    out = tmp_path / "links.csv"
    again = run_cli("survey", "request", source, "--out", out, db=db_url, env=env)
    assert again.returncode == 1 and again.stdout == ""
    assert out.read_text(encoding="utf-8").splitlines()[0] == "interaction_id,url"
    assert "inserted=0 updated=0 unchanged=3 rejected=1" in again.stderr
    assert len(outbox.messages(engine, kind=MAIL_KIND)) == 2


def test_survey_request_refuses_what_it_cannot_read(db_url, tmp_path):
    no_column = tmp_path / "short.csv"
    no_column.write_text("interaction_id,agent,team,site,channel\nX,A,B,C,phone\n", encoding="utf-8")
    assert run_cli("survey", "request", no_column, db=db_url).error_line() == (
        "error: cannot read short.csv: missing columns contact_reason, closed_at (expected: interaction_id, agent, "
        "team, site, channel, contact_reason, closed_at; optional: leader, agent_external_id, customer_email, "
        "customer_name)"
    )
    assert run_cli("survey", "request", tmp_path / "none.csv", db=db_url).error_line() == \
        "error: cannot read none.csv: no such file"
    rated = tmp_path / "rated.csv"
    rated.write_text(
        "interaction_id,agent,team,site,channel,contact_reason,closed_at,rated_at,stars\n"
        "Z-1,Ann Lee,Alpha,Manila,phone,,2026-11-30T10:00:00Z,,\n"
        "Z-2,Ann Lee,Alpha,Manila,phone,,2026-11-30T10:00:00Z,,5\n",
        encoding="utf-8",
    )
    result = run_cli("survey", "request", rated, db=db_url)
    assert result.returncode == 1
    assert "rated.csv:3: column stars: value '5': must be empty: a survey request asks for the rating" in result.stderr
    assert [line.split(",")[0] for line in result.stdout.splitlines()] == ["interaction_id", "Z-1"]


def test_survey_link_records_a_link_offer(engine, db_url):
    (interaction,) = add_interactions(engine, AGENT, 1, team=TEAM)
    result = run_cli("survey", "link", interaction, db=db_url)
    assert result.returncode == 0, result.stderr
    assert offers(engine, interaction_id=interaction) == ["link"]
    run_cli("survey", "link", interaction, db=db_url)
    assert offers(engine, interaction_id=interaction) == ["link"]  # one offer per channel


# --------------------------------------------------------------------------- the response rate over offers

# Hand-worked (period: 2026-11-02 .. 2026-11-08; everything closes on 2026-11-04 unless said otherwise).
#
# agent   closed  rated  offered (channels)                      rule              rate
# Ann       4       1    none                                    rated ÷ closed    1/4 = 25 %
# Ben       6       4    4 (link), 2 of them rated; the 2 not    rated offered ÷   2/4 = 50 %
#                        offered are both rated                  offered           (was 4/6)
# Cid       3       1    c1 link+email (rated), c2 api            same              1/2 = 50 %
#                        (not rated), c3 none                                        (c1 counted once)
# Dee       2       1    none in the period; one offered          rated ÷ closed    1/2 = 50 %
#                        interaction closes the week after
# team Alpha (Ann, Ben, Cid, Dee): (1+2+1+1) ÷ (4+4+2+2) = 5/12 = 41.7 %
CASES = {"Ann Lee": 25.0, "Ben Ode": 50.0, "Cid Poe": 50.0, "Dee Ray": 50.0}
DAY = datetime(2026, 11, 4, 9, 0)


def _floor(engine) -> None:
    def rows(agent: str, stars: list[int | None], prefix: str, at: datetime = DAY):
        return [rating_row(agent=agent, stars=s, closed_at=at + timedelta(minutes=i), interaction_id=f"{prefix}{i}",
                           rated_at=(at + timedelta(minutes=i, seconds=30)) if s else None)
                for i, s in enumerate(stars)]

    add_rows(engine, rows("Ann Lee", [5, None, None, None], "A"))
    add_rows(engine, rows("Ben Ode", [4, 5, None, None, 3, 3], "B"))  # B0..B3 offered, B4 and B5 not
    add_rows(engine, rows("Cid Poe", [5, None, None], "C"))
    add_rows(engine, rows("Dee Ray", [4, None], "D") + rows("Dee Ray", [None], "DN", at=DAY + timedelta(days=7)))
    with engine.begin() as conn:
        pk = {s.interaction_id: s.pk for s in subjects(conn, ["B0", "B1", "B2", "B3", "C0", "C1", "DN0"]).values()}
        record_offers(conn, viewer=SYSTEM_VIEWER, interaction_pks=[pk[i] for i in ("B0", "B1", "B2", "B3")], channel="link")
        record_offers(conn, viewer=SYSTEM_VIEWER, interaction_pks=[pk["C0"], pk["DN0"]], channel="link")
        record_offers(conn, viewer=SYSTEM_VIEWER, interaction_pks=[pk["C0"]], channel="email")
        record_offers(conn, viewer=SYSTEM_VIEWER, interaction_pks=[pk["C1"]], channel="api")


def test_response_rate_uses_offers_where_they_are_known(engine, db_url):
    _floor(engine)
    with Session(engine) as session:
        sums = interaction_sums(session=session, scope=Scope(), start=datetime(2026, 11, 2), end=datetime(2026, 11, 9))
        names = dict(session.exec(text("SELECT id, name FROM agent")).all())
    figures = {names[r.agent_id]: (int(r.closed), int(r.rated)) for r in sums.itertuples()}
    assert figures == {"Ann Lee": (4, 1), "Ben Ode": (4, 2), "Cid Poe": (2, 1), "Dee Ray": (2, 1)}
    week = run_cli("rank", "--period", "2026-11-02..2026-11-08", "--format", "csv", db=db_url)
    assert week.returncode == 0, week.stderr
    rates = {r["agent"]: float(r["response_rate"]) for r in csv.DictReader(week.stdout.splitlines())}
    assert rates == CASES
    with Session(engine) as session:  # team standings: the same figures summed per team
        board = build_board(session=session, period="2026-11-02..2026-11-08", with_movement=False)
    (alpha,) = board.teams.to_dict("records")
    assert (int(alpha["closed"]), int(alpha["rated"])) == (12, 5) and round(alpha["response_rate"], 1) == 41.7
    # The next week: Dee's offered interaction, not rated: 0 of 1.
    later = run_cli("rank", "--period", "2026-11-09..2026-11-15", "--format", "csv", db=db_url)
    assert {r["agent"]: r["response_rate"] for r in csv.DictReader(later.stdout.splitlines())}.get("Dee Ray") in ("0.0", "0")


# --------------------------------------------------------------------------- the live server: API, links, unsubscribe


@pytest.fixture(scope="module")
def mail_live(tmp_path_factory, smtp):
    """A real ``streamlit run app.py`` whose sender mails the local SMTP server (a database of its own)."""
    inbox, smtp_url = smtp
    port = free_port()
    env = {"STARBOARD_SMTP_URL": smtp_url, "STARBOARD_SMTP_FROM": "survey@starboard.test",
           "STARBOARD_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    with live_server(tmp_path_factory.mktemp("mail-http"), name="mail", interactions=5, port=port, env=env) as live:
        yield live, inbox


def wait_until(condition, *, deadline_s: float = 60) -> bool:
    """Poll ``condition`` until it holds (a deadline for a background thread, not a timing check)."""
    end = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.1)
    return True


def test_api_email_star_links_and_unsubscribe_on_a_live_server(mail_live):
    live, inbox = mail_live
    key = live.new_key("helpdesk-mail")
    auth = {"Authorization": f"Bearer {key}"}
    closed = (utcnow() - timedelta(minutes=5)).replace(microsecond=0).isoformat() + "Z"
    payload = {"interaction_id": "H-1", "agent": AGENT, "team": TEAM, "site": "Manila", "channel": "email",
               "contact_reason": "refund", "closed_at": closed, "customer_email": "live@example.com",
               "customer_name": EVIL_NAME}
    answer = requests.post(f"{live.url}/api/v1/interactions", json=payload, headers=auth, timeout=30)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["email"] == "queued" and body["survey_url"].startswith(f"{live.url}/s/")

    # The server's own background sender delivers it.
    message = inbox.wait_for("live@example.com")
    plain, html = parts(message)
    links = star_links(plain)
    assert links == {n: f"{body['survey_url']}?stars={n}" for n in range(1, 6)}
    page = requests.get(links[4], timeout=30)
    assert page.status_code == 200
    assert re.search(r'value="4" required checked', page.text) and "Maria S." in page.text
    assert live.scalar("SELECT COUNT(*) FROM rating") == 0  # opening a link records nothing
    # The sender marks the row sent (and records the e-mail offer) right after the server took the e-mail.
    assert wait_until(lambda: live.scalar("SELECT status FROM outbox WHERE ref = 'H-1'") == "sent")
    assert live.scalar("SELECT COUNT(*) FROM survey_offer o JOIN interaction i ON i.id = o.interaction_id "
                       "WHERE i.interaction_id = 'H-1'") == 2  # api and email

    # Unsubscribe: opening the link only asks; the POST records.
    link = re.search(r"<([^>]+)>", message["List-Unsubscribe"]).group(1)
    assert link.startswith(f"{live.url}/u/")
    shown = requests.get(link, timeout=30)
    assert shown.status_code == 200 and 'method="post"' in shown.text
    assert live.scalar("SELECT COUNT(*) FROM mail_unsubscribe") == 0
    done = requests.post(link, data={"List-Unsubscribe": "One-Click"}, timeout=30)
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    assert live.scalar("SELECT COUNT(*) FROM mail_unsubscribe") == 1
    assert live.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'unsubscribed'") == 1
    forged = requests.get(link[:-3] + "abc", timeout=30)
    assert forged.status_code == 404 and "Traceback" not in forged.text

    # The same customer after the next ticket: the URL, no e-mail.
    again = requests.post(f"{live.url}/api/v1/interactions", json={**payload, "interaction_id": "H-2"},
                          headers=auth, timeout=30)
    assert again.status_code == 201 and again.json()["email"] == "unsubscribed"
    assert live.scalar("SELECT COUNT(*) FROM outbox WHERE ref = 'H-2'") == 0
    assert len(inbox.to("live@example.com")) == 1

    # A bad address is refused with the field named, and nothing is written.
    bad = requests.post(f"{live.url}/api/v1/interactions",
                        json={**payload, "interaction_id": "H-3", "customer_email": "no\nreply@x.com"},
                        headers=auth, timeout=30)
    assert bad.status_code == 422 and "customer_email" in bad.text
    assert live.scalar("SELECT COUNT(*) FROM interaction WHERE interaction_id = 'H-3'") == 0
    # Without an address: the URL alone.
    plain_answer = requests.post(f"{live.url}/api/v1/interactions",
                                 json={k: v for k, v in payload.items() if k not in ("customer_email", "customer_name")}
                                 | {"interaction_id": "H-4"}, headers=auth, timeout=30)
    assert plain_answer.status_code == 201 and "email" not in plain_answer.json()
