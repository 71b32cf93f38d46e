"""Coaching wording, pure: evidence lines, short quotes, "3 days ago", a note's prefilled text."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any, Iterable, Mapping

import pandas as pd


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


# "just wrote" only about a rating at most this many hours old; older ones say how long ago.
JUST_HOURS = 3.0

_STOPS = ".!?…"
_QUOTES = "'\"’”»)"


def ends_sentence(text: str) -> bool:
    """True when ``text`` already ends a sentence, also inside a closing quote: ``wrote 'fixed it.'``."""
    value = str(text).rstrip()
    while value and value[-1] in _QUOTES:
        value = value[:-1]
    return bool(value) and value[-1] in _STOPS


def sentence(text: str) -> str:
    """``text`` ending in exactly one stop: a full stop is added unless one (maybe inside a quote) is there."""
    value = str(text).rstrip()
    return value if not value or ends_sentence(value) else value + "."


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
        return sentence(f"Great work, {first}: {on}the customer gave you {int(stars)}★{quoted}") + " Keep it up!"
    return f"Great work, {first}. Keep it up!"


def prompt_note_draft(*, prompt_kind: str, rule: str, agent: str, evidence: list[Mapping[str, Any]] | None = None,
                      streak: int | None = None) -> str:
    """The suggested note when a leader marks a prompt done: written *to the agent*, never the leader's instruction.

    The leader edits it (or closes the prompt without a note); "" for a team prompt (no agent to write to).
    """
    if prompt_kind == "training" or not agent:
        return ""
    first = _first_name(agent)
    item = (evidence or [None])[0]
    fields = (
        dict(interaction_id=item.get("interaction_id"), stars=item.get("stars"), comment=item.get("comment"))
        if item else {}
    )
    if prompt_kind == "develop":
        return note_draft(kind="criticism", agent=agent, **fields)
    if rule == "star-streak":
        run = streak or len(evidence or [])
        return f"{first}, {run} five-star ratings in a row: whatever you're doing, keep doing it. Thank you!"
    if prompt_kind == "stretch":
        return (f"{first}, thanks for talking about where you want to be a month from now. "
                "You're close to the top: I'm behind you.")
    if prompt_kind == "check-in":
        return sentence(f"Thanks for the chat, {first}" + (f": {_praise_line(item)}" if item else "")) + (
            " Keep it up!" if item else "")
    return note_draft(kind="praise", agent=agent, **fields)


# --- prompt wording: purpose, why now and a suggested opening line for each rule ------------------
# Each takes plain values (names, counts, already shortened quotes) and returns the three texts.


def praise_texts(*, first: str, hidden: bool, interaction_id: str, stars: int, comment: str, channel: str,
                 ago: str, hours_old: float = 0.0, more: int = 0) -> dict[str, str]:
    """``hours_old``: the rating's age ("just wrote" only within ``JUST_HOURS``); ``more``: other new praise merged in."""
    where = f"1:1 ({first} keeps off the wall)" if hidden else "in public"
    also = f" (and {more} more new rating{'s' if more > 1 else ''} with praise)" if more else ""
    wrote = "just wrote" if hours_old <= JUST_HOURS else f"wrote {ago}"
    said = sentence(f"'{comment}'")
    return {
        "purpose": sentence(f"Praise {first} {where} for {interaction_id}{also}: {stars}★, '{comment}'"),
        "why_now": f"New {stars}★ with a comment, {ago}; praise lands best the same day.",
        "opening": f"{first}, a customer {wrote} about your {channel} ({interaction_id}): "
        f"{said} That is exactly the service we want. Thank you!",
    }


