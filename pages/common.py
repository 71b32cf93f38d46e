"""What every page shares: the engine, first-run demo data, cached loaders, table layouts.

The only module with ``st.cache_*``: the domain (``leaderboard/``, ``db/``) stays
free of Streamlit. Nothing here touches the database at import time.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from datetime import date, datetime, timedelta, timezone

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db import queries
from db.engine import DatabaseUnavailable, make_engine
from db.migrate import DatabaseNewerError
from db.retry import DatabaseBusy
from leaderboard import board as boards
from leaderboard import charts, ranking
from leaderboard.periods import ALIASES, PERIODS, Period, local_date
from leaderboard.settings import Settings, SettingsError, get_settings
from leaderboard.text import markdown_text

APP_PATH = Path(__file__).resolve().parent.parent / "app.py"

# Query results are recomputed at least this often even when the data version
# has not moved ("today" rolls over; an edit in place keeps the version).
DATA_TTL_SECONDS = 60
FILTER_TTL_SECONDS = 300

PERIOD_CHOICES = (*PERIODS, "custom")
PERIOD_LABELS = {**PERIODS, "custom": "Custom range"}


# --------------------------------------------------------------------------- engine and first run


def _cannot_start(problem: str) -> None:
    """A bad setting or a database from a newer release: one line instead of a traceback."""
    st.error(f"Starboard cannot start: {problem}", icon=":material/error:")
    st.stop()


def app_settings() -> Settings:
    """The settings; a bad value ends the run with one line naming the variable."""
    try:
        return get_settings()
    except SettingsError as exc:
        _cannot_start(str(exc))
        raise  # not reached in a script run: st.stop() ends it


def database_url() -> str:
    """The database this server talks to (``DATABASE_URL``, else data/starboard.db)."""
    return app_settings().database_url


@st.cache_resource(show_spinner=False, on_release=lambda engine: engine.dispose())
def _engine_for(url: str) -> Engine:
    return make_engine(url)


def get_engine() -> Engine:
    """One engine (and connection pool) per database URL per server process, upgraded on first use."""
    try:
        return _engine_for(database_url())
    except (DatabaseNewerError, DatabaseUnavailable) as exc:
        # Not cached: the next run tries again, so the app recovers by itself when the database is back.
        _cannot_start(str(exc))
        raise
    except DatabaseBusy as exc:
        st.warning(f"{str(exc).capitalize()}.", icon=":material/hourglass_top:")
        st.stop()
        raise


@dataclass
class _SeedGuard:
    lock: threading.Lock = field(default_factory=threading.Lock)
    populated: bool = False


@st.cache_resource(show_spinner=False)
def _seed_guard(url: str) -> _SeedGuard:
    # One per database and process: two first visitors must not seed twice.
    return _SeedGuard()


def ensure_demo_data() -> bool:
    """Seed demo data into an empty database (when ``STARBOARD_AUTO_SEED`` allows); True if it did.

    Cheap after the first call: the answer "this database has data" is remembered.
    """
    settings = app_settings()
    if not settings.auto_seed:
        return False
    guard = _seed_guard(settings.database_url)
    if guard.populated:
        return False
    from db import seed

    engine = get_engine()
    with guard.lock:
        if guard.populated:
            return False
        seeded = False
        if seed.is_empty(engine):
            with st.spinner("First run: building a demo contact center so there is something to look at…"):
                seeded = bool(seed.ensure_seeded(engine))
        guard.populated = True
    if seeded:
        clear_data_caches()
    return seeded


def leave_pages_folder_mode() -> None:
    """Run app.py around this page when Streamlit ran the page straight from the pages/ folder.

    On a fresh server whose first request names a page (/leaderboard, /wall: a
    bookmark after a restart), Streamlit 1.67 runs pages/<name>.py as an
    old-style folder page, without app.py: no page config, a menu of file names
    (common, app…), and it stays so until some session opens "/". (AppTest does
    the same on every run.) Running app.py here, in the same script run, gives
    the page its frame and menu; its st.navigation picks this same page (same
    url_path) and runs it, and widget clicks of this run are not lost, as they
    would be with st.rerun().
    """
    from streamlit.runtime.pages_manager import PagesManager

    if not PagesManager.uses_pages_directory:
        return
    import runpy

    runpy.run_path(str(APP_PATH), run_name="__main__")
    st.stop()


def guard_page() -> None:
    """First lines of every page: come in through app.py, and have data to show."""
    leave_pages_folder_mode()
    ensure_demo_data()


def data_version() -> tuple:
    """A cheap fingerprint of the data (max ids and counts), part of every cache key."""
    with Session(get_engine()) as session:
        return tuple(queries.data_version(session=session))


def clear_data_caches() -> None:
    """Forget cached query results (after an import or a seed in this process)."""
    load_filter_options.clear()
    load_leaderboard.clear()
    load_counts.clear()


# --------------------------------------------------------------------------- cached loaders


@dataclass(frozen=True)
class FilterOptions:
    sites: tuple[str, ...]
    teams: dict[str, tuple[str, ...]]  # site ("" for every site) -> team names

    def teams_for(self, site: str | None) -> tuple[str, ...]:
        return self.teams.get(site or "", ())


@st.cache_data(ttl=FILTER_TTL_SECONDS, max_entries=16, show_spinner=False)
def load_filter_options(url: str, version: tuple) -> FilterOptions:
    with Session(get_engine()) as session:
        sites = tuple(queries.site_names(session=session))
        teams = {"": tuple(queries.team_names(session=session))}
        for site in sites:
            teams[site] = tuple(queries.team_names(session=session, site=site))
    return FilterOptions(sites=sites, teams=teams)


@st.cache_data(ttl=FILTER_TTL_SECONDS, max_entries=16, show_spinner=False)
def load_counts(url: str, version: tuple) -> dict[str, int]:
    with Session(get_engine()) as session:
        return {"agents": queries.count_agents(session=session), "ratings": int(version[1])}


@dataclass(frozen=True)
class LeaderboardView:
    """Everything the leaderboard page shows, computed once per filters and data version."""

    board: boards.Board
    settings: Settings
    today: date
    totals: dict
    previous_totals: dict | None
    trend_days: tuple[date, ...]
    sparks: dict[int, list]
    daily: pd.DataFrame  # day, avg_stars, ratings over trend_days, every agent in scope
    distribution: pd.DataFrame  # stars, ratings

    @property
    def has_previous(self) -> bool:
        return self.board.period.previous() is not None

    @property
    def ranked(self) -> pd.DataFrame:
        return self.board.agents[self.board.agents["rank"].notna()]

    @property
    def provisional(self) -> pd.DataFrame:
        return self.board.agents[self.board.agents["rank"].isna()]


def _totals(agents: pd.DataFrame, *, settings: Settings, prior: float) -> dict:
    """Scope-wide measures: the same formulas as one agent's, over everyone's sums."""
    columns = [c for c in ranking.SUM_COLUMNS if c in agents]
    sums = agents[columns].sum().to_frame().T if len(agents) else pd.DataFrame({c: [0] for c in columns})
    row = ranking.add_measures(sums, prior_weight=settings.prior_weight, prior=prior).iloc[0]
    return {k: row[k] for k in ("ratings", "avg_stars", "five_star_pct", "response_rate", "fcr_pct", "nps")}


def _daily(trend: pd.DataFrame, days: list[date]) -> pd.DataFrame:
    """Per-day scope average from per-agent daily means (weighted by their ratings)."""
    frame = pd.DataFrame({"day": days})
    if trend.empty:
        return frame.assign(avg_stars=float("nan"), ratings=0)
    weighted = trend.assign(star_sum=trend["avg_stars"] * trend["ratings"])
    per_day = weighted.groupby("day", as_index=False).agg(star_sum=("star_sum", "sum"), ratings=("ratings", "sum"))
    per_day["avg_stars"] = per_day["star_sum"] / per_day["ratings"]
    out = frame.merge(per_day[["day", "avg_stars", "ratings"]], on="day", how="left")
    out["ratings"] = out["ratings"].fillna(0).astype("int64")
    return out


@st.cache_data(ttl=DATA_TTL_SECONDS, max_entries=64, show_spinner="Ranking…")
def load_leaderboard(
    url: str, version: tuple, settings: Settings, period: str, site: str | None, team: str | None
) -> LeaderboardView:
    """The board for ``period`` (a name or START..END) in a site/team; raises ScopeError/PeriodError."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    with Session(get_engine()) as session:
        board = boards.build_board(session=session, period=period, site=site, team=team, settings=settings, now=now)
        today = local_date(now, board.period.tz)
        previous_totals = None
        previous = board.period.previous()
        if previous is not None:
            before = boards.build_board(
                session=session, period=previous, scope=board.scope, settings=settings, with_movement=False
            )
            if not before.empty:
                previous_totals = _totals(before.agents, settings=settings, prior=before.prior)
        days = charts.trend_days(board.period, today)
        window = Period("trend", board.period.tz, days[0], days[-1] + timedelta(days=1))
        trend = boards.daily_trend(session=session, scope=board.scope, period=window)
        distribution = boards.star_distribution(session=session, scope=board.scope, period=board.period)
    return LeaderboardView(
        board=board,
        settings=settings,
        today=today,
        totals=_totals(board.agents, settings=settings, prior=board.prior),
        previous_totals=previous_totals,
        trend_days=tuple(days),
        sparks=boards.sparklines(trend, days),
        daily=_daily(trend, days),
        distribution=distribution,
    )


