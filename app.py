"""Starboard: the router and picture frame. Every screen is a page in pages/.

    streamlit run app.py

One command, one server: ``streamlit run`` finds the ``st.App`` below and serves,
from the same process, the screens and the plain HTTP routes of
``leaderboard/http`` (the customer survey /s/<token>, the API /api/v1/...), and
starts the survey e-mail sender (``leaderboard/http/lifespan.py``) when SMTP is set.
This file plays two parts: imported by that server as the module ``app`` it
builds the ``App``; run by Streamlit for each browser session (``__name__`` is
"__main__" then, as under AppTest) it draws the screens.

The first run on an empty database seeds demo data (STARBOARD_AUTO_SEED=0 turns that off).
Which pages the menu lists depends on who signed in (pages/nav.py builds the
navigation; pages/access.py holds the role menus); every page also checks
access itself, so a bookmark or a crafted URL shows nothing it should not.
"""

import streamlit as st

if __name__ == "__main__":
    from pages.nav import run_app

    run_app()
else:
    from leaderboard.http.lifespan import lifespan
    from leaderboard.http.routes import ROUTES

    app = st.App("app.py", routes=ROUTES, lifespan=lifespan)
