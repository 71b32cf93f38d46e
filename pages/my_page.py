"""My page: the signed-in agent's rank, stars, feedback, badges and coaching, next to their team.

Always the signed-in person's own agent (``viewer.agent_id``): nothing in the
URL picks whose page this is, so a crafted ``?agent=`` changes nothing. Other
agents appear only as public leaderboard figures (name, rank, score). Customer
comments, coaching notes and badge reasons are shown as text (dataframe cells,
``st.text``), never as Markdown. The data comes from ``leaderboard.me``.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st
from sqlmodel import Session

from leaderboard import charts_me
from leaderboard import me
from leaderboard.auth import Viewer
from leaderboard.periods import PERIODS
from leaderboard.settings import Settings, get_settings
from pages import access, common, nav
from pages.common import md

nav.enter()
# Leaders, managers and admins may open /me too: when their account is linked to an agent
# they see that agent's page (their own), otherwise a friendly word below.
viewer = access.require_viewer(roles=("agent", "leader", "manager", "admin"))

SUMMARY_TTL_SECONDS = 60
PERIOD_LABELS = {name: PERIODS[name] for name in me.PERIOD_NAMES}
SINCE = {"today": "vs yesterday", "week": "vs last week", "month": "vs last month"}
FEEDBACK_FILTERS = {
    "all": "All",
    "comments": "With comments",
    "praise": "4–5★",
    "work_on": "1–3★",
}


@st.cache_data(ttl=SUMMARY_TTL_SECONDS, max_entries=128, show_spinner="Gathering your numbers…")
def load_summary(url: str, version: tuple, agent_id: int, user_id: int | None, settings: Settings) -> me.MySummary:
    """One agent's page, per (agent, data version); ``url`` keeps databases apart."""

    own = Viewer(role="agent", user_id=user_id, agent_id=agent_id)
    with Session(common.get_engine()) as session:
        return me.my_summary(session=session, viewer=own, settings=settings)


icon = me.badge_icon


def when_label(moment: datetime | None, today) -> str:
    if moment is None or pd.isna(moment):
        return ""
    day = moment.date()
    if day == today:
        return f"today {moment:%H:%M}"
    if (today - day).days == 1:
        return f"yesterday {moment:%H:%M}"
    return f"{moment:%a %d %b}"


def rank_label(kind: str, standing: me.Standing) -> str:
    """"Team of 10": short, so the big number beside it never gets cut on a laptop screen."""
    return f"{kind} of {standing.ranked}" if standing.ranked else kind


def rank_value(standing: me.Standing) -> str:
    return f"#{standing.rank}" if standing.is_ranked else "–"


def movement_delta(standing: me.Standing) -> dict:
    """st.metric keyword arguments: places gained or lost since the previous period."""
    if not standing.is_ranked:
        if standing.ratings:
            return {"delta": "provisional", "delta_color": "off", "delta_arrow": "off"}
        return {}
    if standing.movement is None:
        return {"delta": "new on the board", "delta_color": "off", "delta_arrow": "off"}
    if standing.movement == 0:
        return {"delta": "no change", "delta_color": "off", "delta_arrow": "off"}
    places = abs(standing.movement)
    sign = "+" if standing.movement > 0 else "-"
    return {"delta": f"{sign}{places} place{'s' if places != 1 else ''}"}


def versus_team(row: dict) -> dict:
    """st.metric keyword arguments: "+0.37 vs 4.63", green when above the team, red below, grey when level."""
    team = fmt(row["team"], row["fmt"])
    if row["diff"] is None or row["diff"] != row["diff"]:
        return {"delta": f"team {team}", "delta_color": "off", "delta_arrow": "off"}
    text = row["diff_fmt"].format(row["diff"])
    if not any(ch in "123456789" for ch in text):
        return {"delta": f"= team {team}", "delta_color": "off", "delta_arrow": "off"}
    return {"delta": f"{text} vs {team}"}


def next_step(standing: me.Standing, *, min_ratings: int) -> str:
    """One Markdown-safe sentence: what lifts the agent on this board."""
    where = md(standing.where)
    if not standing.ratings:
        return f"No ratings yet: your first {min_ratings} put you on the {where} board."
    if not standing.is_ranked:
        n = standing.to_be_ranked
        return f"**{n} more rating{'s' if n != 1 else ''}** and you're ranked in {where}."
    if standing.next_name is not None:
        if standing.to_pass is None:
            return f"Next up: {md(standing.next_name)} (#{standing.next_rank})."
        n = max(1, standing.to_pass)
        return (
            f"**{n} more 5★ rating{'s' if n != 1 else ''}** to pass {md(standing.next_name)} "
            f"(#{standing.next_rank})."
        )
    if standing.runner_up is not None:
        return f"🏆 **Top of {where}**, {standing.lead:.2f} ahead of {md(standing.runner_up)}."
    return f"🏆 **Top of {where}.**"


