"""Value badges: a leader's award with a reason, and the weekly review that proposes candidates."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Iterable
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from db import badge_store as store
from db import notify_events
from db import queries
from db.accounts import audit, viewer_for_user
from db.models import Agent, BadgeAward, User, utcnow
from leaderboard.badge_rules import AWARDING_ROLES, CANDIDATE_MIN_STARS, SPECS
from leaderboard.badges.catalogue import BadgeError, ensure_catalogue, value_codes
from leaderboard.periods import local_midnight_utc, zone



def award(
    *,
    session: Session,
    agent_id: int,
    badge_code: str,
    by_user_id: int,
    reason: str,
    interaction_id: str | None = None,
    now: datetime | None = None,
) -> BadgeAward:
    """A leader awards a value badge to an agent, with a reason, optionally about one interaction.

    ``badge_code`` is a code or a name (case-insensitive); ``interaction_id``
    is the external ``Interaction.interaction_id`` of one of the agent's
    interactions. The awarder must be a leader of the agent's team (or a
    manager of their site, or an admin). Writes an audit entry
    ("badge_awarded") and commits. Raises :class:`BadgeError` for an unknown
    or automatic badge, agent, user or interaction, a missing reason, or the
    same badge twice for the same interaction.
    """
    now = now or utcnow()
    ensure_catalogue(session)
    badge = store.find_badge(session=session, text=badge_code)
    if badge is None:
        raise BadgeError(f"no badge {badge_code!r} (value badges: {value_codes(session)})")
    if badge.kind != "value":
        raise BadgeError(
            f"{badge.name!r} is earned automatically, not awarded by hand (value badges: {value_codes(session)})"
        )
    if not badge.active:
        raise BadgeError(f"the {badge.name!r} badge is switched off in the settings")
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise BadgeError(f"no agent with id {agent_id}")
    user = session.get(User, by_user_id)
    if user is None or user.disabled:
        raise BadgeError(f"no active user with id {by_user_id}")
    if user.role not in AWARDING_ROLES:
        raise BadgeError(f"{user.username!r} is an {user.role}: only team leaders, managers and admins award badges")
    viewer = viewer_for_user(session=session, user=user)
    if not queries.can_see_agent(session=session, viewer=viewer, agent_id=agent.id):
        raise BadgeError(f"{user.username!r} does not lead {agent.name}'s team")
    reason = " ".join((reason or "").split())
    if not reason:
        raise BadgeError("a reason is required: say what the agent did")
    evidence = ""
    fixed_key: str | None = None
    if interaction_id is not None and str(interaction_id).strip():
        interaction = store.interaction_by_external_id(session=session, interaction_id=str(interaction_id))
        if interaction is None:
            raise BadgeError(f"no interaction {interaction_id!r}")
        if interaction.agent_id != agent.id:
            raise BadgeError(f"interaction {interaction.interaction_id!r} was handled by another agent")
        fixed_key = f"i{interaction.id}"
        evidence = interaction.interaction_id
    for _attempt in range(3):
        if fixed_key is not None:
            period_key = fixed_key
            if store.award_exists(session=session, badge_id=badge.id, agent_id=agent.id, period_key=period_key):
                raise BadgeError(f"{agent.name} already has {badge.name!r} for interaction {evidence!r}")
        else:
            day = now.date().isoformat()
            done = store.count_awards_with_key_prefix(
                session=session, badge_id=badge.id, agent_id=agent.id, prefix=f"{day}#"
            )
            period_key = f"{day}#{done + 1}"
        row = BadgeAward(
            badge_id=badge.id,
            agent_id=agent.id,
            awarded_by_id=user.id,
            awarded_by=user.username,
            awarded_at=now,
            reason=reason,
            evidence=evidence,
            period_key=period_key,
        )
        session.add(row)
        detail = f"{badge.code}: {reason}" + (f" [{evidence}]" if evidence else "")
        audit(session, actor=user.username, action="badge_awarded", target=agent.name, detail=detail)
        try:
            session.flush()
            # Announced (public) in the transaction that awards it.
            notify_events.queue_badges(session.connection(), award_ids=[row.id], now=now)
            session.commit()
            return row
        except IntegrityError:
            # Another leader took this key a moment ago: count again.
            session.rollback()
    raise BadgeError("could not record the award (too many awards at once); try again")



CANDIDATE_COLUMNS = (
    "agent_id",
    "agent",
    "team",
    "badge_code",
    "badge",
    "interaction_id",
    "evidence",
    "matched",
    "quote",
    "ratings",
    "already_awarded",
)


def _keyword_pattern(keywords: Iterable[str]) -> re.Pattern | None:
    words = sorted({k.strip().lower() for k in keywords if k.strip()}, key=len, reverse=True)
    if not words:
        return None
    alternatives = [r"\s+".join(re.escape(part) for part in w.split()) for w in words]
    return re.compile(r"(?<!\w)(" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


def _excerpt(text: str, start: int, end: int, width: int = 60) -> str:
    left = max(0, start - width)
    right = min(len(text), end + width)
    snippet = " ".join(text[left:right].split())
    return ("…" if left > 0 else "") + snippet + ("…" if right < len(text) else "")


def value_candidates(*, session: Session, viewer, week_start: date, tz: ZoneInfo | str | None) -> pd.DataFrame:
    """Candidates for value badges from the week's 4–5★ ratings, for a leader to confirm.

    The week is the 7 local days from ``week_start`` (a Monday) in ``tz``. A
    rating is evidence for a value when its comment or one of its went-well tags
    contains one of the value's keywords. One row per (agent, badge), most
    evidence first (CANDIDATE_COLUMNS): ``interaction_id`` is the best rating to
    tie the award to (pass it to :func:`award`), ``evidence`` every matching
    interaction id ';'-separated, ``matched`` the words found, ``quote`` an
    excerpt of a matching comment (customer text: show it as text),
    ``already_awarded`` whether the agent already has this badge for one of
    these interactions. Only agents ``viewer`` may see; excluded ratings never.
    """
    tzinfo = tz if isinstance(tz, ZoneInfo) else zone(tz)
    start = local_midnight_utc(week_start, tzinfo)
    end = local_midnight_utc(week_start + timedelta(days=7), tzinfo)
    ensure_catalogue(session)
    values = [b for b in store.all_badges(session=session) if b.kind == "value" and b.active]
    ratings = store.week_praise(session=session, viewer=viewer, start=start, end=end, min_stars=CANDIDATE_MIN_STARS)
    if ratings.empty or not values:
        return pd.DataFrame(columns=list(CANDIDATE_COLUMNS))
    patterns = []
    for badge in values:
        spec = SPECS.get(badge.code)
        pattern = _keyword_pattern(spec.keywords if spec and spec.keywords else (badge.name,))
        if pattern is not None:
            patterns.append((badge, pattern))
    found: dict[tuple[int, str], dict] = {}
    for rec in ratings.itertuples(index=False):
        comment = rec.comment or ""
        for badge, pattern in patterns:
            matches = list(pattern.finditer(comment))
            words = [m.group(0).lower() for m in matches]
            words += [tag for tag in rec.went_well if pattern.search(tag)]
            if not words:
                continue
            entry = found.setdefault(
                (int(rec.agent_id), badge.code),
                {
                    "agent_id": int(rec.agent_id),
                    "agent": rec.agent,
                    "team": rec.team,
                    "badge_code": badge.code,
                    "badge": badge.name,
                    "badge_id": badge.id,
                    "evidence": [],
                    "pks": [],
                    "matched": [],
                    "quote": "",
                    "best": (-1, -1),
                    "interaction_id": "",
                },
            )
            entry["evidence"].append(rec.interaction_id)
            entry["pks"].append(int(rec.interaction_pk))
            entry["matched"].extend(w for w in words if w not in entry["matched"])
            # The best single piece of evidence: the most matching words, then the most stars.
            score = (len(set(words)), int(rec.stars))
            if score > entry["best"]:
                entry["best"] = score
                entry["interaction_id"] = rec.interaction_id
                if matches:
                    entry["quote"] = _excerpt(comment, matches[0].start(), matches[0].end())
            if not entry["quote"] and matches:
                entry["quote"] = _excerpt(comment, matches[0].start(), matches[0].end())
    if not found:
        return pd.DataFrame(columns=list(CANDIDATE_COLUMNS))
    keys = store.award_keys(session=session, badge_ids=sorted({e["badge_id"] for e in found.values()}))
    held = set(zip(keys["badge_id"], keys["agent_id"], keys["period_key"]))
    rows = []
    for entry in found.values():
        already = any((entry["badge_id"], entry["agent_id"], f"i{pk}") in held for pk in entry["pks"])
        rows.append(
            {
                "agent_id": entry["agent_id"],
                "agent": entry["agent"],
                "team": entry["team"],
                "badge_code": entry["badge_code"],
                "badge": entry["badge"],
                "interaction_id": entry["interaction_id"],
                "evidence": ";".join(entry["evidence"]),
                "matched": "; ".join(entry["matched"]),
                "quote": entry["quote"],
                "ratings": len(entry["evidence"]),
                "already_awarded": already,
            }
        )
    frame = pd.DataFrame(rows, columns=list(CANDIDATE_COLUMNS))
    frame = frame.sort_values(["ratings", "agent", "badge"], ascending=[False, True, True], kind="mergesort")
    return frame.reset_index(drop=True)
