"""Badges: the weekly value review, awarding a value badge, the recognition feed and the catalogue.

For team leaders, managers and admins. Only agents the viewer may see
(``db.queries.visible_directory``) can be picked or appear in a candidate or
the feed; ``leaderboard.badges.award`` checks the same rule again. Customer
quotes and award reasons are shown as text (``st.text`` and dataframe cells),
never as Markdown.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st
from sqlmodel import Session

from db import queries
from db.models import utcnow
from leaderboard import badges
from leaderboard.auth import Viewer
from leaderboard.me import badge_icon
from leaderboard.periods import local_date, week_key, zone
from pages import access, common, nav
from pages.common import md

nav.enter()
viewer = access.require_viewer(roles=("leader", "manager", "admin"))

TTL_SECONDS = 60
# Candidates shown at once (most evidence first); a team filter narrows a long list.
MAX_CANDIDATES = 8
FEED_LIMIT = 200
RECENT_RATINGS_DAYS = 14
FLASH_KEY = "bd_flash"  # (kind, Markdown-safe message) shown once after an action
WEEKS = {"this": "This week", "last": "Last week"}


# --------------------------------------------------------------------------- cached reads


@st.cache_data(ttl=TTL_SECONDS, max_entries=32, show_spinner=False)
def load_directory(url: str, version: tuple, who: Viewer) -> pd.DataFrame:
    with Session(common.get_engine()) as session:
        directory = queries.visible_directory(session=session, viewer=who)
    return directory[directory["active"].astype(bool)].reset_index(drop=True)


@st.cache_data(ttl=TTL_SECONDS, max_entries=32, show_spinner=False)
def load_catalogue(url: str, version: tuple) -> list[dict]:
    with Session(common.get_engine()) as session:
        return badges.catalogue(session=session)


@st.cache_data(ttl=TTL_SECONDS, max_entries=32, show_spinner="Reading the week's praise…")
def load_candidates(url: str, version: tuple, who: Viewer, week_start: date, tz: str) -> pd.DataFrame:
    with Session(common.get_engine()) as session:
        return badges.value_candidates(session=session, viewer=who, week_start=week_start, tz=tz)


@st.cache_data(ttl=TTL_SECONDS, max_entries=32, show_spinner=False)
def load_feed(url: str, version: tuple, who: Viewer) -> pd.DataFrame:
    with Session(common.get_engine()) as session:
        return badges.list_awards(session=session, viewer=who, limit=FEED_LIMIT)


@st.cache_data(ttl=TTL_SECONDS, max_entries=64, show_spinner=False)
def load_recent_praise(url: str, version: tuple, who: Viewer, agent_id: int) -> pd.DataFrame:
    """The agent's recent 4–5★ ratings, to tie an award to one (viewer-filtered)."""
    since = common_now() - timedelta(days=RECENT_RATINGS_DAYS)
    with Session(common.get_engine()) as session:
        rows = queries.feedback(session=session, viewer=who, agent_id=agent_id, start=since, min_stars=4, limit=40)
    return rows[rows["excluded_cause"].isna()].reset_index(drop=True)


def common_now():
    return utcnow()


# --------------------------------------------------------------------------- actions (callbacks)


def _flash(kind: str, text: str) -> None:
    st.session_state[FLASH_KEY] = (kind, text)


def _award(*, agent_id: int, agent: str, badge_code: str, reason: str, interaction_id: str | None,
           clear: tuple[str, ...] = ()) -> bool:
    try:
        with Session(common.get_engine()) as session:
            badges.award(
                session=session,
                agent_id=agent_id,
                badge_code=badge_code,
                by_user_id=viewer.user_id,
                reason=reason,
                interaction_id=interaction_id or None,
            )
    except badges.BadgeError as exc:
        _flash("error", f"Not awarded: {md(exc)}.")
        return False
    for key in clear:
        st.session_state[key] = ""
    badge_name = next((b["name"] for b in value_badges if b["code"] == badge_code), badge_code)
    _flash("success", f"{badge_icon(badge_code)} **{md(badge_name)}** awarded to **{md(agent)}**. It is in the feed below.")
    return True


