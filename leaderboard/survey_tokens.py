"""Signed survey links and form tokens (pure: HMAC-SHA256 over a server secret).

A survey token names one interaction and when the link expires, and carries an
HMAC-SHA256 of both under the server's secret: editing any character of the
link breaks the signature. The interaction id inside is the only fact it holds
(no agent, no customer). A form token (CSRF) is bound to one survey token and
the moment the page was served, under the same secret with another purpose.

    token = sign_survey("T-1001", secret=b"...", expires_at=datetime(...))
    verify_survey(token, secret=b"...", now=datetime(...))  # -> "T-1001" or SurveyTokenError
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from datetime import datetime, timedelta, timezone

# Forms older than this are refused (the page is simply opened again).
FORM_MAX_AGE = timedelta(hours=24)

_EPOCH = datetime(1970, 1, 1)
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


class SurveyTokenError(ValueError):
    """A link or form token that cannot be used: ``reason`` is "malformed", "forged" or "expired"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not _B64URL.fullmatch(text):
        raise SurveyTokenError("malformed")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise SurveyTokenError("malformed") from None


def _seconds(moment: datetime) -> int:
    """Whole seconds since 1970 of a naive UTC (or aware) datetime."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return int((moment - _EPOCH).total_seconds())


def _mac(secret: bytes, purpose: str, payload: bytes) -> bytes:
    return hmac.new(secret, purpose.encode("ascii") + b"\x00" + payload, hashlib.sha256).digest()


def sign_survey(interaction_id: str, *, secret: bytes, expires_at: datetime) -> str:
    """The token of a survey link: ``<payload>.<signature>``, both base64url."""
    if not secret:
        raise ValueError("a secret is required")
    payload = f"{_seconds(expires_at)}|{interaction_id}".encode("utf-8")
    return f"{_b64(payload)}.{_b64(_mac(secret, 'survey', payload))}"


def verify_survey(token: str, *, secret: bytes, now: datetime) -> str:
    """The interaction id a token names; SurveyTokenError when malformed, forged or expired."""
    head, dot, tail = (token or "").partition(".")
    if not dot or not head or not tail or len(token) > 600:
        raise SurveyTokenError("malformed")
    payload, signature = _unb64(head), _unb64(tail)
    if not hmac.compare_digest(signature, _mac(secret, "survey", payload)):
        raise SurveyTokenError("forged")
    expires, bar, interaction_id = payload.decode("utf-8", errors="replace").partition("|")
    if not bar or not expires.isdigit() or not interaction_id:
        raise SurveyTokenError("malformed")
    if _seconds(now) >= int(expires):
        raise SurveyTokenError("expired")
    return interaction_id


def form_token(survey_token: str, *, secret: bytes, issued_at: datetime) -> str:
    """The CSRF token of one served survey page: bound to its link and the moment it was served."""
    issued = str(_seconds(issued_at))
    mac = _mac(secret, "form", f"{issued}|{survey_token}".encode("utf-8"))
    return f"{issued}.{_b64(mac)}"


def verify_form(form: str, survey_token: str, *, secret: bytes, now: datetime) -> None:
    """Raise SurveyTokenError unless ``form`` was made for ``survey_token`` less than FORM_MAX_AGE ago."""
    issued, dot, mac = (form or "").partition(".")
    if not dot or not issued.isdigit():
        raise SurveyTokenError("malformed")
    expected = _mac(secret, "form", f"{issued}|{survey_token}".encode("utf-8"))
    if not hmac.compare_digest(_unb64(mac), expected):
        raise SurveyTokenError("forged")
    age = _seconds(now) - int(issued)
    if age < -60 or age > FORM_MAX_AGE.total_seconds():
        raise SurveyTokenError("expired")


def survey_link(interaction_id: str, *, base_url: str, secret: bytes, now: datetime, days: int) -> str:
    """The full survey URL of an interaction, valid ``days`` days from ``now``."""
    token = sign_survey(interaction_id, secret=secret, expires_at=now + timedelta(days=days))
    return f"{base_url.rstrip('/')}/s/{token}"


# --- the recovery follow-up: a token of its own kind ----------------------------------------------------

# A follow-up link is /s/f.<payload>.<signature>: the same survey route, told apart by the prefix (a
# survey token never starts with "f." : its head is base64url without a dot). It names a recovery
# case, not an interaction, and is signed for another purpose: neither kind of token opens the other.
FOLLOWUP_PREFIX = "f."


def is_followup(token: str) -> bool:
    return (token or "").startswith(FOLLOWUP_PREFIX)


def sign_followup(case_id: int, *, secret: bytes, expires_at: datetime) -> str:
    """The token of a follow-up link: ``f.<payload>.<signature>`` naming one recovery case."""
    if not secret:
        raise ValueError("a secret is required")
    payload = f"{_seconds(expires_at)}|{int(case_id)}".encode("ascii")
    return f"{FOLLOWUP_PREFIX}{_b64(payload)}.{_b64(_mac(secret, 'followup', payload))}"


def verify_followup(token: str, *, secret: bytes, now: datetime) -> int:
    """The recovery case a follow-up token names; SurveyTokenError when malformed, forged or expired."""
    if not is_followup(token) or len(token) > 600:
        raise SurveyTokenError("malformed")
    head, dot, tail = token[len(FOLLOWUP_PREFIX):].partition(".")
    if not dot or not head or not tail:
        raise SurveyTokenError("malformed")
    payload, signature = _unb64(head), _unb64(tail)
    if not hmac.compare_digest(signature, _mac(secret, "followup", payload)):
        raise SurveyTokenError("forged")
    expires, bar, case_id = payload.decode("utf-8", errors="replace").partition("|")
    if not bar or not expires.isdigit() or not case_id.isdigit():
        raise SurveyTokenError("malformed")
    if _seconds(now) >= int(expires):
        raise SurveyTokenError("expired")
    return int(case_id)


def followup_link(case_id: int, *, base_url: str, secret: bytes, now: datetime, days: int) -> str:
    """The full follow-up survey URL of a recovery case, valid ``days`` days from ``now``."""
    token = sign_followup(case_id, secret=secret, expires_at=now + timedelta(days=days))
    return f"{base_url.rstrip('/')}/s/{token}"
