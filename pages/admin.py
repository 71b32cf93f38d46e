"""Admin: accounts, wall display links, the audit log, the API (keys and request log), the effective settings
and notification destinations.

Every change goes through ``db.accounts``, which writes the audit log in the same
transaction. A display token is shown once, right after it is made: only its
SHA-256 digest is stored.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlmodel import Session

from db import accounts, apikeys, audit, queries
from db.models import ROLES
from leaderboard import notify
from leaderboard.auth import MIN_PASSWORD_LENGTH, ROLE_LABELS, AuthError, Viewer
from leaderboard.notify_rules import KINDS as NOTIFY_KINDS
from leaderboard.notify_rules import PRIVATE_KINDS, PUBLIC_KINDS, NotifyInputError
from leaderboard.notify_rules import TYPES as NOTIFY_TYPES
from leaderboard.settings import get_settings, is_default, settings_table, shown_value
from pages import access, common, loaders, nav
from pages.common import md

nav.enter()

FLASH = "adm_flash"  # (tab, kind, message) left by an action for the next run
TOKEN_ONCE = "adm_token_once"  # (display name, token): popped by the very run that shows it


# --------------------------------------------------------------------------- actions (button callbacks)


def _admin() -> str | None:
    """The acting admin's username, re-checked here: a callback runs before the page guard."""
    who = access.current_viewer()
    return who.username if who is not None and who.role == "admin" else None


def _flash(tab: str, kind: str, message: str) -> None:
    st.session_state[FLASH] = (tab, kind, message)


def _password(first_key: str, second_key: str) -> str:
    first = st.session_state.get(first_key) or ""
    if first != (st.session_state.get(second_key) or ""):
        raise AuthError("the two passwords differ")
    if len(first) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return first


def _run(tab: str, action, clear: tuple[str, ...] = ()) -> None:
    actor = _admin()
    if actor is None:
        return
    try:
        with Session(common.get_engine()) as session:
            message = action(session, actor)
    except AuthError as exc:
        text = str(exc)
        _flash(tab, "error", text[:1].upper() + text[1:] + ".")
        return
    for key in clear:
        # Set, not popped: the browser keeps showing a popped widget's last value.
        st.session_state[key] = ""
    _flash(tab, "success", message)


def _add_user() -> None:
    state = st.session_state

    def action(session, actor):
        role = state.get("adm_new_role") or "agent"
        agent = state.get("adm_new_agent") or None
        if role == "agent" and not agent:
            raise AuthError("an agent account needs the agent it belongs to (Linked agent)")
        password = _password("adm_new_password", "adm_new_password2")
        user = accounts.add_user(
            session=session,
            username=state.get("adm_new_username") or "",
            role=role,
            password=password,
            display_name=(state.get("adm_new_display") or "").strip() or None,
            agent=agent,
            site=state.get("adm_new_site") or None,
            actor=actor,
        )
        return f"Added {user.username} ({ROLE_LABELS.get(role, role)})."

    _run("users", action, clear=(
        "adm_new_username", "adm_new_display", "adm_new_agent", "adm_new_site", "adm_new_password", "adm_new_password2"
    ))


def _set_role() -> None:
    username, role = st.session_state.get("adm_user"), st.session_state.get("adm_role")

    def action(session, actor):
        if username == actor:
            raise AuthError("you cannot change your own role (another admin can)")
        accounts.set_role(session=session, username=username or "", role=role or "", actor=actor)
        return f"{username} is now {ROLE_LABELS.get(role, role)}."

    _run("users", action)


def _toggle_disabled(disable: bool) -> None:
    username = st.session_state.get("adm_user")

    def action(session, actor):
        if username == actor and disable:
            raise AuthError("you cannot disable your own account")
        accounts.disable_user(session=session, username=username or "", actor=actor, disabled=disable)
        return f"{username} is {'disabled: they are signed out at their next click' if disable else 'enabled again'}."

    _run("users", action)


def _set_leader() -> None:
    team, username = st.session_state.get("adm_lead_team"), st.session_state.get("adm_lead_user")

    def action(session, actor):
        if not team or not username:
            raise AuthError("pick a team and a leader")
        label = accounts.set_team_leader(session=session, team=team, username=username, actor=actor)
        return f"{username} now leads {label}."

    _run("users", action)