def low_rating_texts(*, first: str, focus: str | None, comment: str, interaction_id: str, stars: int, ago: str,
                     more: int, best_line: str | None) -> dict[str, str]:
    """``more``: how many other new low ratings share the focus; ``best_line``: ``_praise_line`` of their best."""
    if focus:
        topic = f"'{focus}'"
    elif comment:
        topic = f"what the customer said ('{comment}')"
    else:
        topic = "what happened on that contact"
    if best_line is not None:
        opening = (
            f"{first}, before we start: {sentence(best_line)} That was really good work. "
            f"Now, can we look at {interaction_id} together?"
        )
    else:
        opening = f"Thanks for making time, {first}. Can we look at {interaction_id} together? What do you think went well?"
    also = f" (and {more} more new low rating{'s' if more > 1 else ''} on it)" if more else ""
    return {
        "purpose": sentence(f"1:1 with {first} on one thing: {topic}, from {interaction_id} ({stars}★){also}"),
        "why_now": f"{stars}★ {ago}; a specific, recent contact makes the best coaching. Start with the positive.",
        "opening": opening,
    }


def ratio_texts(*, first: str, praise: int, criticism: int, ratio_label: str, target_label: str,
                best_line: str | None) -> dict[str, str]:
    opening = (
        f"{first}, I want to start with something: {sentence(best_line)} That's you at your best."
        if best_line is not None
        else f"{first}, I want to start with what's going well for you this week."
    )
    return {
        "purpose": f"Praise {first} first: {praise} praise to {criticism} criticism this week "
        f"({ratio_label}), target {target_label}.",
        "why_now": "Below the praise-to-criticism target this week: great agents who hear only criticism leave.",
        "opening": opening,
    }


def repeat_tag_texts(*, first: str, tag: str, count: int, agent_total: int, team_count: int, team_total: int,
                     days: str, ago: str, best_line: str | None) -> dict[str, str]:
    lead_in = f"{first}, first: {sentence(best_line)} Great work. " if best_line is not None else f"{first}, "
    return {
        "purpose": f"Focused 1:1 with {first} on '{tag}': {count} of {agent_total} ratings in {days} "
        f"({_pct(count, agent_total)}) vs the team's {team_count} of {team_total} ({_pct(team_count, team_total)}).",
        "why_now": f"'{tag}' came up {count} times in {days}, last {ago}.",
        "opening": lead_in + f"I noticed '{tag}' came up in a few ratings lately. Can we look at one together?",
    }


def training_texts(*, team: str, tag: str, agents: int, ratings: int, days: str, names: str) -> dict[str, str]:
    return {
        "purpose": f"Group session for {team} on '{tag}': {agents} agents, {ratings} ratings in {days}.",
        "why_now": f"Several agents ({names}) struggle with the same thing: that is a training topic, "
        "not an individual failing.",
        "opening": f"Quick huddle: customers have mentioned '{tag}' across the team lately. "
        "Let's share what works. Who has a good example?",
    }


def stretch_texts(*, first: str, rank: int, ranked: int, team: str, period: str, score: float, third_score: float,
                  top: int) -> dict[str, str]:
    return {
        "purpose": f"Stretch conversation with {first} (GROW: goal, reality, options, will): "
        f"#{rank} of {ranked} on {team} ({period}), score {score:.2f} vs {third_score:.2f} for #{top}.",
        "why_now": f"Top quartile but not top {top}: the above-average agents closest to the top "
        "gain the most from coaching.",
        "opening": f"{first}, you're #{rank} of {ranked} on the team, close to the top {top}. "
        "Where would you like to be a month from now?",
    }


def streak_texts(*, first: str, hidden: bool, length: int, ago: str) -> dict[str, str]:
    where = "1:1" if hidden else "in public"
    return {
        "purpose": f"Praise {first}'s streak {where}: {length} five-star ratings in a row.",
        "why_now": f"The latest came {ago}; a streak deserves to be noticed while it's running.",
        "opening": f"{first}, that's {length} five-star ratings in a row. Whatever you're doing, "
        "keep doing it. Thank you!",
    }


def checkin_texts(*, first: str, days_since: int | None, after_days: float, best_line: str | None) -> dict[str, str]:
    """``days_since``: whole days since the last note (None: never coached)."""
    since = f"no coaching note for {days_since} days" if days_since is not None else "no coaching note yet"
    opening = f"How is your week going, {first}? What went well, and what's getting in your way?"
    if best_line is not None:
        opening += " " + sentence(f"I saw that {best_line}")
    return {
        "purpose": f"Check in with {first}: {since}.",
        "why_now": f"Coach everyone: {after_days:g}+ days without a note.",
        "opening": opening,
    }
