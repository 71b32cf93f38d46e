"""Notifications (issue 15, delivery): destinations, queue_notification, renderers, the sender.

Real parts: a local HTTP receiver (a ThreadingHTTPServer in this process) stands in for Slack,
Teams and a generic webhook and records what arrives; a local SMTP server (aiosmtpd) for
e-mail; the command line runs in-process (tests/cli_util.py) and, for two senders at once,
as real ``python -m leaderboard notify run`` processes.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import subprocess
import sys
import threading
from datetime import datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from db import notify_store, outbox
from db.models import NotifyDelivery, utcnow
from leaderboard import notify
from leaderboard.auth import SYSTEM_VIEWER
from leaderboard.notify_rules import NotifyInputError, mask_url, parse_kinds, quiet_until
from leaderboard.settings import Settings
from tests.browser_util import free_port
from tests.cli_util import ROOT, run_cli
from tests.factories import make_site, make_team, make_user

EVIL = "Worst <!here> <@channel> <https://evil.example|click> [me](https://evil.example) <b>bold</b> & @everyone"
MESSAGE = {"title": "Paolo R. · 1★", "lines": [f"'{EVIL}'"], "link": "https://starboard.example/recovery?case=DEMO-1",
           "fields": [["case", "DEMO-038512"], ["due", "in 2 h"]]}


# --------------------------------------------------------------------------- a local receiver


class Receiver:
    """A local HTTP server: answers each POST with the next scripted status (then ``default``)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict, int]] = []  # (path, JSON body, status answered)
        self.script: dict[str, list[int]] = {}
        self.default = 200
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's hook name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    queue = receiver.script.get(self.path) or []
                    status = queue.pop(0) if queue else receiver.default
                    receiver.received.append((self.path, json.loads(body or b"{}"), status))
                answer = b"ok" if status < 300 else b"boom: no_service"
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def to(self, path: str, *, ok: bool = True) -> list[dict]:
        with self._lock:
            return [body for p, body, status in self.received if p == path and (not ok or status < 300)]


@pytest.fixture
def receiver():
    r = Receiver()
    r.thread.start()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()


class Inbox:
    def __init__(self) -> None:
        self.received: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.received.append((list(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.content, policy=email.policy.default)))
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, f"smtp://127.0.0.1:{controller.port}"
    finally:
        controller.stop()


def settings(db_url: str, **more) -> Settings:
    return Settings(database_url=db_url, public_url="https://starboard.example", **more)


def add(engine, name, url, scope, kinds, **kw):
    return notify.add(engine=engine, viewer=SYSTEM_VIEWER, name=name, url=url, scope=scope, kinds=kinds, **kw)


def queue(engine, kind, key, message=MESSAGE, **scope) -> int:
    with engine.begin() as conn:
        return notify_store.queue_notification(conn, kind=kind, message=message, dedupe_key=key, **scope)


@pytest.fixture
def manila(engine):
    team = make_team(engine, "Bayanihan", site="Manila", tz="Asia/Manila", leader="lead.m")
    other = make_team(engine, "Other", site="Manila", leader="lead.o")
    return team, other


# --------------------------------------------------------------------------- queueing


def test_queue_notification_one_row_per_covering_destination_and_dedupe(engine, manila, receiver):
    team, other = manila
    add(engine, "leaders", receiver.url("/leaders"), "team:Manila/Bayanihan", "recovery,digest")
    add(engine, "other-team", receiver.url("/other"), "team:Manila/Other", "recovery")
    add(engine, "lead-own", receiver.url("/lead"), "user:lead.m", "recovery")
    add(engine, "shout", receiver.url("/shout"), "site:Manila", "celebration,badge")
    n = queue(engine, "recovery", "case:1", team_id=team.id)
    again = queue(engine, "recovery", "case:1", team_id=team.id)
    public = queue(engine, "celebration", "rating:1", team_id=team.id)
    assert (n, again, public) == (2, 0, 1)
    rows = outbox.messages(engine)
    assert all(r["recipient"] == "" for r in rows)  # the URL stays in its own table
    assert json.loads(rows[-1]["text"]) == MESSAGE

    counts = notify.run(engine=engine, settings=settings(str(engine.url)))
    assert counts.sent == 3
    # The private alert reaches the team's leader channels only; praise the public channel only.
    assert len(receiver.to("/leaders")) == 1 and len(receiver.to("/lead")) == 1
    assert receiver.to("/other") == []
    shout = receiver.to("/shout")
    assert len(shout) == 1 and shout[0]["kind"] == "celebration"
    assert all(body["kind"] == "recovery" for p, body, _ in receiver.received if p != "/shout")


