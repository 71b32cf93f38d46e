"""The app's navigation, built in one place: app.py calls ``run_app``; every page file starts with ``enter``.

A folder named pages/ next to app.py makes a fresh Streamlit server (1.67) run
pages/<name>.py on its own when its first request names that page (a bookmark
of /leaderboard or a wall's /wall?display=… after a restart): the legacy
"pages folder" mode, with Streamlit's own menu of file names and without
app.py's page config. It lasts until some script run calls ``st.navigation``
(AppTest starts every run in it). So a page file's first act is ``enter()``:
inside our navigation it returns at once; otherwise it runs the app, whose
``st.navigation`` picks this same page by its URL and runs the file again, now
inside the app, and then stops the outer run. Public API only; the pages stay
files so ``st.switch_page`` and AppTest's ``switch_page("pages/x.py")`` work.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

import streamlit as st

from pages import access, common, loaders

# name (URL path): (title, icon); page files and role menus live in pages/access.py.
PAGES = {
    "signin": ("Sign in", ":material/login:"),
    "me": ("My page", ":material/person:"),
    "coaching": ("Coaching", ":material/forum:"),
    "leaderboard": ("Leaderboard", ":material/leaderboard:"),
    "recovery": ("Recovery", ":material/support_agent:"),
    "badges": ("Badges", ":material/military_tech:"),
    "wall": ("Wall", ":material/tv:"),
    "data": ("Data", ":material/upload_file:"),
    "admin": ("Admin", ":material/admin_panel_settings:"),
}

# Pages that open in a new tab from the sidebar instead of replacing the current screen.
NEW_TAB = ("wall",)

# True while run_app's navigation runs a page (per script run: each run has its own thread).
_IN_APP: ContextVar[bool] = ContextVar("starboard_in_app", default=False)


@contextmanager
def _inside_app():
    token = _IN_APP.set(True)
    try:
        yield
    finally:
        _IN_APP.reset(token)


def run_app() -> None:
    """The whole app: page config, first-run demo data, the menu for who is signed in, the page."""
    st.set_page_config(page_title="Starboard", layout="wide", page_icon="⭐")
    away = None
    try:
        common.get_engine()  # cached: opens (and upgrades) the database once per server process
        loaders.ensure_demo_data()
        viewer = access.current_viewer()
    except common.UNREACHABLE as exc:
        away, viewer = exc, None  # the database is away: said below, once the page is known
    menu = access.MENUS.get(viewer.role, ()) if viewer else ()
    home = menu[0] if menu else "signin"
    pages = [
        # Pages outside the menu stay reachable by URL (a bookmark, a wall's display link) and
        # answer with their own sign-in or "not for your role" message.
        st.Page(access.PAGE_FILES[name], title=title, icon=icon, url_path=name, default=(name == home),
                visibility="visible" if name in menu and name not in NEW_TAB else "hidden")
        for name, (title, icon) in PAGES.items()
    ]
    on_wall = (st.context.url or "").rstrip("/").endswith("/wall")
    nav = st.navigation(pages, position="sidebar" if viewer and not on_wall else "hidden")
    if away is not None and nav.url_path != "wall":
        common.cannot_reach(away)  # the wall instead shows its quiet "reconnecting" screen and retries
    if viewer and not on_wall:
        for name in NEW_TAB:
            if name in menu:
                title, icon = PAGES[name]
                # A link, not a menu entry: the wall has no sidebar, so it opens in a tab of its own
                # (link_button's <a target="_blank">). Relative: every page is one level deep.
                st.sidebar.link_button(f"Open the {title.lower()}", f"./{name}", icon=icon, width="stretch",
                                       help="Opens in a new tab: put it on a TV, keep this one for work")
        access.sidebar_account(viewer)
    with _inside_app():
        nav.run()


def enter() -> None:
    """The first line of every page file: run the app around this page unless it is already inside."""
    if _IN_APP.get():
        return
    run_app()
    st.stop()
