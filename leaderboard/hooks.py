"""Help-desk webhooks, the pure part: each source's payload into one canonical event, and signatures.

Five help desks post their own satisfaction-rating payloads to ``/api/v1/hooks/<source>``
(``leaderboard.http.hooks``). Here, without a database: ``parse`` turns a decoded JSON
payload into a :class:`HookEvent` (or :class:`Ignored` for a notification that is not a
rating, or raises :class:`HookError` naming the field that is wrong), ``signature_ok``
checks the source's signature header against the key's signing secret, and ``sign``
makes those headers (for tests and the examples). Scales (good/bad, Great/Okay/Bad,
Freshdesk's 103…-103) map to stars through ``DEFAULT_SCALES``, overridable by the
``STARBOARD_HOOK_SCALES`` setting (``parse_scales``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

SOURCES = ("zendesk", "freshdesk", "intercom", "chatwoot", "helpscout")
# The channel an interaction of each source gets when Starboard does not know it already.
CHANNELS = {"zendesk": "email", "freshdesk": "email", "intercom": "chat", "chatwoot": "chat", "helpscout": "email"}
# Sources that sign their requests, and the header each signs in (its check in ``signature_ok``).
SIGNATURE_HEADERS = {
    "zendesk": "X-Zendesk-Webhook-Signature",
    "intercom": "X-Hub-Signature",
    "helpscout": "X-HelpScout-Signature",
}
ZENDESK_TIMESTAMP = "X-Zendesk-Webhook-Signature-Timestamp"

# Text scores to stars, per source (keys compared without case). Numbers 1-5 are stars as they are
# for every source but Freshdesk, whose survey answers are 103 (extremely happy) down to -103.
DEFAULT_SCALES: dict[str, dict[str, int]] = {
    "zendesk": {"good": 5, "bad": 1},
    "freshdesk": {"103": 5, "102": 4, "101": 4, "100": 3, "-101": 2, "-102": 2, "-103": 1},
    "intercom": {},
    "chatwoot": {},
    "helpscout": {"great": 5, "okay": 3, "bad": 1, "not good": 1},
}
MAX_ID = 80  # an external ticket or agent id (interaction ids are "<source>-<id>", at most 100)
MAX_COMMENT = 4000
MAX_TAG = 80


class HookError(ValueError):
    """Why a payload cannot be read as a rating: names the field (``assignee_id``, ``data.item.id``)."""


@dataclass(frozen=True)
class HookEvent:
    """One rating from a help desk, in Starboard's terms (times naive UTC)."""

    source: str
    ticket_id: str  # the ticket or conversation id at the source
    agent_id: str  # the rated agent's id at the source
    stars: int
    rated_at: datetime
    comment: str = ""
    to_improve: tuple[str, ...] = ()
    agent_name: str = ""  # when the source names the agent (a hint for linking, never matched on)

    @property
    def interaction_id(self) -> str:
        return interaction_id(self.source, self.ticket_id)

    @property
    def channel(self) -> str:
        return CHANNELS[self.source]


@dataclass(frozen=True)
class Ignored:
    """A notification that carries no rating (another topic, a survey only offered): answered 200."""

    reason: str


def interaction_id(source: str, ticket_id: str) -> str:
    return f"{source}-{ticket_id}"


# --------------------------------------------------------------------------- scales


def parse_scales(text: str) -> dict[str, dict[str, int]]:
    """``DEFAULT_SCALES`` with the overrides of a JSON text: ``{"zendesk": {"good": 5, "bad": 2}}``.

    Each source named replaces or adds the given scores; stars must be whole numbers 1-5.
    Raises ValueError naming the source and score that is wrong.
    """
    scales = {source: dict(scale) for source, scale in DEFAULT_SCALES.items()}
    if not (text or "").strip():
        return scales
    try:
        given = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(given, dict):
        raise ValueError('must be a JSON object like {"zendesk": {"good": 5, "bad": 1}}')
    for source, scale in given.items():
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r} (one of: {', '.join(SOURCES)})")
        if not isinstance(scale, dict):
            raise ValueError(f"{source}: must map each score to stars")
        for score, stars in scale.items():
            if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
                raise ValueError(f"{source}: score {score!r} must map to whole stars 1-5, not {stars!r}")
            scales[source][str(score).strip().lower()] = stars
    return scales


def stars_of(source: str, value: Any, scales: Mapping[str, Mapping[str, int]], *, field: str) -> int:
    """A source's score as stars: its scale's text (case ignored), else a whole number 1-5."""
    scale = scales.get(source, {})
    key = str(value).strip().lower() if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    if key is not None and key in scale:
        return scale[key]
    if source != "freshdesk" and key is not None and key.lstrip("-").isdigit() and 1 <= int(key) <= 5:
        return int(key)
    known = ", ".join(scale) if scale else ""
    expected = f"one of {known}" + ("" if source == "freshdesk" else " or 1-5") if known else "a whole number 1-5"
    raise HookError(f"{field}: {value!r} is not a score Starboard knows (expected {expected})")


