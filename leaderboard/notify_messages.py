"""What a notification says and when it is due (issue 15): pure rules, no database.

A message is the JSON-able dict ``db.notify_store.queue_notification`` takes:
``{"title": str, "lines": [str, ...], "link": str | None, "fields": [[label, value], ...]}``,
raw user text in it (each channel's renderer escapes it). This module decides:

- **who is celebrated** (``is_celebration``): a 5★ rating with a comment, no "to improve" tag,
  by an agent who shows on the wall; public name, stars and the comment, nothing else;
- **the recovery alert** (private): "Paolo R. · 1★ · 'Worst experience…' · case DEMO-038512 ·
  due in 2 h" with a link to the case; the overdue reminder;
- **the daily digest** (private): the day's best and worst interactions, chosen by
  ``pick_best`` / ``pick_worst`` (see there), the ratio against the target, open prompts,
  overdue recovery cases, links (``digest_message``; ``python -m leaderboard digest`` prints
  its e-mail rendering, ``leaderboard.notify_rules.email_parts``, exactly as an e-mail
  destination gets it);
- **the weekly recognition** (public): the week's top N and its badges;
- **when** scheduled messages are due (``digest_due``, ``weekly_due``) and whether an event
  is fresh enough to announce at all (``is_fresh``: an import of last year's ratings
  announces nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from leaderboard.ratio_rules import ratio_label, ratio_status, target_label

# How many of the day's best and worst interactions a digest lists.
DIGEST_PICKS = 3
# The best interactions have at least this many stars; the worst at most this many.
BEST_MIN_STARS = 4
WORST_MAX_STARS = 3
# A celebration needs exactly this many stars.
CELEBRATION_STARS = 5
# Characters of a comment quoted in an alert line, and in a digest.
ALERT_EXCERPT = 40
DIGEST_EXCERPT = 200
# The weekly recognition: Monday (weekday 0) at 09:00 local time, for the week that just ended.
WEEKLY_WEEKDAY = 0
WEEKLY_AT = time(9, 0)


def parse_clock(text: str) -> time:
    """ "17:30" -> 17:30 (ValueError naming the expected form otherwise)."""
    value = (text or "").strip()
    try:
        hours, minutes = value.split(":")
        if len(minutes) != 2 or not hours.isdigit() or not minutes.isdigit():
            raise ValueError
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"{text!r} is not a time of day like 17:30") from None


def excerpt(text: str | None, limit: int) -> str:
    """One line of at most ``limit`` characters ("…" when cut)."""
    flat = " ".join((text or "").split())
    if len(flat) <= limit:
        return flat
    cut = flat[: max(1, limit - 1)]
    if flat[len(cut)] != " " and " " in cut[-15:]:  # end on a whole word when one is near
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:") + "…"


def stars_label(stars: int | float) -> str:
    return f"{int(stars)}★"


def due_label(due: datetime, now: datetime) -> str:
    """ "due in 2 h", "due in 45 min", "overdue by 3 h" (naive UTC times)."""
    minutes = (due - now).total_seconds() / 60
    words = "due in" if minutes >= 0 else "overdue by"
    minutes = abs(minutes)
    if minutes < 60:
        return f"{words} {max(0, round(minutes))} min"
    return f"{words} {round(minutes / 60, 1):g} h"


def local_time(moment_utc: datetime, tz: str | None) -> datetime:
    """A naive UTC instant in a site's zone (naive local)."""
    zone = ZoneInfo(tz or "UTC")
    return moment_utc.replace(tzinfo=timezone.utc).astimezone(zone).replace(tzinfo=None)


def is_fresh(moment: datetime | None, now: datetime, *, max_age_hours: float) -> bool:
    """Whether something that happened at ``moment`` is still news at ``now`` (naive UTC)."""
    return moment is not None and moment >= now - timedelta(hours=max_age_hours)


def case_link(public_url: str, case_id: int) -> str:
    return f"{public_url.rstrip('/')}/recovery?case={int(case_id)}"


def page_link(public_url: str, page: str) -> str:
    return f"{public_url.rstrip('/')}/{page}"


def message(title: str, lines: list[str] | None = None, *, link: str | None = None,
            fields: list[tuple[str, str]] | None = None) -> dict:
    return {"title": title, "lines": list(lines or []), "link": link,
            "fields": [[str(k), str(v)] for k, v in (fields or [])]}


