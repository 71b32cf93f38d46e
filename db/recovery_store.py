"""Recovery cases and score exclusions: storage, viewer-filtered reads, audited writes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable, Iterable

import pandas as pd
from sqlalchemy import exists, func, insert, literal, select as sa_select
from sqlalchemy.engine import Connection
from sqlmodel import Session, select

from db import notify_events, scope
from db.audit import record as audit_record
from db.models import EXCLUSION_CAUSES, Agent, AuditLog, Interaction, Rating, RecoveryCase, Site, Team, User, utcnow
from db.queries import can_see_agent
from leaderboard.auth import DataKind, Viewer, require_viewer
from leaderboard.recovery import CLOSED_STATUSES, RecoveryError, check_transition, due_at, is_overdue
from leaderboard.settings import Settings, get_settings

CASE_COLUMNS = (
    "case_id",
    "interaction_id",
    "agent",
    "team",
    "stars",
    "opened_at",
    "due_at",
    "status",
    "owner",
)


def open_cases(
    conn: Connection,
    *,
    interaction_ids: Iterable[str],
    now: datetime | None = None,
    settings: Settings | None = None,
) -> list[int]:
    """Open a case for every rating of these interactions at or below the threshold that has none.

    One INSERT … SELECT … RETURNING per call, inside the caller's transaction: the import
    batch that lands a low rating opens its case atomically with it, and queues the
    private alert to the team's leader (``db.notify_events``). Returns the new cases' ids.
    """
    ids = list(interaction_ids)
    if not ids:
        return []
    settings = settings or get_settings()
    now = now or utcnow()
    case = RecoveryCase.__table__
    rating = Rating.__table__
    inter = Interaction.__table__
    chosen = (
        sa_select(
            rating.c.id,
            literal("open"),
            literal(now),
            literal(due_at(now, due_hours=settings.recovery_due_hours)),
            literal(""),
        )
        .select_from(rating.join(inter, inter.c.id == rating.c.interaction_id))
        .where(
            inter.c.interaction_id.in_(ids),
            rating.c.stars <= settings.recovery_threshold,
            ~exists().where(case.c.rating_id == rating.c.id),
        )
    )
    new_ids = [
        row[0]
        for row in conn.execute(
            insert(case).from_select(["rating_id", "status", "opened_at", "due_at", "notes"], chosen)
            .returning(case.c.id)
        )
    ]
    # The team's leader hears of each new case in this same transaction (nothing queued: nothing sent).
    notify_events.queue_recovery_alerts(conn, case_ids=new_ids, now=now, settings=settings)
    return new_ids


def cases(
    *,
    session: Session,
    viewer: Viewer,
    status: str | None = None,
    since: datetime | None = None,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Cases the viewer may see, overdue first, then by due time."""
    require_viewer(viewer)
    now = now or utcnow()
    owner = User.__table__.alias("owner")
    stmt = (
        select(
            RecoveryCase.id,
            Interaction.interaction_id,
            Agent.id,
            Agent.name,
            Team.name,
            Site.name,
            Site.timezone,
            Rating.stars,
            Rating.comment,
            Rating.rated_at,
            Interaction.contact_reason,
            RecoveryCase.opened_at,
            RecoveryCase.due_at,
            RecoveryCase.status,
            owner.c.username,
            RecoveryCase.contacted_at,
            RecoveryCase.closed_at,
            RecoveryCase.followup_stars,
            RecoveryCase.notes,
        )
        .join(Rating, Rating.id == RecoveryCase.rating_id)
        .join(Interaction, Interaction.id == Rating.interaction_id)
        .join(Agent, Agent.id == Rating.agent_id)
        .join(Team, Team.id == Agent.team_id)
        .join(Site, Site.id == Team.site_id)
        .outerjoin(owner, owner.c.id == RecoveryCase.owner_id)
    )
    stmt = scope.by_agent(stmt, viewer, Rating.agent_id, kind=DataKind.RECOVERY)
    if status:
        stmt = stmt.where(RecoveryCase.status == status)
    if since is not None:
        stmt = stmt.where(RecoveryCase.opened_at >= since)
    columns = [
        "case_id", "interaction_id", "agent_id", "agent", "team", "site", "timezone", "stars", "comment",
        "rated_at", "contact_reason", "opened_at", "due_at", "status", "owner", "contacted_at", "closed_at",
        "followup_stars", "notes",
    ]
    frame = pd.DataFrame.from_records(session.exec(stmt).all(), columns=columns)
    if frame.empty:
        return frame.assign(overdue=pd.Series(dtype=bool))
    frame["owner"] = frame["owner"].fillna("")
    frame["overdue"] = [
        is_overdue(status=s, due=d, now=now, contacted_at=None if pd.isna(c) else c)
        for s, d, c in zip(frame["status"], frame["due_at"], frame["contacted_at"])
    ]
    closed = frame["status"].isin(CLOSED_STATUSES)
    frame = frame.assign(_closed=closed).sort_values(
        ["overdue", "_closed", "due_at"], ascending=[False, True, True], kind="mergesort"
    )
    return frame.drop(columns="_closed").reset_index(drop=True)


