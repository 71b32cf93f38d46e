"""Help-desk webhooks, the use case: a rating event into the one write path, or into the unmatched queue.

``receive`` writes an event whose agent id is linked (``agents link``) through
``db.ingest.write_rows`` as the rating of interaction ``<source>-<ticket id>``: the agent from
the link, their team and site, the channel by source (a stored interaction keeps its own
channel, contact reason and close time), rated and closed at the event's time. An event whose
agent id has no link waits in the unmatched queue (``db.hook_store``); ``link_and_replay``
makes the link and writes the waiting ratings. Answers: inserted, updated, unchanged,
stale (older than the stored answer: never rolled back), unmatched, rejected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from db import hook_store
from db.ingest import CanonicalRow, ImportReport, write_rows
from leaderboard.auth import SYSTEM_VIEWER, Viewer
from leaderboard.hooks import HookEvent


@dataclass(frozen=True)
class Outcome:
    status: str  # inserted | updated | unchanged | stale | unmatched | rejected
    errors: tuple[str, ...] = ()


@dataclass
class Replay:
    linked: hook_store.Linked
    report: ImportReport = field(default_factory=ImportReport)
    replayed: int = 0  # queued ratings written and removed from the queue


def canonical_row(
    *, agent: hook_store.LinkedAgent, interaction_id: str, channel: str, stars: int, comment: str,
    to_improve: tuple[str, ...], rated_at: datetime, stored: tuple[str, str, datetime] | None,
) -> CanonicalRow:
    """The canonical row of a help-desk rating of ``agent`` (``stored``: the interaction as Starboard has it)."""
    channel, reason, closed_at = stored if stored is not None else (channel, "", rated_at)
    return CanonicalRow(
        interaction_id=interaction_id, agent=agent.name, team=agent.team, site=agent.site, channel=channel,
        contact_reason=reason, closed_at=closed_at, rated_at=rated_at, stars=stars, comment=comment,
        to_improve=to_improve, agent_external_id=agent.external_id,
    )


def outcome(report: ImportReport) -> Outcome:
    """What one written row became."""
    if report.rejected:
        return Outcome("rejected", tuple(e.problem for e in report.errors))
    if report.inserted:
        return Outcome("inserted")
    if report.updated:
        return Outcome("updated")
    return Outcome("stale" if report.stale else "unchanged")


def receive(*, engine: Engine, event: HookEvent, viewer: Viewer = SYSTEM_VIEWER) -> Outcome:
    """Write one help-desk rating (linked agent) as ``viewer`` (the key's), or queue it (no link yet)."""
    agent = hook_store.linked_agent(engine=engine, source=event.source, external_id=event.agent_id)
    if agent is None:
        status = hook_store.queue_rating(
            engine=engine, source=event.source, external_agent_id=event.agent_id,
            external_agent_name=event.agent_name, interaction_id=event.interaction_id, channel=event.channel,
            stars=event.stars, comment=event.comment, to_improve=event.to_improve, rated_at=event.rated_at,
        )
        # A link made while this event was queued would never replay it: replay now.
        if hook_store.linked_agent(engine=engine, source=event.source, external_id=event.agent_id) is not None:
            replay(engine=engine, viewer=viewer, source=event.source, external_id=event.agent_id)
        return Outcome(status)
    row = canonical_row(
        agent=agent, interaction_id=event.interaction_id, channel=event.channel, stars=event.stars,
        comment=event.comment, to_improve=event.to_improve, rated_at=event.rated_at,
        stored=hook_store.interaction_basics(engine=engine, interaction_id=event.interaction_id),
    )
    # The key's viewer: every site, or only the key's sites (audit entries name "apikey:NAME").
    return outcome(write_rows(engine=engine, viewer=viewer, rows=[row]))


def replay(*, engine: Engine, viewer: Viewer, source: str, external_id: str) -> tuple[ImportReport, int]:
    """Write the queued ratings of a linked agent id; drop them from the queue once they landed."""
    agent = hook_store.linked_agent(engine=engine, source=source, external_id=external_id)
    waiting = hook_store.pending(engine=engine, source=source, external_id=external_id)
    if agent is None or not waiting:
        return ImportReport(), 0
    rows = [
        canonical_row(
            agent=agent, interaction_id=p.interaction_id, channel=p.channel, stars=p.stars, comment=p.comment,
            to_improve=p.to_improve, rated_at=p.rated_at,
            stored=hook_store.interaction_basics(engine=engine, interaction_id=p.interaction_id),
        )
        for p in waiting
    ]
    report = write_rows(engine=engine, viewer=viewer, rows=rows)
    if report.rejected:  # kept in the queue, whole: a later link (or a fix) replays them again, doubling nothing
        return report, 0
    hook_store.drop_replayed(engine=engine, ids=[p.id for p in waiting])
    return report, len(waiting)


def link_and_replay(
    *, engine: Engine, viewer: Viewer, source: str, external_id: str, agent: str, site: str | None = None
) -> Replay:
    """Link ``source``'s agent id to ``agent`` (audited) and write the ratings that waited for it."""
    with Session(engine) as session:
        linked = hook_store.link_agent(
            session=session, viewer=viewer, source=source, external_id=external_id, agent=agent, site=site
        )
    report, replayed = replay(engine=engine, viewer=viewer, source=linked.source, external_id=linked.external_id)
    return Replay(linked=linked, report=report, replayed=replayed)


def unmatched(*, engine: Engine) -> list[dict]:
    """The unmatched queue, one row per help-desk agent id (the Data page's list)."""
    return hook_store.unmatched_summary(engine=engine)
