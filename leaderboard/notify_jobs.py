"""Scheduled notifications (issue 15): overdue recovery reminders, daily digests, weekly recognition.

CONTRACT: ``run_scheduled(*, engine, now, settings) -> int`` queues what is due at ``now``
(idempotent: dedupe keys make a second call at the same time queue nothing) and returns how
many notifications it queued. The server's sender thread and ``notify run`` call it on every
tick, before delivering the outbox.

What is due (times in each site's own zone, ``leaderboard.notify_messages``):

- an **overdue reminder**, once per case: an open case nobody contacted, past its due time
  (cases that fell due more than ``notify_max_age_hours`` ago are history: no reminder);
- the **daily digest** of every team leader (their teams) and manager (their site), from
  ``digest_time`` until local midnight (``leaderboard.digest``);
- the **weekly recognition** of every site, Mondays from 09:00 until local midnight: last
  week's top ``weekly_top_n`` ranked agents (never a rank below, never an agent hidden from
  the wall) and the badges they won (public names only).

Each job is claimed in ``app_meta`` in the transaction that queues it
(``db.notify_events.claim_job``): two server processes never queue it twice, and a tick that
finds it done builds nothing. Every job claimed leaves an audit entry (``notification_scheduled``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from db import notify_events, notify_store
from db.audit import record as audit_record
from db.models import User
from db.queries import Scope, public_badge_awards
from db.retry import with_retry
from leaderboard import notify_messages as words
from leaderboard.auth import SYSTEM_VIEWER
from leaderboard.board import build_board
from leaderboard.digest import build_digest, digest_teams
from leaderboard.names import public_name
from leaderboard.periods import custom_period, local_midnight_utc, zone
from leaderboard.settings import Settings


def run_scheduled(*, engine: Engine, now: datetime, settings: Settings) -> int:
    """Queue every reminder, digest and weekly round-up due at ``now`` (naive UTC); how many rows queued."""
    queued = _overdue(engine, now, settings)
    at = words.parse_clock(settings.digest_time)
    with engine.connect() as conn:
        sites = notify_events.sites(conn)
    for site_id, site, tz in sites:
        day = words.digest_due(now, tz, at)
        if day is not None:
            with engine.connect() as conn:
                people = notify_events.leaders_at(conn, site_id=site_id) + notify_events.managers_at(
                    conn, site_id=site_id
                )
                done = notify_events.jobs_done(conn, keys=[_digest_key(u, day) for u in people])
            for user_id in people:
                if _digest_key(user_id, day) not in done:
                    queued += _digest(engine, user_id=user_id, day=day, now=now, settings=settings)
        week = words.weekly_due(now, tz)
        if week is not None:
            key = f"{notify_events.JOB_PREFIX}weekly:{site_id}:{week.isoformat()}"
            with engine.connect() as conn:
                done = bool(notify_events.jobs_done(conn, keys=[key]))
            if not done:
                queued += _weekly(engine, key=key, site_id=site_id, site=site, tz=tz, week=week, now=now,
                                  settings=settings)
    return queued


def _digest_key(user_id: int, day) -> str:
    return f"{notify_events.JOB_PREFIX}digest:{user_id}:{day.isoformat()}"


def _overdue(engine: Engine, now: datetime, settings: Settings) -> int:
    since = now - timedelta(hours=settings.notify_max_age_hours)
    with engine.connect() as conn:
        ids = notify_events.overdue_case_ids(conn, now=now, since=since)
        keys = {i: f"{notify_events.JOB_PREFIX}overdue:{i}" for i in ids}
        done = notify_events.jobs_done(conn, keys=keys.values())
    queued = 0
    for case_id, key in keys.items():
        if key in done:
            continue

        def remind(case_id: int = case_id, key: str = key) -> int:
            with engine.begin() as conn:
                if not notify_events.claim_job(conn, key=key, now=now, viewer=SYSTEM_VIEWER):
                    return 0
                n = notify_events.queue_overdue_reminder(conn, case_id=case_id, now=now, settings=settings)
                audit_record(conn, actor=SYSTEM_VIEWER.username, kind="notification_scheduled",
                             target=f"case {case_id}", detail=f"overdue reminder: {n} queued")
                return n

        queued += with_retry(remind)
    return queued


def _digest(engine: Engine, *, user_id: int, day, now: datetime, settings: Settings) -> int:
    key = _digest_key(user_id, day)

    def send() -> int:
        with Session(engine) as session:
            user = session.get(User, user_id)
            digest = build_digest(session=session, user=user, day=day, settings=settings)
            conn = session.connection()
            if not notify_events.claim_job(conn, key=key, now=now, viewer=SYSTEM_VIEWER):
                session.rollback()
                return 0
            message = words.digest_message(digest)
            if user.role == "manager":  # the site's digest: the site's channels and the manager's own
                n = notify_store.queue_notification(
                    conn, kind="digest", message=message, dedupe_key=f"digest:site:{user.site_id}:{day.isoformat()}",
                    site_id=user.site_id, user_id=user_id,
                )
            else:  # each team's channel, and the leader's own (once: same dedupe key)
                n = sum(
                    notify_store.queue_notification(
                        conn, kind="digest", message=message, dedupe_key=f"digest:{user_id}:{day.isoformat()}",
                        team_id=team_id, user_id=user_id,
                    )
                    for team_id in digest_teams(session, user)
                )
            notify_events.forget_old_jobs(conn, now=now)
            audit_record(conn, actor=SYSTEM_VIEWER.username, kind="notification_scheduled",
                         target=f"digest {user.username} {day.isoformat()}", detail=f"{n} queued")
            session.commit()
            return n

    return with_retry(send)


def weekly_message(session: Session, *, site_id: int, site: str, tz: str, week, settings: Settings) -> dict:
    """The weekly recognition of a site for the local week starting on Monday ``week``."""
    period = custom_period(week, week + timedelta(days=6), tz=tz)
    scope = Scope(site_id=site_id, site=site, timezone=tz)
    board = build_board(session=session, period=period, scope=scope, settings=settings, with_movement=False)
    agents = board.agents
    top = []
    if len(agents):
        ranked = agents[agents["rank"].notna() & (agents["rank"] <= settings.weekly_top_n)]
        for rec in ranked.to_dict("records"):
            if rec.get("hide_from_wall"):
                continue
            top.append(words.TopAgent(rank=int(rec["rank"]), name=public_name(rec["agent"], settings.public_name_style),
                                      team=str(rec["team"]), avg_stars=float(rec["avg_stars"]),
                                      ratings=int(rec["ratings"])))
    start = local_midnight_utc(week, zone(tz))
    end = local_midnight_utc(week + timedelta(days=7), zone(tz))
    awards = [a for a in public_badge_awards(session=session, scope=scope, since=start, limit=200)
              if a["awarded_at"] < end]
    badges = [(public_name(a["agent"], settings.public_name_style), a["badge"]) for a in reversed(awards)]
    return words.weekly_recognition(site=site, week_start=week, top=top, badges=badges)


def _weekly(engine: Engine, *, key: str, site_id: int, site: str, tz: str, week, now: datetime,
            settings: Settings) -> int:
    def send() -> int:
        with Session(engine) as session:
            message = weekly_message(session, site_id=site_id, site=site, tz=tz, week=week, settings=settings)
            conn = session.connection()
            if not notify_events.claim_job(conn, key=key, now=now, viewer=SYSTEM_VIEWER):
                session.rollback()
                return 0
            n = notify_store.queue_notification(
                conn, kind="weekly", message=message, dedupe_key=f"weekly:{site_id}:{week.isoformat()}",
                site_id=site_id,
            )
            audit_record(conn, actor=SYSTEM_VIEWER.username, kind="notification_scheduled",
                         target=f"weekly {site} {week.isoformat()}", detail=f"{n} queued")
            session.commit()
            return n

    return with_retry(send)