def _add_manager() -> None:
    site, username = st.session_state.get("adm_mgr_site"), st.session_state.get("adm_mgr_user")

    def action(session, actor):
        if not site or not username:
            raise AuthError("pick a site and a manager")
        name = accounts.add_site_manager(session=session, site=site, username=username, actor=actor)
        return f"{username} now manages {name}."

    _run("users", action)


def _set_password() -> None:
    username = st.session_state.get("adm_user")

    def action(session, actor):
        password = _password("adm_pw1", "adm_pw2")
        accounts.set_password(session=session, username=username or "", password=password, actor=actor)
        return f"New password set for {username} (and any lockout lifted)."

    _run("users", action, clear=("adm_pw1", "adm_pw2"))


def _add_display() -> None:
    state = st.session_state
    name = (state.get("adm_display_name") or "").strip()

    def action(session, actor):
        token = accounts.add_display(
            session=session,
            name=name,
            site=state.get("adm_display_site") or None,
            team=state.get("adm_display_team") or None,
            actor=actor,
        )
        state[TOKEN_ONCE] = (name, token)
        return f"Display “{name}” created."

    _run("displays", action, clear=("adm_display_name",))


def _revoke_display() -> None:
    name = st.session_state.get("adm_revoke_name")

    def action(session, actor):
        accounts.revoke_display(session=session, name=name or "", actor=actor)
        return f"Display “{name}” revoked: its screen stops at its next refresh."

    _run("displays", action)


def _forget_user_inputs() -> None:
    """on_change of the user picker: the role box starts at the new user's role, passwords empty."""
    st.session_state["adm_role"] = _role_of(st.session_state.get("adm_user"))
    st.session_state["adm_pw1"] = st.session_state["adm_pw2"] = ""


def _role_of(username: str | None) -> str:
    with Session(common.get_engine()) as session:
        row = next((u for u in accounts.list_users(session=session) if u["username"] == username), None)
    return row["role"] if row and row["role"] in ROLES else ROLES[0]


def _show_flash(tab: str) -> None:
    flash = st.session_state.get(FLASH)
    if flash and flash[0] == tab:
        st.session_state.pop(FLASH, None)
        (st.success if flash[1] == "success" else st.error)(md(flash[2]))


def _app_base() -> str:
    """The app's address as the admin's browser sees it ("" when unknown, as in tests)."""
    url = (st.context.url or "").split("?", 1)[0].rstrip("/")
    return url[: -len("/admin")] if url.endswith("/admin") else url


# --------------------------------------------------------------------------- the users tab