def find_user(session: Session, name: str) -> User:
    """A user by username or display name (case-insensitive)."""
    name = (name or "").strip()
    user = session.exec(select(User).where(func.lower(User.username) == name.lower())).first()
    if user is None:
        user = session.exec(select(User).where(func.lower(User.display_name) == name.lower())).first()
    if user is None:
        raise RecoveryError(f"no user named {name!r}")
    return user


def _case_for(session: Session, case_id: int, *, viewer: Viewer) -> RecoveryCase:
    """The case, if ``viewer`` may see it (a case out of reach reads as missing)."""
    require_viewer(viewer)
    case = session.get(RecoveryCase, case_id)
    if case is None:
        raise RecoveryError(f"no recovery case {case_id}")
    rating = session.get(Rating, case.rating_id)
    if not can_see_agent(session=session, viewer=viewer, agent_id=rating.agent_id, kind=DataKind.RECOVERY):
        raise RecoveryError(f"no recovery case {case_id}")
    return case


def _append_note(case: RecoveryCase, *, by: str, text: str, now: datetime) -> None:
    line = f"{now:%Y-%m-%d %H:%M} UTC {by}: {text.strip()}"
    case.notes = f"{case.notes}\n{line}".strip() if case.notes else line


def claim(*, session: Session, case_id: int, by: User, viewer: Viewer, now: datetime | None = None) -> RecoveryCase:
    require_viewer(viewer)
    now = now or utcnow()
    case = _case_for(session, case_id, viewer=viewer)
    previous = session.get(User, case.owner_id).username if case.owner_id is not None else None
    case.owner_id = by.id
    _append_note(case, by=by.username, text="claimed the case", now=now)
    session.add(case)
    audit_record(session, actor=by.username, kind="recovery_claimed", target=f"case {case_id}",
                 detail=f"owner {previous or '(none)'} -> {by.username}")
    session.commit()
    return case


def update(
    *,
    session: Session,
    case_id: int,
    status: str,
    by: User,
    note: str | None = None,
    viewer: Viewer,
    now: datetime | None = None,
    then: Callable[[Session, RecoveryCase, str], None] | None = None,
) -> RecoveryCase:
    """Move a case: contacting stamps contacted_at; resolved / no_response stamp closed_at.

    ``then(session, case, old_status)`` runs before the commit, in the same transaction (the
    recovery follow-up queues its e-mail there: leaderboard.recovery_followup).
    """
    require_viewer(viewer)
    now = now or utcnow()
    case = _case_for(session, case_id, viewer=viewer)
    check_transition(case.status, status)
    if status in ("contacted", "resolved") and case.contacted_at is None:
        case.contacted_at = now
    if status in CLOSED_STATUSES:
        case.closed_at = now
    elif status == "open":
        case.closed_at = None
    old = case.status
    case.status = status
    if case.owner_id is None:
        case.owner_id = by.id
    _append_note(case, by=by.username, text=note or f"{old} → {status}", now=now)
    session.add(case)
    detail = f"{old} -> {status}" + (f"; note: {note.strip()}" if note and note.strip() else "")
    audit_record(session, actor=by.username, kind="recovery_updated", target=f"case {case_id}", detail=detail)
    if then is not None:
        then(session, case, old)
    session.commit()
    return case


