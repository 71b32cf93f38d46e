"""Coaching prompt rules, pure: which prompts fire, with what priority, from plain data.

``CoachingRules`` holds every threshold, window and priority (defaults here,
overrides as JSON in AppMeta "coaching_rules"); the ``_rule_*`` functions turn
the frames gathered by ``leaderboard.coaching.prompts`` (an ``_Inputs``) into
prompt drafts. No database, no Streamlit: the rule table is in the package docstring.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any, Mapping

import numpy as np
import pandas as pd

from leaderboard import ranking, ratio_rules
from leaderboard.coaching.texts import (
    _ago,
    _praise_line,
    _pydt,
    _short,
    evidence_item,
    low_rating_texts,
    praise_texts,
    ratio_texts,
    repeat_tag_texts,
    stretch_texts,
    training_texts,
)
from leaderboard.periods import PeriodError, resolve_period
from leaderboard.settings import Settings


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


@dataclass(frozen=True)
class CoachingRules:
    """Thresholds, windows and priorities of the prompt rules (see the module docstring)."""

    lookback_hours: float = 48.0  # a rating is "new" when rated at most this long before now
    praise_min_stars: int = 4
    low_max_stars: int = 2
    tag_window_days: float = 14.0  # repeat-tag and team-training look this far back
    repeat_tag_min_ratings: int = 3
    training_min_agents: int = 4  # a team training topic needs a real group: this many agents...
    training_min_ratings: int = 10  # ...and this many ratings naming the tag in the tag window
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


def _best_line(inp: _Inputs, agent_id: int) -> str | None:
    """The agent's best recent praise as a line for a prompt's text (None without one)."""
    best = inp.best.get(agent_id)
    return _praise_line(best) if best is not None else None


def _weekly_agent_draft(inp: _Inputs, rule: str, *, agent_id: int, team_id: int, texts: dict,
                        evidence: list[dict] | None = None, topic: str | None = None) -> dict:
    """A prompt about one agent, at most one per rule (and ``topic``), agent and team week.

    ``evidence`` defaults to the agent's best recent praise (none when there is none).
    """
    if evidence is None:
        best = inp.best.get(agent_id)
        evidence = [evidence_item(best)] if best is not None else []
    week = inp.team_weeks[team_id]
    key = f"{rule}:a{agent_id}:{topic}:{week}" if topic is not None else f"{rule}:a{agent_id}:{week}"
    return _draft(inp, rule, key=key, team_id=team_id, agent_id=agent_id, evidence=evidence, **texts)


def _training_table(improve: pd.DataFrame, *, min_agents: int, min_ratings: int = 0) -> pd.DataFrame:
    """team_id, tag, agents, ratings, agent_ids, last_seen for tags shared by ``min_agents``+ agents of a team
    on ``min_ratings``+ ratings (a real group, not three agents who each had one bad call)."""
    columns = ["team_id", "tag", "agents", "ratings", "agent_ids", "last_seen"]
    if improve.empty:
        return pd.DataFrame(columns=columns)
    grouped = improve.groupby(["team_id", "tag"]).agg(
        agents=("agent_id", "nunique"), ratings=("rating_id", "nunique"), last_seen=("rated_at", "max")
    )
    grouped = grouped[(grouped["agents"] >= min_agents) & (grouped["ratings"] >= min_ratings)].reset_index()
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


def _new_positions(inp: _Inputs, mask: pd.Series) -> list[int]:
    """Row positions of the new ratings (within the lookback) that ``mask`` selects, newest first."""
    new = inp.ratings["rated_at"] >= inp.now - timedelta(hours=inp.rules.lookback_hours)
    return np.flatnonzero((new & mask).to_numpy())[::-1].tolist()


def _rule_praise(inp: _Inputs) -> list[dict]:
    """One praise prompt per agent for all their new praise-worthy ratings, keyed by the newest of them."""
    rules, now, r = inp.rules, inp.now, inp.ratings
    by_agent: dict[int, list[dict]] = {}
    for i in _new_positions(inp, (r["stars"] >= rules.praise_min_stars) & (r["comment"].str.strip() != "")):
        row = inp.rating(inp.columns["rating_id"][i])
        by_agent.setdefault(int(row["agent_id"]), []).append(row)
    drafts = []
    for agent_id, rows in by_agent.items():
        # The best of them leads (most stars, then the newest); the evidence lists them all, newest first.
        row = sorted(rows, key=lambda x: -int(x["stars"]))[0]
        newest = rows[0]
        agent = inp.info[agent_id]
        rated_at = _pydt(row["rated_at"])
        drafts.append(
            _draft(
                inp,
                RULE_PRAISE,
                key=f"{RULE_PRAISE}:r{int(newest['rating_id'])}",
                team_id=row["team_id"],
                agent_id=agent_id,
                evidence=[evidence_item(x) for x in ([row] + [x for x in rows if x is not row])[: rules.evidence_limit]],
                **praise_texts(
                    first=agent["first"],
                    hidden=bool(agent["hide_from_wall"]),
                    interaction_id=row["interaction_id"],
                    stars=int(row["stars"]),
                    comment=_short(row["comment"], 120),
                    channel=row["channel"],
                    ago=_ago(rated_at, now),
                    hours_old=(now - rated_at).total_seconds() / 3600.0,
                    more=len(rows) - 1,
                ),
            )
        )
    return drafts


def merge_praise(frame: pd.DataFrame) -> pd.DataFrame:
    """Open prompts with every agent's praise prompts merged into one (the first in the frame's order).

    ``frame``: open prompts highest priority first, with agent_id, kind, id and evidence_items. The kept
    row gets the others' evidence (each rating once) and their ids in ``merged_ids``; the others go.
    """
    frame = frame.copy()
    frame["merged_ids"] = [[] for _ in range(len(frame))]
    if frame.empty:
        return frame
    praise = (frame["kind"] == "praise") & frame["agent_id"].notna()
    keep = ~praise | ~frame["agent_id"].where(praise).duplicated(keep="first")
    first_row: dict[int, int] = {}
    for pos, (is_praise, agent_id) in enumerate(zip(praise.tolist(), frame["agent_id"].tolist())):
        if not is_praise:
            continue
        if int(agent_id) not in first_row:
            first_row[int(agent_id)] = pos
            continue
        lead = first_row[int(agent_id)]
        frame.iat[lead, frame.columns.get_loc("merged_ids")].append(int(frame["id"].iat[pos]))
        items = list(frame["evidence_items"].iat[lead])
        seen = {i.get("rating_id") for i in items}
        items += [i for i in frame["evidence_items"].iat[pos] if i.get("rating_id") not in seen]
        frame.iat[lead, frame.columns.get_loc("evidence_items")] = items
    return frame[keep.to_numpy()].reset_index(drop=True)


def prompt_budget(agents: int, per_10_agents: float) -> int:
    """Open prompts a leader sees at once for a team of ``agents`` active agents (at least one)."""
    return max(1, math.ceil(per_10_agents * agents / 10 - 1e-9))


def budget_left(budget: int, handled_today: int) -> int:
    """What is left of a team's daily budget after the prompts its leader handled today (never below 0)."""
    return max(0, budget - handled_today)


