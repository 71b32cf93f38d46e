"""Starboard: the router and picture frame. Every screen is a page in pages/.

    streamlit run app.py

The first run on an empty database seeds demo data (STARBOARD_AUTO_SEED=0 turns that off).
Which pages the menu lists depends on who signed in (pages/nav.py builds the
navigation; pages/access.py holds the role menus); every page also checks
access itself, so a bookmark or a crafted URL shows nothing it should not.
"""

from pages.nav import run_app

run_app()
