"""Notifications to Slack, Teams, generic webhooks and e-mail (issue 15): what is queued, for whom.

CONTRACT (shared by the delivery and the event work; keep the signature):

``queue_notification(conn, *, kind, message, dedupe_key, site_id=None, team_id=None, user_id=None) -> int``
is called inside the transaction of the write that caused it (a rating landing, a case
opening, a badge award) or by a scheduled job. It finds the destinations configured for
``kind`` whose scope covers (site_id, team_id, user_id) and queues one ``outbox`` row per
destination (``dedupe_key`` + destination: queueing twice adds nothing). Returns how many
rows it queued. ``message`` is a JSON-able dict of raw user text (the renderers escape per
channel): {"title": str, "lines": [str, ...], "link": str | None, "fields": [[label, value], ...]}.

Kinds: "recovery" and "recovery_overdue" and "digest" are private (a leader's or manager's
own channel); "celebration", "badge" and "weekly" are public (shout-out channels).
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

PRIVATE_KINDS = ("recovery", "recovery_overdue", "digest")
PUBLIC_KINDS = ("celebration", "badge", "weekly")
KINDS = PRIVATE_KINDS + PUBLIC_KINDS


def queue_notification(
    conn: Connection,
    *,
    kind: str,
    message: dict,
    dedupe_key: str,
    site_id: int | None = None,
    team_id: int | None = None,
    user_id: int | None = None,
) -> int:
    """Queue ``message`` for every destination of ``kind`` covering the scope; the number queued.

    Stub until destinations exist (no destination: nothing to queue).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    return 0