def users_tab(viewer: Viewer, users: pd.DataFrame, agent_names: list[str], options: loaders.FilterOptions) -> None:
    _show_flash("users")
    counts = users.groupby("role").size() if len(users) else pd.Series(dtype=int)
    st.caption(
        " · ".join(f"{int(counts.get(r, 0))} {ROLE_LABELS[r].lower()}{'s' if counts.get(r, 0) != 1 else ''}" for r in ROLES)
        + f" · {int(users['disabled'].sum()) if len(users) else 0} disabled"
    )
    st.dataframe(
        users.assign(role=[ROLE_LABELS.get(r, r) for r in users["role"]]),
        key="adm_users",
        hide_index=True,
        height=common.table_height(len(users), max_rows=12),
        column_config={
            "username": st.column_config.TextColumn("Username"),
            "role": st.column_config.TextColumn("Role", width="small"),
            "agent": st.column_config.TextColumn("Linked agent"),
            "team": st.column_config.TextColumn("Team(s)", help="An agent's team, or the teams a leader leads"),
            "site": st.column_config.TextColumn("Site", help="A manager's site (empty: every site)"),
            "disabled": st.column_config.CheckboxColumn("Disabled", width="small"),
        },
    )
    add_col, change_col = st.columns(2, gap="large")
    with add_col, st.container(border=True, key="adm_add_box"):
        st.markdown("**Add a user**")
        linked = set(users["agent"]) - {""}
        n1, n2 = st.columns(2)
        # Not "Username"/"Password": those labels are the sign-in form's (browser tests and password managers look for them).
        n1.text_input("New username", key="adm_new_username", autocomplete="off")
        n2.text_input("Display name (optional)", key="adm_new_display")
        n1.selectbox("Role", ROLES, format_func=ROLE_LABELS.__getitem__, key="adm_new_role")
        n2.selectbox(
            "Linked agent", ["", *[a for a in agent_names if a not in linked]],
            format_func=lambda a: a or "—", key="adm_new_agent",
            help="For an agent account: whose ratings and feedback they see",
        )
        st.selectbox(
            "Manager's site", ["", *options.sites], format_func=lambda s: s or "— (every site)", key="adm_new_site",
            help="For a manager: the one site they cover. Leave empty for a manager of every site.",
        )
        p1, p2 = st.columns(2)
        p1.text_input("First password", type="password", key="adm_new_password", autocomplete="new-password",
                      help=f"At least {MIN_PASSWORD_LENGTH} characters")
        p2.text_input("First password again", type="password", key="adm_new_password2", autocomplete="new-password")
        st.button("Add user", key="adm_add", on_click=_add_user, type="primary", icon=":material/person_add:")
    with change_col, st.container(border=True, key="adm_change_box"):
        st.markdown("**Change a user**")
        names = list(users["username"])
        if not names:
            st.caption("No users yet.")
        else:
            by_name = users.set_index("username")
            # Labels are the bare usernames: Streamlit matches a picked option by its label, so a label
            # that changes with the user's role or state would silently pick someone else after a change.
            username = st.selectbox("User", names, key="adm_user", on_change=_forget_user_inputs)
            me = username == viewer.username
            st.caption(
                f"{md(username)} · {ROLE_LABELS.get(by_name.at[username, 'role'], by_name.at[username, 'role'])}"
                + (" · **disabled**" if by_name.at[username, "disabled"] else " · active")
                + (" · that is you" if me else "")
            )
            r1, r2 = st.columns([2, 1], vertical_alignment="bottom")
            if st.session_state.get("adm_role") not in ROLES:
                st.session_state["adm_role"] = _role_of(username)
            r1.selectbox("New role", ROLES, format_func=ROLE_LABELS.__getitem__, key="adm_role")
            r2.button("Change role", key="adm_set_role", on_click=_set_role, disabled=me, width="stretch",
                      help="You cannot change your own role" if me else None)
            disabled = bool(by_name.at[username, "disabled"])
            st.button(
                "Enable account" if disabled else "Disable account",
                key="adm_toggle",
                on_click=_toggle_disabled,
                args=(not disabled,),
                disabled=me,
                icon=":material/lock_open:" if disabled else ":material/block:",
                help="A disabled account is signed out at its next click and cannot sign in",
            )
            q1, q2 = st.columns(2)
            q1.text_input("New password", type="password", key="adm_pw1", autocomplete="new-password")
            q2.text_input("New password again", type="password", key="adm_pw2", autocomplete="new-password")
            st.button("Set password", key="adm_set_password", on_click=_set_password, icon=":material/key:")
    scope_box(users, options)
    st.caption(
        "Accounts can also be managed with `python -m leaderboard users …`, `teams set-leader` and "
        "`sites add-manager`."
    )


def scope_box(users: pd.DataFrame, options: loaders.FilterOptions) -> None:
    """Who leads each team and which site a manager covers (a leader's teams come from here)."""
    active = users[~users["disabled"].astype(bool)] if len(users) else users
    leaders = list(active.loc[active["role"] == "leader", "username"]) if len(active) else []
    managers = list(active.loc[active["role"] == "manager", "username"]) if len(active) else []
    teams = [f"{site}/{team}" for site in options.sites for team in options.teams_for(site)]
    with st.container(border=True, key="adm_scope_box"):
        st.markdown("**Team leaders and site managers**")
        lead_col, mgr_col = st.columns(2, gap="large")
        with lead_col:
            l1, l2 = st.columns(2)
            l1.selectbox("Team", teams, index=None, placeholder="Pick a team", key="adm_lead_team")
            l2.selectbox("Leader", leaders, index=None, placeholder="Pick a leader" if leaders else "No leaders yet",
                         key="adm_lead_user", help="Accounts with the leader role (change a role above)")
            st.button("Set team leader", key="adm_set_leader", on_click=_set_leader, icon=":material/supervisor_account:",
                      help="The team's leader from now on (it replaces the one it had)")
        with mgr_col:
            m1, m2 = st.columns(2)
            m1.selectbox("Site", list(options.sites), index=None, placeholder="Pick a site", key="adm_mgr_site")
            m2.selectbox("Manager", managers, index=None, placeholder="Pick a manager" if managers else "No managers yet",
                         key="adm_mgr_user", help="Accounts with the manager role (change a role above)")
            st.button("Make site manager", key="adm_add_manager", on_click=_add_manager, icon=":material/domain:",
                      help="A manager covers one site (or every site when none is set): this sets it")

