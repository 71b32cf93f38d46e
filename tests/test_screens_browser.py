"""Screens at 1440×900 (a laptop with the sidebar open): no label, team name or column cut off."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from db.engine import make_engine
from db.models import Site, Team
from pages.ranking_tables import SITE_WIDTH, TEAM_WIDTH
from tests.browser_util import (  # noqa: F401  (fixtures)
    browser_db_url,
    chromium,
    clipped_texts,
    horizontal_overflow,
    open_app,
    screenshots,
    streamlit_server,
    text_width,
)

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1440, "height": 900}
CELL_PADDING = 2 * 8  # an st.dataframe cell's left and right padding


@pytest.fixture
def laptop(chromium):
    context = chromium.new_context(viewport=LAPTOP)
    try:
        yield context.new_page()
    finally:
        context.close()


def _names(database_url: str) -> tuple[list[str], list[str]]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(Team.name)).all()), list(session.exec(select(Site.name)).all())
    finally:
        engine.dispose()


def test_leaderboard_shows_every_column_and_whole_team_names_at_1440(laptop, streamlit_server, screenshots):
    open_app(laptop, streamlit_server.url + "/leaderboard?period=week",
             ready='.st-key-lb_ranked_box [data-testid="stDataFrame"]')
    laptop.wait_for_timeout(1500)  # the grid draws its canvas after it appears
    laptop.screenshot(path=str(screenshots / "leaderboard-1440.png"))
    # FCR, NPS and the trend are on screen: no table scrolls sideways.
    assert horizontal_overflow(laptop, ".st-key-lb_ranked_box") == [0]
    assert all(px == 0 for px in horizontal_overflow(laptop, ".st-key-lb_teams_box"))
    teams, sites = _names(streamlit_server.database_url)
    for team in teams:  # "Sampaguita", "Kalemegdan": not "Sampaguit"
        assert text_width(laptop, team) + CELL_PADDING <= TEAM_WIDTH, team
    for site in sites:
        assert text_width(laptop, site) + CELL_PADDING <= SITE_WIDTH, site
    # Header labels fit too.
    assert not clipped_texts(laptop, '[data-testid="stMetric"]')


def test_recovery_buttons_show_their_whole_labels_at_1440(laptop, streamlit_server, screenshots):
    open_app(laptop, streamlit_server.url + "/recovery", ready=".st-key-rc_case_box")
    box = laptop.locator(".st-key-rc_case_box")
    box.scroll_into_view_if_needed()
    laptop.wait_for_timeout(500)
    box.screenshot(path=str(screenshots / "recovery-case-1440.png"))
    labels = [t.strip() for t in box.locator("button").all_inner_texts()]
    assert any("Contacted" in t for t in labels)
    assert any("No answer" in t or "Reopen" in t for t in labels)
    assert clipped_texts(laptop, '.st-key-rc_case_box button') == []
