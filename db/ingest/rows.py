"""Row checking: one record of a file, keyed by canonical column, into a ``CanonicalRow``.

The canonical file has one row per closed interaction; the rating columns are
empty when the customer did not answer (the row still counts for response
rate). ``parse_row`` checks every cell of a record and reports every problem in
it as a ``RowError`` (file, line, column, value, reason); nothing here reads a
file or touches the database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

COLUMNS = (
    "interaction_id",
    "agent",
    "team",
    "site",
    "channel",
    "contact_reason",
    "closed_at",
    "rated_at",
    "stars",
    "comment",
    "resolved",
    "nps",
    "went_well",
    "to_improve",
)
# May be left out of a canonical file: the team leader's name (creates or links the leader's account)
# and the agent's id in the contact center's own systems (how an import knows an agent across renames).
OPTIONAL_COLUMNS = ("leader", "agent_external_id")
ALL_COLUMNS = COLUMNS + OPTIONAL_COLUMNS
# Empty together when the customer did not answer.
RATING_COLUMNS = ("rated_at", "stars", "comment", "resolved", "nps", "went_well", "to_improve")

# Rejections kept in the report (all are counted): a file of a million bad rows
# must not hold a million messages in memory.
MAX_KEPT_ERRORS = 1000
# Longest text the schema stores per column (VARCHAR limits are enforced by PostgreSQL).
MAX_LENGTH = {
    "interaction_id": 100,
    "agent": 120,
    "team": 120,
    "site": 120,
    "channel": 40,
    "contact_reason": 120,
    "leader": 120,
    "agent_external_id": 120,
}
MAX_TAG_LENGTH = 80

_TRUE = frozenset({"yes", "y", "true", "t", "1"})
_FALSE = frozenset({"no", "n", "false", "f", "0"})


# --------------------------------------------------------------------------- types


@dataclass(frozen=True, slots=True)
class CanonicalRow:
    """One validated interaction, with its rating when the customer answered (``stars`` set)."""

    interaction_id: str
    agent: str
    team: str
    site: str
    channel: str
    contact_reason: str
    closed_at: datetime  # naive UTC
    rated_at: datetime | None = None  # naive UTC
    stars: int | None = None
    comment: str = ""
    resolved: bool | None = None
    nps: int | None = None
    went_well: tuple[str, ...] = ()
    to_improve: tuple[str, ...] = ()
    leader: str = ""  # the team's leader by name; '' leaves the team's leader as it is
    agent_external_id: str = ""  # the agent's stable id; '' matches the agent by name within the site

    @property
    def rated(self) -> bool:
        return self.stars is not None


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one row of a file was rejected."""

    file: str
    line: int  # physical line where the record starts (1 = header); the row number in a worksheet
    column: str  # the file's own column ('' when the row as a whole is wrong)
    value: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.problem}"

    @property
    def problem(self) -> str:
        """The message without the file and line: 'column stars: value '7': must be ...'."""
        if not self.column:
            return self.reason
        return f"column {self.column}: value {_show(self.value)}: {self.reason}"