# --------------------------------------------------------------------------- filters in the URL

# URL parameter -> widget key. The URL is the source of truth for a bookmark;
# the widgets are the source of truth once the user touches them.
FILTER_KEYS = {"period": "lb_period", "from": "lb_from", "to": "lb_to", "site": "lb_site", "team": "lb_team"}
_URL_SEEN = "lb_url"  # the filters as last written to the URL (a UI choice, per tab)
DEFAULT_PERIOD = "week"
CUSTOM_DEFAULT_DAYS = 14


def _url_filters() -> dict[str, str | None]:
    return {name: (st.query_params.get(name) or "").strip() or None for name in FILTER_KEYS}


def _parse_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _match(value: str | None, choices) -> str | None:
    """The choice equal to ``value`` ignoring case, or None."""
    if not value:
        return None
    wanted = value.casefold()
    return next((c for c in choices if c.casefold() == wanted), None)


def restore_filters(options: FilterOptions, *, today: date) -> list[str]:
    """Set the filter widgets from the URL when it changed from outside (first load, bookmark, back button).

    Returns Markdown-safe sentences about URL values that match nothing; those
    fall back to the defaults instead of failing.
    """
    state = st.session_state
    in_url = _url_filters()
    seen = state.get(_URL_SEEN)
    # Widgets forget their values when the user visits another page; restore them then too.
    widgets_alive = all(FILTER_KEYS[name] in state for name in ("period", "site", "team"))
    if seen is not None and in_url == seen and widgets_alive:
        return []
    problems: list[str] = []
    source = in_url
    if seen is not None and not any(in_url.values()):
        # Back from another page (the menu drops the query): keep this tab's filters.
        source = seen

    period = (source["period"] or DEFAULT_PERIOD).lower()
    period = ALIASES.get(period, period)
    first, last = _parse_day(source["from"]), _parse_day(source["to"])
    if ".." in period:  # ?period=2026-11-01..2026-11-15, the command line's spelling
        head, _, tail = period.partition("..")
        first, last, period = _parse_day(head), _parse_day(tail), "custom"
    if period not in PERIOD_CHOICES:
        problems.append(f"There is no period called “{md(source['period'])}”; showing {PERIODS[DEFAULT_PERIOD].lower()}.")
        period = DEFAULT_PERIOD
    if period == "custom":
        for name, value, parsed in (("from", source["from"], first), ("to", source["to"], last)):
            if value and parsed is None and ".." not in (source["period"] or ""):
                problems.append(f"“{md(value)}” is not a date (use YYYY-MM-DD) for “{name}”.")
    first = first or today - timedelta(days=CUSTOM_DEFAULT_DAYS - 1)
    last = last or today

    site = _match(source["site"], options.sites)
    if source["site"] and site is None:
        known = ", ".join(md(s) for s in options.sites) or "none yet"
        problems.append(f"There is no site called “{md(source['site'])}” (sites: {known}); showing every site.")
    team = _match(source["team"], options.teams_for(site))
    if source["team"] and team is None:
        where = f" at {md(site)}" if site else ""
        problems.append(f"There is no team called “{md(source['team'])}”{where}; showing every team.")

    state[FILTER_KEYS["period"]] = period
    state[FILTER_KEYS["from"]] = first
    state[FILTER_KEYS["to"]] = last
    state[FILTER_KEYS["site"]] = site or ""
    state[FILTER_KEYS["team"]] = team or ""
    return problems


