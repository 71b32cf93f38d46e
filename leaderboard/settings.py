"""Every setting, declared once: environment variable, type, default and what it does.

Tests and deployments differ only in environment variables; nothing else in
the code base reads ``os.environ`` for configuration. ``Settings()`` reads the
environment (pydantic-settings); keyword arguments override it
(``Settings(min_ratings=3)``). ``get_settings()`` turns a bad value into one
:class:`SettingsError` line naming the variable, which the command line and the
app show instead of a traceback. ``settings_table()`` is what the Admin page and
the README's configuration table show (a test holds the README to it).
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any, Literal, NamedTuple, get_args, get_origin
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from leaderboard.hooks import parse_scales
from leaderboard.notify_messages import parse_clock

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = PROJECT_ROOT / "data" / "starboard.db"

PublicNameStyle = Literal["first_initial", "full"]


def sqlite_url(path: str | os.PathLike[str]) -> str:
    """SQLAlchemy URL for a SQLite file at ``path``."""
    return f"sqlite:///{Path(path).expanduser().resolve()}"


class SettingsError(ValueError):
    """A setting's value cannot be used: one line naming the variable and what it expects."""


class Settings(BaseSettings):
    """Starboard's configuration (immutable: use ``with_db`` or ``model_copy(update=...)``)."""

    model_config = SettingsConfigDict(
        frozen=True,
        # An empty variable means "not set": the default applies.
        env_ignore_empty=True,
        str_strip_whitespace=True,
        case_sensitive=True,
        extra="ignore",
    )

    database_url: str = Field(
        default_factory=lambda: sqlite_url(DEFAULT_DB_PATH),
        validation_alias="DATABASE_URL",
        description="The database: any SQLAlchemy URL, e.g. postgresql+psycopg://user:pass@host:5432/starboard",
    )
    db_path: str = Field(
        default="",
        validation_alias="STARBOARD_DB",
        description="A SQLite file path, used when DATABASE_URL is not set",
    )
    # Prior weight m of the fair score: how many "average" ratings every agent
    # starts with, so a handful of lucky 5-star ratings cannot top the board.
    prior_weight: float = Field(
        default=10.0,
        ge=0,
        validation_alias="STARBOARD_PRIOR_WEIGHT",
        description="m, the prior weight of the fair score: ratings at the period's average every agent starts with",
    )
    min_ratings: int = Field(
        default=5,
        ge=0,
        validation_alias="STARBOARD_MIN_RATINGS",
        description="Fewer ratings than this in the period: provisional, not ranked",
    )
    ratio_target: float = Field(
        default=5.0,
        gt=0,
        validation_alias="STARBOARD_RATIO_TARGET",
        description="Praise-to-criticism target (praises per criticism)",
    )
    prompt_budget: float = Field(
        default=8.0,
        gt=0,
        validation_alias="STARBOARD_PROMPT_BUDGET",
        description=(
            "Coaching prompts a leader gets per day per 10 active agents of a team (highest priority "
            "first; prompts handled today count against it; the rest are folded into \"more\")"
        ),
    )
    auto_seed: bool = Field(
        default=True,
        validation_alias="STARBOARD_AUTO_SEED",
        description="Seed demo data when the app starts on an empty database (0 turns it off)",
    )
    max_upload_mb: int = Field(
        default=50,
        ge=1,
        validation_alias="STARBOARD_MAX_UPLOAD_MB",
        description=(
            "Largest CSV the Data page accepts, in MB (above 50 also raise server.maxUploadSize in "
            ".streamlit/config.toml)"
        ),
    )
    session_timeout_minutes: int = Field(
        default=120,
        ge=1,
        validation_alias="STARBOARD_SESSION_TIMEOUT_MINUTES",
        description="Idle minutes before a signed-in session ends",
    )
    max_failed_logins: int = Field(
        default=5,
        ge=1,
        validation_alias="STARBOARD_MAX_FAILED_LOGINS",
        description=(
            "Failed sign-ins on one username (4 times as many from one client address) "
            "before further attempts are slowed down"
        ),
    )
    lockout_minutes: int = Field(
        default=15,
        ge=0,
        validation_alias="STARBOARD_LOCKOUT_MINUTES",
        description="Quiet minutes after which failed sign-ins are forgotten",
    )
    public_name_style: PublicNameStyle = Field(
        default="first_initial",
        validation_alias="STARBOARD_PUBLIC_NAMES",
        description="Names on public screens: first_initial (Maria S.) or full",
    )
    comment_retention_days: int = Field(
        default=0,
        ge=0,
        validation_alias="STARBOARD_COMMENT_RETENTION_DAYS",
        description="Customer comments older than this many days may be purged (0: keep forever)",
    )
    recovery_threshold: int = Field(
        default=2,
        ge=0,
        le=5,
        validation_alias="STARBOARD_RECOVERY_THRESHOLD",
        description="A rating at or below this many stars opens a recovery case",
    )
    recovery_due_hours: float = Field(
        default=2.0,
        gt=0,
        validation_alias="STARBOARD_RECOVERY_DUE_HOURS",
        description="Hours in which someone should call that customer back before the case is overdue",
    )
    # The sane window for dates in imported files (closed_at, rated_at) and custom periods:
    # a year-1 or year-9999 date is a typo, and arithmetic on it overflows.
    earliest_date: date = Field(
        default=date(2000, 1, 1),
        validation_alias="STARBOARD_EARLIEST_DATE",
        description="Imported rows dated before this day (YYYY-MM-DD) are rejected, and custom periods start on or after it",
    )
    max_days_ahead: int = Field(
        default=1,
        ge=0,
        le=366,
        validation_alias="STARBOARD_MAX_DAYS_AHEAD",
        description="Imported rows dated more than this many days after today (UTC) are rejected",
    )
    # The survey and the HTTP API (leaderboard/http/): one server with the screens.
    secret_key: SecretStr = Field(
        default=SecretStr(""),
        validation_alias="STARBOARD_SECRET_KEY",
        description="Signs survey links and forms (HMAC-SHA256); unset: one is generated once into the database. Never shown",
    )
    public_url: str = Field(
        default="http://localhost:8501",
        validation_alias="STARBOARD_PUBLIC_URL",
        description="The address customers reach this server at: the start of every survey link",
    )
    survey_expiry_days: int = Field(
        default=14,
        ge=1,
        le=366,
        validation_alias="STARBOARD_SURVEY_EXPIRY_DAYS",
        description="Days a survey link stays valid after it is made",
    )
    api_rate_limit: int = Field(
        default=50,
        ge=1,
        validation_alias="STARBOARD_API_RATE_LIMIT",
        description="Requests per second one API key may send; more are answered 429 with Retry-After",
    )
    hook_scales: str = Field(
        default="",
        validation_alias="STARBOARD_HOOK_SCALES",
        description='Help-desk scores to stars, JSON over the defaults, e.g. {"zendesk": {"good": 5, "bad": 2}} '
        "(defaults: good/bad 5/1, Great/Okay/Bad 5/3/1, Freshdesk 103..-103 5..1, numbers 1-5 as they are)",
    )
    # Survey e-mails (leaderboard/survey_mail.py): an outbox and a background sender with retries.
    smtp_url: SecretStr = Field(
        default=SecretStr(""),
        validation_alias="STARBOARD_SMTP_URL",
        description=(
            "Where survey e-mails go: smtp://user:pass@host:587 (STARTTLS), smtps://user:pass@host:465 (TLS), "
            "smtp://host:25 (no login, a local relay); unset: no e-mail, the survey link is only returned. Never shown"
        ),
    )
    smtp_from: str = Field(
        default="",
        validation_alias="STARBOARD_SMTP_FROM",
        description="The From address of survey e-mails; unset: starboard@ the host of STARBOARD_PUBLIC_URL",
    )
    mail_max_attempts: int = Field(
        default=8,
        ge=1,
        le=20,
        validation_alias="STARBOARD_MAIL_MAX_ATTEMPTS",
        description="Tries per e-mail (1, 2, 4 ... minutes apart) before it is marked failed with the last error",
    )
    # Notifications to Slack, Teams, webhooks and e-mail (leaderboard/notify.py): the same outbox and sender.
    notify_max_attempts: int = Field(
        default=6,
        ge=1,
        le=20,
        validation_alias="STARBOARD_NOTIFY_MAX_ATTEMPTS",
        description="Tries per notification (1, 2, 4 ... minutes apart) before it is marked failed with the destination's answer",
    )
    # Notifications (issue 15): what is sent when (leaderboard/notify_messages.py, leaderboard/notify_jobs.py).
    digest_time: str = Field(
        default="17:30",
        validation_alias="STARBOARD_DIGEST_TIME",
        description="Local time of day (HH:MM, each site's own time zone) at which leaders and managers get their daily digest",
    )
    weekly_top_n: int = Field(
        default=3,
        ge=1,
        le=20,
        validation_alias="STARBOARD_WEEKLY_TOP_N",
        description="Agents named in the weekly recognition (Monday 09:00 local): the week's top N, never a rank below",
    )
    notify_max_age_hours: float = Field(
        default=24.0,
        gt=0,
        validation_alias="STARBOARD_NOTIFY_MAX_AGE_HOURS",
        description=(
            "Ratings, cases and badges older than this many hours when they land (a history import) "
            "send no alert or celebration; overdue cases due longer ago get no reminder"
        ),
    )
    # Recovery closed loop (leaderboard/recovery_followup.py): a follow-up survey once a case is resolved.
    recovery_followup: bool = Field(
        default=False,
        validation_alias="STARBOARD_RECOVERY_FOLLOWUP",
        description="E-mail the customer a follow-up survey when their recovery case is resolved (needs "
        "STARBOARD_SMTP_URL and the address of the survey e-mail, kept only while it may be needed)",
    )
    followup_address_days: int = Field(
        default=14,
        ge=1,
        le=90,
        validation_alias="STARBOARD_FOLLOWUP_ADDRESS_DAYS",
        description="Longest a customer's address is kept for a follow-up: erased earlier when the rating opens "
        "no case or the case closes",
    )
    # Fair for the contact mix (issue 17, leaderboard/casemix.py): off until a center turns it on.
    case_mix: bool = Field(
        default=False,
        validation_alias="STARBOARD_CASE_MIX",
        description="Offer the “Fair for contact mix” toggle on the Leaderboard page: rank by the score adjusted "
        "for each agent's mix of contact reasons and channels, with tie bands",
    )

    def __init__(self, **values: Any) -> None:
        # Keyword arguments by attribute name (Settings(min_ratings=3)); the environment only by
        # variable name (by_name validation would also read an environment variable "min_ratings").
        fields = type(self).model_fields
        super().__init__(**{fields[k].validation_alias if k in fields else k: v for k, v in values.items()})

    @model_validator(mode="before")
    @classmethod
    def _database_from_path(cls, data: Any) -> Any:
        # STARBOARD_DB names a SQLite file; DATABASE_URL, when set to something, wins.
        if not isinstance(data, dict):
            return data
        data = {k: v for k, v in data.items() if not (k == "DATABASE_URL" and not str(v).strip())}
        path = str(data.get("STARBOARD_DB") or "").strip()
        if "DATABASE_URL" not in data and path:
            data["DATABASE_URL"] = sqlite_url(path)
        return data

    @field_validator("hook_scales")
    @classmethod
    def _scales(cls, value: str) -> str:
        parse_scales(value)  # a ValueError names the source and score
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr) -> SecretStr:
        url = value.get_secret_value()
        if url:
            parts = urlsplit(url)
            if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
                raise ValueError("must look like smtp://user:pass@host:587 or smtps://host:465")
            try:
                parts.port
            except ValueError:
                raise ValueError("has a port that is not a number") from None
        return value

    @field_validator("digest_time")
    @classmethod
    def _clock(cls, value: str) -> str:
        return parse_clock(value).strftime("%H:%M")  # a ValueError says what is expected

    @field_validator("public_name_style", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def with_db(self, path_or_url: str | None) -> "Settings":
        """A copy pointing at ``path_or_url`` (a file path or a SQLAlchemy URL)."""
        if not path_or_url:
            return self
        url = path_or_url if "://" in path_or_url else sqlite_url(path_or_url)
        return self.model_copy(update={"database_url": url})


# --------------------------------------------------------------------------- one line per bad value

_TYPE_NAMES = {
    int: "whole number",
    float: "number",
    bool: "yes/no (1/0, true/false, yes/no, on/off)",
    str: "text",
    SecretStr: "secret text",
}


def _type_name(annotation: Any) -> str:
    if get_origin(annotation) is Literal:
        return "one of: " + ", ".join(get_args(annotation))
    return _TYPE_NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _variable(field: str) -> str:
    return Settings.model_fields[field].validation_alias  # type: ignore[return-value]


def _field_for(loc: tuple) -> str | None:
    name = str(loc[0]) if loc else ""
    for field, info in Settings.model_fields.items():
        if name in (field, info.validation_alias):
            return field
    return None


def _problem(error: dict) -> str:
    """What one pydantic error means, in the words of the README's table."""
    kind, ctx = error["type"], error.get("ctx") or {}
    field = _field_for(error["loc"])
    annotation = Settings.model_fields[field].annotation if field else None
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return "is not a whole number"
    if kind in ("float_parsing", "float_type"):
        return "is not a number"
    if kind in ("bool_parsing", "bool_type"):
        return f"is not {_type_name(bool)}"
    if kind == "literal_error":
        return f"is not {_type_name(annotation)}"
    bounds = {"greater_than_equal": "at least", "greater_than": "more than", "less_than_equal": "at most",
              "less_than": "less than"}
    if kind in bounds:
        limit = next(iter(ctx.values()))
        return f"must be {bounds[kind]} {limit:g}" if isinstance(limit, (int, float)) else f"must be {bounds[kind]} {limit}"
    if kind == "value_error":  # a field validator's own words
        return str(ctx.get("error") or error["msg"])
    return error["msg"].lower()


def describe_error(exc: ValidationError) -> str:
    """One line for every bad value: "setting STARBOARD_MIN_RATINGS='abc' is not a whole number"."""
    parts = []
    for error in exc.errors():
        field = _field_for(error["loc"])
        variable = _variable(field) if field else ".".join(str(p) for p in error["loc"])
        secret = field is not None and Settings.model_fields[field].annotation is SecretStr
        shown = "(hidden)" if secret else repr(error.get("input"))  # a secret's value is never shown
        parts.append(f"setting {variable}={shown} {_problem(error)}")
    return "; ".join(parts)


def get_settings() -> Settings:
    """Settings from the environment (read on every call: cheap, and tests can monkeypatch)."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(describe_error(exc)) from None


# --------------------------------------------------------------------------- the documented table


class SettingRow(NamedTuple):
    field: str
    variable: str
    type: str
    default: str
    description: str


def shown_default(field: str) -> str:
    """A field's default as a user would write it in the environment."""
    if field == "database_url":
        return f"sqlite:///{DEFAULT_DB_PATH.relative_to(PROJECT_ROOT).as_posix()}"
    return shown_value(Settings.model_fields[field].default)


def shown_value(value: Any) -> str:
    """A value as written in the environment: 10.0 as 10, True as 1."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def is_default(settings: Settings, field: str) -> bool:
    """Whether ``settings`` keeps the default of ``field`` (nothing set in the environment)."""
    return getattr(settings, field) == Settings.model_fields[field].get_default(call_default_factory=True)


def settings_table() -> list[SettingRow]:
    """One row per environment variable, in declaration order (the README and Admin show this)."""
    return [
        SettingRow(field, _variable(field), _type_name(info.annotation), shown_default(field), info.description or "")
        for field, info in Settings.model_fields.items()
    ]
