"""The customer survey /s/<token>: signed links (unit), the command line, and a real server.

The server tests start ``streamlit run app.py`` once for the module (tests/http_util.py)
and talk to it with a real HTTP client (requests), then look in the database.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import requests
from sqlalchemy import text

from db import survey_store
from db.models import utcnow
from leaderboard.survey_tokens import (
    SurveyTokenError,
    form_token,
    sign_survey,
    survey_link,
    verify_form,
    verify_survey,
)
from tests.browser_util import ARTIFACTS, chromium  # noqa: F401  (fixture)
from tests.cli_util import run_cli
from tests.factories import add_interactions
from tests.http_util import AGENT, live  # noqa: F401  (fixture)

HOSTILE = "<img src=x onerror=alert(1)>"
NOW = datetime(2026, 12, 1, 12, 0)
SECRET = b"unit-test-secret"


# --------------------------------------------------------------------------- signing (pure)


def _tamper(token: str) -> str:
    head, tail = token.split(".")
    # Another interaction id under the old signature.
    forged_head = sign_survey("T-other", secret=SECRET, expires_at=NOW + timedelta(days=1)).split(".")[0]
    return f"{forged_head}.{tail}"


def _flip_last(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


@pytest.mark.parametrize(
    ("make", "secret", "now", "expected"),
    [
        (lambda t: t, SECRET, NOW, "T-1001"),
        (lambda t: t, SECRET, NOW + timedelta(days=13, hours=23), "T-1001"),
        (lambda t: t, SECRET, NOW + timedelta(days=14), "expired"),
        (lambda t: t, SECRET, NOW + timedelta(days=400), "expired"),
        (lambda t: t, b"another-secret", NOW, "forged"),
        (_tamper, SECRET, NOW, "forged"),
        (_flip_last, SECRET, NOW, "forged"),
        (lambda t: t.split(".")[0], SECRET, NOW, "malformed"),
        (lambda t: "", SECRET, NOW, "malformed"),
        (lambda t: "a.b.c", SECRET, NOW, "malformed"),
        (lambda t: "!!!.???", SECRET, NOW, "malformed"),
        (lambda t: t + "x" * 700, SECRET, NOW, "malformed"),
    ],
    ids=["good", "last-minute", "expired-at-deadline", "long-expired", "wrong-secret", "tampered-payload",
         "tampered-signature", "no-signature", "empty", "garbage", "not-base64", "oversized"],
)
def test_survey_token_cases(make, secret, now, expected):
    token = make(sign_survey("T-1001", secret=SECRET, expires_at=NOW + timedelta(days=14)))
    if expected == "T-1001":
        assert verify_survey(token, secret=secret, now=now) == "T-1001"
    else:
        with pytest.raises(SurveyTokenError) as caught:
            verify_survey(token, secret=secret, now=now)
        assert caught.value.reason == expected


def test_token_names_only_the_interaction_and_survives_odd_ids():
    odd = "ZD|4711 ünïcode/…"
    token = sign_survey(odd, secret=SECRET, expires_at=NOW + timedelta(days=1))
    assert re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token)
    assert verify_survey(token, secret=SECRET, now=NOW) == odd


def test_form_token_is_bound_to_its_link_and_ages():
    link = sign_survey("T-1", secret=SECRET, expires_at=NOW + timedelta(days=1))
    other = sign_survey("T-2", secret=SECRET, expires_at=NOW + timedelta(days=1))
    form = form_token(link, secret=SECRET, issued_at=NOW)
    verify_form(form, link, secret=SECRET, now=NOW + timedelta(hours=1))
    for bad_form, bad_link, secret, now, reason in [
        (form, other, SECRET, NOW, "forged"),
        (form, link, b"x", NOW, "forged"),
        (form, link, SECRET, NOW + timedelta(days=2), "expired"),
        ("", link, SECRET, NOW, "malformed"),
    ]:
        with pytest.raises(SurveyTokenError) as caught:
            verify_form(bad_form, bad_link, secret=secret, now=now)
        assert caught.value.reason == reason


def test_survey_link_uses_the_base_url():
    url = survey_link("T-9", base_url="https://stars.example.com/", secret=SECRET, now=NOW, days=14)
    assert url.startswith("https://stars.example.com/s/")
    assert verify_survey(url.rsplit("/", 1)[1], secret=SECRET, now=NOW + timedelta(days=13)) == "T-9"


# --------------------------------------------------------------------------- the secret and the command line


def test_secret_is_generated_once_into_the_database(engine):
    first = survey_store.server_secret(engine=engine)
    assert len(first) >= 32
    assert survey_store.server_secret(engine=engine) == first
    assert survey_store.server_secret(engine=engine, configured="from-env") == b"from-env"


def test_survey_link_command_prints_the_url_alone_on_the_last_line(engine, db_url):
    [interaction_id] = add_interactions(engine, "Ann Lee", 1)
    env = {"STARBOARD_PUBLIC_URL": "https://stars.example.com", "STARBOARD_SECRET_KEY": ""}
    result = run_cli("survey", "link", interaction_id, db=db_url, env=env)
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip().splitlines()[-1]
    assert url.startswith("https://stars.example.com/s/")
    secret = survey_store.server_secret(engine=engine)
    assert secret.decode() not in result.stdout + result.stderr  # never printed
    assert verify_survey(url.rsplit("/", 1)[1], secret=secret, now=utcnow()) == interaction_id


def test_survey_link_command_refuses_an_unknown_interaction(engine, db_url):
    result = run_cli("survey", "link", "NOPE-1", db=db_url)
    assert result.returncode == 2
    assert "no interaction 'NOPE-1'" in result.stderr


# --------------------------------------------------------------------------- a real server


def _form_token(html: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def _rating(live, interaction_id):
    return survey_store.stored_rating(engine=live.engine, interaction_id=interaction_id)


def _submit(live, url, **fields):
    page = requests.get(url, timeout=20)
    assert page.status_code == 200, page.text[:300]
    data = {"form_token": _form_token(page.text), **fields}
    return requests.post(url, data=data, timeout=20)


def test_opening_the_link_records_nothing_and_shows_a_small_accessible_page(live):
    interaction_id = live.take()
    url = live.link(interaction_id)
    page = requests.get(url, timeout=20)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert len(page.content) < 50_000
    html = page.text
    assert "Maria S." in html and AGENT not in html  # the public name only
    assert html.count('type="radio" name="stars"') == 5
    assert "<script" not in html and "http://" not in html.replace(live.url, "") and "https://" not in html
    assert '<meta name="viewport"' in html and "<label" in html and "<legend" in html
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none': no script at all
    assert page.headers["referrer-policy"] == "no-referrer"
    assert _rating(live, interaction_id) is None
    assert live.scalar(
        "SELECT count(*) FROM survey_response s JOIN interaction i ON i.id = s.interaction_id "
        "WHERE i.interaction_id = :i", i=interaction_id) == 0


def test_stars_link_preselects_without_recording(live):
    interaction_id = live.take()
    page = requests.get(live.link(interaction_id) + "?stars=4", timeout=20)
    assert page.status_code == 200
    assert re.search(r'value="4" required checked', page.text)
    assert _rating(live, interaction_id) is None
    odd = requests.get(live.link(interaction_id) + "?stars=9", timeout=20)
    assert odd.status_code == 200 and " checked" not in odd.text.split('name="stars"', 1)[1].split("</fieldset>")[0]


def test_post_records_through_the_write_path_and_escapes_the_comment(live):
    interaction_id = live.take()
    response = _submit(live, live.link(interaction_id), stars="2", comment=HOSTILE, resolved="no", nps="3",
                       went_well=["friendly", "not-a-listed-tag"], to_improve="wait time")
    assert response.status_code == 200, response.text[:500]
    assert HOSTILE not in response.text
    assert "&lt;img src=x onerror=alert(1)&gt;" in response.text
    assert _rating(live, interaction_id) == {"stars": 2, "comment": HOSTILE, "resolved": False, "nps": 3}
    tags = live.scalar(
        "SELECT count(*) FROM rating_tag t JOIN rating r ON r.id = t.rating_id "
        "JOIN interaction i ON i.id = r.interaction_id WHERE i.interaction_id = :i", i=interaction_id)
    assert tags == 2  # friendly + wait time; an unlisted tag is ignored
    # A 2-star rating opens a recovery case, as an imported one does.
    cases = live.scalar(
        "SELECT count(*) FROM recovery_case c JOIN rating r ON r.id = c.rating_id "
        "JOIN interaction i ON i.id = r.interaction_id WHERE i.interaction_id = :i", i=interaction_id)
    assert cases == 1


def test_post_without_or_with_a_foreign_form_token_is_refused(live):
    interaction_id = live.take()
    url = live.link(interaction_id)
    missing = requests.post(url, data={"stars": "5"}, timeout=20)
    assert missing.status_code == 403 and "Please open your survey link again" in missing.text
    other_page = requests.get(live.link(live.take()), timeout=20)
    foreign = requests.post(url, data={"stars": "5", "form_token": _form_token(other_page.text)}, timeout=20)
    assert foreign.status_code == 403
    assert _rating(live, interaction_id) is None


def test_missing_stars_shows_the_form_again(live):
    interaction_id = live.take()
    response = _submit(live, live.link(interaction_id), comment=HOSTILE)
    assert response.status_code == 422
    assert "Please choose from 1 to 5 stars." in response.text
    assert HOSTILE not in response.text and "&lt;img" in response.text  # kept, escaped, in the textarea
    assert _rating(live, interaction_id) is None


@pytest.mark.parametrize("kind", ["forged", "expired", "garbage", "unknown-interaction"])
def test_bad_links_get_a_friendly_page_and_a_4xx(live, kind):
    interaction_id = live.take()
    url = {
        "forged": lambda: live.link(interaction_id, secret="not-the-server-secret"),
        "expired": lambda: live.link(interaction_id, expires_at=utcnow() - timedelta(minutes=1)),
        "garbage": lambda: f"{live.url}/s/{'x' * 40}",
        "unknown-interaction": lambda: live.link("NO-SUCH-INTERACTION"),
    }[kind]()
    for response in (requests.get(url, timeout=20), requests.post(url, data={"stars": "5"}, timeout=20)):
        assert 400 <= response.status_code < 500, (kind, response.status_code)
        assert response.headers["content-type"].startswith("text/html")
        assert "Traceback" not in response.text and "<h1>" in response.text
    assert _rating(live, interaction_id) is None


def test_second_submit_replaces_within_30_minutes_and_is_refused_after(live):
    interaction_id = live.take()
    url = live.link(interaction_id)
    assert _submit(live, url, stars="3").status_code == 200
    again = _submit(live, url, stars="5", comment="changed my mind")
    assert again.status_code == 200 and "updated your answer" in again.text
    assert _rating(live, interaction_id)["stars"] == 5
    assert live.scalar(
        "SELECT count(*) FROM rating r JOIN interaction i ON i.id = r.interaction_id WHERE i.interaction_id = :i",
        i=interaction_id) == 1
    # Half an hour later (moved back in the database: nobody waits 30 minutes in a test).
    page = requests.get(url, timeout=20)
    token = _form_token(page.text)
    with live.engine.begin() as conn:
        conn.execute(text(
            "UPDATE survey_response SET first_at = :t WHERE interaction_id = "
            "(SELECT id FROM interaction WHERE interaction_id = :i)"), {"t": utcnow() - timedelta(minutes=31), "i": interaction_id})
    late = requests.post(url, data={"form_token": token, "stars": "1"}, timeout=20)
    assert late.status_code == 409
    assert "Thanks, we already have your answer" in late.text
    reopened = requests.get(url, timeout=20)
    assert "we already have your answer" in reopened.text and "<form" not in reopened.text
    assert _rating(live, interaction_id)["stars"] == 5


@pytest.mark.browser
def test_phone_submits_five_stars_with_a_hostile_comment(live, chromium):  # noqa: F811
    interaction_id = live.take()
    url = live.link(interaction_id)
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    alerts: list[str] = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    try:
        page.goto(url, wait_until="load")
        assert _rating(live, interaction_id) is None  # opening alone records nothing
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "survey_form_390.png"), full_page=True)
        page.get_by_label("5 stars: excellent").check()
        page.get_by_label("friendly").check()
        page.get_by_label("Yes").check()
        page.get_by_label("Anything you would like to add? (optional)").fill(HOSTILE)
        page.get_by_role("button", name="Send my answer").click()
        page.wait_for_selector('[data-testid="thanks"]')
        assert page.locator('[data-testid="comment"]').inner_text() == HOSTILE  # shown as text
        assert page.locator("img").count() == 0 and alerts == []
        page.screenshot(path=str(ARTIFACTS / "survey_thanks_390.png"), full_page=True)
    finally:
        context.close()
    assert _rating(live, interaction_id) == {"stars": 5, "comment": HOSTILE, "resolved": True, "nps": None}
