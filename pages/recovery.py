"""Service recovery: every unhappy customer in one queue, what the call-backs achieved, and why customers were unhappy.

Leaders see their teams' cases, managers their site's, admins everyone's: every
read and write goes through ``db.recovery_store`` with the viewer, which filters.
Customer comments and notes are data, never Markdown: they appear only in
dataframe cells and ``st.text``.
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass
from datetime import timedelta

import pandas as pd
import streamlit as st
from sqlmodel import Session

from db import queries, recovery_store, survey_store
from db.models import EXCLUSION_CAUSES, User, utcnow
from leaderboard import charts_recovery, recovery, recovery_followup
from leaderboard.charts import STAR_COLOURS
from leaderboard.auth import Viewer
from leaderboard.periods import local_date, resolve_period
from leaderboard.recovery import RecoveryError
from leaderboard.settings import get_settings
from pages import access, common, nav
from pages.common import md

nav.enter()
ROLES = ("leader", "manager", "admin")

FLASH = "rc_flash"  # (kind, message) left by an action for the next run
QUEUE_IDS = "rc_queue_ids"  # case ids in the order the queue table shows them (to map a clicked row)
# Inputs that belong to one case, with their empty values. Set, not popped: the browser keeps
# showing a popped widget's last value, while a value set in a callback is sent to it.
CASE_INPUTS = {"rc_note": "", "rc_exclude_reason": "", "rc_followup_stars": None}
SHOW = {"all": "Everything", "open": "Needs action", "mine": "Mine", "closed": "Closed (7 days)"}
CAUSE_HELP = {
    "product": "Product: a fault in what we sell",
    "policy": "Policy: a rule the agent had to apply",
    "system": "System: tools, outage, a broken process",
    "other": "Other",
}
REPORT_PERIODS = {"last12w": "Last 12 weeks", "last30": "Last 30 days", "month": "This month", "all": "All time"}
CAUSE_PERIODS = {"month": "This month", "last30": "Last 30 days", "last12w": "Last 12 weeks", "all": "All time"}


# --------------------------------------------------------------------------- loaders


def _viewer_key(v) -> tuple:
    return (v.role, v.user_id, tuple(sorted(v.team_ids)), None if v.site_ids is None else tuple(sorted(v.site_ids)))


def _version() -> tuple:
    # Every case opened or updated and every exclusion moves the change counter.
    return common.data_version()


def _period(spec: str, tz: str):
    if spec == "last12w":
        today = local_date(utcnow(), tz)
        spec = f"{today - timedelta(days=83)}..{today}"
    return resolve_period(spec, tz=tz)


@st.cache_data(ttl=common.DATA_TTL_SECONDS, max_entries=64, show_spinner=False)
def load_report(url: str, version: tuple, viewer_key: tuple, spec: str, tz: str, _viewer) -> dict:
    """Summary, per-team and per-week rows of the cases opened in the period (viewer-filtered)."""
    start, end = _period(spec, tz).utc_bounds()
    with Session(common.get_engine()) as session:
        frame = recovery_store.cases(session=session, viewer=_viewer, since=start)
    if end is not None and len(frame):
        frame = frame[frame["opened_at"] < end]
    now = utcnow()
    return {
        "summary": recovery.summarise(frame, now=now),
        "teams": recovery.report_rows(frame, now=now, by="team"),
        "weeks": recovery.report_rows(frame, now=now, by="week"),
    }


@st.cache_data(ttl=common.DATA_TTL_SECONDS, max_entries=64, show_spinner=False)
def load_root_causes(
    url: str, version: tuple, viewer_key: tuple, spec: str, tz: str, max_stars: int, _viewer
) -> pd.DataFrame:
    start, end = _period(spec, tz).utc_bounds()
    with Session(common.get_engine()) as session:
        return recovery_store.root_causes(session=session, viewer=_viewer, start=start, end=end, max_stars=max_stars)


def _scope(v) -> tuple[str, str]:
    """(what the viewer covers, the time zone their periods are counted in)."""
    with Session(common.get_engine()) as session:
        directory = queries.visible_directory(session=session, viewer=v)
    zones = sorted(set(directory["timezone"])) if len(directory) else []
    tz = zones[0] if len(zones) == 1 else "UTC"
    if v.role == "leader":
        teams = sorted(set(directory["team"])) if len(directory) else []
        label = ("Your team: " if len(teams) == 1 else "Your teams: ") + (", ".join(teams) or "none yet")
    elif v.sees_everyone:
        label = "Every site"
    else:
        label = ", ".join(sorted(set(directory["site"]))) or "No site"
    return label, tz


# --------------------------------------------------------------------------- actions (button callbacks)


def _clear_inputs(*keys: str) -> None:
    for key in keys or CASE_INPUTS:
        st.session_state[key] = CASE_INPUTS[key]


def _pick_case() -> None:
    """on_change of the case picker: a note typed for one case must not land on another."""
    _clear_inputs()


def _pick_row(table_key: str) -> None:
    """on_select of the queue table: the clicked row becomes the case below."""
    rows = st.session_state.get(table_key, {}).get("selection", {}).get("rows", [])
    ids = st.session_state.get(QUEUE_IDS, [])
    if rows and 0 <= rows[0] < len(ids):
        st.session_state["rc_case"] = ids[rows[0]]
        _clear_inputs()


def _act(kind: str, case_id: int, interaction_id: str) -> None:
    """Do one recovery action as the signed-in user (re-checked here: a callback runs before the page)."""
    who = access.current_viewer()
    if who is None or who.role not in ROLES:
        return
    state = st.session_state
    note = (state.get("rc_note") or "").strip() or None
    try:
        with Session(common.get_engine(), expire_on_commit=False) as session:
            user = session.get(User, who.user_id)
            if kind == "claim":
                recovery_store.claim(session=session, case_id=case_id, by=user, viewer=who)
                message = f"Case #{case_id} is yours."
            elif kind in ("contacted", "resolved", "no_response", "open"):
                text = note or {"open": "reopened the case"}.get(kind)
                settings = get_settings()
                secret = survey_store.server_secret(
                    engine=common.get_engine(), configured=settings.secret_key.get_secret_value()
                ) if settings.recovery_followup and kind == "resolved" else b""
                closed = recovery_followup.close_case(session=session, case_id=case_id, status=kind, by=user,
                                                      note=text, viewer=who, settings=settings, secret=secret)
                message = {
                    "contacted": f"Contact recorded on case #{case_id}.",
                    "resolved": f"Case #{case_id} resolved. Nicely done.",
                    "no_response": f"Case #{case_id} closed: no response.",
                    "open": f"Case #{case_id} is open again.",
                }[kind]
                if closed.followup and closed.followup != "off":
                    message += f" ({recovery_followup.FOLLOWUP_TEXT[closed.followup].capitalize()}.)"
                _clear_inputs("rc_note")
            elif kind == "followup":
                stars = state.get("rc_followup_stars")
                if not stars:
                    raise RecoveryError("pick the stars the customer gave in the follow-up")
                recovery_store.record_followup(session=session, case_id=case_id, stars=int(stars), by=user, viewer=who)
                message = f"Follow-up rating {int(stars)}★ recorded on case #{case_id}."
                _clear_inputs("rc_followup_stars")
            elif kind == "exclude":
                cause = state.get("rc_exclude_cause") or ""
                recovery_store.exclude(
                    session=session,
                    interaction_id=interaction_id,
                    cause=cause,
                    by=user,
                    reason=state.get("rc_exclude_reason") or "",
                    viewer=who,
                )
                message = f"Rating excluded ({cause}): it no longer counts in the agent's figures."
                _clear_inputs("rc_exclude_reason")
            elif kind == "undo":
                recovery_store.undo_exclusion(session=session, interaction_id=interaction_id, by=user, viewer=who)
                message = "Exclusion undone: the rating counts again."
            else:
                return
    except RecoveryError as exc:
        text = str(exc)
        state[FLASH] = ("error", text[:1].upper() + text[1:] + ".")
        return
    state[FLASH] = ("success", message)


# --------------------------------------------------------------------------- the page


@dataclass(frozen=True)
class Cases:
    """The viewer's recovery cases as every tab reads them."""

    viewer: Viewer
    scope_label: str
    home_tz: str
    raw: pd.DataFrame  # recovery_store.queue: one row per case, stored values
    excluded: dict  # interaction id -> (cause, reason) of the ratings excluded from a score
    queue: pd.DataFrame  # recovery.queue_frame: the rows as shown, with "excluded"
    version: tuple  # the data version the report and root causes are cached by

    @property
    def live(self) -> pd.DataFrame:
        return self.queue[~self.queue["closed"].astype(bool)]


