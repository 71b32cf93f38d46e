"""The agent's own page, assembled: standings, the next step up, trend, feedback, badges, coaching, me vs team.

No Streamlit here: ``pages/my_page.py`` calls :func:`my_summary` (cached per
agent and data version) and renders what comes back.

Privacy is decided here, once. Everything private (comments, tags, low
ratings, coaching notes, badge reasons) is read through :func:`own_viewer`,
a viewer that may see exactly one agent: the signed-in person's own. Other
agents appear only as public leaderboard figures (name, rank, score, ratings,
movement) in :attr:`Standing.nearby` and :attr:`Standing.next_name`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pandas as pd
from sqlmodel import Session

from db import queries
from db.coaching_queries import NOTE_HISTORY_ROW, note_history_rows
from db.me_queries import agent_home
from db.models import Agent, utcnow
from db.queries import Scope
from leaderboard import badges, ranking
from leaderboard.auth import Viewer
from leaderboard.board import Board, build_board, daily_trend
from leaderboard.periods import Period, local_date, resolve_period, zone
from leaderboard.settings import Settings, get_settings

# The periods the page shows side by side, and the scopes ranked in each.
PERIOD_NAMES = ("today", "week", "month")
SCOPES = ("team", "site")
# Days the stars trend covers (ending today, local).
TREND_DAYS = 14
# Rows of the feedback stream and of the coaching history.
FEEDBACK_LIMIT = 200
NOTES_LIMIT = 100
# Latest praise quoted at the top of the page.
PRAISE_QUOTES = 3
# Agents shown above and below the viewer in "around you".
NEARBY = 2

# me vs my team: (key, label, value format, difference format); higher is better for each.
MEASURES = (
    ("avg_stars", "Average ★", "{:.2f}", "{:+.2f}"),
    ("five_star_pct", "5★ share", "{:.0f}%", "{:+.0f} pts"),
    ("fcr_pct", "FCR", "{:.0f}%", "{:+.0f} pts"),
    ("nps", "NPS", "{:+.0f}", "{:+.0f}"),
    ("response_rate", "Response rate", "{:.0f}%", "{:+.0f} pts"),
)
NEARBY_COLUMNS = ("rank", "agent", "score", "avg_stars", "ratings", "movement", "me")
FEEDBACK_COLUMNS = (
    "rated_at",
    "stars",
    "stars_label",
    "channel",
    "contact_reason",
    "comment",
    "went_well",
    "to_improve",
    "resolved",
    "nps",
    "interaction_id",
    "excluded",
)
NOTE_COLUMNS = ("created_at", "kind", "visibility", "author", "text", "interaction_id")
# One emoji per badge of the default catalogue, for screens (a badge added in the settings gets 🎖️).
BADGE_ICONS = {
    "creative": "🎨",
    "empowering": "💡",
    "nimble": "🤸",
    "trustful": "🤝",
    "empathetic": "💛",
    "responsive": "⚡",
    "first_five_star": "⭐",
    "streak_10": "🔥",
    "ratings_100": "💯",
    "ratings_500": "🏅",
    "weekly_top": "🏆",
    "most_improved": "📈",
    "perfect_week": "🌟",
    "fcr_champion": "🎯",
    "recovery_hero": "🛟",
}


def badge_icon(code: str) -> str:
    return BADGE_ICONS.get(code, "🎖️")


class MeError(LookupError):
    """The viewer has no agent of their own (or it no longer exists)."""


@dataclass(frozen=True)
class Standing:
    """Where the agent stands on one board (a period in their team or on their site's floor).

    ``nearby`` holds public leaderboard figures only (NEARBY_COLUMNS): the
    ranked agents around the viewer, ``me`` marking their own row.
    """

    period: str
    period_label: str
    scope: str  # "team" or "site"
    where: str  # the team's or the site's name
    rank: int | None
    ranked: int  # agents ranked on this board
    movement: int | None  # places gained since the previous period (None: not ranked both times)
    score: float | None
    avg_stars: float | None
    ratings: int
    star_sum: int
    provisional: bool
    to_be_ranked: int  # more ratings needed to be ranked (0 when ranked)
    next_name: str | None = None  # the next agent up (public name)
    next_rank: int | None = None
    next_score: float | None = None
    to_pass: int | None = None  # more 5★ ratings that lift the agent past next_name
    lead: float | None = None  # fair-score margin over the runner-up when #1
    runner_up: str | None = None
    nearby: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(NEARBY_COLUMNS)))

    @property
    def is_ranked(self) -> bool:
        return self.rank is not None

    @property
    def movement_label(self) -> str:
        return ranking.movement_label(self.movement) if self.is_ranked else ""


@dataclass(frozen=True)
class MySummary:
    agent_id: int
    agent: str
    display_name: str
    team: str
    site: str
    timezone: str
    now: datetime  # naive UTC
    today: date  # local
    min_ratings: int
    standings: dict[tuple[str, str], Standing]  # (period, scope) -> Standing
    compare: dict[str, pd.DataFrame]  # period -> measure, label, fmt, me, team, diff
    trend: pd.DataFrame  # day, mine, my_ratings, team, team_ratings
    feedback: pd.DataFrame  # FEEDBACK_COLUMNS, newest first (the agent's own)
    praise: list[dict]  # latest praise with a comment: stars, comment, channel, rated_at
    awards: pd.DataFrame  # badges.list_awards columns, newest first (the agent's own); awarded_at local
    collection: list[dict]  # every active badge: code, name, kind, description, criteria, times, last_at (local)
    progress: list[dict]  # badges.progress rows
    next_badge: dict | None  # the automatic badge closest to being earned
    notes: pd.DataFrame  # NOTE_COLUMNS, newest first
    notes_this_week: dict = field(default_factory=dict)  # praise, criticism

    @property
    def updated_local(self) -> datetime:
        """``now`` on the wall clock of the agent's site (naive)."""
        return self.now.replace(tzinfo=timezone.utc).astimezone(zone(self.timezone)).replace(tzinfo=None)

    def standing(self, period: str, scope: str) -> Standing:
        return self.standings[(period, scope)]

    @property
    def badges_earned(self) -> int:
        return sum(1 for b in self.collection if b["times"])


def own_viewer(viewer: Viewer) -> Viewer:
    """A viewer that sees exactly the signed-in person's own agent, whatever their role.

    A team leader who is also an agent reads their own page as that agent,
    never with their team's reach.
    """
    if viewer.agent_id is None:
        raise MeError("this account is not linked to an agent")
    return Viewer(
        role="agent",
        user_id=viewer.user_id,
        username=viewer.username,
        display_name=viewer.display_name,
        agent_id=viewer.agent_id,
    )


# --------------------------------------------------------------------------- standings


def _number(value) -> float | None:
    if value is None or value is pd.NA:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _int_or_none(value) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def standing_on(board: Board, *, agent_id: int, scope: str, settings: Settings) -> Standing:
    """The agent's place on ``board``: rank, movement, and what it takes to pass the next agent up."""
    agents = board.agents
    where = (board.scope.team if scope == "team" else board.scope.site) or "Everyone"
    ranked = agents[agents["rank"].notna()].reset_index(drop=True)
    mine = agents[agents["agent_id"] == agent_id]
    common = {
        "period": board.period.name,
        "period_label": board.period.label,
        "scope": scope,
        "where": where,
        "ranked": len(ranked),
    }
    if mine.empty:
        return Standing(
            **common, rank=None, movement=None, score=None, avg_stars=None, ratings=0, star_sum=0,
            provisional=True, to_be_ranked=settings.min_ratings,
        )
    me = mine.iloc[0]
    ratings = int(me["ratings"])
    rank = _int_or_none(me["rank"])
    base = dict(
        **common,
        rank=rank,
        movement=_int_or_none(me.get("movement")) if rank is not None else None,
        score=_number(me["score"]) if ratings else None,
        avg_stars=_number(me["avg_stars"]),
        ratings=ratings,
        star_sum=int(me["star_sum"]),
        provisional=rank is None,
        to_be_ranked=max(0, settings.min_ratings - ratings),
    )
    if rank is None:
        return Standing(**base)
    position = int(ranked.index[ranked["agent_id"] == agent_id][0])
    extra: dict = {}
    above = ranked[ranked["rank"] < rank]
    if len(above):
        target = above.iloc[-1]
        extra.update(
            next_name=str(target["agent"]),
            next_rank=int(target["rank"]),
            next_score=float(target["score"]),
            to_pass=ranking.ratings_to_pass(
                n=ratings,
                star_sum=int(me["star_sum"]),
                target_score=float(target["score"]),
                prior_weight=settings.prior_weight,
                prior=board.prior,
            ),
        )
    elif position + 1 < len(ranked):
        runner = ranked.iloc[position + 1]
        extra.update(lead=float(me["score"]) - float(runner["score"]), runner_up=str(runner["agent"]))
    window = ranked.iloc[max(0, position - NEARBY) : position + NEARBY + 1]
    has_previous = board.period.previous() is not None
    nearby = pd.DataFrame(
        {
            "rank": window["rank"].astype("Int64"),
            "agent": window["agent"].astype(str),
            "score": window["score"].astype("float64"),
            "avg_stars": window["avg_stars"].astype("float64"),
            "ratings": window["ratings"].astype("int64"),
            "movement": [ranking.movement_label(m) if has_previous else "" for m in window["movement"]],
            "me": (window["agent_id"] == agent_id).to_numpy(),
        }
    ).reset_index(drop=True)
    return Standing(**base, **extra, nearby=nearby)


# --------------------------------------------------------------------------- me vs my team


def team_figures(agents: pd.DataFrame, *, settings: Settings, prior: float) -> dict:
    """The team's measures over everyone's sums (the same formulas as one agent's)."""
    columns = [c for c in ranking.SUM_COLUMNS if c in agents]
    sums = agents[columns].sum().to_frame().T if len(agents) else pd.DataFrame({c: [0] for c in columns})
    row = ranking.add_measures(sums, prior_weight=settings.prior_weight, prior=prior).iloc[0]
    return {key: _number(row[key]) for key, *_ in MEASURES} | {"ratings": int(row["ratings"])}


def compare_frame(board: Board, *, agent_id: int, settings: Settings) -> pd.DataFrame:
    """measure, label, fmt, diff_fmt, me, team, diff for one period of the team board (and a Ratings row)."""
    team = team_figures(board.agents, settings=settings, prior=board.prior)
    mine = board.agents[board.agents["agent_id"] == agent_id]
    me = mine.iloc[0] if len(mine) else None
    rows = []
    for key, label, fmt, diff_fmt in MEASURES:
        mine_value = _number(me[key]) if me is not None else None
        team_value = team[key]
        diff = None if mine_value is None or team_value is None else mine_value - team_value
        rows.append(
            {"measure": key, "label": label, "fmt": fmt, "diff_fmt": diff_fmt,
             "me": mine_value, "team": team_value, "diff": diff}
        )
    rows.append(
        {"measure": "ratings", "label": "Ratings", "fmt": "{:,.0f}", "diff_fmt": "",
         "me": float(me["ratings"]) if me is not None else 0.0, "team": float(team["ratings"]), "diff": None}
    )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- trend


def trend_frame(trend: pd.DataFrame, *, agent_id: int, days: list[date]) -> pd.DataFrame:
    """day, mine, my_ratings, team, team_ratings: the agent's daily mean vs the team's (weighted)."""
    frame = pd.DataFrame({"day": days})
    if trend.empty:
        return frame.assign(mine=float("nan"), my_ratings=0, team=float("nan"), team_ratings=0)
    mine = trend[trend["agent_id"] == agent_id][["day", "avg_stars", "ratings"]].rename(
        columns={"avg_stars": "mine", "ratings": "my_ratings"}
    )
    weighted = trend.assign(star_sum=trend["avg_stars"] * trend["ratings"])
    team = weighted.groupby("day", as_index=False).agg(star_sum=("star_sum", "sum"), team_ratings=("ratings", "sum"))
    team["team"] = team["star_sum"] / team["team_ratings"]
    out = frame.merge(mine, on="day", how="left").merge(team[["day", "team", "team_ratings"]], on="day", how="left")
    out["my_ratings"] = out["my_ratings"].fillna(0).astype("int64")
    out["team_ratings"] = out["team_ratings"].fillna(0).astype("int64")
    out["mine"] = out["mine"].astype("float64")
    out["team"] = out["team"].astype("float64")
    return out[["day", "mine", "my_ratings", "team", "team_ratings"]]


# --------------------------------------------------------------------------- private reads (own only)


def _local(series: pd.Series, tz: ZoneInfo) -> pd.Series:
    """Naive UTC datetimes as naive local wall-clock times of ``tz``."""
    if series.empty:
        return pd.Series(pd.array([], dtype="datetime64[us]"), index=series.index)
    values = pd.to_datetime(series).astype("datetime64[us]")
    return values.dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None)


