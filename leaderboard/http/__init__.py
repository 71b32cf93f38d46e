"""Plain HTTP beside the screens: the customer survey (/s/<token>) and the API (/api/v1/...).

An interface layer like ``leaderboard/commands``: routes, request parsing and HTML
rendering (Starlette; never Streamlit). ``app.py`` hands ``routes.ROUTES`` to
Streamlit's own ASGI app (``st.App(..., routes=...)``), so ``streamlit run app.py``
serves both from one process.
"""
