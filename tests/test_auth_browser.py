"""Sign-in and user text in a real browser: the form, sign-out, hostile comments, a fresh server."""

from __future__ import annotations

import http.server
import threading
import uuid
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from db.engine import make_engine
from db.ingest import CanonicalRow, write_rows
from db.models import Agent, Site, Team, User, utcnow
from leaderboard.auth import SYSTEM_VIEWER
from tests.browser_util import (  # noqa: F401  (fixtures)
    APP_READY_TIMEOUT_MS,
    SIGN_IN_FORM,
    browser_db_url,
    chromium,
    page,
    screenshots,
    sign_in,
    start_server,
    stop_server,
    streamlit_server,
    wait_for_app,
)

pytestmark = pytest.mark.browser
DEMO_PASSWORD = "starboard-demo"


class _Pixel(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        _Pixel.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def pixel_server():
    """A local server that records any request: a comment must never make the browser call it."""
    _Pixel.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pixel)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def _agent_account(database_url: str) -> tuple[str, str, str, str]:
    """(username, agent name, team, site) of a demo agent who has an account."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            user, agent, team, site = session.exec(
                select(User, Agent, Team, Site)
                .join(Agent, Agent.user_id == User.id)
                .join(Team, Team.id == Agent.team_id)
                .join(Site, Site.id == Team.site_id)
                .order_by(User.username)
            ).first()
            return user.username, agent.name, team.name, site.name
    finally:
        engine.dispose()


def _agent_names(database_url: str) -> list[str]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(Agent.name)).all())
    finally:
        engine.dispose()


def _add_comments(database_url: str, agent: str, team: str, site: str, comments: list[str]) -> None:
    engine = make_engine(database_url)
    now = utcnow()
    rows = [
        CanonicalRow(
            interaction_id=f"HOSTILE-{uuid.uuid4().hex}", agent=agent, team=team, site=site, channel="chat",
            contact_reason="order status", closed_at=now - timedelta(minutes=10 + i), rated_at=now - timedelta(minutes=5 + i),
            stars=4, comment=text, resolved=True, nps=9, went_well=(), to_improve=(),
        )
        for i, text in enumerate(comments)
    ]
    try:
        report = write_rows(engine=engine, viewer=SYSTEM_VIEWER, rows=rows)
        assert report.rejected == 0, report.errors
    finally:
        engine.dispose()


def test_agent_signs_in_sees_own_page_and_hostile_text_stays_text(page, streamlit_server, screenshots, pixel_server):
    username, agent, team, site = _agent_account(streamlit_server.database_url)
    pixel = f"http://127.0.0.1:{pixel_server.server_address[1]}/pixel"
    hostile = [
        "<script>alert('s')</script> SCRIPT-MARK",
        "<img src=x onerror=alert(1)> IMG-MARK",
        "[x](javascript:alert(1)) LINK-MARK",
        f"![]({pixel}) PIXEL-MARK",
    ]
    _add_comments(streamlit_server.database_url, agent, team, site, hostile)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    page.goto(streamlit_server.url + "/", wait_until="domcontentloaded")
    page.wait_for_selector(SIGN_IN_FORM, state="visible", timeout=APP_READY_TIMEOUT_MS)
    page.screenshot(path=str(screenshots / "signin.png"))
    sign_in(page, username=username, password=DEMO_PASSWORD)
    wait_for_app(page, ready='[data-testid="stMainBlockContainer"] h1')
    page.wait_for_timeout(1500)
    page.screenshot(path=str(screenshots / "my-page-agent.png"), full_page=True)
    html = page.content()
    assert "IMG-MARK" in html and "PIXEL-MARK" in html, "the agent's own feedback is on their page"
    # Shown as text: no element was made from the comments, nothing ran, nothing was fetched.
    assert page.locator('img[src="x"]').count() == 0
    assert page.locator('a[href^="javascript"]').count() == 0
    assert page.locator(f'img[src="{pixel}"]').count() == 0
    page.wait_for_timeout(1000)
    assert dialogs == [] and _Pixel.hits == []

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector(SIGN_IN_FORM, state="visible", timeout=APP_READY_TIMEOUT_MS)
    assert "IMG-MARK" not in page.content()


def test_wrong_password_is_refused(page, streamlit_server):
    page.goto(streamlit_server.url + "/", wait_until="domcontentloaded")
    page.wait_for_selector(SIGN_IN_FORM, state="visible", timeout=APP_READY_TIMEOUT_MS)
    page.fill('input[aria-label="Username"]', "admin")
    page.fill('input[aria-label="Password"]', "not-the-password")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Wrong username or password.").wait_for(state="visible", timeout=APP_READY_TIMEOUT_MS)
    assert page.locator(SIGN_IN_FORM).count() == 1


@pytest.mark.parametrize("path", ["/coaching", "/leaderboard?period=all", "/recovery", "/me"])
def test_fresh_server_first_request_to_a_protected_page_asks_for_sign_in(
    chromium, browser_db_url, tmp_path, screenshots, path
):
    """Streamlit serves pages/x.py directly when a fresh server's first request names it: still no data."""
    server = start_server(database_url=browser_db_url, log_path=tmp_path / "fresh.log")
    context = chromium.new_context(viewport={"width": 1920, "height": 1080})
    try:
        tab = context.new_page()
        tab.goto(server.url + path, wait_until="domcontentloaded")
        tab.wait_for_selector(SIGN_IN_FORM, state="visible", timeout=APP_READY_TIMEOUT_MS)
        tab.wait_for_timeout(1500)
        name = path.strip("/").split("?")[0]
        tab.screenshot(path=str(screenshots / f"fresh-server-{name}.png"))
        # The only table is the demo accounts list inside the sign-in form's expander.
        assert tab.locator('[data-testid="stDataFrame"]:not([data-testid="stExpander"] *)').count() == 0
        assert tab.locator('[data-testid="stMetric"]').count() == 0
        content = tab.content()
        assert not [name for name in _agent_names(browser_db_url) if name in content]
        assert tab.locator('[data-testid="stException"]').count() == 0
    finally:
        context.close()
        stop_server(server)
