"""Who is looking: roles, password hashing, sign-in policy, the viewer and what it may see.

Policy only; storage lives in ``db.accounts``. Access is enforced where data is
read: every query returning comments, tags, coaching notes, recovery cases or
per-agent detail takes a ``Viewer`` (never None) and filters with the SQL that
``db.scope`` builds from :func:`visibility`, the one description of who may see
what. The command line and background jobs pass :data:`SYSTEM_VIEWER`.
"""

from __future__ import annotations

import functools
import hashlib
import math
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# argon2id, memory-hard; these are argon2-cffi's RFC 9106 "low memory" defaults.
_HASHER = PasswordHasher()


class Role(StrEnum):
    """What a viewer is. A StrEnum: equal to (and stored as) the plain text, e.g. ``Role.ADMIN == "admin"``."""

    AGENT = "agent"
    LEADER = "leader"
    MANAGER = "manager"
    ADMIN = "admin"
    # A wall TV signed in with a token; never a user account's role.
    DISPLAY = "display"


# The roles a user account may have (the choices of `users add --role`).
ACCOUNT_ROLES: tuple[Role, ...] = (Role.AGENT, Role.LEADER, Role.MANAGER, Role.ADMIN)
# The same as plain text, for command-line choices (argparse shows choices with repr()).
ACCOUNT_ROLE_NAMES: tuple[str, ...] = tuple(r.value for r in ACCOUNT_ROLES)
# Who coaches, works recovery cases and awards badges.
COACH_ROLES: tuple[Role, ...] = (Role.LEADER, Role.MANAGER, Role.ADMIN)
ROLE_LABELS = {Role.AGENT: "Agent", Role.LEADER: "Team leader", Role.MANAGER: "Manager", Role.ADMIN: "Admin"}


# --- password and sign-in policy -------------------------------------------------------

MIN_PASSWORD_LENGTH = 12
# Every input is bounded before it reaches the database or the hasher.
MAX_PASSWORD_LENGTH = 1024
MAX_USERNAME_LENGTH = 80  # app_user.username's column length
# The seeded demo database's shared password: it signs in only the seeded demo
# accounts, and only while the database is a demo one (see db.accounts.demo_database).
DEMO_PASSWORD = "starboard-demo"
# One message for an unknown user, a wrong password and a disabled account.
SIGN_IN_FAILED = "Wrong username or password."
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent / "data" / "common_passwords.txt"


class AuthError(Exception):
    """A sign-in or account problem, phrased for the person at the keyboard."""


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower-cased ("#" lines are comments)."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().casefold() for line in lines if line.strip() and not line.startswith("#"))


def password_problem(password: str, *, username: str = "") -> str | None:
    """Why a new password is refused (None: it is fine)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"a password may have at most {MAX_PASSWORD_LENGTH} characters"
    folded = password.strip().casefold()
    if username and folded == username.strip().casefold():
        return "a password may not be the username"
    if folded == DEMO_PASSWORD.casefold():
        return "that is the demo password, which everyone knows: pick another"
    if folded in common_passwords():
        return "that password is on the list of the most common passwords: pick another"
    return None


def check_new_password(password: str, *, username: str = "") -> None:
    """AuthError when ``password`` may not be set (too short or long, common, the username, the demo one)."""
    problem = password_problem(password, username=username)
    if problem:
        raise AuthError(problem)


def hash_password(password: str) -> str:
    """The argon2id hash (no policy here: see :func:`check_new_password`)."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    if not password_hash or len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def bounded_username(username: str | None) -> str:
    """A typed username, trimmed and cut to the column's length (for lookups of throttles and the audit)."""
    return (username or "").strip()[:MAX_USERNAME_LENGTH]


# Failed sign-ins slow down further attempts, counted per account name (known or
# not, so the delays tell nothing about which accounts exist) and per client
# address. There is no hard lock that anyone could trigger against someone else:
# an account's delay is a wait (capped low: its owner always gets in after it),
# an address's delay refuses attempts from that address until it has passed.
ACCOUNT_MAX_DELAY_SECONDS = 10.0
ADDRESS_MAX_DELAY_SECONDS = 300.0
# An address may be a whole office behind one gateway: it gets more free failures.
ADDRESS_FREE_FACTOR = 4


def throttle_delay(failures: int, *, free_failures: int, max_delay: float) -> float:
    """Seconds to wait after ``failures`` recent failures: 0 up to ``free_failures``, then 1, 2, 4 ... capped."""
    if failures < max(1, free_failures):
        return 0.0
    return min(max_delay, 2.0 ** min(30, failures - max(1, free_failures)))