def stars_label(stars: int) -> str:
    stars = max(0, min(5, int(stars)))
    return "★" * stars + "☆" * (5 - stars)


def feedback_frame(*, session: Session, own: Viewer, tz: ZoneInfo, limit: int = FEEDBACK_LIMIT) -> pd.DataFrame:
    """The agent's own ratings, newest first (FEEDBACK_COLUMNS); comments are customer text."""
    rows = queries.feedback(session=session, viewer=own, agent_id=own.agent_id, limit=limit)
    if rows.empty:
        return pd.DataFrame(columns=list(FEEDBACK_COLUMNS))
    return pd.DataFrame(
        {
            "rated_at": _local(rows["rated_at"], tz),
            "stars": rows["stars"].astype("int64"),
            "stars_label": [stars_label(s) for s in rows["stars"]],
            "channel": rows["channel"].fillna("").astype(str),
            "contact_reason": rows["contact_reason"].fillna("").astype(str),
            "comment": rows["comment"].fillna("").astype(str),
            "went_well": [list(t) for t in rows["went_well"]],
            "to_improve": [list(t) for t in rows["to_improve"]],
            "resolved": rows["resolved"].astype("boolean"),
            "nps": pd.array(rows["nps"], dtype="Int64"),
            "interaction_id": rows["interaction_id"].astype(str),
            "excluded": rows["excluded_cause"].notna(),
        }
    ).reset_index(drop=True)


