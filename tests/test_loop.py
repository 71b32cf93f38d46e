"""Service recovery, closed loop (issue 15): a resolved case sends the customer a follow-up survey.

The follow-up token is of its own kind; the customer's address is kept only while a follow-up
may need it; the follow-up stars land on the case, never on the rating or the agent's score;
the recovery report's uplift uses them. A local SMTP server (aiosmtpd) receives the e-mails and
a real ``streamlit run app.py`` serves the follow-up page.
"""

from __future__ import annotations

from contextlib import nullcontext

import json
import os
import re
from datetime import timedelta
from html import unescape

import pytest
import requests
import streamlit as st
from sqlalchemy import text
from sqlmodel import Session

from db import followup_store, outbox
from db.engine import make_engine
from db.models import utcnow
from db.survey_mail_store import unsubscribe
from leaderboard.auth import SYSTEM_VIEWER
from leaderboard.mail_rules import address_hash
from leaderboard.recovery_followup import close_case, record_answer
from leaderboard.survey_mail import SurveyRequest, offer_surveys, run_outbox
from leaderboard.survey_tokens import (
    SurveyTokenError, sign_followup, sign_survey, verify_followup, verify_survey,
)
from tests.app_util import app_as
from tests.browser_util import free_port, start_server
from tests.cli_util import run_cli
from tests.conftest import pg_schema_url
from tests.factories import add_interactions, add_rows, make_team, make_user, rating_row
from tests.http_util import SECRET
from tests.test_survey_mail import Inbox, parts, settings_for, smtp, star_links, wait_until  # noqa: F401

AGENT, TEAM, SITE = "Maria Santos", "Alpha", "Manila"
KEY = SECRET.encode()