@dataclass
class ImportReport:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    stale: int = 0  # of the unchanged: answers older than the stored one, left out (never rolled back)
    skipped: int = 0  # rows a mapping leaves out on purpose ([rows] skip_when): not errors
    valid: int = 0  # rows that passed validation: in a dry run, what an import would write
    errors: list[RowError] = field(default_factory=list)  # the first MAX_KEPT_ERRORS
    fatal: str | None = None  # set when the file could not be read at all (nothing written)
    source: str = ""  # how the file was read: "CSV, utf-8, comma-separated"
    dry_run: bool = False
    # Team moves within a site ("Ann Good: Blue → Red from 2026-11-20"): made, or held back for confirmation.
    moves: list[str] = field(default_factory=list)
    held_moves: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 every row landed, 1 some rows were rejected, 2 nothing could be read."""
        if self.fatal:
            return 2
        return 1 if self.rejected else 0

    def summary(self) -> str:
        if self.dry_run:
            text = f"read={self.read} valid={self.valid} rejected={self.rejected}"
        else:
            text = (
                f"read={self.read} inserted={self.inserted} updated={self.updated} "
                f"unchanged={self.unchanged} rejected={self.rejected}"
            )
        if self.stale:  # answers older than the stored ones, left as they were
            text = f"{text} stale={self.stale}"
        return f"{text} skipped={self.skipped}" if self.skipped else text

    def reject(self, errors: list[RowError]) -> None:
        self.rejected += 1
        room = MAX_KEPT_ERRORS - len(self.errors)
        if room > 0:
            self.errors.extend(errors[:room])


def _show(value: str, limit: int = 60) -> str:
    text = value if len(value) <= limit else value[: limit - 1] + "…"
    return repr(text)


class InvalidValue(ValueError):
    """A cell that fails validation; the message is the reason shown to the user."""


@dataclass(frozen=True, slots=True)
class DateWindow:
    """The times an imported row may carry: from ``earliest`` up to (not including) ``latest``, naive UTC.

    Settings ``STARBOARD_EARLIEST_DATE`` and ``STARBOARD_MAX_DAYS_AHEAD`` (``for_today``):
    a year-1 or year-9999 date is a typo, never a rating, and sorts every chart off scale.
    """

    earliest: datetime
    latest: datetime
    days_ahead: int = 1

    @classmethod
    def for_today(cls, *, earliest_date: date, max_days_ahead: int, today: date | None = None) -> "DateWindow":
        today = today or datetime.now(timezone.utc).date()
        latest = datetime.combine(today + timedelta(days=max_days_ahead + 1), time())
        return cls(earliest=datetime.combine(earliest_date, time()), latest=latest, days_ahead=max_days_ahead)

    def problem(self, moment: datetime) -> str | None:
        """Why ``moment`` (naive UTC) is outside the window, or None."""
        if moment < self.earliest:
            return f"is before {self.earliest:%Y-%m-%d}, the earliest date accepted (STARBOARD_EARLIEST_DATE)"
        if moment >= self.latest:
            last = self.latest - timedelta(days=1)
            days = f"{self.days_ahead} day{'s' if self.days_ahead != 1 else ''}"
            return (
                f"is after {last:%Y-%m-%d}, more than {days} after today in UTC (STARBOARD_MAX_DAYS_AHEAD)"
            )
        return None



# --------------------------------------------------------------------------- parsing


def parse_time(value: str) -> datetime:
    """An ISO 8601 date-time as naive UTC; without an offset it is taken as UTC."""
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidValue("must be an ISO 8601 date-time, e.g. 2026-11-20T14:03:00Z") from None
    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
        except OverflowError:  # 0001-01-01T00:00:00+05:00 is before year 1 in UTC
            raise InvalidValue("is out of range (before year 1 or after year 9999 in UTC)") from None
    return moment


def _whole(value: str, *, low: int, high: int) -> int:
    reason = f"must be a whole number from {low} to {high}"
    text = value.strip()
    try:
        number = int(text)
    except ValueError:
        try:
            decimal = float(text)
        except ValueError:
            raise InvalidValue(reason) from None
        # "5.0" from a spreadsheet is 5; "4.5" is not a star count.
        if not math.isfinite(decimal) or not decimal.is_integer():
            raise InvalidValue(reason) from None
        number = int(decimal)
    if not low <= number <= high:
        raise InvalidValue(reason)
    return number


def _yes_no(value: str) -> bool | None:
    text = value.strip().lower()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidValue("must be yes or no (or true/false, 1/0, y/n), or empty")


def parse_tags(value: str) -> tuple[str, ...]:
    """``;``-separated tags: trimmed, lowercased, empties dropped, duplicates removed (order kept)."""
    if not value:
        return ()
    tags = dict.fromkeys(" ".join(t.split()).lower() for t in value.split(";"))
    tags.pop("", None)
    for tag in tags:
        if "\x00" in tag:
            raise InvalidValue("contains a NUL character")
        if len(tag) > MAX_TAG_LENGTH:
            raise InvalidValue(f"tag {_show(tag, 30)} is longer than {MAX_TAG_LENGTH} characters")
    return tuple(tags)


def parse_row(raw: dict[str, str], *, file: str, line: int) -> CanonicalRow | list[RowError]:
    """Validate one record keyed by canonical column name; every problem in it is reported."""
    errors: list[RowError] = []
    get = raw.get
    rated = False
    for column in RATING_COLUMNS:
        value = get(column)
        if value and not value.isspace():
            rated = True
            break
    # Built in CanonicalRow's field order (the columns, then leader and agent_external_id).
    values: list = []
    append = values.append
    for column, parse in _PARSERS if rated else _INTERACTION_PARSERS:
        value = get(column) or ""
        try:
            append(parse(value))
        except InvalidValue as exc:
            errors.append(RowError(file=file, line=line, column=column, value=value, reason=str(exc)))
            append(None)
    if not rated:
        values.extend(_UNRATED)
    leader = get("leader") or ""
    if leader:
        try:
            leader = _leader(leader)
        except InvalidValue as exc:
            errors.append(RowError(file=file, line=line, column="leader", value=leader, reason=str(exc)))
    append(leader)
    external_id = get("agent_external_id") or ""
    if external_id:
        try:
            external_id = _external_id(external_id)
        except InvalidValue as exc:
            errors.append(RowError(file=file, line=line, column="agent_external_id", value=external_id, reason=str(exc)))
    append(external_id)
    closed_at = values[_CLOSED_AT]
    if rated and closed_at is not None:
        rated_at = values[_RATED_AT]
        if rated_at is None and not (get("rated_at") or "").strip():
            values[_RATED_AT] = closed_at
        elif rated_at is not None and rated_at < closed_at:
            reason = f"is before closed_at ({closed_at.isoformat(sep=' ')} UTC)"
            errors.append(RowError(file=file, line=line, column="rated_at", value=raw["rated_at"], reason=reason))
    if errors:
        return errors
    return _new_row(values)


_CLOSED_AT = COLUMNS.index("closed_at")
_RATED_AT = COLUMNS.index("rated_at")
# What an interaction nobody rated holds in the rating fields (rated_at ... to_improve).
_UNRATED = (None, None, "", None, None, (), ())
# CanonicalRow is frozen: its generated __init__ sets each field through object.__setattr__,
# which cost more than validating the row. Rows parsed here are built through the slots'
# own setters instead (the same object, a third of the time).
_SLOT_SETTERS = tuple(CanonicalRow.__dict__[name].__set__ for name in CanonicalRow.__slots__)
if CanonicalRow.__slots__ != (*COLUMNS, *OPTIONAL_COLUMNS):  # parse_row builds values in this order
    raise RuntimeError("CanonicalRow's fields must follow COLUMNS, then OPTIONAL_COLUMNS")


def _new_row(values: list) -> CanonicalRow:
    row = object.__new__(CanonicalRow)
    for set_field, value in zip(_SLOT_SETTERS, values):
        set_field(row, value)
    return row


def _text_parser(column: str, *, required: bool = True, collapse: bool = True, lower: bool = False):
    """Parser for a text column: trimmed; names also collapse inner runs of spaces ("Maria  Santos")."""
    limit = MAX_LENGTH[column]

    def parse(value: str) -> str:
        text = " ".join(value.split()) if collapse else value.strip()
        if lower:
            text = text.lower()
        if not text and required:
            raise InvalidValue("is required")
        if len(text) > limit:
            raise InvalidValue(f"longer than {limit} characters")
        if "\x00" in text:
            raise InvalidValue("contains a NUL character")
        return text

    return parse


def _required_time(value: str) -> datetime:
    if not value.strip():
        raise InvalidValue("is required")
    return parse_time(value)


def _optional_time(value: str) -> datetime | None:
    return parse_time(value) if value.strip() else None


def _stars(value: str) -> int:
    if not value.strip():
        raise InvalidValue("is required when the customer answered (other rating columns are filled)")
    return _whole(value, low=1, high=5)


def _nps(value: str) -> int | None:
    return _whole(value, low=0, high=10) if value.strip() else None


def _comment(value: str) -> str:
    if "\x00" in value:
        raise InvalidValue("contains a NUL character")
    # Spreadsheets write CRLF inside quoted cells; store one kind of newline.
    return value.replace("\r\n", "\n").strip()


_leader = _text_parser("leader", required=False)
_external_id = _text_parser("agent_external_id", required=False, collapse=False)

_INTERACTION_PARSERS = (
    # Ids are only trimmed: inner spaces may be part of an external system's id.
    ("interaction_id", _text_parser("interaction_id", collapse=False)),
    ("agent", _text_parser("agent")),
    ("team", _text_parser("team")),
    ("site", _text_parser("site")),
    ("channel", _text_parser("channel", lower=True)),
    ("contact_reason", _text_parser("contact_reason", required=False)),
    ("closed_at", _required_time),
)
_PARSERS = _INTERACTION_PARSERS + (
    ("rated_at", _optional_time),
    ("stars", _stars),
    ("comment", _comment),
    ("resolved", _yes_no),
    ("nps", _nps),
    ("went_well", parse_tags),
    ("to_improve", parse_tags),
)