def load_cases(viewer: Viewer) -> Cases:
    scope_label, home_tz = _scope(viewer)
    now = utcnow()
    with Session(common.get_engine()) as session:
        raw = recovery_store.queue(session=session, viewer=viewer, now=now)
        excluded = recovery_store.exclusions(session=session, viewer=viewer, interaction_ids=list(raw["interaction_id"]))
    queue = recovery.queue_frame(raw, now=now)
    queue["excluded"] = [excluded.get(i, ("", ""))[0] for i in queue["interaction_id"]]
    return Cases(
        viewer=viewer, scope_label=scope_label, home_tz=home_tz, raw=raw, excluded=excluded, queue=queue,
        version=_version(),
    )


def headline(cases: Cases) -> None:
    queue, live = cases.queue, cases.live
    overdue_n = int(queue["overdue"].sum())
    mine_n = int((live["owner"] == cases.viewer.username).sum())
    cols = st.columns(5)
    cols[0].metric("Overdue", overdue_n, border=True, help="Open, nobody has called, and the due time has passed")
    cols[1].metric("Open", int((live["status"] == "Open").sum()) - overdue_n, border=True, help="Waiting for a call, still in time")
    cols[2].metric("Contacted", int((live["status"] == "Contacted").sum()), border=True, help="Called back, outcome not recorded yet")
    cols[3].metric("Yours", mine_n, border=True, help="Open or contacted cases you own")
    cols[4].metric("Closed · 7 days", int(queue["closed"].sum()), border=True, help="Resolved or no response in the last 7 days")


