"""The prompt queue as use cases: gather the data, run the rules, store, list, mark done, dismiss; notes."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import Any, Sequence

import numpy as np
import pandas as pd
from sqlmodel import Session

from db import coaching_store as store
from db.accounts import audit, viewer_for_user
from db.coaching_queries import may_coach_team
from db.models import NOTE_KINDS, Agent, CoachingNote, CoachingPrompt, Rating, User, utcnow
from leaderboard import ratios
from leaderboard.auth import SYSTEM_VIEWER
from leaderboard.coaching.rules import (
    COACH_ROLES,
    MAX_NOTE_LENGTH,
    NOTE_FOR_KIND,
    PROMPT_COLUMNS,
    RULE_CHECKIN,
    RULE_LOW,
    RULE_PRAISE,
    RULE_RATIO,
    RULE_REPEAT,
    RULE_STREAK,
    RULE_STRETCH,
    RULE_TRAINING,
    _ROW_COLUMNS,
    CoachingError,
    CoachingRules,
    _draft,
    _Inputs,
    _best_line,
    _rule_low,
    _rule_praise,
    _rule_ratio,
    _rule_repeat,
    _rule_stretch,
    _rule_training,
    _training_table,
    _weekly_agent_draft,
    budget_left,
    merge_praise,
    prompt_budget,
    team_ranks,
    within_budget,
)
from leaderboard.coaching.texts import (
    _ago,
    _first_name,
    _pydt,
    evidence_item,
    evidence_text,
    parse_evidence,
    prompt_note_draft,
    checkin_texts,
    streak_texts,
)
from leaderboard.periods import local_date, resolve_period, week_key, zone
from leaderboard.settings import Settings, get_settings


def load_rules(*, session: Session) -> CoachingRules:
    """The rules in force: defaults overridden by the JSON in AppMeta "coaching_rules"."""
    return CoachingRules.from_json(store.rules_json(session=session))


def save_rules(*, session: Session, rules: CoachingRules, actor: str = "admin") -> None:
    """Store ``rules`` (only what differs from the defaults) and commit."""
    overrides = rules.overrides()
    store.store_rules_json(session=session, overrides=overrides)
    audit(session, actor=actor, action="coaching_rules_saved", detail=json.dumps(overrides, sort_keys=True))
    session.commit()


def _gather(session: Session, *, now: datetime, team_ids: Sequence[int] | None, rules: CoachingRules,
            settings: Settings) -> _Inputs | None:
    agents = store.agent_frame(session=session, team_ids=team_ids, viewer=SYSTEM_VIEWER)
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
    ratings = store.window_ratings(session=session, start=start, end=now, team_ids=team_ids, viewer=SYSTEM_VIEWER)
    tags = store.window_tags(session=session, start=start, end=now, team_ids=team_ids, viewer=SYSTEM_VIEWER)
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
        latest = [inp.rating(rid) for rid in run_ids[::-1][: rules.evidence_limit]]
        drafts.append(
            _draft(
                inp,
                RULE_STREAK,
                key=f"{RULE_STREAK}:a{agent_id}:after-r{breaker}",
                team_id=agent["team_id"],
                agent_id=agent_id,
                evidence=[evidence_item(r) for r in latest],
                **streak_texts(
                    first=agent["first"],
                    hidden=bool(agent["hide_from_wall"]),
                    length=len(run_ids),
                    ago=_ago(_pydt(latest[0]["rated_at"]), now),
                ),
            )
        )
    return drafts


def _rule_checkin(session: Session, inp: _Inputs, team_ids: Sequence[int] | None, busy: set[int]) -> list[dict]:
    rules, now = inp.rules, inp.now
    last = store.last_note_at(session=session, until=now, team_ids=team_ids, viewer=SYSTEM_VIEWER)
    last_at = dict(zip(last["agent_id"].astype(int), last["last_note_at"]))
    due = timedelta(days=rules.checkin_after_days)
    drafts = []
    for agent_id, agent in inp.info.items():
        if rules.checkin_skip_if_open and agent_id in busy:
            continue
        then = _pydt(last_at.get(agent_id))
        if then is not None and now - then < due:
            continue
        drafts.append(
            _weekly_agent_draft(
                inp,
                RULE_CHECKIN,
                agent_id=agent_id,
                team_id=agent["team_id"],
                texts=checkin_texts(
                    first=agent["first"],
                    days_since=(now - then).days if then is not None else None,
                    after_days=rules.checkin_after_days,
                    best_line=_best_line(inp, agent_id),
                ),
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
    topics = _training_table(inp.improve, min_agents=rules.training_min_agents, min_ratings=rules.training_min_ratings)
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
            session=session, agent_ids=None, team_ids=team_ids, now=now, tz_by_agent=tz_by_agent, viewer=SYSTEM_VIEWER
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


def open_prompts(
    *,
    session: Session,
    viewer,
    team_id: int | None = None,
    leader_user_id: int | None = None,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Open, unexpired prompts for the teams ``viewer`` may coach, highest priority first.

    Columns: ``PROMPT_COLUMNS`` (evidence as a compact string; agent "" for a
    team prompt) plus agent_id, team_id, site, why_now, status, hide_from_wall,
    evidence_items (the parsed evidence), merged_ids (an agent's other praise
    prompts, merged into this one) and in_budget (within what is left of the team's daily
    budget, ``settings.prompt_budget`` per 10 active agents less the prompts handled today
    in the site's calendar; the rest is "more").
    ``viewer=None`` sees nothing.
    """
    now = now or utcnow()
    settings = settings or get_settings()
    extra = ["agent_id", "team_id", "site", "why_now", "status", "hide_from_wall", "evidence_items", "merged_ids",
             "in_budget"]
    if viewer is None:
        return pd.DataFrame(columns=list(PROMPT_COLUMNS) + extra)
    frame = store.prompt_frame(
        session=session, viewer=viewer, now=now, status="open", team_id=team_id, leader_user_id=leader_user_id
    )
    frame["evidence_items"] = [parse_evidence(text) for text in frame["evidence_json"]]
    frame["agent_id"] = frame["agent_id"].astype("Int64")
    frame = merge_praise(frame)
    frame["evidence"] = [evidence_text(i) for i in frame["evidence_items"]]
    frame["agent"] = frame["agent"].fillna("").astype(str)
    frame["hide_from_wall"] = frame["hide_from_wall"].fillna(False).astype(bool)
    team_ids = sorted({int(t) for t in frame["team_id"]})
    budgets = {}
    if team_ids:
        agents = store.agent_frame(session=session, team_ids=team_ids, viewer=SYSTEM_VIEWER)
        active = agents[agents["active"]].groupby("team_id")["agent_id"].nunique().to_dict()
        handled = handled_today(session=session, team_ids=team_ids, now=now)
        budgets = {
            t: budget_left(prompt_budget(int(active.get(t, 0)), settings.prompt_budget), handled.get(t, 0))
            for t in team_ids
        }
    frame["in_budget"] = within_budget(frame, budgets)
    return frame[list(PROMPT_COLUMNS) + extra].reset_index(drop=True)


