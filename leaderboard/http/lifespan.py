"""What the server process runs beside its routes: the sender (started once, stopped at exit).

``app.py`` hands ``lifespan`` to ``st.App``: it runs in the server started by
``streamlit run app.py`` only, never under AppTest or the command line. The sender
thread always starts; at each tick it sends survey e-mails when STARBOARD_SMTP_URL is
set, and runs the scheduled notifications and delivers the outbox's notifications when a
destination exists (``leaderboard.notify.tick``: one cheap query otherwise). It ticks every
NOTIFY_POLL_S seconds so an alert arrives within seconds of the rating.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from leaderboard import notify, survey_mail
from leaderboard.http import context


NOTIFY_POLL_S = 1.0


@asynccontextmanager
async def lifespan(_app):
    survey_mail.start_sender(engine=context.engine, settings=context.settings, jobs=(notify.tick,), poll=NOTIFY_POLL_S)
    try:
        yield None
    finally:
        survey_mail.stop_sender()