# --------------------------------------------------------------------------- the queue tab


def queue_tab(cases: Cases) -> None:
    queue = cases.queue
    flash = st.session_state.pop(FLASH, None)
    show = st.segmented_control(
        "Show", list(SHOW), format_func=SHOW.__getitem__, default="all", key="rc_show", label_visibility="collapsed"
    ) or "all"
    shown = {
        "all": queue,
        "open": cases.live,
        "mine": queue[queue["owner"] == cases.viewer.username],
        "closed": queue[queue["closed"].astype(bool)],
    }[show].reset_index(drop=True)
    ids = [int(c) for c in shown["case_id"]]
    st.session_state[QUEUE_IDS] = ids
    _case_from_url(ids)
    if st.session_state.get("rc_case") not in ids:
        st.session_state.pop("rc_case", None)
    picked = st.session_state.get("rc_case", ids[0] if ids else None)

    if flash and shown.empty:
        # The case just acted on left this view (resolved under "Needs action"): say it worked anyway.
        (st.success if flash[0] == "success" else st.error)(md(flash[1]))
    if queue.empty:
        st.success(
            "Nothing in the queue: no unhappy customer is waiting. New cases appear here the moment a low rating lands.",
            icon=":material/sentiment_satisfied:",
        )
        return
    if shown.empty:
        st.info("No cases here. Pick “Everything” to see the whole queue.", icon=":material/filter_alt_off:")
        return
    queue_table(shown, ids, picked)

    # No clock in the labels: Streamlit matches a picked option by its label, so a label that
    # changes each minute ("due in 35 min") would silently swap the picked case for the first one.
    labels = {int(r.case_id): f"#{r.case_id} · {r.agent} · {r.team} · {r.stars}★" for r in shown.itertuples()}
    case_id = st.selectbox(
        "Case", ids, format_func=labels.__getitem__, key="rc_case", on_change=_pick_case
    )
    case = shown[shown["case_id"] == case_id].iloc[0]
    raw_case = cases.raw[cases.raw["case_id"] == case_id].iloc[0]
    with st.container(border=True, key="rc_case_box"):
        # Half and half: the three status buttons need ~430 px for their full labels at 1440 px.
        info_col, act_col = st.columns([1, 1], gap="medium")
        with info_col:
            case_info(case, raw_case)
        with act_col:
            case_actions(cases, case, raw_case, flash)


