"""POST /api/v1/hooks/<source>: each help desk's own satisfaction-rating webhook.

Checks, in order: the API key (401), its rate (429), that the key was added for this
source (``apikeys add NAME --source zendesk``; another source's key: 403), the body's
size (413), the signature when the key has a signing secret (``apikeys secret NAME``;
missing or wrong: 401), JSON (400), the payload's fields (400 naming the field). Then
``leaderboard.hook_intake.receive``: 200 {"status": inserted|updated|unchanged|stale|ignored},
202 {"status": "unmatched"} for an agent id no link names yet, 422 when the write path
refuses the row. Logged like every API request (never the payload).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from leaderboard import hook_intake
from leaderboard.hooks import SIGNATURE_HEADERS, SOURCES, HookError, Ignored, parse, parse_scales, signature_ok
from leaderboard.http import api, context


async def _hook(request: Request, source: str):
    holder = await api._authorize(request)
    if holder.source != source:
        given = f"source {holder.source!r}" if holder.source else "no source"
        raise api.Problem(
            403, f"API key {holder.name!r} has {given}: /api/v1/hooks/{source} takes a key added with "
            f"`apikeys add NAME --source {source}`")
    body = await api._raw_body(request)
    if holder.signing_secret and not signature_ok(source, holder.signing_secret, body, request.headers):
        raise api.Problem(401, f"missing or wrong {SIGNATURE_HEADERS.get(source, 'signature')} header "
                               f"(signed with the secret set by `apikeys secret {holder.name}`)")
    payload = api._decode(body)
    try:
        event = parse(source, payload, parse_scales(context.settings().hook_scales))
    except HookError as exc:
        raise api.Problem(400, f"{source} payload: {exc}") from None
    counts = {"received": 1, "inserted": 0, "updated": 0, "unchanged": 0, "rejected": 0}
    if isinstance(event, Ignored):
        return 200, {"status": "ignored", "reason": event.reason}, counts
    done = await context.writing(hook_intake.receive, event=event, viewer=api._viewer(holder))
    body = {"interaction_id": event.interaction_id, "status": done.status, "errors": list(done.errors)}
    if done.status == "unmatched":
        body["agent_id"] = event.agent_id
        return 202, body, counts
    counts["unchanged" if done.status == "stale" else done.status] = 1
    return (422 if done.status == "rejected" else 200), body, counts


def receiver(source: str):
    """The route handler of one source."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")

    async def handle(request: Request) -> Response:
        return await api._logged(request, lambda r: _hook(r, source))

    handle.__name__ = f"hook_{source}"
    return handle
