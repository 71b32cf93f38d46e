"""The JSON API under /api/v1: health, interactions (asking for feedback) and ratings (ingestion).

Every call but health needs ``Authorization: Bearer KEY`` (``python -m leaderboard
apikeys add``). Checks run in this order: key (401), rate (429 with Retry-After),
size (413), JSON (400), then each item through the import's own row checks
(``db.ingest.parse_row``: the same messages as a CSV import) and the one write path.
Every request is logged in the api_request table (time, key, path, status, counts);
the payload is never logged.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import deque
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from db import apikeys
from leaderboard.auth import Viewer, api_key_viewer
from db.ingest import COLUMNS, OPTIONAL_COLUMNS, RATING_COLUMNS, CanonicalRow, parse_row, write_rows
from leaderboard.http import context
from leaderboard.mail_rules import check_address, check_customer_name
from leaderboard.survey_mail import SurveyRequest, offer_surveys

MAX_BODY_BYTES = 1024 * 1024
MAX_ITEMS = 1000
RATING_FIELDS = frozenset(COLUMNS + OPTIONAL_COLUMNS)
INTERACTION_FIELDS = frozenset(c for c in COLUMNS + OPTIONAL_COLUMNS if c not in RATING_COLUMNS)
# Optional on /interactions: the survey request e-mail goes to customer_email (greeting customer_name).
# Neither is stored with the interaction: the address waits in the outbox until the e-mail is sent.
CONTACT_FIELDS = frozenset({"customer_email", "customer_name"})

log = logging.getLogger("starboard.api")


class RateLimiter:
    """At most ``limit`` requests in any one-second window per key (in this process)."""

    def __init__(self) -> None:
        self._seen: dict[str, deque[float]] = {}

    def retry_after(self, key: str, *, limit: int, now: float | None = None) -> int | None:
        """None when the request may go ahead (and counts it); else whole seconds to wait."""
        now = time.monotonic() if now is None else now
        seen = self._seen.setdefault(key, deque())
        while seen and now - seen[0] >= 1.0:
            seen.popleft()
        if len(seen) >= limit:
            return max(1, math.ceil(1.0 - (now - seen[0])))
        seen.append(now)
        return None


LIMITER = RateLimiter()


class Problem(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})})


async def health(_request: Request) -> Response:
    if await context.run(context.database_ok):
        return _json(200, {"ok": True, "db": "ok"})
    return _json(503, {"ok": False, "db": "unavailable"})


def _bearer(request: Request) -> str:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""


async def _authorize(request: Request) -> apikeys.KeyHolder:
    holder = await context.with_engine(apikeys.key_holder, key=_bearer(request))
    if holder is None:
        raise Problem(401, "missing, unknown or revoked API key (send Authorization: Bearer KEY)",
                      {"WWW-Authenticate": "Bearer"})
    request.state.key_name = holder.name  # the log names the key from here on, a 429 too
    wait = LIMITER.retry_after(holder.name, limit=context.settings().api_rate_limit)
    if wait is not None:
        raise Problem(429, "too many requests for this key; retry later", {"Retry-After": str(wait)})
    return holder


async def _body(request: Request) -> Any:
    return _decode(await _raw_body(request))


async def _raw_body(request: Request) -> bytes:
    """The request's body as sent (a webhook's signature covers these bytes); 413 over the limit."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise Problem(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise Problem(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
    return bytes(body)


