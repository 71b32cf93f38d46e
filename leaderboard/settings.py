"""One typed settings object, read from the environment with safe defaults.

Tests and deployments differ only in environment variables; nothing else in
the code base reads ``os.environ`` for configuration.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = PROJECT_ROOT / "data" / "starboard.db"


def sqlite_url(path: str | os.PathLike[str]) -> str:
    """SQLAlchemy URL for a SQLite file at ``path``."""
    return f"sqlite:///{Path(path).expanduser().resolve()}"


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        return int(raw) if raw else default
    except ValueError:
        raise SystemExit(f"setting {name}={raw!r} is not a whole number") from None


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError:
        raise SystemExit(f"setting {name}={raw!r} is not a number") from None


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=lambda: sqlite_url(DEFAULT_DB_PATH))
    # Prior weight m of the fair score: how many "average" ratings every agent
    # starts with, so a handful of lucky 5-star ratings cannot top the board.
    prior_weight: float = 10.0
    # Below this many ratings in the period an agent is provisional (listed, not ranked).
    min_ratings: int = 5
    # Praise-to-criticism target (5 praises per criticism).
    ratio_target: float = 5.0
    # Seed demo data when the app starts on an empty database.
    auto_seed: bool = True
    # Largest upload the import page accepts, in megabytes.
    max_upload_mb: int = 50
    # Sign-in: idle minutes before a session ends; failures before a lockout; its length.
    session_timeout_minutes: int = 120
    max_failed_logins: int = 5
    lockout_minutes: int = 15
    # Public screens show "First L." unless this is "full".
    public_name_style: str = "first_initial"
    # Customer comments older than this many days may be purged (0: keep forever).
    comment_retention_days: int = 0
    # Service recovery: a rating at or below this opens a case, due this many hours after it lands.
    recovery_threshold: int = 2
    recovery_due_hours: float = 2.0

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def with_db(self, path_or_url: str | None) -> "Settings":
        """A copy pointing at ``path_or_url`` (a file path or a SQLAlchemy URL)."""
        if not path_or_url:
            return self
        url = path_or_url if "://" in path_or_url else sqlite_url(path_or_url)
        return replace(self, database_url=url)


def get_settings() -> Settings:
    """Settings from the environment (read on every call: cheap, and tests can monkeypatch)."""
    url = os.environ.get("DATABASE_URL", "").strip() or sqlite_url(
        os.environ.get("STARBOARD_DB", "") or DEFAULT_DB_PATH
    )
    return Settings(
        database_url=url,
        prior_weight=_float("STARBOARD_PRIOR_WEIGHT", 10.0),
        min_ratings=_int("STARBOARD_MIN_RATINGS", 5),
        ratio_target=_float("STARBOARD_RATIO_TARGET", 5.0),
        auto_seed=os.environ.get("STARBOARD_AUTO_SEED", "1").strip() not in {"0", "false", "no"},
        max_upload_mb=_int("STARBOARD_MAX_UPLOAD_MB", 50),
        session_timeout_minutes=_int("STARBOARD_SESSION_TIMEOUT_MINUTES", 120),
        max_failed_logins=_int("STARBOARD_MAX_FAILED_LOGINS", 5),
        lockout_minutes=_int("STARBOARD_LOCKOUT_MINUTES", 15),
        public_name_style=os.environ.get("STARBOARD_PUBLIC_NAMES", "first_initial").strip() or "first_initial",
        comment_retention_days=_int("STARBOARD_COMMENT_RETENTION_DAYS", 0),
        recovery_threshold=_int("STARBOARD_RECOVERY_THRESHOLD", 2),
        recovery_due_hours=_float("STARBOARD_RECOVERY_DUE_HOURS", 2.0),
    )