def test_queue_notification_refuses_unknown_kind_and_a_message_without_title(engine):
    with engine.begin() as conn:
        with pytest.raises(ValueError):
            notify_store.queue_notification(conn, kind="gossip", message=MESSAGE, dedupe_key="x")
        with pytest.raises(ValueError):
            notify_store.queue_notification(conn, kind="recovery", message={"lines": []}, dedupe_key="x")


def test_a_destination_mixing_private_and_public_kinds_is_refused():
    with pytest.raises(NotifyInputError, match="praise goes to public channels, criticism only 1:1"):
        parse_kinds("recovery,celebration")
    assert parse_kinds("Digest, recovery") == ("digest", "recovery")


# --------------------------------------------------------------------------- the command line


def test_notify_commands(db_url, manila, receiver):
    secret_url = receiver.url("/services/T000/B000/XXXXsecretXXXX")
    done = run_cli("notify", "add", "bayanihan-leads", secret_url, "--for", "team:Manila/Bayanihan",
                   "--kinds", "recovery,digest", "--type", "slack", "--quiet", "22:00-07:00", "--per-minute", "5",
                   db=db_url)
    assert done.returncode == 0, done.stderr
    assert "XXXXsecretXXXX" not in done.stdout
    listing = run_cli("notify", "list", db=db_url)
    assert listing.returncode == 0 and "bayanihan-leads" in listing.stdout and "team:Manila/Bayanihan" in listing.stdout
    assert "secret" not in listing.stdout and mask_url(secret_url) in listing.stdout

    tested = run_cli("notify", "test", "bayanihan-leads", db=db_url)
    assert tested.returncode == 0 and "HTTP 200: ok" in tested.stdout
    sample = receiver.to("/services/T000/B000/XXXXsecretXXXX")
    assert len(sample) == 1 and "Starboard test message" in sample[0]["text"]

    receiver.default = 404
    refused = run_cli("notify", "test", "bayanihan-leads", db=db_url)
    assert refused.returncode == 1 and "HTTP 404: boom: no_service" in refused.stdout
    assert "secret" not in refused.stdout + refused.stderr

    for args, problem in [
        (("x", secret_url, "--for", "team:Manila/Bayanihan", "--kinds", "recovery,celebration"), "mixes private"),
        (("x", secret_url, "--for", "team:Manila/Nope", "--kinds", "recovery"), "no team 'Nope' at Manila"),
        (("x", secret_url, "--for", "site:Atlantis", "--kinds", "badge"), "no site 'Atlantis'"),
        (("x", secret_url, "--for", "user:nobody", "--kinds", "digest"), "no such user"),
        (("x", secret_url, "--for", "Manila", "--kinds", "digest"), "use team:SITE/TEAM"),
        (("x", secret_url, "--for", "site:Manila", "--kinds", "gossip"), "unknown kind 'gossip'"),
        (("x", secret_url, "--for", "site:Manila", "--kinds", "badge", "--quiet", "25:00-07:00"), "--quiet"),
        (("x", "ftp://host/x", "--for", "site:Manila", "--kinds", "badge"), "URL must start with https://"),
        (("x", "mailto:not-an-address", "--for", "site:Manila", "--kinds", "badge"), "mailto:name@example.com"),
        (("x", secret_url, "--for", "site:Manila", "--kinds", "badge", "--per-minute", "0"), "--per-minute 0"),
        (("bayanihan-leads", secret_url, "--for", "site:Manila", "--kinds", "badge"), "is taken"),
    ]:
        bad = run_cli("notify", "add", *args, db=db_url)
        line = bad.error_line()
        assert problem in line, (args, line)
        assert "secret" not in line

    assert run_cli("notify", "remove", "nope", db=db_url).error_line().startswith("error: no destination 'nope'")
    assert run_cli("notify", "test", "nope", db=db_url).returncode == 2
    removed = run_cli("notify", "remove", "bayanihan-leads", db=db_url)
    assert removed.returncode == 0
    assert "no destinations" in run_cli("notify", "list", db=db_url).stdout