def award_from_form() -> None:
    state = st.session_state
    agent_id = state.get("bd_agent")
    if agent_id is None:
        _flash("error", "Pick an agent first.")
        return
    reason = (state.get("bd_reason") or "").strip()
    if not reason:
        _flash("error", "A reason is required: say what the agent did, so they know what to keep doing.")
        return
    names = dict(zip(directory["agent_id"].astype(int), directory["agent"]))
    _award(
        agent_id=int(agent_id),
        agent=names.get(int(agent_id), "the agent"),
        badge_code=state.get("bd_badge"),
        reason=reason,
        interaction_id=state.get("bd_interaction") or None,
        clear=("bd_reason",),
    )


def confirm_candidate(agent_id: int, agent: str, badge_code: str, interaction_id: str, reason_key: str) -> None:
    reason = (st.session_state.get(reason_key) or "").strip()
    if not reason:
        _flash("error", "A reason is required: say what the agent did.")
        return
    _award(agent_id=agent_id, agent=agent, badge_code=badge_code, reason=reason, interaction_id=interaction_id)


def evaluate_now() -> None:
    with Session(common.get_engine()) as session:
        new = badges.evaluate(session=session)
    if new:
        _flash("success", f"{len(new)} automatic badge{'s' if len(new) != 1 else ''} awarded.")
    else:
        _flash("info", "Every automatic badge earned so far is already awarded: nothing new.")


def candidate_reason(candidate: dict) -> str:
    n = int(candidate["ratings"])
    words = ", ".join(f"“{w.strip()}”" for w in str(candidate["matched"]).split(";") if w.strip())
    return f"{candidate['badge']}: customers said {words} ({n} rating{'s' if n != 1 else ''} this week)."


# --------------------------------------------------------------------------- page

url = common.database_url()
version = common.data_version()
directory = load_directory(url, version, viewer)
catalogue = load_catalogue(url, version)
value_badges = [b for b in catalogue if b["kind"] == "value"]

title_col, action_col = st.columns([4, 1], vertical_alignment="bottom")
title_col.title("Badges")
if viewer.role in ("manager", "admin"):
    action_col.button(
        "Evaluate automatic badges now",
        key="bd_evaluate",
        on_click=evaluate_now,
        icon=":material/autorenew:",
        width="stretch",
        help="Award every milestone badge (streaks, weekly #1, 100 ratings…) earned and not yet awarded",
    )
st.caption(
    "Values become habits when they are recognised: review the week's praise, confirm the badges it shows, "
    "and the team sees them on the wall. Milestone badges are earned automatically."
)

flash = st.session_state.pop(FLASH_KEY, None)
if flash:
    kind, text = flash
    {"success": st.success, "error": st.error, "info": st.info}[kind](text)

if directory.empty:
    st.info("There are no agents you lead yet, so there is nobody to award.", icon=":material/group_off:")
    st.stop()

review_col, award_col = st.columns([3, 2], gap="large")

