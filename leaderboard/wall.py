"""What the wall display shows: praise only, public figures only.

Motivate in public, develop face-to-face. Everything the wall renders comes
out of ``wall_data`` as plain dicts holding only public fields: ranks inside
the top N, public names ("Maria S.", or in full with STARBOARD_PUBLIC_NAMES=full),
4–5★ praise with its comment, badges and team standings. Hidden agents (``hide_from_wall``), provisional agents, low
ratings, tags and coaching notes never get into it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qs

from sqlmodel import Session

from db import queries
from db.models import utcnow
from db.queries import Scope
from leaderboard.board import build_board
from leaderboard.names import public_name
from leaderboard.periods import resolve_period, zone
from leaderboard.settings import Settings, get_settings

PANELS = ("today", "week", "shoutouts", "badges", "teams")
PANEL_TITLES = {
    "today": "Today's stars",
    "week": "This week's stars",
    "shoutouts": "Shout-outs",
    "badges": "Badges this week",
    "teams": "Team standings",
}


@dataclass(frozen=True)
class WallConfig:
    """The wall's URL parameters, validated: a TV must never show an error for a typo."""

    site: str | None = None
    team: str | None = None
    tz: str | None = None
    rotate: int = 15
    refresh: int = 2  # a rating shows within 3 s at p95 (bench/ingest_bench.py)
    top: int = 10
    panel: str | None = None  # pin one panel instead of rotating
    problems: tuple[str, ...] = ()

    @classmethod
    def from_params(cls, params: dict[str, str]) -> "WallConfig":
        problems: list[str] = []

        def number(name: str, default: int, low: int, high: int) -> int:
            raw = str(params.get(name, "") or "").strip()
            if not raw:
                return default
            try:
                value = int(float(raw))
            except ValueError:
                problems.append(f"{name}={raw!r} is not a number; using {default}")
                return default
            return min(max(value, low), high)

        tz = (params.get("tz") or "").strip() or None
        if tz:
            try:
                zone(tz)
            except ValueError:
                problems.append(f"unknown time zone {tz!r}; using UTC")
                tz = None
        panel = (params.get("panel") or "").strip().lower() or None
        if panel and panel not in PANELS:
            problems.append(f"unknown panel {panel!r}; rotating")
            panel = None
        return cls(
            panel=panel,
            site=(params.get("site") or "").strip() or None,
            team=(params.get("team") or "").strip() or None,
            tz=tz,
            rotate=number("rotate", 15, 3, 600),
            refresh=number("refresh", 2, 1, 300),
            top=number("top", 10, 1, 25),
            problems=tuple(problems),
        )

    @classmethod
    def from_query_string(cls, query: str) -> "WallConfig":
        return cls.from_params({k: v[-1] for k, v in parse_qs(query.lstrip("?")).items()})


@dataclass(frozen=True)
class WallData:
    scope_label: str
    generated_at: datetime
    timezone: str | None = None  # the scope's own zone (None: several sites, UTC)
    today: list[dict] = field(default_factory=list)
    week: list[dict] = field(default_factory=list)
    shoutouts: list[dict] = field(default_factory=list)
    badges: list[dict] = field(default_factory=list)
    teams: list[dict] = field(default_factory=list)
    ratings_today: int = 0
    latest_rating_id: int = 0
    latest_award_id: int = 0

    def panels(self) -> list[str]:
        """Panels with something to show, in rotation order."""
        return [name for name in PANELS if getattr(self, name)]


def _top_rows(board_agents, *, top: int, style: str) -> list[dict]:
    """Public rows of the top N ranked agents, hidden agents skipped.

    Ranks stay the ranks of the real leaderboard so the wall and an agent's own
    page always agree; nothing below rank N is ever shown.
    """
    ranked = board_agents[board_agents["rank"].notna() & (board_agents["rank"] <= top)]
    rows = []
    for rec in ranked.to_dict("records"):
        if rec.get("hide_from_wall"):
            continue
        rows.append(
            {
                "rank": int(rec["rank"]),
                "agent": public_name(rec["agent"], style),
                "team": rec["team"],
                "score": round(float(rec["score"]), 2),
                "avg_stars": round(float(rec["avg_stars"]), 2),
                "ratings": int(rec["ratings"]),
                "movement": None if rec.get("movement") is None or str(rec.get("movement")) == "<NA>" else int(rec["movement"]),
            }
        )
    return rows