def test_type_is_inferred_from_the_url():
    from leaderboard.notify_rules import infer_type  # noqa: PLC0415 - one test's helper

    assert infer_type("https://hooks.slack.com/services/T/B/X") == "slack"
    assert infer_type("https://contoso.webhook.office.com/webhookb2/x") == "teams"
    assert infer_type("https://prod-01.westus.logic.azure.com:443/workflows/x") == "teams"
    assert infer_type("mailto:lead@example.com") == "email"
    assert infer_type("https://example.com/hook") == "webhook"
    assert mask_url("https://hooks.slack.com/services/T/B/SECRET") == "https://hooks.slack.com/…"
    assert mask_url("mailto:lead@example.com") == "mailto:l…@example.com"


# --------------------------------------------------------------------------- escaping per channel


def test_user_text_never_pings_links_or_formats(engine, manila, receiver, smtp):
    team, _ = manila
    inbox, smtp_url = smtp
    add(engine, "slack", receiver.url("/slack"), "team:Manila/Bayanihan", "recovery", type_="slack")
    add(engine, "teams", receiver.url("/teams"), "team:Manila/Bayanihan", "recovery", type_="teams")
    add(engine, "hook", receiver.url("/hook"), "team:Manila/Bayanihan", "recovery")
    add(engine, "mail", "mailto:lead.m@example.com", "team:Manila/Bayanihan", "recovery")
    assert queue(engine, "recovery", "case:evil", team_id=team.id) == 4
    counts = notify.run(engine=engine, settings=settings(str(engine.url), smtp_url=smtp_url))
    assert counts.sent == 4, counts.answers

    (slack,) = receiver.to("/slack")
    raw = json.dumps(slack, ensure_ascii=False)
    for live in ("<!here>", "<@channel>", "<https://evil", "<b>", "https://evil", "@everyone"):
        assert live not in raw, live
    assert "&lt;!here&gt;" in slack["text"] and "&lt;@" in slack["text"] and "&amp;" in slack["text"]
    assert slack["mrkdwn"] is False and slack["unfurl_links"] is False
    mrkdwn = [b["text"]["text"] for b in slack["blocks"] if b["text"]["type"] == "mrkdwn"]
    assert mrkdwn == ["<https://starboard.example/recovery?case=DEMO-1|Open in Starboard>"]  # our own link only

    (teams,) = receiver.to("/teams")
    card = teams["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard"
    runs = [i for b in card["body"] if b["type"] == "RichTextBlock" for i in b["inlines"]]
    assert all(r["type"] == "TextRun" for r in runs)  # plain text by the schema: no markdown
    text = " ".join(r["text"] for r in runs)
    for live in ("[me](", "<!here>", "<b>", "https://evil", "<https"):
        assert live not in text, live
    assert not any(b["type"] == "TextBlock" for b in card["body"])
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open in Starboard",
                                "url": "https://starboard.example/recovery?case=DEMO-1"}]

    (hook,) = receiver.to("/hook")
    assert hook["lines"] == MESSAGE["lines"] and hook["kind"] == "recovery"  # raw strings: JSON is data

    ((rcpt, mail),) = inbox.received
    assert rcpt == ["lead.m@example.com"]
    html = mail.get_body(("html",)).get_content()
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html and "<a href" in html
    assert html.count("<a href") == 1
    assert EVIL in mail.get_body(("plain",)).get_content()


# --------------------------------------------------------------------------- retries, failure, retry


def test_500_500_200_is_one_delivery_after_retries(engine, manila, receiver):
    team, _ = manila
    add(engine, "flaky", receiver.url("/flaky"), "team:Manila/Bayanihan", "recovery")
    receiver.script["/flaky"] = [500, 500, 200]
    queue(engine, "recovery", "case:2", team_id=team.id)
    s = settings(str(engine.url))
    t0 = utcnow()
    assert notify.deliver(engine=engine, settings=s, now=t0).retried == 1
    assert notify.deliver(engine=engine, settings=s, now=t0 + timedelta(seconds=30)).total == 0  # not due yet
    assert notify.deliver(engine=engine, settings=s, now=t0 + timedelta(minutes=1, seconds=1)).retried == 1
    assert notify.deliver(engine=engine, settings=s, now=t0 + timedelta(minutes=4)).sent == 1
    assert notify.deliver(engine=engine, settings=s, now=t0 + timedelta(hours=1)).total == 0
    assert [status for p, _, status in receiver.received] == [500, 500, 200]
    assert len(receiver.to("/flaky")) == 1
    assert notify.status(engine=engine)["sent"] == 1