# --------------------------------------------------------------------------- the wall displays tab


def displays_tab(displays: pd.DataFrame, options: loaders.FilterOptions) -> None:
    _show_flash("displays")
    once = st.session_state.pop(TOKEN_ONCE, None)
    if once:
        name, token = once
        with st.container(border=True, key="adm_token_box"):
            st.markdown(f"**Wall link for “{md(name)}”** · open it on the TV, full screen:")
            st.code(f"{_app_base()}/wall?display={token}", language=None)
            st.warning(
                "Copy it now: it is shown only once (Starboard keeps just a fingerprint of it). "
                "The link opens this wall and nothing else; revoke the display to stop it.",
                icon=":material/key:",
            )
    live = displays[displays["revoked_at"].isna()] if len(displays) else displays
    st.dataframe(
        displays.assign(
            status=["Revoked" if pd.notna(r) else "Live" for r in displays["revoked_at"]],
            site=[s or "Every site" for s in displays["site"]],
            team=[t or "Every team" for t in displays["team"]],
        ),
        key="adm_displays",
        hide_index=True,
        column_order=["name", "status", "site", "team", "created_at", "created_by", "revoked_at"],
        column_config={
            "name": st.column_config.TextColumn("Display"),
            "status": st.column_config.TextColumn("Status", width="small"),
            "site": st.column_config.TextColumn("Site", help="Empty: every site"),
            "team": st.column_config.TextColumn("Team", help="Empty: every team"),
            "created_at": st.column_config.DatetimeColumn("Created (UTC)", format="YYYY-MM-DD HH:mm"),
            "created_by": st.column_config.TextColumn("By"),
            "revoked_at": st.column_config.DatetimeColumn("Revoked (UTC)", format="YYYY-MM-DD HH:mm"),
        },
    )
    make_col, revoke_col = st.columns(2, gap="large")
    with make_col, st.container(border=True, key="adm_display_box"):
        st.markdown("**New wall display**")
        st.text_input("Name", key="adm_display_name", placeholder="e.g. Manila floor TV 2")
        d1, d2 = st.columns(2)
        site = d1.selectbox("Site", ["", *options.sites], format_func=lambda s: s or "Every site", key="adm_display_site")
        teams = options.teams_for(site or None)
        if st.session_state.get("adm_display_team") not in ("", *teams):
            st.session_state.pop("adm_display_team", None)
        d2.selectbox("Team", ["", *teams], format_func=lambda t: t or "Every team", key="adm_display_team")
        st.button("Create display link", key="adm_display_create", on_click=_add_display, type="primary",
                  icon=":material/add_link:")
    with revoke_col, st.container(border=True, key="adm_revoke_box"):
        st.markdown("**Revoke a display**")
        if live.empty:
            st.caption("No live displays.")
        else:
            st.selectbox("Display", list(live["name"]), key="adm_revoke_name")
            st.button("Revoke", key="adm_revoke", on_click=_revoke_display, icon=":material/link_off:")
            st.caption("The TV shows a sign-in screen at its next refresh. Make a new display to replace it.")

# --------------------------------------------------------------------------- the audit log tab


def audit_tab() -> None:
    """The audit log, newest first, filtered by who (actor), what (kind) and when (UTC dates)."""
    with Session(common.get_engine()) as session:
        actors = audit.actors(session=session)
        kinds = audit.kinds(session=session)
    a1, a2, a3, a4 = st.columns([1.1, 1.3, 1.4, 0.7], vertical_alignment="bottom")
    actor = a1.selectbox("Who", ["", *actors], format_func=lambda a: a or "Everyone", key="adm_audit_actor")
    kind = a2.selectbox("Kind", ["", *kinds], format_func=lambda a: a or "Every kind", key="adm_audit_action")
    days = a3.date_input("Dates (UTC)", value=(), key="adm_audit_dates", format="YYYY-MM-DD",
                         help="A day or a range of days; empty: every day")
    limit = a4.selectbox("Latest", [200, 1000, 5000], key="adm_audit_limit")
    search = st.text_input("Target or detail contains", key="adm_audit_search")
    days = tuple(days) if isinstance(days, (tuple, list)) else (days,)
    since = days[0] if days else None
    until = days[-1] if days else None
    with Session(common.get_engine()) as session:
        entries = audit.entries(
            session=session, actor=actor or None, kind=kind or None, since=since, until=until, limit=int(limit)
        )
    log = pd.DataFrame(
        [{"at": e.at, "actor": e.actor, "action": e.action, "target": e.target, "detail": e.detail} for e in entries],
        columns=["at", "actor", "action", "target", "detail"],
    )
    if search.strip() and len(log):
        needle = search.strip().lower()
        hit = log[["target", "detail"]].apply(lambda col: col.str.lower().str.contains(needle, regex=False))
        log = log[hit.any(axis=1)]
    st.caption(f"{len(log):,} entries, newest first · times in UTC")
    st.dataframe(
        log,
        key="adm_audit",
        hide_index=True,
        height=common.table_height(len(log), max_rows=18),
        column_config={
            "at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
            "actor": st.column_config.TextColumn("Who"),
            "action": st.column_config.TextColumn("Kind"),
            "target": st.column_config.TextColumn("Target"),
            "detail": st.column_config.TextColumn("Detail", width="large"),
        },
    )