# ---- the weekly review
with review_col:
    st.subheader("Weekly review")
    teams = sorted(directory["team"].astype(str).unique())
    pick_week, pick_team = st.columns(2)
    which = pick_week.segmented_control(
        "Week", list(WEEKS), format_func=WEEKS.__getitem__, default="this", required=True, key="bd_week"
    ) or "this"
    team = ""
    if len(teams) > 1:
        team = pick_team.selectbox("Team", ["", *teams], format_func=lambda t: t or "All my teams", key="bd_team")
    scope = directory if not team else directory[directory["team"] == team]
    # Weeks run Monday to Sunday in the site's own time zone (the most common one in scope).
    tz_name = str(scope["timezone"].mode().iloc[0]) if len(scope) else "UTC"
    today = local_date(common_now(), zone(tz_name))
    week_start = today - timedelta(days=today.weekday()) - timedelta(days=7 if which == "last" else 0)
    candidates = load_candidates(url, version, viewer, week_start, tz_name)
    if team:
        candidates = candidates[candidates["team"] == team]
    open_candidates = candidates[~candidates["already_awarded"].astype(bool)]
    done = len(candidates) - len(open_candidates)
    st.caption(
        f"{week_key(week_start)} · {week_start:%a %d %b} – {week_start + timedelta(days=6):%a %d %b} "
        f"({md(tz_name)} time) · 4–5★ comments and went-well tags that name a value · "
        f"{len(open_candidates)} to review, {done} already awarded"
    )
    if candidates.empty:
        st.info(
            "No candidates yet this week: when customers praise a value (“so patient”, “explained everything”, "
            "“quick”), the agent shows up here.",
            icon=":material/hourglass_empty:",
        )
    show_all = False
    if len(open_candidates) > MAX_CANDIDATES:
        show_all = st.toggle(f"Show all {len(open_candidates)} candidates", key="bd_show_all")
    shown_candidates = open_candidates if show_all else open_candidates.head(MAX_CANDIDATES)
    for candidate in shown_candidates.to_dict("records"):
        key = f"{candidate['agent_id']}_{candidate['badge_code']}_{week_start:%Y%m%d}"
        with st.container(border=True, key=f"bd_candidate_{key}"):
            head, count = st.columns([4, 1], vertical_alignment="center")
            head.markdown(
                f"{badge_icon(candidate['badge_code'])} **{md(candidate['badge'])}** for "
                f"**{md(candidate['agent'])}** · {md(candidate['team'])}"
            )
            n = int(candidate["ratings"])
            count.caption(f"{n} rating{'s' if n != 1 else ''}")
            if candidate["quote"]:
                # Customer text: st.text, never Markdown.
                st.text(f"“{candidate['quote']}”", width="stretch")
            st.caption(f"Matched: {md(candidate['matched'])} · evidence {md(candidate['evidence'])}")
            reason_key = f"bd_reason_{key}"
            st.session_state.setdefault(reason_key, candidate_reason(candidate))
            reason_col, button_col = st.columns([3, 1], vertical_alignment="bottom")
            reason_col.text_input("Reason", key=reason_key, label_visibility="collapsed", max_chars=400)
            button_col.button(
                "Confirm",
                key=f"bd_confirm_{key}",
                type="primary",
                icon=":material/check:",
                width="stretch",
                on_click=confirm_candidate,
                args=(int(candidate["agent_id"]), str(candidate["agent"]), str(candidate["badge_code"]),
                      str(candidate["interaction_id"]), reason_key),
            )
    if len(shown_candidates) < len(open_candidates):
        st.caption(f"Showing the {MAX_CANDIDATES} with the most evidence of {len(open_candidates)} candidates.")

# ---- award by hand
with award_col:
    st.subheader("Award a value badge")
    agent_ids = [int(a) for a in directory["agent_id"]]
    labels = {int(a): f"{n} · {t}" for a, n, t in zip(directory["agent_id"], directory["agent"], directory["team"])}
    agent_id = st.selectbox(
        "Agent", agent_ids, format_func=lambda a: labels.get(a, str(a)), index=None,
        placeholder="Pick an agent of your team", key="bd_agent",
    )
    st.selectbox(
        "Badge",
        [b["code"] for b in value_badges],
        format_func=lambda c: next((f"{badge_icon(c)} {b['name']}" for b in value_badges if b["code"] == c), c),
        key="bd_badge",
        help="The values: " + " · ".join(md(f"{b['name']}: {b['description']}") for b in value_badges),
    )
    recent = load_recent_praise(url, version, viewer, agent_id) if agent_id is not None else pd.DataFrame()
    options = [""] + ([str(i) for i in recent["interaction_id"]] if len(recent) else [])
    by_id = {str(r["interaction_id"]): r for r in recent.to_dict("records")} if len(recent) else {}

    def rating_label(iid: str) -> str:
        if not iid:
            return "No specific rating"
        r = by_id.get(iid)
        if r is None:
            return iid
        comment = " ".join(str(r["comment"] or "").split())
        comment = comment if len(comment) <= 60 else comment[:59] + "…"
        return f"{iid} · {int(r['stars'])}★ · {pd.Timestamp(r['rated_at']):%a %d %b}" + (f" · {comment}" if comment else "")

    if st.session_state.get("bd_interaction") not in options:
        st.session_state["bd_interaction"] = ""
    st.selectbox(
        "About a rating (optional)",
        options,
        format_func=rating_label,
        key="bd_interaction",
        help=f"One of the agent's 4–5★ ratings of the last {RECENT_RATINGS_DAYS} days: the award then points to it",
        disabled=agent_id is None,
    )
    st.text_area(
        "Reason",
        key="bd_reason",
        placeholder="What did they do? For example: stayed calm and patient with an upset customer and solved it.",
        max_chars=400,
        height=100,
    )
    st.button("Award badge", key="bd_award", type="primary", icon=":material/military_tech:", on_click=award_from_form,
              width="stretch")
    st.caption("The agent sees the badge and your reason on their page; the wall shows the badge, never the reason.")