def record_followup(
    *, session: Session, case_id: int, stars: int, by: User | None = None, viewer: Viewer, now: datetime | None = None,
    comment: str = "",
) -> RecoveryCase:
    """The customer's follow-up stars on the case (never on the rating: the agent's score keeps the original).

    ``comment`` (the customer's words on the follow-up survey) goes into the case's notes as text.
    """
    require_viewer(viewer)
    if not 1 <= int(stars) <= 5:
        raise RecoveryError("a follow-up rating is a whole number of stars from 1 to 5")
    now = now or utcnow()
    case = _case_for(session, case_id, viewer=viewer)
    before = case.followup_stars
    case.followup_stars = int(stars)
    actor = by.username if by else "customer"
    words = " ".join((comment or "").split())
    _append_note(case, by=actor, text=f"follow-up rating {stars}★" + (f": {words}" if words else ""), now=now)
    session.add(case)
    audit_record(
        session, actor=actor, kind="recovery_followup", target=f"case {case_id}",
        detail=f"follow-up stars {before if before is not None else '(none)'} -> {int(stars)}",
    )
    session.commit()
    return case


# --- not the agent's fault ------------------------------------------------------------------------


def _rating_by_interaction(session: Session, interaction_id: str) -> Rating:
    rating = session.exec(
        select(Rating).join(Interaction, Interaction.id == Rating.interaction_id).where(
            Interaction.interaction_id == interaction_id.strip()
        )
    ).first()
    if rating is None:
        raise RecoveryError(f"no rating for interaction {interaction_id!r}")
    return rating


def exclude(
    *, session: Session, interaction_id: str, cause: str, by: User, reason: str, viewer: Viewer
) -> Rating:
    """Mark a rating as outside the agent's control: it leaves their figures, badges and prompts."""
    require_viewer(viewer)
    if cause not in EXCLUSION_CAUSES:
        raise RecoveryError(f"unknown cause {cause!r} (causes: {', '.join(EXCLUSION_CAUSES)})")
    if not (reason or "").strip():
        raise RecoveryError("a reason is required")
    rating = _rating_by_interaction(session, interaction_id)
    if not can_see_agent(session=session, viewer=viewer, agent_id=rating.agent_id, kind=DataKind.RECOVERY):
        raise RecoveryError(f"no rating for interaction {interaction_id!r}")
    before = f" (was {rating.excluded_cause}: {rating.excluded_reason})" if rating.excluded_cause else ""
    rating.excluded_cause = cause
    rating.excluded_reason = reason.strip()
    session.add(rating)
    audit_record(
        session, actor=by.username, kind="score_excluded", target=interaction_id,
        detail=f"{cause}: {reason.strip()}{before}",
    )
    session.commit()
    return rating


def undo_exclusion(*, session: Session, interaction_id: str, by: User, viewer: Viewer) -> Rating:
    require_viewer(viewer)
    rating = _rating_by_interaction(session, interaction_id)
    if not can_see_agent(session=session, viewer=viewer, agent_id=rating.agent_id, kind=DataKind.RECOVERY):
        raise RecoveryError(f"no rating for interaction {interaction_id!r}")
    if rating.excluded_cause is None:
        raise RecoveryError(f"interaction {interaction_id!r} is not excluded")
    old = rating.excluded_cause
    rating.excluded_cause = None
    rating.excluded_reason = ""
    session.add(rating)
    audit_record(session, actor=by.username, kind="score_exclusion_undone", target=interaction_id, detail=f"was {old}")
    session.commit()
    return rating