def _decode(body: bytes) -> Any:
    """The body as JSON; 400 naming the problem and where."""
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise Problem(400, f"malformed JSON: not UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise Problem(400, f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


def _cell(value: Any) -> str:
    """A JSON value as the text a CSV cell would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float, str)):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ";".join(value)
    raise ValueError("must be text, a number, true/false or a list of texts")


def _row(item: Any, *, index: int, allowed: frozenset[str]) -> tuple[str, CanonicalRow | None, list[str]]:
    """One JSON item checked as a canonical CSV row: (interaction_id, row or None, errors)."""
    if not isinstance(item, dict):
        return "", None, ["each item must be a JSON object"]
    interaction_id = item.get("interaction_id") if isinstance(item.get("interaction_id"), str) else ""
    errors = [f"unknown field {key!r}" for key in item if key not in allowed]
    raw: dict[str, str] = {}
    for key, value in item.items():
        if key in RATING_FIELDS and key in allowed:
            try:
                raw[key] = _cell(value)
            except ValueError as exc:
                errors.append(f"field {key}: {exc}")
    parsed = parse_row(raw, file="request", line=index + 1)
    if isinstance(parsed, list):
        errors.extend(error.problem for error in parsed)
        return interaction_id, None, errors
    return interaction_id, (None if errors else parsed), errors


def _viewer(holder: apikeys.KeyHolder) -> Viewer:
    """Who the key writes as: every site, or a manager of its sites; audit entries name "apikey:NAME"."""
    return api_key_viewer(holder.name, site_ids=holder.site_ids)


def _write_one(*, engine, row: CanonicalRow, viewer: Viewer) -> tuple[str, list[str]]:
    """(status, errors): a row outside the key's sites is rejected with the import's reason."""
    report = write_rows(engine=engine, rows=[row], viewer=viewer, settings=context.settings())
    if report.rejected:
        return "rejected", [error.reason for error in report.errors]
    if report.inserted:
        return "inserted", []
    return ("updated" if report.updated else "unchanged"), []


async def _logged(request: Request, handler) -> Response:
    """Run ``handler`` (it returns status, body, counts); log the request, never its payload."""
    counts: dict[str, int] = {}
    try:
        status, body, counts = await handler(request)
        response = _json(status, body)
    except Problem as exc:
        response = _json(exc.status, {"error": str(exc)}, exc.headers)
    except Exception as exc:  # the database went away mid-request: one line, never a traceback
        log.warning("api %s failed: %s", request.url.path, type(exc).__name__)
        return _json(503, {"error": "the database is unavailable; retry later"})
    key_name = getattr(request.state, "key_name", "")  # set by _authorize once the key is known
    try:
        await context.writing(
            apikeys.log_request, key_name=key_name, path=request.url.path, status=response.status_code, counts=counts
        )
    except Exception as exc:  # logging must not turn an answer into an error
        log.warning("api request log failed: %s", type(exc).__name__)
    log.info("api %s key=%s status=%s counts=%s", request.url.path, key_name or "-", response.status_code, counts)
    return response


async def _ratings(request: Request):
    viewer = _viewer(await _authorize(request))
    payload = await _body(request)
    items = payload if isinstance(payload, list) else [payload]
    if isinstance(payload, list) and not payload:
        raise Problem(400, "the list of ratings is empty")
    if len(items) > MAX_ITEMS:
        raise Problem(413, f"at most {MAX_ITEMS} ratings per request (got {len(items)})")
    results, counts = [], {"received": len(items), "inserted": 0, "updated": 0, "unchanged": 0, "rejected": 0}
    for index, item in enumerate(items):
        interaction_id, row, errors = _row(item, index=index, allowed=RATING_FIELDS)
        if row is not None and not row.rated:
            row, errors = None, ["stars is required (a rating without stars is not a rating)"]
        if row is None:
            status = "rejected"
        else:
            status, errors = await context.writing(_write_one, row=row, viewer=viewer)
        counts[status] += 1
        results.append({"interaction_id": interaction_id, "status": status, "errors": errors})
    return (207 if counts["rejected"] else 200), {"results": results, "counts": counts}, counts


async def ratings(request: Request) -> Response:
    return await _logged(request, _ratings)


def _contact(payload: dict) -> tuple[str, str, list[str]]:
    """(customer_email, customer_name, errors) of an /interactions request."""
    errors, found = [], {}
    for key, check in (("customer_email", check_address), ("customer_name", check_customer_name)):
        value = payload.get(key)
        if value is None or value == "":
            found[key] = ""
            continue
        if not isinstance(value, str):
            errors.append(f"field {key}: must be text")
            found[key] = ""
            continue
        try:
            found[key] = check(value)
        except ValueError as exc:
            errors.append(f"field {key}: {exc}")
            found[key] = ""
    return found["customer_email"], found["customer_name"], errors


async def _interactions(request: Request):
    viewer = _viewer(await _authorize(request))
    payload = await _body(request)
    if not isinstance(payload, dict):
        raise Problem(400, "send one JSON object: interaction_id, agent, team, site, channel, contact_reason, closed_at")
    fields = {k: v for k, v in payload.items() if k not in CONTACT_FIELDS}
    interaction_id, row, errors = _row(fields, index=0, allowed=INTERACTION_FIELDS)
    email, name, contact_errors = _contact(payload)
    errors += contact_errors
    counts = {"received": 1, "inserted": 0, "updated": 0, "unchanged": 0, "rejected": 0}
    if row is None or contact_errors:
        counts["rejected"] = 1
        body = {"interaction_id": interaction_id, "status": "rejected", "errors": errors}
        return 422, body, counts
    status, errors = await context.writing(_write_one, row=row, viewer=viewer)
    counts[status] = 1
    if status == "rejected":
        return 403, {"interaction_id": row.interaction_id, "status": status, "errors": errors}, counts
    current = context.settings()
    secret = await context.run(context.secret, current)
    # Right after the interaction's own transaction (the write path commits per batch): a failure here
    # answers 503, and the help desk's retry finds the interaction unchanged and queues the e-mail once.
    offered = await context.writing(
        offer_surveys, settings=current, secret=secret, channel="api",
        requests=[SurveyRequest(row.interaction_id, email=email, customer_name=name)],
    )
    body = {"interaction_id": row.interaction_id, "status": status, "errors": [], "survey_url": offered[0].url}
    if email:
        body["email"] = offered[0].email
    return (201 if status == "inserted" else 200), body, counts


async def interactions(request: Request) -> Response:
    return await _logged(request, _interactions)