def handled_today(*, session: Session, team_ids: Sequence[int], now: datetime) -> dict[int, int]:
    """{team_id: prompts done or dismissed today}, "today" in each team's site calendar."""
    counts: dict[int, int] = {}
    # Two days back covers every time zone's "today"; the local date decides.
    for team_id, at, tz in store.handled_prompts(session=session, team_ids=team_ids, since=now - timedelta(days=2)):
        if local_date(at, zone(tz)) == local_date(now, zone(tz)):
            counts[team_id] = counts.get(team_id, 0) + 1
    return counts


def note_suggestion(row: dict) -> dict:
    """What "Done" offers for an ``open_prompts`` row: kind, visibility and a note written to the agent.

    {"kind": None, ...} for a team prompt (nothing to write). The leader edits all three, or closes the
    prompt without a note: nothing reaches the agent that the leader did not write or confirm.
    """
    kind = NOTE_FOR_KIND.get(row["kind"]) if row.get("agent") else None
    public = row["kind"] == "praise" and not row.get("hide_from_wall")
    text = prompt_note_draft(
        prompt_kind=row["kind"], rule=row["rule"], agent=row.get("agent") or "",
        evidence=list(row.get("evidence_items") or []),
    )
    return {"kind": kind, "visibility": "public" if public else "private", "text": text if kind else ""}


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


def _open_prompt(session: Session, prompt_id: int) -> CoachingPrompt:
    prompt = session.get(CoachingPrompt, prompt_id)
    if prompt is None:
        raise CoachingError(f"no prompt with id {prompt_id}")
    if prompt.status != "open":
        raise CoachingError(f"prompt {prompt_id} is already {prompt.status}")
    return prompt


def _merged_praise(session: Session, prompt: CoachingPrompt) -> list[CoachingPrompt]:
    """The agent's other open praise prompts: shown merged with ``prompt``, so closed with it."""
    if prompt.kind != "praise" or prompt.agent_id is None:
        return []
    others = store.prompt_frame(session=session, viewer=SYSTEM_VIEWER, status="open", team_id=prompt.team_id)
    ids = others[(others["kind"] == "praise") & (others["agent_id"] == prompt.agent_id) & (others["id"] != prompt.id)]["id"]
    return [session.get(CoachingPrompt, int(i)) for i in ids]


def _close(session: Session, prompt: CoachingPrompt, *, status: str, user: User, now: datetime,
           note_id: int | None = None) -> None:
    for each in [prompt, *_merged_praise(session, prompt)]:
        each.status = status
        each.resolved_at = now
        each.resolved_by = user.username
        if each is prompt:
            each.note_id = note_id
        session.add(each)