# --------------------------------------------------------------------------- the API tab


STATUS_CLASS_LABELS = {"": "Every answer", "2xx": "2xx (accepted)", "4xx": "4xx (refused)", "5xx": "5xx (server)"}


def api_tab() -> None:
    """API keys (never the keys themselves) and the request log: time, key, path, status, counts; never payloads."""
    engine = common.get_engine()
    with Session(engine) as session:
        keys = pd.DataFrame(apikeys.list_keys(session=session), columns=list(apikeys.KEY_COLUMNS))
    st.markdown("**API keys**")
    if keys.empty:
        st.caption("No API keys yet.")
    else:
        st.dataframe(
            keys.assign(
                status=["Revoked" if pd.notna(r) else "Live" for r in keys["revoked_at"]],
                # A live key has no revocation time: an empty cell, not "None".
                revoked_at=[f"{pd.Timestamp(r):%Y-%m-%d %H:%M}" if pd.notna(r) else "" for r in keys["revoked_at"]],
            ),
            key="adm_api_keys",
            hide_index=True,
            height=common.table_height(len(keys), max_rows=8),
            column_order=["name", "status", "source", "signing_secret", "sites", "created_at", "created_by",
                          "revoked_at"],
            column_config={
                "name": st.column_config.TextColumn("Key"),
                "status": st.column_config.TextColumn("Status", width="small"),
                "source": st.column_config.TextColumn("Source", width="small"),
                "sites": st.column_config.TextColumn("Writes to", help="The sites the key may write to"),
                "created_at": st.column_config.DatetimeColumn("Created (UTC)", format="YYYY-MM-DD HH:mm"),
                "created_by": st.column_config.TextColumn("By"),
                "signing_secret": st.column_config.TextColumn(
                    "Signed", width="small", help="Whether webhook signatures are checked (apikeys secret NAME)"
                ),
                "revoked_at": st.column_config.TextColumn("Revoked (UTC)"),
            },
        )
    st.markdown("**Recent requests**")
    names = sorted(set(keys["name"]) | set(apikeys.request_key_names(engine=engine)))
    f1, f2, f3 = st.columns([1.4, 1.2, 0.6], vertical_alignment="bottom")
    key_name = f1.selectbox(
        "Key", [None, *names], format_func=lambda k: "Every key" if k is None else (k or "(no valid key)"),
        key="adm_api_key",
    )
    status_class = f2.selectbox("Answer", list(STATUS_CLASS_LABELS), format_func=STATUS_CLASS_LABELS.__getitem__,
                                key="adm_api_status")
    limit = f3.selectbox("Latest", [200, 1000, 5000], key="adm_api_limit")
    rows = apikeys.recent_requests(engine=engine, limit=int(limit), key_name=key_name, status_class=status_class or None)
    log = pd.DataFrame(rows, columns=list(apikeys.REQUEST_COLUMNS))
    st.caption(f"{len(log):,} requests, newest first · times in UTC · payloads are never kept")
    st.dataframe(
        log,
        key="adm_api_requests",
        hide_index=True,
        height=common.table_height(len(log), max_rows=18),
        column_config={
            "at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
            "key_name": st.column_config.TextColumn("Key"),
            "path": st.column_config.TextColumn("Path"),
            "status": st.column_config.NumberColumn("Status", width="small", format="%d"),
            "received": st.column_config.NumberColumn("Received", width="small"),
            "inserted": st.column_config.NumberColumn("Inserted", width="small"),
            "updated": st.column_config.NumberColumn("Updated", width="small"),
            "unchanged": st.column_config.NumberColumn("Unchanged", width="small"),
            "rejected": st.column_config.NumberColumn("Rejected", width="small"),
        },
    )
    st.caption("Keys are managed with `python -m leaderboard apikeys add|list|revoke` (a key is shown once).")