def publish_filters(*, period: str, first: date | None, last: date | None, site: str, team: str) -> None:
    """Write the filters to the URL (only ours: other parameters such as embed stay)."""
    wanted = {
        "period": period,
        "from": first.isoformat() if period == "custom" and first else None,
        "to": last.isoformat() if period == "custom" and last else None,
        "site": site or None,
        "team": team or None,
    }
    for name, value in wanted.items():
        if value is None:
            if name in st.query_params:
                del st.query_params[name]
        elif st.query_params.get(name) != value:
            st.query_params[name] = value
    st.session_state[_URL_SEEN] = wanted


def default_custom_range(today: date) -> None:
    """Give the From/To pickers the last two weeks when they appear without a value."""
    st.session_state.setdefault(FILTER_KEYS["from"], today - timedelta(days=CUSTOM_DEFAULT_DAYS - 1))
    st.session_state.setdefault(FILTER_KEYS["to"], today)


def clear_team() -> None:
    """on_change of the site filter: another site has other teams."""
    st.session_state[FILTER_KEYS["team"]] = ""


# --------------------------------------------------------------------------- text


# GFM turns bare "http://…", "www.…" and "a@b.c" into links even when every special
# character is an entity (it links the decoded text): an invisible word joiner
# after ":" and "@" and inside "www" keeps them plain text.
_WORD_JOINER = "\u2060"
_AUTOLINK_TRIGGERS = re.compile(r"(:|@|(?i:www))")


