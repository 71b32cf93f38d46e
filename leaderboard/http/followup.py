"""The recovery follow-up survey on the survey's own route: /s/f.<token> (GET shows, POST records).

A token with the follow-up prefix (``leaderboard.survey_tokens.FOLLOWUP_PREFIX``) names a recovery
case; any other token is the ordinary survey (``leaderboard.http.survey``). The answer goes on the
case (``leaderboard.recovery_followup.record_answer``), never on the rating.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from db.models import utcnow
from leaderboard import recovery_followup
from leaderboard.http import context, survey
from leaderboard.http.survey_page import (
    MAX_COMMENT, followup_form, followup_thanks_page, message_page, text,
)
from leaderboard.names import public_name
from leaderboard.survey_tokens import SurveyTokenError, form_token, is_followup, verify_followup


def _already() -> str:
    return message_page("followup", "already_title", "already_body")


async def _open(request: Request):
    token = request.path_params["token"]
    secret = await context.run(context.secret)
    now = utcnow()
    try:
        case_id = verify_followup(token, secret=secret, now=now)
    except SurveyTokenError as exc:
        return survey._link_problem(exc.reason)
    subject = await context.with_engine(recovery_followup.subject, case_id=case_id)
    if subject is None:
        return survey._page(message_page("link", "missing_title", "missing_body"), 404)
    return token, secret, now, subject


async def get(request: Request) -> Response:
    if not is_followup(request.path_params["token"]):
        return await survey.survey_get(request)
    return await _followup_get(request)


async def post(request: Request) -> Response:
    if not is_followup(request.path_params["token"]):
        return await survey.survey_post(request)
    return await _followup_post(request)


@survey._friendly
async def _followup_get(request: Request) -> Response:
    opened = await _open(request)
    if isinstance(opened, Response):
        return opened
    token, secret, now, subject = opened
    if subject.followup_stars is not None:
        return survey._page(_already())
    return survey._page(followup_form(
        action=f"/s/{token}", form_token=form_token(token, secret=secret, issued_at=now),
        agent=public_name(subject.agent, context.settings().public_name_style), team=subject.team,
        stars=survey._whole(request.query_params.get("stars"), 1, 5),
    ))


@survey._friendly
async def _followup_post(request: Request) -> Response:
    opened = await _open(request)
    if isinstance(opened, Response):
        return opened
    token, secret, now, subject = opened
    fields = await survey.read_form(request, token=token, secret=secret, now=now)
    if isinstance(fields, Response):
        return fields

    def one(name: str) -> str:
        return (fields.get(name) or [""])[0]

    stars = survey._whole(one("stars"), 1, 5)
    comment = one("comment").replace("\x00", "").replace("\r\n", "\n").strip()
    error = ""
    if stars is None:
        error = text("errors", "stars_required")
    elif len(comment) > MAX_COMMENT:
        error = text("errors", "comment_too_long", limit=MAX_COMMENT)
    if error:
        return survey._page(followup_form(
            action=f"/s/{token}", form_token=form_token(token, secret=secret, issued_at=now),
            agent=public_name(subject.agent, context.settings().public_name_style), team=subject.team,
            stars=stars, comment=comment[:MAX_COMMENT], error=error,
        ), 422)
    outcome = await context.writing(
        recovery_followup.record_answer, case_id=subject.case_id, stars=stars, comment=comment, now=now
    )
    if outcome == "missing":
        return survey._page(message_page("link", "missing_title", "missing_body"), 404)
    if outcome == "already":
        return survey._page(_already(), 409)
    return survey._page(followup_thanks_page())
