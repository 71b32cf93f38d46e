"""Starboard: the router and picture frame. Every screen is a page in pages/.

    streamlit run app.py

The first run on an empty database seeds demo data (STARBOARD_AUTO_SEED=0 turns that off).
Which pages the menu lists depends on who signed in; every page also checks
access itself (pages/access.py), so a bookmark or a crafted URL shows nothing
it should not.
"""

import streamlit as st

from pages import access, common

st.set_page_config(page_title="Starboard", layout="wide", page_icon="⭐")
common.ensure_demo_data()

# name: (title, icon); scripts and role menus live in pages/access.py.
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

viewer = access.current_viewer()
menu = access.MENUS.get(viewer.role, ()) if viewer else ()
home = menu[0] if menu else "signin"
pages = [
    # Pages outside the menu stay reachable by URL (a bookmark, a wall's display link) and
    # answer with their own sign-in or "not for your role" message.
    st.Page(access.PAGE_FILES[name], title=title, icon=icon, url_path=name, default=(name == home),
            visibility="visible" if name in menu else "hidden")
    for name, (title, icon) in PAGES.items()
]
on_wall = (st.context.url or "").rstrip("/").endswith("/wall")
nav = st.navigation(pages, position="sidebar" if viewer and not on_wall else "hidden")
if viewer and not on_wall:
    access.sidebar_account(viewer)
nav.run()
