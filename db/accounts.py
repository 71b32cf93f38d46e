"""Accounts, sign-in, wall display tokens and the audit log."""

from __future__ import annotations

import functools
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import case, delete, func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from db.models import (
    AppMeta, Agent, AuditLog, DisplayToken, Rating, SignInSession, SignInThrottle, Site, Team, User, utcnow,
)
from db.audit import entries, record
from db.queries import ScopeError, meta_value, resolve_scope
from leaderboard.auth import (
    ACCOUNT_MAX_DELAY_SECONDS,
    ACCOUNT_ROLES,
    ADDRESS_FREE_FACTOR,
    ADDRESS_MAX_DELAY_SECONDS,
    DEMO_PASSWORD,
    MAX_PASSWORD_LENGTH,
    MAX_USERNAME_LENGTH,
    SIGN_IN_FAILED,
    AuthError,
    Role,
    Viewer,
    bounded_username,
    check_new_password,
    display_viewer,
    hash_password,
    new_display_token,
    require_viewer,
    throttle_wait,
    throttled_message,
    token_digest,
    verify_password,
)
from leaderboard.settings import Settings, get_settings

USER_COLUMNS = ("username", "role", "agent", "team", "site", "disabled")
DISPLAY_COLUMNS = ("name", "site", "team", "created_at", "created_by", "revoked_at")


def audit(session: Session, *, actor: str, action: str, target: str = "", detail: str = "") -> None:
    """Record who did what, with the caller's transaction (one home: ``db.audit.record``)."""
    record(session, actor=actor, kind=action, target=target, detail=detail)


def audit_entries(*, session: Session, limit: int = 200, action: str | None = None) -> list[AuditLog]:
    """The newest entries first, of one kind if given (``db.audit.entries``)."""
    return entries(session=session, kind=action, limit=limit)


# --- viewers ------------------------------------------------------------------


def viewer_for_user(*, session: Session, user: User) -> Viewer:
    agent = session.exec(select(Agent).where(Agent.user_id == user.id)).first()
    team_ids: frozenset[int] = frozenset()
    site_ids: frozenset[int] | None = None
    if user.role == Role.LEADER:
        team_ids = frozenset(session.exec(select(Team.id).where(Team.leader_id == user.id)).all())
    if user.role == Role.MANAGER and user.site_id is not None:
        site_ids = frozenset({user.site_id})
    return Viewer(
        role=Role(user.role),
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        agent_id=agent.id if agent else None,
        team_ids=team_ids,
        site_ids=site_ids,
    )


