"""Coaching: the team leader's workspace, kept open at the desk between calls.

    ?team=Alpha&tab=Agent

Tabs: the prompts queue (done / dismiss), the team at a glance with the
ratios, one agent's drill-down (feedback, tags, stars against the team,
coaching history, a GROW 1:1 prep sheet), the daily digest and the training
topics. The team and the tab live in the URL so a view can be bookmarked.

Every read goes through a viewer-filtered function of ``leaderboard.coaching``
or ``db.queries``: a crafted URL shows nothing beyond the viewer's own teams.
Customer comments are shown with ``st.text`` or in dataframe cells, never as
Markdown; every other piece of user text goes through ``common.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial

import pandas as pd
import streamlit as st
from sqlmodel import Session

from db import coaching_store, queries
from db.models import utcnow
from leaderboard import charts_coaching, coaching, ratios
from leaderboard.auth import Viewer
from leaderboard.coaching import CoachingError
from leaderboard.periods import PERIODS, local_date, local_midnight_utc, resolve_period, week_key, zone
from leaderboard.settings import get_settings
from pages import access, common, loaders, nav
from pages.common import md

nav.enter()

TABS = ("Prompts", "Team", "Agent", "Digest", "Training")
QUEUE_PAGE = 10
FEEDBACK_PAGE = 10
GENERATE_TTL_SECONDS = 300  # time-based rules (new in 48 h, a week without a note) move without new data
KIND_STYLE = {  # prompt kind -> (label, badge colour, icon)
    "praise": ("Praise", "green", ":material/celebration:"),
    "develop": ("Develop", "orange", ":material/school:"),
    "training": ("Training", "violet", ":material/groups:"),
    "stretch": ("Stretch", "blue", ":material/rocket_launch:"),
    "check-in": ("Check-in", "gray", ":material/waving_hand:"),
}
STATUS_COLOUR = {
    ratios.ON_TARGET: "green",
    ratios.BELOW_TARGET: "red",
    ratios.NO_CRITICISM: "orange",
    ratios.NO_NOTES: "gray",
}
FEEDBACK_PERIODS = ("last7", "last30", "week", "month", "today", "all")
FLASH_KEY = "co_flash"
NOTE_KEY = "co_note"  # the note being written: ids, kind and a draft (UI state only)
TEAM_KEY = "co_team"
URL_SEEN_KEY = "co_team_url"


# --------------------------------------------------------------------------- cached reads


@st.cache_data(ttl=GENERATE_TTL_SECONDS, max_entries=256, show_spinner=False)
def generate_for_team(url: str, team_id: int, version: tuple) -> int:
    """Run the prompt rules for one team once per data version (and every few minutes): new prompts."""
    with Session(common.get_engine(), expire_on_commit=False) as session:
        return len(coaching.generate_prompts(session=session, team_ids=[team_id]))


@st.cache_data(ttl=common.DATA_TTL_SECONDS, max_entries=64, show_spinner=False)
def load_team_table(url: str, who: Viewer, team_id: int, version: tuple) -> pd.DataFrame:
    with Session(common.get_engine()) as session:
        return coaching.team_table(session=session, viewer=who, team_id=team_id)


@st.cache_data(ttl=common.DATA_TTL_SECONDS, max_entries=64, show_spinner=False)
def load_grow_sheet(url: str, who: Viewer, agent_id: int, version: tuple) -> str:
    with Session(common.get_engine()) as session:
        return coaching.grow_sheet(session=session, viewer=who, agent_id=agent_id)


@st.cache_data(ttl=common.DATA_TTL_SECONDS, max_entries=32, show_spinner=False)
def load_training(url: str, who: Viewer, version: tuple) -> pd.DataFrame:
    with Session(common.get_engine()) as session:
        return coaching.training_topics(session=session, viewer=who)


@st.cache_data(ttl=common.DATA_TTL_SECONDS, max_entries=64, show_spinner=False)
def load_weekly_given(url: str, who: Viewer, team_id: int, author_id: int, version: tuple) -> pd.DataFrame:
    with Session(common.get_engine()) as session:
        return ratios.weekly_ratios(
            session=session, by="leader", weeks=8, team_id=team_id, ids=[author_id], viewer=who, settings=get_settings()
        )


# --------------------------------------------------------------------------- small helpers


def local_text(value, tz, fmt: str = "%a %d %b %H:%M") -> str:
    """A naive UTC time (or ISO text) as the site's local time; "" when missing."""
    if value is None or value == "":
        return ""
    stamp = pd.Timestamp(value)
    if pd.isna(stamp):
        return ""
    return stamp.tz_localize("UTC").tz_convert(tz).strftime(fmt)


def local_series(values: pd.Series, tz) -> pd.Series:
    """Naive UTC times as naive local ones (for dataframe date columns)."""
    stamps = pd.to_datetime(values)
    return stamps.dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None)


def stars_text(stars: int) -> str:
    return "★" * int(stars) + "☆" * (5 - int(stars))


def flash(level: str, message: str) -> None:
    """A message for the next run (already Markdown-safe)."""
    st.session_state[FLASH_KEY] = (level, message)


def ratio_sentence(ratio: dict) -> str:
    if ratio["label"]:
        return f"{ratio['label']} ({ratio['status']})"
    return f"{ratio['praise']} praise, no criticism yet" if ratio["praise"] else "no notes yet"


def flash_logged(lead: str, who: str, note, *, me: Viewer, author_id: int | None, ratio: dict) -> None:
    """Flash "<lead> for <who> logged <where>: <text>" and the author's praise ratio this week."""
    where = "in public" if note.visibility == "public" else "1:1"
    whose = "Your" if author_id == me.user_id else "The team leader's"
    flash(
        "success",
        f"{lead} for **{md(who)}** logged {where}: “{md(note.text)}”  \n"
        f"{whose} ratio this week: **{md(ratio_sentence(ratio))}**",
    )