def mark_done(
    *,
    session: Session,
    prompt_id: int,
    by_user_id: int,
    now: datetime | None = None,
    text: str | None = None,
    kind: str | None = None,
    visibility: str | None = None,
) -> CoachingNote | None:
    """Close an open prompt; log a note only when the leader wrote (or confirmed) ``text``.

    No ``text``: the prompt is done and nothing is logged (the agent sees nothing).
    With ``text``: a note to the prompt's agent about its first evidence rating, of
    ``kind`` (default: praise for praise, stretch and check-in prompts, criticism
    for develop) and ``visibility`` (default: public for a praise prompt unless
    the agent hides from the wall, else 1:1), validated like ``log_note``
    (criticism is never public). The agent's other open praise prompts, shown
    merged with this one, close with it. Raises CoachingError for an unknown or
    closed prompt, a user who may not coach that team, or a note about a team prompt.
    """
    now = now or utcnow()
    prompt = _open_prompt(session, prompt_id)
    user, viewer = _coach(session, by_user_id)
    if not may_coach_team(session=session, viewer=viewer, team_id=prompt.team_id):
        raise CoachingError(f"{user.username} does not coach the team of prompt {prompt_id}")
    note = None
    if text is not None and text.strip():
        if prompt.agent_id is None:
            raise CoachingError(f"prompt {prompt_id} is about a team: there is no agent to write a note to")
        agent = session.get(Agent, prompt.agent_id)
        default_public = prompt.kind == "praise" and agent is not None and not agent.hide_from_wall
        kind, visibility, body = _check_note(
            kind or NOTE_FOR_KIND.get(prompt.kind) or "praise",
            visibility or ("public" if default_public else "private"),
            text,
        )
        items = parse_evidence(prompt.evidence)
        rating_id = items[0].get("rating_id") if items else None
        rating = session.get(Rating, rating_id) if rating_id is not None else None
        note = store.add_note(
            session=session,
            agent_id=prompt.agent_id,
            author_id=user.id,
            kind=kind,
            visibility=visibility,
            text=body,
            rating_id=rating_id if rating is not None and rating.agent_id == prompt.agent_id else None,
            created_at=now,
        )
        audit(session, actor=user.username, action="coaching_note", target=agent.name if agent else "",
              detail=f"{kind} {visibility}")
    _close(session, prompt, status="done", user=user, now=now, note_id=note.id if note is not None else None)
    detail = prompt.rule + (f"; {note.kind} note {note.id}" if note is not None else "; no note")
    audit(session, actor=user.username, action="prompt_done", target=f"prompt {prompt_id}", detail=detail)
    session.commit()
    return note


def dismiss(*, session: Session, prompt_id: int, by_user_id: int, now: datetime | None = None) -> CoachingPrompt:
    """Dismiss an open prompt (it is not generated again: its dedupe key stays taken)."""
    now = now or utcnow()
    prompt = _open_prompt(session, prompt_id)
    user, viewer = _coach(session, by_user_id)
    if not may_coach_team(session=session, viewer=viewer, team_id=prompt.team_id):
        raise CoachingError(f"{user.username} does not coach the team of prompt {prompt_id}")
    _close(session, prompt, status="dismissed", user=user, now=now)
    audit(session, actor=user.username, action="prompt_dismissed", target=f"prompt {prompt_id}", detail=prompt.rule)
    session.commit()
    return prompt


def _check_note(kind: str, visibility: str, text: str) -> tuple[str, str, str]:
    """(kind, visibility, text) of a note, normalised; CoachingError for what may not be stored."""
    kind = (kind or "").strip().lower()
    if kind not in NOTE_KINDS:
        raise CoachingError(f"kind must be {' or '.join(NOTE_KINDS)}, not {kind!r}")
    visibility = (visibility or "").strip().lower()
    visibility = {"1:1": "private", "one-to-one": "private"}.get(visibility, visibility)
    if visibility not in ("public", "private"):
        raise CoachingError(f"visibility must be public or private (1:1), not {visibility!r}")
    if kind == "criticism" and visibility == "public":
        raise CoachingError("criticism is given 1:1, never in public: use visibility 'private'")
    body = (text or "").strip()
    if not body:
        raise CoachingError("a note needs some text")
    if len(body) > MAX_NOTE_LENGTH:
        raise CoachingError(f"a note is at most {MAX_NOTE_LENGTH} characters (this one has {len(body)})")
    return kind, visibility, body


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
    kind, visibility, body = _check_note(kind, visibility, text)
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise CoachingError(f"no agent with id {agent_id}")
    user, viewer = _coach(session, author_id)
    if not may_coach_team(session=session, viewer=viewer, team_id=agent.team_id):
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
