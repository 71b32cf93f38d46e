"""The server's sender delivers notifications by itself (issue 15): a real ``streamlit run app.py``
without SMTP, a destination added from the command line, a local HTTP receiver."""

from __future__ import annotations

import threading

from sqlalchemy import select

from db import notify_store
from db.models import Team
from tests.cli_util import run_cli
from tests.http_util import TEAM, live  # noqa: F401  (the fixture)
from tests.test_notify import Receiver


def test_the_server_delivers_a_queued_notification_without_smtp(live):
    receiver = Receiver()
    receiver.thread.start()
    arrived = threading.Event()
    try:
        with live.engine.connect() as conn:
            team_id, site_id = conn.execute(select(Team.id, Team.site_id).where(Team.name == TEAM)).one()
        site = live.scalar("SELECT name FROM site WHERE id = :id", id=site_id)
        done = run_cli("notify", "add", "leads", receiver.url("/leads"), "--for", f"team:{site}/{TEAM}",
                       "--kinds", "recovery", db=live.db_url)
        assert done.returncode == 0, done.stderr
        with live.engine.begin() as conn:
            queued = notify_store.queue_notification(
                conn, kind="recovery", message={"title": "Maria S. · 1★", "lines": ["'slow'"]},
                dedupe_key="case:live", team_id=team_id,
            )
        assert queued == 1
        # A deadline, not a timing check: the sender ticks every second.
        for _ in range(120):
            if receiver.to("/leads"):
                break
            arrived.wait(0.5)
        (body,) = receiver.to("/leads")
        assert body["title"] == "Maria S. · 1★" and body["kind"] == "recovery"
        assert live.scalar("SELECT status FROM outbox WHERE kind = 'notify:recovery'") == "sent"
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