def team_labels(teams: pd.DataFrame) -> dict[int, str]:
    """The URL name of each team: its name, or SITE/TEAM when the viewer sees two teams of that name."""
    repeated = teams["team"].str.casefold().duplicated(keep=False)
    return {
        int(t): (f"{site}/{name}" if rep else str(name))
        for t, name, site, rep in zip(teams["team_id"], teams["team"], teams["site"], repeated)
    }


def match_team(wanted: str, teams: pd.DataFrame, labels: dict[int, str]) -> int | None:
    """The team a URL names (its label, SITE/TEAM, or an unambiguous name; any case), else None."""
    key = wanted.strip().casefold()
    for team_id, label in labels.items():
        if label.casefold() == key:
            return team_id
    full = {int(t): f"{s}/{n}".casefold() for t, n, s in zip(teams["team_id"], teams["team"], teams["site"])}
    found = [t for t, name in full.items() if name == key]
    if not found:
        found = [int(t) for t, n in zip(teams["team_id"], teams["team"]) if str(n).casefold() == key]
    return found[0] if len(found) == 1 else None


# --------------------------------------------------------------------------- actions (callbacks)


def _coach_or_none() -> Viewer | None:
    # Callbacks run before the script: check who is signed in again rather than trust the last run.
    me = access.current_viewer()
    return me if me is not None and me.role in coaching.COACH_ROLES else None


def on_done(prompt_id: int, who: str, kind: str) -> None:
    """Mark a prompt done without a note (a team prompt, or "Done without a note" in the dialog)."""
    me = _coach_or_none()
    if me is None:
        return
    with Session(common.get_engine(), expire_on_commit=False) as session:
        try:
            coaching.mark_done(session=session, prompt_id=prompt_id, by_user_id=me.user_id)
        except CoachingError as exc:
            flash("warning", md(exc))
            return
    flash("success", f"Done: {md(who)} ({kind}) is off the list. No note was logged.")


def open_done(row: dict) -> None:
    """Done on an agent's prompt: open the note form with a suggested note written to the agent.

    Nothing is logged until the leader saves it (edited or as it is), or closes the prompt without one.
    """
    items = list(row.get("evidence_items") or [])
    first = items[0] if items else {}
    offer = coaching.note_suggestion(row)
    open_note(
        int(row["agent_id"]), row["agent"], offer["kind"] or "praise", rating_id=first.get("rating_id"),
        interaction_id=first.get("interaction_id"), stars=first.get("stars"), comment=first.get("comment"),
    )
    st.session_state[NOTE_KEY]["prompt_id"] = int(row["id"])
    st.session_state[NOTE_KEY]["prompt_kind"] = KIND_STYLE.get(row["kind"], (row["kind"],))[0].lower()
    st.session_state["co_note_vis"] = offer["visibility"]
    st.session_state[f"co_note_text_{offer['kind'] or 'praise'}"] = offer["text"]


def on_dismiss(prompt_id: int, who: str) -> None:
    me = _coach_or_none()
    if me is None:
        return
    with Session(common.get_engine(), expire_on_commit=False) as session:
        try:
            coaching.dismiss(session=session, prompt_id=prompt_id, by_user_id=me.user_id)
        except CoachingError as exc:
            flash("warning", md(exc))
            return
    flash("info", f"Dismissed the prompt for {md(who)}. It will not come back.")


def on_refresh(team_id: int) -> None:
    if _coach_or_none() is None:
        return
    with Session(common.get_engine(), expire_on_commit=False) as session:
        created = len(coaching.generate_prompts(session=session, team_ids=[team_id]))
    flash("info", f"{created} new prompt{'s' if created != 1 else ''}." if created else "No new prompts: you are up to date.")


def open_note(agent_id: int, agent: str, kind: str, rating_id: int | None = None, interaction_id: str | None = None,
              stars: int | None = None, comment: str | None = None) -> None:
    """Open the note dialog about one agent (and one rating), both drafts prefilled."""
    st.session_state[NOTE_KEY] = {
        "agent_id": int(agent_id), "agent": agent, "rating_id": rating_id, "interaction_id": interaction_id,
        "stars": stars,
    }
    st.session_state["co_note_kind"] = kind
    st.session_state["co_note_vis"] = "public" if kind == "praise" else "private"
    for k in ("praise", "criticism"):
        st.session_state[f"co_note_text_{k}"] = coaching.note_draft(
            kind=k, agent=agent, interaction_id=interaction_id, stars=stars, comment=comment
        )


def close_note() -> None:
    for key in (NOTE_KEY, "co_note_kind", "co_note_vis", "co_note_text_praise", "co_note_text_criticism"):
        st.session_state.pop(key, None)


def open_agent(agent_ids: tuple[int, ...]) -> None:
    """A row picked in the team table opens that agent's drill-down."""
    picked = st.session_state.get("co_team_table", {}).get("selection", {}).get("rows", [])
    if picked:
        st.session_state["co_agent"] = agent_ids[picked[0]]
        st.session_state["tab"] = "Agent"


def more(key: str, step: int) -> None:
    st.session_state[key] = st.session_state.get(key, step) + step