def scalar(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def answer(engine, interaction_id: str, stars: int) -> None:
    """The customer's rating of a surveyed interaction, through the one write path."""
    add_rows(engine, [rating_row(agent=AGENT, team=TEAM, site=SITE, stars=stars, interaction_id=interaction_id,
                                 closed_at=utcnow() - timedelta(hours=1))])


def case_of(engine, interaction_id: str) -> int:
    return scalar(engine, "SELECT c.id FROM recovery_case c JOIN rating r ON r.id = c.rating_id "
                          "JOIN interaction i ON i.id = r.interaction_id WHERE i.interaction_id = :i", i=interaction_id)


def leader(engine):
    make_team(engine, TEAM, site=SITE, leader="lea")
    return make_user(engine, "lea", role="leader")


def ask(engine, settings, interaction_id: str, address: str, name: str = "Ana") -> None:
    offered = offer_surveys(engine=engine, settings=settings, secret=KEY, channel="api",
                            requests=[SurveyRequest(interaction_id, address, name)])
    assert offered[0].email == "queued"


def close(engine, case_id: int, status: str, settings, user):
    with Session(engine, expire_on_commit=False) as session:
        return close_case(session=session, case_id=case_id, status=status, by=user, viewer=SYSTEM_VIEWER,
                          settings=settings, secret=KEY)


# --------------------------------------------------------------------------- tokens


def test_a_followup_token_is_of_its_own_kind():
    now = utcnow()
    token = sign_followup(42, secret=KEY, expires_at=now + timedelta(days=1))
    assert token.startswith("f.") and verify_followup(token, secret=KEY, now=now) == 42
    survey_token = sign_survey("42", secret=KEY, expires_at=now + timedelta(days=1))
    with pytest.raises(SurveyTokenError):  # neither kind opens the other
        verify_followup(survey_token, secret=KEY, now=now)
    with pytest.raises(SurveyTokenError):
        verify_survey(token, secret=KEY, now=now)
    with pytest.raises(SurveyTokenError) as forged:
        verify_followup(token[:-3] + "abc", secret=KEY, now=now)
    assert forged.value.reason == "forged"
    with pytest.raises(SurveyTokenError) as wrong_key:
        verify_followup(token, secret=b"another", now=now)
    assert wrong_key.value.reason == "forged"
    with pytest.raises(SurveyTokenError) as expired:
        verify_followup(token, secret=KEY, now=now + timedelta(days=2))
    assert expired.value.reason == "expired"


# --------------------------------------------------------------------------- what is kept of an address


def test_an_address_is_kept_only_while_a_followup_may_need_it(engine, db_url, smtp):
    _inbox, smtp_url = smtp
    user = leader(engine)
    on = settings_for(db_url, smtp_url, recovery_followup=True)
    happy, unhappy, silent, stale = add_interactions(engine, AGENT, 4, team=TEAM, site=SITE)
    # Off (the default): nothing is kept beyond the outbox row.
    ask(engine, settings_for(db_url, smtp_url), silent, "off@example.com")
    assert followup_store.kept_count(engine) == 0
    for iid, address in ((happy, "happy@example.com"), (unhappy, "unhappy@example.com"), (stale, "stale@example.com")):
        ask(engine, on, iid, address)
    assert followup_store.kept_count(engine) == 3
    run_outbox(engine=engine, settings=on)  # the survey e-mails go; their outbox copies are erased
    assert scalar(engine, "SELECT COUNT(*) FROM outbox WHERE recipient <> ''") == 0
    assert followup_store.kept_count(engine) == 3  # not answered yet: kept

    answer(engine, happy, 5)  # no case: erased at the next sender tick
    answer(engine, unhappy, 1)  # a case opens: kept
    run_outbox(engine=engine, settings=on)
    kept = scalar(engine, "SELECT COUNT(*) FROM followup_address")
    assert kept == 2
    assert scalar(engine, "SELECT address FROM followup_address f JOIN interaction i ON i.id = f.interaction_id "
                          "WHERE i.interaction_id = :i", i=happy) is None
    assert scalar(engine, "SELECT COUNT(*) FROM audit_log WHERE action = 'followup_addresses_erased'") == 1

    # The bounded retention: past STARBOARD_FOLLOWUP_ADDRESS_DAYS it goes, case or not.
    assert followup_store.purge(engine, viewer=SYSTEM_VIEWER, now=utcnow() + timedelta(days=15)) == 2
    assert followup_store.kept_count(engine) == 0

    # A case closed without a follow-up (no response) erases its address at once.
    (other,) = add_interactions(engine, AGENT, 1, team=TEAM, site=SITE)
    ask(engine, on, other, "other@example.com")
    answer(engine, other, 2)
    closed = close(engine, case_of(engine, other), "no_response", on, user)
    assert closed.followup == "" and followup_store.kept_count(engine) == 0
    assert scalar(engine, "SELECT COUNT(*) FROM outbox WHERE kind = 'recovery_followup'") == 0


def test_resolving_a_case_emails_the_followup_once_and_erases_the_address(engine, db_url, smtp):
    inbox, smtp_url = smtp
    user = leader(engine)
    on = settings_for(db_url, smtp_url, recovery_followup=True)
    iid, unsub = add_interactions(engine, AGENT, 2, team=TEAM, site=SITE)
    ask(engine, on, iid, "sorry@example.com", 'Bob <b>&</b> "Co"')
    ask(engine, on, unsub, "gone@example.com")
    answer(engine, iid, 1)
    answer(engine, unsub, 2)
    run_outbox(engine=engine, settings=on)
    case_id = case_of(engine, iid)

    # Contacting does not close: nothing is sent, the address stays.
    assert close(engine, case_id, "contacted", on, user).followup == ""
    assert followup_store.kept_count(engine) == 2
    closed = close(engine, case_id, "resolved", on, user)
    assert closed.followup == "queued"
    assert followup_store.kept_count(engine) == 1  # moved to the outbox row, erased here
    assert scalar(engine, "SELECT COUNT(*) FROM audit_log WHERE action = 'recovery_followup_queued'") == 1
    # Reopened and resolved again: one follow-up per case, ever (the address is gone anyway).
    close(engine, case_id, "open", on, user)
    assert close(engine, case_id, "resolved", on, user).followup == "no address"
    assert len(outbox.messages(engine, kind="recovery_followup")) == 1

    counts = run_outbox(engine=engine, settings=on)
    assert counts.sent == 1
    assert wait_until(lambda: len(inbox.to("sorry@example.com")) == 2)  # the survey, then the follow-up
    message = inbox.to("sorry@example.com")[1]
    assert message["Subject"] == "Sorry, and how did we do now?"
    plain, html = parts(message)
    assert "We are sorry" in plain and "Alpha" in plain
    links = star_links(plain)
    assert sorted(links) == [1, 2, 3, 4, 5] and all("/s/f." in url for url in links.values())
    token = links[4].rsplit("/s/", 1)[1].split("?")[0]
    assert verify_followup(token, secret=KEY, now=utcnow()) == case_id
    assert "<b>" not in html and "Bob &lt;b&gt;&amp;&lt;/b&gt; &quot;Co&quot;" in html
    (row,) = outbox.messages(engine, kind="recovery_followup")
    assert row["status"] == "sent" and row["recipient"] == ""  # the last copy of the address, erased

    # An unsubscribed customer gets no follow-up; the address is erased all the same.
    unsubscribe(engine, viewer=SYSTEM_VIEWER, address_hash=address_hash("gone@example.com"))
    assert close(engine, case_of(engine, unsub), "resolved", on, user).followup == "unsubscribed"
    assert followup_store.kept_count(engine) == 0
    assert len(outbox.messages(engine, kind="recovery_followup")) == 1


def test_the_followup_answer_goes_on_the_case_never_on_the_rating(engine, db_url):
    (iid,) = add_interactions(engine, AGENT, 1, team=TEAM, site=SITE)
    answer(engine, iid, 1)
    case_id = case_of(engine, iid)
    assert record_answer(engine=engine, case_id=case_id, stars=5, comment="Much better, thank you") == "recorded"
    assert record_answer(engine=engine, case_id=case_id, stars=1) == "already"
    assert record_answer(engine=engine, case_id=case_id + 999, stars=3) == "missing"
    assert scalar(engine, "SELECT followup_stars FROM recovery_case WHERE id = :c", c=case_id) == 5
    assert scalar(engine, "SELECT stars FROM rating r JOIN interaction i ON i.id = r.interaction_id "
                          "WHERE i.interaction_id = :i", i=iid) == 1
    notes = scalar(engine, "SELECT notes FROM recovery_case WHERE id = :c", c=case_id)
    assert "customer: follow-up rating 5★: Much better, thank you" in notes


def test_recovery_update_command_says_what_happened_to_the_followup(engine, db_url, smtp):
    _inbox, smtp_url = smtp
    leader(engine)
    (iid,) = add_interactions(engine, AGENT, 1, team=TEAM, site=SITE)
    on = settings_for(db_url, smtp_url, recovery_followup=True)
    ask(engine, on, iid, "cli@example.com")
    answer(engine, iid, 1)
    env = {"STARBOARD_SMTP_URL": smtp_url, "STARBOARD_RECOVERY_FOLLOWUP": "1", "STARBOARD_SECRET_KEY": SECRET}
    result = run_cli("recovery", "update", str(case_of(engine, iid)), "--status", "resolved", "--by", "lea",
                     db=db_url, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"case {case_of(engine, iid)}: resolved",
                                          "follow-up: follow-up survey e-mail queued"]
    bad = run_cli("recovery", "update", "999999", "--status", "resolved", "--by", "lea", db=db_url, env=env)
    assert "no recovery case 999999" in bad.error_line()


# --------------------------------------------------------------------------- the live server


@pytest.fixture(scope="module")
def loop_live(tmp_path_factory, smtp):
    """A real server mailing the local SMTP server, with the follow-up on (a database of its own)."""
    inbox, smtp_url = smtp
    folder = tmp_path_factory.mktemp("loop-http")
    base = os.environ.get("TEST_DATABASE_URL", "").strip()
    port = free_port()
    env = {"STARBOARD_SECRET_KEY": SECRET, "STARBOARD_SMTP_URL": smtp_url, "STARBOARD_SMTP_FROM": "survey@starboard.test",
           "STARBOARD_PUBLIC_URL": f"http://127.0.0.1:{port}", "STARBOARD_RECOVERY_FOLLOWUP": "1"}
    with (pg_schema_url(base, f"sb_loop_{os.getpid()}") if base else nullcontext()) as pg_url:
        url = pg_url or f"sqlite:///{folder / 'starboard.db'}"
        engine = make_engine(url)
        make_team(engine, TEAM, site=SITE, leader="lea")
        server = start_server(database_url=url, log_path=folder / "streamlit.log", port=port, extra_env=env)
        try:
            yield server, engine, url, env, inbox
        finally:
            server.stop()
            engine.dispose()


def form_token_of(page: str) -> str:
    return unescape(re.search(r'name="form_token" value="([^"]+)"', page).group(1))


def test_followup_link_opens_the_followup_survey_and_stores_its_stars(loop_live):
    server, engine, db_url, env, inbox = loop_live
    key = run_cli("apikeys", "add", "loop-desk", db=db_url).stdout.strip().splitlines()[-1]
    closed_at = (utcnow() - timedelta(minutes=5)).replace(microsecond=0).isoformat() + "Z"
    payload = {"interaction_id": "L-1", "agent": AGENT, "team": TEAM, "site": SITE, "channel": "email",
               "contact_reason": "refund", "closed_at": closed_at, "customer_email": "loop@example.com",
               "customer_name": "Ana"}
    made = requests.post(f"{server.url}/api/v1/interactions", json=payload,
                         headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert made.status_code == 201 and made.json()["email"] == "queued", made.text

    # The customer answers the survey e-mail with 1 star: a case opens, the address is kept.
    survey_url = star_links(parts(inbox.wait_for("loop@example.com"))[0])[1]
    page = requests.get(survey_url, timeout=30)
    sent = requests.post(survey_url.split("?")[0], data={"form_token": form_token_of(page.text), "stars": "1",
                                                         "comment": "Worst experience"}, timeout=30)
    assert sent.status_code == 200, sent.text
    case_id = case_of(engine, "L-1")
    assert case_id is not None and scalar(engine, "SELECT COUNT(*) FROM followup_address") == 1

    # The leader resolves it on the command line; the server's own sender mails the follow-up.
    done = run_cli("recovery", "update", str(case_id), "--status", "resolved", "--by", "lea", db=db_url, env=env)
    assert done.returncode == 0 and "follow-up survey e-mail queued" in done.stdout, done.stdout + done.stderr
    assert scalar(engine, "SELECT COUNT(*) FROM followup_address") == 0
    assert wait_until(lambda: len(inbox.to("loop@example.com")) == 2, deadline_s=90)
    followup = inbox.to("loop@example.com")[1]
    assert followup["Subject"] == "Sorry, and how did we do now?"
    links = star_links(parts(followup)[0])
    assert all(url.startswith(f"{server.url}/s/f.") for url in links.values())

    # The follow-up link opens the follow-up survey (marked as one), four stars preselected.
    shown = requests.get(links[4], timeout=30)
    assert shown.status_code == 200 and 'data-testid="followup"' in shown.text
    assert "Sorry, and how did we do now?" in shown.text and 'value="4" required checked' in shown.text
    assert scalar(engine, "SELECT followup_stars FROM recovery_case WHERE id = :c", c=case_id) is None
    # A forged follow-up link is a friendly 404; a wrong form token 403.
    assert requests.get(links[4].split("?")[0][:-3] + "abc", timeout=30).status_code == 404
    bare = links[4].split("?")[0]
    assert requests.post(bare, data={"form_token": "1.abc", "stars": "4"}, timeout=30).status_code == 403
    missing = requests.post(bare, data={"form_token": form_token_of(shown.text)}, timeout=30)
    assert missing.status_code == 422 and "Please choose" in missing.text

    stored = requests.post(bare, data={"form_token": form_token_of(shown.text), "stars": "4",
                                       "comment": "<b>Better</b> now"}, timeout=30)
    assert stored.status_code == 200 and 'data-testid="thanks"' in stored.text
    assert scalar(engine, "SELECT followup_stars FROM recovery_case WHERE id = :c", c=case_id) == 4
    # The original rating (and so the agent's score) is unchanged.
    assert scalar(engine, "SELECT stars FROM rating r JOIN interaction i ON i.id = r.interaction_id "
                          "WHERE i.interaction_id = 'L-1'") == 1
    assert scalar(engine, "SELECT COUNT(*) FROM rating") == 1
    again = requests.post(bare, data={"form_token": form_token_of(shown.text), "stars": "5"}, timeout=30)
    assert again.status_code == 409
    assert scalar(engine, "SELECT followup_stars FROM recovery_case WHERE id = :c", c=case_id) == 4
    # The ordinary survey link still says it has the answer; the report's uplift uses the follow-up.
    report = run_cli("recovery", "report", "--period", "all", "--format", "json", db=db_url)
    assert report.returncode == 0, report.stderr
    (everyone,) = [row for row in json.loads(report.stdout) if row["team"] == "All"]
    assert (everyone["followups"], everyone["original_avg"], everyone["followup_avg"], everyone["uplift"]) == (1, 1.0, 4.0, 3.0)


# --------------------------------------------------------------------------- the Recovery page


def test_resolving_on_the_recovery_page_queues_the_followup_and_says_so(db_env, engine, db_url, monkeypatch):
    smtp_url = "smtp://127.0.0.1:2"  # only queued here: nothing is sent
    for name, value in {"STARBOARD_RECOVERY_FOLLOWUP": "1", "STARBOARD_SMTP_URL": smtp_url,
                        "STARBOARD_SECRET_KEY": SECRET}.items():
        monkeypatch.setenv(name, value)
    st.cache_data.clear()
    st.cache_resource.clear()
    make_team(engine, TEAM, site=SITE, leader="lead.a")
    (iid,) = add_interactions(engine, AGENT, 1, team=TEAM, site=SITE)
    ask(engine, settings_for(db_url, smtp_url, recovery_followup=True), iid, "page@example.com")
    answer(engine, iid, 1)
    try:
        at = app_as("lead.a", role="leader")
        at.run()
        at.switch_page("pages/recovery.py").run()
        assert at.selectbox(key="rc_case").value == case_of(engine, iid)
        at.button(key="rc_resolved").click().run()
        assert not at.exception, [e.message for e in at.exception]
        assert any("(Follow-up survey e-mail queued.)" in unescape(str(s.value)) for s in at.success), [s.value for s in at.success]
        assert scalar(engine, "SELECT COUNT(*) FROM outbox WHERE kind = 'recovery_followup'") == 1
        assert followup_store.kept_count(engine) == 0
    finally:
        st.cache_data.clear()
        st.cache_resource.clear()
