"""Automatic badges: :func:`evaluate` awards every one earned and not yet awarded (idempotent).

The candidate frames are pure pandas over the rating history; each reads its
numbers from the badge's definition in ``leaderboard.badge_rules``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from db import badge_store as store
from db import notify_events
from db.models import BadgeAward, utcnow
from leaderboard import ranking
from leaderboard.badge_rules import (
    EVIDENCE_LIMIT,
    FCR_CHAMPION,
    FIRST_FIVE_STAR,
    MOST_IMPROVED,
    PERFECT_WEEK,
    RATINGS_MILESTONES,
    RECOVERY_HERO,
    SPECS,
    STREAK_10,
    TEAM_EXCLUSIVE,
    WEEKLY_TOP,
)
from leaderboard.badges.catalogue import ensure_catalogue
from leaderboard.periods import local_midnight_utc, week_key, zone
from leaderboard.settings import Settings, get_settings


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
    for rule in RATINGS_MILESTONES:
        code, n = rule.code, rule.count
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
    first = frame[frame["stars"] == FIRST_FIVE_STAR.stars].groupby("agent_id").head(1)
    out.append(
        pd.DataFrame(
            {
                "code": FIRST_FIVE_STAR.code,
                "agent_id": first["agent_id"],
                "period_key": "",
                "awarded_at": first["rated_at"],
                "reason": f"First {FIRST_FIVE_STAR.stars}★ rating",
                "evidence": [[pk] for pk in first["interaction_pk"]],
            }
        )
    )
    return pd.concat(out, ignore_index=True)


def _streaks(frame: pd.DataFrame) -> pd.DataFrame:
    """streak_10: each run of >= STREAK_10.length consecutive 5★ ratings, keyed by its first interaction."""
    if frame.empty:
        return _empty_candidates()
    top = frame["stars"] == STREAK_10.stars
    new_run = (top != top.shift()) | (frame["agent_id"] != frame["agent_id"].shift())
    run_id = new_run.cumsum()
    fives = frame[top].assign(run=run_id[top])
    fives["pos"] = fives.groupby("run").cumcount()
    done = fives[fives["pos"] == STREAK_10.length - 1]
    if done.empty:
        return _empty_candidates()
    heads = fives[fives["run"].isin(done["run"]) & (fives["pos"] < STREAK_10.length)]
    evidence = heads.groupby("run")["interaction_pk"].agg(list)
    first_pk = evidence.map(lambda pks: pks[0])
    return pd.DataFrame(
        {
            "code": STREAK_10.code,
            "agent_id": done["agent_id"].to_numpy(),
            "period_key": [f"i{first_pk[r]}" for r in done["run"]],
            "awarded_at": done["rated_at"].to_numpy(),
            "reason": f"{STREAK_10.length} five-star ratings in a row"
            if STREAK_10.stars == 5 else f"{STREAK_10.length} ratings of {STREAK_10.stars}★ in a row",
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


def _period_candidates(
    code: str, frame: pd.DataFrame, winners: pd.DataFrame, *, period: str, order: list[str], reasons: list[str]
) -> pd.DataFrame:
    """Candidates of ``code`` for the (agent, period) rows of ``winners``: keyed by the period, awarded
    at its end, the agent's best ratings of the period (by ``order``, from ``frame``) as evidence."""
    start, end = f"{period}_start", f"{period}_end"
    evidence = _period_evidence(frame, winners, start, order)
    return pd.DataFrame(
        {
            "code": code,
            "agent_id": winners["agent_id"],
            "period_key": [_period_key(period, w) for w in winners[start]],
            "awarded_at": winners[end],
            "reason": reasons,
            "evidence": [evidence[(a, w)] for a, w in zip(winners["agent_id"], winners[start])],
        }
    )


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
        reasons = [
            f"#1 of {t} in {week_key(w.date())} (fair score {s:.2f} on {n} ratings)"
            for t, w, s, n in zip(top["team"], top["week_start"], top["score"], top["ratings"])
        ]
        out.append(_period_candidates(WEEKLY_TOP.code, done, top, period="week", order=["stars"], reasons=reasons))

    previous = ranked[["team_id", "agent_id", "week_start", "score"]].rename(columns={"score": "prev_score"})
    previous["week_start"] = previous["week_start"] + pd.Timedelta(days=7)
    both = ranked.merge(previous, on=["team_id", "agent_id", "week_start"], how="inner")
    both["gain"] = ranking.tie_key(both["score"] - both["prev_score"])
    both = both[both["gain"] > MOST_IMPROVED.min_gain]
    improved = both[both["gain"] == both.groupby(keys)["gain"].transform("max")]
    if len(improved):
        reasons = [
            f"Fair score up {g:+.2f} in {week_key(w.date())} ({p:.2f} → {s:.2f}), the most in {t}"
            for t, w, g, p, s in zip(
                improved["team"],
                improved["week_start"],
                improved["gain"],
                improved["prev_score"],
                improved["score"],
            )
        ]
        out.append(
            _period_candidates(MOST_IMPROVED.code, done, improved, period="week", order=["stars"], reasons=reasons)
        )

    perfect = weeks[(weeks["ratings"] >= PERFECT_WEEK.min_ratings) & (weeks["five_count"] == weeks["ratings"])]
    if len(perfect):
        reasons = [
            f"Every rating 5★ in {week_key(w.date())} ({n} ratings)"
            for w, n in zip(perfect["week_start"], perfect["ratings"])
        ]
        out.append(_period_candidates(PERFECT_WEEK.code, done, perfect, period="week", order=[], reasons=reasons))
    return pd.concat(out, ignore_index=True) if out else _empty_candidates()


