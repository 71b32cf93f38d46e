"""Who is looking at this page: sign-in, sign-out, session timeout, page guards.

Every page calls ``require_viewer`` as its first act: Streamlit serves a page
script directly when a fresh server's first request names its path, before
``app.py`` has run, so the router alone protects nothing. Only ids and times
live in ``st.session_state``; the viewer is re-read from the database on every
run, so a disabled account or a revoked display stops at once, and so does a
session whose account's password or role changed since it signed in (the
account's ``auth_version`` no longer matches the one the session keeps).

A sign-in lasts beyond this browser tab: it is a server-side session record
(db.accounts) named by an HttpOnly cookie that GET /auth/session sets
(leaderboard/http/auth.py). The sign-in form makes the record and, until the
browser has exchanged its one-time handoff token, the page loads that URL as an
invisible image. A new tab, a reload or a restarted server finds the cookie in
``st.context.cookies``. The record is checked on every run: Sign out revokes it
(and clears the cookie through GET /auth/signout), so does disabling the account
or changing its password or role; the idle timeout applies to it as to the tab.
"""

from __future__ import annotations

import html
import time
from urllib.parse import quote

import streamlit as st
from sqlmodel import Session

from db import accounts
from db.retry import DatabaseBusy, with_retry
from leaderboard.auth import MAX_PASSWORD_LENGTH, MAX_USERNAME_LENGTH, ROLE_LABELS, Role, Viewer, token_digest
from leaderboard.http import auth as http_auth
from leaderboard.http import context as http_context
from leaderboard.settings import get_settings
from leaderboard.text import markdown_text
from pages.common import get_engine

# The menu of each role (page names in app.py); the first is the role's home page.
MENUS = {
    Role.AGENT: ("me", "leaderboard", "wall"),
    Role.LEADER: ("coaching", "leaderboard", "recovery", "badges", "wall"),
    Role.MANAGER: ("leaderboard", "coaching", "recovery", "badges", "wall", "data"),
    Role.ADMIN: ("leaderboard", "coaching", "recovery", "badges", "wall", "data", "admin"),
}
PAGE_FILES = {
    "signin": "pages/signin.py",
    "me": "pages/my_page.py",
    "coaching": "pages/coaching.py",
    "leaderboard": "pages/leaderboard.py",
    "recovery": "pages/recovery.py",
    "badges": "pages/badges.py",
    "wall": "pages/wall.py",
    "data": "pages/data.py",
    "admin": "pages/admin.py",
}


def home_page(viewer: Viewer | None) -> str:
    """The script of the page a viewer lands on."""
    menu = MENUS.get(viewer.role, ()) if viewer else ()
    return PAGE_FILES[menu[0] if menu else "signin"]


AUTH_KEY = "starboard_auth"  # {"user_id", "auth_version", "last_seen": float, "session": handoff digest (optional)}
HANDOFF_KEY = "starboard_handoff"  # the one-time handoff token, until the browser has exchanged it
CLEAR_COOKIE_KEY = "starboard_clear_cookie"  # set by Sign out: the next run clears the cookie
TIMED_OUT = "Your session timed out. Please sign in again."
ENDED = "You were signed out. Please sign in again."


def _signed_out(reason: str) -> None:
    st.session_state.pop(AUTH_KEY, None)
    st.session_state.pop(HANDOFF_KEY, None)
    st.session_state["signed_out_reason"] = reason


def current_viewer() -> Viewer | None:
    """The signed-in viewer, or None (not signed in, timed out, disabled, or its account changed)."""
    state = st.session_state.get(AUTH_KEY)
    if not state:
        return _viewer_from_cookie()
    settings = get_settings()
    now = time.time()
    if now - float(state.get("last_seen", 0)) > settings.session_timeout_minutes * 60:
        _signed_out(TIMED_OUT)
        return None
    with Session(get_engine()) as session:
        if state.get("session"):
            # A sign-in with a session record: it may have been ended elsewhere (Sign out in another tab).
            found = accounts.browser_session(
                session=session, handoff_hash=state["session"], idle_minutes=settings.session_timeout_minutes
            )
            viewer = found.viewer if isinstance(found, accounts.BrowserSession) else None
            if viewer is not None and not found.pending:
                st.session_state.pop(HANDOFF_KEY, None)
        else:
            viewer = accounts.viewer_for_user_id(
                session=session, user_id=int(state["user_id"]), auth_version=int(state.get("auth_version", -1))
            )
    if viewer is None:
        _signed_out(ENDED)
        return None
    state["last_seen"] = now
    return viewer


def _viewer_from_cookie() -> Viewer | None:
    """A new tab, a reload: the session named by the sign-in cookie, if it is still live."""
    value = st.context.cookies.get(http_auth.COOKIE)
    if not value:
        return None
    token = http_auth.unsign(value, http_context.secret())
    if token is None:
        return None
    settings = get_settings()
    with Session(get_engine()) as session:
        found = accounts.browser_session(session=session, token=token, idle_minutes=settings.session_timeout_minutes)
    if not isinstance(found, accounts.BrowserSession):
        # Said once per tab: the cookie stays until Sign out or the browser clears it.
        if not st.session_state.get("cookie_refused"):
            st.session_state["cookie_refused"] = True
            st.session_state["signed_out_reason"] = TIMED_OUT if found == "timed out" else ENDED
        return None
    st.session_state[AUTH_KEY] = {
        "user_id": found.viewer.user_id,
        "auth_version": found.auth_version,
        "last_seen": time.time(),
        "session": found.handoff_hash,
    }
    return found.viewer


