"""The badge table as the catalogue: seeded from ``badge_rules.DEFAULT_CATALOGUE``, edited in the settings."""

from __future__ import annotations

from typing import Sequence

from sqlmodel import Session

from db import badge_store as store
from db.models import Badge
from leaderboard.badge_rules import DEFAULT_CATALOGUE, SPECS, BadgeSpec


class BadgeError(ValueError):
    """A badge request that cannot be done, phrased for the person asking (one line)."""


def ensure_catalogue(
    session: Session, *, specs: Sequence[BadgeSpec] = DEFAULT_CATALOGUE, commit: bool = True
) -> list[Badge]:
    """Insert the catalogue's badges that are missing (matched by code); returns the new rows.

    Existing rows are left as they are, so edits made in the settings survive
    (see ``db.badge_store.ensure_badges``).
    """
    return store.ensure_badges(session=session, specs=specs, commit=commit)


def catalogue(*, session: Session, include_inactive: bool = False) -> list[dict]:
    """The badges as dicts (code, name, kind, description, criteria, active, repeatable), value badges
    first, in catalogue order. Seeds the defaults on first use."""
    ensure_catalogue(session)
    rows = []
    for badge in store.all_badges(session=session):
        if not badge.active and not include_inactive:
            continue
        spec = SPECS.get(badge.code)
        rows.append(
            {
                "code": badge.code,
                "name": badge.name,
                "kind": badge.kind,
                "description": badge.description,
                "criteria": badge.criteria,
                "active": bool(badge.active),
                "repeatable": bool(spec.repeatable) if spec else False,
            }
        )
    return sorted(rows, key=lambda r: r["kind"] != "value")


def value_codes(session: Session) -> str:
    codes = [b.code for b in store.all_badges(session=session) if b.kind == "value" and b.active]
    return ", ".join(codes) or "none"
