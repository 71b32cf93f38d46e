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
        stop = "" if said and said[-1] in ".!?…" else "."
        return f"Great work, {first}: {on}the customer gave you {int(stars)}★{quoted}{stop} Keep it up!"
    return f"Great work, {first}. Keep it up!"
