"""Issue 13 item 7: a sign-in outlives the browser tab (an HttpOnly cookie and a session record).

A real server and Chromium: sign in, reload and open a new tab (still signed in),
sign out (the reload shows the sign-in form), disable the account in the database
(the next load shows the sign-in form). Plus the routes and records without a browser.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import requests
from sqlalchemy import update
from sqlmodel import Session, select

from db import accounts
from db.engine import make_engine
from db.models import AuditLog, SignInSession, User, utcnow
from leaderboard.http import auth as http_auth
from tests.browser_util import (  # noqa: F401  (fixtures)
    APP_READY_TIMEOUT_MS,
    SIGN_IN_FORM,
    browser_db_url,
    chromium,
    copy_database,
    own_server,
    screenshots,
    sign_in,
    wait_for_app,
)
from tests.factories import make_user
from tests.http_util import SECRET, live  # noqa: F401  (fixture)

SIGNED_IN = 'button:has-text("Sign out")'
DEMO_PASSWORD = "starboard-demo"


# --------------------------------------------------------------------------- records and cookie (no browser)


def _user(engine, name="ann", role="leader") -> User:
    return make_user(engine, name, role=role)


def test_a_handoff_is_exchanged_once_for_a_cookie_token(engine):
    user = _user(engine)
    with Session(engine) as session:
        handoff = accounts.start_browser_session(session=session, user_id=user.id, auth_version=0)
        found = accounts.browser_session(session=session, handoff_hash=accounts.token_digest(handoff), idle_minutes=5)
        assert isinstance(found, accounts.BrowserSession) and found.pending
        token = accounts.exchange_handoff(session=session, handoff=handoff)
        assert token and accounts.exchange_handoff(session=session, handoff=handoff) is None  # once only
        found = accounts.browser_session(session=session, token=token, idle_minutes=5)
        assert isinstance(found, accounts.BrowserSession) and found.viewer.username == "ann" and not found.pending
        # Only digests are stored.
        row = session.exec(select(SignInSession)).one()
        assert token not in row.id and handoff not in row.handoff_hash
        assert accounts.browser_session(session=session, token=handoff, idle_minutes=5) == "ended"


def test_a_handoff_expires(engine):
    user = _user(engine)
    with Session(engine) as session:
        handoff = accounts.start_browser_session(
            session=session, user_id=user.id, auth_version=0, now=utcnow() - timedelta(minutes=5)
        )
        assert accounts.exchange_handoff(session=session, handoff=handoff) is None


def _live(engine, user_id: int) -> str:
    with Session(engine) as session:
        handoff = accounts.start_browser_session(session=session, user_id=user_id, auth_version=0)
        return accounts.exchange_handoff(session=session, handoff=handoff)


def test_sign_out_disable_password_and_idle_end_the_session(engine):
    user = _user(engine)
    with Session(engine) as session:
        handoff = accounts.start_browser_session(session=session, user_id=user.id, auth_version=0)
        token = accounts.exchange_handoff(session=session, handoff=handoff)
        accounts.end_browser_session(session=session, handoff_hash=accounts.token_digest(handoff))
        assert accounts.browser_session(session=session, token=token, idle_minutes=5) == "ended"
        assert [e.actor for e in session.exec(select(AuditLog).where(AuditLog.action == "sign_out"))] == ["ann"]

    token = _live(engine, user.id)
    with Session(engine) as session:
        accounts.disable_user(session=session, username="ann")
        accounts.disable_user(session=session, username="ann", disabled=False)
        # Enabled again: the old session stays ended (revoked, and its auth_version is stale).
        assert accounts.browser_session(session=session, token=token, idle_minutes=5) == "ended"

    with Session(engine) as session:
        version = session.get(User, user.id).auth_version
        handoff = accounts.start_browser_session(session=session, user_id=user.id, auth_version=version)
        token = accounts.exchange_handoff(session=session, handoff=handoff)
        # Disabled straight in the database (no revoke): the next check refuses it all the same.
        session.execute(update(User).where(User.id == user.id).values(disabled=True))
        session.commit()
        assert accounts.browser_session(session=session, token=token, idle_minutes=5) == "ended"
        session.execute(update(User).where(User.id == user.id).values(disabled=False))
        session.commit()
        later = utcnow() + timedelta(minutes=6)
        assert accounts.browser_session(session=session, token=token, idle_minutes=5, now=later) == "timed out"
        assert accounts.browser_session(session=session, token=token, idle_minutes=5) == "ended"


def test_the_cookie_is_signed():
    secret = b"s" * 32
    value = http_auth.sign("abc", secret)
    assert http_auth.unsign(value, secret) == "abc"
    assert http_auth.unsign(value, b"t" * 32) is None
    assert http_auth.unsign("abc.forged", secret) is None
    assert http_auth.unsign("abc", secret) is None


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "\\\\evil", "/x\r\nSet-Cookie: a=b", ""])
def test_next_never_leaves_the_site(target):
    assert http_auth.safe_next(target) is None
    assert http_auth.safe_next("/leaderboard?period=week") == "/leaderboard?period=week"


def test_the_route_sets_an_httponly_lax_secure_cookie(live):
    """GET /auth/session on the real server: Secure behind an HTTPS proxy, signed, used up once."""
    user = _user(live.engine)
    with Session(live.engine) as session:
        handoff = accounts.start_browser_session(session=session, user_id=user.id, auth_version=0)
    https = {"X-Forwarded-Proto": "https"}
    answer = requests.get(
        live.url + "/auth/session", params={"token": handoff, "next": "/leaderboard"}, headers=https,
        allow_redirects=False, timeout=10,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/leaderboard"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(http_auth.COOKIE + "=")
    for flag in ("HttpOnly", "SameSite=lax", "Secure", "Path=/"):
        assert flag.lower() in cookie.lower(), cookie
    assert answer.headers["cache-control"] == "no-store"
    token = http_auth.unsign(cookie.split(";")[0].split("=", 1)[1], SECRET.encode())
    with Session(live.engine) as session:
        assert isinstance(accounts.browser_session(session=session, token=token, idle_minutes=5), accounts.BrowserSession)
    # Used up: a second load sets nothing; over plain http there is no Secure flag.
    again = requests.get(live.url + "/auth/session", params={"token": handoff}, allow_redirects=False, timeout=10)
    assert again.status_code == 204 and "set-cookie" not in again.headers
    out = requests.get(live.url + "/auth/signout", params={"next": "//evil.example/"}, allow_redirects=False, timeout=10)
    assert out.status_code == 204
    assert "max-age=0" in out.headers["set-cookie"].lower() and "secure" not in out.headers["set-cookie"].lower()


# --------------------------------------------------------------------------- the browser


def _wait_for_cookie(context, present: bool = True, timeout: float = 20.0) -> dict | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = next((c for c in context.cookies() if c["name"] == http_auth.COOKIE), None)
        if (found is not None) == present:
            return found
        time.sleep(0.2)
    raise AssertionError(f"the session cookie is {'missing' if present else 'still there'}: {context.cookies()}")


def _shows_sign_in(page) -> None:
    page.wait_for_selector(SIGN_IN_FORM, state="visible", timeout=APP_READY_TIMEOUT_MS)


@pytest.mark.browser
def test_a_sign_in_survives_reload_and_new_tab_and_sign_out_ends_it(chromium, browser_db_url, tmp_path, screenshots):
    url = copy_database(browser_db_url, tmp_path / "cookie.db")
    engine = make_engine(url)
    with Session(engine) as session:
        leader = session.exec(select(User).where(User.role == "leader", User.disabled.is_(False))).first().username
        # The copied database may hold sessions of the browser tests that ran before this one.
        before = {r.id for r in session.exec(select(SignInSession)).all()}
    with own_server(url, tmp_path / "streamlit.log") as server:
        context = chromium.new_context(viewport={"width": 1440, "height": 900})
        try:
            page = context.new_page()
            page.goto(server.url + "/", wait_until="domcontentloaded")
            _shows_sign_in(page)
            sign_in(page, username="admin", password=DEMO_PASSWORD)
            wait_for_app(page, ready=SIGNED_IN)
            cookie = _wait_for_cookie(context)
            assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]  # plain http here
            assert page.evaluate("document.cookie").find(http_auth.COOKIE) == -1  # no script can read it

            page.reload(wait_until="domcontentloaded")
            wait_for_app(page, ready=SIGNED_IN)
            assert page.locator(SIGN_IN_FORM).count() == 0
            second = context.new_page()
            second.goto(server.url + "/leaderboard", wait_until="domcontentloaded")
            wait_for_app(second, ready=SIGNED_IN)
            second.screenshot(path=str(screenshots / "session_cookie_new_tab.png"))

            page.get_by_role("button", name="Sign out").click()
            _shows_sign_in(page)
            _wait_for_cookie(context, present=False)
            page.reload(wait_until="domcontentloaded")
            _shows_sign_in(page)
            second.reload(wait_until="domcontentloaded")
            _shows_sign_in(second)
            with Session(engine) as session:
                records = [r for r in session.exec(select(SignInSession)).all() if r.id not in before]
                # This test's sign-in, whatever tab it was read from, is revoked.
                assert records and all(r.revoked_at is not None for r in records), records

            # Disabled in the database: the next load of any tab shows the sign-in form.
            sign_in(page, username=leader, password=DEMO_PASSWORD)
            wait_for_app(page, ready=SIGNED_IN)
            _wait_for_cookie(context)
            page.reload(wait_until="domcontentloaded")
            wait_for_app(page, ready=SIGNED_IN)
            with Session(engine) as session:
                session.execute(update(User).where(User.username == leader).values(disabled=True))
                session.commit()
            page.reload(wait_until="domcontentloaded")
            _shows_sign_in(page)
            third = context.new_page()
            third.goto(server.url + "/", wait_until="domcontentloaded")
            _shows_sign_in(third)
            third.screenshot(path=str(screenshots / "session_cookie_disabled.png"))
        finally:
            context.close()
            engine.dispose()