@st.dialog("Log a coaching note", on_dismiss=close_note)
def note_dialog(team_id: int, author_id: int | None) -> None:
    target = st.session_state.get(NOTE_KEY) or {}
    prompt_id = target.get("prompt_id")
    about = f" · {stars_text(target['stars'])} on {md(target['interaction_id'])}" if target.get("stars") else ""
    st.markdown(f"**{md(target.get('agent', ''))}**{about}")
    if prompt_id is not None:
        st.caption(
            f":material/edit_note: {md(target.get('agent', ''))} reads this note under My coaching: "
            "write it to them, in your words, or mark the prompt done without a note."
        )
    kind = st.segmented_control(
        "Kind", ("praise", "criticism"), key="co_note_kind", required=True,
        format_func={"praise": "Praise", "criticism": "Criticism"}.get,
    )
    if kind == "criticism":
        visibility = "private"
        st.caption(":material/lock: Criticism is always given 1:1, face to face, never in public.")
    else:
        visibility = st.segmented_control(
            "Where", ("public", "private"), key="co_note_vis", required=True,
            format_func={"public": "Public (may reach the wall)", "private": "1:1"}.get,
        )
    text = st.text_area(
        "Note", key=f"co_note_text_{kind}", max_chars=coaching.MAX_NOTE_LENGTH, height=110,
        help="Specific and recent: what the agent did, and why it mattered.",
    )
    buttons = st.columns(3 if prompt_id is not None else 2)
    save_label = "Save note, done" if prompt_id is not None else "Save note"
    if buttons[0].button(save_label, key="co_note_save", type="primary", icon=":material/check:", width="stretch"):
        me = _coach_or_none()
        if me is None:
            st.error("Please sign in again.")
            return
        with Session(common.get_engine(), expire_on_commit=False) as session:
            try:
                if prompt_id is not None:
                    if not (text or "").strip():
                        raise CoachingError("a note needs some text (or use “Done, no note”)")
                    note = coaching.mark_done(
                        session=session, prompt_id=prompt_id, by_user_id=me.user_id, text=text, kind=kind,
                        visibility=visibility,
                    )
                else:
                    note = coaching.log_note(
                        session=session, agent_id=target["agent_id"], author_id=me.user_id, kind=kind, text=text,
                        visibility=visibility, rating_id=target.get("rating_id"),
                    )
            except CoachingError as exc:
                st.error(md(exc))
                return
            ratio = coaching.given_ratio(session=session, viewer=me, team_id=team_id, author_id=author_id)
        lead = f"Done: {note.kind}" if prompt_id is not None else note.kind.capitalize()
        flash_logged(lead, target["agent"], note, me=me, author_id=author_id, ratio=ratio)
        close_note()
        st.rerun()
    if prompt_id is not None and buttons[1].button(
        "Done, no note", key="co_note_skip", icon=":material/done:", width="stretch",
        help="Close the prompt; nothing is written to the agent",
    ):
        on_done(prompt_id, target["agent"], target.get("prompt_kind", "prompt"))
        close_note()
        st.rerun()
    if buttons[-1].button("Cancel", key="co_note_cancel", width="stretch"):
        close_note()
        st.rerun()


# --------------------------------------------------------------------------- pieces of the page


def tags_text(went_well, to_improve) -> str:
    parts = [f"{label}: {', '.join(tags)}" for label, tags in (("went well", went_well), ("to improve", to_improve)) if len(tags or [])]
    return " · ".join(parts)


def evidence_block(item: dict, tz) -> None:
    """One rating behind a prompt: stars, id, time and tags as a caption; the customer's words as plain text."""
    tags = item.get("tags") or {}
    meta = [md(item.get("interaction_id", "")), md(local_text(item.get("rated_at"), tz))]
    listed = tags_text(tags.get("went_well"), tags.get("to_improve"))
    if listed:
        meta.append(md(listed))
    st.caption(f":orange[{stars_text(item.get('stars', 0))}] · " + " · ".join(meta))
    comment = (item.get("comment") or "").strip()
    if comment:
        st.text(f"“{comment}”")


def evidence_table(items: list[dict], tz) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "stars": [stars_text(i.get("stars", 0)) for i in items],
            "interaction": [str(i.get("interaction_id", "")) for i in items],
            "when": [local_text(i.get("rated_at"), tz) for i in items],
            "comment": [str(i.get("comment") or "") for i in items],
        }
    )


def prompt_card(row: dict, *, tz, team_id: int, author_id: int | None) -> None:
    pid = int(row["id"])
    label, colour, icon = KIND_STYLE.get(row["kind"], (row["kind"], "gray", None))
    who = row["agent"] or f"Team {row['team']}"
    note_kind = coaching.NOTE_FOR_KIND.get(row["kind"])
    public = row["kind"] == "praise" and not row.get("hide_from_wall")
    with st.container(border=True, key=f"co_prompt_{pid}"):
        body, actions = st.columns([5, 1.15], vertical_alignment="top")
        with body:
            head = st.container(horizontal=True, vertical_alignment="center", gap="small")
            head.badge(label, color=colour, icon=icon)
            head.markdown(f"**{md(who)}**")
            st.markdown(md(row["purpose"]))
            items = list(row["evidence_items"] or [])
            if items:
                evidence_block(items[0], tz)
            if len(items) > 1:
                with st.expander(f"{len(items) - 1} more rating{'s' if len(items) > 2 else ''} behind this prompt"):
                    st.dataframe(evidence_table(items[1:], tz), hide_index=True, key=f"co_evidence_{pid}")
            st.caption(f":material/schedule: {md(row['why_now'])}")
            if row["opening"]:
                st.markdown(f":material/record_voice_over: *{md(row['opening'])}*")
        with actions:
            if note_kind and row["agent"]:
                st.button(
                    "Done", key=f"co_done_{pid}", type="primary", icon=":material/check:", width="stretch",
                    help=(f"Write a short note to {row['agent']} (suggested: {note_kind}, "
                          f"{'public' if public else '1:1'}; you choose), or close the prompt without one"),
                    on_click=open_done, args=(row,),
                )
            else:
                st.button(
                    "Done", key=f"co_done_{pid}", type="primary", icon=":material/check:", width="stretch",
                    help="Closes the prompt (a team session logs no note)",
                    on_click=on_done, args=(pid, who, label.lower()),
                )
            st.button(
                "Dismiss", key=f"co_dismiss_{pid}", type="tertiary", icon=":material/close:", width="stretch",
                help="Not useful: drop it (it is not generated again)", on_click=on_dismiss, args=(pid, who),
            )


