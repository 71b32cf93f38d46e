"""Several servers, one database (issue 16): two real ``streamlit run app.py`` processes on different
ports, on one PostgreSQL schema, with one shared STARBOARD_SECRET_KEY, as deploy/compose.yaml runs
them behind its proxy.

- A rating posted to server A is known to server B at once: B's write path finds A's row (the
  same rating posted to B is "unchanged", an edit posted to B is "updated" and A then finds B's
  edit), and B's wall shows it (browser: a 5★ comment posted to A appears on B's open wall).
  The first is the non-browser check: it goes through B's own process and its own database
  connections, not a query from the test. Reading a wall needs Streamlit's websocket, so the wall
  check drives Chromium; it is not marked ``browser`` (that stage runs on SQLite), so it runs in
  the PostgreSQL stage.
- A session cookie minted by A's ``/auth/session`` handoff signs the browser in on B (and a cookie
  signed with another secret does not).
- The outbox senders of both servers together deliver each queued notification exactly once.

PostgreSQL only: several server processes on one database is the PostgreSQL setup (README
"Deploy N servers"); SQLite is one file on one machine. Set TEST_DATABASE_URL to run it.
Deadlines, not timed assertions: how soon is bench/multi_server_bench.py's figure.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db import accounts, changes, notify_store
from db.engine import make_engine
from db.models import Team, utcnow
from leaderboard.http import auth as http_auth
from tests.browser_util import (
    APP_READY_TIMEOUT_MS,
    SIGN_IN_FORM,
    StreamlitServer,
    launch_chromium,
    require_browser,
    start_server,
)
from tests.cli_util import run_cli
from tests.conftest import pg_schema_url
from tests.factories import add_interactions, make_user
from tests.test_notify import Receiver

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
pytestmark = [
    pytest.mark.skipif(
        not TEST_DATABASE_URL,
        reason="two servers on one database is a PostgreSQL setup (SQLite is one file on one machine): "
               "set TEST_DATABASE_URL=postgresql+psycopg://… to run it",
    ),
    pytest.mark.slow,
]

SECRET = "test-secret-shared-by-both-servers"
AGENT, TEAM = "Maria Santos", "Alpha"  # a public agent: shown on the wall as "Maria S."
DEADLINE_S = 60.0  # generous: the machine is shared; the freshness figure is the bench's
SIGNED_IN = 'button:has-text("Sign out")'


@dataclass
class Pair:
    a: StreamlitServer
    b: StreamlitServer
    engine: Engine
    db_url: str
    site: str

    def new_key(self, name: str) -> str:
        result = run_cli("apikeys", "add", name, db=self.db_url)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def pair(tmp_path_factory) -> Pair:
    folder = tmp_path_factory.mktemp("multi")
    with ExitStack() as stack:
        url = stack.enter_context(pg_schema_url(TEST_DATABASE_URL, f"sb_multi_{os.getpid()}"))
        engine = make_engine(url)
        stack.callback(engine.dispose)
        add_interactions(engine, AGENT, 3, team=TEAM)  # the agent, team and site, as an import makes them
        with engine.connect() as conn:
            site = conn.execute(text("SELECT s.name FROM site s JOIN team t ON t.site_id = s.id WHERE t.name = :t"),
                                {"t": TEAM}).scalar_one()
        env = {"STARBOARD_SECRET_KEY": SECRET, "STARBOARD_API_RATE_LIMIT": "1000"}
        servers = []
        for name in "ab":  # one after the other: the first makes nothing the second needs, both just open the schema
            server = start_server(database_url=url, log_path=folder / f"streamlit-{name}.log", extra_env=env)
            stack.callback(server.stop)
            servers.append(server)
        yield Pair(a=servers[0], b=servers[1], engine=engine, db_url=url, site=site)


def _item(pair: Pair, interaction_id: str, **fields) -> dict:
    closed = (utcnow() - timedelta(minutes=20)).replace(microsecond=0)
    body = {
        "interaction_id": interaction_id, "agent": AGENT, "team": TEAM, "site": pair.site, "channel": "chat",
        "contact_reason": "billing", "closed_at": closed.isoformat(sep=" "), "stars": 5, "resolved": True,
    }
    body.update(fields)
    return body


def _post(server: StreamlitServer, key: str, body: dict) -> str:
    """POST one rating; the item's status ("inserted", "unchanged", "updated")."""
    response = requests.post(f"{server.url}/api/v1/ratings", data=json.dumps(body), timeout=60,
                             headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    return response.json()["results"][0]["status"]


def _ratings(pair: Pair, interaction_id: str) -> list[tuple]:
    with pair.engine.connect() as conn:
        return conn.execute(text(
            "SELECT r.stars, r.comment FROM rating r JOIN interaction i ON i.id = r.interaction_id "
            "WHERE i.interaction_id = :i"), {"i": interaction_id}).all()


def _until(check, *, what: str, deadline: float = DEADLINE_S):
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``deadline`` seconds."""
    waiter = threading.Event()
    end = time.monotonic() + deadline
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > end:
            raise AssertionError(f"not within {deadline:.0f} s: {what}")
        waiter.wait(0.25)


# --------------------------------------------------------------------------- data across servers


def test_a_rating_posted_to_a_is_known_to_b(pair):
    key = pair.new_key("multi-data")
    ident = f"MS-{uuid.uuid4().hex[:8]}"
    with pair.engine.connect() as conn:
        before = changes.read(conn)
    assert _post(pair.a, key, _item(pair, ident, comment="clear and kind")) == "inserted"
    # B's own write path finds A's committed rating: the same rating is no news to B.
    assert _until(lambda: _post(pair.b, key, _item(pair, ident, comment="clear and kind")) == "unchanged",
                  what="server B sees the rating posted to server A")
    # And the other way: an edit posted to B is what A then holds.
    assert _post(pair.b, key, _item(pair, ident, stars=3, comment="fine")) == "updated"
    assert _post(pair.a, key, _item(pair, ident, stars=3, comment="fine")) == "unchanged"
    assert _ratings(pair, ident) == [(3, "fine")]  # one rating, edited in place, never doubled
    with pair.engine.connect() as conn:
        assert changes.read(conn) > before  # the counter every server's caches and walls key on moved


def test_the_wall_on_b_shows_a_rating_posted_to_a(pair):
    require_browser()
    from playwright.sync_api import sync_playwright  # browser tests only

    key = pair.new_key("multi-wall")
    with Session(pair.engine) as session:
        token = accounts.add_display(session=session, name=f"tv-{uuid.uuid4().hex[:6]}")
    comment = f"Patient and clear, thank you {uuid.uuid4().hex[:6]}"
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            page.goto(f"{pair.b.url}/wall?display={token}&panel=shoutouts&refresh=2&rotate=5",
                      wait_until="domcontentloaded")
            page.wait_for_selector(".sb-wall", state="visible", timeout=APP_READY_TIMEOUT_MS)
            assert _post(pair.a, key, _item(pair, f"MS-W-{uuid.uuid4().hex[:8]}", comment=comment)) == "inserted"
            # Within the deadline, on B's open wall (no reload): the figure is bench/multi_server_bench.py's.
            page.get_by_text(comment).first.wait_for(state="visible", timeout=DEADLINE_S * 1000)
            assert page.locator('[data-testid="stException"]').count() == 0
        finally:
            browser.close()


# --------------------------------------------------------------------------- sign-in across servers


def _cookie_from_a(pair: Pair, username: str) -> str:
    user = make_user(pair.engine, username, role="admin")
    with Session(pair.engine) as session:
        handoff = accounts.start_browser_session(session=session, user_id=user.id, auth_version=user.auth_version)
    answer = requests.get(f"{pair.a.url}/auth/session", params={"token": handoff}, allow_redirects=False, timeout=30,
                          headers={"X-Forwarded-Proto": "https"})  # as the proxy passes it behind HTTPS
    assert answer.status_code == 204, answer.text
    cookie = answer.headers["set-cookie"]
    assert "secure" in cookie.lower() and "httponly" in cookie.lower(), cookie
    return cookie.split(";")[0].split("=", 1)[1]


def test_a_cookie_minted_by_a_is_valid_for_b(pair):
    """Without a browser: the value A set is signed with the shared secret and names a live session."""
    value = _cookie_from_a(pair, "multi-ann")
    token = http_auth.unsign(value, SECRET.encode())
    assert token is not None
    with Session(pair.engine) as session:
        found = accounts.browser_session(session=session, token=token, idle_minutes=30)
    assert isinstance(found, accounts.BrowserSession) and found.viewer.username == "multi-ann"


def test_a_cookie_minted_by_a_signs_the_browser_in_on_b(pair):
    require_browser()
    from playwright.sync_api import sync_playwright  # browser tests only

    value = _cookie_from_a(pair, "multi-bob")
    forged = http_auth.sign(http_auth.unsign(_cookie_from_a(pair, "multi-cy"), SECRET.encode()), b"another-secret")
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            # Only B ever sees this browser: the cookie was set by A (as a proxy may send the handoff to A).
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            context.add_cookies([{"name": http_auth.COOKIE, "value": value, "url": pair.b.url}])
            page = context.new_page()
            page.goto(f"{pair.b.url}/leaderboard", wait_until="domcontentloaded")
            page.wait_for_selector(SIGNED_IN, state="visible", timeout=APP_READY_TIMEOUT_MS)
            assert page.locator(SIGN_IN_FORM).count() == 0
            context.close()
            # A server that does not share the secret would refuse it: one signed with another key is refused.
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            context.add_cookies([{"name": http_auth.COOKIE, "value": forged, "url": pair.b.url}])
            page = context.new_page()
            page.goto(f"{pair.b.url}/leaderboard", wait_until="domcontentloaded")
            page.wait_for_selector(SIGN_IN_FORM, state="visible", timeout=APP_READY_TIMEOUT_MS)
            context.close()
        finally:
            browser.close()


# --------------------------------------------------------------------------- background work


def test_the_two_senders_deliver_each_queued_notification_once(pair):
    receiver = Receiver()
    receiver.thread.start()
    count = 12
    try:
        with pair.engine.connect() as conn:
            team_id = conn.execute(select(Team.id).where(Team.name == TEAM)).scalar_one()
        done = run_cli("notify", "add", "multi-leads", receiver.url("/leads"), "--for", f"team:{pair.site}/{TEAM}",
                       "--kinds", "recovery", "--per-minute", "1000", db=pair.db_url)
        assert done.returncode == 0, done.stderr
        run = uuid.uuid4().hex[:6]
        titles = [f"Maria S. · 1★ · {run} {n:02d}" for n in range(count)]
        # Queued while both servers' senders are running (each ticks every second).
        with pair.engine.begin() as conn:
            for n, title in enumerate(titles):
                assert notify_store.queue_notification(
                    conn, kind="recovery", message={"title": title, "lines": ["'slow'"]},
                    dedupe_key=f"case:multi-{run}-{n}", team_id=team_id,
                ) == 1

        def settled():
            with pair.engine.connect() as conn:
                statuses = conn.execute(text(
                    "SELECT status, claimed_by FROM outbox WHERE kind = 'notify:recovery'")).all()
            return len(statuses) == count and all(s == "sent" and not c for s, c in statuses)

        _until(lambda: len(receiver.to("/leads", ok=False)) >= count, what=f"{count} notifications delivered")
        _until(settled, what="every outbox row marked sent and released")
        # Nothing more arrives once every row is sent: wait for a quiet spell of three sender ticks.
        seen = [len(receiver.to("/leads", ok=False)), time.monotonic()]

        def quiet():
            now = len(receiver.to("/leads", ok=False))
            if now != seen[0]:
                seen[:] = [now, time.monotonic()]
            return time.monotonic() - seen[1] >= 3.0

        _until(quiet, what="no more deliveries")
        delivered = sorted(body["title"] for body in receiver.to("/leads", ok=False))
        assert delivered == sorted(titles), "each queued notification is delivered exactly once"
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