# --------------------------------------------------------------------------- reading payloads


def _get(payload: Any, path: str) -> Any:
    """``payload["a"]["b"]`` for ``"a.b"``; None where any step is missing."""
    value = payload
    for step in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


def _id(payload: Any, path: str, *, required: bool = True) -> str:
    value = _get(payload, path)
    if value is None or value == "":
        if required:
            raise HookError(f"{path} is missing")
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise HookError(f"{path} must be an id (text or a whole number), not {type(value).__name__}")
    text = str(value).strip()
    if not text or len(text) > MAX_ID or any(ord(c) < 32 for c in text):
        raise HookError(f"{path} must be 1-{MAX_ID} printable characters")
    return text


def _first_id(payload: Any, *paths: str) -> str:
    """The id at the first of ``paths`` the payload has (a missing one is named by the first path)."""
    for path in paths:
        if _get(payload, path) not in (None, ""):
            return _id(payload, path)
    return _id(payload, paths[0])


def _text(payload: Any, path: str, limit: int = MAX_COMMENT) -> str:
    value = _get(payload, path)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise HookError(f"{path} must be text")
    return value.strip()[:limit]


def parse_time(value: Any, *, field: str) -> datetime:
    """An ISO 8601 time (offset or Z; none: UTC) or Unix seconds, as naive UTC."""
    if isinstance(value, bool) or value is None or value == "":
        raise HookError(f"{field} is missing")
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(value, tz=timezone.utc).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            raise HookError(f"{field}: {value!r} is not a Unix time") from None
    if not isinstance(value, str):
        raise HookError(f"{field} must be an ISO 8601 time or Unix seconds")
    text = value.strip()
    if text.isdigit():
        return parse_time(int(text), field=field)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise HookError(f"{field}: {value!r} is not an ISO 8601 time (2026-11-20T14:03:00Z)") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def _unwrap(payload: Any, key: str) -> Any:
    """The object under ``key`` when the payload wraps it there (as the source's own API does), else itself."""
    inner = payload.get(key) if isinstance(payload, dict) else None
    return inner if isinstance(inner, dict) else payload


def _zendesk(payload: Any, scales) -> HookEvent | Ignored:
    rating = _unwrap(payload, "satisfaction_rating")
    score = _get(rating, "score")
    if isinstance(score, str) and score.strip().lower() in ("offered", "unoffered"):
        return Ignored(f"score {score.strip().lower()}: the customer has not answered")
    if score is None or score == "":
        raise HookError("score is missing")
    reason = _text(rating, "reason", MAX_TAG)
    return HookEvent(
        source="zendesk",
        ticket_id=_id(rating, "ticket_id"),
        agent_id=_id(rating, "assignee_id"),
        stars=stars_of("zendesk", score, scales, field="score"),
        rated_at=parse_time(_get(rating, "updated_at") or _get(rating, "created_at"), field="created_at"),
        comment=_text(rating, "comment"),
        to_improve=(reason,) if reason and reason.lower() not in ("no reason provided", "none") else (),
    )


def _freshdesk(payload: Any, scales) -> HookEvent | Ignored:
    rating = _unwrap(payload, "satisfaction_rating")
    ratings = _get(rating, "ratings")
    if not isinstance(ratings, dict) or not ratings:
        raise HookError("ratings must be an object like {\"default_question\": 103}")
    question = "default_question" if "default_question" in ratings else next(iter(ratings))
    return HookEvent(
        source="freshdesk",
        ticket_id=_id(rating, "ticket_id"),
        agent_id=_id(rating, "agent_id"),
        stars=stars_of("freshdesk", ratings[question], scales, field=f"ratings.{question}"),
        rated_at=parse_time(_get(rating, "updated_at") or _get(rating, "created_at"), field="created_at"),
        comment=_text(rating, "feedback"),
    )


def _intercom(payload: Any, scales) -> HookEvent | Ignored:
    topic = _get(payload, "topic")
    if topic != "conversation.rating.added":
        if not isinstance(topic, str):
            raise HookError("topic is missing (expected conversation.rating.added)")
        return Ignored(f"topic {topic[:60]}: not a rating")
    item = _get(payload, "data.item")
    if not isinstance(item, dict):
        raise HookError("data.item is missing")
    rating = _get(item, "conversation_rating")
    if not isinstance(rating, dict):
        raise HookError("data.item.conversation_rating is missing")
    return HookEvent(
        source="intercom",
        ticket_id=_id(payload, "data.item.id"),
        agent_id=_id(payload, "data.item.conversation_rating.teammate.id"),
        stars=stars_of("intercom", rating.get("rating"), scales, field="data.item.conversation_rating.rating"),
        rated_at=parse_time(rating.get("created_at"), field="data.item.conversation_rating.created_at"),
        comment=_text(rating, "remark"),
    )


