"""Screens at 1440×900 (a laptop with the sidebar open): no label, team name or column cut off."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from db import accounts
from db.engine import make_engine
from db.models import Site, Team
from pages.ranking_tables import SITE_WIDTH, TEAM_WIDTH
from tests.browser_util import (  # noqa: F401  (fixtures)
    browser_db_url,
    chromium,
    clipped_texts,
    copy_database,
    horizontal_overflow,
    open_app,
    own_server,
    screenshots,
    text_width,
)

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1440, "height": 900}
# An admin of its own: the demo password stops working once another browser test imports a file.
QA_USER = ("qa.screens", "laptop-screens-check-1440")
CELL_PADDING = 2 * 8  # an st.dataframe cell's left and right padding


@pytest.fixture(scope="module")
def streamlit_server(browser_db_url, tmp_path_factory):
    """A server of this module's own, on a copy of the demo floor with a real admin account."""
    folder = tmp_path_factory.mktemp("screens")
    url = copy_database(browser_db_url, folder / "screens.db")
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            accounts.add_user(session=session, username=QA_USER[0], role="admin", password=QA_USER[1])
            session.commit()
    finally:
        engine.dispose()
    with own_server(url, folder / "streamlit.log") as server:
        yield server


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
             ready='.st-key-lb_ranked_box [data-testid="stDataFrame"]', user=QA_USER)
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
    open_app(laptop, streamlit_server.url + "/recovery", ready=".st-key-rc_case_box", user=QA_USER)
    box = laptop.locator(".st-key-rc_case_box")
    box.scroll_into_view_if_needed()
    laptop.wait_for_timeout(500)
    box.screenshot(path=str(screenshots / "recovery-case-1440.png"))
    labels = [t.strip() for t in box.locator("button").all_inner_texts()]
    assert any("Contacted" in t for t in labels)
    assert any("No answer" in t or "Reopen" in t for t in labels)
    assert clipped_texts(laptop, '.st-key-rc_case_box button') == []