def latest_praise(feedback: pd.DataFrame, *, limit: int = PRAISE_QUOTES) -> list[dict]:
    """The newest 4–5★ ratings with a comment (not excluded): stars, comment, channel, rated_at."""
    if feedback.empty:
        return []
    good = feedback[(feedback["stars"] >= 4) & ~feedback["excluded"] & (feedback["comment"].str.strip() != "")]
    good = good.sort_values(["stars", "rated_at"], ascending=[False, False]).head(limit)
    good = good.sort_values("rated_at", ascending=False)
    return [
        {"stars": int(r["stars"]), "comment": r["comment"].strip(), "channel": r["channel"],
         "rated_at": r["rated_at"].to_pydatetime() if hasattr(r["rated_at"], "to_pydatetime") else r["rated_at"]}
        for r in good.to_dict("records")
    ]


def coaching_notes(*, session: Session, own: Viewer, tz: ZoneInfo, limit: int = NOTES_LIMIT) -> pd.DataFrame:
    """Notes the agent received, public and 1:1 (it is their own history), newest first: NOTE_COLUMNS."""
    # The leader's note history filtered to this agent: the same visibility (their own detail) and columns.
    rows = note_history_rows(session=session, viewer=own, agent_id=own.agent_id, limit=limit)
    if not rows:
        return pd.DataFrame(columns=list(NOTE_COLUMNS))
    raw = pd.DataFrame(rows, columns=list(NOTE_HISTORY_ROW))
    return pd.DataFrame(
        {
            "created_at": _local(raw["created_at"], tz),
            "kind": raw["kind"].astype(str),
            "visibility": raw["visibility"].map({"public": "public", "private": "1:1"}).fillna(raw["visibility"]),
            "author": [d or u or "—" for d, u in zip(raw["display"], raw["username"])],
            "text": raw["text"].fillna("").astype(str),
            "interaction_id": raw["iid"].fillna("").astype(str),
        }
    )