def within_budget(frame: pd.DataFrame, budgets: Mapping[int, int]) -> pd.Series:
    """True for the first ``budgets[team_id]`` prompts of each team in the frame's order (highest priority first)."""
    if frame.empty:
        return pd.Series([], dtype=bool, index=frame.index)
    place = frame.groupby("team_id", sort=False).cumcount()
    limit = frame["team_id"].map(lambda t: budgets.get(int(t), 1))
    return (place < limit).astype(bool)


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
        best = inp.best.get(agent_id)
        shown = rows[: max(1, rules.evidence_limit - 1)]
        evidence = [evidence_item(r) for r in shown] + ([evidence_item(best)] if best is not None else [])
        drafts.append(
            _draft(
                inp,
                RULE_LOW,
                key=f"{RULE_LOW}:r{int(row['rating_id'])}",
                team_id=team_id,
                agent_id=agent_id,
                evidence=evidence,
                **low_rating_texts(
                    first=inp.info[agent_id]["first"],
                    focus=focus,
                    comment=_short(row["comment"], 90),
                    interaction_id=row["interaction_id"],
                    stars=int(row["stars"]),
                    ago=_ago(_pydt(row["rated_at"]), now),
                    more=len(rows) - 1,
                    best_line=_best_line(inp, agent_id),
                ),
            )
        )
    return drafts


