"""The sign-in cookie: GET /auth/session sets it, GET /auth/signout clears it.

Streamlit cannot set an HttpOnly cookie from a script, so the sign-in form makes
a server-side session with a one-time handoff token (db.accounts) and the page
then loads ``/auth/session?token=HANDOFF`` (an invisible image, or a link with
``next=/page``). This route exchanges the handoff for the session's own token
and keeps it in the ``starboard_session`` cookie: HttpOnly, SameSite=Lax, Secure
when the request came over HTTPS, signed with the server's secret. The app reads
it from ``st.context.cookies`` when a new browser tab (or a reload) connects
(pages/access.py) and checks the session record every time, so signing out or
disabling the account ends it everywhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from db import accounts
from leaderboard.http import context

COOKIE = "starboard_session"
log = logging.getLogger("starboard.auth")

HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}


def _mac(token: str, secret: bytes) -> str:
    digest = hmac.new(secret, b"starboard-session:" + token.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def sign(token: str, secret: bytes) -> str:
    """The cookie's value: the session token and its signature."""
    return f"{token}.{_mac(token, secret)}"


def unsign(value: str | None, secret: bytes) -> str | None:
    """The session token of a cookie value whose signature holds, else None."""
    if not value or len(value) > 300 or "." not in value:
        return None
    token, _, mac = value.rpartition(".")
    return token if token and hmac.compare_digest(mac, _mac(token, secret)) else None


def safe_next(value: str | None) -> str | None:
    """A path on this server to go to afterwards (never another site), or None."""
    value = (value or "").strip()
    if not value.startswith("/") or value.startswith("//") or "\\" in value or len(value) > 500:
        return None
    if any(ord(c) < 32 for c in value):
        return None
    return value


def _secure(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def _answer(request: Request) -> Response:
    target = safe_next(request.query_params.get("next"))
    if target is None:
        return Response(status_code=204, headers=HEADERS)
    return RedirectResponse(target, status_code=303, headers=HEADERS)


async def session_get(request: Request) -> Response:
    """Exchange a one-time handoff token for the session cookie; then go ``next`` (or answer 204)."""
    handoff = request.query_params.get("token", "")
    response = _answer(request)
    try:
        token = await context.with_engine(_exchange, handoff=handoff)
        secret = await context.run(context.secret)
    except Exception as exc:  # the database away: no cookie, and the tab stays signed in by itself
        log.warning("session handoff failed: %s", type(exc).__name__)
        return response
    if token is not None:
        response.set_cookie(
            COOKIE, sign(token, secret), httponly=True, samesite="lax", secure=_secure(request), path="/"
        )
    return response


def _exchange(*, engine, handoff: str) -> str | None:
    with Session(engine) as session:
        return accounts.exchange_handoff(session=session, handoff=handoff)


async def signout_get(request: Request) -> Response:
    """Clear the session cookie (the session itself was revoked by the app's Sign out); then go ``next``."""
    response = _answer(request)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request))
    return response