def md(value: object) -> str:
    """User text (names, URL values) made inert for st.markdown, captions, warnings and buttons."""
    text = "" if value is None else str(value)
    return markdown_text(_AUTOLINK_TRIGGERS.sub(lambda m: m.group(0) + _WORD_JOINER, text))


_EMPTY_WHEN = {
    "today": "today",
    "week": "this week",
    "month": "this month",
    "last7": "in the last 7 days",
    "last30": "in the last 30 days",
    "all": "",
}


def empty_message(period: Period, scope: queries.Scope) -> str:
    """The sentence shown when a period has no ratings (already Markdown-safe)."""
    who = "" if scope.site is None and scope.team is None else f" for {md(scope.label)}"
    if period.name == "all":
        return (
            f"No ratings yet{who}. Import a CSV export on the **Data** page, "
            "or seed demo data there to look around."
        )
    if period.name in _EMPTY_WHEN:
        return (
            f"No ratings yet {_EMPTY_WHEN[period.name]}{who}. They appear here as soon as customers answer; "
            "meanwhile pick a longer period to see the standings so far."
        )
    return f"No ratings between {period.label}{who}. Try a wider date range."


def period_caption(view: LeaderboardView) -> str:
    """'This week · Mon 23 Nov – Sun 29 Nov · Manila · days in Asia/Manila' (Markdown-safe)."""
    period = view.board.period
    parts = [md(period.label)]
    if period.start is not None and period.end is not None:
        last = period.end - timedelta(days=1)
        if last == period.start:
            parts.append(period.start.strftime("%a %d %b %Y"))
        else:
            parts.append(f"{period.start:%a %d %b} – {last:%a %d %b %Y}")
    parts.append(md(view.board.scope.label))
    parts.append(f"days counted in {md(period.tz.key)} time")
    return " · ".join(parts)


# --------------------------------------------------------------------------- tables


def movement_text(value, *, has_previous: bool) -> str:
    return ranking.movement_label(value) if has_previous else ""


def ranked_frame(view: LeaderboardView) -> pd.DataFrame:
    """The ranked agents, one row each, with the columns ``AGENT_COLUMNS`` configures."""
    table = view.ranked
    return pd.DataFrame(
        {
            "rank": table["rank"].astype("Int64"),
            "movement": [movement_text(m, has_previous=view.has_previous) for m in table["movement"]],
            "agent": table["agent"].astype(str),
            "team": table["team"].astype(str),
            "site": table["site"].astype(str),
            "score": table["score"].astype("float64"),
            "avg_stars": table["avg_stars"].astype("float64"),
            "ratings": table["ratings"].astype("int64"),
            "five_star_pct": table["five_star_pct"].astype("float64"),
            "response_rate": table["response_rate"].astype("float64"),
            "fcr_pct": table["fcr_pct"].astype("float64"),
            "nps": table["nps"].astype("float64"),
            "trend": [_spark(view.sparks.get(int(a))) for a in table["agent_id"]],
        }
    ).reset_index(drop=True)