def fmt(value, pattern: str) -> str:
    return common.fmt_number(value, pattern)


# --------------------------------------------------------------------------- who


if viewer.agent_id is None:
    st.title("My page")
    if viewer.role == "agent":
        st.info(
            "Your account is not linked to an agent yet, so there is nothing to show here. "
            "Ask an admin to link it.",
            icon=":material/link_off:",
        )
    else:
        st.info("My page is for agents; your account is not linked to an agent.", icon=":material/person_off:")
        st.page_link("pages/leaderboard.py", label="Open the leaderboard", icon=":material/leaderboard:")
    st.stop()

settings = get_settings()
try:
    summary = load_summary(common.database_url(), common.data_version(), viewer.agent_id, viewer.user_id, settings)
except me.MeError:
    st.title("My page")
    st.warning("The agent linked to your account no longer exists. Ask an admin to link it again.")
    st.stop()

# --------------------------------------------------------------------------- header

st.title(f"Hi {md(me.first_name(summary))}")
st.caption(
    f"{md(summary.team)} · {md(summary.site)} · updated {summary.updated_local:%H:%M} "
    f"({md(summary.timezone)} time)"
)

# --------------------------------------------------------------------------- where I stand

cards = st.columns(len(me.PERIOD_NAMES), gap="medium")
for column, name in zip(cards, me.PERIOD_NAMES):
    team = summary.standing(name, "team")
    floor = summary.standing(name, "site")
    with column.container(border=True, key=f"me_rank_{name}"):
        st.markdown(f"**{PERIOD_LABELS[name]}** :gray[· places {SINCE[name]}]")
        left, right = st.columns(2)
        left.metric(rank_label("Team", team), rank_value(team), **movement_delta(team),
                    help=f"Your rank among the {team.ranked} ranked agents of {md(team.where)}")
        right.metric(rank_label("Floor", floor), rank_value(floor), **movement_delta(floor),
                     help=f"Your rank among the {floor.ranked} ranked agents at {md(floor.where)}")
        score = fmt(team.score, "{:.2f}") if team.ratings else "–"
        avg = fmt(team.avg_stars, "{:.2f}★") if team.ratings else "–"
        st.caption(
            f"Fair score **{score}** · average {avg} · {team.ratings} rating{'s' if team.ratings != 1 else ''}",
            help=(
                f"Fair score = (n·avg + m·C) ÷ (n + m), m = {settings.prior_weight:g}: every agent starts with "
                f"{settings.prior_weight:g} ratings at the team's average C, so a run of great ratings beats a lucky one."
            ),
        )
        st.markdown(next_step(team, min_ratings=summary.min_ratings))
        if floor.is_ranked and floor.next_name is not None and floor.to_pass is not None:
            n = max(1, floor.to_pass)
            st.caption(f"On the {md(floor.where)} floor: {n} more 5★ to pass {md(floor.next_name)} (#{floor.next_rank}).")
        elif floor.is_ranked and floor.next_name is None:
            st.caption(f"🏆 Top of the whole {md(floor.where)} floor.")

# --------------------------------------------------------------------------- latest praise

if summary.praise:
    st.subheader("What customers said lately")
    quotes = st.columns(len(summary.praise), gap="medium")
    for column, quote in zip(quotes, summary.praise):
        with column.container(border=True):
            st.caption(
                f"{me.stars_label(quote['stars'])} · {md(quote['channel'])} · {when_label(quote['rated_at'], summary.today)}"
            )
            # Customer text: st.text, never Markdown (a comment may hold links, images or HTML).
            st.text(f"“{quote['comment']}”", width="stretch")

# --------------------------------------------------------------------------- me vs my team

head, pick = st.columns([3, 2], vertical_alignment="bottom")
head.subheader("Me vs my team")
period = pick.segmented_control(
    "Period",
    me.PERIOD_NAMES,
    format_func=PERIOD_LABELS.__getitem__,
    default="week",
    required=True,
    key="me_compare_period",
    label_visibility="collapsed",
) or "week"
table = summary.compare[period]
measures = table[table["measure"] != "ratings"]
counts = table[table["measure"] == "ratings"].iloc[0]
grid = st.columns(len(measures))
for column, row in zip(grid, measures.to_dict("records")):
    column.metric(row["label"], fmt(row["me"], row["fmt"]), **versus_team(row), border=True)
