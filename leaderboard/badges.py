"""Badges: the catalogue, value badges leaders award, automatic badges the data earns.

Two kinds of badge (``Badge.kind``):

- **value** badges (by default the six C-E-N-T-E-R values) are awarded by a
  team leader, manager or admin with a reason, optionally about one rating:
  :func:`award`. A weekly review proposes candidates from the week's 4–5★
  comments and went-well tags: :func:`value_candidates`.
- **automatic** badges are earned from the ratings: :func:`evaluate` awards
  every one not yet awarded (idempotent; ``python -m leaderboard badges
  evaluate``). Each one's ``criteria`` text is what agents are shown.

The catalogue is a setting kept in the ``badge`` table (name, description,
criteria and ``active`` may be edited there); :data:`DEFAULT_CATALOGUE` seeds
it through :func:`ensure_catalogue`. Thresholds are constants of this module.

``BadgeAward.period_key`` makes "once per period" a schema rule
(UNIQUE(badge_id, agent_id, period_key)):

======================  =========================================================
badge                   period_key
======================  =========================================================
first_five_star,        ``''`` (once ever)
ratings_100/500,
recovery_hero
streak_10               ``i<Interaction.id>`` of the streak's first rating
                        (once per streak; a 4★ or lower ends a streak)
weekly_top,             ISO week of the site's local Monday, ``2026-W47``
most_improved,
perfect_week
fcr_champion            local calendar month, ``2026-11``
value badges            ``i<Interaction.id>`` when about a rating (that rating
                        earns a given value badge once), else the UTC award date
                        and a counter, ``2026-11-23#2``
======================  =========================================================

``awarded_at`` of an automatic award is when it was earned: the rated_at of
the rating that met the criterion, the end of the week or month (local
midnight, in UTC), or when the recovery case closed. Evidence is the external
interaction ids (``Interaction.interaction_id``), ';'-separated, at most
:data:`EVIDENCE_LIMIT` of them.

Pages: every function here is keyword-only and returns plain values, lists of
dicts or DataFrames; nothing is cached or mutated after return. Customer text
(``value_candidates()['quote']``, reasons) must be shown as text, never as
Markdown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from db import badge_store as store
from db import queries
from db.accounts import audit, viewer_for_user
from db.badge_store import AWARD_COLUMNS, AWARD_EXTRA_COLUMNS
from db.models import Agent, Badge, BadgeAward, Site, Team, User, utcnow
from leaderboard import ranking
from leaderboard.periods import Period, local_midnight_utc, resolve_period, week_key, zone
from leaderboard.settings import Settings, get_settings

__all__ = [
    "AWARD_COLUMNS",
    "AWARD_EXTRA_COLUMNS",
    "CANDIDATE_COLUMNS",
    "DEFAULT_CATALOGUE",
    "BadgeError",
    "BadgeSpec",
    "agent_badges",
    "award",
    "catalogue",
    "ensure_catalogue",
    "evaluate",
    "list_awards",
    "progress",
    "recognition_feed",
    "value_candidates",
]

# --- thresholds -------------------------------------------------------------------------

STREAK_LENGTH = 10
RATINGS_MILESTONES = {"ratings_100": 100, "ratings_500": 500}
PERFECT_WEEK_MIN_RATINGS = 5
FCR_MIN_ANSWERS = 20
RECOVERY_HERO_CASES = 3
RECOVERY_MIN_FOLLOWUP_STARS = 4
# Most ids an automatic award lists as its evidence.
EVIDENCE_LIMIT = 10
# Roles that may award value badges (a manager or admin may stand in for a leader).
AWARDING_ROLES = ("leader", "manager", "admin")
# Stars a rating needs to count as praise for the weekly value review.
CANDIDATE_MIN_STARS = 4


class BadgeError(ValueError):
    """A badge request that cannot be done, phrased for the person asking (one line)."""


@dataclass(frozen=True)
class BadgeSpec:
    """One entry of the default catalogue.

    ``keywords`` (value badges) are the words and phrases that make a 4–5★
    comment or went-well tag a candidate for the badge. ``repeatable``
    (automatic badges) says it can be earned again: per streak, week or month.
    """

    code: str
    name: str
    kind: str
    description: str
    criteria: str
    keywords: tuple[str, ...] = ()
    repeatable: bool = False


_VALUE_CRITERIA = "Awarded by a team leader, with a reason, for an interaction that shows this value."

DEFAULT_CATALOGUE: tuple[BadgeSpec, ...] = (
    BadgeSpec(
        "creative",
        "Creative",
        "value",
        "Finds a new way when the usual one does not work.",
        _VALUE_CRITERIA,
        ("creative", "creativity", "found a way", "workaround", "work around", "outside the box", "clever",
         "inventive", "solution"),
    ),
    BadgeSpec(
        "empowering",
        "Empowering",
        "value",
        "Leaves customers able to help themselves: explains, teaches, shows how.",
        _VALUE_CRITERIA,
        ("explained", "explains", "explaining", "taught", "showed me how", "walked me through", "now i know",
         "learned", "empowering"),
    ),
    BadgeSpec(
        "nimble",
        "Nimble",
        "value",
        "Adapts on the spot to the customer and to change.",
        _VALUE_CRITERIA,
        ("flexible", "adapted", "adaptable", "adjusted", "accommodating", "nimble", "on the fly"),
    ),
    BadgeSpec(
        "trustful",
        "Trustful",
        "value",
        "Does what they say: honest, keeps promises, follows up.",
        _VALUE_CRITERIA,
        ("honest", "kept promise", "kept her promise", "kept his promise", "kept their promise", "kept her word",
         "kept his word", "kept their word", "followed up", "follow up", "follow-up", "reliable", "trustworthy"),
    ),
    BadgeSpec(
        "empathetic",
        "Empathetic",
        "value",
        "Listens and understands: patient and kind with every customer.",
        _VALUE_CRITERIA,
        ("patient", "patience", "listened", "listening", "understood", "understanding", "kind", "caring",
         "empathy", "empathetic", "compassionate"),
    ),
    BadgeSpec(
        "responsive",
        "Responsive",
        "value",
        "Quick and prompt: the customer never waits.",
        _VALUE_CRITERIA,
        ("quick", "quickly", "fast", "prompt", "promptly", "responsive", "right away", "immediately", "no wait",
         "in no time"),
    ),
    BadgeSpec(
        "first_five_star",
        "First five-star",
        "automatic",
        "Your first 5★ rating.",
        "Earned once, with your first 5★ rating. Ratings a leader excluded do not count.",
    ),
    BadgeSpec(
        "streak_10",
        "Streak of 10",
        "automatic",
        "Ten 5★ ratings in a row.",
        f"{STREAK_LENGTH} ratings of 5★ in a row, in the order they arrived; a rating of 4★ or less ends the "
        "streak, ratings a leader excluded are skipped. Earned once per streak.",
        repeatable=True,
    ),
    BadgeSpec(
        "ratings_100",
        "100 ratings",
        "automatic",
        "A hundred customers rated you.",
        "Earned once, at your 100th rating. Ratings a leader excluded do not count.",
    ),
    BadgeSpec(
        "ratings_500",
        "500 ratings",
        "automatic",
        "Five hundred customers rated you.",
        "Earned once, at your 500th rating. Ratings a leader excluded do not count.",
    ),
    BadgeSpec(
        "weekly_top",
        "Weekly #1",
        "automatic",
        "Top of your team's weekly leaderboard.",
        "#1 on your team's fair leaderboard for a completed week (Monday to Sunday in your site's time zone), "
        "ranked with at least the minimum number of ratings. Ties share it. Earned once per week.",
        repeatable=True,
    ),
    BadgeSpec(
        "most_improved",
        "Most improved",
        "automatic",
        "The biggest step up in your team this week.",
        "The largest rise in fair score from one completed week to the next in your team, among agents "
        "ranked (not provisional) both weeks; the rise must be above zero. Earned once per week.",
        repeatable=True,
    ),
    BadgeSpec(
        "perfect_week",
        "Perfect week",
        "automatic",
        "Every customer gave you 5★ all week.",
        f"Every rating 5★ in a completed week (Monday to Sunday in your site's time zone), with at least "
        f"{PERFECT_WEEK_MIN_RATINGS} ratings. Earned once per week.",
        repeatable=True,
    ),
    BadgeSpec(
        "fcr_champion",
        "FCR champion",
        "automatic",
        "The best first-contact resolution in your team this month.",
        f"The highest first-contact resolution (share of 'Was your issue resolved?' answered yes) in your team "
        f"for a completed calendar month, with at least {FCR_MIN_ANSWERS} answers. Ties share it. "
        "Earned once per month.",
        repeatable=True,
    ),
    BadgeSpec(
        "recovery_hero",
        "Recovery hero",
        "automatic",
        "You turned unhappy customers around.",
        f"Earned once, when {RECOVERY_HERO_CASES} service recovery cases you owned are resolved with a "
        f"follow-up rating of {RECOVERY_MIN_FOLLOWUP_STARS}★ or more.",
    ),
)

_SPECS = {spec.code: spec for spec in DEFAULT_CATALOGUE}
# One winner per team and period: once decided, a later change in the data never adds a second one.
_TEAM_EXCLUSIVE = frozenset({"weekly_top", "most_improved", "fcr_champion"})


# --- catalogue ---------------------------------------------------------------------------


def ensure_catalogue(
    session: Session, *, specs: Sequence[BadgeSpec] = DEFAULT_CATALOGUE, commit: bool = True
) -> list[Badge]:
    """Insert the catalogue's badges that are missing (matched by code); returns the new rows.

    Existing rows are left as they are, so edits made in the settings survive.
    Idempotent and safe against a concurrent run (a duplicate insert is retried
    once). With ``commit=False`` the rows are only flushed into the caller's
    transaction.
    """
    for attempt in range(2):
        existing = set(session.exec(select(Badge.code)).all())
        new = [
            Badge(code=s.code, name=s.name, kind=s.kind, description=s.description, criteria=s.criteria)
            for s in specs
            if s.code not in existing
        ]
        if not new:
            return []
        session.add_all(new)
        if not commit:
            session.flush()
            return new
        try:
            session.commit()
            return new
        except IntegrityError:
            session.rollback()  # another process inserted them first: read again
            if attempt:
                raise
    return []


def catalogue(*, session: Session, include_inactive: bool = False) -> list[dict]:
    """The badges as dicts (code, name, kind, description, criteria, active, repeatable), value badges
    first, in catalogue order. Seeds the defaults on first use."""
    ensure_catalogue(session)
    rows = []
    for badge in store.all_badges(session=session):
        if not badge.active and not include_inactive:
            continue
        spec = _SPECS.get(badge.code)
        rows.append(
            {
                "code": badge.code,
                "name": badge.name,
                "kind": badge.kind,
                "description": badge.description,
                "criteria": badge.criteria,
                "active": bool(badge.active),
                "repeatable": bool(spec.repeatable) if spec else False,
            }
        )
    return sorted(rows, key=lambda r: r["kind"] != "value")


def _value_codes(session: Session) -> str:
    codes = [b.code for b in store.all_badges(session=session) if b.kind == "value" and b.active]
    return ", ".join(codes) or "none"


# --- awarding value badges -------------------------------------------------------------------


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
        raise BadgeError(f"no badge {badge_code!r} (value badges: {_value_codes(session)})")
    if badge.kind != "value":
        raise BadgeError(
            f"{badge.name!r} is earned automatically, not awarded by hand (value badges: {_value_codes(session)})"
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
            session.commit()
            return row
        except IntegrityError:
            # Another leader took this key a moment ago: count again.
            session.rollback()
    raise BadgeError("could not record the award (too many awards at once); try again")


# --- weekly value review ------------------------------------------------------------------------

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
        spec = _SPECS.get(badge.code)
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


# --- evaluating automatic badges ----------------------------------------------------------------

_CANDIDATE_FRAME = ("code", "agent_id", "period_key", "awarded_at", "reason", "evidence")


def _empty_candidates() -> pd.DataFrame:
    return pd.DataFrame(columns=list(_CANDIDATE_FRAME))


def _local_frame(ratings: pd.DataFrame, directory: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """Ratings with team, local week and month in the agent's site zone, and whether each
    rating's week and month are complete at ``now``."""
    people = directory[["agent_id", "team_id", "team", "timezone"]].copy()
    people["timezone"] = [zone(tz).key for tz in people["timezone"]]
    frame = ratings.merge(people, on="agent_id", how="inner", sort=False)
    day = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us]")
    for tz, index in frame.groupby("timezone", sort=False).groups.items():
        local = frame.loc[index, "rated_at"].dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None)
        day.loc[index] = local.dt.normalize()
    frame["week_start"] = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    frame["month_start"] = day - pd.to_timedelta(day.dt.day - 1, unit="D")
    frame["is5"] = frame["stars"] == 5
    frame["resolved_yes"] = frame["resolved"].fillna(False).astype(bool)
    # Few distinct (zone, week) pairs: their UTC ends are computed in Python, as periods does.
    weeks = frame[["timezone", "week_start"]].drop_duplicates()
    weeks["week_end"] = [
        local_midnight_utc(start.date() + timedelta(days=7), zone(tz))
        for tz, start in zip(weeks["timezone"], weeks["week_start"])
    ]
    months = frame[["timezone", "month_start"]].drop_duplicates()
    months["month_end"] = [
        local_midnight_utc((start.date() + timedelta(days=32)).replace(day=1), zone(tz))
        for tz, start in zip(months["timezone"], months["month_start"])
    ]
    frame = frame.merge(weeks, on=["timezone", "week_start"], how="left", sort=False)
    frame = frame.merge(months, on=["timezone", "month_start"], how="left", sort=False)
    frame["week_done"] = frame["week_end"] <= now
    frame["month_done"] = frame["month_end"] <= now
    # Streaks and milestones read each agent's ratings in the order they arrived.
    return frame.sort_values(["agent_id", "rated_at", "rating_id"], kind="mergesort").reset_index(drop=True)