def movement_colour(label: str) -> str:
    """CSS for a movement cell: green up, red down, quiet otherwise."""
    if label.startswith("▲"):
        return "color: #3DD68C; font-weight: 600"
    if label.startswith("▼"):
        return "color: #FF6B6B; font-weight: 600"
    return "color: #8A96AA"


def styled_ranking(frame: pd.DataFrame):
    """The ranked frame with coloured movement arrows (a Styler; column_config still formats numbers)."""
    return frame.style.map(movement_colour, subset=["movement"])


def _spark(points: list | None) -> list[float]:
    # Days without ratings are left out: a gap would otherwise break the line.
    return [float(p) for p in (points or []) if p is not None]


def provisional_frame(view: LeaderboardView) -> pd.DataFrame:
    table = view.provisional
    need = view.settings.min_ratings
    return pd.DataFrame(
        {
            "agent": table["agent"].astype(str),
            "team": table["team"].astype(str),
            "site": table["site"].astype(str),
            "ratings": table["ratings"].astype("int64"),
            "to_go": (need - table["ratings"]).clip(lower=0).astype("int64"),
            "avg_stars": table["avg_stars"].astype("float64"),
            "response_rate": table["response_rate"].astype("float64"),
            "fcr_pct": table["fcr_pct"].astype("float64"),
        }
    ).reset_index(drop=True)


def team_frame(view: LeaderboardView) -> pd.DataFrame:
    teams = view.board.teams
    if teams.empty:
        return pd.DataFrame(columns=["rank", "team", "site", "agents", "ratings", "score", "avg_stars", "fcr_pct", "nps"])
    return pd.DataFrame(
        {
            "rank": teams["rank"].astype("Int64"),
            "team": teams["team"].astype(str),
            "site": teams["site"].astype(str),
            "agents": teams["agents"].astype("int64"),
            "ratings": teams["ratings"].astype("int64"),
            "score": teams["score"].astype("float64"),
            "avg_stars": teams["avg_stars"].astype("float64"),
            "response_rate": teams["response_rate"].astype("float64"),
            "fcr_pct": teams["fcr_pct"].astype("float64"),
            "nps": teams["nps"].astype("float64"),
        }
    ).reset_index(drop=True)


def export_csv(view: LeaderboardView) -> bytes:
    """Exactly the public columns of ``rank --format csv``, ranked agents then provisional ones."""
    import io

    from leaderboard.commands.common import write_rows

    out = io.StringIO()
    # The same writer as `python -m leaderboard rank --format csv`: byte for byte the same file.
    write_rows(boards.public_rows(view.board.agents), ranking.RANK_COLUMNS, "csv", out=out)
    return out.getvalue().encode("utf-8")


def export_name(view: LeaderboardView) -> str:
    period = view.board.period
    stamp = period.name if period.start is None else f"{period.start:%Y%m%d}-{period.end - timedelta(days=1):%Y%m%d}"
    scope = view.board.scope
    where = "-".join(p for p in (scope.site, scope.team) if p) or "everyone"
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in where)
    return f"starboard-{safe}-{stamp}.csv"


def table_height(rows: int, *, row_height: int = 35, max_rows: int = 25) -> int:
    """Pixels for a dataframe that shows ``rows`` rows without scrolling (up to ``max_rows``)."""
    return row_height * (min(max(rows, 1), max_rows) + 1) + 3


