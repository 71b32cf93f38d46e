"""Reading awards: lists for screens and commands, and the public recognition feed."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlmodel import Session

from db import badge_store as store



def list_awards(
    *,
    session: Session,
    viewer,
    agent_id: int | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Awards of the agents ``viewer`` may see, newest first.

    Columns: AWARD_COLUMNS (agent, badge, kind, awarded_at, awarded_by,
    reason, evidence) then AWARD_EXTRA_COLUMNS (award_id, agent_id,
    display_name, team, badge_code, description, criteria, period_key,
    awarded_by_id). ``since`` is a naive UTC datetime.
    """
    return store.award_rows(session=session, viewer=viewer, agent_id=agent_id, since=since, limit=limit)


def agent_badges(*, session: Session, viewer, agent_id: int) -> pd.DataFrame:
    """One agent's awards, newest first (columns of :func:`list_awards`); empty unless ``viewer`` may see
    the agent (agents see their own, leaders their teams', managers their sites')."""
    return list_awards(session=session, viewer=viewer, agent_id=agent_id)


def recognition_feed(*, session: Session, since: datetime | None = None, limit: int = 20) -> list[dict]:
    """Recent awards for public screens, newest first: id, agent (display name), team, badge,
    badge_code, kind, awarded_at. Agents hidden from the wall never appear; reasons and evidence
    never leave (they may quote customers)."""
    return store.public_awards(session=session, since=since, limit=limit)