def test_always_failing_is_marked_failed_with_the_answer_and_retry_works(engine, manila, receiver):
    team, _ = manila
    add(engine, "down", receiver.url("/down/SECRETPATH"), "team:Manila/Bayanihan", "recovery")
    receiver.default = 500
    queue(engine, "recovery", "case:3", team_id=team.id)
    s = settings(str(engine.url), notify_max_attempts=3)
    t = utcnow()
    for _ in range(3):
        notify.deliver(engine=engine, settings=s, now=t)
        t += timedelta(hours=1)
    (failed,) = notify.failed(engine=engine)
    assert failed.destination == "down" and failed.attempts == 3 and failed.kind == "recovery"
    assert failed.error == "HTTP 500: boom: no_service" and "SECRET" not in failed.error

    receiver.default = 200
    assert notify.retry(engine=engine, viewer=SYSTEM_VIEWER, outbox_id=failed.id)
    assert not notify.retry(engine=engine, viewer=SYSTEM_VIEWER, outbox_id=failed.id)  # queued now, not failed
    assert notify.deliver(engine=engine, settings=s).sent == 1
    assert notify.failed(engine=engine) == [] and len(receiver.to("/down/SECRETPATH")) == 1


def test_a_4xx_refusal_fails_at_once_and_an_unreachable_destination_says_so(engine, manila, receiver):
    team, _ = manila
    add(engine, "gone", receiver.url("/gone"), "team:Manila/Bayanihan", "recovery")
    add(engine, "nowhere", f"http://127.0.0.1:{free_port()}/x", "user:lead.m", "recovery")
    receiver.script["/gone"] = [410]
    queue(engine, "recovery", "case:4", team_id=team.id)
    counts = notify.deliver(engine=engine, settings=settings(str(engine.url)))
    assert counts.failed == 1 and counts.retried == 1
    assert "could not connect" in counts.answers and "HTTP 410: boom: no_service" in counts.answers


# --------------------------------------------------------------------------- quiet hours, per-minute limit


def test_quiet_hours_hold_until_the_window_ends(engine, manila, receiver):
    team, _ = manila
    add(engine, "night", receiver.url("/night"), "team:Manila/Bayanihan", "recovery", quiet="22:00-07:00")
    queue(engine, "recovery", "case:5", team_id=team.id)
    s = settings(str(engine.url))
    tomorrow = utcnow().date() + timedelta(days=1)
    at_night = datetime.combine(tomorrow, time(15, 30))  # 23:30 in Manila (UTC+8), after the message was queued
    counts = notify.deliver(engine=engine, settings=s, now=at_night)
    assert counts.held == 1 and receiver.received == []
    morning = quiet_until(at_night, "22:00-07:00", "Asia/Manila")
    assert morning == datetime.combine(tomorrow, time(23, 0))  # 07:00 in Manila
    assert notify.deliver(engine=engine, settings=s, now=morning - timedelta(minutes=1)).total == 0
    assert notify.deliver(engine=engine, settings=s, now=morning).sent == 1
    assert len(receiver.to("/night")) == 1


def test_beyond_the_per_minute_limit_messages_collapse_into_and_n_more(engine, manila, receiver):
    team, _ = manila
    add(engine, "busy", receiver.url("/busy"), "team:Manila/Bayanihan", "recovery", per_minute=3)
    for i in range(10):
        queue(engine, "recovery", f"case:{i}", message={"title": f"case {i}", "lines": []}, team_id=team.id)
    s = settings(str(engine.url))
    t = utcnow()
    counts = notify.deliver(engine=engine, settings=s, now=t)
    assert (counts.sent, counts.collapsed) == (3, 7)
    titles = [body["title"] for body in receiver.to("/busy")]
    assert titles == ["case 0", "case 1", "case 2 (and 7 more)"]
    assert "case 9" in receiver.to("/busy")[2]["lines"]
    # The minute's allowance is used: the next one waits for the minute to end.
    queue(engine, "recovery", "case:late", message={"title": "late", "lines": []}, team_id=team.id)
    assert notify.deliver(engine=engine, settings=s, now=t + timedelta(seconds=10)).held == 1
    assert notify.deliver(engine=engine, settings=s, now=t + timedelta(seconds=61)).sent == 1
    assert receiver.to("/busy")[-1]["title"] == "late"
    assert notify.status(engine=engine)["sent"] == 11


# --------------------------------------------------------------------------- two sender processes


