"""Who is looking: password hashing, sign-in policy and the viewer a query filters by.

Policy only; storage lives in ``db.accounts``. Access is enforced where data is
read: every query returning comments, tags, coaching notes or per-agent detail
takes a ``Viewer`` and filters by ``Viewer`` rules in ``db.queries``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# argon2id, memory-hard; these are argon2-cffi's RFC 9106 "low memory" defaults.
_HASHER = PasswordHasher()

ROLE_LABELS = {"agent": "Agent", "leader": "Team leader", "manager": "Manager", "admin": "Admin"}
MIN_PASSWORD_LENGTH = 8


class AuthError(Exception):
    """A sign-in or account problem, phrased for the person at the keyboard."""


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def failure_delay_seconds(failed_logins: int) -> float:
    """Each failed sign-in in a row waits longer: 0, 0.5, 1, 2, 4… seconds, capped at 8."""
    if failed_logins <= 1:
        return 0.0
    return min(8.0, 0.5 * 2 ** (failed_logins - 2))


def lock_until(*, failed_logins: int, now: datetime, max_failed: int, lockout_minutes: int) -> datetime | None:
    """When the account unlocks after this many failures in a row (None: not locked)."""
    if failed_logins >= max_failed:
        return now + timedelta(minutes=lockout_minutes)
    return None


def session_expired(*, last_seen: datetime, now: datetime, timeout_minutes: int) -> bool:
    return now - last_seen > timedelta(minutes=timeout_minutes)


def new_display_token() -> str:
    """A long random token for a wall TV (URL-safe)."""
    return secrets.token_urlsafe(24)


def token_digest(token: str) -> str:
    """Only this digest is stored; a token is high-entropy, so a fast hash is enough."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Viewer:
    """The person (or wall display) a screen or query is for.

    ``team_ids`` are the teams a leader leads; ``site_ids`` the sites a
    manager covers (None: every site).
    """

    role: str
    user_id: int | None = None
    username: str = ""
    display_name: str = ""
    agent_id: int | None = None
    team_ids: frozenset[int] = field(default_factory=frozenset)
    site_ids: frozenset[int] | None = None
    # A wall display's scope.
    display_site_id: int | None = None
    display_team_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_display(self) -> bool:
        return self.role == "display"

    @property
    def sees_everyone(self) -> bool:
        return self.role == "admin" or (self.role == "manager" and self.site_ids is None)

    def can_see_agent(self, *, agent_id: int, team_id: int, site_id: int) -> bool:
        """May this viewer see the agent's private detail (comments, tags, low ratings, notes)?"""
        if self.role == "admin":
            return True
        if self.role == "manager":
            return self.site_ids is None or site_id in self.site_ids
        if self.role == "leader":
            return team_id in self.team_ids
        if self.role == "agent":
            return self.agent_id is not None and agent_id == self.agent_id
        return False


# The wall's viewer: public figures only, within a scope.
def display_viewer(*, site_id: int | None, team_id: int | None, name: str) -> Viewer:
    return Viewer(role="display", username=name, display_site_id=site_id, display_team_id=team_id)
