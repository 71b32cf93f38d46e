"""API keys for /api/v1 (stored as SHA-256 digests, like display tokens) and the request log."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from db.accounts import audit
from db.models import ApiKey, ApiRequest, utcnow
from leaderboard.auth import AuthError, token_digest
from leaderboard.hooks import SIGNATURE_HEADERS, signs

KEY_COLUMNS = ("name", "source", "created_at", "created_by", "revoked_at", "signing_secret")
MAX_SECRET = 200
REQUEST_COLUMNS = ("at", "key_name", "path", "status", "received", "inserted", "updated", "unchanged", "rejected")
KEY_PREFIX = "sbk_"


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def add_key(*, session: Session, name: str, source: str = "", actor: str = "admin") -> str:
    """Create a key; returns it (shown once: only its digest is stored)."""
    name = name.strip()
    if not name:
        raise AuthError("an API key name is required")
    if len(name) > 80:
        raise AuthError("an API key name is at most 80 characters")
    if session.exec(select(ApiKey).where(ApiKey.name == name)).first():
        raise AuthError(f"an API key named {name!r} already exists (revoke it and pick another name)")
    key = new_api_key()
    session.add(ApiKey(name=name, key_hash=token_digest(key), source=source.strip().lower(), created_by=actor))
    audit(session, actor=actor, action="apikey_added", target=name, detail=f"source={source or '-'}")
    session.commit()
    return key


def list_keys(*, session: Session) -> list[dict]:
    rows = session.exec(select(ApiKey).order_by(ApiKey.name)).all()
    # The signing secret is never shown: only whether one is set.
    return [{c: ("set" if row.signing_secret else "-") if c == "signing_secret" else getattr(row, c)
             for c in KEY_COLUMNS} for row in rows]


def revoke_key(*, session: Session, name: str, actor: str = "admin") -> None:
    row = session.exec(select(ApiKey).where(ApiKey.name == name.strip())).first()
    if row is None:
        raise AuthError(f"no API key named {name!r}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        audit(session, actor=actor, action="apikey_revoked", target=row.name)
        session.commit()


def set_signing_secret(*, session: Session, name: str, secret: str, actor: str = "admin") -> str:
    """Keep the help desk's webhook signing secret on key ``name`` (audited, never the secret itself).

    Returns the key's source. '' clears it (the signature is then not checked).
    """
    row = session.exec(select(ApiKey).where(ApiKey.name == name.strip())).first()
    if row is None:
        raise AuthError(f"no API key named {name!r}")
    if row.revoked_at is not None:
        raise AuthError(f"API key {row.name!r} is revoked")
    secret = secret.strip()
    if secret and not signs(row.source):
        signing = ", ".join(SIGNATURE_HEADERS)
        raise AuthError(
            f"API key {row.name!r} has {('source ' + repr(row.source)) if row.source else 'no source'}: only "
            f"{signing} sign their webhooks (the key alone authenticates the others)")
    if len(secret) > MAX_SECRET:
        raise AuthError(f"a signing secret is at most {MAX_SECRET} characters")
    if any(ord(c) < 32 for c in secret):
        raise AuthError("a signing secret is one line of printable characters")
    row.signing_secret = secret
    session.add(row)
    audit(session, actor=actor, action="apikey_secret_set" if secret else "apikey_secret_cleared", target=row.name,
          detail=f"source={row.source or '-'}")
    session.commit()
    return row.source


@dataclass(frozen=True)
class KeyHolder:
    name: str
    source: str
    signing_secret: str = ""  # '' = no signature is checked


def key_holder(*, engine: Engine, key: str) -> KeyHolder | None:
    """Who a presented key belongs to; None for an unknown or revoked key."""
    if not key:
        return None
    table = ApiKey.__table__
    with engine.connect() as conn:
        row = conn.execute(
            select(table.c.name, table.c.source, table.c.signing_secret)
            .where(table.c.key_hash == token_digest(key), table.c.revoked_at.is_(None))
        ).first()
    return None if row is None else KeyHolder(row[0], row[1], row[2])


def log_request(
    *, engine: Engine, key_name: str, path: str, status: int, counts: dict[str, int] | None = None,
    at: datetime | None = None,
) -> None:
    """One row per API request: time, key, path, status and counts; never the payload."""
    counts = counts or {}
    values = {
        "at": at or utcnow(),
        "key_name": key_name[:80],
        "path": path[:120],
        "status": status,
        **{c: int(counts.get(c, 0)) for c in ("received", "inserted", "updated", "unchanged", "rejected")},
    }
    with engine.begin() as conn:
        conn.execute(insert(ApiRequest.__table__).values(values))


def recent_requests(*, engine: Engine, limit: int = 200) -> list[dict]:
    table = ApiRequest.__table__
    with engine.connect() as conn:
        rows = conn.execute(
            select(*(table.c[c] for c in REQUEST_COLUMNS)).order_by(table.c.id.desc()).limit(limit)
        ).all()
    return [dict(row._mapping) for row in rows]