def throttle_wait(
    *, failures: int, last_failure_at: datetime | None, now: datetime, free_failures: int, max_delay: float
) -> float:
    """Seconds left before the next attempt may be checked (0: now; never more than the delay itself,
    even when ``last_failure_at`` is ahead of ``now``, e.g. another server's clock)."""
    if last_failure_at is None:
        return 0.0
    delay = throttle_delay(failures, free_failures=free_failures, max_delay=max_delay)
    return max(0.0, min(delay, delay - (now - last_failure_at).total_seconds()))


def throttled_message(seconds: float) -> str:
    """The answer while a client address must wait (the same for every username)."""
    return f"Too many failed sign-ins from your network. Try again in {max(1, math.ceil(seconds))} s."


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
    """The person (or wall display, or the system itself) a screen or query is for.

    ``team_ids`` are the teams a leader leads; ``site_ids`` the sites a
    manager covers (None: every site). A role given as text is turned into
    a :class:`Role` (an unknown one raises ValueError).
    """

    role: Role
    user_id: int | None = None
    username: str = ""
    display_name: str = ""
    agent_id: int | None = None
    team_ids: frozenset[int] = field(default_factory=frozenset)
    site_ids: frozenset[int] | None = None
    # A wall display's scope.
    display_site_id: int | None = None
    display_team_id: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "role", Role(self.role))

    @classmethod
    def system(cls) -> "Viewer":
        """The operator at the command line, or a background job: sees everything (see :data:`SYSTEM_VIEWER`)."""
        return SYSTEM_VIEWER

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_display(self) -> bool:
        return self.role == Role.DISPLAY

    @property
    def is_system(self) -> bool:
        return self == SYSTEM_VIEWER

    @property
    def sees_everyone(self) -> bool:
        return visibility(self).all_sites

    def can_see_agent(self, *, agent_id: int, team_id: int, site_id: int) -> bool:
        """May this viewer see the agent's private detail (comments, tags, low ratings, notes)?"""
        return visibility(self).may_see(DataKind.AGENT_DETAIL, agent_id=agent_id, team_id=team_id, site_id=site_id)


SYSTEM_NAME = "system"
# The command line and background jobs (prompt generation, imports): an admin's
# scope, named "system" so that it is never mistaken for a person. Not a user row.
SYSTEM_VIEWER = Viewer(role=Role.ADMIN, username=SYSTEM_NAME, display_name="System (command line and background jobs)")


def require_viewer(viewer: object) -> Viewer:
    """``viewer`` itself; a TypeError when it is None or not a :class:`Viewer`.

    There is no "no viewer": a query filtered by viewer needs the signed-in
    viewer, or ``SYSTEM_VIEWER`` for the command line and background jobs.
    """
    if not isinstance(viewer, Viewer):
        raise TypeError(
            f"a Viewer is required, not {viewer!r}: pass the signed-in viewer, "
            "or auth.SYSTEM_VIEWER for the command line and background jobs"
        )
    return viewer


# --- who may see what: the one policy -----------------------------------------------------


class DataKind(StrEnum):
    """The kinds of data a viewer may or may not see."""

    # Per-agent detail: an agent's ratings and figures beyond the public board, low ratings, tags.
    AGENT_DETAIL = "agent_detail"
    # Customers' comments on an agent's ratings.
    COMMENTS = "comments"
    # Coaching notes given 1:1 and in public.
    PRIVATE_NOTES = "private_notes"
    PUBLIC_NOTES = "public_notes"
    # Recovery cases (low ratings being followed up) and score exclusions.
    RECOVERY = "recovery"
    # A team's coaching queue: prompts and team coaching figures (team-level: needs a team scope).
    COACHING_QUEUE = "coaching_queue"
    # Badge awards with their reasons and evidence.
    AWARDS = "awards"


# What each role may see about the agents in its scope. An agent sees their
# own detail, comments and notes (it is their own history) but no queue or case.
_AGENT_KINDS = frozenset(
    {DataKind.AGENT_DETAIL, DataKind.COMMENTS, DataKind.PRIVATE_NOTES, DataKind.PUBLIC_NOTES, DataKind.AWARDS}
)
KINDS_BY_ROLE: dict[Role, frozenset[DataKind]] = {
    Role.AGENT: _AGENT_KINDS,
    Role.LEADER: frozenset(DataKind),
    Role.MANAGER: frozenset(DataKind),
    Role.ADMIN: frozenset(DataKind),
    Role.DISPLAY: frozenset(),  # a wall shows public figures only
}