def root_causes(
    *, session: Session, viewer: Viewer, start: datetime | None, end: datetime | None, max_stars: int = 2
) -> pd.DataFrame:
    """Low ratings by contact reason and cause (``agent`` when not excluded), most first."""
    require_viewer(viewer)
    stmt = (
        select(Interaction.contact_reason, Rating.excluded_cause, func.count(), func.avg(Rating.stars))
        .join(Interaction, Interaction.id == Rating.interaction_id)
        .where(Rating.stars <= max_stars)
        .group_by(Interaction.contact_reason, Rating.excluded_cause)
    )
    if start is not None:
        stmt = stmt.where(Rating.rated_at >= start)
    if end is not None:
        stmt = stmt.where(Rating.rated_at < end)
    stmt = scope.by_agent(stmt, viewer, Rating.agent_id, kind=DataKind.RECOVERY)
    frame = pd.DataFrame.from_records(
        session.exec(stmt).all(), columns=["contact_reason", "cause", "ratings", "avg_stars"]
    )
    if frame.empty:
        return frame
    frame["cause"] = frame["cause"].fillna("agent")
    frame["contact_reason"] = frame["contact_reason"].replace("", "(none)")
    frame["avg_stars"] = frame["avg_stars"].astype(float).round(2)
    return frame.sort_values(["ratings", "contact_reason"], ascending=[False, True]).reset_index(drop=True)


# --- the page's working queue ------------------------------------------------------------------------


def queue(
    *, session: Session, viewer: Viewer, now: datetime | None = None, closed_within_days: float = 7.0
) -> pd.DataFrame:
    """The working queue: open and contacted cases (overdue first, then by due time), then the cases
    closed in the last ``closed_within_days`` days, most recently closed first.

    Columns as ``cases``; the viewer filter is the same.
    """
    require_viewer(viewer)
    now = now or utcnow()
    live = pd.concat(
        [cases(session=session, viewer=viewer, status=s, now=now) for s in ("open", "contacted")], ignore_index=True
    )
    if len(live):
        live = live.sort_values(["overdue", "due_at"], ascending=[False, True], kind="mergesort")
    cutoff = now - timedelta(days=closed_within_days)
    # A case closes after it opens: looking back a few times the window finds every recent closure.
    since = now - timedelta(days=max(30.0, 4 * closed_within_days))
    closed = [cases(session=session, viewer=viewer, status=s, since=since, now=now) for s in CLOSED_STATUSES]
    closed = pd.concat(closed, ignore_index=True)
    if len(closed):
        closed = closed[pd.to_datetime(closed["closed_at"]) >= cutoff].sort_values(
            "closed_at", ascending=False, kind="mergesort"
        )
    parts = [p for p in (live, closed) if len(p)]
    if not parts:
        return cases(session=session, viewer=viewer, status="open", now=now)
    return pd.concat(parts, ignore_index=True)


def exclusions(*, session: Session, viewer: Viewer, interaction_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """{interaction_id: (cause, reason)} for the excluded ratings among these the viewer may see."""
    require_viewer(viewer)
    ids = [i for i in dict.fromkeys(interaction_ids) if i]
    if not ids:
        return {}
    stmt = (
        select(Interaction.interaction_id, Rating.excluded_cause, Rating.excluded_reason)
        .join(Interaction, Interaction.id == Rating.interaction_id)
        .where(Interaction.interaction_id.in_(ids), Rating.excluded_cause.is_not(None))
    )
    stmt = scope.by_agent(stmt, viewer, Rating.agent_id, kind=DataKind.RECOVERY)
    return {iid: (cause, reason or "") for iid, cause, reason in session.exec(stmt).all()}


def recovery_version(*, session: Session) -> tuple:
    """A cheap fingerprint that moves with every case opened and every audited recovery or exclusion write."""
    row = session.exec(
        select(
            func.coalesce(func.max(RecoveryCase.id), literal(0)),
            func.count(RecoveryCase.id),
            sa_select(func.coalesce(func.max(AuditLog.id), 0)).scalar_subquery(),
        )
    ).one()
    return tuple(row)