def agent_columns(settings: Settings, *, days: int) -> dict:
    m = f"{settings.prior_weight:g}"
    return {
        "rank": st.column_config.NumberColumn("#", format="%d", width=44, help="Rank by fair score; ties share a rank"),
        "movement": st.column_config.TextColumn(
            "Move", width=64, help="Places gained ▲ or lost ▼ since the previous period of the same length"
        ),
        "agent": st.column_config.TextColumn("Agent", width="medium"),
        "team": st.column_config.TextColumn("Team", width="small"),
        "site": st.column_config.TextColumn("Site", width="small"),
        "score": st.column_config.ProgressColumn(
            "Fair score",
            min_value=1.0,
            max_value=5.0,
            format="%.2f",
            width="medium",
            help=f"(n·avg + m·C) ÷ (n + m), m = {m}: every agent starts with {m} ratings at the period's average C, "
            "so a few lucky 5★ cannot outrank a long run of great ratings",
        ),
        "avg_stars": st.column_config.NumberColumn("Avg ★", format="%.2f", width=70),
        "ratings": st.column_config.NumberColumn("Ratings", format="%d", width=72),
        "five_star_pct": st.column_config.NumberColumn("5★", format="%.0f%%", width=60, help="Share of 5★ ratings"),
        "response_rate": st.column_config.NumberColumn(
            "Response", format="%.0f%%", width=80, help="Rated ÷ closed interactions"
        ),
        "fcr_pct": st.column_config.NumberColumn(
            "FCR", format="%.0f%%", width=60, help="First-contact resolution: 'resolved' answered yes"
        ),
        "nps": st.column_config.NumberColumn("NPS", format="%+.0f", width=60, help="% promoters (9–10) − % detractors (0–6)"),
        "trend": st.column_config.LineChartColumn(
            f"Daily avg ★ ({days} d)", y_min=1, y_max=5, width="medium", help="Average stars per day with ratings"
        ),
        "to_go": st.column_config.NumberColumn("Needs", format="%d more", width=90, help="Ratings still needed to be ranked"),
        "agents": st.column_config.NumberColumn("Agents", format="%d", width=70),
    }


def team_columns(settings: Settings) -> dict:
    config = agent_columns(settings, days=0)
    config["team"] = st.column_config.TextColumn("Team", width="medium")
    config["score"] = st.column_config.ProgressColumn(
        "Fair score", min_value=1.0, max_value=5.0, format="%.2f", width="medium",
        help="The same fair rule as for agents, over the team's ratings",
    )
    return config


# --------------------------------------------------------------------------- metrics


def fmt_number(value, pattern: str) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    return pattern.format(value)


def delta(now, before, pattern: str) -> dict:
    """st.metric keyword arguments for the change since the previous period (nothing when unknown).

    A change that rounds to zero is shown grey without an arrow, not as a red "-0.00".
    """
    if before is None or now is None:
        return {}
    if any(isinstance(v, float) and v != v for v in (now, before)):
        return {}
    text = pattern.format(now - before)
    if not any(ch in "123456789" for ch in text):
        return {"delta": text.lstrip("+-"), "delta_color": "off", "delta_arrow": "off"}
    return {"delta": text}


__all__ = [
    "FilterOptions",
    "LeaderboardView",
    "PERIOD_CHOICES",
    "PERIOD_LABELS",
    "agent_columns",
    "clear_data_caches",
    "data_version",
    "database_url",
    "empty_message",
    "ensure_demo_data",
    "export_csv",
    "export_name",
    "get_engine",
    "load_counts",
    "load_filter_options",
    "load_leaderboard",
    "md",
    "period_caption",
    "provisional_frame",
    "ranked_frame",
    "team_columns",
    "team_frame",
]


# --------------------------------------------------------------------------- import


def import_upload(*, engine: Engine, data: bytes, filename: str):
    """Import the bytes of an uploaded canonical CSV through ``db.ingest.import_csv``.

    The upload goes to a temporary file of the same name (so row errors name the
    user's file) and is removed afterwards.
    """
    import os
    import tempfile
    from pathlib import Path

    from db.ingest import import_csv

    safe_name = Path(filename).name or "upload.csv"
    with tempfile.TemporaryDirectory(prefix="starboard-upload-") as folder:
        path = Path(folder) / safe_name
        path.write_bytes(data)
        try:
            return import_csv(engine=engine, path=path)
        finally:
            os.remove(path)


def errors_frame(report) -> pd.DataFrame:
    """The rejected rows of an import report: line, column, value, reason."""
    return pd.DataFrame(
        [{"line": e.line, "column": e.column, "value": e.value, "reason": e.reason} for e in report.errors],
        columns=["line", "column", "value", "reason"],
    )