def badge_collection(*, session: Session, awards: pd.DataFrame) -> list[dict]:
    """Every active badge of the catalogue with how often (and when last) the agent earned it."""
    times = awards.groupby("badge_code").size().to_dict() if len(awards) else {}
    last = awards.groupby("badge_code")["awarded_at"].max().to_dict() if len(awards) else {}
    out = []
    for badge in badges.catalogue(session=session):
        code = badge["code"]
        when = last.get(code)
        out.append(
            {
                **{k: badge[k] for k in ("code", "name", "kind", "description", "criteria", "repeatable")},
                "times": int(times.get(code, 0)),
                "last_at": pd.Timestamp(when).to_pydatetime() if when is not None and not pd.isna(when) else None,
            }
        )
    return out


def next_badge(progress: list[dict]) -> dict | None:
    """The automatic badge closest to being earned: the highest fraction below 1 (ties: catalogue order)."""
    open_ = [p for p in progress if p.get("fraction") is not None and p["fraction"] < 1]
    if not open_:
        return None
    return max(open_, key=lambda p: p["fraction"])


# --------------------------------------------------------------------------- everything


def _agent_scopes(session: Session, agent_id: int) -> tuple[Agent, Scope, Scope] | None:
    row = agent_home(session=session, agent_id=agent_id)
    if row is None:
        return None
    agent, team, site = row
    team_scope = Scope(site_id=site.id, team_id=team.id, site=site.name, team=team.name, timezone=site.timezone)
    site_scope = Scope(site_id=site.id, site=site.name, timezone=site.timezone)
    return agent, team_scope, site_scope


