"""API keys for /api/v1 (stored as SHA-256 digests, like display tokens) and the request log.

A key may be scoped to sites (``api_key_site``): it then writes as a manager of those
sites (``leaderboard.auth.api_key_viewer``) and rows for other sites are refused with
the reason; a key without sites writes everywhere.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Sequence
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from db.accounts import audit
from db.models import ApiKey, ApiKeySite, ApiRequest, Site, utcnow
from leaderboard.auth import AuthError, token_digest
from leaderboard.hooks import SIGNATURE_HEADERS, signs

KEY_COLUMNS = ("name", "source", "created_at", "created_by", "revoked_at", "signing_secret", "sites")
MAX_SECRET = 200
EVERY_SITE = "every site"  # what `apikeys list` shows for a key without sites
STATUS_CLASSES = ("2xx", "4xx", "5xx")
REQUEST_COLUMNS = ("at", "key_name", "path", "status", "received", "inserted", "updated", "unchanged", "rejected")
KEY_PREFIX = "sbk_"


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def site_names(value: Sequence[str] | str | None) -> list[str]:
    """Site names from repeated and/or comma-separated values ("Manila,Austin"), trimmed, in order, once each."""
    values = [value] if isinstance(value, str) else list(value or ())
    names: list[str] = []
    for part in (p.strip() for v in values for p in v.split(",")):
        if part and part.lower() not in (n.lower() for n in names):
            names.append(part)
    return names


def _site_ids(session: Session, names: list[str]) -> list[int]:
    known = {site.name.lower(): site for site in session.exec(select(Site)).all()}
    missing = [n for n in names if n.lower() not in known]
    if missing:
        listed = ", ".join(sorted(s.name for s in known.values())) or "none yet"
        raise AuthError(f"no site named {missing[0]!r} (sites: {listed})")
    return [known[n.lower()].id for n in names]


def add_key(
    *, session: Session, name: str, source: str = "", actor: str = "admin", sites: Sequence[str] | str = ()
) -> str:
    """Create a key; returns it (shown once: only its digest is stored). ``sites``: its scope (none: every site)."""
    name = name.strip()
    if not name:
        raise AuthError("an API key name is required")
    if len(name) > 80:
        raise AuthError("an API key name is at most 80 characters")
    if session.exec(select(ApiKey).where(ApiKey.name == name)).first():
        raise AuthError(f"an API key named {name!r} already exists (revoke it and pick another name)")
    names = site_names(sites)
    site_ids = _site_ids(session, names)
    key = new_api_key()
    row = ApiKey(name=name, key_hash=token_digest(key), source=source.strip().lower(), created_by=actor)
    session.add(row)
    session.flush()
    for site_id in site_ids:
        session.add(ApiKeySite(api_key_id=row.id, site_id=site_id))
    scope = ", ".join(names) if names else EVERY_SITE
    audit(session, actor=actor, action="apikey_added", target=name, detail=f"source={source or '-'} sites={scope}")
    session.commit()
    return key


def _scopes(session: Session) -> dict[int, list[str]]:
    """Key id -> the names of its sites (sorted); keys without sites are missing."""
    rows = session.exec(
        select(ApiKeySite.api_key_id, Site.name).join(Site, Site.id == ApiKeySite.site_id).order_by(Site.name)
    ).all()
    scopes: dict[int, list[str]] = {}
    for key_id, site in rows:
        scopes.setdefault(key_id, []).append(site)
    return scopes


def list_keys(*, session: Session) -> list[dict]:
    """Every key (never the key itself), with its scope: its sites' names, or "every site"."""
    rows = session.exec(select(ApiKey).order_by(ApiKey.name)).all()
    scopes = _scopes(session)
    shown = {
        # The signing secret is never shown: only whether one is set.
        "signing_secret": lambda row: "set" if row.signing_secret else "-",
        "sites": lambda row: ", ".join(scopes.get(row.id, [])) or EVERY_SITE,
    }
    return [{c: shown[c](row) if c in shown else getattr(row, c) for c in KEY_COLUMNS} for row in rows]


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
    # The sites the key may write to; None: every site.
    site_ids: frozenset[int] | None = None


def key_holder(*, engine: Engine, key: str) -> KeyHolder | None:
    """Who a presented key belongs to; None for an unknown or revoked key."""
    if not key:
        return None
    table, link = ApiKey.__table__, ApiKeySite.__table__
    with engine.connect() as conn:  # one query: the key and its sites (one row per site, or one without)
        rows = conn.execute(
            select(table.c.name, table.c.source, table.c.signing_secret, link.c.site_id)
            .select_from(table.outerjoin(link, link.c.api_key_id == table.c.id))
            .where(table.c.key_hash == token_digest(key), table.c.revoked_at.is_(None))
        ).all()
    if not rows:
        return None
    sites = frozenset(r[3] for r in rows if r[3] is not None)
    return KeyHolder(rows[0][0], rows[0][1], signing_secret=rows[0][2] or "", site_ids=sites or None)


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


def recent_requests(
    *, engine: Engine, limit: int = 200, key_name: str | None = None, status_class: str | None = None
) -> list[dict]:
    """The newest requests first; only one key's (``key_name``) or one class of answers ("2xx", "4xx", "5xx")."""
    table = ApiRequest.__table__
    stmt = select(*(table.c[c] for c in REQUEST_COLUMNS)).order_by(table.c.id.desc()).limit(limit)
    if key_name is not None:
        stmt = stmt.where(table.c.key_name == key_name)
    if status_class:
        if status_class not in STATUS_CLASSES:
            raise ValueError(f"status class must be one of {', '.join(STATUS_CLASSES)} (got {status_class!r})")
        low = int(status_class[0]) * 100
        stmt = stmt.where(table.c.status >= low, table.c.status < low + 100)
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return [dict(row._mapping) for row in rows]


def request_key_names(*, engine: Engine) -> list[str]:
    """Every key name in the request log ("" for requests without a valid key), for a filter."""
    table = ApiRequest.__table__
    with engine.connect() as conn:
        return list(conn.execute(select(table.c.key_name).distinct().order_by(table.c.key_name)).scalars())