def redacted_url(url: str) -> str:
    """A database URL fit to show: no password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 — a malformed URL is shown as its scheme only
        return url.split(":", 1)[0]


def human_size(size: int) -> str:
    for unit in ("bytes", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:.1f} MB"


# --------------------------------------------------------------------------- import through a mapping (Data page)


@dataclass(frozen=True)
class UploadHeader:
    """The first look at an upload: its header and how it reads, or why it cannot be read."""

    header: tuple[str, ...] = ()
    source: str = ""
    canonical: bool = False
    fatal: str | None = None


@dataclass(frozen=True)
class DryRun:
    """An upload parsed without writing: the first rows as they will land, and every problem."""

    read: int = 0
    valid: int = 0
    rejected: int = 0
    skipped: int = 0
    fatal: str | None = None
    preview: pd.DataFrame = field(default_factory=pd.DataFrame)
    errors: pd.DataFrame = field(default_factory=pd.DataFrame)
    rejects_csv: str = ""


def _with_upload_file(data: bytes, filename: str, work):
    """Run ``work(path)`` on the upload saved under its own name (so messages name the user's file)."""
    import tempfile

    safe_name = Path(filename).name or "upload.csv"
    with tempfile.TemporaryDirectory(prefix="starboard-upload-") as folder:
        path = Path(folder) / safe_name
        path.write_bytes(data)
        return work(path)


@st.cache_data(max_entries=4, ttl=900, show_spinner="Reading the file…")
def upload_header(data: bytes, filename: str) -> UploadHeader:
    from db.ingest import FileProblem
    from db.mapping import is_canonical, read_header

    def work(path: Path) -> UploadHeader:
        try:
            header, source = read_header(path)
        except FileProblem as exc:
            return UploadHeader(fatal=f"{path.name}: {exc}")
        return UploadHeader(header=tuple(header), source=source, canonical=is_canonical(header))

    return _with_upload_file(data, filename, work)


@st.cache_data(max_entries=4, ttl=900, show_spinner="Checking every row (nothing is written yet)…")
def dry_run_upload(data: bytes, filename: str, mapping_toml: str | None) -> DryRun:
    """Parse the whole upload through the mapping (None: canonical columns) without writing anything."""
    import io

    from db.ingest import ALL_COLUMNS, FileProblem, ImportReport, RejectedRows, import_file
    from db.mapping import MappingError, parse_mapping, preview

    mapping = parse_mapping(mapping_toml, name="the mapping") if mapping_toml else None

    def work(path: Path) -> DryRun:
        try:
            rows, _ = preview(path, mapping, limit=20)
        except (FileProblem, MappingError) as exc:
            return DryRun(fatal=str(exc) if isinstance(exc, MappingError) else f"{path.name}: {exc}")
        out = io.StringIO()
        report: ImportReport = import_file(engine=None, path=path, mapping=mapping, dry_run=True, rejects=RejectedRows(out))
        return DryRun(
            read=report.read,
            valid=report.valid,
            rejected=report.rejected,
            skipped=report.skipped,
            fatal=report.fatal,
            preview=pd.DataFrame(rows, columns=list(ALL_COLUMNS)),
            errors=errors_frame(report),
            rejects_csv=out.getvalue() if report.rejected else "",
        )

    return _with_upload_file(data, filename, work)


def import_mapped_upload(*, engine: Engine, data: bytes, filename: str, mapping_toml: str | None, progress=None):
    """Import an upload through a mapping (None: canonical columns); returns (report, rejected rows as CSV)."""
    import io

    from db.ingest import RejectedRows, import_file
    from db.mapping import parse_mapping

    mapping = parse_mapping(mapping_toml, name="the mapping") if mapping_toml else None
    out = io.StringIO()

    def work(path: Path):
        return import_file(engine=engine, path=path, mapping=mapping, progress=progress, rejects=RejectedRows(out))

    report = _with_upload_file(data, filename, work)
    return report, out.getvalue() if report.rejected else ""


def saved_mapping_text(header: tuple[str, ...]) -> str | None:
    """The mapping saved for files with this header (AppMeta), if any."""
    from db.mapping import saved_mapping

    with Session(get_engine()) as session:
        return saved_mapping(session=session, header=list(header))


def save_upload_mapping(header: tuple[str, ...], mapping) -> None:
    from db.mapping import save_mapping

    with Session(get_engine()) as session:
        save_mapping(session=session, header=list(header), mapping=mapping)