def session_cookie_exchange() -> None:
    """Until the browser has the sign-in cookie: an invisible image whose URL sets it (no script)."""
    handoff = st.session_state.get(HANDOFF_KEY)
    if handoff:
        url = html.escape(f"/auth/session?token={quote(handoff)}", quote=True)
        st.html(f'<img src="{url}" alt="" width="1" height="1" style="position:absolute;opacity:0">')


def display_viewer_from_url() -> Viewer | None:
    """A wall display's viewer from ``?display=TOKEN`` (re-checked on every refresh)."""
    token = st.query_params.get("display", "")
    if not token:
        return None
    with Session(get_engine()) as session:
        return accounts.viewer_for_token(session=session, token=token)


def sign_out() -> None:
    """End this sign-in everywhere (its session record is revoked) and clear the cookie on the next run."""
    state = st.session_state.pop(AUTH_KEY, None) or {}
    st.session_state.pop(HANDOFF_KEY, None)
    if state.get("session"):
        with Session(get_engine()) as session:
            accounts.end_browser_session(session=session, handoff_hash=state["session"])
    st.session_state[CLEAR_COOKIE_KEY] = True
    st.session_state["signed_out_reason"] = "You are signed out."


def _demo_accounts() -> tuple[list[tuple[str, str]], str] | None:
    """(username, role) of the seeded demo accounts and their password, only while the database holds nothing else."""
    with Session(get_engine()) as session:
        return accounts.demo_accounts(session=session)


def client_address() -> str | None:
    """The client's address as plain text, for slowing down repeated failures from one place.

    None on localhost, and whenever Streamlit has no address (a test harness).
    """
    address = st.context.ip_address
    return address if isinstance(address, str) and address else None


def sign_in_form(*, key: str = "signin") -> None:
    """The sign-in form: Username, Password, Sign in. Reruns the app once signed in."""
    reason = st.session_state.pop("signed_out_reason", None)
    if reason:
        st.info(reason)
    if st.session_state.pop(CLEAR_COOKIE_KEY, False):
        st.html('<img src="/auth/signout" alt="" width="1" height="1" style="position:absolute;opacity:0">')
    with st.form(key=f"{key}_form", clear_on_submit=False, border=True):
        username = st.text_input("Username", key=f"{key}_username", autocomplete="username", max_chars=MAX_USERNAME_LENGTH)
        password = st.text_input(
            "Password", type="password", key=f"{key}_password", autocomplete="current-password",
            max_chars=MAX_PASSWORD_LENGTH,
        )
        submitted = st.form_submit_button("Sign in", type="primary", width="stretch")
    if submitted:
        def attempt() -> accounts.SignIn:
            with Session(get_engine()) as session:
                return accounts.sign_in(session=session, username=username, password=password, address=client_address())

        try:
            # A long import may hold the database: the sign-in runs again a little later, then says so.
            result = with_retry(attempt)
        except DatabaseBusy as exc:
            st.warning(f"{str(exc).capitalize()}.", icon=":material/hourglass_top:")
            return
        if result.viewer is None:
            st.error(result.message)
        else:
            with Session(get_engine()) as session:
                handoff = accounts.start_browser_session(
                    session=session, user_id=result.viewer.user_id, auth_version=result.auth_version
                )
            st.session_state[AUTH_KEY] = {
                "user_id": result.viewer.user_id,
                "auth_version": result.auth_version,
                "last_seen": time.time(),
                "session": token_digest(handoff),
            }
            st.session_state[HANDOFF_KEY] = handoff
            st.session_state.pop("cookie_refused", None)
            st.rerun()
    demo = _demo_accounts()
    if demo:
        users, password = demo
        with st.expander("Demo accounts (this is the seeded demo database)", expanded=True):
            st.caption(f"Every demo account's password is `{password}`. Try a team leader, an agent or admin.")
            st.dataframe(
                {"username": [u for u, _ in users], "role": [ROLE_LABELS.get(r, r) for _, r in users]},
                hide_index=True,
                width="stretch",
                height=250,
            )


def require_viewer(*, roles: tuple[Role, ...] | None = None) -> Viewer:
    """The page's first act: the viewer, or a sign-in form and a stop."""
    viewer = current_viewer()
    if viewer is None:
        _, middle, _ = st.columns([1, 1.4, 1])
        with middle:
            st.title("Sign in to Starboard")
            sign_in_form(key="guard")
        st.stop()
    if roles is not None and viewer.role not in roles:
        st.error("This page is not available for your role.")
        st.stop()
    return viewer


def sidebar_account(viewer: Viewer) -> None:
    """Who is signed in, and a Sign out button (in the sidebar)."""
    with st.sidebar:
        st.caption(f"Signed in as **{markdown_text(viewer.display_name or viewer.username)}** · {ROLE_LABELS.get(viewer.role, viewer.role)}")
        session_cookie_exchange()
        if st.button("Sign out", key="sign_out", width="stretch"):
            sign_out()
            st.rerun()

