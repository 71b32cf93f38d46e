"""The leaderboard and data pages in a real browser: what only a browser shows.

Layout at 1920×1080, the first request of a fresh server, filters surviving in
the address bar, and URL text staying text. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from sqlmodel import Session

from db.engine import make_engine
from leaderboard.board import build_board
from leaderboard.names import public_names
from leaderboard.settings import get_settings
from tests.browser_util import (  # noqa: F401  (fixtures)
    browser_db_url,
    chromium,
    page,
    screenshots,
    streamlit_server,
    assert_no_exception,
    dataframe_text,
    open_app,
    start_server,
    stop_server,
    wait_for_app,
)

pytestmark = pytest.mark.browser

RANKED = '.st-key-lb_ranked_box [data-testid="stDataFrame"]'


def _ranked_names(database_url: str, period: str, *, site: str | None = None) -> list[str]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            board = build_board(session=session, period=period, site=site)
    finally:
        engine.dispose()
    ranked = board.agents[board.agents["rank"].notna()]
    return public_names(ranked["agent"], get_settings().public_name_style)


def _choice(page, key: str) -> str:
    """The option a selectbox shows (1.67 draws it as a combobox input)."""
    return page.locator(f".st-key-{key} input[role='combobox']").input_value()


def _full_page(page, path: Path) -> None:
    """Screenshot the whole page: Streamlit scrolls inside its main block, so grow the viewport."""
    size = page.viewport_size
    height = page.evaluate(
        "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
        " return m ? m.scrollHeight : document.body.scrollHeight; }"
    )
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], int(height) + 40)})
    page.wait_for_timeout(800)  # charts redraw at the new size
    page.screenshot(path=str(path))
    page.set_viewport_size(size)


def test_leaderboard_at_1080p_shows_the_ranking(page, streamlit_server, screenshots):
    expected = _ranked_names(streamlit_server.database_url, "last30")
    assert len(expected) >= 5, "the demo data should rank a floor of agents over 30 days"
    open_app(page, f"{streamlit_server.url}/leaderboard?period=last30", ready=RANKED)
    assert_no_exception(page)
    # st.dataframe draws on a canvas; its cells are in an accessibility table in the HTML.
    table_text = dataframe_text(page, RANKED, containing=expected[0])
    for name in expected[:3]:
        assert name in table_text
    assert page.locator('[data-testid="stMetric"]').count() == 6
    assert page.locator(".st-key-lb_stars_box canvas, .st-key-lb_stars_box svg").count()
    page.screenshot(path=str(screenshots / "leaderboard-1920x1080.png"))
    _full_page(page, screenshots / "leaderboard-full.png")


def test_leaderboard_on_a_laptop_screen(chromium, streamlit_server, screenshots):
    context = chromium.new_context(viewport={"width": 1366, "height": 768})
    tab = context.new_page()
    try:
        open_app(tab, f"{streamlit_server.url}/leaderboard?period=last7", ready=RANKED)
        assert_no_exception(tab)
        tab.screenshot(path=str(screenshots / "leaderboard-1366x768.png"))
    finally:
        context.close()


def test_filters_live_in_the_address_bar(page, streamlit_server):
    sites = _sites(streamlit_server.database_url)
    site = sites[0]
    open_app(page, f"{streamlit_server.url}/leaderboard?period=all&site={quote(site)}", ready=RANKED)
    assert _choice(page, "lb_site") == site
    # Choose another period with the mouse: the URL follows, the site stays.
    page.locator(".st-key-lb_period button[aria-label='Open']").click()
    page.get_by_role("option", name="Last 7 days").click()
    page.wait_for_url("**period=last7**")
    assert f"site={quote(site)}" in page.url or f"site={site}" in page.url
    wait_for_app(page, ready=RANKED)
    assert_no_exception(page)
    # A bookmark of that address restores the same view in a new tab.
    # (/leaderboard?…: the address bar may show "/" when the leaderboard is the viewer's home page.)
    bookmark = f"{streamlit_server.url}/leaderboard?{page.url.split('?', 1)[1]}"
    other = page.context.new_page()
    open_app(other, bookmark, ready=RANKED)
    assert _choice(other, "lb_period") == "Last 7 days"
    assert _choice(other, "lb_site") == site


def _sites(database_url: str) -> list[str]:
    from db import queries

    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return queries.site_names(session=session)
    finally:
        engine.dispose()


def test_text_from_the_url_stays_text(page, streamlit_server):
    """Regression: a crafted ?team= renders literally and loads nothing."""
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    evil = "<img src=http://127.0.0.1:9/a.png> ![x](http://127.0.0.1:9/b.png) :red[c]"
    open_app(page, f"{streamlit_server.url}/leaderboard?team={quote(evil)}", ready='[data-testid="stAlert"]')
    alert = page.locator('[data-testid="stAlert"]').first
    text = alert.inner_text().replace("\u2060", "")  # word joiners keep URLs from being linked
    assert "<img src=http://127.0.0.1:9/a.png>" in text and "![x](http://127.0.0.1:9/b.png)" in text
    assert ":red[c]" in text
    assert alert.locator("img").count() == 0 and alert.locator("a").count() == 0
    assert not [u for u in requests if "127.0.0.1:9" in u]


def test_data_page_uploads_a_file_and_lists_its_errors(page, streamlit_server, screenshots, tmp_path):
    """A real upload through the browser (XSRF on); every row is bad, so the shared database is untouched."""
    open_app(page, f"{streamlit_server.url}/data", ready='[data-testid="stFileUploader"]')
    assert_no_exception(page)
    assert "ratings" in page.locator('[data-testid="stMainBlockContainer"] [data-testid="stCaptionContainer"]').first.inner_text()
    page.screenshot(path=str(screenshots / "data-1920x1080.png"))
    from db.ingest import COLUMNS

    bad = tmp_path / "bad-ratings.csv"
    bad.write_text(
        ",".join(COLUMNS) + "\n"
        "B-1,Nobody Here,Ghosts,Nowhere,phone,,not-a-time,,5,,,,,\n"
        "B-2,Nobody Here,Ghosts,Nowhere,phone,,2026-11-20T10:00:00Z,,9,,,,,\n",
        encoding="utf-8",
    )
    page.locator(".st-key-data_upload input[type=file]").set_input_files(str(bad))
    page.locator(".st-key-data_import button").click()
    page.wait_for_selector(".st-key-data_errors_download", timeout=30_000)
    wait_for_app(page, ready='[data-testid="stMetric"]')
    assert_no_exception(page)
    metrics = page.locator('[data-testid="stMetric"]').all_inner_texts()
    assert any(m.startswith("Rejected") and m.rstrip().endswith("2") for m in metrics), metrics
    errors = dataframe_text(page, '[data-testid="stDataFrame"]', containing="closed_at")
    assert "closed_at" in errors and "stars" in errors
    page.screenshot(path=str(screenshots / "data-import-errors.png"))


def test_a_fresh_server_opened_at_a_page_shows_the_app_menu(chromium, browser_db_url, tmp_path, screenshots):
    """Regression: Streamlit runs pages/<name>.py bare when a fresh server's first request names it."""
    server = start_server(database_url=browser_db_url, log_path=tmp_path / "streamlit.log")
    context = chromium.new_context(viewport={"width": 1920, "height": 1080})
    try:
        tab = context.new_page()
        open_app(tab, f"{server.url}/leaderboard?period=last30", ready=RANKED)
        assert_no_exception(tab)
        menu = [link.inner_text() for link in tab.locator('[data-testid="stSidebarNav"] a').all()]
        labels = [item.split("\n")[-1].strip() for item in menu]
        # app.py's menu (titles), not Streamlit's list of files in pages/ (app, common, …).
        assert "Leaderboard" in labels and "Data" in labels, menu
        assert not {"app", "common", "leaderboard", "data"} & set(labels), menu
        # layout="wide" from app.py's page config: the main block uses most of the width.
        box = tab.locator('[data-testid="stMainBlockContainer"]').bounding_box()
        assert box and box["width"] > 1200
        assert tab.title() == "Leaderboard" or "Starboard" in tab.title()
    finally:
        context.close()
        stop_server(server)