# ---- the recognition feed
st.divider()
st.subheader("Recognition feed")
feed = load_feed(url, version, viewer)
if feed.empty:
    st.info("No badges awarded yet in your teams.", icon=":material/military_tech:")
else:
    week_ago = pd.Timestamp(common_now() - timedelta(days=7))
    recent_feed = feed[pd.to_datetime(feed["awarded_at"]) >= week_ago]
    m1, m2, m3 = st.columns(3)
    m1.metric("Badges in the last 7 days", len(recent_feed), border=True)
    m2.metric("Value badges", int((recent_feed["kind"] == "value").sum()), border=True)
    m3.metric("Agents recognised", int(recent_feed["agent_id"].nunique()), border=True)
    table = pd.DataFrame(
        {
            "awarded_at": pd.to_datetime(feed["awarded_at"]).dt.tz_localize("UTC").dt.tz_convert(tz_name)
            .dt.tz_localize(None),
            "agent": feed["agent"].astype(str),
            "team": feed["team"].astype(str),
            "badge": [f"{badge_icon(c)} {n}" for c, n in zip(feed["badge_code"], feed["badge"])],
            "kind": feed["kind"].astype(str),
            "awarded_by": feed["awarded_by"].fillna("").astype(str),
            "reason": feed["reason"].fillna("").astype(str),
            "evidence": feed["evidence"].fillna("").astype(str),
        }
    )
    # Reasons may quote customers: dataframe cells show them as typed.
    st.container(key="bd_feed_box").dataframe(
        table,
        key="bd_feed",
        hide_index=True,
        column_config={
            "awarded_at": st.column_config.DatetimeColumn("When", format="ddd D MMM, HH:mm", width=130,
                                                          help=f"In {tz_name} time"),
            "agent": st.column_config.TextColumn("Agent", width=150),
            "team": st.column_config.TextColumn("Team", width=100),
            "badge": st.column_config.TextColumn("Badge", width=150),
            "kind": st.column_config.TextColumn("Kind", width=85),
            "awarded_by": st.column_config.TextColumn("By", width=110),
            "reason": st.column_config.TextColumn("Reason", width="large"),
            "evidence": st.column_config.TextColumn("Evidence", width="medium"),
        },
        height=common.table_height(len(table), max_rows=12),
    )

# ---- the catalogue
with st.expander("Badge catalogue and criteria", icon=":material/menu_book:"):
    st.dataframe(
        pd.DataFrame(
            {
                "badge": [f"{badge_icon(b['code'])} {b['name']}" for b in catalogue],
                "kind": ["value (awarded by a leader)" if b["kind"] == "value" else "automatic" for b in catalogue],
                "description": [b["description"] for b in catalogue],
                "criteria": [b["criteria"] for b in catalogue],
                "repeatable": [bool(b["repeatable"]) for b in catalogue],
            }
        ),
        key="bd_catalogue",
        hide_index=True,
        column_config={
            "badge": st.column_config.TextColumn("Badge", width="small"),
            "kind": st.column_config.TextColumn("Kind", width="small"),
            "description": st.column_config.TextColumn("What it means", width="medium"),
            "criteria": st.column_config.TextColumn("Criteria", width="large"),
            "repeatable": st.column_config.CheckboxColumn("Again?", width="small",
                                                          help="Can be earned again (per streak, week or month)"),
        },
        height=common.table_height(len(catalogue), max_rows=16),
    )
