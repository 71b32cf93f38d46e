"""Unsubscribe from survey e-mails: GET /u/<token> asks (mail scanners open every link), POST records.

The token names the address only by its hash, signed with the server secret
(``leaderboard.mail_rules``). The POST needs no form token: mail clients send it on
their own for the ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` header (RFC
8058), and the worst a forged POST can do is stop the e-mails of the link's owner.
"""

from __future__ import annotations

import functools
import logging
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from db.survey_mail_store import unsubscribe
from leaderboard.auth import SYSTEM_VIEWER
from leaderboard.http import context
from leaderboard.http.survey import HEADERS
from leaderboard.http.survey_page import message_page, text
from leaderboard.mail_rules import verify_unsubscribe

log = logging.getLogger("starboard.unsubscribe")


def _page(content: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code=status, headers=HEADERS)


def _guarded(handler):
    @functools.wraps(handler)
    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except Exception as exc:  # shown to a customer: one polite page; the log names the kind only
            log.warning("unsubscribe %s failed: %s", request.method, type(exc).__name__)
            return _page(message_page("link", "unavailable_title", "unavailable_body"), 503)

    return run


async def _digest(request: Request) -> str | None:
    secret = await context.run(context.secret)
    return verify_unsubscribe(request.path_params["token"], secret=secret)


@_guarded
async def unsubscribe_get(request: Request) -> Response:
    if await _digest(request) is None:
        return _page(message_page("unsubscribe", "invalid_title", "invalid_body"), 404)
    action = escape(f"/u/{request.path_params['token']}")
    form = f'<form method="post" action="{action}"><button type="submit">{text("unsubscribe", "button")}</button></form>'
    return _page(message_page("unsubscribe", "title", "body", extra=form))


@_guarded
async def unsubscribe_post(request: Request) -> Response:
    digest = await _digest(request)
    if digest is None:
        return _page(message_page("unsubscribe", "invalid_title", "invalid_body"), 404)
    await context.with_engine(unsubscribe, viewer=SYSTEM_VIEWER, address_hash=digest)
    return _page(message_page("unsubscribe", "done_title", "done_body"))