# --------------------------------------------------------------------------- the notifications tab


def notifications_tab() -> None:
    """Notification destinations (URLs masked), failed messages with the destination's answer and a Retry
    button, and the add/remove forms (leaderboard.notify; every change audited)."""
    engine = common.get_engine()
    state = st.session_state

    def act(action) -> None:
        viewer = access.current_viewer()
        if viewer is None or viewer.role != "admin":  # a callback runs before the page guard
            return
        try:
            message = action(viewer)
        except (NotifyInputError, AuthError) as exc:
            text = str(exc)
            _flash("notify", "error", text[:1].upper() + text[1:] + ".")
            return
        _flash("notify", "success", message)

    def add() -> None:
        def action(viewer):
            added = notify.add(
                engine=engine, viewer=viewer, name=state.get("adm_ntf_name") or "", url=state.get("adm_ntf_url") or "",
                scope=state.get("adm_ntf_for") or "", kinds=",".join(state.get("adm_ntf_kinds") or []),
                type_=state.get("adm_ntf_type") or None, quiet=state.get("adm_ntf_quiet") or "",
                per_minute=int(state.get("adm_ntf_rate") or 20),
            )
            state["adm_ntf_name"] = state["adm_ntf_url"] = ""
            return f"Destination “{added.name}” added ({added.type}, {added.url}, for {added.scope})."
        act(action)

    def remove() -> None:
        name = state.get("adm_ntf_remove") or ""
        act(lambda viewer: f"Destination “{name}” removed." if notify.remove(engine=engine, viewer=viewer, name=name)
            else f"No destination “{name}”.")

    def retry(outbox_id: int) -> None:
        act(lambda viewer: "Queued again: the sender tries it within seconds."
            if notify.retry(engine=engine, viewer=viewer, outbox_id=outbox_id) else "It is not failed any more.")

    _show_flash("notify")
    shown = notify.listed(engine=engine)
    st.markdown("**Destinations**")
    if not shown:
        st.caption("No destinations yet: alerts, digests and shout-outs are not sent anywhere.")
    else:
        st.dataframe(
            pd.DataFrame([d.__dict__ for d in shown]),
            key="adm_ntf_list",
            hide_index=True,
            height=common.table_height(len(shown), max_rows=10),
            column_config={
                "name": st.column_config.TextColumn("Name"),
                "type": st.column_config.TextColumn("Type", width="small"),
                "url": st.column_config.TextColumn("URL", help="Masked: the rest of a webhook URL is its secret"),
                "scope": st.column_config.TextColumn("For"),
                "kinds": st.column_config.TextColumn("Kinds"),
                "quiet": st.column_config.TextColumn("Quiet hours", width="small"),
                "per_minute": st.column_config.NumberColumn("Per minute", width="small"),
            },
        )
    failed = notify.failed(engine=engine)
    st.markdown("**Failed messages**")
    if not failed:
        st.caption("None: every message was delivered or is still being tried.")
    for item in failed[:50]:
        with st.container(border=True, key=f"adm_ntf_failed_{item.id}"):
            c1, c2 = st.columns([5, 1], vertical_alignment="center")
            c1.markdown(
                f"**{md(item.destination)}** · {md(item.kind)} · {md(item.title)}  \n"
                f"{item.attempts} tries · answer: {md(item.error or '-')} · queued {item.created_at:%Y-%m-%d %H:%M} UTC"
            )
            c2.button("Retry", key=f"adm_ntf_retry_{item.id}", on_click=retry, args=(item.id,),
                      icon=":material/replay:")
    add_col, remove_col = st.columns([2, 1], gap="large")
    with add_col, st.container(border=True, key="adm_ntf_add_box"):
        st.markdown("**New destination**")
        a1, a2 = st.columns([1, 2])
        a1.text_input("Name", key="adm_ntf_name", placeholder="e.g. manila-leads")
        a2.text_input("URL", key="adm_ntf_url", type="password",
                      placeholder="https://hooks.slack.com/services/… or mailto:lead@example.com")
        b1, b2 = st.columns([1, 1])
        b1.text_input("For", key="adm_ntf_for", placeholder="team:Manila/Bayanihan, site:Manila or user:USERNAME")
        b2.selectbox("Type", ["", *NOTIFY_TYPES], format_func=lambda t: t or "From the URL", key="adm_ntf_type")
        st.multiselect("Kinds", list(NOTIFY_KINDS), key="adm_ntf_kinds",
                       help=f"Private: {', '.join(PRIVATE_KINDS)}. Public: {', '.join(PUBLIC_KINDS)}. "
                            "Not both: praise in public, criticism only 1:1.")
        q1, q2 = st.columns(2)
        q1.text_input("Quiet hours", key="adm_ntf_quiet", placeholder="22:00-07:00 (site's local time)")
        q2.number_input("At most per minute", min_value=1, max_value=1000, value=20, step=1, key="adm_ntf_rate")
        st.button("Add destination", key="adm_ntf_add", on_click=add, type="primary", icon=":material/add_alert:")
    with remove_col, st.container(border=True, key="adm_ntf_remove_box"):
        st.markdown("**Remove a destination**")
        if not shown:
            st.caption("No destinations.")
        else:
            st.selectbox("Destination", [d.name for d in shown], key="adm_ntf_remove")
            st.button("Remove", key="adm_ntf_remove_btn", on_click=remove, icon=":material/delete:")
            st.caption("Its undelivered messages go with it.")
    st.caption("Also `python -m leaderboard notify add|list|test|remove|run`.")


