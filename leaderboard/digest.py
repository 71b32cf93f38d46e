"""The daily digest (issue 15): what a leader (their teams) or a manager (their site) gets each day.

``build_digest(session=..., user=..., day=..., settings=...)`` gathers the day and returns a
``leaderboard.notify_messages.Digest``; ``notify_messages.digest_message / digest_text /
digest_html`` render it. ``python -m leaderboard digest`` prints it and the scheduled job
(``leaderboard.notify_jobs``) queues it: both build it the same way.

The digest of day D is sent at ``settings.digest_time`` on D, local time of the person's site
(a leader's: the site of the first team they lead), and covers D from local midnight up to
that moment:

- **best**: ratings of 4★ or more, most stars, then the longest comment, then the newest;
- **worst**: ratings of 3★ or less, fewest stars, then the newest
  (both: up to three; ratings excluded as "not the agent's fault" are left out);
- **ratio**: praise and criticism notes the scope's agents received this week (the local
  week of D, Monday up to the moment it is sent) against ``settings.ratio_target``;
- **open prompts**: the coaching prompts open for the person at that moment;
- **overdue recovery cases**: open, uncontacted cases of the scope past their due time then.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from db import coaching_store, notify_events, recovery_store
from db.accounts import viewer_for_user
from db.models import Site, Team, User
from leaderboard.auth import SYSTEM_VIEWER
from leaderboard.coaching.prompts import open_prompts
from leaderboard.notify_messages import Digest, DigestItem, OverdueCase, parse_clock, pick_best, pick_worst
from leaderboard.periods import local_midnight_utc, zone
from leaderboard.settings import Settings

DIGEST_ROLES = ("leader", "manager")


class DigestError(ValueError):
    """A digest that cannot be made, phrased for the person asking."""


def find_recipient(*, session: Session, username: str) -> User:
    name = (username or "").strip()
    user = session.exec(select(User).where(User.username == name)).first()
    if user is None:
        raise DigestError(f"no user {name!r}")
    if user.role not in DIGEST_ROLES:
        raise DigestError(f"{user.username!r} is an {user.role}: digests go to team leaders and managers")
    return user


def _scope(session: Session, user: User) -> tuple[list[Team], Site, str]:
    """(teams covered, the site whose clock and zone the digest keeps, a label)."""
    if user.role == "leader":
        teams = list(session.exec(select(Team).where(Team.leader_id == user.id).order_by(Team.id)).all())
        if not teams:
            raise DigestError(f"{user.username!r} leads no team")
        site = session.get(Site, teams[0].site_id)
        names = {t.site_id: session.get(Site, t.site_id).name for t in teams}
        return teams, site, ", ".join(f"{names[t.site_id]}/{t.name}" for t in teams)
    if user.site_id is None:
        raise DigestError(f"manager {user.username!r} has no site")
    site = session.get(Site, user.site_id)
    teams = list(session.exec(select(Team).where(Team.site_id == site.id).order_by(Team.id)).all())
    return teams, site, site.name


def digest_teams(session: Session, user: User) -> list[int]:
    """The ids of the teams a leader's digest covers."""
    return [t.id for t in _scope(session, user)[0]]


def send_moment(day: date, tz: str, settings: Settings) -> datetime:
    """The naive UTC instant at which day's digest is sent (``digest_time`` local)."""
    at = parse_clock(settings.digest_time)
    return local_midnight_utc(day, zone(tz)) + timedelta(hours=at.hour, minutes=at.minute)


def build_digest(*, session: Session, user: User, day: date, settings: Settings) -> Digest:
    teams, site, label = _scope(session, user)
    tz = site.timezone or "UTC"
    at = send_moment(day, tz, settings)
    conn = session.connection()
    items: list[DigestItem] = []
    for team in teams:
        team_tz = zone(session.get(Site, team.site_id).timezone)
        start = local_midnight_utc(day, team_tz)
        end = min(at, local_midnight_utc(day + timedelta(days=1), team_tz))
        items += [
            DigestItem(interaction_id=i, agent=a, stars=int(s), comment=c or "", rated_at=r, case_id=k)
            for i, a, s, c, r, k in notify_events.day_ratings(conn, team_ids=[team.id], start=start, end=end)
        ]
    team_ids = [t.id for t in teams]
    monday = day - timedelta(days=day.weekday())
    notes = coaching_store.note_rows(
        session=session, start=local_midnight_utc(monday, zone(tz)), end=at, team_ids=team_ids, viewer=SYSTEM_VIEWER
    )
    praise = int((notes["kind"] == "praise").sum()) if len(notes) else 0
    criticism = int((notes["kind"] == "criticism").sum()) if len(notes) else 0
    viewer = viewer_for_user(session=session, user=user)
    prompts = open_prompts(session=session, viewer=viewer, now=at, settings=settings)
    prompts = prompts[prompts["team_id"].isin(team_ids)] if len(prompts) else prompts
    cases = recovery_store.cases(session=session, viewer=viewer, status="open", now=at)
    overdue = []
    if len(cases):
        late = cases[cases["overdue"] & cases["team"].notna()]
        overdue = [
            OverdueCase(case_id=int(r["case_id"]), interaction_id=str(r["interaction_id"]), agent=str(r["agent"]),
                        stars=int(r["stars"]), due=r["due_at"].to_pydatetime() if hasattr(r["due_at"], "to_pydatetime")
                        else r["due_at"])
            for r in late.to_dict("records")
            if r["opened_at"] <= at
        ]
    stars = [i.stars for i in items]
    return Digest(
        recipient=user.display_name or user.username,
        scope=label,
        day=day,
        tz=tz,
        ratings=len(items),
        avg_stars=(sum(stars) / len(stars)) if stars else None,
        best=pick_best(items),
        worst=pick_worst(items),
        praise=praise,
        criticism=criticism,
        target=settings.ratio_target,
        open_prompts=int(len(prompts)),
        overdue=overdue,
        public_url=settings.public_url,
        at=at,
    )
