"""Storage for asking customers: survey offers (link, email, api) and the unsubscribe list.

An offer says that an interaction's customer was asked, and how: one row per interaction
and channel (``survey_offer``; recording the same offer again changes nothing). The
response rate counts answered offers among offered interactions where offers are known
(``db.queries.interaction_sums``). The unsubscribe list keeps only a SHA-256 of each
address (``leaderboard.mail_rules.address_hash``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Sequence

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection, Engine

from db.audit import record
from db.chunks import chunks
from db.insert_new import insert_new
from db.rollups import offer_pairs, refresh_rollups
from db.models import OFFER_CHANNELS, Agent, Interaction, MailUnsubscribe, SurveyOffer, Team, utcnow
from leaderboard.auth import AuthError, Viewer, may_administer

_OFFER = SurveyOffer.__table__
_UNSUB = MailUnsubscribe.__table__


def _system_only(viewer: Viewer, what: str) -> None:
    # Customers act through signed links, help desks through API keys: both write as the system.
    if not may_administer(viewer):
        raise AuthError(f"only the system may {what}")


def _insert_ignoring_duplicates(conn: Connection, table, rows: list[dict], key: list[str]) -> int:
    if not rows:
        return 0
    stmt, skips_taken = insert_new(conn.dialect.name, table, key=key)
    if skips_taken:
        return len(conn.execute(stmt.values(rows).returning(table.c.id)).all())
    added = 0
    for row in rows:
        if conn.execute(select(table.c.id).where(*(table.c[k] == row[k] for k in key))).first() is None:
            conn.execute(insert(table).values(row))
            added += 1
    return added


@dataclass(frozen=True)
class MailSubject:
    """What a survey e-mail names about an interaction."""

    pk: int
    interaction_id: str
    agent: str  # full name: the e-mail shows leaderboard.names.public_name of it
    team: str


def subjects(conn: Connection, interaction_ids: Sequence[str]) -> dict[str, MailSubject]:
    """The stored interactions among ``interaction_ids`` (external ids), with their agent and team."""
    found: dict[str, MailSubject] = {}
    for part in chunks(list(dict.fromkeys(interaction_ids))):
        stmt = (
            select(Interaction.id, Interaction.interaction_id, Agent.name, Team.name)
            .join(Agent, Agent.id == Interaction.agent_id)
            .join(Team, Team.id == Agent.team_id)
            .where(Interaction.interaction_id.in_(list(part)))
        )
        for pk, external, agent, team in conn.execute(stmt):
            found[external] = MailSubject(pk, external, agent, team)
    return found


def record_offers(
    conn: Connection, *, viewer: Viewer, interaction_pks: Iterable[int], channel: str, now: datetime | None = None
) -> int:
    """Record that these interactions' customers were offered the survey by ``channel``; how many are new."""
    _system_only(viewer, "record survey offers")
    if channel not in OFFER_CHANNELS:
        raise ValueError(f"unknown survey offer channel {channel!r} (one of {', '.join(OFFER_CHANNELS)})")
    now = now or utcnow()
    rows = [{"interaction_id": pk, "channel": channel, "offered_at": now} for pk in dict.fromkeys(interaction_pks)]
    added = 0
    for part in chunks(rows, 500):
        added += _insert_ignoring_duplicates(conn, _OFFER, list(part), ["interaction_id", "channel"])
    if added:  # an offer moves the response rate onto what was asked: the rollups follow
        refresh_rollups(conn, offer_pairs(conn, [row["interaction_id"] for row in rows]))
    return added


def offers(engine: Engine, *, interaction_id: str) -> list[str]:
    """The channels an interaction's survey was offered by (sorted)."""
    stmt = (
        select(SurveyOffer.channel)
        .join(Interaction, Interaction.id == SurveyOffer.interaction_id)
        .where(Interaction.interaction_id == interaction_id)
        .order_by(SurveyOffer.channel)
    )
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(stmt)]


def is_unsubscribed(conn: Connection, address_hash: str) -> bool:
    return conn.execute(select(_UNSUB.c.id).where(_UNSUB.c.address_hash == address_hash)).first() is not None


def unsubscribe(engine: Engine, *, viewer: Viewer, address_hash: str, now: datetime | None = None) -> bool:
    """Put an address (its hash) on the unsubscribe list, audited; False when it was there already."""
    _system_only(viewer, "change the unsubscribe list")
    with engine.begin() as conn:
        added = _insert_ignoring_duplicates(
            conn, _UNSUB, [{"address_hash": address_hash, "created_at": now or utcnow()}], ["address_hash"]
        )
        if added:
            # The entry names the hash's start only: enough to match a complaint, never the address.
            record(conn, actor=viewer.username, kind="unsubscribed", target=f"address {address_hash[:12]}…",
                   detail="survey e-mails stopped for this address")
    return bool(added)