# --------------------------------------------------------------------------- the settings tab


def settings_tab() -> None:
    st.info(
        "Read-only. Settings come from environment variables: set the variable named below "
        "where the server starts and restart it to change one.",
        icon=":material/info:",
    )
    settings = get_settings()
    rows = []
    for row in settings_table():
        value, default = shown_value(getattr(settings, row.field)), row.default
        if row.field == "database_url":
            value, default = common.redacted_url(value), common.redacted_url(default)
        rows.append(
            {"setting": row.field, "value": value, "default": default, "changed": not is_default(settings, row.field),
             "environment variable": row.variable, "type": row.type, "what it does": row.description}
        )
    st.dataframe(
        pd.DataFrame(rows),
        key="adm_settings",
        hide_index=True,
        height=common.table_height(len(rows), max_rows=20),
        column_config={
            "setting": st.column_config.TextColumn("Setting"),
            "value": st.column_config.TextColumn("Effective value"),
            "default": st.column_config.TextColumn("Default"),
            "changed": st.column_config.CheckboxColumn("Set", width="small", help="Differs from the default"),
            "environment variable": st.column_config.TextColumn("Environment variable", width=300),
            "type": st.column_config.TextColumn("Type"),
            "what it does": st.column_config.TextColumn("What it does", width="large"),
        },
    )
    st.caption(
        "Streamlit's own options (port, theme, upload size) live in `.streamlit/config.toml` and "
        "`STREAMLIT_…` environment variables."
    )


# --------------------------------------------------------------------------- the page


def render() -> None:
    viewer = access.require_viewer(roles=("admin",))
    with Session(common.get_engine()) as session:
        users = pd.DataFrame(accounts.list_users(session=session), columns=list(accounts.USER_COLUMNS))
        displays = pd.DataFrame(accounts.list_displays(session=session), columns=list(accounts.DISPLAY_COLUMNS))
        agent_names = list(queries.agent_directory(session=session)["agent"])
    options = loaders.load_filter_options(common.database_url(), common.data_version())

    st.title("Admin")
    st.caption(
        "Accounts, wall displays, the audit log, the API and settings. Every change here is written to the audit log."
    )

    tabs = st.tabs(
        [":material/group: Users", ":material/tv: Wall displays", ":material/receipt_long: Audit log",
         ":material/tune: Settings", ":material/api: API", ":material/notifications: Notifications"]
    )
    with tabs[0]:
        users_tab(viewer, users, agent_names, options)
    with tabs[1]:
        displays_tab(displays, options)
    with tabs[2]:
        audit_tab()
    with tabs[3]:
        settings_tab()
    with tabs[4]:
        api_tab()
    with tabs[5]:
        notifications_tab()


render()