def note_list(notes: pd.DataFrame, tz, *, show_agent: bool, height: int | str = "content") -> None:
    """Coaching notes, newest first: who, when and where as a caption, the note itself as plain text."""
    with st.container(border=True, height=height):
        for rec in notes.to_dict("records"):
            icon = ":material/thumb_up:" if rec["kind"] == "praise" else ":material/forum:"
            parts = [local_text(rec["created_at"], tz, "%a %d %b %H:%M")]
            parts.append(rec["agent"] if show_agent else f"by {rec['author']}")
            parts.append(f"{rec['kind']}, {rec['visibility']}")
            st.caption(f"{icon} " + " · ".join(md(p) for p in parts))
            st.text(rec["text"])


def feedback_card(row: dict, *, tz, agent_id: int, agent: str, prefix: str, show_agent: bool = False) -> None:
    rid = int(row["rating_id"])
    stars = int(row["stars"])
    with st.container(border=True, key=f"{prefix}_card_{rid}"):
        body, actions = st.columns([3, 1.25], vertical_alignment="top")
        with body:
            who = f"**{md(row['agent'])}** · " if show_agent else ""
            st.markdown(
                f"{who}:orange[{stars_text(stars)}] · {md(row['interaction_id'])} · {md(row['channel'])} · "
                f"{md(local_text(row['rated_at'], tz))}"
            )
            comment = (row.get("comment") or "").strip()
            if comment:
                st.text(f"“{comment}”")
            listed = tags_text(row.get("went_well"), row.get("to_improve"))
            if listed:
                st.caption(md(listed))
        with actions:
            args = (agent_id, agent)
            extra = {"rating_id": rid, "interaction_id": str(row["interaction_id"]), "stars": stars, "comment": comment}
            st.button(
                "Praise", key=f"{prefix}_praise_{rid}", icon=":material/thumb_up:", width="stretch",
                type="primary" if stars >= 4 else "secondary", on_click=open_note, args=(*args, "praise"), kwargs=extra,
            )
            st.button(
                "Coach 1:1", key=f"{prefix}_coach_{rid}", icon=":material/forum:", width="stretch",
                type="primary" if stars <= 3 else "secondary", on_click=open_note, args=(*args, "criticism"), kwargs=extra,
            )

# --------------------------------------------------------------------------- the team at the desk


@dataclass(frozen=True)
class Desk:
    """What every tab reads: the viewer, the team picked, its clock and this week's figures."""

    viewer: Viewer
    url: str
    version: tuple
    team: dict
    team_id: int
    tz: object
    now: datetime
    today: date
    author_id: int
    is_me: bool
    leader_name: str
    ratio: dict
    table: pd.DataFrame
    individual: pd.DataFrame
    team_prompts: pd.DataFrame

    @property
    def agent_names(self) -> dict[int, str]:
        return dict(zip(self.table["agent_id"].astype(int), self.table["agent"].astype(str)))

    @property
    def agent_by_name(self) -> dict[str, int]:
        return {name: agent_id for agent_id, name in self.agent_names.items()}


def pick_team(viewer: Viewer, teams: pd.DataFrame, team_col) -> tuple[dict, str | None]:
    """The team shown (from the URL, else the last pick, else the viewer's own) and a URL team that matched none."""
    labels = team_labels(teams)
    problem = None
    wanted = st.query_params.get("team")
    if wanted is not None and wanted != st.session_state.get(URL_SEEN_KEY):
        found = match_team(wanted, teams, labels)
        if found is None:
            problem = wanted
        else:
            st.session_state[TEAM_KEY] = found
    if st.session_state.get(TEAM_KEY) not in labels:
        own = [t for t in labels if t in viewer.team_ids]
        st.session_state[TEAM_KEY] = own[0] if own else next(iter(labels))
    team_info = {int(r["team_id"]): r for r in teams.to_dict("records")}
    many_sites = teams["site"].nunique() > 1
    if len(labels) > 1:
        team_col.selectbox(
            "Team",
            list(labels),
            key=TEAM_KEY,
            format_func=lambda t: f"{team_info[t]['team']} · {team_info[t]['site']}" if many_sites else team_info[t]["team"],
        )
    team_id = int(st.session_state[TEAM_KEY])
    if st.query_params.get("team") != labels[team_id]:
        st.query_params["team"] = labels[team_id]
    st.session_state[URL_SEEN_KEY] = labels[team_id]
    return team_info[team_id], problem


def show_flash() -> None:
    message = st.session_state.pop(FLASH_KEY, None)
    if message:
        level, text = message
        {"success": st.success, "warning": st.warning}.get(level, st.info)(
            text, icon={"success": ":material/check_circle:", "warning": ":material/warning:"}.get(level, ":material/info:")
        )


def open_desk(viewer: Viewer) -> Desk:
    """The title, the team picker and caption, the last action's message, and the team's data (or a stop)."""
    with Session(common.get_engine()) as session:
        teams = coaching_store.team_frame(session=session, viewer=viewer)

    head_col, team_col = st.columns([3, 1.3], vertical_alignment="bottom")
    head_col.title("Coaching")
    if teams.empty:
        st.info(
            "You do not lead a team yet, so there is nobody to coach here. An admin can make you a team's leader.",
            icon=":material/group_off:",
        )
        st.stop()
    team, problem = pick_team(viewer, teams, team_col)
    team_id = int(team["team_id"])

    tz = zone(team["timezone"])
    now = utcnow()
    today = local_date(now, tz)
    leader_id = int(team["leader_id"]) if pd.notna(team["leader_id"]) else None
    author_id = leader_id if leader_id is not None else viewer.user_id
    leader_name = team["leader"] if isinstance(team["leader"], str) and team["leader"] else "nobody yet"
    if leader_id == viewer.user_id:
        led_by = "led by you"
    elif leader_id is None:
        led_by = "no team leader yet"
    else:
        led_by = f"led by {md(leader_name)}"
    st.caption(f"**{md(team['team'])}** · {md(team['site'])} · {led_by} · week {week_key(today)} · times in {md(tz.key)}")
    if problem is not None:
        st.warning(
            f"There is no team “{md(problem)}” among the teams you coach, so here is {md(team['team'])}.",
            icon=":material/travel_explore:",
        )
    show_flash()

    url = common.database_url()
    version = common.data_version()
    # The rules read ratings and notes: key their run on the leading fields of the version (ratings,
    # awards, notes), not on the prompt and audit ids a run (or a Done, a Dismiss) itself moves.
    generate_for_team(url, team_id, tuple(version[:4]))
    version = common.data_version()

    with Session(common.get_engine(), expire_on_commit=False) as session:
        queue = coaching.open_prompts(session=session, viewer=viewer, team_id=team_id, now=now)
        ratio = coaching.given_ratio(session=session, viewer=viewer, team_id=team_id, author_id=author_id, now=now)
    return Desk(
        viewer=viewer,
        url=url,
        version=version,
        team=team,
        team_id=team_id,
        tz=tz,
        now=now,
        today=today,
        author_id=author_id,
        is_me=author_id == viewer.user_id,
        leader_name=leader_name,
        ratio=ratio,
        table=load_team_table(url, viewer, team_id, version),
        individual=queue[queue["kind"] != "training"].reset_index(drop=True),
        team_prompts=queue[queue["kind"] == "training"].reset_index(drop=True),
    )