def viewer_for_user_id(*, session: Session, user_id: int, auth_version: int) -> Viewer | None:
    """The viewer for a signed-in session, re-read each time.

    None when the account is gone or disabled, or when its password, role or
    enabled state changed since the session signed in (``auth_version`` differs):
    such a change ends every open session of the account at once.
    """
    user = session.get(User, user_id)
    if user is None or user.disabled or user.auth_version != auth_version:
        return None
    return viewer_for_user(session=session, user=user)


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in: a viewer, or a message (the same for every kind of failure)."""

    viewer: Viewer | None
    message: str = ""
    # The account's auth_version at sign-in: the session keeps it (see viewer_for_user_id).
    auth_version: int = 0


def account_key(username: str) -> str:
    """The throttle key of a typed username (known or not)."""
    return "account:" + bounded_username(username).casefold()


def address_key(address: str) -> str:
    """The throttle key of a client address."""
    return "address:" + address.strip()[:120]


def sign_in(
    *,
    session: Session,
    username: str,
    password: str,
    address: str | None = None,
    now: datetime | None = None,
    settings: Settings | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SignIn:
    """Check a username and password from a client ``address`` (None when unknown).

    Every failure counts, atomically, against the name typed and the address.
    Past a few, an account name's next attempt waits (``sleep``, capped low, so
    its owner still gets in) and an address's attempts are refused until its
    delay has passed. An unknown name, a wrong password, a disabled account and
    the demo password outside the demo all get the same answer after the same
    work (one argon2 check). Inputs are bounded before any query.
    """
    settings = settings or get_settings()
    now = now or utcnow()
    typed = (username or "").strip()
    name = bounded_username(typed)
    password = password or ""
    keys = [account_key(name)] + ([address_key(address)] if address else [])
    state = _throttle_state(session=session, keys=keys, now=now, settings=settings)
    if address:
        wait = throttle_wait(
            **state[keys[1]],
            now=now,
            free_failures=settings.max_failed_logins * ADDRESS_FREE_FACTOR,
            max_delay=ADDRESS_MAX_DELAY_SECONDS,
        )
        if wait > 0:
            reason = "address throttled"
            _failed(session=session, keys=keys, name=name, address=address, reason=reason, now=now, settings=settings)
            return SignIn(None, throttled_message(wait))
    wait = throttle_wait(
        **state[keys[0]], now=now, free_failures=settings.max_failed_logins, max_delay=ACCOUNT_MAX_DELAY_SECONDS
    )
    if wait > 0:
        # A wait, not a refusal: whoever else failed on this name, its owner still gets in.
        session.rollback()  # no transaction left open while waiting
        sleep(wait)
        now += timedelta(seconds=wait)

    user = None
    if name and len(typed) <= MAX_USERNAME_LENGTH:
        user = session.exec(select(User).where(func.lower(User.username) == name.lower())).first()
    bounded = len(password) <= MAX_PASSWORD_LENGTH
    # Unknown users (and accounts without a password) are checked against a dummy hash: the same work.
    known_hash = user.password_hash if user is not None and user.password_hash else ""
    matches = verify_password(known_hash or _dummy_hash(), password if bounded else "") and bool(known_hash) and bounded
    reason = ""
    if user is None:
        reason = "unknown user" if len(typed) <= MAX_USERNAME_LENGTH else "username too long"
    elif not bounded:
        reason = "password too long"
    elif not matches:
        reason = "wrong password"
    elif user.disabled:
        reason = "disabled"
    elif password == DEMO_PASSWORD and not (user.demo and demo_database(session=session)):
        reason = "demo password outside the demo"
    if reason:
        _failed(session=session, keys=keys, name=name, address=address, reason=reason, now=now, settings=settings)
        return SignIn(None, SIGN_IN_FAILED)
    session.execute(delete(SignInThrottle).where(SignInThrottle.key == keys[0]))
    user.last_login_at = now
    session.add(user)
    audit(session, actor=user.username, action="sign_in", target=user.username, detail=_from(address))
    session.commit()
    return SignIn(viewer_for_user(session=session, user=user), auth_version=user.auth_version)


def _from(address: str | None) -> str:
    return f"from {address}" if address else ""


def _throttle_state(*, session: Session, keys: list[str], now: datetime, settings: Settings) -> dict[str, dict]:
    """{key: {"failures", "last_failure_at"}} of recent failures (older ones are forgotten)."""
    forget_before = now - timedelta(minutes=settings.lockout_minutes)
    rows = session.exec(
        select(SignInThrottle).where(SignInThrottle.key.in_(keys), SignInThrottle.last_failure_at >= forget_before)
    ).all()
    found = {r.key: {"failures": r.failures, "last_failure_at": r.last_failure_at} for r in rows}
    return {k: found.get(k, {"failures": 0, "last_failure_at": None}) for k in keys}


def _count_failure(*, session: Session, key: str, now: datetime, forget_before: datetime) -> int:
    """One more failure for ``key``, in one atomic statement; returns the count (restarted when forgotten)."""
    table = SignInThrottle.__table__
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(table).values(key=key, failures=1, last_failure_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "failures": case((table.c.last_failure_at < forget_before, 1), else_=table.c.failures + 1),
            "last_failure_at": now,
        },
    ).returning(table.c.failures)
    return int(session.execute(stmt).scalar_one())


def _failed(
    *, session: Session, keys: list[str], name: str, address: str | None, reason: str, now: datetime, settings: Settings
) -> None:
    """Count a failed attempt against every key, forget stale counts, audit it; commits."""
    forget_before = now - timedelta(minutes=settings.lockout_minutes)
    counts = [_count_failure(session=session, key=key, now=now, forget_before=forget_before) for key in keys]
    detail = f"{reason}; failure {counts[0]} for this name" + (f", {counts[1]} from {address}" if address else "")
    audit(session, actor=name or "?", action="sign_in_failed", target=name, detail=detail)
    session.commit()
    # Counts nobody added to lately are dropped (random names typed must not pile up). Best effort,
    # in its own transaction: two of these deleting the same rows at once may deadlock on PostgreSQL.
    try:
        session.execute(delete(SignInThrottle).where(SignInThrottle.last_failure_at < forget_before))
        session.commit()
    except OperationalError:
        session.rollback()


def failed_sign_ins(*, session: Session, username: str | None = None, address: str | None = None) -> int:
    """Recent failures counted for a typed username or a client address (0 when none)."""
    key = account_key(username) if username is not None else address_key(address or "")
    row = session.get(SignInThrottle, key)
    return row.failures if row else 0


@functools.cache
def _dummy_hash() -> str:
    return hash_password("not-a-real-password")


# --- users ----------------------------------------------------------------------


def _find_user(session: Session, username: str) -> User:
    name = username.strip()
    user = None
    if len(name) <= MAX_USERNAME_LENGTH:
        user = session.exec(select(User).where(func.lower(User.username) == name.lower())).first()
    if user is None:
        raise AuthError(f"no user named {bounded_username(username)!r}")
    return user


def _account_role(role: str) -> str:
    """The role as stored (plain text), or AuthError naming the roles an account may have."""
    if role not in ACCOUNT_ROLES:
        raise AuthError(f"unknown role {role!r} (roles: {', '.join(ACCOUNT_ROLES)})")
    return Role(role).value


def add_user(
    *,
    session: Session,
    username: str,
    role: str,
    password: str,
    display_name: str | None = None,
    agent: str | None = None,
    site: str | None = None,
    actor: str = "admin",
) -> User:
    username = username.strip()
    if not username:
        raise AuthError("a username is required")
    if len(username) > MAX_USERNAME_LENGTH:
        raise AuthError(f"a username may have at most {MAX_USERNAME_LENGTH} characters")
    if display_name and len(display_name) > 120:
        raise AuthError("a display name may have at most 120 characters")
    role = _account_role(role)
    check_new_password(password, username=username)
    if session.exec(select(User).where(func.lower(User.username) == username.lower())).first():
        raise AuthError(f"user {username!r} already exists")
    user = User(
        username=username,
        display_name=display_name or username,
        role=role,
        password_hash=hash_password(password),
    )
    if site:
        site_row = session.exec(select(Site).where(func.lower(Site.name) == site.lower())).first()
        if site_row is None:
            raise AuthError(f"no site named {site!r}")
        user.site_id = site_row.id
    session.add(user)
    session.flush()
    if agent:
        agent_row = session.exec(select(Agent).where(func.lower(Agent.name) == agent.lower())).first()
        if agent_row is None:
            raise AuthError(f"no agent named {agent!r}")
        if agent_row.user_id is not None:
            raise AuthError(f"agent {agent_row.name!r} already has an account")
        agent_row.user_id = user.id
        user.display_name = display_name or agent_row.name
        session.add(agent_row)
    audit(session, actor=actor, action="user_added", target=username, detail=f"role={role}")
    session.commit()
    return user


def _end_sessions(user: User, session: Session | None = None) -> None:
    """Every open session of this account ends (its auth_version moves on, in the UPDATE itself),
    and with ``session`` its browser sessions are revoked too (the cookie opens nothing any more)."""
    user.auth_version = User.auth_version + 1
    if session is not None:
        revoke_user_sessions(session=session, user_id=user.id)


def set_password(*, session: Session, username: str, password: str, actor: str = "admin") -> None:
    """A new password (checked against the policy); the account's open sessions end."""
    user = _find_user(session, username)
    check_new_password(password, username=user.username)
    user.password_hash = hash_password(password)
    _end_sessions(user, session)
    session.add(user)
    # A fresh start for the name: its owner (or an admin) just chose the password.
    session.execute(delete(SignInThrottle).where(SignInThrottle.key == account_key(user.username)))
    audit(session, actor=actor, action="password_set", target=user.username)
    session.commit()


