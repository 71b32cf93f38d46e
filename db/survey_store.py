"""Storage for the customer survey: the server secret, what a survey page shows, recording an answer.

An answer is written through the one write path (``db.ingest.write_rows``), as an
imported row would be: recovery cases and everything else that follows a rating
come with it. ``survey_response`` only remembers when the customer first answered,
so a second submit within ``RESUBMIT_WINDOW`` replaces the answer and a later one
is refused.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from db.ingest import CanonicalRow, write_rows
from db.insert_new import insert_new
from leaderboard.auth import SYSTEM_VIEWER
from db.models import AppMeta, Agent, Interaction, Rating, Site, SurveyResponse, Team, utcnow

SECRET_META_KEY = "survey_secret"
RESUBMIT_WINDOW = timedelta(minutes=30)

_META = AppMeta.__table__


def server_secret(*, engine: Engine, configured: str = "") -> bytes:
    """The signing secret: ``configured`` (STARBOARD_SECRET_KEY) when set, else one generated once into app_meta."""
    if configured:
        return configured.encode("utf-8")
    with engine.begin() as conn:
        found = conn.execute(select(_META.c.value).where(_META.c.key == SECRET_META_KEY)).scalar()
        if found:
            return found.encode("utf-8")
        values = {"key": SECRET_META_KEY, "value": secrets.token_urlsafe(48)}
        stmt, _ = insert_new(conn.dialect.name, _META, key=["key"])
        conn.execute(stmt.values(values))
        # Two servers starting at once keep the one that landed first.
        return conn.execute(select(_META.c.value).where(_META.c.key == SECRET_META_KEY)).scalar_one().encode("utf-8")


@dataclass(frozen=True)
class SurveySubject:
    """What the survey page needs about one interaction (it shows the agent's public name only)."""

    interaction_id: str
    agent: str  # the full name: the page shows leaderboard.names.public_name of it
    team: str
    channel: str
    answered_at: datetime | None  # first answer, None when not answered yet


def interaction_exists(*, engine: Engine, interaction_id: str) -> bool:
    with engine.connect() as conn:
        return conn.execute(
            select(Interaction.id).where(Interaction.interaction_id == interaction_id)
        ).first() is not None


def subject(*, engine: Engine, interaction_id: str) -> SurveySubject | None:
    """The interaction a survey link names (None when it is gone)."""
    stmt = (
        select(Interaction.interaction_id, Agent.name, Team.name, Interaction.channel, SurveyResponse.first_at)
        .join(Agent, Agent.id == Interaction.agent_id)
        .join(Team, Team.id == Agent.team_id)
        .outerjoin(SurveyResponse, SurveyResponse.interaction_id == Interaction.id)
        .where(Interaction.interaction_id == interaction_id)
    )
    with engine.connect() as conn:
        row = conn.execute(stmt).first()
    if row is None:
        return None
    return SurveySubject(row[0], row[1], row[2], row[3], row[4])


@dataclass(frozen=True)
class Answer:
    stars: int
    comment: str = ""
    resolved: bool | None = None
    nps: int | None = None
    went_well: tuple[str, ...] = ()
    to_improve: tuple[str, ...] = ()


def record_answer(*, engine: Engine, interaction_id: str, answer: Answer, now: datetime | None = None) -> str:
    """Record a customer's answer: "recorded", "replaced" (within the window), "already" (refused) or "missing"."""
    now = now or utcnow()
    base = (
        select(Interaction.id, Agent.name, Team.name, Site.name, Interaction.channel, Interaction.contact_reason,
               Interaction.closed_at)
        .join(Agent, Agent.id == Interaction.agent_id)
        .join(Team, Team.id == Agent.team_id)
        .join(Site, Site.id == Team.site_id)
        .where(Interaction.interaction_id == interaction_id)
    )
    with engine.connect() as conn:
        found = conn.execute(base).first()
        if found is None:
            return "missing"
        pk = found[0]
        first_at = conn.execute(
            select(SurveyResponse.first_at).where(SurveyResponse.interaction_id == pk)
        ).scalar()
    if first_at is not None and now - first_at > RESUBMIT_WINDOW:
        return "already"
    row = CanonicalRow(
        interaction_id=interaction_id,
        agent=found[1],
        team=found[2],
        site=found[3],
        channel=found[4],
        contact_reason=found[5],
        closed_at=found[6],
        rated_at=max(now, found[6]),
        stars=answer.stars,
        comment=answer.comment,
        resolved=answer.resolved,
        nps=answer.nps,
        went_well=answer.went_well,
        to_improve=answer.to_improve,
    )
    write_rows(engine=engine, rows=[row], viewer=SYSTEM_VIEWER)  # the customer, through a signed link
    table = SurveyResponse.__table__
    with engine.begin() as conn:
        if first_at is None:
            values = {"interaction_id": pk, "first_at": now, "last_at": now, "submissions": 1}
            stmt, _ = insert_new(conn.dialect.name, table, key=["interaction_id"])
            if conn.execute(stmt.values(values).returning(table.c.interaction_id)).first() is not None:
                return "recorded"
        conn.execute(
            update(table).where(table.c.interaction_id == pk)
            .values(last_at=now, submissions=table.c.submissions + 1)
        )
    return "replaced"


def stored_rating(*, engine: Engine, interaction_id: str) -> dict | None:
    """The rating stored for an interaction (tests and the command line check answers with it)."""
    stmt = (
        select(Rating.stars, Rating.comment, Rating.resolved, Rating.nps)
        .join(Interaction, Interaction.id == Rating.interaction_id)
        .where(Interaction.interaction_id == interaction_id)
    )
    with engine.connect() as conn:
        row = conn.execute(stmt).first()
    return None if row is None else dict(row._mapping)