def _rule_ratio(inp: _Inputs, received: pd.DataFrame) -> list[dict]:
    target = inp.settings.ratio_target
    drafts = []
    for agent_id, praise, criticism in zip(received["agent_id"], received["praise"], received["criticism"]):
        agent_id, praise, criticism = int(agent_id), int(praise), int(criticism)
        if agent_id not in inp.info or ratio_rules.ratio_status(praise, criticism, target) != ratio_rules.BELOW_TARGET:
            continue
        agent = inp.info[agent_id]
        drafts.append(
            _weekly_agent_draft(
                inp,
                RULE_RATIO,
                agent_id=agent_id,
                team_id=agent["team_id"],
                texts=ratio_texts(
                    first=agent["first"],
                    praise=praise,
                    criticism=criticism,
                    ratio_label=ratio_rules.ratio_label(praise, criticism),
                    target_label=ratio_rules.target_label(target),
                    best_line=_best_line(inp, agent_id),
                ),
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
        team_id = agent["team_id"]
        if (team_id, tag) in training:
            continue
        rows = [inp.rating(rid) for rid in evidence_ids[(agent_id, tag)]]
        a_total, t_total = int(agent_total.get(agent_id, 0)), int(team_total.get(team_id, 0))
        t_count = int(team_tag.get((team_id, tag), 0))
        drafts.append(
            _weekly_agent_draft(
                inp,
                RULE_REPEAT,
                agent_id=agent_id,
                team_id=team_id,
                topic=tag,
                evidence=[evidence_item(r) for r in rows],
                texts=repeat_tag_texts(
                    first=agent["first"],
                    tag=tag,
                    count=count,
                    agent_total=a_total,
                    team_count=t_count,
                    team_total=t_total,
                    days=days,
                    ago=_ago(_pydt(rows[0]["rated_at"]), now),
                    best_line=_best_line(inp, agent_id),
                ),
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
        drafts.append(
            _draft(
                inp,
                RULE_TRAINING,
                key=f"{RULE_TRAINING}:t{team_id}:{tag}:{inp.team_weeks[team_id]}",
                team_id=team_id,
                agent_id=None,
                evidence=[evidence_item(r) for r in rows],
                **training_texts(
                    team=inp.team_names[team_id],
                    tag=tag,
                    agents=int(n_agents),
                    ratings=int(n_ratings),
                    days=days,
                    names=", ".join(sorted(inp.info[a]["first"] for a in agent_ids)),
                ),
            )
        )
    return drafts


def team_ranks(sums: pd.DataFrame, *, prior_weight: float, min_ratings: int) -> pd.DataFrame:
    """Rank agents within each team by the team board's rule, every team at once (``ranking.rank_within_groups``).

    ``sums`` has agent_id, agent, team_id, ratings, star_sum; adds score, rank (Int64) and ranked (ranked agents in the team).
    """
    return ranking.rank_within_groups(sums, group_by=["team_id"], prior_weight=prior_weight, min_ratings=min_ratings)


def _rule_stretch(inp: _Inputs, candidates: pd.DataFrame) -> list[dict]:
    drafts = []
    top = inp.rules.stretch_skip_top
    for row in candidates.to_dict("records"):
        agent_id, team_id = int(row["agent_id"]), int(row["team_id"])
        if agent_id not in inp.info:
            continue
        drafts.append(
            _weekly_agent_draft(
                inp,
                RULE_STRETCH,
                agent_id=agent_id,
                team_id=team_id,
                texts=stretch_texts(
                    first=inp.info[agent_id]["first"],
                    rank=row["rank"],
                    ranked=row["ranked"],
                    team=inp.team_names[team_id],
                    period=row["period"],
                    score=row["score"],
                    third_score=row["third_score"],
                    top=top,
                ),
            )
        )
    return drafts