def set_role(*, session: Session, username: str, role: str, actor: str = "admin") -> None:
    """A new role; the account's open sessions end."""
    role = _account_role(role)
    user = _find_user(session, username)
    old = user.role
    user.role = role
    _end_sessions(user, session)
    session.add(user)
    audit(session, actor=actor, action="role_changed", target=user.username, detail=f"{old} -> {role}")
    session.commit()


def disable_user(*, session: Session, username: str, actor: str = "admin", disabled: bool = True) -> None:
    """Disable (or enable) an account; its open sessions end."""
    user = _find_user(session, username)
    user.disabled = disabled
    _end_sessions(user, session)
    session.add(user)
    audit(session, actor=actor, action="user_disabled" if disabled else "user_enabled", target=user.username)
    session.commit()


def enable_user(*, session: Session, username: str, actor: str = "admin") -> None:
    """Enable a disabled account again (it signs in afresh: sessions from before stay ended)."""
    disable_user(session=session, username=username, actor=actor, disabled=False)


def _team_for(session: Session, team: str) -> Team:
    """A team by name, or SITE/TEAM when the name is used at several sites; AuthError otherwise."""
    try:
        scope = resolve_scope(session=session, team=team)
    except ScopeError as exc:
        raise AuthError(str(exc).replace(": add --site", ": write it SITE/TEAM")) from None
    if scope.team_id is None:
        raise AuthError("a team is required")
    return session.get(Team, scope.team_id)


