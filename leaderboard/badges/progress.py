"""The agent's progress toward each automatic badge, from the same definitions evaluation reads."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlmodel import Session

from db import badge_store as store
from db import queries
from db.me_queries import agent_home
from db.models import Badge, utcnow
from leaderboard.badge_rules import (
    FCR_CHAMPION,
    FIRST_FIVE_STAR,
    MOST_IMPROVED,
    PERFECT_WEEK,
    RATINGS_MILESTONES,
    RECOVERY_HERO,
    SPECS,
    STREAK_10,
    WEEKLY_TOP,
)
from leaderboard.badges.catalogue import BadgeError, ensure_catalogue
from leaderboard.board import build_board
from leaderboard.periods import Period, resolve_period, zone
from leaderboard.settings import Settings, get_settings



_AUTO = object()


def _entry(badge: Badge, *, current, target, label: str, times: int, fraction=_AUTO) -> dict:
    """One progress row; ``fraction`` defaults to current / target (None when that means nothing)."""
    spec = SPECS.get(badge.code)
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
    row = agent_home(session=session, agent_id=agent_id)
    if row is None:
        raise BadgeError(f"no agent with id {agent_id}")
    agent, team, site = row
    tz = zone(site.timezone)
    scope = queries.Scope(site_id=site.id, team_id=team.id, site=site.name, team=team.name, timezone=site.timezone)
    earned = store.earned_counts(session=session, agent_id=agent_id)
    history = store.rating_history(session=session, before=now, agent_id=agent_id)
    week = resolve_period("week", tz=tz, now=now)
    fcr_period = resolve_period(FCR_CHAMPION.period, tz=tz, now=now)
    w_start, w_end = week.utc_bounds()
    f_start, f_end = fcr_period.utc_bounds()
    this_week = history[(history["rated_at"] >= w_start) & (history["rated_at"] < w_end)]
    this_fcr = history[(history["rated_at"] >= f_start) & (history["rated_at"] < f_end)]
    stars = history["stars"].tolist()
    run = 0
    for s in reversed(stars):
        if s != STREAK_10.stars:
            break
        run += 1

    milestones = {rule.code: rule.count for rule in RATINGS_MILESTONES}
    out = []
    badges = [b for b in store.all_badges(session=session) if b.kind == "automatic" and b.active]
    for badge in badges:
        code = badge.code
        spec = SPECS.get(code)
        if spec is None:
            continue  # a badge added in the settings without a rule here
        times = earned.get(code, 0)
        if times and not spec.repeatable:
            continue
        if code == FIRST_FIVE_STAR.code:
            out.append(_entry(badge, current=0, target=1, label="0 / 1 five-star ratings", times=times))
        elif code in milestones:
            n, target = len(stars), milestones[code]
            out.append(_entry(badge, current=n, target=target, label=f"{n} / {target} ratings", times=times))
        elif code == STREAK_10.code:
            if run >= STREAK_10.length:
                label = f"streak {run}: earned for this streak"
                out.append(_entry(badge, current=run, target=STREAK_10.length, label=label, times=times, fraction=1.0))
            else:
                label = f"streak {run} / {STREAK_10.length}"
                out.append(_entry(badge, current=run, target=STREAK_10.length, label=label, times=times))
        elif code == WEEKLY_TOP.code:
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
        elif code == MOST_IMPROVED.code:
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
        elif code == PERFECT_WEEK.code:
            n = len(this_week)
            if n and (this_week["stars"] != 5).any():
                label = "a rating below 5★ this week: next chance next week"
                out.append(_entry(badge, current=0, target=PERFECT_WEEK.min_ratings, label=label, times=times,
                                  fraction=0.0))
            else:
                label = f"{n} / {PERFECT_WEEK.min_ratings} ratings this week, all 5★"
                out.append(_entry(badge, current=n, target=PERFECT_WEEK.min_ratings, label=label, times=times))
        elif code == FCR_CHAMPION.code:
            answered = int(this_fcr["resolved"].notna().sum())
            yes = int(this_fcr["resolved"].fillna(False).astype(bool).sum())
            pct = f"FCR {yes * 100 / answered:.0f}% on " if answered else ""
            when = f"this {FCR_CHAMPION.period}"
            if answered >= FCR_CHAMPION.min_answers:
                label = f"{pct}{answered} answers {when} (enough to qualify)"
            else:
                label = f"{pct}{answered} / {FCR_CHAMPION.min_answers} answers {when}"
            out.append(_entry(badge, current=answered, target=FCR_CHAMPION.min_answers, label=label, times=times))
        elif code == RECOVERY_HERO.code:
            cases = 0
            if agent.user_id is not None:
                cases = len(
                    store.recovery_successes(
                        session=session, min_followup_stars=RECOVERY_HERO.min_followup_stars, user_id=agent.user_id
                    )
                )
            label = f"{cases} / {RECOVERY_HERO.cases} recoveries"
            out.append(_entry(badge, current=cases, target=RECOVERY_HERO.cases, label=label, times=times))
    return out