def headline(desk: Desk) -> None:
    """Four figures: the leader's ratio, open prompts, agents coached and ratings this week."""
    ratio, table, team_prompts = desk.ratio, desk.table, desk.team_prompts
    m1, m2, m3, m4 = st.columns(4)
    if ratio["label"]:
        ratio_value = ratio["label"]
    elif ratio["praise"]:
        ratio_value = f"{ratio['praise']} : 0"
    else:
        ratio_value = "–"
    m1.metric(
        "Your ratio this week" if desk.is_me else "Leader's ratio this week",
        ratio_value,
        delta=ratio["status"],
        delta_color=STATUS_COLOUR.get(ratio["status"], "gray"),
        delta_arrow="off",
        border=True,
        help=(
            f"Praise : criticism in the notes {'you' if desk.is_me else md(desk.leader_name)} gave {md(desk.team['team'])} this week: "
            f"{ratio['praise']} praise, {ratio['criticism']} criticism. "
            f"Aim for {ratio['target']}: great agents who hear only criticism leave."
        ),
    )
    budget = int(desk.individual["in_budget"].sum()) if len(desk.individual) else 0
    m2.metric(
        "Open prompts",
        f"{budget}" + (f" + {len(desk.individual) - budget} more" if len(desk.individual) > budget else ""),
        delta=f"+ {len(team_prompts)} training topic{'s' if len(team_prompts) != 1 else ''}" if len(team_prompts) else None,
        delta_color="violet",
        delta_arrow="off",
        border=True,
        help="Who to praise or coach now, highest priority first: today's budget, then the ones that can wait",
    )
    coached = int(((table["praise"] + table["criticism"]) > 0).sum()) if len(table) else 0
    m3.metric(
        "Coached this week",
        f"{coached} of {len(table)}",
        border=True,
        help="Agents who received at least one note this week. Coach everyone, most of all those closest to the top.",
    )
    m4.metric(
        "Ratings this week",
        f"{int(table['ratings_this_week'].sum()) if len(table) else 0:,}",
        border=True,
        help="Customer ratings of the team's agents since Monday (site time)",
    )


# --------------------------------------------------------------------------- the prompts tab


def prompts_tab(desk: Desk) -> None:
    queue_col, side_col = st.columns([2.3, 1], gap="large")
    with queue_col:
        prompt_queue(desk)
    with side_col:
        ratio_side(desk)


def prompt_queue(desk: Desk) -> None:
    """The open prompts, filtered by kind, a page at a time."""
    individual = desk.individual
    counts = individual["kind"].value_counts().to_dict()
    kinds = ["all", *[k for k in KIND_STYLE if k != "training" and counts.get(k)]]
    if st.session_state.get("co_kind") not in kinds:
        st.session_state["co_kind"] = "all"
    bar = st.container(horizontal=True, vertical_alignment="bottom", gap="small")
    shown_kind = bar.segmented_control(
        "Show",
        kinds,
        key="co_kind",
        required=True,
        format_func=lambda k: f"All {len(individual)}" if k == "all" else f"{KIND_STYLE[k][0]} {counts.get(k, 0)}",
        label_visibility="collapsed",
    )
    bar.space("stretch")
    bar.button(
        "Refresh prompts", key="co_refresh", icon=":material/refresh:", type="tertiary",
        on_click=on_refresh, args=(desk.team_id,), help="Run the coaching rules now for new ratings",
    )
    pick = individual if shown_kind in (None, "all") else individual[individual["kind"] == shown_kind]
    if pick.empty:
        st.success(
            "All caught up: nothing waits for you. New prompts appear here as ratings come in.",
            icon=":material/done_all:",
        )
    # Today's budget (STARBOARD_PROMPT_BUDGET per 10 agents), highest priority first; the rest folded away.
    now_rows = pick[pick["in_budget"]]
    later = pick[~pick["in_budget"]]
    for row in now_rows.to_dict("records"):
        prompt_card(row, tz=desk.tz, team_id=desk.team_id, author_id=desk.author_id)
    if later.empty:
        return
    with st.expander(
        f"{len(later)} more prompt{'s' if len(later) != 1 else ''}, lower priority (over today's budget)",
        expanded=False, icon=":material/unfold_more:",
    ):
        st.caption("The queue above is today's budget, most important first. These can wait, or be dismissed.")
        limit = st.session_state.get("co_queue_n", QUEUE_PAGE)
        for row in later.head(limit).to_dict("records"):
            prompt_card(row, tz=desk.tz, team_id=desk.team_id, author_id=desk.author_id)
        if len(later) > limit:
            st.button(
                f"Show {min(QUEUE_PAGE, len(later) - limit)} more of {len(later) - limit}", key="co_more",
                icon=":material/expand_more:", on_click=more, args=("co_queue_n", QUEUE_PAGE), width="stretch",
            )