def my_summary(
    *, session: Session, viewer: Viewer, now: datetime | None = None, settings: Settings | None = None
) -> MySummary:
    """Everything the agent's own page shows, for ``viewer.agent_id`` only.

    Raises :class:`MeError` when the viewer has no agent. ``now`` is naive UTC;
    "today", "this week" and "this month" are in the agent's site time zone.
    """
    own = own_viewer(viewer)
    now = now or utcnow()
    settings = settings or get_settings()
    found = _agent_scopes(session, own.agent_id)
    if found is None:
        raise MeError("the agent linked to this account no longer exists")
    agent, team_scope, site_scope = found
    tz = zone(team_scope.timezone)
    today = local_date(now, tz)

    standings: dict[tuple[str, str], Standing] = {}
    compare: dict[str, pd.DataFrame] = {}
    for name in PERIOD_NAMES:
        period = resolve_period(name, tz=tz, now=now)
        for scope_name, scope in (("team", team_scope), ("site", site_scope)):
            board = build_board(session=session, period=period, scope=scope, settings=settings, now=now)
            standings[(name, scope_name)] = standing_on(board, agent_id=agent.id, scope=scope_name, settings=settings)
            if scope_name == "team":
                compare[name] = compare_frame(board, agent_id=agent.id, settings=settings)

    days = [today - timedelta(days=TREND_DAYS - 1 - i) for i in range(TREND_DAYS)]
    window = Period("trend", tz, days[0], today + timedelta(days=1))
    trend = trend_frame(daily_trend(session=session, scope=team_scope, period=window), agent_id=agent.id, days=days)

    feedback = feedback_frame(session=session, own=own, tz=tz)
    awards = badges.agent_badges(session=session, viewer=own, agent_id=agent.id)
    if len(awards):
        awards = awards.assign(awarded_at=_local(awards["awarded_at"], tz))
    progress = badges.progress(session=session, agent_id=agent.id, now=now, settings=settings)
    notes = coaching_notes(session=session, own=own, tz=tz)
    week_start = resolve_period("week", tz=tz, now=now).start
    local_week_start = pd.Timestamp(datetime.combine(week_start, datetime.min.time()))
    this_week = notes[notes["created_at"] >= local_week_start] if len(notes) else notes
    return MySummary(
        agent_id=int(agent.id),
        agent=agent.name,
        display_name=agent.display_name,
        team=team_scope.team or "",
        site=team_scope.site or "",
        timezone=tz.key,
        now=now,
        today=today,
        min_ratings=settings.min_ratings,
        standings=standings,
        compare=compare,
        trend=trend,
        feedback=feedback,
        praise=latest_praise(feedback),
        awards=awards,
        collection=badge_collection(session=session, awards=awards),
        progress=progress,
        next_badge=next_badge(progress),
        notes=notes,
        notes_this_week={
            "praise": int((this_week["kind"] == "praise").sum()) if len(this_week) else 0,
            "criticism": int((this_week["kind"] == "criticism").sum()) if len(this_week) else 0,
        },
    )


def first_name(summary: MySummary) -> str:
    parts = summary.agent.split()
    return parts[0] if parts else summary.agent


__all__ = [
    "BADGE_ICONS",
    "badge_icon",
    "FEEDBACK_COLUMNS",
    "MEASURES",
    "MeError",
    "MySummary",
    "NOTE_COLUMNS",
    "PERIOD_NAMES",
    "Standing",
    "compare_frame",
    "first_name",
    "my_summary",
    "next_badge",
    "own_viewer",
    "standing_on",
    "stars_label",
    "team_figures",
    "trend_frame",
]
