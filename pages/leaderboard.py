"""Leaderboard: the fair star ranking for a period, site and team.

Filters live in the URL (?period=last30&site=Manila&team=Alpha, and
&from=…&to=… for a custom range) so a view can be bookmarked and shared.
"""

from __future__ import annotations

from datetime import datetime, timezone

import streamlit as st

from db.queries import ScopeError
from leaderboard import charts
from leaderboard.auth import Role
from leaderboard.periods import PeriodError
from leaderboard.settings import get_settings
from leaderboard.wall import WallConfig
from pages import access, common, filters, loaders, nav, ranking_tables
from pages.common import md

# The headline figures beside the ratings count: (label, key, value format, change format, help).
HEADLINE_MEASURES = (
    (
        "Average ★",
        "avg_stars",
        "{:.2f}",
        "{:+.2f}",
        "Mean stars of every rating in the period. Changes under each figure are against the previous period of the same length",
    ),
    ("Response rate", "response_rate", "{:.0f}%", "{:+.1f} pts", "Rated ÷ closed interactions, or ÷ surveys offered where Starboard asked (healthy programs see 30–40%)"),
    (
        "FCR",
        "fcr_pct",
        "{:.0f}%",
        "{:+.1f} pts",
        "First-contact resolution: share of answers to 'was your issue resolved?' that say yes",
    ),
    ("NPS", "nps", "{:+.0f}", "{:+.0f}", "% promoters (9–10) − % detractors (0–6)"),
)

nav.enter()
viewer = access.require_viewer()
settings = get_settings()
url = common.database_url()
version = common.data_version()
options = loaders.load_filter_options(url, version)
keys = filters.FILTER_KEYS

today = datetime.now(timezone.utc).date()
problems = filters.restore_filters(options, today=today)

st.title("Leaderboard")

period_col, site_col, team_col, range_col = st.columns([1.2, 1.2, 1.2, 2.4], vertical_alignment="bottom")
period_name = period_col.selectbox(
    "Period", filters.PERIOD_CHOICES, format_func=filters.PERIOD_LABELS.__getitem__, key=keys["period"]
)
site = site_col.selectbox(
    "Site", ("", *options.sites), format_func=lambda s: s or "All sites", key=keys["site"], on_change=filters.clear_team
)
team = team_col.selectbox(
    "Team", ("", *options.teams_for(site)), format_func=lambda t: t or "All teams", key=keys["team"]
)
first = last = None
period_spec = period_name
if period_name == "custom":
    filters.default_custom_range(today)
    from_col, to_col = range_col.columns(2)
    first = from_col.date_input("From", key=keys["from"], format="YYYY-MM-DD")
    last = to_col.date_input("To", key=keys["to"], format="YYYY-MM-DD")
    if last < first:
        problems.append("“From” is after “To”: showing the days between them anyway.")
        first, last = last, first
    period_spec = f"{first.isoformat()}..{last.isoformat()}"
filters.publish_filters(period=period_name, first=first, last=last, site=site, team=team)

for problem in problems:
    st.warning(problem, icon=":material/travel_explore:")

if not options.sites:
    st.info(
        "There are no agents yet. Import a CSV export or seed demo data on the Data page.",
        icon=":material/inbox:",
    )
    st.page_link("pages/data.py", label="Go to Data", icon=":material/upload_file:")
    st.stop()

try:
    view = loaders.load_leaderboard(url, version, settings, period_spec, site or None, team or None)
except ScopeError as exc:
    st.warning(f"{md(exc)}. Pick a site and a team from the lists above.", icon=":material/travel_explore:")
    st.stop()
except PeriodError as exc:  # 0001-01-01..9999-12-31 from a crafted URL
    st.warning(f"{md(exc)}.", icon=":material/travel_explore:")
    st.stop()

board = view.board
st.caption(ranking_tables.period_caption(view))

if board.empty:
    st.info(ranking_tables.empty_message(board.period, board.scope), icon=":material/hourglass_empty:")
    st.stop()

# ---- headline
now, before = view.totals, view.previous_totals or {}
cols = st.columns(6)
cols[0].metric("Ratings", f"{int(now['ratings']):,}", border=True, help="Ratings given in the period (excluded ones left out)")
for col, (label, key, fmt, delta_fmt, help_text) in zip(cols[1:5], HEADLINE_MEASURES):
    col.metric(
        label,
        common.fmt_number(now[key], fmt),
        **common.delta(now[key], before.get(key), delta_fmt),
        border=True,
        help=help_text,
    )
cols[5].metric(
    "Prior C",
    common.fmt_number(board.prior, "{:.2f} ★"),
    border=True,
    help=(
        f"The period's average that every agent starts from: score = (n·avg + m·C) ÷ (n + m) "
        f"with m = {settings.prior_weight:g}. Fewer than {settings.min_ratings} ratings: provisional."
    ),
)