def test_two_sender_processes_deliver_each_message_once(db_url, engine, manila, receiver):
    team, _ = manila
    add(engine, "a", receiver.url("/a"), "team:Manila/Bayanihan", "recovery", per_minute=1000)
    add(engine, "b", receiver.url("/b"), "user:lead.m", "recovery", per_minute=1000)
    total = 0
    for i in range(150):
        total += queue(engine, "recovery", f"case:{i}", message={"title": f"m{i}", "lines": []}, team_id=team.id)
    assert total == 300
    loop = ("import sys\nfrom leaderboard.cli import main\n"
            "for _ in range(4):\n    main(['notify', 'run', '--db', sys.argv[1]])\n")
    procs = [subprocess.Popen([sys.executable, "-c", loop, db_url], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    # What the two processes say they sent adds up (each counts only its own deliveries).
    sent = [sum(int(m) for m in re.findall(r" sent=(\d+)", out)) for out, _ in outputs]
    assert sum(sent) == 300, outputs
    titles = [(path, body["title"]) for path, body, _ in receiver.received]
    assert len(titles) == 300 and len(set(titles)) == 300  # every message, each once
    assert notify.status(engine=engine) == {"queued": 0, "sent": 300, "failed": 0, "skipped": 0}


def test_removing_a_destination_drops_its_undelivered_messages(engine, manila, receiver):
    team, _ = manila
    add(engine, "temp", receiver.url("/temp"), "team:Manila/Bayanihan", "recovery")
    queue(engine, "recovery", "case:9", team_id=team.id)
    assert notify.remove(engine=engine, viewer=SYSTEM_VIEWER, name="temp")
    assert notify.status(engine=engine)["queued"] == 0
    with engine.connect() as conn:
        assert conn.execute(select(NotifyDelivery)).all() == []


# --------------------------------------------------------------------------- the Admin page's Notifications tab


def test_admin_notifications_tab_adds_lists_masked_retries_and_removes(db_env, engine, manila, receiver):
    import streamlit as st  # noqa: PLC0415 - only this test drives a page

    from pages.common import md  # noqa: PLC0415 - only this test drives a page
    from tests.app_util import app_as  # noqa: PLC0415 - only this test drives a page

    st.cache_data.clear()
    st.cache_resource.clear()
    team, _ = manila
    at = app_as("qa.admin", role="admin")
    at.run()
    at.switch_page("pages/admin.py").run()
    at.text_input(key="adm_ntf_name").input("leads")
    at.text_input(key="adm_ntf_url").input(receiver.url("/hook/SECRETPART"))
    at.text_input(key="adm_ntf_for").input("team:Manila/Bayanihan")
    at.multiselect(key="adm_ntf_kinds").set_value(["recovery", "celebration"])
    at.button(key="adm_ntf_add").click().run()
    assert not at.exception
    assert any("praise goes to public channels" in e.value for e in at.error)

    at.multiselect(key="adm_ntf_kinds").set_value(["recovery"])
    at.button(key="adm_ntf_add").click().run()
    assert not at.exception and any("Destination “leads” added" in s.value for s in at.success)
    listed = next(d.value for d in at.dataframe if "url" in d.value.columns)
    assert list(listed["url"]) == [mask_url(receiver.url("/x"))] and "SECRET" not in listed.to_csv()

    receiver.default = 500
    queue(engine, "recovery", "case:admin", team_id=team.id)
    notify.deliver(engine=engine, settings=settings(str(engine.url), notify_max_attempts=1))
    (failed,) = notify.failed(engine=engine)
    at.run()
    shown = [m.value for m in at.markdown if "tries" in m.value]
    assert len(shown) == 1 and md("HTTP 500: boom: no_service") in shown[0], shown
    at.button(key=f"adm_ntf_retry_{failed.id}").click().run()
    assert not at.exception and notify.failed(engine=engine) == []
    assert notify.status(engine=engine)["queued"] == 1

    at.selectbox(key="adm_ntf_remove").set_value("leads")
    at.button(key="adm_ntf_remove_btn").click().run()
    assert not at.exception and notify.listed(engine=engine) == []
    st.cache_data.clear()
    st.cache_resource.clear()


def test_a_sender_out_of_lease_hands_messages_back_unsent(engine, manila, receiver, monkeypatch):
    team, _ = manila
    add(engine, "slow", receiver.url("/slow"), "team:Manila/Bayanihan", "recovery")
    queue(engine, "recovery", "case:lease", team_id=team.id)
    monkeypatch.setattr(notify, "RELEASE_MARGIN", notify.LEASE)  # as if the lease were already used up
    assert notify.deliver(engine=engine, settings=settings(str(engine.url))).held == 1
    assert receiver.received == [] and notify.status(engine=engine)["queued"] == 1
    monkeypatch.undo()
    assert notify.deliver(engine=engine, settings=settings(str(engine.url))).sent == 1