st.caption(
    f"{PERIOD_LABELS[period]}: your {fmt(counts['me'], '{:,.0f}')} rating{'' if counts['me'] == 1 else 's'} next to all "
    f"{fmt(counts['team'], '{:,.0f}')} of {md(summary.team)}'s (you included). "
    "FCR: issues resolved first time · NPS: promoters − detractors · response rate: rated ÷ closed contacts."
)

# --------------------------------------------------------------------------- trend and the neighbours

trend_col, nearby_col = st.columns([3, 2], gap="large")
with trend_col:
    st.subheader("My stars, last 14 days")
    if summary.trend["my_ratings"].sum() == 0 and summary.trend["team_ratings"].sum() == 0:
        st.info("No ratings in the last 14 days yet.", icon=":material/hourglass_empty:")
    else:
        st.container(key="me_trend_box").altair_chart(
            charts_me.my_trend_chart(summary.trend, me="You", team=summary.team), key="me_trend"
        )
with nearby_col:
    team_week = summary.standing("week", "team")
    st.subheader("Around me this week")
    if len(team_week.nearby):
        st.container(key="me_nearby_box").dataframe(
            team_week.nearby.style.apply(
                lambda row: ["font-weight: 700; color: #F5B700" if row["me"] else "" for _ in row], axis=1
            ),
            key="me_nearby",
            hide_index=True,
            column_order=["rank", "movement", "agent", "score"],
            column_config={
                "rank": st.column_config.NumberColumn("#", format="%d", width=36),
                "movement": st.column_config.TextColumn("Move", width=52),
                "agent": st.column_config.TextColumn("Agent", width=150),
                "score": st.column_config.ProgressColumn("Fair score", min_value=1.0, max_value=5.0, format="%.2f",
                                                         width=110),
                "ratings": st.column_config.NumberColumn("Ratings", format="%d", width=64),
            },
            height=common.table_height(len(team_week.nearby)),
        )
        st.caption(f"{md(team_week.where)}'s fair leaderboard, the places around yours.")
    else:
        n = team_week.to_be_ranked
        st.info(f"{n} more rating{'s' if n != 1 else ''} this week and you're on {md(team_week.where)}'s board.",
                icon=":material/leaderboard:")


# --------------------------------------------------------------------------- badges

st.subheader("My badges")
earned = [b for b in summary.collection if b["times"]]
st.caption(
    f"{len(earned)} of {len(summary.collection)} badges collected · value badges come from your team leader, "
    "the others you earn from your ratings."
)
if earned:
    per_row = 6
    earned.sort(key=lambda b: b["last_at"] or datetime.min, reverse=True)
    for start in range(0, len(earned), per_row):
        row_cols = st.columns(per_row, gap="small")
        for column, badge in zip(row_cols, earned[start : start + per_row]):
            with column.container(border=True, key=f"me_badge_{badge['code']}"):
                times = f" ×{badge['times']}" if badge["times"] > 1 else ""
                st.markdown(f"### {icon(badge['code'])}\n**{md(badge['name'])}**{times}")
                st.caption(f"{md(badge['description'])}  \n{when_label(badge['last_at'], summary.today)}")
else:
    st.info("No badges yet: your first one is close. See what's next below.", icon=":material/military_tech:")

progress_col, awards_col = st.columns([2, 3], gap="large")
with progress_col:
    st.markdown("**Next badges**")
    upcoming = [p for p in summary.progress if p.get("fraction") is not None]
    upcoming.sort(key=lambda p: (p["fraction"] >= 1, -p["fraction"]))
    if summary.next_badge is not None:
        nb = summary.next_badge
        st.progress(nb["fraction"], text=f"{icon(nb['code'])} **{md(nb['name'])}** · {md(nb['label'])}")
    for item in upcoming:
        if summary.next_badge is not None and item["code"] == summary.next_badge["code"]:
            continue
        done = item["fraction"] >= 1
        # A weekly or monthly badge at 100% is decided when the week or month ends; a milestone at the next check.
        status = (" · on track, keep it up" if item["repeatable"] else " · due at the next check") if done else ""
        label = f"{icon(item['code'])} {md(item['name'])} · {md(item['label'])}{status}"
        st.progress(item["fraction"], text=label)
    goals = [p for p in summary.progress if p.get("fraction") is None]
    for item in goals:
        st.caption(f"{icon(item['code'])} {md(item['name'])}: {md(item['label'])}", help=md(item["criteria"]))