def ratio_side(desk: Desk) -> None:
    """The leader's ratio week by week and the notes given this week."""
    st.markdown("#### " + ("Your ratio by week" if desk.is_me else "Leader's ratio by week"))
    weekly = load_weekly_given(desk.url, desk.viewer, desk.team_id, desk.author_id, desk.version)
    st.altair_chart(
        charts_coaching.ratio_trend_chart(weekly, target=get_settings().ratio_target, height=260), key="co_ratio_trend"
    )
    st.caption("Praise per criticism given to the team each week. A hollow triangle: praise and no criticism.")
    st.markdown("#### Notes given this week")
    week_start = local_midnight_utc(desk.today - timedelta(days=desk.today.weekday()), desk.tz)
    with Session(common.get_engine()) as session:
        given = coaching.notes_history(
            session=session, viewer=desk.viewer, team_id=desk.team_id, author_id=desk.author_id, since=week_start, limit=50
        )
    if given.empty:
        st.caption("No notes yet this week. A “Done” on a prompt logs one.")
    else:
        note_list(given, desk.tz, show_agent=True, height=420 if len(given) > 5 else "content")


# --------------------------------------------------------------------------- the team tab

TEAM_STATUS_CSS = {
    ratios.ON_TARGET: "color: #46A758; font-weight: 600",
    ratios.BELOW_TARGET: "color: #FF6B6B; font-weight: 600",
    ratios.NO_CRITICISM: "color: #F5B700",
    ratios.NO_NOTES: "color: #8A96AA",
}


def team_view(table: pd.DataFrame, tz) -> pd.DataFrame:
    """The team table's rows as shown: one per agent, times in the site's clock."""
    return pd.DataFrame(
        {
            # A provisional agent has no rank: a dash, never a raw "None".
            "rank": [("–" if pd.isna(r) else str(int(r))) for r in table["rank"]],
            "agent": table["agent"].astype(str),
            "score": pd.to_numeric(table["score"], errors="coerce").astype("float64"),
            "avg_stars": pd.to_numeric(table["avg_stars"], errors="coerce").astype("float64"),
            "ratings": table["ratings_this_week"].astype("int64"),
            "praise": table["praise"].astype("int64"),
            "criticism": table["criticism"].astype("int64"),
            "ratio": [lab or "–" for lab in table["ratio_received"]],
            "status": table["ratio_status"].astype(str),
            "last_coached": local_series(table["last_coached"].astype("datetime64[ns]"), tz),
        }
    )


def team_tab(desk: Desk) -> None:
    table = desk.table
    st.subheader(f"{md(desk.team['team'])} this week")
    st.caption("Pick a row to open the agent's drill-down. Ratios are the notes each agent received this week.")
    view = team_view(table, desk.tz)
    st.dataframe(
        view.style.map(lambda s: TEAM_STATUS_CSS.get(s, ""), subset=["status"]),
        key="co_team_table",
        hide_index=True,
        on_select=partial(open_agent, tuple(int(a) for a in table["agent_id"])),
        selection_mode="single-row",
        height=common.table_height(len(view)),
        column_config={
            "rank": st.column_config.TextColumn("#", width=44, help="Rank by fair score this week (– provisional)"),
            "agent": st.column_config.TextColumn("Agent", width="medium"),
            "score": st.column_config.ProgressColumn(
                "Fair score", min_value=1.0, max_value=5.0, format="%.2f", width="medium",
                help="The leaderboard's fair score this week (few ratings pull towards the team average)",
            ),
            "avg_stars": st.column_config.NumberColumn("Avg ★", format="%.2f", width=70),
            "ratings": st.column_config.NumberColumn("Ratings", format="%d", width=72, help="Ratings this week"),
            "praise": st.column_config.NumberColumn("Praise", format="%d", width=64),
            "criticism": st.column_config.NumberColumn("Criticism", format="%d", width=76),
            "ratio": st.column_config.TextColumn("Ratio", width=80, help=f"Praise per criticism received; target {desk.ratio['target']}"),
            "status": st.column_config.TextColumn("Status", width=130),
            "last_coached": st.column_config.DatetimeColumn("Last coached", format="ddd D MMM HH:mm", width="medium"),
        },
    )
    unranked = int(table["rank"].isna().sum())
    if unranked:
        st.caption(
            f"{unranked} agent{'s' if unranked != 1 else ''} without a rank: fewer than {get_settings().min_ratings} "
            "ratings this week (provisional)."
        )
    survey_check(desk)


def survey_check(desk: Desk) -> None:
    """Check survey sending (issue 17): too few low ratings for an agent's contact mix. Leaders and managers only."""
    st.subheader("Check survey sending")
    st.caption(
        "Where agents choose whom to survey, only the good calls may get one. Flagged: far fewer 1–3★ answers "
        "than the agent's own mix of contact reasons and channels gives the rest of the center (corrected for "
        "checking every agent), while fewer of their contacts get or answer a survey than the team's. "
        "Evidence for a private conversation, never a verdict."
    )
    period = st.selectbox("Over", ("last30", "month", "all"), format_func=PERIODS.get, key="co_integrity_period")
    team = f"{desk.team['site']}/{desk.team['team']}"
    table = loaders.load_integrity(desk.url, desk.version, desk.viewer, period, None, team)
    flagged = table[table["flag"] == "yes"] if len(table) else table
    if flagged.empty:
        st.success("Nothing unusual in how surveys come back for this team.", icon=":material/verified:")
    for row in flagged.to_dict("records"):
        st.warning(f"**{md(row['agent'])}** · {md(row['reason'])}", icon=":material/rule:")
    if len(table):
        st.dataframe(
            pd.DataFrame({
                "agent": table["agent"].astype(str),
                "ratings": table["ratings"].astype("int64"),
                "response_rate": table["response_rate"].astype("float64"),
                "low_share": table["low_share"].astype("float64") * 100,
                "expected_low_share": table["expected_low_share"].astype("float64") * 100,
                "p_value": table["p_value"].astype("float64"),
                "flag": table["flag"].astype(str),
                "reason": table["reason"].astype(str),
            }),
            key="co_integrity",
            hide_index=True,
            height=common.table_height(len(table), max_rows=10),
            column_config={
                "agent": st.column_config.TextColumn("Agent", width="medium"),
                "ratings": st.column_config.NumberColumn("Ratings", format="%d", width=72),
                "response_rate": st.column_config.NumberColumn("Response", format="%.0f%%", width=76),
                "low_share": st.column_config.NumberColumn("1–3★", format="%.0f%%", width=60),
                "expected_low_share": st.column_config.NumberColumn("Expected 1–3★", format="%.0f%%", width=100),
                "p_value": st.column_config.NumberColumn("p (corrected)", format="%.3g", width=96),
                "flag": st.column_config.TextColumn("Flag", width=52),
                "reason": st.column_config.TextColumn("Why", width="large"),
            },
        )