def _milestones(frame: pd.DataFrame) -> pd.DataFrame:
    """first_five_star, ratings_100, ratings_500 (frame sorted by agent, rated_at, rating_id)."""
    seq = frame.groupby("agent_id").cumcount()
    out = []
    for code, n in RATINGS_MILESTONES.items():
        hit = frame[seq == n - 1]
        out.append(
            pd.DataFrame(
                {
                    "code": code,
                    "agent_id": hit["agent_id"],
                    "period_key": "",
                    "awarded_at": hit["rated_at"],
                    "reason": f"{n} ratings received",
                    "evidence": [[pk] for pk in hit["interaction_pk"]],
                }
            )
        )
    first = frame[frame["is5"]].groupby("agent_id").head(1)
    out.append(
        pd.DataFrame(
            {
                "code": "first_five_star",
                "agent_id": first["agent_id"],
                "period_key": "",
                "awarded_at": first["rated_at"],
                "reason": "First 5★ rating",
                "evidence": [[pk] for pk in first["interaction_pk"]],
            }
        )
    )
    return pd.concat(out, ignore_index=True)


def _streaks(frame: pd.DataFrame) -> pd.DataFrame:
    """streak_10: each run of >= STREAK_LENGTH consecutive 5★ ratings, keyed by its first interaction."""
    if frame.empty:
        return _empty_candidates()
    new_run = (frame["is5"] != frame["is5"].shift()) | (frame["agent_id"] != frame["agent_id"].shift())
    run_id = new_run.cumsum()
    fives = frame[frame["is5"]].assign(run=run_id[frame["is5"]])
    fives["pos"] = fives.groupby("run").cumcount()
    done = fives[fives["pos"] == STREAK_LENGTH - 1]
    if done.empty:
        return _empty_candidates()
    heads = fives[fives["run"].isin(done["run"]) & (fives["pos"] < STREAK_LENGTH)]
    evidence = heads.groupby("run")["interaction_pk"].agg(list)
    first_pk = evidence.map(lambda pks: pks[0])
    return pd.DataFrame(
        {
            "code": "streak_10",
            "agent_id": done["agent_id"].to_numpy(),
            "period_key": [f"i{first_pk[r]}" for r in done["run"]],
            "awarded_at": done["rated_at"].to_numpy(),
            "reason": f"{STREAK_LENGTH} five-star ratings in a row",
            "evidence": [evidence[r] for r in done["run"]],
        }
    )