# --------------------------------------------------------------------------- recovery (private)


def recovery_line(*, agent: str, stars: int, comment: str, interaction_id: str, due: datetime, now: datetime) -> str:
    """ "Paolo R. · 1★ · 'Worst experience…' · case DEMO-038512 · due in 2 h"."""
    parts = [agent, stars_label(stars)]
    quoted = excerpt(comment, ALERT_EXCERPT)
    if quoted:
        parts.append(f"'{quoted}'")
    parts += [f"case {interaction_id}", due_label(due, now)]
    return " · ".join(parts)


def recovery_alert(*, agent: str, team: str, stars: int, comment: str, interaction_id: str, case_id: int,
                   due: datetime, now: datetime, tz: str | None, public_url: str) -> dict:
    """The private alert of a case just opened, for the team's leader."""
    return message(
        "Recovery case opened",
        [recovery_line(agent=agent, stars=stars, comment=comment, interaction_id=interaction_id, due=due, now=now)],
        link=case_link(public_url, case_id),
        fields=[("Team", team), ("Due", f"{local_time(due, tz):%Y-%m-%d %H:%M} {tz or 'UTC'}")],
    )


def overdue_reminder(*, agent: str, team: str, stars: int, comment: str, interaction_id: str, case_id: int,
                     due: datetime, now: datetime, tz: str | None, public_url: str) -> dict:
    """The one reminder of a case nobody contacted in time."""
    return message(
        "Recovery case overdue",
        [recovery_line(agent=agent, stars=stars, comment=comment, interaction_id=interaction_id, due=due, now=now)],
        link=case_link(public_url, case_id),
        fields=[("Team", team), ("Was due", f"{local_time(due, tz):%Y-%m-%d %H:%M} {tz or 'UTC'}")],
    )


# --------------------------------------------------------------------------- praise (public)


def is_celebration(*, stars: int | None, comment: str | None, to_improve: tuple | list | set | frozenset,
                   hide_from_wall: bool, active: bool = True) -> bool:
    """Praise only: exactly 5★, a comment, nothing to improve, an agent who shows on the wall."""
    return (
        stars == CELEBRATION_STARS
        and bool((comment or "").strip())
        and not to_improve
        and not hide_from_wall
        and active
    )


def celebration(*, public_name: str, team: str, stars: int, comment: str) -> dict:
    """Public: the agent's public name, the stars and the comment (as text), nothing else."""
    return message(f"{public_name} · {stars_label(stars)}", [" ".join(comment.split())], fields=[("Team", team)])


def badge_won(*, public_name: str, team: str, badge: str, description: str = "") -> dict:
    """Public: who won which badge."""
    lines = [" ".join(description.split())] if description.strip() else []
    return message(f"{public_name} won the {badge} badge", lines, fields=[("Team", team)])


@dataclass(frozen=True)
class TopAgent:
    rank: int
    name: str  # public name
    team: str
    avg_stars: float
    ratings: int


def weekly_recognition(*, site: str, week_start: date, top: list[TopAgent], badges: list[tuple[str, str]]) -> dict:
    """Public: the week's top N (ranked, public names) and the badges won (public name, badge)."""
    end = week_start + timedelta(days=6)
    lines = [f"{a.rank}. {a.name} ({a.team}) · {a.avg_stars:.2f}★ · {a.ratings} ratings" for a in top]
    if not top:
        lines.append("No ranked agents this week.")
    if badges:
        lines.append("Badges: " + "; ".join(f"{name} — {badge}" for name, badge in badges))
    return message(f"Stars of the week at {site}: {week_start:%d %b} – {end:%d %b %Y}", lines)


# --------------------------------------------------------------------------- the daily digest (private)


@dataclass(frozen=True)
class DigestItem:
    interaction_id: str
    agent: str
    stars: int
    comment: str
    rated_at: datetime  # naive UTC
    case_id: int | None = None


def pick_best(items: list[DigestItem], n: int = DIGEST_PICKS) -> list[DigestItem]:
    """The day's best: ratings of at least ``BEST_MIN_STARS``, most stars first, then the longest
    comment (characters, spaces collapsed), then the newest, then the interaction id."""
    chosen = [i for i in items if i.stars >= BEST_MIN_STARS]
    chosen.sort(key=lambda i: (-i.stars, -len(" ".join(i.comment.split())), -i.rated_at.timestamp(),
                               i.interaction_id))
    return chosen[:n]


