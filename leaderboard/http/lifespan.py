"""What the server process runs beside its routes: the survey e-mail sender (started once, stopped at exit).

``app.py`` hands ``lifespan`` to ``st.App``: it runs in the server started by
``streamlit run app.py`` only, never under AppTest or the command line. Without
STARBOARD_SMTP_URL no thread starts.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from leaderboard import survey_mail
from leaderboard.http import context


@asynccontextmanager
async def lifespan(_app):
    survey_mail.start_sender(engine=context.engine, settings=context.settings)
    try:
        yield None
    finally:
        survey_mail.stop_sender()
