"""Accounts, sign-in, wall display tokens and the audit log."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, select

from db.models import Agent, AuditLog, DisplayToken, Rating, Site, Team, User, utcnow
from db.queries import ScopeError, meta_value, resolve_scope
from leaderboard.auth import (
    ACCOUNT_ROLES,
    AuthError,
    Role,
    Viewer,
    display_viewer,
    failure_delay_seconds,
    hash_password,
    lock_until,
    new_display_token,
    require_viewer,
    token_digest,
    verify_password,
)
from leaderboard.settings import Settings, get_settings

USER_COLUMNS = ("username", "role", "agent", "team", "site", "disabled")
DISPLAY_COLUMNS = ("name", "site", "team", "created_at", "created_by", "revoked_at")


def audit(session: Session, *, actor: str, action: str, target: str = "", detail: str = "") -> None:
    """Record who did what; committed with the caller's transaction."""
    session.add(AuditLog(actor=actor or "system", action=action, target=target, detail=detail))


def audit_entries(*, session: Session, limit: int = 200, action: str | None = None) -> list[AuditLog]:
    stmt = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
    if action:
        stmt = stmt.where(AuditLog.action == action)
    return list(session.exec(stmt).all())


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


def viewer_for_user_id(*, session: Session, user_id: int) -> Viewer | None:
    """The viewer for a signed-in session, re-read each time (a disabled account stops at once)."""
    user = session.get(User, user_id)
    if user is None or user.disabled:
        return None
    return viewer_for_user(session=session, user=user)


@dataclass(frozen=True)
class SignIn:
    viewer: Viewer | None
    message: str = ""
    delay_seconds: float = 0.0


def sign_in(
    *, session: Session, username: str, password: str, now: datetime | None = None, settings: Settings | None = None
) -> SignIn:
    """Check a username and password, counting failures and locking after too many."""
    settings = settings or get_settings()
    now = now or utcnow()
    name = (username or "").strip()
    user = session.exec(select(User).where(func.lower(User.username) == name.lower())).first()
    generic = "Wrong username or password."
    if user is None:
        # Same work as a real check, so timing does not reveal which usernames exist.
        verify_password(_dummy_hash(), password)
        audit(session, actor=name or "?", action="sign_in_failed", target=name, detail="unknown user")
        session.commit()
        return SignIn(None, generic)
    if user.disabled:
        audit(session, actor=user.username, action="sign_in_failed", target=user.username, detail="disabled")
        session.commit()
        return SignIn(None, "This account is disabled. Ask an admin.")
    if user.locked_until and user.locked_until > now:
        minutes = max(1, int((user.locked_until - now).total_seconds() // 60) + 1)
        audit(session, actor=user.username, action="sign_in_failed", target=user.username, detail="locked")
        session.commit()
        return SignIn(None, f"Too many failed sign-ins. Try again in {minutes} min.")
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        user.locked_until = lock_until(
            failed_logins=user.failed_logins,
            now=now,
            max_failed=settings.max_failed_logins,
            lockout_minutes=settings.lockout_minutes,
        )
        detail = f"failure {user.failed_logins}" + (" - locked" if user.locked_until else "")
        audit(session, actor=user.username, action="sign_in_failed", target=user.username, detail=detail)
        session.add(user)
        session.commit()
        if user.locked_until:
            return SignIn(None, f"Too many failed sign-ins. Locked for {settings.lockout_minutes} min.")
        return SignIn(None, generic, failure_delay_seconds(user.failed_logins))
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    session.add(user)
    audit(session, actor=user.username, action="sign_in", target=user.username)
    session.commit()
    return SignIn(viewer_for_user(session=session, user=user))


@functools.cache
def _dummy_hash() -> str:
    return hash_password("not-a-real-password")


# --- users ----------------------------------------------------------------------


def _find_user(session: Session, username: str) -> User:
    user = session.exec(select(User).where(func.lower(User.username) == username.strip().lower())).first()
    if user is None:
        raise AuthError(f"no user named {username!r}")
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
    role = _account_role(role)
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


def set_password(*, session: Session, username: str, password: str, actor: str = "admin") -> None:
    user = _find_user(session, username)
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    audit(session, actor=actor, action="password_set", target=user.username)
    session.commit()


def set_role(*, session: Session, username: str, role: str, actor: str = "admin") -> None:
    role = _account_role(role)
    user = _find_user(session, username)
    old = user.role
    user.role = role
    session.add(user)
    audit(session, actor=actor, action="role_changed", target=user.username, detail=f"{old} -> {role}")
    session.commit()


def disable_user(*, session: Session, username: str, actor: str = "admin", disabled: bool = True) -> None:
    user = _find_user(session, username)
    user.disabled = disabled
    session.add(user)
    audit(session, actor=actor, action="user_disabled" if disabled else "user_enabled", target=user.username)
    session.commit()


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


def demo_accounts(*, session: Session) -> tuple[list[tuple[str, str]], str] | None:
    """(username, role) of the enabled accounts and the demo password, only on the seeded demo database."""
    if meta_value(session=session, key="demo") != "1":
        return None
    password = meta_value(session=session, key="demo_password")
    if not password:
        return None
    users = session.exec(select(User).where(User.disabled.is_(False)).order_by(User.role, User.username)).all()
    return [(u.username, u.role) for u in users], password