def set_team_leader(*, session: Session, team: str, username: str, actor: str = "admin") -> str:
    """Make an account with the leader role the leader of a team (replacing any other); returns SITE/TEAM.

    The leader sees the team from their next click (a viewer is re-read on every run).
    """
    team_row = _team_for(session, team)
    user = _find_user(session, username)
    if user.role != Role.LEADER:
        raise AuthError(
            f"{user.username!r} is a {user.role}, not a leader: give them the leader role first "
            f"(users set-role {user.username} leader)"
        )
    if user.disabled:
        raise AuthError(f"{user.username!r} is disabled: enable the account first")
    site = session.get(Site, team_row.site_id)
    label = f"{site.name}/{team_row.name}"
    old = session.get(User, team_row.leader_id) if team_row.leader_id is not None else None
    if old is not None and old.id == user.id:
        return label
    team_row.leader_id = user.id
    session.add(team_row)
    record(session, actor=actor, kind="team_leader_set", target=label,
           detail=f"{old.username if old else '(none)'} -> {user.username}")
    session.commit()
    return label


def add_site_manager(*, session: Session, site: str, username: str, actor: str = "admin") -> str:
    """Make an account with the manager role the manager of a site; returns the site's name.

    A manager covers one site (``User.site_id``) or, with none, every site: this
    sets it, replacing the site they had.
    """
    site_row = session.exec(select(Site).where(func.lower(Site.name) == site.strip().lower())).first()
    if site_row is None:
        names = ", ".join(session.exec(select(Site.name).order_by(Site.name)).all()) or "none yet"
        raise AuthError(f"no site named {site.strip()!r} (sites: {names})")
    user = _find_user(session, username)
    if user.role != Role.MANAGER:
        raise AuthError(
            f"{user.username!r} is a {user.role}, not a manager: give them the manager role first "
            f"(users set-role {user.username} manager)"
        )
    if user.disabled:
        raise AuthError(f"{user.username!r} is disabled: enable the account first")
    if user.site_id == site_row.id:
        return site_row.name
    old = session.get(Site, user.site_id) if user.site_id is not None else None
    user.site_id = site_row.id
    session.add(user)
    record(session, actor=actor, kind="site_manager_set", target=site_row.name,
           detail=f"{user.username} (was {old.name if old else 'every site'})")
    session.commit()
    return site_row.name


def list_users(*, session: Session) -> list[dict]:
    """username, role, agent, team, site, disabled — a leader's team(s) and a manager's site included."""
    users = session.exec(select(User).order_by(User.username)).all()
    agents = {a.user_id: a for a in session.exec(select(Agent).where(Agent.user_id.is_not(None))).all()}
    teams = {t.id: t for t in session.exec(select(Team)).all()}
    sites = {s.id: s for s in session.exec(select(Site)).all()}
    led: dict[int, list[Team]] = {}
    for t in teams.values():
        if t.leader_id is not None:
            led.setdefault(t.leader_id, []).append(t)
    rows = []
    for u in users:
        agent = agents.get(u.id)
        team_rows = [teams[agent.team_id]] if agent else sorted(led.get(u.id, []), key=lambda t: t.name)
        site_names = sorted({sites[t.site_id].name for t in team_rows})
        if u.role == Role.MANAGER:
            site_names = [sites[u.site_id].name] if u.site_id in sites else []
        rows.append(
            {
                "username": u.username,
                "role": u.role,
                "agent": agent.name if agent else "",
                "team": "; ".join(t.name for t in team_rows),
                "site": "; ".join(site_names),
                "disabled": bool(u.disabled),
            }
        )
    return rows


# --- browser sessions (the sign-in cookie) ---------------------------------------------

# How long the sign-in form's one-time handoff token may be exchanged for the cookie.
HANDOFF_SECONDS = 120
# A session's last_seen_at is written at most this often (not on every click).
TOUCH_SECONDS = 30