with awards_col:
    st.markdown("**Badge history**")
    if summary.awards.empty:
        st.caption("Your badges and why you got them will be listed here.")
    else:
        awards = summary.awards
        st.container(key="me_awards_box").dataframe(
            pd.DataFrame(
                {
                    "awarded_at": pd.to_datetime(awards["awarded_at"]),
                    "badge": [f"{icon(c)} {n}" for c, n in zip(awards["badge_code"], awards["badge"])],
                    "reason": awards["reason"].fillna("").astype(str),
                    "awarded_by": awards["awarded_by"].fillna("").astype(str),
                }
            ),
            key="me_awards",
            hide_index=True,
            column_config={
                "awarded_at": st.column_config.DatetimeColumn("When", format="D MMM YYYY", width=100),
                "badge": st.column_config.TextColumn("Badge", width=150),
                "reason": st.column_config.TextColumn("Why", width="large"),
                "awarded_by": st.column_config.TextColumn("From", width="small"),
            },
            height=common.table_height(len(awards), max_rows=6),
        )

# --------------------------------------------------------------------------- my feedback

st.subheader("My feedback")
feedback = summary.feedback
if feedback.empty:
    st.info("No ratings yet. Customers' stars and comments will show up here.", icon=":material/reviews:")
else:
    choice = st.segmented_control(
        "Show",
        list(FEEDBACK_FILTERS),
        format_func=FEEDBACK_FILTERS.__getitem__,
        default="all",
        required=True,
        key="me_feedback_filter",
    ) or "all"
    shown = feedback
    if choice == "comments":
        shown = feedback[feedback["comment"].str.strip() != ""]
    elif choice == "praise":
        shown = feedback[feedback["stars"] >= 4]
    elif choice == "work_on":
        shown = feedback[feedback["stars"] <= 3]
    st.caption(
        f"Your latest {len(feedback)} ratings, newest first. Ratings a leader excluded are marked and do not count."
    )
    order = ["rated_at", "stars_label", "comment", "went_well", "to_improve", "resolved", "nps", "channel",
             "contact_reason", "interaction_id"]
    if feedback["excluded"].any():
        order.append("excluded")
    # Comments are customer text: dataframe cells show them as typed, never as Markdown or HTML.
    st.container(key="me_feedback_box").dataframe(
        shown,
        key="me_feedback",
        hide_index=True,
        column_order=order,
        column_config={
            "rated_at": st.column_config.DatetimeColumn("When", format="ddd D MMM, HH:mm", width=130),
            "stars_label": st.column_config.TextColumn("Stars", width="small"),
            "comment": st.column_config.TextColumn("Customer said", width="large"),
            "went_well": st.column_config.ListColumn("Went well", width="medium"),
            "to_improve": st.column_config.ListColumn("To improve", width="medium"),
            "resolved": st.column_config.CheckboxColumn("Resolved", width="small"),
            "nps": st.column_config.NumberColumn("NPS", format="%d", width="small", help="0–10 likelihood to recommend"),
            "channel": st.column_config.TextColumn("Channel", width="small"),
            "contact_reason": st.column_config.TextColumn("Reason", width="small"),
            "interaction_id": st.column_config.TextColumn("Interaction", width="small"),
            "excluded": st.column_config.CheckboxColumn("Excluded", width="small",
                                                        help="A leader excluded this rating from the leaderboard"),
        },
        height=common.table_height(len(shown), max_rows=12),
    )

# --------------------------------------------------------------------------- my coaching

st.subheader("My coaching")
notes = summary.notes
week_notes = summary.notes_this_week
if notes.empty:
    st.info("No coaching notes yet. Praise and 1:1 notes from your team leader will show up here.",
            icon=":material/forum:")
else:
    st.caption(
        f"This week: {week_notes.get('praise', 0)} praise · {week_notes.get('criticism', 0)} to work on. "
        "Public notes may be shared with your team; 1:1 notes are between you and your leader."
    )
    kinds = {"praise": "👏 Praise", "criticism": "🌱 To work on"}
    st.container(key="me_notes_box").dataframe(
        notes.assign(kind=notes["kind"].map(kinds).fillna(notes["kind"])),
        key="me_notes",
        hide_index=True,
        column_order=["created_at", "kind", "visibility", "author", "text", "interaction_id"],
        column_config={
            "created_at": st.column_config.DatetimeColumn("When", format="ddd D MMM YYYY", width=120),
            "kind": st.column_config.TextColumn("Kind", width="small"),
            "visibility": st.column_config.TextColumn("Shared", width="small"),
            "author": st.column_config.TextColumn("From", width="small"),
            "text": st.column_config.TextColumn("Note", width="large"),
            "interaction_id": st.column_config.TextColumn("About", width="small"),
        },
        height=common.table_height(len(notes), max_rows=10),
    )