def _period_evidence(frame: pd.DataFrame, winners: pd.DataFrame, period: str, order: list[str]) -> dict:
    """{(agent_id, period start): [interaction pks]}: up to EVIDENCE_LIMIT of the agent's ratings in the
    period, best first by ``order`` (descending columns), then oldest first."""
    if winners.empty:
        return {}
    keys = winners[["agent_id", period]].drop_duplicates()
    sub = frame.merge(keys, on=["agent_id", period], how="inner")
    sub = sub.sort_values(
        ["agent_id", period, *order, "rated_at", "rating_id"],
        ascending=[True, True, *[False] * len(order), True, True],
        kind="mergesort",
    )
    head = sub.groupby(["agent_id", period]).head(EVIDENCE_LIMIT)
    return head.groupby(["agent_id", period])["interaction_pk"].agg(list).to_dict()


def _weekly(frame: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """weekly_top, most_improved and perfect_week for every completed week."""
    done = frame[frame["week_done"]]
    if done.empty:
        return _empty_candidates()
    keys = ["team_id", "week_start"]
    weeks = done.groupby(["team_id", "team", "week_start", "week_end", "agent_id"], as_index=False).agg(
        ratings=("stars", "size"), star_sum=("stars", "sum"), five_count=("is5", "sum")
    )
    # The team board's fair score and rank, per team-week (C = mean stars of the team's week, as build_board).
    weeks = ranking.rank_within_groups(
        weeks, group_by=keys, prior_weight=settings.prior_weight, min_ratings=settings.min_ratings,
        name_column="agent_id",  # names only order rows of equal rank; rank 1 is all this needs
    )
    ranked = weeks[weeks["ratings"] >= settings.min_ratings].copy()
    out = []

    top = ranked[ranked["rank"] == 1]
    if len(top):
        evidence = _period_evidence(done, top, "week_start", ["stars"])
        out.append(
            pd.DataFrame(
                {
                    "code": "weekly_top",
                    "agent_id": top["agent_id"],
                    "period_key": [week_key(w.date()) for w in top["week_start"]],
                    "awarded_at": top["week_end"],
                    "reason": [
                        f"#1 of {t} in {week_key(w.date())} (fair score {s:.2f} on {n} ratings)"
                        for t, w, s, n in zip(top["team"], top["week_start"], top["score"], top["ratings"])
                    ],
                    "evidence": [evidence[(a, w)] for a, w in zip(top["agent_id"], top["week_start"])],
                }
            )
        )

    previous = ranked[["team_id", "agent_id", "week_start", "score"]].rename(columns={"score": "prev_score"})
    previous["week_start"] = previous["week_start"] + pd.Timedelta(days=7)
    both = ranked.merge(previous, on=["team_id", "agent_id", "week_start"], how="inner")
    both["gain"] = ranking.tie_key(both["score"] - both["prev_score"])
    both = both[both["gain"] > 0]
    improved = both[both["gain"] == both.groupby(keys)["gain"].transform("max")]
    if len(improved):
        evidence = _period_evidence(done, improved, "week_start", ["stars"])
        out.append(
            pd.DataFrame(
                {
                    "code": "most_improved",
                    "agent_id": improved["agent_id"],
                    "period_key": [week_key(w.date()) for w in improved["week_start"]],
                    "awarded_at": improved["week_end"],
                    "reason": [
                        f"Fair score up {g:+.2f} in {week_key(w.date())} ({p:.2f} → {s:.2f}), the most in {t}"
                        for t, w, g, p, s in zip(
                            improved["team"],
                            improved["week_start"],
                            improved["gain"],
                            improved["prev_score"],
                            improved["score"],
                        )
                    ],
                    "evidence": [evidence[(a, w)] for a, w in zip(improved["agent_id"], improved["week_start"])],
                }
            )
        )

    perfect = weeks[(weeks["ratings"] >= PERFECT_WEEK_MIN_RATINGS) & (weeks["five_count"] == weeks["ratings"])]
    if len(perfect):
        evidence = _period_evidence(done, perfect, "week_start", [])
        out.append(
            pd.DataFrame(
                {
                    "code": "perfect_week",
                    "agent_id": perfect["agent_id"],
                    "period_key": [week_key(w.date()) for w in perfect["week_start"]],
                    "awarded_at": perfect["week_end"],
                    "reason": [
                        f"Every rating 5★ in {week_key(w.date())} ({n} ratings)"
                        for w, n in zip(perfect["week_start"], perfect["ratings"])
                    ],
                    "evidence": [evidence[(a, w)] for a, w in zip(perfect["agent_id"], perfect["week_start"])],
                }
            )
        )
    return pd.concat(out, ignore_index=True) if out else _empty_candidates()


def _monthly(frame: pd.DataFrame) -> pd.DataFrame:
    """fcr_champion for every completed local calendar month."""
    done = frame[frame["month_done"]]
    if done.empty:
        return _empty_candidates()
    keys = ["team_id", "month_start"]
    months = done.groupby(["team_id", "team", "month_start", "month_end", "agent_id"], as_index=False).agg(
        answered=("resolved", "count"), yes=("resolved_yes", "sum")
    )
    months = months[months["answered"] >= FCR_MIN_ANSWERS].copy()
    months["fcr_pct"] = ranking.tie_key(months["yes"] * 100.0 / months["answered"])
    months = months[months["fcr_pct"] > 0]
    best = months[months["fcr_pct"] == months.groupby(keys)["fcr_pct"].transform("max")]
    if best.empty:
        return _empty_candidates()
    evidence = _period_evidence(done, best, "month_start", ["resolved_yes"])
    return pd.DataFrame(
        {
            "code": "fcr_champion",
            "agent_id": best["agent_id"],
            "period_key": [m.strftime("%Y-%m") for m in best["month_start"]],
            "awarded_at": best["month_end"],
            "reason": [
                f"Best first-contact resolution in {t} in {m.strftime('%Y-%m')}: {p:.0f}% on {n} answers"
                for t, m, p, n in zip(best["team"], best["month_start"], best["fcr_pct"], best["answered"])
            ],
            "evidence": [evidence[(a, m)] for a, m in zip(best["agent_id"], best["month_start"])],
        }
    )


def _recoveries(session: Session, now: datetime) -> pd.DataFrame:
    """recovery_hero: the RECOVERY_HERO_CASES-th successful recovery case owned by an agent's account."""
    cases = store.recovery_successes(session=session, min_followup_stars=RECOVERY_MIN_FOLLOWUP_STARS)
    if cases.empty:
        return _empty_candidates()
    seq = cases.groupby("agent_id").cumcount()
    hit = cases[seq == RECOVERY_HERO_CASES - 1]
    evidence = cases[seq < RECOVERY_HERO_CASES].groupby("agent_id")["interaction_pk"].agg(list)
    return pd.DataFrame(
        {
            "code": "recovery_hero",
            "agent_id": hit["agent_id"],
            "period_key": "",
            "awarded_at": [now if pd.isna(c) else min(c, now) for c in hit["closed_at"]],
            "reason": f"{RECOVERY_HERO_CASES} recovery cases resolved with a follow-up of "
            f"{RECOVERY_MIN_FOLLOWUP_STARS}★ or more",
            "evidence": [evidence[a] for a in hit["agent_id"]],
        }
    )


def _candidates(session: Session, *, now: datetime, settings: Settings, codes: set[str]) -> pd.DataFrame:
    ratings = store.rating_history(session=session, before=now)
    directory = store.agent_teams(session=session)
    parts = []
    if len(ratings):
        frame = _local_frame(ratings, directory, now)
        parts += [_milestones(frame), _streaks(frame), _weekly(frame, settings), _monthly(frame)]
    if "recovery_hero" in codes:
        parts.append(_recoveries(session, now))
    parts = [p for p in parts if len(p)]
    if not parts:
        return _empty_candidates().assign(team_id=pd.Series(dtype="int64"))
    found = pd.concat(parts, ignore_index=True)
    found = found[found["code"].isin(codes)]
    return found.merge(directory[["agent_id", "team_id"]], on="agent_id", how="inner")


def evaluate(*, session: Session, now: datetime | None = None, settings: Settings | None = None) -> list[BadgeAward]:
    """Award every automatic badge earned by ``now`` (naive UTC) and not yet awarded; returns the new awards.

    Idempotent: a second run awards nothing new. Weekly and monthly badges
    consider completed weeks and months only (local time of each agent's
    site); the team-wide ones (weekly_top, most_improved, fcr_champion) are
    decided once per team and period. Excluded ratings never count; ratings
    after ``now`` are ignored. Inactive badges are skipped. Reads the rating
    history in one query and works in pandas. Commits.
    """
    now = now or utcnow()
    settings = settings or get_settings()
    ensure_catalogue(session)
    badges = {b.code: b for b in store.all_badges(session=session) if b.kind == "automatic" and b.active}
    codes = set(badges) & set(_SPECS)
    if not codes:
        return []
    for attempt in range(2):
        found = _candidates(session, now=now, settings=settings, codes=codes)
        if found.empty:
            return []
        found["badge_id"] = found["code"].map({c: badges[c].id for c in codes}).astype("int64")
        found = found.drop_duplicates(["badge_id", "agent_id", "period_key"])
        held = store.award_keys(session=session, badge_ids=sorted(b.id for c, b in badges.items() if c in codes))
        have = set(zip(held["badge_id"], held["agent_id"], held["period_key"]))
        team_have = set(zip(held["badge_id"], held["team_id"], held["period_key"]))
        exclusive = {badges[c].id for c in _TEAM_EXCLUSIVE if c in badges}
        keep = [
            (b, a, p) not in have and not (b in exclusive and (b, t, p) in team_have)
            for b, a, t, p in zip(found["badge_id"], found["agent_id"], found["team_id"], found["period_key"])
        ]
        new = found[keep]
        if new.empty:
            return []
        ids = store.external_ids(session=session, interaction_pks={pk for pks in new["evidence"] for pk in pks})
        awards = [
            BadgeAward(
                badge_id=int(b),
                agent_id=int(a),
                awarded_by="system",
                awarded_by_id=None,
                awarded_at=pd.Timestamp(at).to_pydatetime(),
                reason=reason,
                evidence=";".join(ids[pk] for pk in pks if pk in ids),
                period_key=p,
            )
            for b, a, p, at, reason, pks in zip(
                new["badge_id"], new["agent_id"], new["period_key"], new["awarded_at"], new["reason"], new["evidence"]
            )
        ]
        awards.sort(key=lambda w: (w.awarded_at, w.agent_id, w.badge_id))
        session.add_all(awards)
        try:
            session.commit()
            return awards
        except IntegrityError:
            # A concurrent evaluation awarded some of these first: look again.
            session.rollback()
            if attempt:
                raise
    return []


# --- reading awards ------------------------------------------------------------------------------


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


# --- progress for the agent's page -----------------------------------------------------------------


_AUTO = object()


def _entry(badge: Badge, *, current, target, label: str, times: int, fraction=_AUTO) -> dict:
    """One progress row; ``fraction`` defaults to current / target (None when that means nothing)."""
    spec = _SPECS.get(badge.code)
    if fraction is _AUTO:
        fraction = None
        if isinstance(current, (int, float)) and isinstance(target, (int, float)) and target:
            fraction = max(0.0, min(1.0, float(current) / float(target)))
    return {
        "code": badge.code,
        "name": badge.name,
        "description": badge.description,
        "criteria": badge.criteria,
        "current": current,
        "target": target,
        "label": label,
        "fraction": fraction,
        "times_earned": times,
        "repeatable": bool(spec.repeatable) if spec else False,
    }


def _board_row(session: Session, *, scope: queries.Scope, period: Period, agent_id: int, settings: Settings):
    from leaderboard.board import build_board

    board = build_board(session=session, period=period, scope=scope, settings=settings, with_movement=False)
    rows = board.agents[board.agents["agent_id"] == agent_id]
    return None if rows.empty else rows.iloc[0]


def progress(
    *, session: Session, agent_id: int, now: datetime | None = None, settings: Settings | None = None
) -> list[dict]:
    """The agent's progress toward each active automatic badge, in catalogue order.

    Once-ever badges already earned are left out; repeatable ones (streak,
    weekly, monthly) are always listed, with ``times_earned``. Each dict:
    code, name, description, criteria, current, target, label (for example
    "87 / 100 ratings", "streak 6 / 10"), fraction (0–1, or None when the goal
    is a rank), times_earned, repeatable. "This week" and "this month" are in
    the agent's site time zone. Raises :class:`BadgeError` for an unknown agent.
    """
    now = now or utcnow()
    settings = settings or get_settings()
    ensure_catalogue(session)
    row = session.exec(
        select(Agent, Team, Site).join(Team, Team.id == Agent.team_id).join(Site, Site.id == Team.site_id).where(
            Agent.id == agent_id
        )
    ).first()
    if row is None:
        raise BadgeError(f"no agent with id {agent_id}")
    agent, team, site = row
    tz = zone(site.timezone)
    scope = queries.Scope(site_id=site.id, team_id=team.id, site=site.name, team=team.name, timezone=site.timezone)
    earned = store.earned_counts(session=session, agent_id=agent_id)
    history = store.rating_history(session=session, before=now, agent_id=agent_id)
    week = resolve_period("week", tz=tz, now=now)
    month = resolve_period("month", tz=tz, now=now)
    w_start, w_end = week.utc_bounds()
    m_start, m_end = month.utc_bounds()
    this_week = history[(history["rated_at"] >= w_start) & (history["rated_at"] < w_end)]
    this_month = history[(history["rated_at"] >= m_start) & (history["rated_at"] < m_end)]
    stars = history["stars"].tolist()
    run = 0
    for s in reversed(stars):
        if s != 5:
            break
        run += 1

    out = []
    badges = [b for b in store.all_badges(session=session) if b.kind == "automatic" and b.active]
    for badge in badges:
        code = badge.code
        spec = _SPECS.get(code)
        if spec is None:
            continue  # a badge added in the settings without a rule here
        times = earned.get(code, 0)
        if times and not spec.repeatable:
            continue
        if code == "first_five_star":
            out.append(_entry(badge, current=0, target=1, label="0 / 1 five-star ratings", times=times))
        elif code in RATINGS_MILESTONES:
            n, target = len(stars), RATINGS_MILESTONES[code]
            out.append(_entry(badge, current=n, target=target, label=f"{n} / {target} ratings", times=times))
        elif code == "streak_10":
            if run >= STREAK_LENGTH:
                label = f"streak {run}: earned for this streak"
                out.append(_entry(badge, current=run, target=STREAK_LENGTH, label=label, times=times, fraction=1.0))
            else:
                label = f"streak {run} / {STREAK_LENGTH}"
                out.append(_entry(badge, current=run, target=STREAK_LENGTH, label=label, times=times))
        elif code == "weekly_top":
            mine = _board_row(session, scope=scope, period=week, agent_id=agent_id, settings=settings)
            n = 0 if mine is None else int(mine["ratings"])
            if mine is None or n == 0:
                label, current = "no ratings this week yet", None
            elif pd.isna(mine["rank"]):
                label, current = f"provisional this week: {n} / {settings.min_ratings} ratings to be ranked", None
            else:
                current = int(mine["rank"])
                label = f"rank {current} this week (so far)"
            out.append(_entry(badge, current=current, target=1, label=label, times=times, fraction=None))
        elif code == "most_improved":
            mine = _board_row(session, scope=scope, period=week, agent_id=agent_id, settings=settings)
            before = _board_row(session, scope=scope, period=week.previous(), agent_id=agent_id, settings=settings)
            ranked_now = mine is not None and not pd.isna(mine["rank"])
            ranked_before = before is not None and not pd.isna(before["rank"])
            if ranked_now and ranked_before:
                gain = float(mine["score"]) - float(before["score"])
                label = (
                    f"fair score {float(mine['score']):.2f} this week vs {float(before['score']):.2f} "
                    f"last week ({gain:+.2f}, so far)"
                )
                out.append(_entry(badge, current=round(gain, 4), target=None, label=label, times=times, fraction=None))
            else:
                n = 0 if mine is None else int(mine["ratings"])
                label = f"needs {settings.min_ratings} ratings this week and last week ({n} this week so far)"
                out.append(_entry(badge, current=None, target=None, label=label, times=times, fraction=None))
        elif code == "perfect_week":
            n = len(this_week)
            if n and (this_week["stars"] != 5).any():
                label = "a rating below 5★ this week: next chance next week"
                out.append(_entry(badge, current=0, target=PERFECT_WEEK_MIN_RATINGS, label=label, times=times,
                                  fraction=0.0))
            else:
                label = f"{n} / {PERFECT_WEEK_MIN_RATINGS} ratings this week, all 5★"
                out.append(_entry(badge, current=n, target=PERFECT_WEEK_MIN_RATINGS, label=label, times=times))
        elif code == "fcr_champion":
            answered = int(this_month["resolved"].notna().sum())
            yes = int(this_month["resolved"].fillna(False).astype(bool).sum())
            pct = f"FCR {yes * 100 / answered:.0f}% on " if answered else ""
            if answered >= FCR_MIN_ANSWERS:
                label = f"{pct}{answered} answers this month (enough to qualify)"
            else:
                label = f"{pct}{answered} / {FCR_MIN_ANSWERS} answers this month"
            out.append(_entry(badge, current=answered, target=FCR_MIN_ANSWERS, label=label, times=times))
        elif code == "recovery_hero":
            cases = 0
            if agent.user_id is not None:
                cases = len(
                    store.recovery_successes(
                        session=session, min_followup_stars=RECOVERY_MIN_FOLLOWUP_STARS, user_id=agent.user_id
                    )
                )
            label = f"{cases} / {RECOVERY_HERO_CASES} recoveries"
            out.append(_entry(badge, current=cases, target=RECOVERY_HERO_CASES, label=label, times=times))
    return out
