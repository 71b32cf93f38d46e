"""The customer survey: GET /s/<token> shows the form (never records), POST records the answer."""

from __future__ import annotations

import functools
from datetime import datetime
import logging
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from db import survey_store
from db.models import utcnow
from leaderboard.http import context
from leaderboard.names import public_name
from leaderboard.http.survey_page import MAX_COMMENT, message_page, survey_form, tag_lists, text, thanks_page
from leaderboard.survey_tokens import SurveyTokenError, form_token, verify_form, verify_survey

MAX_FORM_BYTES = 64 * 1024

log = logging.getLogger("starboard.survey")

# No script may run, nothing loads from elsewhere, the form posts only here, nobody frames it;
# the link's token never leaks in a Referer header; no cache keeps a customer's page.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
}


def _page(content: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code=status, headers=HEADERS)


def _link_problem(reason: str) -> HTMLResponse:
    if reason == "expired":
        return _page(message_page("link", "expired_title", "expired_body"), 410)
    return _page(message_page("link", "invalid_title", "invalid_body"), 404)


def _whole(value: str | None, low: int, high: int) -> int | None:
    value = (value or "").strip()
    if not value.isdigit():
        return None
    number = int(value)
    return number if low <= number <= high else None


def _friendly(handler):
    """The database away (or any other failure) is a friendly page and a 503, never a traceback."""

    @functools.wraps(handler)
    async def guarded(request: Request) -> Response:
        try:
            return await handler(request)
        except Exception as exc:  # shown to a customer: one polite page; the log names the kind only
            log.warning("survey %s failed: %s", request.method, type(exc).__name__)
            return _page(message_page("link", "unavailable_title", "unavailable_body"), 503)

    return guarded


async def _open_link(request: Request) -> tuple[str, bytes, datetime, str] | Response:
    """(token, secret, now, interaction id) of the link, or the friendly page of a bad one."""
    token = request.path_params["token"]
    secret = await context.run(context.secret)
    now = utcnow()
    try:
        return token, secret, now, verify_survey(token, secret=secret, now=now)
    except SurveyTokenError as exc:
        return _link_problem(exc.reason)


@_friendly
async def survey_get(request: Request) -> Response:
    opened = await _open_link(request)
    if isinstance(opened, Response):
        return opened
    token, secret, now, interaction_id = opened
    subject = await context.with_engine(survey_store.subject, interaction_id=interaction_id)
    if subject is None:
        return _page(message_page("link", "missing_title", "missing_body"), 404)
    if subject.answered_at is not None and now - subject.answered_at > survey_store.RESUBMIT_WINDOW:
        return _page(message_page("thanks", "already_title", "already_body"))
    return _page(
        survey_form(
            action=f"/s/{token}",
            form_token=form_token(token, secret=secret, issued_at=now),
            agent=public_name(subject.agent, context.settings().public_name_style),
            team=subject.team,
            stars=_whole(request.query_params.get("stars"), 1, 5),
        )
    )


async def read_form(request: Request, *, token: str, secret: bytes, now) -> dict[str, list[str]] | Response:
    """A survey page's posted fields (at most MAX_FORM_BYTES), its form token checked; or the error page."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return _page(message_page("link", "invalid_title", "invalid_body", extra=f"<p>{text('errors', 'too_large')}</p>"), 413)
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    try:
        verify_form((fields.get("form_token") or [""])[0], token, secret=secret, now=now)
    except SurveyTokenError:
        return _page(message_page("link", "invalid_title", "invalid_body", extra=f"<p>{text('errors', 'form_expired')}</p>"), 403)
    return fields


@_friendly
async def survey_post(request: Request) -> Response:
    opened = await _open_link(request)
    if isinstance(opened, Response):
        return opened
    token, secret, now, interaction_id = opened
    fields = await read_form(request, token=token, secret=secret, now=now)
    if isinstance(fields, Response):
        return fields

    def one(name: str) -> str:
        return (fields.get(name) or [""])[0]

    subject = await context.with_engine(survey_store.subject, interaction_id=interaction_id)
    if subject is None:
        return _page(message_page("link", "missing_title", "missing_body"), 404)
    went_all, improve_all = tag_lists()
    stars = _whole(one("stars"), 1, 5)
    comment = one("comment").replace("\x00", "").replace("\r\n", "\n").strip()
    resolved = {"yes": True, "no": False}.get(one("resolved"))
    nps = _whole(one("nps"), 0, 10)
    went_well = tuple(t for t in went_all if t in fields.get("went_well", ()))
    to_improve = tuple(t for t in improve_all if t in fields.get("to_improve", ()))
    error = ""
    if stars is None:
        error = text("errors", "stars_required")
    elif len(comment) > MAX_COMMENT:
        error = text("errors", "comment_too_long", limit=MAX_COMMENT)
    if error:
        page = survey_form(
            action=f"/s/{token}", form_token=form_token(token, secret=secret, issued_at=now),
            agent=public_name(subject.agent, context.settings().public_name_style), team=subject.team,
            stars=stars, went_well=went_well,
            to_improve=to_improve, comment=comment[:MAX_COMMENT], resolved=resolved, nps=nps, error=error,
        )
        return _page(page, 422)
    answer = survey_store.Answer(
        stars=stars, comment=comment, resolved=resolved, nps=nps,
        went_well=tuple(t.lower() for t in went_well), to_improve=tuple(t.lower() for t in to_improve),
    )
    outcome = await context.writing(
        survey_store.record_answer, interaction_id=interaction_id, answer=answer, now=now
    )
    if outcome == "missing":
        return _page(message_page("link", "missing_title", "missing_body"), 404)
    if outcome == "already":
        return _page(message_page("thanks", "already_title", "already_body"), 409)
    return _page(thanks_page(replaced=outcome == "replaced", comment=comment))
