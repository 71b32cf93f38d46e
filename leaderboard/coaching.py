"""Micro-coaching: coaching notes, prompts generated from the data, and the leader's helpers.

No Streamlit here: the team leader workspace page calls these functions and
renders what comes back. Every read that returns agent detail takes a
``Viewer`` and returns nothing for agents (or teams) the viewer may not see.
Writes commit their own transaction.

Page-facing API
---------------

Notes and the prompt queue:

- ``log_note(*, session, agent_id, author_id, kind, text, visibility, rating_id=None, now=None) -> CoachingNote``
  — a leader's praise or criticism, public or 1:1 ("private"); criticism is always 1:1.
- ``generate_prompts(*, session, now=None, team_ids=None, rules=None, settings=None) -> list[CoachingPrompt]``
  — run every rule, insert the prompts that are new (idempotent), return them. It costs about
  1 s of CPU for 2,000 agents at 1M ratings (bench/coaching_bench.py), ~0.2 s for one team of 50:
  a page should run it for the viewer's teams when ``db.queries.data_version`` changes (or
  from a background job), not on every rerun. Use ``expire_on_commit=False`` sessions to
  read the returned prompts without a refresh query each.
- ``draft_prompts(...) -> list[dict]`` — the same without writing (what would fire).
- ``open_prompts(*, session, viewer, team_id=None, leader_user_id=None, now=None) -> DataFrame``
  — the queue: open, unexpired, highest priority first; ``PROMPT_COLUMNS`` plus
  agent_id, team_id, site, why_now, evidence_items (list of dicts), hide_from_wall, status.
- ``mark_done(*, session, prompt_id, by_user_id, now=None, text=None) -> CoachingNote | None``
  — closes the prompt and logs the matching note (None for a team training prompt).
- ``dismiss(*, session, prompt_id, by_user_id, now=None) -> CoachingPrompt``.
- ``load_rules(*, session) -> CoachingRules`` / ``save_rules(*, session, rules, actor)``;
  ``CoachingRules.from_mapping(dict)`` validates a settings form (CoachingError on bad input).
- ``prompt_rows(frame) -> list[dict]`` — ``open_prompts`` rows for CSV/JSON export.

Errors for the person at the keyboard are ``CoachingError`` (a ValueError) with a one-line message.

Leader helpers (all viewer-filtered):

- ``team_table(*, session, viewer, team_id, now=None, settings=None) -> DataFrame`` — agent, rank,
  score, avg_stars, ratings_this_week, ratio_received, ratio_status, last_coached (+ ids, counts).
- ``digest(*, session, viewer, day, tz, limit=3) -> dict[team, {"best": [...], "worst": [...]}]``.
- ``training_topics(*, session, viewer, now=None, rules=None) -> DataFrame``.
- ``grow_sheet(*, session, viewer, agent_id, now=None, rules=None, settings=None) -> str`` — plain text.
- ``evidence_text(items) -> str`` — ``I-1001 1★ 'rude and slow' [to_improve: patience]``.

Workspace helpers (pages/coaching.py):

- ``notes_history(*, session, viewer, team_id=None, agent_id=None, author_id=None, since=None, limit=50)``
  — notes with their text, newest first (``NOTE_HISTORY_COLUMNS``), viewer-filtered.
- ``given_ratio(*, session, viewer, team_id, author_id, now=None, settings=None) -> dict`` — what a
  leader gave the team this week: praise, criticism, ratio, label, status, target.
- ``stars_trend(*, session, viewer, agent_id, grain="day"|"week", periods=14, now=None)`` — an
  agent's average stars per local day or week against the team average.
- ``filter_feedback(frame, *, stars, tag)`` / ``tag_breakdown(frame)`` — over ``db.queries.feedback`` rows.
- ``note_draft(*, kind, agent, interaction_id, stars, comment) -> str`` — a note's prefilled text.

Rules (defaults in ``CoachingRules``; override any of them with JSON in AppMeta "coaching_rules")
----------------------------------------------------------------------------------------------------

Only non-excluded ratings (``excluded_cause IS NULL``) of active agents feed the rules.

==================  ========  =====================================================================
rule                kind      fires when
==================  ========  =====================================================================
praise-rating       praise    a new rating of ``praise_min_stars``+ (4) with a non-blank comment;
                              in public unless the agent hides from the wall
low-rating          develop   a new rating of ``low_max_stars`` or fewer (2): a 1:1 on one
                              improvement tag (the agent's most frequent of its tags; else its
                              comment), opening with the agent's best recent rating. New low
                              ratings of one agent on one focus make one prompt; a tag covered
                              by a repeat-tag prompt is coached there; when every tag is a team
                              training topic the 1:1 is about the comment (none: no prompt)
ratio-below-target  praise    the agent's received ratio this (local) week is "below target"
repeat-tag          develop   one ``to_improve`` tag on ``repeat_tag_min_ratings`` (3)+ of the
                              agent's ratings in the tag window (14 days), with the team's figure
team-training       training  ``training_min_agents`` (3)+ agents of one team share a ``to_improve``
                              tag in the tag window: one team prompt, and no individual prompt
                              (repeat-tag, low-rating focus) for that tag in that team
stretch             stretch   ranked in the team's top quartile (rank <= ceil(N × 0.25), N ranked
                              agents on the team board for ``stretch_period``) but not top 3
check-in            check-in  no coaching note for ``checkin_after_days`` (7) × 24 h, or never;
                              skipped while the agent has another open prompt
star-streak         praise    the agent's latest ``streak_length`` (5)+ ratings in the streak
                              window are all 5★ in a row, the latest of them new
==================  ========  =====================================================================

Window edges (all times naive UTC, ``now`` included):

- "new" means ``now - lookback_hours <= rated_at <= now`` (48 h: a rating exactly 48 h old is new,
  48 h + 1 s is not);
- a D-day window means ``now - D days <= rated_at <= now`` (a rating exactly 14 × 24 h old is in
  the 14-day window, one second older is not);
- check-in fires when ``now - last note >= checkin_after_days`` days (exactly 7 × 24 h fires);
- "this week" is the local Monday 00:00 of the agent's site up to ``now``;
- streaks are counted within the streak window (a streak longer than the window still counts,
  its length as seen inside the window).

Dedupe keys (``CoachingPrompt.dedupe_key`` is UNIQUE), so a prompt is never generated twice:

- per rating:   ``praise-rating:r<rating id>``, ``low-rating:r<rating id>``;
- per streak:   ``star-streak:a<agent>:after-r<id of the rating that ended the previous streak, or 0>``;
- per week (local ISO week of the team's site): ``ratio-below-target:a<agent>:<week>``,
  ``repeat-tag:a<agent>:<tag>:<week>``, ``team-training:t<team>:<tag>:<week>``,
  ``stretch:a<agent>:<week>``, ``check-in:a<agent>:<week>``.

Done notes: praise, stretch and check-in prompts log a *praise* note (public for praise prompts
unless the agent hides from the wall; 1:1 otherwise), develop prompts a 1:1 *criticism* note, so
the ratio moves; a team training prompt logs no note.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from typing import Any, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlmodel import Session, select

from db import coaching_store as store
from db.accounts import audit, viewer_for_user
from db.models import (
    NOTE_KINDS,
    Agent,
    CoachingNote,
    CoachingPrompt,
    Rating,
    Site,
    Team,
    User,
    utcnow,
)
from db.queries import Scope, feedback
from leaderboard import ranking, ratios
from leaderboard.periods import PeriodError, local_date, local_midnight_utc, resolve_period, week_key, zone
from leaderboard.settings import Settings, get_settings

RULE_PRAISE = "praise-rating"
RULE_LOW = "low-rating"
RULE_RATIO = "ratio-below-target"
RULE_REPEAT = "repeat-tag"
RULE_TRAINING = "team-training"
RULE_STRETCH = "stretch"
RULE_CHECKIN = "check-in"
RULE_STREAK = "star-streak"
RULES = (RULE_LOW, RULE_REPEAT, RULE_TRAINING, RULE_RATIO, RULE_PRAISE, RULE_STREAK, RULE_STRETCH, RULE_CHECKIN)

RULE_KINDS = {
    RULE_PRAISE: "praise",
    RULE_LOW: "develop",
    RULE_RATIO: "praise",
    RULE_REPEAT: "develop",
    RULE_TRAINING: "training",
    RULE_STRETCH: "stretch",
    RULE_CHECKIN: "check-in",
    RULE_STREAK: "praise",
}
# The note "done" logs for each prompt kind (None: no note, the prompt is about a team).
NOTE_FOR_KIND = {"praise": "praise", "stretch": "praise", "check-in": "praise", "develop": "criticism", "training": None}

DEFAULT_PRIORITIES = {
    RULE_LOW: 90,
    RULE_REPEAT: 80,
    RULE_TRAINING: 75,
    RULE_RATIO: 70,
    RULE_PRAISE: 60,
    RULE_STREAK: 60,
    RULE_STRETCH: 50,
    RULE_CHECKIN: 40,
}
DEFAULT_EXPIRY_HOURS = {
    RULE_PRAISE: 48,
    RULE_STREAK: 72,
    RULE_LOW: 72,
    RULE_RATIO: 72,
    RULE_REPEAT: 168,
    RULE_TRAINING: 336,
    RULE_STRETCH: 168,
    RULE_CHECKIN: 168,
}

# The columns of `prompts --format csv|json`, in order.
PROMPT_COLUMNS = (
    "id",
    "agent",
    "team",
    "kind",
    "rule",
    "purpose",
    "evidence",
    "opening",
    "priority",
    "created_at",
    "expires_at",
)
TEAM_TABLE_COLUMNS = (
    "agent_id",
    "agent",
    "rank",
    "score",
    "avg_stars",
    "ratings_this_week",
    "provisional",
    "praise",
    "criticism",
    "ratio_received",
    "ratio_status",
    "last_coached",
)
TRAINING_COLUMNS = ("team_id", "team", "tag", "agents", "ratings", "agent_names", "last_seen")
MAX_NOTE_LENGTH = 2000
COACH_ROLES = ("leader", "manager", "admin")


class CoachingError(ValueError):
    """A coaching request that cannot be done, phrased for the person asking."""


# --- the rules, as data -----------------------------------------------------------------


@dataclass(frozen=True)
class CoachingRules:
    """Thresholds, windows and priorities of the prompt rules (see the module docstring)."""

    lookback_hours: float = 48.0  # a rating is "new" when rated at most this long before now
    praise_min_stars: int = 4
    low_max_stars: int = 2
    tag_window_days: float = 14.0  # repeat-tag and team-training look this far back
    repeat_tag_min_ratings: int = 3
    training_min_agents: int = 3
    checkin_after_days: float = 7.0
    streak_length: int = 5
    streak_window_days: float = 14.0
    stretch_period: str = "last30"  # a leaderboard period (leaderboard.periods)
    stretch_quartile: float = 0.25
    stretch_skip_top: int = 3
    best_min_stars: int = 4  # "something the agent did well" is a rating of at least this
    evidence_limit: int = 5
    checkin_skip_if_open: bool = True
    priorities: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_PRIORITIES))
    expiry_hours: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_EXPIRY_HOURS))
    disabled: tuple[str, ...] = ()

    def enabled(self, rule: str) -> bool:
        return rule not in self.disabled

    def priority(self, rule: str) -> int:
        return int(self.priorities.get(rule, DEFAULT_PRIORITIES[rule]))

    def expiry(self, rule: str) -> timedelta:
        return timedelta(hours=float(self.expiry_hours.get(rule, DEFAULT_EXPIRY_HOURS[rule])))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, base: "CoachingRules | None" = None) -> "CoachingRules":
        """Defaults (or ``base``) overridden by ``data``; unknown keys and bad values raise CoachingError."""
        base = base or cls()
        if not isinstance(data, Mapping):
            raise CoachingError("coaching rules must be a JSON object")
        known = {f.name: f for f in fields(cls)}
        changes: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                raise CoachingError(f"unknown coaching rule setting {key!r} (known: {', '.join(sorted(known))})")
            default = getattr(base, key)
            if key in ("priorities", "expiry_hours"):
                if not isinstance(value, Mapping) or any(k not in RULES for k in value):
                    raise CoachingError(f"{key} must map rule names ({', '.join(RULES)}) to numbers")
                merged = dict(default)
                for rule, number in value.items():
                    if isinstance(number, bool) or not isinstance(number, (int, float)) or number < 0:
                        raise CoachingError(f"{key}[{rule!r}] must be a number >= 0")
                    merged[rule] = number
                changes[key] = merged
            elif key == "disabled":
                if not isinstance(value, (list, tuple)) or any(v not in RULES for v in value):
                    raise CoachingError(f"disabled must be a list of rule names ({', '.join(RULES)})")
                changes[key] = tuple(value)
            elif isinstance(default, bool):
                if not isinstance(value, bool):
                    raise CoachingError(f"{key} must be true or false")
                changes[key] = value
            elif isinstance(default, str):
                if not isinstance(value, str):
                    raise CoachingError(f"{key} must be text")
                changes[key] = value
            else:
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    raise CoachingError(f"{key} must be a number >= 0")
                changes[key] = type(default)(value) if isinstance(default, int) and float(value).is_integer() else value
        rules = replace(base, **changes)
        if isinstance(rules.stretch_period, str):
            try:
                resolve_period(rules.stretch_period)
            except PeriodError as exc:
                raise CoachingError(f"stretch_period: {exc}") from None
        return rules

    @classmethod
    def from_json(cls, text: str | None) -> "CoachingRules":
        if not text or not text.strip():
            return cls()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CoachingError(f"coaching rules are not valid JSON: {exc}") from None
        return cls.from_mapping(data)

    def overrides(self) -> dict[str, Any]:
        """What differs from the defaults (what ``save_rules`` stores)."""
        default = asdict(CoachingRules())
        mine = asdict(self)
        out: dict[str, Any] = {}
        for key, value in mine.items():
            if key in ("priorities", "expiry_hours"):
                diff = {k: v for k, v in value.items() if default[key].get(k) != v}
                if diff:
                    out[key] = diff
            elif value != default[key]:
                out[key] = list(value) if isinstance(value, tuple) else value
        return out


def load_rules(*, session: Session) -> CoachingRules:
    """The rules in force: defaults overridden by the JSON in AppMeta "coaching_rules"."""
    return CoachingRules.from_json(store.rules_json(session=session))


def save_rules(*, session: Session, rules: CoachingRules, actor: str = "admin") -> None:
    """Store ``rules`` (only what differs from the defaults) and commit."""
    overrides = rules.overrides()
    store.store_rules_json(session=session, overrides=overrides)
    audit(session, actor=actor, action="coaching_rules_saved", detail=json.dumps(overrides, sort_keys=True))
    session.commit()


# --- small text helpers ------------------------------------------------------------------


def _first_name(name: str) -> str:
    parts = str(name).split()
    return parts[0] if parts else str(name)


def _short(text: Any, limit: int) -> str:
    value = " ".join(("" if text is None else str(text)).split())
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _ago(then: datetime, now: datetime) -> str:
    seconds = max(0.0, (now - then).total_seconds())
    if seconds < 3600:
        return f"{max(1, int(seconds // 60))} min ago"
    if seconds < 48 * 3600:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} days ago"


def _pydt(value: Any) -> datetime | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _pct(num: float, den: float) -> str:
    return f"{(100.0 * num / den):.0f}%" if den else "–"


def evidence_item(row: Mapping[str, Any]) -> dict:
    """One rating as evidence: interaction id, rating id, stars, comment, tags, rated_at (ISO)."""
    tags = {}
    if row.get("went_well"):
        tags["went_well"] = list(row["went_well"])
    if row.get("to_improve"):
        tags["to_improve"] = list(row["to_improve"])
    rated_at = _pydt(row.get("rated_at"))
    return {
        "interaction_id": str(row["interaction_id"]),
        "rating_id": int(row["rating_id"]),
        "stars": int(row["stars"]),
        "comment": _short(row.get("comment") or "", 500),
        "tags": tags,
        "rated_at": rated_at.isoformat(sep=" ", timespec="minutes") if rated_at else "",
    }


def evidence_text(items: Iterable[Mapping[str, Any]] | str, *, comment_chars: int = 60) -> str:
    """Compact evidence: ``I-1001 1★ 'rude and slow' [to_improve: patience]; I-1002 5★ ...``."""
    if isinstance(items, str):
        items = parse_evidence(items)
    parts = []
    for item in items:
        text = f"{item.get('interaction_id', '?')} {item.get('stars', '?')}★"
        comment = _short(item.get("comment") or "", comment_chars)
        if comment:
            text += f" '{comment}'"
        for kind in ("went_well", "to_improve"):
            tags = (item.get("tags") or {}).get(kind) or []
            if tags:
                text += f" [{kind}: {', '.join(tags)}]"
        parts.append(text)
    return "; ".join(parts)


def parse_evidence(text: str | None) -> list[dict]:
    if not text:
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return []
    return data if isinstance(data, list) else []


def _praise_line(best: Mapping[str, Any] | None) -> str:
    if best is None:
        return ""
    comment = _short(best.get("comment") or "", 90)
    said = f" and wrote '{comment}'" if comment else ""
    return f"on {best['interaction_id']} the customer gave you {int(best['stars'])}★{said}"


# --- gathering the data (a few set-based queries) ---------------------------------------------


@dataclass
class _Inputs:
    now: datetime
    rules: CoachingRules
    settings: Settings
    agents: pd.DataFrame  # every agent of the teams (active or not): store.AGENT_FRAME_COLUMNS
    info: dict[int, dict]  # active agents: agent, first, team_id, hide_from_wall, timezone
    ratings: pd.DataFrame  # window ratings of active agents, oldest first, with team_id
    columns: dict[str, list]  # the same ratings as plain lists (fast row access for evidence)
    position: dict[int, int]  # rating id -> row position in ``ratings``
    improve: pd.DataFrame  # one row per (rating, to_improve tag) in the tag window, newest first
    team_weeks: dict[int, str]
    team_names: dict[int, str]
    best: dict[int, dict]  # agent id -> their best recent rating (an evidence row)

    def rating(self, rating_id: int) -> dict:
        """One window rating as a plain dict (evidence_item's input)."""
        i = self.position[int(rating_id)]
        return {c: values[i] for c, values in self.columns.items()}


_ROW_COLUMNS = ("rating_id", "interaction_id", "channel", "agent_id", "team_id", "stars", "comment", "rated_at",
                "went_well", "to_improve")


def _gather(session: Session, *, now: datetime, team_ids: Sequence[int] | None, rules: CoachingRules,
            settings: Settings) -> _Inputs | None:
    agents = store.agent_frame(session=session, team_ids=team_ids)
    if agents.empty:
        return None
    agents["first"] = agents["agent"].map(_first_name)
    team_tz = dict(zip(agents["team_id"].astype(int), agents["timezone"]))
    team_weeks = {t: week_key(local_date(now, zone(tz))) for t, tz in team_tz.items()}
    team_names = dict(zip(agents["team_id"].astype(int), agents["team"]))
    active = agents[agents["active"]]
    info = {
        int(a): {"agent": n, "first": f, "team_id": int(t), "hide_from_wall": bool(h), "timezone": tz}
        for a, n, f, t, h, tz in zip(
            active["agent_id"], active["agent"], active["first"], active["team_id"], active["hide_from_wall"],
            active["timezone"],
        )
    }

    window = max(rules.tag_window_days, rules.streak_window_days, rules.lookback_hours / 24.0)
    start = now - timedelta(days=window)
    ratings = store.window_ratings(session=session, start=start, end=now, team_ids=team_ids)
    tags = store.window_tags(session=session, start=start, end=now, team_ids=team_ids)
    ratings = ratings[ratings["agent_id"].isin(list(info))].reset_index(drop=True)
    team_of = {a: i["team_id"] for a, i in info.items()}
    ratings["team_id"] = ratings["agent_id"].map(team_of).astype("int64")
    ratings["comment"] = ratings["comment"].fillna("").astype(str)
    ratings["rated_at"] = pd.to_datetime(ratings["rated_at"])
    went: dict[int, list[str]] = {}
    improve_map: dict[int, list[str]] = {}
    if not tags.empty:
        # Tags are stored trimmed and lower case by the importer; normalise anyway so "Patience" counts once.
        tags = tags.assign(tag=tags["tag"].astype(str).str.strip().str.lower())
        tags = tags[tags["tag"] != ""].drop_duplicates().sort_values(["rating_id", "tag"])
        for rating_id, kind, tag in zip(tags["rating_id"].tolist(), tags["kind"].tolist(), tags["tag"].tolist()):
            (went if kind == "went_well" else improve_map).setdefault(rating_id, []).append(tag)
    ids = ratings["rating_id"].astype(int).tolist()
    # One shared empty tuple for untagged ratings: 40k fresh lists cost more in GC passes than in building.
    ratings["went_well"] = [went.get(i, ()) for i in ids]
    ratings["to_improve"] = [improve_map.get(i, ()) for i in ids]
    columns = {c: ratings[c].tolist() for c in _ROW_COLUMNS}
    position = {rid: i for i, rid in enumerate(ids)}

    tag_start = now - timedelta(days=rules.tag_window_days)
    in_tag_window = ratings[(ratings["rated_at"] >= tag_start) & (ratings["to_improve"].map(len) > 0)]
    improve = in_tag_window[["rating_id", "agent_id", "team_id", "rated_at", "to_improve"]].explode("to_improve")
    improve = improve.rename(columns={"to_improve": "tag"}).dropna(subset=["tag"])
    improve = improve.sort_values(["rated_at", "rating_id"], ascending=False).reset_index(drop=True)

    # The best recent rating per agent: most stars, then one with a comment, then the latest.
    good = ratings[ratings["stars"] >= rules.best_min_stars]
    good = good.assign(_has=(good["comment"].str.strip() != "").astype(int))
    good = good.sort_values(["agent_id", "stars", "_has", "rated_at", "rating_id"], ascending=[True, False, False, False, False])
    good = good.drop_duplicates("agent_id")
    inp = _Inputs(now, rules, settings, agents, info, ratings, columns, position, improve, team_weeks, team_names, {})
    inp.best = {int(a): inp.rating(r) for a, r in zip(good["agent_id"], good["rating_id"])}
    return inp


def _draft(inp: _Inputs, rule: str, *, key: str, team_id: int, agent_id: int | None, purpose: str,
           evidence: list[dict], why_now: str, opening: str) -> dict:
    rules = inp.rules
    return {
        "dedupe_key": key[:255],
        "agent_id": agent_id,
        "team_id": int(team_id),
        "kind": RULE_KINDS[rule],
        "rule": rule,
        "purpose": purpose,
        "evidence": json.dumps(evidence, ensure_ascii=False),
        "why_now": why_now,
        "opening": opening,
        "priority": rules.priority(rule),
        "status": "open",
        "created_at": inp.now,
        "expires_at": inp.now + rules.expiry(rule),
        "resolved_by": "",
    }


def _training_table(improve: pd.DataFrame, *, min_agents: int) -> pd.DataFrame:
    """team_id, tag, agents, ratings, agent_ids, last_seen for tags shared by ``min_agents``+ agents of a team."""
    columns = ["team_id", "tag", "agents", "ratings", "agent_ids", "last_seen"]
    if improve.empty:
        return pd.DataFrame(columns=columns)
    grouped = improve.groupby(["team_id", "tag"]).agg(
        agents=("agent_id", "nunique"), ratings=("rating_id", "nunique"), last_seen=("rated_at", "max")
    )
    grouped = grouped[grouped["agents"] >= min_agents].reset_index()
    if grouped.empty:
        return pd.DataFrame(columns=columns)
    members: dict[tuple[int, str], set[int]] = {}
    hit = improve.merge(grouped[["team_id", "tag"]], on=["team_id", "tag"])
    for t, g, a in zip(hit["team_id"].tolist(), hit["tag"].tolist(), hit["agent_id"].tolist()):
        members.setdefault((t, g), set()).add(int(a))
    grouped["agent_ids"] = [sorted(members[(t, g)]) for t, g in zip(grouped["team_id"], grouped["tag"])]
    return grouped[columns]


def _ids_by(frame: pd.DataFrame, keys: list[str], limit: int) -> dict[tuple, list[int]]:
    """{key tuple: the first ``limit`` rating ids} in the frame's order."""
    out: dict[tuple, list[int]] = {}
    if frame.empty:
        return out
    top = frame.groupby(keys, sort=False).head(limit)
    for *key, rid in zip(*(top[k].tolist() for k in keys), top["rating_id"].tolist()):
        out.setdefault(tuple(key), []).append(int(rid))
    return out


# --- the rules ---------------------------------------------------------------------------------


def _new_positions(inp: _Inputs, mask: pd.Series) -> list[int]:
    """Row positions of the new ratings (within the lookback) that ``mask`` selects, newest first."""
    new = inp.ratings["rated_at"] >= inp.now - timedelta(hours=inp.rules.lookback_hours)
    return np.flatnonzero((new & mask).to_numpy())[::-1].tolist()


def _rule_praise(inp: _Inputs) -> list[dict]:
    rules, now, r = inp.rules, inp.now, inp.ratings
    drafts = []
    for i in _new_positions(inp, (r["stars"] >= rules.praise_min_stars) & (r["comment"].str.strip() != "")):
        row = inp.rating(inp.columns["rating_id"][i])
        agent = inp.info[int(row["agent_id"])]
        first = agent["first"]
        where = f"1:1 ({first} keeps off the wall)" if agent["hide_from_wall"] else "in public"
        comment = _short(row["comment"], 120)
        drafts.append(
            _draft(
                inp,
                RULE_PRAISE,
                key=f"{RULE_PRAISE}:r{int(row['rating_id'])}",
                team_id=row["team_id"],
                agent_id=int(row["agent_id"]),
                purpose=f"Praise {first} {where} for {row['interaction_id']}: {int(row['stars'])}★, '{comment}'.",
                evidence=[evidence_item(row)],
                why_now=f"New {int(row['stars'])}★ with a comment, {_ago(_pydt(row['rated_at']), now)}; "
                "praise lands best the same day.",
                opening=f"{first}, a customer just wrote about your {row['channel']} ({row['interaction_id']}): "
                f"'{comment}'. That is exactly the service we want. Thank you!",
            )
        )
    return drafts


def _focus_tag(tags: list[str], agent_counts: Mapping[str, int], skip: set[str]) -> str | None:
    candidates = [t for t in tags if t not in skip]
    if not candidates:
        return None
    return sorted(candidates, key=lambda t: (-agent_counts.get(t, 0), t))[0]


def _rule_low(inp: _Inputs, training: set[tuple[int, str]], tag_counts: Mapping[tuple[int, str], int]) -> list[dict]:
    rules, now = inp.rules, inp.now
    # A tag the repeat-tag rule picks up is coached there, in one focused 1:1.
    repeated = (
        {k for k, n in tag_counts.items() if n >= rules.repeat_tag_min_ratings} if rules.enabled(RULE_REPEAT) else set()
    )
    groups: dict[tuple[int, str], list[dict]] = {}
    focus_of: dict[tuple[int, str], str | None] = {}
    for i in _new_positions(inp, inp.ratings["stars"] <= rules.low_max_stars):
        row = inp.rating(inp.columns["rating_id"][i])
        agent_id, team_id = int(row["agent_id"]), int(row["team_id"])
        tags = list(row["to_improve"])
        skip = {t for t in tags if (team_id, t) in training or (agent_id, t) in repeated}
        counts = {t: tag_counts.get((agent_id, t), 0) for t in tags}
        focus = _focus_tag(tags, counts, skip)
        if tags and focus is None:
            if any((agent_id, t) in repeated for t in tags) or not str(row["comment"]).strip():
                continue  # the repeat-tag prompt, or the team's group session, covers it
            # Its tags are team training topics; the customer's own words are still worth a 1:1.
        # New low ratings about the same thing make one prompt (keyed by the newest of them).
        key = (agent_id, focus if focus else f"r{int(row['rating_id'])}")
        groups.setdefault(key, []).append(row)
        focus_of[key] = focus
    drafts = []
    for key, rows in groups.items():
        row, focus = rows[0], focus_of[key]
        agent_id, team_id = key[0], int(row["team_id"])
        first = inp.info[agent_id]["first"]
        comment = _short(row["comment"], 90)
        if focus:
            topic = f"'{focus}'"
        elif comment:
            topic = f"what the customer said ('{comment}')"
        else:
            topic = "what happened on that contact"
        best = inp.best.get(agent_id)
        if best is not None:
            opening = (
                f"{first}, before we start: {_praise_line(best)}. That was really good work. "
                f"Now, can we look at {row['interaction_id']} together?"
            )
        else:
            opening = f"Thanks for making time, {first}. Can we look at {row['interaction_id']} together? What do you think went well?"
        shown = rows[: max(1, rules.evidence_limit - 1)]
        evidence = [evidence_item(r) for r in shown] + ([evidence_item(best)] if best is not None else [])
        also = f" (and {len(rows) - 1} more new low rating{'s' if len(rows) > 2 else ''} on it)" if len(rows) > 1 else ""
        drafts.append(
            _draft(
                inp,
                RULE_LOW,
                key=f"{RULE_LOW}:r{int(row['rating_id'])}",
                team_id=team_id,
                agent_id=agent_id,
                purpose=f"1:1 with {first} on one thing: {topic}, from {row['interaction_id']} ({int(row['stars'])}★){also}.",
                evidence=evidence,
                why_now=f"{int(row['stars'])}★ {_ago(_pydt(row['rated_at']), now)}; a specific, recent contact "
                "makes the best coaching. Start with the positive.",
                opening=opening,
            )
        )
    return drafts


def _rule_ratio(inp: _Inputs, received: pd.DataFrame) -> list[dict]:
    target = inp.settings.ratio_target
    drafts = []
    for agent_id, praise, criticism in zip(received["agent_id"], received["praise"], received["criticism"]):
        agent_id, praise, criticism = int(agent_id), int(praise), int(criticism)
        if agent_id not in inp.info or ratios.ratio_status(praise, criticism, target) != ratios.BELOW_TARGET:
            continue
        agent = inp.info[agent_id]
        first, team_id = agent["first"], agent["team_id"]
        best = inp.best.get(agent_id)
        opening = (
            f"{first}, I want to start with something: {_praise_line(best)}. That's you at your best."
            if best is not None
            else f"{first}, I want to start with what's going well for you this week."
        )
        drafts.append(
            _draft(
                inp,
                RULE_RATIO,
                key=f"{RULE_RATIO}:a{agent_id}:{inp.team_weeks[team_id]}",
                team_id=team_id,
                agent_id=agent_id,
                purpose=f"Praise {first} first: {praise} praise to {criticism} criticism this week "
                f"({ratios.ratio_label(praise, criticism)}), target {ratios.target_label(target)}.",
                evidence=[evidence_item(best)] if best is not None else [],
                why_now="Below the praise-to-criticism target this week: great agents who hear only criticism leave.",
                opening=opening,
            )
        )
    return drafts


def _rule_repeat(inp: _Inputs, training: set[tuple[int, str]]) -> list[dict]:
    rules, now, improve = inp.rules, inp.now, inp.improve
    if improve.empty:
        return []
    per_agent_tag = improve.groupby(["agent_id", "tag"])["rating_id"].nunique()
    hits = per_agent_tag[per_agent_tag >= rules.repeat_tag_min_ratings]
    if hits.empty:
        return []
    tag_start = now - timedelta(days=rules.tag_window_days)
    window = inp.ratings[inp.ratings["rated_at"] >= tag_start]
    agent_total = window.groupby("agent_id")["rating_id"].nunique().to_dict()
    team_total = window.groupby("team_id")["rating_id"].nunique().to_dict()
    team_tag = improve.groupby(["team_id", "tag"])["rating_id"].nunique().to_dict()
    hit_rows = improve.merge(hits.reset_index()[["agent_id", "tag"]], on=["agent_id", "tag"])
    evidence_ids = _ids_by(hit_rows, ["agent_id", "tag"], rules.evidence_limit)
    days = f"{rules.tag_window_days:g} days"
    drafts = []
    for (agent_id, tag), count in hits.items():
        agent_id, count = int(agent_id), int(count)
        agent = inp.info[agent_id]
        team_id, first = agent["team_id"], agent["first"]
        if (team_id, tag) in training:
            continue
        rows = [inp.rating(rid) for rid in evidence_ids[(agent_id, tag)]]
        a_total, t_total = int(agent_total.get(agent_id, 0)), int(team_total.get(team_id, 0))
        t_count = int(team_tag.get((team_id, tag), 0))
        best = inp.best.get(agent_id)
        lead_in = f"{first}, first: {_praise_line(best)}. Great work. " if best is not None else f"{first}, "
        drafts.append(
            _draft(
                inp,
                RULE_REPEAT,
                key=f"{RULE_REPEAT}:a{agent_id}:{tag}:{inp.team_weeks[team_id]}",
                team_id=team_id,
                agent_id=agent_id,
                purpose=f"Focused 1:1 with {first} on '{tag}': {count} of {a_total} ratings in {days} "
                f"({_pct(count, a_total)}) vs the team's {t_count} of {t_total} ({_pct(t_count, t_total)}).",
                evidence=[evidence_item(r) for r in rows],
                why_now=f"'{tag}' came up {count} times in {days}, last {_ago(_pydt(rows[0]['rated_at']), now)}.",
                opening=lead_in + f"I noticed '{tag}' came up in a few ratings lately. Can we look at one together?",
            )
        )
    return drafts


def _rule_training(inp: _Inputs, topics: pd.DataFrame) -> list[dict]:
    rules = inp.rules
    if topics.empty:
        return []
    days = f"{rules.tag_window_days:g} days"
    # The latest rating of each agent on the topic, newest first, so the evidence spans the team.
    latest = inp.improve.merge(topics[["team_id", "tag"]], on=["team_id", "tag"])
    latest = latest.drop_duplicates(["team_id", "tag", "agent_id"])
    evidence_ids = _ids_by(latest, ["team_id", "tag"], rules.evidence_limit)
    drafts = []
    for team_id, tag, n_agents, n_ratings, agent_ids in zip(
        topics["team_id"], topics["tag"], topics["agents"], topics["ratings"], topics["agent_ids"]
    ):
        team_id = int(team_id)
        rows = [inp.rating(rid) for rid in evidence_ids.get((team_id, tag), [])]
        names = ", ".join(sorted(inp.info[a]["first"] for a in agent_ids))
        team = inp.team_names[team_id]
        drafts.append(
            _draft(
                inp,
                RULE_TRAINING,
                key=f"{RULE_TRAINING}:t{team_id}:{tag}:{inp.team_weeks[team_id]}",
                team_id=team_id,
                agent_id=None,
                purpose=f"Group session for {team} on '{tag}': {int(n_agents)} agents, {int(n_ratings)} ratings in {days}.",
                evidence=[evidence_item(r) for r in rows],
                why_now=f"Several agents ({names}) struggle with the same thing: that is a training topic, "
                "not an individual failing.",
                opening=f"Quick huddle: customers have mentioned '{tag}' across the team lately. "
                "Let's share what works. Who has a good example?",
            )
        )
    return drafts


def team_ranks(sums: pd.DataFrame, *, prior_weight: float, min_ratings: int) -> pd.DataFrame:
    """Rank agents within each team by the team board's rule, every team at once (``ranking.rank_within_groups``).

    ``sums`` has agent_id, agent, team_id, ratings, star_sum; adds score, rank (Int64) and ranked (ranked agents in the team).
    """
    return ranking.rank_within_groups(sums, group_by=["team_id"], prior_weight=prior_weight, min_ratings=min_ratings)


def _stretch_ranks(session: Session, inp: _Inputs, team_ids: Sequence[int] | None) -> pd.DataFrame:
    """agent_id, team_id, rank, ranked (N), score, third_score of the stretch candidates of every team."""
    rules, settings, now = inp.rules, inp.settings, inp.now
    bounds, labels = {}, {}
    for site_id, tz in inp.agents[["site_id", "timezone"]].drop_duplicates().itertuples(index=False):
        period = resolve_period(rules.stretch_period, tz=zone(tz), now=now)
        # "all" has no bounds; everything up to now is the same thing.
        bounds[int(site_id)] = (datetime(1970, 1, 1), now + timedelta(days=1)) if period.is_all else period.utc_bounds()
        labels[int(site_id)] = period.label.lower()
    sums = store.agent_rating_sums_by_site(session=session, bounds=bounds, team_ids=team_ids)
    # Every agent of the team counts for the board (as on the team's leaderboard), active or not.
    sums = inp.agents[["agent_id", "agent", "team_id", "site_id"]].merge(sums, on="agent_id", how="inner")
    columns = ["agent_id", "team_id", "rank", "ranked", "score", "third_score", "period"]
    if sums.empty:
        return pd.DataFrame(columns=columns)
    table = team_ranks(sums, prior_weight=settings.prior_weight, min_ratings=settings.min_ratings)
    table = table[table["rank"].notna()]
    third = table[table["rank"] <= rules.stretch_skip_top].groupby("team_id")["score"].min()
    cutoff = (table["ranked"] * rules.stretch_quartile).map(math.ceil)
    pick = table[(table["rank"] > rules.stretch_skip_top) & (table["rank"] <= cutoff)].copy()
    pick["third_score"] = pick["team_id"].map(third)
    pick["period"] = pick["site_id"].map(labels)
    pick["rank"] = pick["rank"].astype(int)
    return pick[columns].reset_index(drop=True)


def _rule_stretch(inp: _Inputs, candidates: pd.DataFrame) -> list[dict]:
    drafts = []
    top = inp.rules.stretch_skip_top
    for row in candidates.to_dict("records"):
        agent_id, team_id = int(row["agent_id"]), int(row["team_id"])
        if agent_id not in inp.info:
            continue
        first = inp.info[agent_id]["first"]
        best = inp.best.get(agent_id)
        drafts.append(
            _draft(
                inp,
                RULE_STRETCH,
                key=f"{RULE_STRETCH}:a{agent_id}:{inp.team_weeks[team_id]}",
                team_id=team_id,
                agent_id=agent_id,
                purpose=f"Stretch conversation with {first} (GROW: goal, reality, options, will): "
                f"#{row['rank']} of {row['ranked']} on {inp.team_names[team_id]} ({row['period']}), "
                f"score {row['score']:.2f} vs {row['third_score']:.2f} for #{top}.",
                evidence=[evidence_item(best)] if best is not None else [],
                why_now=f"Top quartile but not top {top}: the above-average agents closest to the top "
                "gain the most from coaching.",
                opening=f"{first}, you're #{row['rank']} of {row['ranked']} on the team, close to the top {top}. "
                "Where would you like to be a month from now?",
            )
        )
    return drafts


def _rule_streak(session: Session, inp: _Inputs) -> list[dict]:
    rules, now = inp.rules, inp.now
    start = now - timedelta(days=rules.streak_window_days)
    seen = inp.ratings[inp.ratings["rated_at"] >= start].sort_values(["agent_id", "rated_at", "rating_id"])
    if seen.empty:
        return []
    stars = seen["stars"].to_numpy()
    rating_ids = seen["rating_id"].to_numpy()
    rated_at = seen["rated_at"].to_numpy()
    new_since = np.datetime64(now - timedelta(hours=rules.lookback_hours))
    found = []  # (agent_id, rating ids of the run oldest first, id of the rating before the run or None)
    for agent_id, idx in seen.groupby("agent_id", sort=False).indices.items():
        if len(idx) < rules.streak_length or rated_at[idx[-1]] < new_since or stars[idx[-1]] != 5:
            continue
        breaks = np.flatnonzero(stars[idx] != 5)
        first = int(breaks[-1]) + 1 if len(breaks) else 0
        if len(idx) - first < rules.streak_length:
            continue
        breaker = int(rating_ids[idx[first - 1]]) if first else None
        found.append((int(agent_id), rating_ids[idx[first:]].tolist(), breaker))
    # A streak that fills the whole window is named by the rating that ended the one before it.
    unknown = [a for a, _, b in found if b is None]
    before = store.last_non_five_before(session=session, agent_ids=unknown, before=start) if unknown else {}
    drafts = []
    for agent_id, run_ids, breaker in found:
        breaker = breaker if breaker is not None else before.get(agent_id, 0)
        agent = inp.info[agent_id]
        first = agent["first"]
        where = "1:1" if agent["hide_from_wall"] else "in public"
        latest = [inp.rating(rid) for rid in run_ids[::-1][: rules.evidence_limit]]
        drafts.append(
            _draft(
                inp,
                RULE_STREAK,
                key=f"{RULE_STREAK}:a{agent_id}:after-r{breaker}",
                team_id=agent["team_id"],
                agent_id=agent_id,
                purpose=f"Praise {first}'s streak {where}: {len(run_ids)} five-star ratings in a row.",
                evidence=[evidence_item(r) for r in latest],
                why_now=f"The latest came {_ago(_pydt(latest[0]['rated_at']), now)}; a streak deserves "
                "to be noticed while it's running.",
                opening=f"{first}, that's {len(run_ids)} five-star ratings in a row. Whatever you're doing, "
                "keep doing it. Thank you!",
            )
        )
    return drafts


def _rule_checkin(session: Session, inp: _Inputs, team_ids: Sequence[int] | None, busy: set[int]) -> list[dict]:
    rules, now = inp.rules, inp.now
    last = store.last_note_at(session=session, until=now, team_ids=team_ids)
    last_at = dict(zip(last["agent_id"].astype(int), last["last_note_at"]))
    due = timedelta(days=rules.checkin_after_days)
    drafts = []
    for agent_id, agent in inp.info.items():
        if rules.checkin_skip_if_open and agent_id in busy:
            continue
        then = _pydt(last_at.get(agent_id))
        if then is not None and now - then < due:
            continue
        first, team_id = agent["first"], agent["team_id"]
        best = inp.best.get(agent_id)
        since = f"no coaching note for {(now - then).days} days" if then is not None else "no coaching note yet"
        opening = f"How is your week going, {first}? What went well, and what's getting in your way?"
        if best is not None:
            opening += f" I saw that {_praise_line(best)}."
        drafts.append(
            _draft(
                inp,
                RULE_CHECKIN,
                key=f"{RULE_CHECKIN}:a{agent_id}:{inp.team_weeks[team_id]}",
                team_id=team_id,
                agent_id=agent_id,
                purpose=f"Check in with {first}: {since}.",
                evidence=[evidence_item(best)] if best is not None else [],
                why_now=f"Coach everyone: {rules.checkin_after_days:g}+ days without a note.",
                opening=opening,
            )
        )
    return drafts


def draft_prompts(
    *,
    session: Session,
    now: datetime | None = None,
    team_ids: Sequence[int] | None = None,
    rules: CoachingRules | None = None,
    settings: Settings | None = None,
) -> list[dict]:
    """Every prompt the rules would create now (as column dicts), existing ones included. Writes nothing."""
    now = now or utcnow()
    rules = rules or load_rules(session=session)
    settings = settings or get_settings()
    team_ids = None if team_ids is None else sorted({int(t) for t in team_ids})
    inp = _gather(session, now=now, team_ids=team_ids, rules=rules, settings=settings)
    if inp is None:
        return []
    topics = _training_table(inp.improve, min_agents=rules.training_min_agents)
    training = (
        {(int(t), g) for t, g in zip(topics["team_id"], topics["tag"])} if rules.enabled(RULE_TRAINING) else set()
    )
    tag_counts = (
        inp.improve.groupby(["agent_id", "tag"])["rating_id"].nunique().to_dict() if not inp.improve.empty else {}
    )
    drafts: list[dict] = []
    if rules.enabled(RULE_PRAISE):
        drafts += _rule_praise(inp)
    if rules.enabled(RULE_LOW):
        drafts += _rule_low(inp, training, tag_counts)
    if rules.enabled(RULE_RATIO):
        tz_by_agent = {a: i["timezone"] for a, i in inp.info.items()}
        received = ratios.received_this_week(
            session=session, agent_ids=None, team_ids=team_ids, now=now, tz_by_agent=tz_by_agent
        )
        drafts += _rule_ratio(inp, received)
    if rules.enabled(RULE_REPEAT):
        drafts += _rule_repeat(inp, training)
    if rules.enabled(RULE_TRAINING):
        drafts += _rule_training(inp, topics)
    if rules.enabled(RULE_STRETCH):
        drafts += _rule_stretch(inp, _stretch_ranks(session, inp, team_ids))
    if rules.enabled(RULE_STREAK):
        drafts += _rule_streak(session, inp)
    if rules.enabled(RULE_CHECKIN):
        busy = {d["agent_id"] for d in drafts if d["agent_id"] is not None}
        if rules.checkin_skip_if_open:
            busy |= store.open_prompt_agent_ids(session=session, now=now, team_ids=team_ids)
        drafts += _rule_checkin(session, inp, team_ids, busy)
    return drafts


def generate_prompts(
    *,
    session: Session,
    now: datetime | None = None,
    team_ids: Sequence[int] | None = None,
    rules: CoachingRules | None = None,
    settings: Settings | None = None,
) -> list[CoachingPrompt]:
    """Run the rules and insert the prompts not generated before; returns the new ones (committed).

    Idempotent: a second run with the same data returns []. A few set-based
    queries for all agents of ``team_ids`` (None: every team), rules computed
    in pandas, one bulk insert that skips existing dedupe keys.
    """
    drafts = draft_prompts(session=session, now=now, team_ids=team_ids, rules=rules, settings=settings)
    created = store.insert_prompts(session=session, rows=drafts)
    session.commit()
    return created


# --- the queue -----------------------------------------------------------------------------------


def open_prompts(
    *,
    session: Session,
    viewer,
    team_id: int | None = None,
    leader_user_id: int | None = None,
    now: datetime | None = None,
) -> pd.DataFrame:
    """Open, unexpired prompts for the teams ``viewer`` may coach, highest priority first.

    Columns: ``PROMPT_COLUMNS`` (evidence as a compact string; agent "" for a
    team prompt) plus agent_id, team_id, site, why_now, status, hide_from_wall
    and evidence_items (the parsed evidence). ``viewer=None`` sees nothing.
    """
    now = now or utcnow()
    extra = ["agent_id", "team_id", "site", "why_now", "status", "hide_from_wall", "evidence_items"]
    if viewer is None:
        return pd.DataFrame(columns=list(PROMPT_COLUMNS) + extra)
    frame = store.prompt_frame(
        session=session, viewer=viewer, now=now, status="open", team_id=team_id, leader_user_id=leader_user_id
    )
    items = [parse_evidence(text) for text in frame["evidence_json"]]
    frame["evidence_items"] = items
    frame["evidence"] = [evidence_text(i) for i in items]
    frame["agent"] = frame["agent"].fillna("").astype(str)
    frame["hide_from_wall"] = frame["hide_from_wall"].fillna(False).astype(bool)
    frame["agent_id"] = frame["agent_id"].astype("Int64")
    return frame[list(PROMPT_COLUMNS) + extra].reset_index(drop=True)


def prompt_rows(frame: pd.DataFrame) -> list[dict]:
    """Rows for ``write_rows`` with ``PROMPT_COLUMNS`` (times to the minute, UTC)."""
    rows = []
    for rec in frame.to_dict("records"):
        row = {c: rec.get(c) for c in PROMPT_COLUMNS}
        for col in ("created_at", "expires_at"):
            value = _pydt(row[col])
            row[col] = value.isoformat(sep=" ", timespec="minutes") if value else None
        row["id"] = int(row["id"])
        row["priority"] = int(row["priority"])
        rows.append(row)
    return rows


def _coach(session: Session, user_id: int | None) -> tuple[User, Any]:
    user = session.get(User, user_id) if user_id is not None else None
    if user is None:
        raise CoachingError(f"no user with id {user_id}")
    if user.disabled:
        raise CoachingError(f"{user.username} is disabled")
    if user.role not in COACH_ROLES:
        raise CoachingError(f"{user.username} is an {user.role}, not a leader, manager or admin")
    return user, viewer_for_user(session=session, user=user)


def _may_coach_team(session: Session, viewer, team_id: int) -> bool:
    allowed = store.visible_team_ids(viewer)
    if allowed is None:
        return True
    return session.exec(allowed.where(Team.id == team_id)).first() is not None


def _open_prompt(session: Session, prompt_id: int) -> CoachingPrompt:
    prompt = session.get(CoachingPrompt, prompt_id)
    if prompt is None:
        raise CoachingError(f"no prompt with id {prompt_id}")
    if prompt.status != "open":
        raise CoachingError(f"prompt {prompt_id} is already {prompt.status}")
    return prompt


def mark_done(
    *,
    session: Session,
    prompt_id: int,
    by_user_id: int,
    now: datetime | None = None,
    text: str | None = None,
) -> CoachingNote | None:
    """Close an open prompt and log the matching coaching note (None for a team training prompt).

    praise → praise note (public unless the agent hides from the wall);
    stretch, check-in → 1:1 praise note; develop → 1:1 criticism note. The
    note is about the prompt's first evidence rating. ``text`` defaults to the
    prompt's purpose. Raises CoachingError for an unknown or closed prompt, or
    a user who may not coach that team.
    """
    now = now or utcnow()
    prompt = _open_prompt(session, prompt_id)
    user, viewer = _coach(session, by_user_id)
    if not _may_coach_team(session, viewer, prompt.team_id):
        raise CoachingError(f"{user.username} does not coach the team of prompt {prompt_id}")
    note = None
    note_kind = NOTE_FOR_KIND.get(prompt.kind)
    if note_kind is not None and prompt.agent_id is not None:
        agent = session.get(Agent, prompt.agent_id)
        public = prompt.kind == "praise" and agent is not None and not agent.hide_from_wall
        items = parse_evidence(prompt.evidence)
        rating_id = items[0].get("rating_id") if items else None
        if rating_id is not None and session.get(Rating, rating_id) is None:
            rating_id = None
        note = store.add_note(
            session=session,
            agent_id=prompt.agent_id,
            author_id=user.id,
            kind=note_kind,
            visibility="public" if public else "private",
            text=_short(text or prompt.purpose, MAX_NOTE_LENGTH),
            rating_id=rating_id,
            created_at=now,
        )
    prompt.status = "done"
    prompt.resolved_at = now
    prompt.resolved_by = user.username
    prompt.note_id = note.id if note is not None else None
    session.add(prompt)
    audit(session, actor=user.username, action="prompt_done", target=f"prompt {prompt_id}", detail=prompt.rule)
    session.commit()
    return note


def dismiss(*, session: Session, prompt_id: int, by_user_id: int, now: datetime | None = None) -> CoachingPrompt:
    """Dismiss an open prompt (it is not generated again: its dedupe key stays taken)."""
    now = now or utcnow()
    prompt = _open_prompt(session, prompt_id)
    user, viewer = _coach(session, by_user_id)
    if not _may_coach_team(session, viewer, prompt.team_id):
        raise CoachingError(f"{user.username} does not coach the team of prompt {prompt_id}")
    prompt.status = "dismissed"
    prompt.resolved_at = now
    prompt.resolved_by = user.username
    session.add(prompt)
    audit(session, actor=user.username, action="prompt_dismissed", target=f"prompt {prompt_id}", detail=prompt.rule)
    session.commit()
    return prompt


# --- notes -------------------------------------------------------------------------------------


def log_note(
    *,
    session: Session,
    agent_id: int,
    author_id: int,
    kind: str,
    text: str,
    visibility: str,
    rating_id: int | None = None,
    now: datetime | None = None,
) -> CoachingNote:
    """Log a praise or criticism note from a leader (manager, admin) to an agent they coach.

    ``visibility`` is "public" or "private" ("1:1" is accepted for private).
    Criticism is always 1:1: a public criticism is refused, never stored.
    ``rating_id`` must be one of the agent's ratings. Raises CoachingError.
    """
    kind = (kind or "").strip().lower()
    if kind not in NOTE_KINDS:
        raise CoachingError(f"kind must be {' or '.join(NOTE_KINDS)}, not {kind!r}")
    visibility = {"1:1": "private", "one-to-one": "private"}.get((visibility or "").strip().lower(), (visibility or "").strip().lower())
    if visibility not in ("public", "private"):
        raise CoachingError(f"visibility must be public or private (1:1), not {visibility!r}")
    if kind == "criticism" and visibility == "public":
        raise CoachingError("criticism is given 1:1, never in public: use visibility 'private'")
    body = (text or "").strip()
    if not body:
        raise CoachingError("a note needs some text")
    if len(body) > MAX_NOTE_LENGTH:
        raise CoachingError(f"a note is at most {MAX_NOTE_LENGTH} characters (this one has {len(body)})")
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise CoachingError(f"no agent with id {agent_id}")
    user, viewer = _coach(session, author_id)
    if not _may_coach_team(session, viewer, agent.team_id):
        raise CoachingError(f"{user.username} does not coach {agent.name}'s team")
    if rating_id is not None:
        rating = session.get(Rating, rating_id)
        if rating is None or rating.agent_id != agent.id:
            raise CoachingError(f"rating {rating_id} is not one of {agent.name}'s ratings")
    note = store.add_note(
        session=session,
        agent_id=agent.id,
        author_id=user.id,
        kind=kind,
        visibility=visibility,
        text=body,
        rating_id=rating_id,
        created_at=now or utcnow(),
    )
    audit(session, actor=user.username, action="coaching_note", target=agent.name, detail=f"{kind} {visibility}")
    session.commit()
    return note


# --- leader helpers -----------------------------------------------------------------------------


def _team_scope(session: Session, team_id: int) -> Scope | None:
    row = session.exec(select(Team, Site).join(Site, Site.id == Team.site_id).where(Team.id == team_id)).first()
    if row is None:
        return None
    team, site = row
    return Scope(site_id=site.id, team_id=team.id, site=site.name, team=team.name, timezone=site.timezone)


def team_table(
    *,
    session: Session,
    viewer,
    team_id: int,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """The team at a glance for its leader: ``TEAM_TABLE_COLUMNS``, ranked agents first.

    rank/score/avg_stars/ratings_this_week come from the team's own board for
    this (local) week; praise/criticism/ratio are notes received this week;
    last_coached is the latest note (None: never). Only agents the viewer may
    see; an empty frame for a team outside the viewer's reach.
    """
    from leaderboard.board import build_board

    now = now or utcnow()
    settings = settings or get_settings()
    empty = pd.DataFrame(columns=list(TEAM_TABLE_COLUMNS))
    scope = _team_scope(session, team_id)
    if scope is None or viewer is None:
        return empty
    agents = store.agent_frame(session=session, team_ids=[team_id], viewer=viewer)
    agents = agents[agents["active"]]
    if agents.empty:
        return empty
    board = build_board(session=session, period="week", scope=scope, now=now, settings=settings, with_movement=False)
    ranked = board.agents[["agent_id", "rank", "score", "avg_stars", "ratings", "provisional"]]
    frame = agents[["agent_id", "agent", "timezone"]].merge(ranked, on="agent_id", how="left")
    frame["ratings_this_week"] = frame["ratings"].fillna(0).astype("int64")
    frame["provisional"] = frame["provisional"].astype("boolean").fillna(True).astype(bool)
    ids = frame["agent_id"].astype(int).tolist()
    received = ratios.received_this_week(
        session=session, agent_ids=ids, team_ids=[team_id], now=now,
        tz_by_agent=dict(zip(ids, frame["timezone"])), viewer=viewer,
    )
    frame = frame.merge(received, on="agent_id", how="left")
    frame = ratios.add_ratio_columns(frame, target=settings.ratio_target)
    frame["ratio_received"] = frame["ratio_label"]
    frame["ratio_status"] = frame["status"]
    last = store.last_note_at(session=session, until=now, team_ids=[team_id], viewer=viewer)
    last_at = dict(zip(last["agent_id"].astype(int), last["last_note_at"]))
    # object dtype keeps "never" as None rather than NaT.
    frame["last_coached"] = pd.Series([_pydt(last_at.get(int(a))) for a in frame["agent_id"]], index=frame.index, dtype="object")
    frame["rank"] = frame["rank"].astype("Int64")
    frame = frame.assign(_unranked=frame["rank"].isna(), _key=frame["agent"].str.casefold())
    frame = frame.sort_values(["_unranked", "rank", "ratings_this_week", "_key"], ascending=[True, True, False, True])
    return frame[list(TEAM_TABLE_COLUMNS)].reset_index(drop=True)


def digest(
    *,
    session: Session,
    viewer,
    day: date,
    tz: str | ZoneInfo | None,
    limit: int = 3,
) -> dict[str, dict[str, list[dict]]]:
    """The day's best (4–5★) and worst (1–3★) interactions per team: {team: {"best": [...], "worst": [...]}}.

    ``day`` is a local date in ``tz``. Best: most stars, commented first, latest
    first; worst: fewest stars, commented first. Excluded ratings are left out.
    Each item: interaction_id, rating_id, agent, channel, stars, comment,
    went_well, to_improve, rated_at. Only agents the viewer may see.
    """
    tzinfo = tz if isinstance(tz, ZoneInfo) else zone(tz)
    start = local_midnight_utc(day, tzinfo)
    end = local_midnight_utc(day + timedelta(days=1), tzinfo)
    rows = feedback(session=session, viewer=viewer, start=start, end=end, limit=100_000)
    rows = rows[rows["excluded_cause"].isna()]
    result: dict[str, dict[str, list[dict]]] = {}
    if rows.empty:
        return result
    rows = rows.assign(_has=(rows["comment"].fillna("").str.strip() != "").astype(int))
    keys = ["interaction_id", "rating_id", "agent", "channel", "stars", "comment", "went_well", "to_improve", "rated_at"]

    def items(frame: pd.DataFrame) -> list[dict]:
        out = []
        for rec in frame.head(limit).to_dict("records"):
            item = {k: rec[k] for k in keys}
            item["rating_id"], item["stars"] = int(item["rating_id"]), int(item["stars"])
            item["rated_at"] = _pydt(item["rated_at"])
            out.append(item)
        return out

    for team, group in rows.groupby("team", sort=True):
        best = group[group["stars"] >= 4].sort_values(["stars", "_has", "rated_at"], ascending=[False, False, False])
        worst = group[group["stars"] <= 3].sort_values(["stars", "_has", "rated_at"], ascending=[True, False, False])
        result[str(team)] = {"best": items(best), "worst": items(worst)}
    return result


def training_topics(
    *, session: Session, viewer, now: datetime | None = None, rules: CoachingRules | None = None
) -> pd.DataFrame:
    """Improvement tags shared by ``training_min_agents``+ agents of a team in the tag window.

    ``TRAINING_COLUMNS``, most agents first. Only teams the viewer coaches
    (agents and wall displays see none).
    """
    now = now or utcnow()
    rules = rules or load_rules(session=session)
    teams = store.team_frame(session=session, viewer=viewer) if viewer is not None else pd.DataFrame()
    empty = pd.DataFrame(columns=list(TRAINING_COLUMNS))
    if teams.empty:
        return empty
    team_ids = teams["team_id"].astype(int).tolist()
    inp = _gather(session, now=now, team_ids=team_ids, rules=rules, settings=get_settings())
    if inp is None:
        return empty
    topics = _training_table(inp.improve, min_agents=rules.training_min_agents)
    if topics.empty:
        return empty
    topics["team"] = topics["team_id"].map(inp.team_names)
    topics["agent_names"] = [", ".join(sorted(inp.info[a]["agent"] for a in ids)) for ids in topics["agent_ids"]]
    topics["last_seen"] = [_pydt(t) for t in topics["last_seen"]]
    topics = topics.sort_values(["agents", "ratings", "team", "tag"], ascending=[False, False, True, True])
    return topics[list(TRAINING_COLUMNS)].reset_index(drop=True)


def grow_sheet(
    *,
    session: Session,
    viewer,
    agent_id: int,
    now: datetime | None = None,
    rules: CoachingRules | None = None,
    settings: Settings | None = None,
) -> str:
    """A 1:1 prep sheet in plain text (no Markdown), GROW sections filled with the agent's data.

    "" when the viewer may not see the agent. Compares the agent with their
    team over this week's board and the tag window; suitable for a .txt download.
    """
    from leaderboard.board import build_board

    now = now or utcnow()
    rules = rules or load_rules(session=session)
    settings = settings or get_settings()
    if viewer is None:
        return ""
    mine = store.agent_frame(session=session, agent_ids=[agent_id], viewer=viewer)
    if mine.empty:
        return ""
    me = mine.iloc[0]
    team_id, tz = int(me["team_id"]), zone(me["timezone"])
    first = _first_name(me["agent"])
    inp = _gather(session, now=now, team_ids=[team_id], rules=rules, settings=settings)
    scope = _team_scope(session, team_id)
    board = build_board(session=session, period="week", scope=scope, now=now, settings=settings, with_movement=False)
    row = board.agents[board.agents["agent_id"] == agent_id]
    ranked_n = int(board.agents["rank"].notna().sum())

    days = f"{rules.tag_window_days:g} days"
    window = inp.ratings[inp.ratings["rated_at"] >= now - timedelta(days=rules.tag_window_days)] if inp else pd.DataFrame()
    my_window = window[window["agent_id"] == agent_id] if len(window) else window
    improve = inp.improve if inp else pd.DataFrame(columns=["agent_id", "tag", "rating_id", "team_id"])
    my_tags = improve[improve["agent_id"] == agent_id].groupby("tag")["rating_id"].nunique().sort_values(ascending=False)
    team_tags = improve.groupby("tag")["rating_id"].nunique()
    topics = _training_table(improve, min_agents=rules.training_min_agents)
    training = set(topics["tag"]) if len(topics) else set()
    focus = next((t for t in my_tags.index if t not in training), None)

    def avg(frame: pd.DataFrame) -> str:
        return f"{frame['stars'].mean():.2f}★" if len(frame) else "–"

    def five(frame: pd.DataFrame) -> str:
        return _pct(int((frame["stars"] == 5).sum()), len(frame)) if len(frame) else "–"

    lines = [
        f"1:1 PREP: {me['agent']} ({me['team']}, {me['site']})",
        f"Prepared {local_date(now, tz).isoformat()} for the week {week_key(local_date(now, tz))}.",
        "Coach one thing, from a specific recent contact; start with the positive.",
        "",
        "GOAL",
    ]
    if focus:
        lines.append(f"  - Focus: '{focus}' (named in {int(my_tags[focus])} of {len(my_window)} ratings in {days}).")
        lines.append(f"  - Aim: no '{focus}' mentions over the next two weeks.")
    else:
        lines.append("  - Focus: keep what works; pick one stretch goal together.")
    lines.append(
        f"  - Team target: praise-to-criticism {ratios.target_label(settings.ratio_target)}; "
        f"team average this week {board.prior:.2f}★." if not math.isnan(board.prior) else
        f"  - Team target: praise-to-criticism {ratios.target_label(settings.ratio_target)}."
    )
    lines += ["", "REALITY"]
    if len(row) and pd.notna(row.iloc[0]["rank"]):
        r = row.iloc[0]
        lines.append(
            f"  - This week: #{int(r['rank'])} of {ranked_n} ranked, {r['avg_stars']:.2f}★ over "
            f"{int(r['ratings'])} ratings (fair score {r['score']:.2f})."
        )
    elif len(row):
        r = row.iloc[0]
        lines.append(f"  - This week: {int(r['ratings'])} ratings so far (provisional, not ranked yet).")
    else:
        lines.append("  - This week: no ratings yet.")
    lines.append(
        f"  - Last {days}: {len(my_window)} ratings, {avg(my_window)}, {five(my_window)} 5★; "
        f"team {len(window)} ratings, {avg(window)}, {five(window)} 5★."
    )
    best = inp.best.get(agent_id) if inp else None
    if best is not None:
        lines.append(f"  - Strength: {evidence_text([evidence_item(best)], comment_chars=100)}.")
    lows = my_window[my_window["stars"] <= rules.low_max_stars].sort_values("rated_at", ascending=False) if len(my_window) else my_window
    if len(lows):
        lines.append(f"  - Recent low rating: {evidence_text([evidence_item(lows.iloc[0].to_dict())], comment_chars=100)}.")
    for tag, count in list(my_tags.items())[:3]:
        team_count = int(team_tags.get(tag, 0))
        lines.append(
            f"  - To improve: '{tag}' in {int(count)} of {len(my_window)} ratings ({_pct(count, len(my_window))}); "
            f"team {team_count} of {len(window)} ({_pct(team_count, len(window))})."
            + (" Team training topic." if tag in training else "")
        )
    received = ratios.received_this_week(
        session=session, agent_ids=[agent_id], team_ids=[team_id], now=now, tz_by_agent={agent_id: me["timezone"]},
    )
    p = int(received["praise"].sum()) if len(received) else 0
    c = int(received["criticism"].sum()) if len(received) else 0
    label = ratios.ratio_label(p, c)
    lines.append(
        f"  - Notes received this week: {p} praise, {c} criticism"
        + (f" ({label}, {ratios.ratio_status(p, c, settings.ratio_target)})." if label else f" ({ratios.ratio_status(p, c, settings.ratio_target)}).")
    )
    last = store.last_note_at(session=session, until=now, team_ids=[team_id])
    last_at = _pydt(dict(zip(last["agent_id"].astype(int), last["last_note_at"])).get(agent_id))
    lines.append(f"  - Last coached: {local_date(last_at, tz).isoformat()} ({_ago(last_at, now)})." if last_at else "  - Last coached: never.")
    lines += ["", "OPTIONS"]
    if len(lows):
        lines.append(f"  - Listen to {lows.iloc[0]['interaction_id']} together: what would {first} do differently?")
    if focus and inp is not None:
        went = inp.ratings[(inp.ratings["agent_id"] != agent_id) & inp.ratings["went_well"].map(lambda tags: focus in tags)]
        if len(went):
            peer_id = int(went.groupby("agent_id")["rating_id"].nunique().sort_values(ascending=False).index[0])
            peer = inp.info.get(peer_id, {}).get("agent")
            if peer:
                lines.append(f"  - Ask {peer} (most praised for '{focus}' on the team) to share what works.")
        lines.append(f"  - One micro-habit for '{focus}' on every contact this week.")
    lines.append("  - What does " + first + " suggest? Write down two or three options before choosing.")
    lines += [
        "",
        "WILL",
        "  - One action " + first + " commits to: ..................................",
        "  - By when: ..............    Check-in date: ..............",
        "  - How we'll know: " + (f"fewer '{focus}' mentions and stars on the next ratings." if focus else "stars and comments on the next ratings."),
        "",
    ]
    return "\n".join(lines)


# --- the team leader workspace: small helpers for the page ----------------------------------------

NOTE_HISTORY_COLUMNS = (
    "note_id", "created_at", "agent_id", "agent", "kind", "visibility", "author", "text", "interaction_id",
)
TAG_COLUMNS = ("tag", "went_well", "to_improve")
STARS_TREND_COLUMNS = ("start", "who", "avg_stars", "ratings")
TEAM_AVERAGE = "Team average"
GRAINS = ("day", "week")


def notes_history(
    *,
    session: Session,
    viewer,
    team_id: int | None = None,
    agent_id: int | None = None,
    author_id: int | None = None,
    since: datetime | None = None,
    limit: int = 50,
) -> pd.DataFrame:
    """Coaching notes with their text, newest first: ``NOTE_HISTORY_COLUMNS``.

    Only notes to agents ``viewer`` may see (``viewer=None`` sees nothing);
    visibility is "public" or "1:1"; times are naive UTC.
    """
    from db.models import Interaction

    empty = pd.DataFrame(columns=list(NOTE_HISTORY_COLUMNS))
    if viewer is None:
        return empty
    stmt = (
        select(
            CoachingNote.id,
            CoachingNote.created_at,
            CoachingNote.agent_id,
            Agent.name,
            CoachingNote.kind,
            CoachingNote.visibility,
            User.display_name,
            User.username,
            CoachingNote.text,
            Interaction.interaction_id,
        )
        .select_from(CoachingNote)
        .join(Agent, Agent.id == CoachingNote.agent_id)
        .outerjoin(User, User.id == CoachingNote.author_id)
        .outerjoin(Rating, Rating.id == CoachingNote.rating_id)
        .outerjoin(Interaction, Interaction.id == Rating.interaction_id)
        .order_by(CoachingNote.created_at.desc(), CoachingNote.id.desc())
        .limit(max(1, int(limit)))
    )
    allowed = store.visible_agent_ids(viewer)
    if allowed is not None:
        stmt = stmt.where(CoachingNote.agent_id.in_(allowed))
    if team_id is not None:
        stmt = stmt.where(Agent.team_id == team_id)
    if agent_id is not None:
        stmt = stmt.where(CoachingNote.agent_id == agent_id)
    if author_id is not None:
        stmt = stmt.where(CoachingNote.author_id == author_id)
    if since is not None:
        stmt = stmt.where(CoachingNote.created_at >= since)
    rows = [tuple(r) for r in session.exec(stmt).all()]
    if not rows:
        return empty
    raw = pd.DataFrame(
        rows,
        columns=["note_id", "created_at", "agent_id", "agent", "kind", "visibility", "display", "username", "text", "iid"],
    )
    return pd.DataFrame(
        {
            "note_id": raw["note_id"].astype("int64"),
            "created_at": pd.to_datetime(raw["created_at"]),
            "agent_id": raw["agent_id"].astype("int64"),
            "agent": raw["agent"].astype(str),
            "kind": raw["kind"].astype(str),
            "visibility": raw["visibility"].map({"private": "1:1"}).fillna(raw["visibility"]).astype(str),
            "author": [d or u or "—" for d, u in zip(raw["display"], raw["username"])],
            "text": raw["text"].fillna("").astype(str),
            "interaction_id": raw["iid"].fillna("").astype(str),
        }
    )


def given_ratio(
    *,
    session: Session,
    viewer,
    team_id: int,
    author_id: int | None,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> dict:
    """The praise-to-criticism ratio ``author_id`` gave the team's agents this (local) week.

    {"praise", "criticism", "ratio", "label", "status", "target"} (label "" without criticism:
    never an infinity). Zero notes for an unknown team, author or a viewer who may not see it.
    """
    settings = settings or get_settings()
    out = {
        "praise": 0,
        "criticism": 0,
        "ratio": None,
        "label": "",
        "status": ratios.NO_NOTES,
        "target": ratios.target_label(settings.ratio_target),
    }
    scope = _team_scope(session, team_id)
    if scope is None or viewer is None or author_id is None:
        return out
    table = ratios.ratio_table(
        session=session, by="leader", scope=scope, period="week", now=now or utcnow(), viewer=viewer, settings=settings
    )
    row = table[table["id"] == int(author_id)]
    if row.empty:
        return out
    p, c = int(row.iloc[0]["praise"]), int(row.iloc[0]["criticism"])
    out.update(
        praise=p,
        criticism=c,
        ratio=ratios.ratio_value(p, c),
        label=ratios.ratio_label(p, c),
        status=ratios.ratio_status(p, c, settings.ratio_target),
    )
    return out


def filter_feedback(frame: pd.DataFrame, *, stars: Iterable[int] | None = None, tag: str | None = None) -> pd.DataFrame:
    """``db.queries.feedback`` rows with one of ``stars`` (None or empty: any) naming ``tag`` (either kind)."""
    out = frame
    wanted = {int(s) for s in stars} if stars else set()
    if wanted and len(out):
        out = out[out["stars"].astype(int).isin(wanted)]
    if tag and len(out):
        key = tag.strip().lower()
        named = [
            key in {str(t).strip().lower() for t in (list(w) + list(i))}
            for w, i in zip(out["went_well"], out["to_improve"])
        ]
        out = out[pd.Series(named, index=out.index, dtype=bool)]
    return out.reset_index(drop=True)


def tag_breakdown(frame: pd.DataFrame) -> pd.DataFrame:
    """How often each tag was named in ``feedback`` rows: ``TAG_COLUMNS``, most named first."""
    counts: dict[str, list[int]] = {}
    if len(frame):
        for kind, index in (("went_well", 0), ("to_improve", 1)):
            for tags in frame[kind]:
                for tag in {str(t).strip().lower() for t in (tags or ()) if str(t).strip()}:
                    counts.setdefault(tag, [0, 0])[index] += 1
    if not counts:
        return pd.DataFrame({"tag": pd.Series(dtype=str), "went_well": pd.Series(dtype="int64"),
                             "to_improve": pd.Series(dtype="int64")})
    table = pd.DataFrame(
        [(tag, w, i) for tag, (w, i) in counts.items()], columns=list(TAG_COLUMNS)
    ).astype({"went_well": "int64", "to_improve": "int64"})
    table = table.assign(_total=table["went_well"] + table["to_improve"])
    table = table.sort_values(["_total", "to_improve", "tag"], ascending=[False, False, True])
    return table[list(TAG_COLUMNS)].reset_index(drop=True)


def stars_trend(
    *,
    session: Session,
    viewer,
    agent_id: int,
    grain: str = "day",
    periods: int = 14,
    now: datetime | None = None,
) -> pd.DataFrame:
    """The agent's average stars per local day (or week) against their team's: ``STARS_TREND_COLUMNS``.

    The last ``periods`` days (weeks: Monday to Sunday, the current one last) in
    the site's time zone; ``who`` is the agent's name or ``TEAM_AVERAGE`` (every
    rating of the team, the agent's included). Days without ratings have no row.
    Empty when the viewer may not see the agent.
    """
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {', '.join(GRAINS)}, not {grain!r}")
    empty = pd.DataFrame(
        {"start": pd.Series(dtype="datetime64[ns]"), "who": pd.Series(dtype=str),
         "avg_stars": pd.Series(dtype="float64"), "ratings": pd.Series(dtype="int64")}
    )
    if viewer is None:
        return empty
    mine = store.agent_frame(session=session, agent_ids=[agent_id], viewer=viewer)
    if mine.empty:
        return empty
    me = mine.iloc[0]
    now = now or utcnow()
    tz = zone(me["timezone"])
    today = local_date(now, tz)
    periods = max(1, int(periods))
    if grain == "week":
        first = today - timedelta(days=today.weekday()) - timedelta(weeks=periods - 1)
    else:
        first = today - timedelta(days=periods - 1)
    rows = store.window_ratings(
        session=session, start=local_midnight_utc(first, tz), end=now, team_ids=[int(me["team_id"])], viewer=viewer
    )
    if rows.empty:
        return empty
    local = pd.to_datetime(rows["rated_at"]).dt.tz_localize("UTC").dt.tz_convert(tz.key)
    day = local.dt.normalize().dt.tz_localize(None)
    if grain == "week":
        day = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    rows = rows.assign(start=day, stars=rows["stars"].astype("float64"))

    def averages(frame: pd.DataFrame, who: str) -> pd.DataFrame:
        out = frame.groupby("start", as_index=False)["stars"].agg(avg_stars="mean", ratings="count")
        return out.assign(who=who)

    mine_rows = rows[rows["agent_id"].astype(int) == int(agent_id)]
    frame = pd.concat([averages(mine_rows, str(me["agent"])), averages(rows, TEAM_AVERAGE)], ignore_index=True)
    frame["start"] = pd.to_datetime(frame["start"]).astype("datetime64[ns]")
    frame["ratings"] = frame["ratings"].astype("int64")
    return frame[list(STARS_TREND_COLUMNS)].sort_values(["who", "start"]).reset_index(drop=True)


def note_draft(*, kind: str, agent: str, interaction_id: str | None = None, stars: int | None = None,
               comment: str | None = None) -> str:
    """A sensible first line for a note about one rating (the leader edits it before saving).

    Praise names what the customer noticed; criticism opens a 1:1 about one contact.
    """
    first = _first_name(agent)
    said = _short(comment or "", 90)
    if kind == "criticism":
        what = ", ".join(p for p in (f"{int(stars)}★" if stars is not None else "", f"'{said}'" if said else "") if p)
        contact = f"your contact {interaction_id}" if interaction_id else "a recent contact"
        return (
            f"{first}, let's look at {contact}{f' ({what})' if what else ''} together: "
            "what went well, and what would you do differently next time?"
        )
    if stars is not None:
        quoted = f" and wrote '{said}'" if said else ""
        on = f"on {interaction_id} " if interaction_id else ""
        # No full stop after a quote that already ends a sentence.
        stop = "" if said and said[-1] in ".!?…" else "."
        return f"Great work, {first}: {on}the customer gave you {int(stars)}★{quoted}{stop} Keep it up!"
    return f"Great work, {first}. Keep it up!"


__all__ = [
    "CoachingError",
    "CoachingRules",
    "NOTE_HISTORY_COLUMNS",
    "PROMPT_COLUMNS",
    "RULES",
    "STARS_TREND_COLUMNS",
    "TAG_COLUMNS",
    "TEAM_AVERAGE",
    "TEAM_TABLE_COLUMNS",
    "TRAINING_COLUMNS",
    "digest",
    "dismiss",
    "draft_prompts",
    "evidence_item",
    "evidence_text",
    "filter_feedback",
    "generate_prompts",
    "given_ratio",
    "grow_sheet",
    "load_rules",
    "log_note",
    "mark_done",
    "note_draft",
    "notes_history",
    "open_prompts",
    "parse_evidence",
    "prompt_rows",
    "save_rules",
    "stars_trend",
    "tag_breakdown",
    "team_table",
    "training_topics",
]