@dataclass(frozen=True)
class BrowserSession:
    """A live browser session: its viewer, the digest naming it, and whether its cookie is still to be set."""

    viewer: Viewer
    handoff_hash: str
    auth_version: int
    pending: bool


def start_browser_session(*, session: Session, user_id: int, auth_version: int, now: datetime | None = None) -> str:
    """A new session for a sign-in that just succeeded; returns its one-time handoff token.

    Only digests are stored. The handoff token is exchanged once, within
    HANDOFF_SECONDS, for the cookie's token (:func:`exchange_handoff`).
    """
    now = now or utcnow()
    handoff = secrets.token_urlsafe(32)
    session.add(
        SignInSession(
            id=token_digest(secrets.token_urlsafe(32)),  # replaced by the cookie token's digest at the exchange
            handoff_hash=token_digest(handoff),
            handoff_until=now + timedelta(seconds=HANDOFF_SECONDS),
            user_id=user_id,
            auth_version=auth_version,
            created_at=now,
            last_seen_at=now,
        )
    )
    session.commit()
    return handoff


def exchange_handoff(*, session: Session, handoff: str, now: datetime | None = None) -> str | None:
    """The cookie token for a live, unused handoff token (which is used up); None otherwise."""
    if not handoff or len(handoff) > 200:
        return None
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    table = SignInSession.__table__
    result = session.execute(
        update(table)
        .where(
            table.c.handoff_hash == token_digest(handoff),
            table.c.handoff_until.is_not(None),
            table.c.handoff_until >= now,
            table.c.revoked_at.is_(None),
        )
        .values(id=token_digest(token), handoff_until=None, last_seen_at=now)
    )
    session.commit()
    return token if result.rowcount == 1 else None


def browser_session(
    *,
    session: Session,
    token: str | None = None,
    handoff_hash: str | None = None,
    idle_minutes: int,
    now: datetime | None = None,
) -> BrowserSession | str:
    """The live session named by its cookie ``token`` or by its ``handoff_hash``, or why not.

    Why not is "timed out" (idle longer than ``idle_minutes``: the row is revoked)
    or "ended" (unknown, revoked, the account disabled or changed since). A live
    session's last_seen_at moves on (at most every TOUCH_SECONDS).
    """
    now = now or utcnow()
    if token:
        if len(token) > 200:
            return "ended"
        row = session.get(SignInSession, token_digest(token))
        if row is not None and row.handoff_until is not None:
            row = None  # not exchanged yet: no cookie can name it
    elif handoff_hash:
        row = session.exec(select(SignInSession).where(SignInSession.handoff_hash == handoff_hash)).first()
    else:
        return "ended"
    if row is None or row.revoked_at is not None:
        return "ended"
    if now - row.last_seen_at > timedelta(minutes=idle_minutes):
        row.revoked_at = now
        session.add(row)
        session.commit()
        return "timed out"
    viewer = viewer_for_user_id(session=session, user_id=row.user_id, auth_version=row.auth_version)
    if viewer is None:
        return "ended"
    found = BrowserSession(viewer, row.handoff_hash, row.auth_version, pending=row.handoff_until is not None)
    if now - row.last_seen_at > timedelta(seconds=TOUCH_SECONDS):
        row.last_seen_at = now
        session.add(row)
        session.commit()
    return found


def end_browser_session(*, session: Session, handoff_hash: str) -> None:
    """Sign out: the session is revoked (in every tab and for its cookie), audited as its account's."""
    row = session.exec(select(SignInSession).where(SignInSession.handoff_hash == handoff_hash)).first()
    if row is None or row.revoked_at is not None:
        return
    row.revoked_at = utcnow()
    session.add(row)
    user = session.get(User, row.user_id)
    name = user.username if user else "?"
    record(session, actor=name, kind="sign_out", target=name)
    session.commit()


def revoke_user_sessions(*, session: Session, user_id: int) -> None:
    """Every browser session of an account ends (in the caller's transaction)."""
    table = SignInSession.__table__
    session.execute(
        update(table).where(table.c.user_id == user_id, table.c.revoked_at.is_(None)).values(revoked_at=utcnow())
    )


# --- wall display tokens -----------------------------------------------------------