def _case_from_url(ids: list[int]) -> None:
    """``/recovery?case=ID`` (the link of a recovery alert) picks that case, once per link followed.

    A case outside the viewer's queue gets the same calm line whether it exists or not.
    """
    wanted = str(st.query_params.get("case", "") or "").strip().lstrip("#")
    if not wanted or st.session_state.get("rc_case_from_url") == wanted:
        return
    st.session_state["rc_case_from_url"] = wanted
    case_id = int(wanted) if wanted.isdigit() else None
    if case_id in ids:
        st.session_state["rc_case"] = case_id
    else:
        st.info(f"Case #{md(wanted[:20])} is not in this view of your queue.", icon=":material/search_off:")


def _row_style(row: pd.Series, *, picked: int | None) -> list[str]:
    if row["case_id"] == picked:
        return ["background-color: rgba(245, 183, 0, 0.20)"] * len(row)
    if row["overdue"]:
        return ["background-color: rgba(229, 72, 77, 0.20); color: #FFB4B4"] * len(row)
    if row["closed"]:
        return ["color: #8A96AA"] * len(row)
    return [""] * len(row)


def queue_table(shown: pd.DataFrame, ids: list[int], picked: int | None) -> None:
    """The cases in view, overdue in red, the picked one in gold; a click picks a case."""
    table = shown.assign(
        stars_text=["★" * int(s) for s in shown["stars"]],
        excluded_text=[f"not the agent's ({c})" if c else "" for c in shown["excluded"]],
    )
    styled = (
        table.style.apply(functools.partial(_row_style, picked=picked), axis=1)
        .map(lambda v: "color: #FF6B6B; font-weight: 700" if str(v).startswith("overdue") else "", subset=["when"])
        .map(lambda v: f"color: {STAR_COLOURS.get(len(str(v)), '#F5B700')}", subset=["stars_text"])
    )
    # The table's key follows its rows and the picked case: a row checkbox never lingers on a row
    # that moved or on a case no longer picked (the picked row is the gold one).
    table_key = f"rc_queue_{zlib.crc32(repr((ids, picked)).encode()):08x}"
    st.container(key="rc_queue_box").dataframe(
        styled,
        key=table_key,
        on_select=functools.partial(_pick_row, table_key),
        selection_mode="single-row",
        hide_index=True,
        height=common.table_height(len(table), max_rows=12),
        column_order=[
            c for c in (
                "case_id", "when", "status", "owner", "agent", "team", "stars_text", "comment", "contact_reason",
                "opened", "due", "timezone", "excluded_text",
            )
            # One team in view: its name on every row is noise; no exclusion: no column for it.
            if (c != "team" or table["team"].nunique() > 1) and (c != "excluded_text" or table["excluded"].any())
        ],
        column_config={
            "case_id": st.column_config.NumberColumn("Case", format="#%d", width=58),
            "when": st.column_config.TextColumn("Due", width=160, help="Time left to call, or how late it is"),
            "agent": st.column_config.TextColumn("Agent", width=130),
            "team": st.column_config.TextColumn("Team", width=104),  # "Sampaguita", "Kalemegdan" in full
            "stars_text": st.column_config.TextColumn("Stars", width=56),
            "comment": st.column_config.TextColumn("Customer said", width=300),
            "contact_reason": st.column_config.TextColumn("Contact reason", width=120),
            "opened": st.column_config.TextColumn("Opened", width=100, help="Local time of the agent's site"),
            "due": st.column_config.TextColumn("Due at", width=100, help="Local time of the agent's site"),
            "timezone": st.column_config.TextColumn("Time zone", width="small"),
            "status": st.column_config.TextColumn("Status", width=96),
            "owner": st.column_config.TextColumn("Owner", width=110),
            "excluded_text": st.column_config.TextColumn("Score", width="small", help="Excluded from the agent's score"),
        },
    )
    st.caption(
        "Click a row (or pick a case below) to work on it: that row turns gold. "
        "Overdue cases are red and always on top."
    )