@dataclass(frozen=True)
class Visibility:
    """A viewer's scope, as data: which agents (all sites, some sites, some teams, one agent) and which kinds.

    The SQL filters (``db.scope``) are built from this and nothing else.
    An agent is in scope when any part matches: its site, its team or its id.
    """

    kinds: frozenset[DataKind] = frozenset()
    all_sites: bool = False
    site_ids: frozenset[int] = frozenset()
    team_ids: frozenset[int] = frozenset()
    agent_id: int | None = None

    def sees(self, kind: DataKind) -> bool:
        """May this viewer see ``kind`` for anyone at all?"""
        if kind not in self.kinds:
            return False
        if self.all_sites or self.site_ids or self.team_ids:
            return True
        # Team-level data needs a team (or wider) scope; one's own agent is not enough.
        return self.agent_id is not None and kind != DataKind.COACHING_QUEUE

    def covers(self, *, agent_id: int | None, team_id: int | None, site_id: int | None) -> bool:
        """Is this agent (or, with ``agent_id=None``, this team) inside the scope?"""
        return (
            self.all_sites
            or (site_id is not None and site_id in self.site_ids)
            or (team_id is not None and team_id in self.team_ids)
            or (agent_id is not None and agent_id == self.agent_id)
        )

    def may_see(self, kind: DataKind, *, agent_id: int | None, team_id: int | None, site_id: int | None) -> bool:
        """May this viewer see ``kind`` of this agent (or of this team, ``agent_id=None``)?"""
        if not self.sees(kind):
            return False
        if kind == DataKind.COACHING_QUEUE:
            agent_id = None
        return self.covers(agent_id=agent_id, team_id=team_id, site_id=site_id)


def visibility(viewer: Viewer) -> Visibility:
    """The one rule of who may see what.

    agent: their own agent; leader: the teams they lead; manager: their
    site(s), or every site when none is set; admin (and the system): every
    site; a wall display: nothing private.
    """
    viewer = require_viewer(viewer)
    kinds = KINDS_BY_ROLE.get(viewer.role, frozenset())
    if viewer.role == Role.ADMIN or (viewer.role == Role.MANAGER and viewer.site_ids is None):
        return Visibility(kinds=kinds, all_sites=True)
    if viewer.role == Role.MANAGER:
        return Visibility(kinds=kinds, site_ids=frozenset(viewer.site_ids or ()))
    if viewer.role == Role.LEADER:
        return Visibility(kinds=kinds, team_ids=frozenset(viewer.team_ids))
    if viewer.role == Role.AGENT and viewer.agent_id is not None:
        return Visibility(kinds=kinds, agent_id=viewer.agent_id)
    return Visibility()


# --- who may change what (imports and other writes): read from the same policy ------------

# Writing through an import is a manager's or an admin's job (the Data page is theirs).
WRITE_ROLES: tuple[Role, ...] = (Role.MANAGER, Role.ADMIN)


def may_write(viewer: Viewer, *, site_id: int | None, team_id: int | None = None) -> bool:
    """May ``viewer`` change data of this site (``team_id`` None: the site itself, e.g. add a team) or team?

    The scope is :func:`visibility`'s: a manager writes in their site(s), an admin (and
    :data:`SYSTEM_VIEWER`) everywhere; nobody else writes through an import.
    """
    viewer = require_viewer(viewer)
    if viewer.role not in WRITE_ROLES:
        return False
    return visibility(viewer).covers(agent_id=None, team_id=team_id, site_id=site_id)


def may_administer(viewer: Viewer) -> bool:
    """May ``viewer`` create sites, create or promote accounts, or move an agent between sites?"""
    return require_viewer(viewer).role == Role.ADMIN


API_KEY_ACTOR_PREFIX = "apikey:"


def api_key_viewer(name: str, *, site_ids: frozenset[int] | None = None) -> Viewer:
    """Who an API key writes as: every site (an admin's scope) or, scoped, a manager of ``site_ids``.

    Its username ("apikey:NAME") is the actor of the audit entries its writes leave.
    """
    username = API_KEY_ACTOR_PREFIX + name
    if site_ids is None:
        return Viewer(role=Role.ADMIN, username=username, display_name=f"API key {name}")
    return Viewer(role=Role.MANAGER, username=username, display_name=f"API key {name}", site_ids=frozenset(site_ids))


# The wall's viewer: public figures only, within a scope.
def display_viewer(*, site_id: int | None, team_id: int | None, name: str) -> Viewer:
    return Viewer(role=Role.DISPLAY, username=name, display_site_id=site_id, display_team_id=team_id)