def add_display(
    *, session: Session, name: str, site: str | None = None, team: str | None = None, actor: str = "admin"
) -> str:
    """Create a display token; returns the token (shown once, only its digest is stored)."""
    name = name.strip()
    if not name:
        raise AuthError("a display name is required")
    if session.exec(select(DisplayToken).where(DisplayToken.name == name)).first():
        raise AuthError(f"a display named {name!r} already exists (revoke it first or pick another name)")
    try:
        scope = resolve_scope(session=session, site=site, team=team)
    except ScopeError as exc:
        raise AuthError(str(exc)) from None
    token = new_display_token()
    session.add(
        DisplayToken(
            name=name,
            token_hash=token_digest(token),
            site_id=scope.site_id,
            team_id=scope.team_id,
            created_by=actor,
        )
    )
    audit(session, actor=actor, action="display_added", target=name, detail=scope.label)
    session.commit()
    return token


def revoke_display(*, session: Session, name: str, actor: str = "admin") -> None:
    row = session.exec(select(DisplayToken).where(DisplayToken.name == name.strip())).first()
    if row is None:
        raise AuthError(f"no display named {name!r}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        audit(session, actor=actor, action="display_revoked", target=row.name)
        session.commit()


def list_displays(*, session: Session) -> list[dict]:
    rows = session.exec(
        select(DisplayToken, Site.name, Team.name)
        .outerjoin(Site, Site.id == DisplayToken.site_id)
        .outerjoin(Team, Team.id == DisplayToken.team_id)
        .order_by(DisplayToken.name)
    ).all()
    return [
        {
            "name": d.name,
            "site": site or "",
            "team": team or "",
            "created_at": d.created_at,
            "created_by": d.created_by,
            "revoked_at": d.revoked_at,
        }
        for d, site, team in rows
    ]


def viewer_for_token(*, session: Session, token: str) -> Viewer | None:
    """The display viewer for a live (not revoked) token, else None."""
    if not token:
        return None
    row = session.exec(select(DisplayToken).where(DisplayToken.token_hash == token_digest(token.strip()))).first()
    if row is None or row.revoked_at is not None:
        return None
    return display_viewer(site_id=row.site_id, team_id=row.team_id, name=row.name)


def display_scope_names(*, session: Session, viewer: Viewer) -> tuple[str | None, str | None]:
    """(site name, team name) of a display viewer's scope."""
    require_viewer(viewer)
    site = session.get(Site, viewer.display_site_id).name if viewer.display_site_id else None
    team = session.get(Team, viewer.display_team_id).name if viewer.display_team_id else None
    return site, team


# --- privacy ---------------------------------------------------------------------------


def purge_comments(*, session: Session, older_than_days: int, actor: str = "admin", now: datetime | None = None) -> int:
    """Blank customer comments older than the retention period, keeping the stars."""
    if older_than_days < 1:
        raise AuthError("--older-than must be at least 1 day")
    cutoff = (now or utcnow()) - timedelta(days=older_than_days)
    result = session.execute(
        update(Rating).where(Rating.rated_at < cutoff, Rating.comment != "").values(comment="")
    )
    count = int(result.rowcount or 0)
    audit(session, actor=actor, action="comments_purged", detail=f"{count} older than {older_than_days} days")
    session.commit()
    return count


# --- the demo database ---------------------------------------------------------------------

# app_meta key the seed writes ("1"); a file import that lands rows removes it (end_demo).
DEMO_MARKER = "demo"


def demo_database(*, session: Session) -> bool:
    """Is this the seeded demo database, with no file imported into it since?

    Only then does the demo password sign in, and only the seeded demo accounts.
    """
    return meta_value(session=session, key=DEMO_MARKER) == "1"


def end_demo(engine: Engine) -> None:
    """Real data arrived (a file import landed rows): no longer a demo database."""
    with Session(engine) as session:
        session.execute(delete(AppMeta).where(AppMeta.key == DEMO_MARKER))
        session.commit()


def demo_accounts(*, session: Session) -> tuple[list[tuple[str, str]], str] | None:
    """(username, role) of the enabled seeded demo accounts and the demo password, or None.

    Only while the database holds nothing but demo data: the seed's marker is
    there (no file import since, see :func:`end_demo`) and no account exists
    but the seeded ones (nobody added a real user).
    """
    if not demo_database(session=session):
        return None
    if session.exec(select(User.id).where(User.demo.is_(False)).limit(1)).first() is not None:
        return None
    users = session.exec(
        select(User).where(User.demo.is_(True), User.disabled.is_(False)).order_by(User.role, User.username)
    ).all()
    return [(u.username, u.role) for u in users], DEMO_PASSWORD
