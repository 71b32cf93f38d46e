"""The leaderboard's captions, tables, column layouts and CSV export, from a ``LeaderboardView``."""

from __future__ import annotations

import io
from datetime import timedelta

import pandas as pd
import streamlit as st

from db import queries
from leaderboard import board as boards
from leaderboard import ranking
from leaderboard.auth import Role, Viewer
from leaderboard.commands.common import write_rows
from leaderboard.names import public_names
from leaderboard.periods import Period
from leaderboard.settings import Settings
from pages.common import md
from pages.loaders import LeaderboardView


# --------------------------------------------------------------------------- captions


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


# The dtype of each column the tables show as it comes from the board.
_DTYPES = {
    "rank": "Int64",
    "agent": str,
    "team": str,
    "site": str,
    "agents": "int64",
    "ratings": "int64",
    "score": "float64",
    "avg_stars": "float64",
    "five_star_pct": "float64",
    "response_rate": "float64",
    "fcr_pct": "float64",
    "nps": "float64",
}


def _typed(table: pd.DataFrame, columns: tuple[str, ...]) -> dict[str, pd.Series]:
    """{column: table[column] as its ``_DTYPES`` type}, in the order given (spread into a frame's columns)."""
    return {column: table[column].astype(_DTYPES[column]) for column in columns}


def shown_agents(view: LeaderboardView, viewer: Viewer, *, top: int) -> pd.DataFrame:
    """The board's agent rows this viewer may see, names as they may see them.

    Leaders, managers and admins see every row of the scope under public names.
    An agent sees the top ``top``, their own row and two ranked neighbours each
    side (``ranking.agent_view_rows``): colleagues' weak figures are for 1:1s,
    not for the whole floor. Their own row keeps their full name.
    """
    agents = view.board.agents
    own = viewer.agent_id if viewer.role == Role.AGENT else None
    if viewer.role == Role.AGENT:
        agents = ranking.agent_view_rows(agents, own, top)
    agents = agents.copy()
    names = public_names(agents["agent"], view.settings.public_name_style)
    if own is not None:
        names = [full if agent_id == own else short for full, short, agent_id in zip(agents["agent"], names, agents["agent_id"])]
    agents["agent"] = names
    return agents