def _chatwoot(payload: Any, scales) -> HookEvent | Ignored:
    event = _get(payload, "event")
    if event != "csat_survey_response_created":
        if not isinstance(event, str):
            raise HookError("event is missing (expected csat_survey_response_created)")
        return Ignored(f"event {event[:60]}: not a rating")
    response = _unwrap(payload, "csat_survey_response")
    return HookEvent(
        source="chatwoot",
        ticket_id=_first_id(response, "conversation.id", "conversation_id"),
        agent_id=_id(response, "assigned_agent.id"),
        agent_name=_text(response, "assigned_agent.name", 120),
        stars=stars_of("chatwoot", _get(response, "rating"), scales, field="rating"),
        rated_at=parse_time(_get(response, "updated_at") or _get(response, "created_at"), field="created_at"),
        comment=_text(response, "feedback_message"),
    )


def _helpscout(payload: Any, scales) -> HookEvent | Ignored:
    agent = _first_id(payload, "user.id", "userId")
    name = " ".join(p for p in (_text(payload, "user.first", 60), _text(payload, "user.last", 60)) if p)
    return HookEvent(
        source="helpscout",
        ticket_id=_first_id(payload, "ticketId", "conversationId"),
        agent_id=agent,
        agent_name=name,
        stars=stars_of("helpscout", _get(payload, "rating"), scales, field="rating"),
        rated_at=parse_time(_get(payload, "modifiedAt") or _get(payload, "createdAt"), field="createdAt"),
        comment=_text(payload, "comments"),
    )


_PARSERS = {
    "zendesk": _zendesk, "freshdesk": _freshdesk, "intercom": _intercom, "chatwoot": _chatwoot,
    "helpscout": _helpscout,
}


def parse(source: str, payload: Any, scales: Mapping[str, Mapping[str, int]] | None = None) -> HookEvent | Ignored:
    """One payload of ``source`` as a rating event, or Ignored; HookError names what is wrong."""
    if source not in _PARSERS:
        raise HookError(f"unknown source {source!r}")
    if not isinstance(payload, dict):
        raise HookError("the payload must be a JSON object")
    return _PARSERS[source](payload, DEFAULT_SCALES if scales is None else scales)


# --------------------------------------------------------------------------- signatures


def signs(source: str) -> bool:
    """Whether ``source`` signs its webhooks (Freshdesk and Chatwoot do not: the API key alone vouches)."""
    return source in SIGNATURE_HEADERS


def _expected(source: str, secret: str, body: bytes, timestamp: str = "") -> str:
    key = secret.encode("utf-8")
    if source == "zendesk":
        digest = hmac.new(key, timestamp.encode("utf-8") + body, hashlib.sha256).digest()
        return base64.b64encode(digest).decode("ascii")
    if source == "intercom":
        return "sha1=" + hmac.new(key, body, hashlib.sha1).hexdigest()
    if source == "helpscout":
        return base64.b64encode(hmac.new(key, body, hashlib.sha1).digest()).decode("ascii")
    raise ValueError(f"{source} does not sign its webhooks")


def sign(source: str, secret: str, body: bytes, *, timestamp: str = "2026-11-20T14:03:00Z") -> dict[str, str]:
    """The signature header(s) ``source`` would send with ``body`` (Zendesk: with its timestamp header)."""
    headers = {SIGNATURE_HEADERS[source]: _expected(source, secret, body, timestamp)}
    if source == "zendesk":
        headers[ZENDESK_TIMESTAMP] = timestamp
    return headers


def signature_ok(source: str, secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """Whether the request's signature header is ``source``'s signature of ``body`` under ``secret``.

    ``headers`` is looked up case-insensitively (pass Starlette's headers, or a dict with any case).
    """
    lower = {k.lower(): v for k, v in headers.items()}
    given = lower.get(SIGNATURE_HEADERS[source].lower(), "").strip()
    if not given or not secret:
        return False
    timestamp = lower.get(ZENDESK_TIMESTAMP.lower(), "") if source == "zendesk" else ""
    if source == "zendesk" and not timestamp:
        return False
    expected = _expected(source, secret, body, timestamp)
    if source == "intercom":
        given = given.lower()
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
