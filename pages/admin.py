"""Placeholder page until its screen lands."""

import streamlit as st

from pages import access, common

common.guard_page()
viewer = access.require_viewer()
st.title("admin")
st.info("This screen is being built.")