# --------------------------------------------------------------------------- the agent tab


def agent_tab(desk: Desk) -> None:
    agent_names = desk.agent_names
    ids = list(agent_names)
    if st.session_state.get("co_agent") not in ids:
        st.session_state["co_agent"] = ids[0]
    pick_col, note_col = st.columns([3, 1], vertical_alignment="bottom")
    agent_id = int(
        pick_col.selectbox("Agent", ids, key="co_agent", format_func=lambda a: agent_names.get(a, str(a)))
    )
    agent = agent_names[agent_id]
    note_col.button(
        "Log a note", key="co_note_new", icon=":material/edit_note:", width="stretch",
        on_click=open_note, args=(agent_id, agent, "praise"),
    )
    agent_metrics(desk, agent_id)

    stream_col, side_col = st.columns([1.5, 1], gap="large")
    with stream_col:
        period, tags = feedback_stream(desk, agent_id, agent)
    with side_col:
        agent_side(desk, agent_id, agent, period=period, tags=tags)

    st.divider()
    grow_prep(desk, agent_id, agent)


def agent_metrics(desk: Desk, agent_id: int) -> None:
    me_row = desk.table[desk.table["agent_id"].astype(int) == agent_id].iloc[0]
    a1, a2, a3, a4 = st.columns(4)
    a1.metric("Rank this week", f"#{int(me_row['rank'])}" if pd.notna(me_row["rank"]) else "provisional", border=True)
    a2.metric("Avg ★ this week", common.fmt_number(me_row["avg_stars"], "{:.2f}"), border=True,
              help=f"{int(me_row['ratings_this_week'])} ratings this week")
    received = me_row["ratio_received"] or (f"{int(me_row['praise'])} : 0" if me_row["praise"] else "–")
    a3.metric(
        "Ratio received this week", received,
        delta=me_row["ratio_status"], delta_color=STATUS_COLOUR.get(me_row["ratio_status"], "gray"),
        delta_arrow="off", border=True,
    )
    last = me_row["last_coached"]
    a4.metric(
        "Last coached", local_text(last, desk.tz, "%a %d %b") if last is not None and pd.notna(last) else "never",
        border=True,
    )


def feedback_stream(desk: Desk, agent_id: int, agent: str) -> tuple[str, pd.DataFrame]:
    """One agent's ratings, filtered by period, tag and stars; returns the period and its tag counts."""
    st.subheader("Feedback")
    f1, f2 = st.columns(2)
    period = f1.selectbox("Period", FEEDBACK_PERIODS, key="co_fb_period", format_func=PERIODS.get)
    start, end = resolve_period(period, tz=desk.tz, now=desk.now).utc_bounds()
    with Session(common.get_engine()) as session:
        stream = queries.feedback(session=session, viewer=desk.viewer, agent_id=agent_id, start=start, end=end, limit=500)
    stream = stream[stream["excluded_cause"].isna()] if len(stream) else stream
    tags = coaching.tag_breakdown(stream)
    tag = f2.selectbox(
        "Tag", ["", *tags["tag"].tolist()], key="co_fb_tag", format_func=lambda t: t or "Any tag",
    )
    stars = st.pills(
        "Stars", [5, 4, 3, 2, 1], selection_mode="multi", key="co_fb_stars", format_func=lambda s: f"{s}★",
        help="None picked: every rating",
    )
    shown = coaching.filter_feedback(stream, stars=stars, tag=tag or None)
    if shown.empty:
        st.caption("No ratings match: try a longer period or fewer filters.")
    limit = st.session_state.get("co_fb_n", FEEDBACK_PAGE)
    for row in shown.head(limit).to_dict("records"):
        feedback_card(row, tz=desk.tz, agent_id=agent_id, agent=agent, prefix="co_fb")
    if len(shown) > limit:
        st.button(
            f"Show {min(FEEDBACK_PAGE, len(shown) - limit)} more of {len(shown) - limit}", key="co_fb_more",
            icon=":material/expand_more:", on_click=more, args=("co_fb_n", FEEDBACK_PAGE), width="stretch",
        )
    return period, tags


def agent_side(desk: Desk, agent_id: int, agent: str, *, period: str, tags: pd.DataFrame) -> None:
    """Stars against the team, the tags of the period, and the coaching history."""
    st.subheader("Stars against the team")
    grain = st.segmented_control(
        "Grain", ("day", "week"), key="co_grain", required=True, default="day",
        format_func={"day": "Daily · 14 days", "week": "Weekly · 8 weeks"}.get, label_visibility="collapsed",
    ) or "day"
    with Session(common.get_engine()) as session:
        trend = coaching.stars_trend(
            session=session, viewer=desk.viewer, agent_id=agent_id, grain=grain, periods=14 if grain == "day" else 8,
            now=desk.now,
        )
    st.altair_chart(
        charts_coaching.stars_trend_chart(trend, agent=agent, grain=grain, height=260), key="co_stars_trend"
    )
    st.subheader("Tags")
    if tags.empty:
        st.caption("No tags in this period.")
    else:
        st.altair_chart(charts_coaching.tag_breakdown_chart(tags), key="co_tags")
        st.caption(f"How often customers named each tag ({md(PERIODS[period].lower())}).")
    st.subheader("Coaching history")
    with Session(common.get_engine()) as session:
        history = coaching.notes_history(session=session, viewer=desk.viewer, agent_id=agent_id, limit=50)
    if history.empty:
        st.caption("No notes yet. Start with something they did well.")
    else:
        note_list(history, desk.tz, show_agent=False, height=380 if len(history) > 4 else "content")