def ranked_frame(view: LeaderboardView, agents: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ranked agents (of ``agents``, default the whole board), one row each, with the columns ``AGENT_COLUMNS`` configures."""
    table = view.ranked if agents is None else agents[agents["rank"].notna()]
    return pd.DataFrame(
        {
            **_typed(table, ("rank",)),
            "movement": [movement_text(m, has_previous=view.has_previous) for m in table["movement"]],
            **_typed(
                table,
                ("agent", "team", "site", "score", "avg_stars", "ratings", "five_star_pct", "response_rate", "fcr_pct", "nps"),
            ),
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


def provisional_frame(view: LeaderboardView, agents: pd.DataFrame | None = None) -> pd.DataFrame:
    table = view.provisional if agents is None else agents[agents["rank"].isna()]
    need = view.settings.min_ratings
    return pd.DataFrame(
        {
            **_typed(table, ("agent", "team", "site", "ratings")),
            "to_go": (need - table["ratings"]).clip(lower=0).astype("int64"),
            **_typed(table, ("avg_stars", "response_rate", "fcr_pct")),
        }
    ).reset_index(drop=True)


def team_frame(view: LeaderboardView) -> pd.DataFrame:
    teams = view.board.teams
    if teams.empty:
        return pd.DataFrame(columns=["rank", "team", "site", "agents", "ratings", "score", "avg_stars", "fcr_pct", "nps"])
    columns = ("rank", "team", "site", "agents", "ratings", "score", "avg_stars", "response_rate", "fcr_pct", "nps")
    return pd.DataFrame(_typed(teams, columns)).reset_index(drop=True)


def export_csv(view: LeaderboardView, agents: pd.DataFrame | None = None) -> bytes:
    """Exactly the public columns of ``rank --format csv``, ranked agents then provisional ones.

    ``agents``: the rows the viewer sees (``shown_agents``); default the whole board.
    """
    out = io.StringIO()
    # The same writer as `python -m leaderboard rank --format csv`: byte for byte the same file.
    rows = view.board.agents if agents is None else agents
    write_rows(boards.public_rows(rows), ranking.RANK_COLUMNS, "csv", out=out)
    return out.getvalue().encode("utf-8")


def export_name(view: LeaderboardView) -> str:
    period = view.board.period
    stamp = period.name if period.start is None else f"{period.start:%Y%m%d}-{period.end - timedelta(days=1):%Y%m%d}"
    scope = view.board.scope
    where = "-".join(p for p in (scope.site, scope.team) if p) or "everyone"
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in where)
    return f"starboard-{safe}-{stamp}.csv"


# Column widths in px, chosen so the whole ranking (13 columns, ~950 px) fits the main area of a
# 1440 px screen with the sidebar open, and the longest team name ("Sampaguita", "Kalemegdan")
# and site name ("New York") show in full (tests/test_screens_browser.py checks both).
AGENT_WIDTH = 124
TEAM_WIDTH = 104
SITE_WIDTH = 84
SCORE_WIDTH = 110
TREND_WIDTH = 88


def agent_columns(settings: Settings, *, days: int) -> dict:
    m = f"{settings.prior_weight:g}"
    return {
        "rank": st.column_config.NumberColumn("#", format="%d", width=40, help="Rank by fair score; ties share a rank"),
        "movement": st.column_config.TextColumn(
            "Move", width=56, help=(
                "Places gained ▲ or lost ▼ against the previous period at the same point "
                "(on Tuesday noon: last week up to Tuesday noon); empty when provisional in either"
            ),
        ),
        "agent": st.column_config.TextColumn("Agent", width=AGENT_WIDTH),
        "team": st.column_config.TextColumn("Team", width=TEAM_WIDTH),
        "site": st.column_config.TextColumn("Site", width=SITE_WIDTH),
        "score": st.column_config.ProgressColumn(
            "Fair score",
            min_value=1.0,
            max_value=5.0,
            format="%.2f",
            width=SCORE_WIDTH,
            help=f"(n·avg + m·C) ÷ (n + m), m = {m}: every agent starts with {m} ratings at the period's average C, "
            "so a few lucky 5★ cannot outrank a long run of great ratings",
        ),
        "avg_stars": st.column_config.NumberColumn("Avg ★", format="%.2f", width=60),
        "ratings": st.column_config.NumberColumn("Ratings", format="%d", width=64),
        "five_star_pct": st.column_config.NumberColumn("5★", format="%.0f%%", width=48, help="Share of 5★ ratings"),
        "response_rate": st.column_config.NumberColumn(
            "Response", format="%.0f%%", width=76, help="Rated ÷ closed interactions"
        ),
        "fcr_pct": st.column_config.NumberColumn(
            "FCR", format="%.0f%%", width=52, help="First-contact resolution: 'resolved' answered yes"
        ),
        "nps": st.column_config.NumberColumn("NPS", format="%+.0f", width=52, help="% promoters (9–10) − % detractors (0–6)"),
        "trend": st.column_config.LineChartColumn(
            f"{days}-day ★", y_min=1, y_max=5, width=TREND_WIDTH, help="Average stars per day with ratings"
        ),
        "to_go": st.column_config.NumberColumn("Needs", format="%d more", width=90, help="Ratings still needed to be ranked"),
        "agents": st.column_config.NumberColumn("Agents", format="%d", width=70),
    }


def team_columns(settings: Settings) -> dict:
    config = agent_columns(settings, days=0)
    config["team"] = st.column_config.TextColumn("Team", width=TEAM_WIDTH)
    config["score"] = st.column_config.ProgressColumn(
        "Fair score", min_value=1.0, max_value=5.0, format="%.2f", width=SCORE_WIDTH,
        help="The same fair rule as for agents, over the team's ratings",
    )
    return config


# ---- fair for the contact mix (issue 17)
CASE_MIX_EXPLANATION = (
    "Fair for contact mix: each agent's expected stars if they had handled the whole center's mix of "
    "contact reasons and channels, so a team that takes the hard contacts is not sunk by them. "
    "Agents in the same shaded band cannot be told apart (their 90% ranges overlap the band leader's)."
)


def adjusted_frame(adjusted: pd.DataFrame, shown: pd.DataFrame) -> pd.DataFrame:
    """Ranked rows of the adjusted board that this viewer may see (``shown``'s rows and names)."""
    names = dict(zip(shown["agent_id"], shown["agent"]))
    table = adjusted[adjusted["rank"].notna() & adjusted["agent_id"].isin(names)]
    return pd.DataFrame({
        "rank": table["rank"].astype("Int64"),
        "band": table["band"].astype("Int64"),
        "agent": [names[a] for a in table["agent_id"]],
        "team": table["team"],
        "site": table["site"],
        "adjusted_score": table["adjusted_score"].astype("float64"),
        "band_range": [f"{lo:.2f}–{hi:.2f}" for lo, hi in zip(table["band_low"], table["band_high"])],
        "difficulty": table["difficulty"].astype("float64"),
        "score": table["score"].astype("float64"),
        "avg_stars": table["avg_stars"].astype("float64"),
        "ratings": table["ratings"].astype("int64"),
    }).reset_index(drop=True)


def band_shading(frame: pd.DataFrame):
    """A Styler shading alternate tie bands, so each band reads as one group."""
    def shade(row):
        grey = not pd.isna(row["band"]) and int(row["band"]) % 2 == 0
        return ["background-color: rgba(128, 128, 128, 0.15)" if grey else ""] * len(row)

    return frame.style.apply(shade, axis=1)


def adjusted_columns() -> dict:
    return {
        "rank": st.column_config.NumberColumn("#", format="%d", width=40, help="Rank by the adjusted score"),
        "band": st.column_config.NumberColumn(
            "Band", format="%d", width=52,
            help="Tie band: agents whose 90% ranges overlap the band leader's cannot be told apart",
        ),
        "agent": st.column_config.TextColumn("Agent", width=AGENT_WIDTH),
        "team": st.column_config.TextColumn("Team", width=TEAM_WIDTH),
        "site": st.column_config.TextColumn("Site", width=SITE_WIDTH),
        "adjusted_score": st.column_config.ProgressColumn(
            "Adjusted ★", min_value=1.0, max_value=5.0, format="%.2f", width=SCORE_WIDTH,
            help="Expected stars on the whole center's mix of contact reasons and channels",
        ),
        "band_range": st.column_config.TextColumn("90% range", width=96),
        "difficulty": st.column_config.NumberColumn(
            "Mix difficulty", format="%+.2f ★", width=96,
            help="What an average agent would average on this agent's mix, against the center's: below 0 is a harder mix",
        ),
        "score": st.column_config.NumberColumn("Fair score", format="%.2f", width=72),
        "avg_stars": st.column_config.NumberColumn("Avg ★", format="%.2f", width=60),
        "ratings": st.column_config.NumberColumn("Ratings", format="%d", width=64),
    }