def case_info(case: pd.Series, raw_case: pd.Series) -> None:
    """The picked case: who, when, what the customer said, the follow-up and the history."""
    case_id = int(case["case_id"])
    badge = ":red-badge[Overdue]" if case["overdue"] else f":gray-badge[{case['status']}]"
    st.markdown(f"#### Case #{case_id} · {md(case['agent'])} {badge}")
    st.markdown(
        f"**{'★' * int(case['stars'])}{'☆' * (5 - int(case['stars']))}** · team {md(case['team'])} · "
        f"{md(case['contact_reason'] or 'no contact reason')} · interaction {md(case['interaction_id'])}"
    )
    st.caption(
        f"Opened {md(case['opened'])} · due {md(case['due'])} ({md(case['timezone'])}) · **{md(case['when'])}**"
        + (f" · owner {md(case['owner'])}" if case["owner"] else " · nobody owns it yet")
    )
    st.markdown("**The customer said**")
    with st.container(border=True, key="rc_comment_box"):
        st.text(str(raw_case["comment"] or "") or "(no comment)")
    if pd.notna(raw_case["followup_stars"]):
        up = int(raw_case["followup_stars"]) - int(case["stars"])
        st.markdown(
            f"Follow-up rating **{int(raw_case['followup_stars'])}★** "
            f"({'+' if up >= 0 else ''}{up}★ on the original)"
        )
    if raw_case["notes"]:
        with st.expander("History", icon=":material/history:"):
            st.text(str(raw_case["notes"]))


def case_actions(cases: Cases, case: pd.Series, raw_case: pd.Series, flash) -> None:
    """Claim, a note, the status buttons, the follow-up rating and the exclusion of the picked case."""
    args = (int(case["case_id"]), str(case["interaction_id"]))
    status = str(raw_case["status"])
    if flash:
        (st.success if flash[0] == "success" else st.error)(md(flash[1]))
    mine = case["owner"] == cases.viewer.username
    st.button(
        "Claimed by you" if mine else ("Take over" if case["owner"] else "Claim"),
        key="rc_claim",
        on_click=_act,
        args=("claim", *args),
        disabled=mine,
        type="secondary" if mine else "primary",
        icon=":material/front_hand:",
        width="stretch",
    )
    st.text_input(
        "Note",
        key="rc_note",
        placeholder="What you did, what you agreed with the customer",
    )
    c1, c2, c3 = st.columns(3)
    c1.button(
        "Contacted", key="rc_contact", on_click=_act, args=("contacted", *args),
        disabled=status != "open", icon=":material/call:", width="stretch",
        help="You reached the customer: stamps the contact time",
    )
    if status in recovery.CLOSED_STATUSES:
        c2.button("Reopen", key="rc_reopen", on_click=_act, args=("open", *args),
                  icon=":material/undo:", width="stretch")
    else:
        c2.button("Resolved", key="rc_resolved", on_click=_act, args=("resolved", *args),
                  icon=":material/check_circle:", width="stretch")
        c3.button("No answer", key="rc_no_response", on_click=_act, args=("no_response", *args),
                  icon=":material/phone_missed:", width="stretch")
    st.markdown("**Follow-up rating**")
    f1, f2 = st.columns([3, 1.3], vertical_alignment="bottom")
    f1.segmented_control(
        "Follow-up stars", [1, 2, 3, 4, 5], format_func=lambda n: f"{n}★", key="rc_followup_stars",
        label_visibility="collapsed", disabled=status == "open",
    )
    f2.button("Save", key="rc_followup", on_click=_act, args=("followup", *args),
              disabled=status == "open", icon=":material/star:", width="stretch",
              help="The stars the customer gave when asked again after the call-back")
    cause, cause_reason = cases.excluded.get(case["interaction_id"], ("", ""))
    with st.expander("Not the agent's fault?", icon=":material/gavel:", expanded=bool(cause)):
        exclusion(case, args, cause=cause, cause_reason=cause_reason)


