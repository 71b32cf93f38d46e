"""Starboard: the router and picture frame. Every screen is a page in pages/.

    streamlit run app.py

The first run on an empty database seeds demo data (STARBOARD_AUTO_SEED=0 turns that off).
"""

import streamlit as st

from pages import common

st.set_page_config(page_title="Starboard", layout="wide", page_icon="⭐")

page = st.navigation(
    [
        # "/" forwards to /leaderboard (with its query), so both addresses show the leaderboard.
        st.Page(common.open_leaderboard, title="Starboard", url_path="home", default=True, visibility="hidden"),
        st.Page("pages/leaderboard.py", title="Leaderboard", icon=":material/leaderboard:", url_path="leaderboard"),
        st.Page("pages/wall.py", title="Wall", icon=":material/tv:", url_path="wall"),
        st.Page("pages/data.py", title="Data", icon=":material/upload_file:", url_path="data"),
    ]
)
common.ensure_demo_data()
page.run()
