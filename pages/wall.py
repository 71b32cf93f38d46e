"""The wall display: /wall?site=&team=&rotate=15&refresh=5&top=10 — live, rotating, praise only.

A TV never shows a traceback: while the database is away, every path (the display
token's check included) shows the quiet "reconnecting" state, keeps refreshing, and
comes back by itself.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import replace
from datetime import datetime, timezone

import streamlit as st
from sqlmodel import Session

from db import accounts, queries
from db.models import utcnow
from leaderboard.periods import zone
from leaderboard.text import html_text
from leaderboard.wall import WallConfig, WallData, celebrations, current_panel, wall_data
from leaderboard.wall_view import STYLE, celebration_html, panel_html, reconnecting_html
from pages import access, nav
from pages.common import UNREACHABLE, database_url, get_engine

CELEBRATION_SECONDS = 8
MAX_QUEUED_CELEBRATIONS = 5
MAX_REMEMBERED_WALLS = 64
# "today" and "this week" roll over with the clock, not with the data: every UTC offset in
# use is a multiple of 15 minutes, so a site's midnight always starts a new clock bucket.
ROLLOVER_SECONDS = 900

log = logging.getLogger(__name__)


@st.cache_data(ttl=1, max_entries=16, show_spinner=False)
def _data_version(url: str) -> tuple[int]:
    """The change counter, shared by every open wall: at most one lookup per second per database."""
    with Session(get_engine()) as session:
        return queries.data_version(session=session)


@st.cache_data(max_entries=64, show_spinner=False)
def _wall_data(url: str, config: WallConfig, version: tuple[int], rollover: int) -> WallData:
    """Recomputed when any write moves the change counter (an edit in place included) and when
    the clock starts a new ``rollover`` bucket; shared by all walls."""
    with Session(get_engine()) as session:
        return wall_data(session=session, config=config, now=utcnow())


@st.cache_data(max_entries=64, show_spinner=False)
def _celebrations(url: str, config: WallConfig, after_rating: int, after_award: int) -> list[dict]:
    with Session(get_engine()) as session:
        return celebrations(session=session, config=config, after_rating_id=after_rating, after_award_id=after_award)


@st.cache_resource(show_spinner=False)
def _last_good() -> "OrderedDict[tuple, WallData]":
    """The last data each wall scope showed, so a database hiccup never blanks the TV (bounded)."""
    return OrderedDict()


def _remember(key: tuple, data: WallData) -> None:
    store = _last_good()
    store[key] = data
    store.move_to_end(key)
    while len(store) > MAX_REMEMBERED_WALLS:
        store.popitem(last=False)


def _clock(data: WallData) -> str:
    """Local time of the wall's site (UTC when the wall spans sites)."""
    now = datetime.now(timezone.utc)
    if data.timezone:
        return now.astimezone(zone(data.timezone)).strftime("%a %H:%M")
    return now.strftime("%a %H:%M UTC")


def _message(text: str) -> str:
    return (
        '<div class="sb-wall"><div class="sb-empty"><div class="sb-big">★ Starboard</div>'
        f'<div class="sb-sub">{html_text(text)}</div></div></div>'
    )


def _update_celebrations(url: str, config: WallConfig, data: WallData) -> str:
    """Queue each new 5★ or badge once per screen; return the banner to show now, if any."""
    state = st.session_state
    seen = state.get("wall_seen")
    if seen is None or seen[0] > data.latest_rating_id or seen[1] > data.latest_award_id:
        # First look (or a reset database): celebrate only what happens from now on.
        state["wall_seen"] = (data.latest_rating_id, data.latest_award_id)
        state["wall_queue"] = []
    elif (data.latest_rating_id, data.latest_award_id) != tuple(seen):
        events = _celebrations(url, config, seen[0], seen[1])
        queue = (state.get("wall_queue", []) + events)[-MAX_QUEUED_CELEBRATIONS:]
        state["wall_queue"] = queue
        state["wall_seen"] = (data.latest_rating_id, data.latest_award_id)
    now = time.time()
    showing = state.get("wall_showing")
    if showing and showing[1] > now:
        return celebration_html(showing[0])
    queue = state.get("wall_queue", [])
    if queue:
        event = queue.pop(0)
        state["wall_queue"] = queue
        state["wall_showing"] = (event, now + CELEBRATION_SECONDS)
        return celebration_html(event)
    state["wall_showing"] = None
    return ""


def _wait_for_database(refresh: int) -> None:
    """The database is away before the wall knows who it is for: a quiet screen that retries."""
    st.html(STYLE)

    @st.fragment(run_every=refresh)
    def waiting() -> None:
        try:
            _data_version(database_url())
        except UNREACHABLE:
            st.html(reconnecting_html())
            return
        st.rerun()  # back: the whole page again, token check first

    waiting()
    st.stop()


nav.enter()
config = WallConfig.from_params({k: v for k, v in st.query_params.to_dict().items() if k != "display"})
try:
    # A TV opens /wall?display=TOKEN without a person; anyone signed in may open it too.
    viewer = access.display_viewer_from_url() or access.current_viewer()
    if viewer is not None and viewer.is_display and (viewer.display_site_id or viewer.display_team_id):
        # A display shows its token's scope, whatever the URL says.
        with Session(get_engine()) as _session:
            site_name, team_name = accounts.display_scope_names(session=_session, viewer=viewer)
        config = replace(config, site=site_name, team=team_name)
except UNREACHABLE as exc:
    log.warning("wall: database unreachable before the token check (%s)", type(exc).__name__)
    _wait_for_database(min(config.refresh, config.rotate))
    raise  # not reached: _wait_for_database stops the run
if viewer is None:
    st.title("Sign in to open the wall")
    st.caption("A wall TV opens /wall?display=TOKEN (an admin creates display tokens).")
    access.sign_in_form(key="wall_signin")
    st.stop()
st.html(STYLE)


@st.fragment(run_every=min(config.refresh, config.rotate))
def live_wall() -> None:
    url = database_url()
    if viewer.is_display:
        try:
            still_valid = access.display_viewer_from_url() is not None
        except UNREACHABLE:  # the database is away: keep showing the last good data
            still_valid = True
        if not still_valid:
            # A revoked token stops at the next refresh: nothing more is shown.
            st.html(_message("This display's link is no longer valid. Ask an admin for a new one."))
            return
    key = (url, config)
    reconnecting = False
    data: WallData | None = None
    try:
        version = _data_version(url)
        data = _wall_data(url, config, version, int(time.time() // ROLLOVER_SECONDS))
        _remember(key, data)
    except queries.ScopeError as exc:
        st.html(_message(f"{exc}. Check this screen's address."))
        return
    except UNREACHABLE as exc:  # the database is away: the last good data, marked "reconnecting"
        log.warning("wall: database unreachable (%s)", type(exc).__name__)
        reconnecting = True
        data = _last_good().get(key)
    except Exception:  # noqa: BLE001 — a TV never shows a traceback, even for a bug (logged in full)
        log.exception("wall: showing the last good data")
        reconnecting = True
        data = _last_good().get(key)
    if data is None:
        st.html(reconnecting_html())
        return
    panel = current_panel(data.panels(), rotate=config.rotate, clock=time.time(), pinned=config.panel)
    banner = ""
    if not reconnecting:
        try:
            banner = _update_celebrations(url, config, data)
        except UNREACHABLE:  # gone between two queries: the next refresh says "reconnecting"
            banner = ""
    st.html(panel_html(data, panel, now=utcnow(), local_clock=_clock(data), reconnecting=reconnecting, banner=banner))


live_wall()
