"""The wall in a real browser at 1920×1080: live without a reload, and user text stays text."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from db import accounts
from db.engine import make_engine
from db.ingest import write_rows
from db.models import Agent, Rating, Site, Team, utcnow
from leaderboard.auth import SYSTEM_VIEWER
from tests.browser_util import (  # noqa: F401  (fixtures)
    ROOT,
    browser_db_url,
    chromium,
    copy_database,
    layout_problems,
    own_server,
    page,
    screenshots,
    sqlite_unreachable,
    start_server,
    streamlit_server,
)
from tests.factories import rating_row

pytestmark = pytest.mark.browser

HEADER = [
    "interaction_id", "agent", "team", "site", "channel", "contact_reason", "closed_at", "rated_at",
    "stars", "comment", "resolved", "nps", "went_well", "to_improve",
]


def _public_agent(database_url: str) -> tuple[str, str, str]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            agent, team, site = session.exec(
                select(Agent, Team, Site)
                .join(Team, Team.id == Agent.team_id)
                .join(Site, Site.id == Team.site_id)
                .where(Agent.hide_from_wall.is_(False), Agent.active.is_(True))
                .order_by(Agent.id)
            ).first()
            return agent.name, team.name, site.name
    finally:
        engine.dispose()


def import_five_star(database_url: str, folder: Path, comment: str) -> None:
    """Add one 5★ rating through `python -m leaderboard import`, in another process."""
    agent, team, site = _public_agent(database_url)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    path = folder / f"live-{uuid.uuid4().hex[:8]}.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerow(
            [f"LIVE-{uuid.uuid4().hex}", agent, team, site, "chat", "order status", now, now, 5, comment, "yes", 10,
             "friendly", ""]
        )
    result = subprocess.run(
        [sys.executable, "-m", "leaderboard", "import", str(path)],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def display_token(database_url: str, name: str) -> str:
    """A wall display token, made the way an admin makes one: `python -m leaderboard displays add`."""
    result = subprocess.run(
        [sys.executable, "-m", "leaderboard", "displays", "add", name],
        cwd=ROOT, env={**os.environ, "DATABASE_URL": database_url}, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def _open_wall(page, server, query: str) -> None:
    token = display_token(server.database_url, f"tv-{uuid.uuid4().hex[:6]}")
    page.goto(f"{server.url}/wall?display={token}&{query}", wait_until="domcontentloaded")
    page.wait_for_selector(".sb-wall", state="visible", timeout=45_000)


def test_wall_shows_a_new_rating_without_reload(page, streamlit_server, screenshots, tmp_path):
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    _open_wall(page, streamlit_server, "refresh=2&rotate=5")
    page.screenshot(path=str(screenshots / "wall-1080p.png"))
    navigations = []
    page.on("framenavigated", lambda f: navigations.append(f.url) if f == page.main_frame else None)

    unique = f"Absolutely brilliant help {uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    import_five_star(streamlit_server.database_url, tmp_path, unique)
    page.get_by_text(unique).first.wait_for(state="visible", timeout=15_000)
    seen_after = time.monotonic() - started
    page.screenshot(path=str(screenshots / "wall-celebration.png"))
    assert navigations == [], "the wall reloaded the page"
    assert seen_after < 15

    hostile = "<img src=x onerror=alert(1)> ![](http://127.0.0.1:9/pixel)"
    import_five_star(streamlit_server.database_url, tmp_path, hostile)
    page.get_by_text("<img src=x onerror=alert(1)>", exact=False).first.wait_for(state="visible", timeout=15_000)
    page.screenshot(path=str(screenshots / "wall-hostile-comment.png"))
    assert dialogs == []
    assert not any("127.0.0.1:9" in url for url in requests)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_wall_has_no_chrome_and_scales_to_4k(chromium, streamlit_server, screenshots):
    context = chromium.new_context(viewport={"width": 3840, "height": 2160})
    try:
        tab = context.new_page()
        _open_wall(tab, streamlit_server, "panel=week")
        tab.wait_for_timeout(1000)
        tab.screenshot(path=str(screenshots / "wall-4k.png"))
        for testid in ("stSidebar", "stToolbar", "stHeader"):
            locator = tab.locator(f'[data-testid="{testid}"]')
            assert locator.count() == 0 or not locator.first.is_visible()
        # (Streamlit's "skip to content" link only appears on keyboard focus.)
        controls = tab.locator("input, button, select, textarea, a[href]:not([data-testid=stSkipToContent])")
        assert [c.evaluate("e => e.outerHTML.slice(0, 120)") for c in controls.all() if c.is_visible()] == []
        # Rows fill the screen: the first row's name is big at 4K too. Ties can add rows (and a second
        # column past ten), so the floor is a share of the height: 60 px reads from five metres.
        size = tab.locator(".sb-row .sb-name").first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert size >= 2160 / 36
    finally:
        context.close()


# --------------------------------------------------------------------------- issue 12: never stale, never broken

REFRESH = 2  # seconds: the wall's refresh in these tests


def _token_in_process(database_url: str, name: str, **scope) -> str:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return accounts.add_display(session=session, name=name, **scope)
    finally:
        engine.dispose()


def _shoutout(page, text: str):
    return page.locator(".sb-card", has_text=text)


def test_a_praise_downgraded_in_place_leaves_an_open_wall_within_the_refresh(page, streamlit_server, screenshots, tmp_path):
    """Issue 12 item 9: a 5★ corrected in place to 3★ kept showing as a shout-out for 15 minutes."""
    _open_wall(page, streamlit_server, f"panel=shoutouts&refresh={REFRESH}&rotate=5")
    unique = f"Sorted my refund in minutes {uuid.uuid4().hex[:6]}"
    import_five_star(streamlit_server.database_url, tmp_path, unique)
    _shoutout(page, unique).first.wait_for(state="visible", timeout=20_000)

    engine = make_engine(streamlit_server.database_url)
    try:
        with Session(engine) as session:  # the correction: same row, same id, same counts
            session.exec(update(Rating).where(Rating.comment == unique).values(stars=3))
            session.commit()
    finally:
        engine.dispose()
    corrected = time.monotonic()
    page.wait_for_function(
        "(text) => ![...document.querySelectorAll('.sb-card')].some(c => c.textContent.includes(text))",
        arg=unique,
        timeout=(REFRESH + 8) * 1000,
    )
    gone_after = time.monotonic() - corrected
    page.screenshot(path=str(screenshots / "wall-downgraded-praise-gone.png"))
    assert gone_after < REFRESH + 8
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_wall_opened_during_an_outage_says_reconnecting_and_recovers(chromium, browser_db_url, screenshots, tmp_path):
    """Issue 12 item 10: opened while the database was away, the wall showed an OperationalError
    box (the display token's check) and stayed on it after the database came back."""
    url = copy_database(browser_db_url, tmp_path / "outage.db")
    token = _token_in_process(url, "outage-tv")
    # STARBOARD_AUTO_SEED=1: the first-run check on an unreachable database is a path too.
    with own_server(url, tmp_path / "streamlit.log", STARBOARD_AUTO_SEED="1") as server:
        context = chromium.new_context(viewport={"width": 1920, "height": 1080})
        try:
            tab = context.new_page()
            with sqlite_unreachable(url):
                tab.goto(f"{server.url}/wall?display={token}&panel=week&refresh={REFRESH}&rotate=5")
                tab.get_by_text("reconnecting").first.wait_for(state="visible", timeout=45_000)
                # Several refreshes later: still quiet, never an exception.
                tab.wait_for_timeout((REFRESH * 3) * 1000)
                tab.screenshot(path=str(screenshots / "wall-outage-reconnecting.png"))
                assert tab.locator('[data-testid="stException"]').count() == 0, server.log_tail()
                assert tab.get_by_text("reconnecting").first.is_visible()
                assert tab.locator(".sb-row").count() == 0
            back = time.monotonic()
            tab.wait_for_selector('.sb-wall[data-panel="week"] .sb-row', state="visible", timeout=(REFRESH + 10) * 1000)
            recovered_after = time.monotonic() - back
            tab.screenshot(path=str(screenshots / "wall-outage-recovered.png"))
            assert tab.locator('[data-testid="stException"]').count() == 0
            assert tab.get_by_text("reconnecting").count() == 0
            assert recovered_after < REFRESH + 10
        finally:
            context.close()


# A 62-character unbroken URL, a right-to-left override, a long word salad, right-to-left script.
LONG_URL = "https://support.example.com/tickets/8f3a9c1d2e4b6a7c8d9e0f1a2b3c"
RLO = "\u202e"
HOSTILE_COMMENTS = [
    f"See {LONG_URL} thank you so much",
    f"{RLO}Great service, she fixed everything",
    "Supercalifragilisticexpialidocious" * 4 + " and " + "x" * 120,
    "شكرا جزيلا على المساعدة الرائعة",
]
HOSTILE_NAMES = [
    LONG_URL + " Smith",
    f"{RLO}Ann Lee",
    "Maximiliana-Konstantinopolous-Wolfeschlegelsteinhausen Bergerdorff",
    "محمد علي",
]


def _hostile_floor(database_url: str) -> None:
    """Site "Zeta": 28 agents on 26 teams (top=25 and ties), hostile names, hostile 5★ comments."""
    engine = make_engine(database_url)
    now = utcnow().replace(microsecond=0)
    rows = []
    for i in range(28):
        agent = HOSTILE_NAMES[i] if i < len(HOSTILE_NAMES) else f"Agent{i:02d} Zulu"
        team = f"Team {i % 26:02d} " + ("Extraordinarily-Long-Team-Name-Without-Spaces" if i % 5 == 0 else "Zeta")
        for j in range(8):
            # Three groups of equal ratings: ties in rank.
            stars = 5 if j < 4 + i % 3 else 4
            comment = HOSTILE_COMMENTS[i] if (i < len(HOSTILE_COMMENTS) and j == 7) else ""
            rows.append(
                rating_row(agent=agent, team=team, site="Zeta", stars=5 if comment else stars, comment=comment,
                           rated_at=now - timedelta(minutes=40 - j - (i % 3)))
            )
    try:
        report = write_rows(engine=engine, rows=rows, viewer=SYSTEM_VIEWER)
        assert report.rejected == 0, report.errors
    finally:
        engine.dispose()


@pytest.mark.parametrize("top", [5, 10, 25])
def test_hostile_long_text_fits_the_screen_at_any_top(chromium, browser_db_url, screenshots, tmp_path, top):
    """Issue 12 item 11: a 62-character URL pushed two shout-outs off screen, a right-to-left override
    reversed the quote, and 12 rows (ties at top=10) cut names off. At 1920×1080 nothing sticks out."""
    url = copy_database(browser_db_url, tmp_path / "hostile.db")
    _hostile_floor(url)
    token = _token_in_process(url, "hostile-tv")
    with own_server(url, tmp_path / "streamlit.log") as server:
        context = chromium.new_context(viewport={"width": 1920, "height": 1080})
        try:
            tab = context.new_page()
            for panel in ("week", "teams", "shoutouts"):
                tab.goto(f"{server.url}/wall?display={token}&site=Zeta&top={top}&panel={panel}&refresh=60")
                tab.wait_for_selector(f'.sb-wall[data-panel="{panel}"] .sb-body > *', state="visible", timeout=45_000)
                tab.wait_for_timeout(500)  # fonts and the grid settle
                tab.screenshot(path=str(screenshots / f"wall-hostile-top{top}-{panel}.png"))
                assert tab.locator('[data-testid="stException"]').count() == 0
                assert layout_problems(tab) == [], panel
                boxes = tab.locator(".sb-row, .sb-card").evaluate_all(
                    "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })"
                )
                assert boxes, panel
                for left, top_edge, right, bottom in boxes:
                    assert left >= 0 and top_edge >= 0 and right <= 1920 and bottom <= 1080, (panel, boxes)
                if panel == "week":
                    rows = tab.locator(".sb-row").count()
                    assert rows >= top, rows
                    # Ordinary names are shown whole, however many rows.
                    cut = tab.locator(".sb-row .sb-name").evaluate_all(
                        "els => els.filter(e => e.textContent.length <= 24 && e.scrollWidth > e.clientWidth + 1)"
                        ".map(e => e.textContent)"
                    )
                    assert cut == []
                    size = tab.locator(".sb-row .sb-name").first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
                    assert size >= 20  # still readable across the room
                if panel == "shoutouts":
                    assert tab.locator(".sb-card").count() == 4
                    # The override is gone and each string is isolated: the quote reads left to right.
                    html_text = tab.locator(".sb-body").inner_html()
                    assert RLO not in html_text
                    assert tab.get_by_text("Great service, she fixed everything").count() == 1
                    assert tab.locator(".sb-quote bdi").count() == 4
        finally:
            context.close()


# --------------------------------------------------------------------------- issue 13: every screen, every moment

SCREENS = [(1280, 720), (1920, 1080), (3840, 2160), (1080, 1920)]  # 720p, 1080p, 4K, a portrait TV


@pytest.mark.parametrize("panel", ["shoutouts", "badges"])
def test_nothing_is_clipped_at_any_screen_size_during_a_celebration(chromium, streamlit_server, screenshots, tmp_path, panel):
    """Issue 13 item 10 (b, c): the badges panel was taller than 1080p and 720p screens, a celebration
    banner covered the panel's first line and pushed its last one off screen, and badge icons were emoji
    (empty boxes without an emoji font). At every size, with a banner up, everything fits and shows."""
    contexts, tabs = [], []
    try:
        for width, height in SCREENS:
            context = chromium.new_context(viewport={"width": width, "height": height})
            contexts.append(context)
            tab = context.new_page()
            _open_wall(tab, streamlit_server, f"panel={panel}&refresh=2")
            tab.wait_for_selector(f'.sb-wall[data-panel="{panel}"] .sb-body > *', state="visible", timeout=45_000)
            tabs.append((width, height, tab))
        import_five_star(streamlit_server.database_url, tmp_path, f"Patient and kind, thank you {uuid.uuid4().hex[:6]}")
        for width, height, tab in tabs:
            tab.wait_for_selector(".sb-wall .sb-celebrate", state="visible", timeout=20_000)
            tab.wait_for_timeout(800)  # the banner's entrance animation ends
            tab.screenshot(path=str(screenshots / f"wall-celebration-{panel}-{width}x{height}.png"))
            assert layout_problems(tab) == [], (width, height)
            banner = tab.locator(".sb-celebrate").bounding_box()
            body = tab.locator(".sb-body").bounding_box()
            assert banner["y"] + banner["height"] <= body["y"] + 1, "the banner covers the panel"
            boxes = tab.locator(".sb-row, .sb-card").evaluate_all(
                "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })"
            )
            assert boxes
            for left, top, right, bottom in boxes:
                assert left >= 0 and top >= 0 and right <= width + 1 and bottom <= height + 1, (width, height, boxes)
            if panel == "badges":
                icons = tab.locator(".sb-badge .sb-icon img").evaluate_all(
                    "els => els.map(e => [e.naturalWidth, e.getBoundingClientRect().width])"
                )
                assert icons and all(natural > 0 and shown >= 16 for natural, shown in icons), icons
            assert tab.locator('.sb-celebrate img.sb-svg').count() == 1
    finally:
        for context in contexts:
            context.close()


def test_a_server_restart_shows_reconnecting_never_the_connection_error_dialog(chromium, browser_db_url, screenshots, tmp_path):
    """Issue 13 item 10 (a): on a server restart a TV showed Streamlit's developer dialog
    "Connection error" while the live dot stayed green. Now the dialog is hidden, the wall
    says "reconnecting", and it comes back by itself when the server does."""
    url = copy_database(browser_db_url, tmp_path / "restart.db")
    token = _token_in_process(url, "restart-tv")
    server = start_server(database_url=url, log_path=tmp_path / "first.log")
    again = None
    context = chromium.new_context(viewport={"width": 1920, "height": 1080})
    try:
        tab = context.new_page()
        tab.goto(f"{server.url}/wall?display={token}&panel=week&refresh={REFRESH}", wait_until="domcontentloaded")
        tab.wait_for_selector('.sb-wall[data-panel="week"]', state="visible", timeout=45_000)
        marker = "() => getComputedStyle(document.querySelector('.sb-clock'), '::before').content"
        assert tab.evaluate(marker) in ("none", "normal")
        server.stop()
        # Streamlit opens its "Connection error" dialog a few seconds after the socket drops.
        tab.wait_for_selector('[data-testid="stDialog"]', state="attached", timeout=45_000)
        tab.wait_for_timeout(500)
        tab.screenshot(path=str(screenshots / "wall-server-restart.png"))
        assert not tab.locator('[data-testid="stDialog"]').first.is_visible()
        assert tab.get_by_text("Connection error").filter(visible=True).count() == 0
        assert "reconnecting" in tab.evaluate(marker)
        assert layout_problems(tab) == []
        assert tab.locator(".sb-row").first.is_visible()  # the last good board stays up
        again = start_server(database_url=url, log_path=tmp_path / "second.log", port=server.port)
        tab.wait_for_selector('[data-testid="stDialog"]', state="detached", timeout=60_000)
        tab.wait_for_selector('.sb-wall[data-panel="week"] .sb-row', state="visible", timeout=45_000)
        assert tab.evaluate(marker) in ("none", "normal")
        tab.screenshot(path=str(screenshots / "wall-server-back.png"))
    finally:
        context.close()
        server.stop()
        if again is not None:
            again.stop()
