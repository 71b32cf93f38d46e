"""The wall in a real browser at 1920×1080: live without a reload, and user text stays text."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlmodel import Session, select

from db.engine import make_engine
from db.models import Agent, Site, Team
from tests.browser_util import (  # noqa: F401  (fixtures)
    ROOT,
    browser_db_url,
    chromium,
    page,
    screenshots,
    streamlit_server,
)

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
        # Rows fill the screen: the first row's name is big at 4K too.
        size = tab.locator(".sb-row .sb-name").first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert size >= 80
    finally:
        context.close()