def _team_rows(teams, *, top: int) -> list[dict]:
    ranked = teams[teams["rank"].notna()].head(top)
    return [
        {
            "rank": int(r["rank"]),
            "team": r["team"],
            "site": r["site"],
            "score": round(float(r["score"]), 2),
            "avg_stars": round(float(r["avg_stars"]), 2),
            "ratings": int(r["ratings"]),
        }
        for r in ranked.to_dict("records")
    ]


def _one_per_agent(items: list[dict], *, limit: int) -> list[dict]:
    """The newest praise for as many different agents as possible: spread the applause."""
    seen: set[str] = set()
    chosen = []
    for item in items:
        if item["agent"] in seen:
            continue
        seen.add(item["agent"])
        chosen.append(item)
        if len(chosen) == limit:
            break
    return chosen


def _named(items: list[dict], *, style: str) -> list[dict]:
    """``items`` with each full ``agent`` name replaced by its public name."""
    return [{**item, "agent": public_name(item["agent"], style)} for item in items]


def wall_data(
    *,
    session: Session,
    config: WallConfig,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> WallData:
    """Everything the wall shows for its scope; raises ScopeError for an unknown site or team."""
    settings = settings or get_settings()
    style = settings.public_name_style
    now = now or utcnow()
    scope = queries.resolve_scope(session=session, site=config.site, team=config.team)
    tz = zone(scope.timezone or config.tz)
    today = resolve_period("today", tz=tz, now=now)
    week = resolve_period("week", tz=tz, now=now)
    today_board = build_board(session=session, scope=scope, period=today, settings=settings, with_movement=False)
    week_board = build_board(session=session, scope=scope, period=week, settings=settings, with_movement=True)
    week_start, _ = week.utc_bounds()
    latest_rating, latest_award = queries.latest_ids(session=session)
    return WallData(
        scope_label=scope.label,
        generated_at=now,
        timezone=scope.timezone or config.tz,
        today=_top_rows(today_board.agents, top=config.top, style=style),
        week=_top_rows(week_board.agents, top=config.top, style=style),
        # One per agent by full name first: two agents may share a public name ("Ann L.").
        shoutouts=_named(
            _one_per_agent(
                queries.praise_ratings(session=session, scope=scope, limit=40, since=now - timedelta(days=7)), limit=4
            ),
            style=style,
        ),
        badges=_named(queries.public_badge_awards(session=session, scope=scope, since=week_start, limit=12), style=style),
        teams=_team_rows(week_board.teams, top=config.top) if scope.team_id is None else [],
        ratings_today=int(today_board.agents["ratings"].sum()) if len(today_board.agents) else 0,
        latest_rating_id=latest_rating,
        latest_award_id=latest_award,
    )


def celebrations(
    *,
    session: Session,
    config: WallConfig,
    after_rating_id: int,
    after_award_id: int,
    limit: int = 3,
    settings: Settings | None = None,
) -> list[dict]:
    """New 5★ ratings and new badges since the given ids, oldest first (each celebrated once)."""
    style = (settings or get_settings()).public_name_style
    scope = queries.resolve_scope(session=session, site=config.site, team=config.team)
    events = []
    for r in queries.praise_ratings(
        session=session, scope=scope, min_stars=5, with_comment=False, after_id=after_rating_id, limit=limit
    ):
        events.append(
            {"kind": "five_star", "key": f"r{r['id']}", "agent": public_name(r["agent"], style), "text": r["comment"]}
        )
    for a in queries.public_badge_awards(session=session, scope=scope, after_id=after_award_id, limit=limit):
        events.append(
            {"kind": "badge", "key": f"b{a['id']}", "agent": public_name(a["agent"], style), "text": a["badge"]}
        )
    return events[::-1]


def time_ago(then: datetime, now: datetime) -> str:
    """'just now', '5 min ago', '3 h ago', 'yesterday', '4 days ago'."""
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    days = seconds // 86400
    return "yesterday" if days == 1 else f"{days} days ago"


def current_panel(panels: list[str], *, rotate: int, clock: float, pinned: str | None = None) -> str | None:
    """The panel to show now; every wall on the same clock shows the same one."""
    if not panels:
        return None
    if pinned in panels:
        return pinned
    return panels[int(clock // max(1, rotate)) % len(panels)]