def exclusion(case: pd.Series, args: tuple, *, cause: str, cause_reason: str) -> None:
    """Exclude the rating from the agent's score (product, policy, system), or undo that."""
    if cause:
        st.info(
            f"Excluded from {md(case['agent'])}'s score: **{md(cause)}** — {md(cause_reason)}",
            icon=":material/block:",
        )
        st.button("Undo exclusion", key="rc_undo", on_click=_act, args=("undo", *args),
                  icon=":material/undo:", width="stretch")
        return
    st.caption(
        "A product fault, a policy or a broken system is not the agent's doing: exclude the "
        "rating from their figures. The case stays in the queue and in the root causes."
    )
    st.selectbox("Cause", EXCLUSION_CAUSES, format_func=CAUSE_HELP.__getitem__, key="rc_exclude_cause")
    st.text_input("Reason", key="rc_exclude_reason", placeholder="e.g. courier lost the parcel")
    st.button("Exclude from the agent's score", key="rc_exclude", on_click=_act,
              args=("exclude", *args), icon=":material/block:", width="stretch")


# --------------------------------------------------------------------------- the report tab


def report_tab(cases: Cases) -> None:
    settings = get_settings()
    home_tz = cases.home_tz
    p_col, note_col = st.columns([1, 3], vertical_alignment="bottom")
    spec = p_col.selectbox("Period", list(REPORT_PERIODS), format_func=REPORT_PERIODS.__getitem__, key="rc_report_period")
    period = _period(spec, home_tz)
    note_col.caption(
        f"Cases opened {md(period.label if spec != 'last12w' else 'in the last 12 weeks')}"
        + (f" · {period.start:%d %b} – {period.end - timedelta(days=1):%d %b %Y}" if period.start else "")
        + f" · days in {md(home_tz)} time · {md(cases.scope_label)}"
    )
    report = load_report(common.database_url(), cases.version, _viewer_key(cases.viewer), spec, home_tz, cases.viewer)
    summary = report["summary"]
    if summary.opened == 0:
        st.info("No cases were opened in this period.", icon=":material/hourglass_empty:")
        return
    fmt = common.fmt_number
    m = st.columns(5)
    m[0].metric("Cases opened", f"{summary.opened:,}", border=True)
    m[1].metric(
        "Contacted in time", fmt(summary.contacted_in_time_pct, "{:.0f}%"), border=True,
        help=f"Share called back within {settings.recovery_due_hours:g} h, of the cases that were called or are past due",
    )
    m[2].metric(
        "Median time to contact",
        recovery.duration_text(summary.median_minutes_to_contact) if summary.median_minutes_to_contact is not None else "–",
        border=True, help="From the low rating to the call-back",
    )
    m[3].metric("Resolved", fmt(summary.resolved_pct, "{:.0f}%"), border=True, help="Share of the cases opened that ended resolved")
    m[4].metric(
        "Follow-up rating",
        fmt(summary.followup_avg, "{:.2f} ★"),
        **({"delta": f"{summary.uplift:+.2f} ★ on {summary.original_avg:.2f} ★"} if summary.uplift is not None else {}),
        border=True,
        help=f"Average stars customers gave when asked again ({summary.followups} follow-ups), against their first rating",
    )
    if summary.uplift_ratio:
        st.caption(
            f"Customers who were called back rated **{summary.uplift_ratio:.1f}×** higher the second time. "
            "Well-run recovery programs see follow-ups several times the original rating."
        )
    report_charts(report, overall=summary.contacted_in_time_pct)