def grow_prep(desk: Desk, agent_id: int, agent: str) -> None:
    """The GROW 1:1 prep sheet, shown and downloadable."""
    grow_head, grow_dl = st.columns([3, 1], vertical_alignment="bottom")
    grow_head.subheader("1:1 prep · GROW")
    sheet = load_grow_sheet(desk.url, desk.viewer, agent_id, desk.version)
    slug = "".join(ch if ch.isalnum() else "-" for ch in agent.lower()).strip("-")
    grow_dl.download_button(
        "Download .txt", data=sheet.encode("utf-8"), file_name=f"1-1-prep-{slug}-{desk.today.isoformat()}.txt",
        mime="text/plain", key="co_grow_dl", icon=":material/download:", on_click="ignore", width="stretch",
    )
    st.code(sheet, language=None, wrap_lines=True)


# --------------------------------------------------------------------------- the digest tab


def digest_tab(desk: Desk) -> None:
    pick_col, _ = st.columns([1, 3])
    day = pick_col.date_input(
        "Day", value=desk.today, max_value=desk.today, key="co_digest_day", format="YYYY-MM-DD",
        help=f"Days in {desk.tz.key} time",
    )
    with Session(common.get_engine()) as session:
        found = coaching.digest(session=session, viewer=desk.viewer, day=day, tz=desk.tz, limit=5)
    mine = found.get(str(desk.team["team"]), {"best": [], "worst": []})
    st.caption(f"The day's best and worst interactions of {md(desk.team['team'])}, to feed the 1:1s: {day:%A %d %B %Y}.")
    best_col, worst_col = st.columns(2, gap="large")
    for col, key, title, empty in (
        (best_col, "best", ":material/star: Best", "No 4–5★ ratings this day."),
        (worst_col, "worst", ":material/report: Worst", "No 1–3★ ratings this day. A good day!"),
    ):
        with col:
            digest_column(desk, mine[key], key=key, title=title, empty=empty)


def digest_column(desk: Desk, items: list[dict], *, key: str, title: str, empty: str) -> None:
    st.subheader(title)
    if not items:
        st.caption(empty)
    agent_by_name = desk.agent_by_name
    for item in items:
        aid = agent_by_name.get(str(item["agent"]))
        if aid is None:
            with st.container(border=True):
                st.caption(f":orange[{stars_text(item['stars'])}] · {md(item['agent'])}")
                st.text(f"“{(item.get('comment') or '').strip()}”")
        else:
            feedback_card(item, tz=desk.tz, agent_id=aid, agent=str(item["agent"]), prefix=f"co_dg_{key}", show_agent=True)


# --------------------------------------------------------------------------- the training tab


def training_tab(desk: Desk) -> None:
    st.subheader("Training topics")
    st.caption(
        "When several agents struggle with the same thing, it is a topic for a group session, "
        "not an individual failing."
    )
    topics = load_training(desk.url, desk.viewer, desk.version)
    topics = topics[topics["team_id"].astype(int) == desk.team_id] if len(topics) else topics
    if topics.empty:
        st.success("No shared struggles right now.", icon=":material/verified:")
    else:
        st.dataframe(
            pd.DataFrame(
                {
                    "tag": topics["tag"].astype(str),
                    "agents": topics["agents"].astype("int64"),
                    "ratings": topics["ratings"].astype("int64"),
                    "who": topics["agent_names"].astype(str),
                    "last_seen": local_series(topics["last_seen"].astype("datetime64[ns]"), desk.tz),
                }
            ),
            key="co_topics",
            hide_index=True,
            height=common.table_height(len(topics), max_rows=10),
            column_config={
                "tag": st.column_config.TextColumn("To improve", width="medium"),
                "agents": st.column_config.NumberColumn("Agents", format="%d", width=70),
                "ratings": st.column_config.NumberColumn("Ratings", format="%d", width=72),
                "who": st.column_config.TextColumn("Who", width="large"),
                "last_seen": st.column_config.DatetimeColumn("Last seen", format="ddd D MMM HH:mm", width="medium"),
            },
        )
    if len(desk.team_prompts):
        st.subheader(f"Group sessions to plan · {len(desk.team_prompts)}")
        for row in desk.team_prompts.to_dict("records"):
            prompt_card(row, tz=desk.tz, team_id=desk.team_id, author_id=desk.author_id)


# --------------------------------------------------------------------------- the page

TAB_VIEWS = (prompts_tab, team_tab, agent_tab, digest_tab, training_tab)  # in the order of TABS


def render() -> None:
    viewer = access.require_viewer(roles=("leader", "manager", "admin"))
    desk = open_desk(viewer)
    headline(desk)
    if len(desk.table) == 0:
        st.info(f"{md(desk.team['team'])} has no active agents yet.", icon=":material/group_off:")
        st.stop()
    if st.session_state.get(NOTE_KEY):
        note_dialog(desk.team_id, desk.author_id)
    tabs = st.tabs(list(TABS), key="tab", on_change="rerun", bind="query-params")
    for tab, view in zip(tabs, TAB_VIEWS):
        with tab:
            # Only the open tab is drawn: on_change="rerun" reruns the page when another is picked.
            if tab.open is not False:
                view(desk)


render()