def _period_key(period: str, start: pd.Timestamp) -> str:
    """``2026-W47`` for a week, ``2026-11`` for a month."""
    return week_key(start.date()) if period == "week" else start.strftime("%Y-%m")


def _fcr(frame: pd.DataFrame) -> pd.DataFrame:
    """fcr_champion for every completed local period of FCR_CHAMPION.period (week or calendar month)."""
    period = FCR_CHAMPION.period
    start, end = f"{period}_start", f"{period}_end"
    done = frame[frame[f"{period}_done"]]
    if done.empty:
        return _empty_candidates()
    keys = ["team_id", start]
    months = done.groupby(["team_id", "team", start, end, "agent_id"], as_index=False).agg(
        answered=("resolved", "count"), yes=("resolved_yes", "sum")
    )
    months = months[months["answered"] >= FCR_CHAMPION.min_answers].copy()
    months["fcr_pct"] = ranking.tie_key(months["yes"] * 100.0 / months["answered"])
    months = months[months["fcr_pct"] > 0]
    best = months[months["fcr_pct"] == months.groupby(keys)["fcr_pct"].transform("max")]
    if best.empty:
        return _empty_candidates()
    reasons = [
        f"Best first-contact resolution in {t} in {_period_key(period, m)}: {p:.0f}% on {n} answers"
        for t, m, p, n in zip(best["team"], best[start], best["fcr_pct"], best["answered"])
    ]
    return _period_candidates(FCR_CHAMPION.code, done, best, period=period, order=["resolved_yes"], reasons=reasons)


def _recoveries(session: Session, now: datetime) -> pd.DataFrame:
    """recovery_hero: the RECOVERY_HERO.cases-th successful recovery case owned by an agent's account."""
    cases = store.recovery_successes(session=session, min_followup_stars=RECOVERY_HERO.min_followup_stars)
    if cases.empty:
        return _empty_candidates()
    seq = cases.groupby("agent_id").cumcount()
    hit = cases[seq == RECOVERY_HERO.cases - 1]
    evidence = cases[seq < RECOVERY_HERO.cases].groupby("agent_id")["interaction_pk"].agg(list)
    return pd.DataFrame(
        {
            "code": RECOVERY_HERO.code,
            "agent_id": hit["agent_id"],
            "period_key": "",
            "awarded_at": [now if pd.isna(c) else min(c, now) for c in hit["closed_at"]],
            "reason": f"{RECOVERY_HERO.cases} recovery cases resolved with a follow-up of "
            f"{RECOVERY_HERO.min_followup_stars}★ or more",
            "evidence": [evidence[a] for a in hit["agent_id"]],
        }
    )


def _candidates(session: Session, *, now: datetime, settings: Settings, codes: set[str]) -> pd.DataFrame:
    ratings = store.rating_history(session=session, before=now)
    directory = store.agent_teams(session=session)
    parts = []
    if len(ratings):
        frame = _local_frame(ratings, directory, now)
        parts += [_milestones(frame), _streaks(frame), _weekly(frame, settings), _fcr(frame)]
    if RECOVERY_HERO.code in codes:
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
    codes = set(badges) & set(SPECS)
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
        exclusive = {badges[c].id for c in TEAM_EXCLUSIVE if c in badges}
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
            session.flush()
            # Every badge won is announced (public), in the transaction that awards it.
            notify_events.queue_badges(session.connection(), award_ids=[w.id for w in awards], now=now,
                                       settings=settings)
            session.commit()
            return awards
        except IntegrityError:
            # A concurrent evaluation awarded some of these first: look again.
            session.rollback()
            if attempt:
                raise
    return []
