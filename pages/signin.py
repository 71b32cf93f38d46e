"""Sign in: Username, Password, Sign in. The only page for someone not signed in."""

import streamlit as st

from pages import access, common

common.guard_page()
viewer = access.current_viewer()
if viewer is not None:
    st.success(f"You are signed in as {common.md(viewer.display_name or viewer.username)}.")
    st.page_link("pages/leaderboard.py", label="Open the leaderboard", icon=":material/leaderboard:")
else:
    left, middle, right = st.columns([1, 1.3, 1])
    with middle:
        st.title("⭐ Starboard")
        st.caption("Fair star leaderboards and coaching for your contact center.")
        access.sign_in_form(key="signin")