def pick_worst(items: list[DigestItem], n: int = DIGEST_PICKS) -> list[DigestItem]:
    """The day's worst: ratings of at most ``WORST_MAX_STARS``, fewest stars first, then the newest,
    then the interaction id."""
    chosen = [i for i in items if i.stars <= WORST_MAX_STARS]
    chosen.sort(key=lambda i: (i.stars, -i.rated_at.timestamp(), i.interaction_id))
    return chosen[:n]


@dataclass(frozen=True)
class OverdueCase:
    case_id: int
    interaction_id: str
    agent: str
    stars: int
    due: datetime  # naive UTC


@dataclass(frozen=True)
class Digest:
    """Everything a daily digest says; ``digest_message`` makes the message of it."""

    recipient: str  # the leader's or manager's display name
    scope: str  # "Manila/Bayanihan" (a leader) or "Manila" (a manager)
    day: date
    tz: str
    ratings: int
    avg_stars: float | None
    best: list[DigestItem]
    worst: list[DigestItem]
    praise: int  # coaching notes this week so far (the week of ``day``)
    criticism: int
    target: float
    open_prompts: int
    overdue: list[OverdueCase]
    public_url: str
    at: datetime = field(default_factory=lambda: datetime(1970, 1, 1))  # naive UTC: when it is sent


def _item_line(item: DigestItem, tz: str) -> str:
    parts = [f"{local_time(item.rated_at, tz):%H:%M}", item.agent, stars_label(item.stars)]
    quoted = excerpt(item.comment, DIGEST_EXCERPT)
    if quoted:
        parts.append(f"'{quoted}'")
    parts.append(item.interaction_id)
    return " · ".join(parts)


def _ratio_line(d: Digest) -> str:
    label = ratio_label(d.praise, d.criticism) or "–"
    status = ratio_status(d.praise, d.criticism, d.target)
    return (f"Praise to criticism this week: {d.praise} praise, {d.criticism} criticism, {label} "
            f"({status}; target {target_label(d.target)})")


def digest_sections(d: Digest) -> list[tuple[str, list[str]]]:
    """(heading, lines) in order."""
    avg = "–" if d.avg_stars is None else f"{d.avg_stars:.2f}★"
    sections = [
        ("The day", [f"{d.ratings} ratings, average {avg}"]),
        ("Best", [_item_line(i, d.tz) for i in d.best] or ["No rating of 4★ or more today."]),
        ("Worst", [_item_line(i, d.tz) for i in d.worst] or ["No rating of 3★ or less today."]),
        ("Ratio", [_ratio_line(d)]),
        ("Coaching", [f"Open prompts: {d.open_prompts} — {page_link(d.public_url, 'coaching')}"]),
    ]
    overdue = [f"{c.interaction_id} · {c.agent} · {stars_label(c.stars)} · {due_label(c.due, d.at)} — "
               f"{case_link(d.public_url, c.case_id)}" for c in d.overdue]
    sections.append(("Overdue recovery cases", overdue or ["None."]))
    return sections


def digest_title(d: Digest) -> str:
    return f"Daily digest for {d.scope} — {d.day:%a %d %b %Y}"


def digest_message(d: Digest) -> dict:
    """The queued message: each section's lines under its heading."""
    lines: list[str] = []
    for heading, body in digest_sections(d):
        lines.append(f"{heading}:")
        lines.extend(f"  {line}" for line in body)
    return message(digest_title(d), lines, link=page_link(d.public_url, "recovery"),
                   fields=[("For", d.recipient), ("Overdue cases", str(len(d.overdue)))])


# --------------------------------------------------------------------------- when scheduled messages are due


def digest_due(now: datetime, tz: str | None, at: time) -> date | None:
    """The local day whose digest is due at ``now`` (naive UTC): from ``at`` until local midnight."""
    local = local_time(now, tz)
    return local.date() if local.time() >= at else None


def weekly_due(now: datetime, tz: str | None) -> date | None:
    """The Monday starting the week just ended, on a Monday from 09:00 until local midnight; else None."""
    local = local_time(now, tz)
    if local.weekday() != WEEKLY_WEEKDAY or local.time() < WEEKLY_AT:
        return None
    return local.date() - timedelta(days=7)