def report_charts(report: dict, *, overall) -> None:
    """Week by week and team by team: stars before and after, and calls in time."""
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("**Before and after the call-back, by week**")
        st.container(key="rc_weekly_stars_box").altair_chart(
            charts_recovery.weekly_stars_chart(report["weeks"]), key="rc_weekly_stars"
        )
    with right:
        st.markdown("**Called back in time, by week**")
        st.container(key="rc_weekly_time_box").altair_chart(
            charts_recovery.weekly_in_time_chart(report["weeks"]), key="rc_weekly_time"
        )
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("**Uplift by team** · original ★ → follow-up ★")
        st.altair_chart(charts_recovery.uplift_by_team_chart(report["teams"]), key="rc_team_uplift")
    with right:
        st.markdown("**Contacted in time by team** · dashed: overall")
        st.altair_chart(
            charts_recovery.in_time_by_team_chart(report["teams"], overall=overall),
            key="rc_team_time",
        )
    st.markdown("**By team**")
    st.dataframe(
        pd.DataFrame(report["teams"]),
        key="rc_report_teams",
        hide_index=True,
        column_config={
            "team": st.column_config.TextColumn("Team"),
            "opened": st.column_config.NumberColumn("Opened", format="%d"),
            "contacted_in_time_pct": st.column_config.NumberColumn("In time", format="%.0f%%"),
            "median_minutes_to_contact": st.column_config.NumberColumn("Median to contact", format="%.0f min"),
            "resolved_pct": st.column_config.NumberColumn("Resolved", format="%.0f%%"),
            "followups": st.column_config.NumberColumn("Follow-ups", format="%d"),
            "original_avg": st.column_config.NumberColumn("Original ★", format="%.2f"),
            "followup_avg": st.column_config.NumberColumn("Follow-up ★", format="%.2f"),
            "uplift": st.column_config.NumberColumn("Uplift ★", format="%+.2f"),
        },
    )


# --------------------------------------------------------------------------- the root causes tab


def causes_tab(cases: Cases) -> None:
    settings = get_settings()
    p_col, note_col = st.columns([1, 3], vertical_alignment="bottom")
    cspec = p_col.selectbox("Period", list(CAUSE_PERIODS), format_func=CAUSE_PERIODS.__getitem__, key="rc_causes_period")
    note_col.caption(
        f"Ratings of {settings.recovery_threshold}★ or less by contact reason, and whose fault they were · {md(cases.scope_label)} · days in {md(cases.home_tz)} time"
    )
    causes = load_root_causes(
        common.database_url(), cases.version, _viewer_key(cases.viewer), cspec, cases.home_tz,
        settings.recovery_threshold, cases.viewer,
    )
    if causes.empty:
        st.success("No low ratings in this period.", icon=":material/sentiment_satisfied:")
        return
    by_reason = causes.groupby("contact_reason", sort=False)["ratings"].sum().sort_values(ascending=False, kind="mergesort")
    top_reason, top_n = by_reason.index[0], int(by_reason.iloc[0])
    total = int(causes["ratings"].sum())
    not_agent = int(causes.loc[causes["cause"] != "agent", "ratings"].sum())
    st.markdown(
        f"**{md(top_reason)}** is behind {top_n} of {total} low ratings ({100 * top_n / total:.0f}%)"
        + (f" · {not_agent} were not the agent's fault" if not_agent else "")
    )
    chart_col, table_col = st.columns([3, 2], gap="large")
    with chart_col:
        st.altair_chart(charts_recovery.root_causes_chart(causes), key="rc_causes_chart")
    with table_col:
        st.dataframe(
            causes,
            key="rc_causes",
            hide_index=True,
            height=common.table_height(len(causes), max_rows=14),
            column_config={
                "contact_reason": st.column_config.TextColumn("Contact reason"),
                "cause": st.column_config.TextColumn("Cause", help="agent: counts in the agent's figures"),
                "ratings": st.column_config.NumberColumn("Low ratings", format="%d"),
                "avg_stars": st.column_config.NumberColumn("Avg ★", format="%.2f"),
            },
        )
    st.caption(
        "When several agents' low ratings share one contact reason, it is a training topic or a process to fix, "
        "not one agent's failing. Ratings excluded as product, policy or system stay here so the cause gets fixed."
    )


def render() -> None:
    viewer = access.require_viewer(roles=ROLES)
    settings = get_settings()
    cases = load_cases(viewer)
    st.title("Service recovery")
    st.caption(
        f"{md(cases.scope_label)} · a rating of {settings.recovery_threshold}★ or less opens a case at once: call the customer "
        f"back within {settings.recovery_due_hours:g} h · times are each site's local time"
    )
    headline(cases)
    tabs = st.tabs([":material/inbox: Queue", ":material/monitoring: Report", ":material/troubleshoot: Root causes"])
    for tab, view in zip(tabs, (queue_tab, report_tab, causes_tab)):
        with tab:
            view(cases)


render()
