"""Sign in: Username, Password, Sign in. The only page for someone not signed in."""

import streamlit as st

from pages import access, nav

nav.enter()
viewer = access.current_viewer()
if viewer is not None:
    # Signed in (or just now): on to this person's home page.
    st.switch_page(access.home_page(viewer))
left, middle, right = st.columns([1, 1.3, 1])
with middle:
    st.title("⭐ Starboard")
    st.caption("Fair star leaderboards and coaching for your contact center.")
    access.sign_in_form(key="signin")