# ---- ranked agents
# Agents see the wall's top N and their own neighbourhood; everyone else sees the whole scope.
as_agent = viewer.role == Role.AGENT
shown = ranking_tables.shown_agents(view, viewer, top=WallConfig().top)
ranked = ranking_tables.ranked_frame(view, shown)
head_col, download_col = st.columns([4, 1], vertical_alignment="bottom")
head_col.subheader(f"Ranking · {len(view.ranked)} agents")
download_col.download_button(
    "Download CSV",
    # An agent's file holds only the rows they see; everyone else's is `rank --format csv`.
    data=ranking_tables.export_csv(view, shown if as_agent else None),
    file_name=ranking_tables.export_name(view),
    mime="text/csv",
    key="lb_download",
    icon=":material/download:",
    on_click="ignore",
    width="stretch",
)
agent_config = ranking_tables.agent_columns(settings, days=len(view.trend_days))
agent_order = ["rank", "movement", "agent", "team", "site", "score", "avg_stars", "ratings",
               "five_star_pct", "response_rate", "fcr_pct", "nps", "trend"]
if board.scope.site:
    agent_order.remove("site")
if board.scope.team:
    agent_order.remove("team")
if ranked.empty:
    st.info(
        f"Nobody has {settings.min_ratings} ratings in this period yet, so nobody is ranked: "
        "everyone is provisional for now.",
        icon=":material/hourglass_empty:",
    )
else:
    if as_agent:
        st.caption(
            f"The top {WallConfig().top} and the two places either side of you. "
            "Everyone's detail is for 1:1s with their team leader."
        )
if not ranked.empty and settings.case_mix and st.toggle("Fair for contact mix", key="lb_case_mix"):
    adjusted = loaders.load_adjusted(url, version, settings, period_spec, site or None, team or None)
    st.caption(ranking_tables.CASE_MIX_EXPLANATION)
    for note in adjusted.notes:
        st.info(md(note), icon=":material/info:")
    fair_order = ["rank", "band", "agent", "team", "site", "adjusted_score", "band_range", "difficulty",
                  "score", "avg_stars", "ratings"]
    fair_order = [c for c in fair_order if not (c == "site" and board.scope.site) and not (c == "team" and board.scope.team)]
    fair = ranking_tables.adjusted_frame(adjusted.agents, shown)
    st.container(key="lb_adjusted_box").dataframe(
        ranking_tables.band_shading(fair),
        key="lb_adjusted",
        hide_index=True,
        column_order=fair_order,
        column_config=ranking_tables.adjusted_columns(),
        height=common.table_height(len(fair)),
    )
elif not ranked.empty:
    # Keyed containers (class st-key-…) let browser tests find each table.
    st.container(key="lb_ranked_box").dataframe(
        ranking_tables.styled_ranking(ranked),
        key="lb_ranked",
        hide_index=True,
        column_order=agent_order,
        column_config=agent_config,
        height=common.table_height(len(ranked)),
    )

# ---- provisional agents
provisional = ranking_tables.provisional_frame(view, shown)
if len(provisional) or (as_agent and len(view.provisional)):
    st.divider()
    st.subheader(f"Provisional · {len(view.provisional)}")
    st.caption(
        f"Fewer than {settings.min_ratings} ratings: provisional, not ranked. "
        "They join the ranking once they have enough ratings in the period."
    )
    provisional_order = ["agent", "team", "site", "ratings", "to_go", "avg_stars", "response_rate", "fcr_pct"]
    if board.scope.site:
        provisional_order.remove("site")
    if board.scope.team:
        provisional_order.remove("team")
    if as_agent:
        others = len(view.provisional) - len(provisional)
        st.caption(f"{others} colleague{'' if others == 1 else 's'} still building up ratings.")
    if len(provisional):
        st.container(key="lb_provisional_box").dataframe(
            provisional,
            key="lb_provisional",
            hide_index=True,
            column_order=provisional_order,
            column_config=agent_config,
            height=common.table_height(len(provisional), max_rows=10),
        )

# ---- teams and the shape of the ratings
st.divider()
st.subheader("Team standings")
teams = ranking_tables.team_frame(view)
team_order = ["rank", "team", "site", "agents", "ratings", "score", "avg_stars", "response_rate", "fcr_pct", "nps"]
if board.scope.site:
    team_order.remove("site")
st.container(key="lb_teams_box").dataframe(
    teams,
    key="lb_teams",
    hide_index=True,
    column_order=team_order,
    column_config=ranking_tables.team_columns(settings),
    height=common.table_height(len(teams), max_rows=12),
)
daily_col, stars_col = st.columns([3, 2], gap="large")
with daily_col:
    st.subheader(f"Day by day · last {len(view.trend_days)} days")
    st.container(key="lb_daily_box").altair_chart(
        charts.daily_average_chart(view.daily, prior=board.prior), key="lb_daily"
    )
with stars_col:
    st.subheader("Star distribution")
    st.container(key="lb_stars_box").altair_chart(
        charts.star_distribution_chart(view.distribution), key="lb_stars"
    )
