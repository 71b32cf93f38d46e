"""Notifications (issue 15, delivery): destinations, queue_notification, renderers, the sender."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from db import notify_store, outbox
from db.models import NotifyDelivery
from leaderboard.auth import SYSTEM_VIEWER
from tests.factories import make_site, make_team, make_user

MESSAGE = {"title": "Paolo R. · 1★", "lines": ["'Worst experience…'"], "link": "http://x/r", "fields": [["case", "DEMO-1"]]}


def _add(engine, name, scope, scope_id, kinds, **kw):
    with engine.begin() as conn:
        return notify_store.add_destination(
            conn, viewer=SYSTEM_VIEWER, name=name, url=f"http://127.0.0.1:9/{name}", type=kw.pop("type", "webhook"),
            scope=scope, scope_id=scope_id, kinds=tuple(kinds), **kw,
        )


def test_queue_notification_one_row_per_covering_destination_and_dedupe(engine):
    team = make_team(engine, "Bayanihan", site="Manila", leader="lead.m")
    other = make_team(engine, "Other", site="Manila", leader="lead.o")
    site_id = team.site_id
    lead = make_user(engine, "lead.m")
    leaders = _add(engine, "leaders", "team", team.id, ["recovery", "digest"])
    _add(engine, "other-team", "team", other.id, ["recovery"])
    personal = _add(engine, "lead-own", "user", lead.id, ["recovery"])
    _add(engine, "shout", "site", site_id, ["celebration", "badge"])
    with engine.begin() as conn:
        n = notify_store.queue_notification(conn, kind="recovery", message=MESSAGE, dedupe_key="case:1", team_id=team.id)
        again = notify_store.queue_notification(conn, kind="recovery", message=MESSAGE, dedupe_key="case:1", team_id=team.id)
        public = notify_store.queue_notification(conn, kind="celebration", message=MESSAGE, dedupe_key="r:1",
                                                 team_id=team.id)
        links = dict(conn.execute(select(NotifyDelivery.outbox_id, NotifyDelivery.destination_id)).all())
    assert (n, again, public) == (2, 0, 1)
    rows = outbox.messages(engine)
    recovery = [r for r in rows if r["kind"] == "notify:recovery"]
    assert sorted(links[r["id"]] for r in recovery) == sorted([leaders, personal])
    assert all(r["recipient"] == "" for r in rows)  # the URL stays in its own table
    assert json.loads(recovery[0]["text"]) == MESSAGE


def test_queue_notification_refuses_unknown_kind(engine):
    with engine.begin() as conn, pytest.raises(ValueError):
        notify_store.queue_notification(conn, kind="gossip", message=MESSAGE, dedupe_key="x")
