"""Reporting periods and their boundaries in a site's own time zone.

Boundaries are computed here, in Python, and handed to queries as UTC bound
parameters, so the same SQL runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from leaderboard.settings import get_settings

UTC = ZoneInfo("UTC")

# name -> label; "custom" is written as START..END (inclusive dates).
PERIODS: dict[str, str] = {
    "today": "Today",
    "week": "This week",
    "month": "This month",
    "last7": "Last 7 days",
    "last30": "Last 30 days",
    "all": "All time",
}
ALIASES = {
    "this-week": "week",
    "this_week": "week",
    "thisweek": "week",
    "this-month": "month",
    "this_month": "month",
    "7d": "last7",
    "last-7-days": "last7",
    "30d": "last30",
    "last-30-days": "last30",
    "all-time": "all",
}
_CUSTOM = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")
# How far after today a custom period may end (a board of next month is empty, not absurd).
MAX_DAYS_AHEAD = 366


class PeriodError(ValueError):
    """A period or time zone that cannot be understood."""


def zone(name: str | None) -> ZoneInfo:
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PeriodError(f"unknown time zone {name!r} (use an IANA name such as Europe/Belgrade)") from None


@dataclass(frozen=True)
class Period:
    """A half-open range [start, end) of local days in one time zone.

    ``start`` and ``end`` are local dates; ``None`` for both means all time.
    """

    name: str
    tz: ZoneInfo
    start: date | None = None
    end: date | None = None  # exclusive
    # A naive UTC instant before ``end`` at which the period is cut short (``previous_so_far``).
    until: datetime | None = None

    @property
    def label(self) -> str:
        if self.name in PERIODS:
            return PERIODS[self.name]
        assert self.start and self.end
        return f"{self.start.isoformat()} – {(self.end - timedelta(days=1)).isoformat()}"

    @property
    def is_all(self) -> bool:
        return self.start is None

    def utc_bounds(self) -> tuple[datetime | None, datetime | None]:
        """Naive UTC datetimes for [start, end): the storage convention."""
        if self.start is None or self.end is None:
            return None, None
        end = local_midnight_utc(self.end, self.tz)
        if self.until is not None:
            end = min(end, self.until)
        return local_midnight_utc(self.start, self.tz), end

    def contains(self, moment_utc: datetime) -> bool:
        start, end = self.utc_bounds()
        if start is None:
            return True
        return start <= moment_utc < end

    def days(self) -> list[date]:
        if self.start is None or self.end is None:
            return []
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days)]

    def previous(self) -> "Period | None":
        """The period of the same length just before this one (None for all time)."""
        if self.start is None or self.end is None:
            return None
        if self.name == "month":
            prev_start = (self.start - timedelta(days=1)).replace(day=1)
            return Period("previous", self.tz, prev_start, self.start)
        length = self.end - self.start
        return Period("previous", self.tz, self.start - length, self.start)

    def previous_so_far(self, now_utc: datetime) -> "Period | None":
        """The previous period cut at the same elapsed part as this one at ``now_utc`` (like for like).

        On Tuesday 10:00 of a week, last week's Monday 00:00 – Tuesday 10:00 (local wall-clock time,
        so a DST change does not shift it); in the 25th day of a month, the previous month's first
        24½ days (never past its end). A period that is over, or not begun, compares with the whole
        previous period. None for all time.
        """
        previous = self.previous()
        if previous is None or self.start is None or previous.start is None:
            return None
        start, end = self.utc_bounds()
        if not (start <= now_utc < end):
            return previous
        local_now = now_utc.replace(tzinfo=timezone.utc).astimezone(self.tz).replace(tzinfo=None)
        elapsed = local_now - datetime.combine(self.start, time(0))
        cut_local = (datetime.combine(previous.start, time(0)) + elapsed).replace(tzinfo=self.tz)
        cut = cut_local.astimezone(timezone.utc).replace(tzinfo=None)
        return Period(previous.name, previous.tz, previous.start, previous.end, until=cut)


def local_midnight_utc(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant (naive) at which ``day`` begins in ``tz``."""
    local = datetime.combine(day, time(0), tzinfo=tz)
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def local_date(moment_utc: datetime, tz: ZoneInfo | str) -> date:
    """The local calendar date in ``tz`` of a naive UTC instant."""
    tzinfo = tz if isinstance(tz, ZoneInfo) else zone(tz)
    return moment_utc.replace(tzinfo=timezone.utc).astimezone(tzinfo).date()


def period_limits(today: date, *, earliest: date | None = None) -> tuple[date, date]:
    """The first and last day a custom period may cover: ``STARBOARD_EARLIEST_DATE`` to a year after today."""
    first = earliest if earliest is not None else get_settings().earliest_date
    return first, today + timedelta(days=MAX_DAYS_AHEAD)


def resolve_period(
    spec: str, *, tz: ZoneInfo | str | None = None, now: datetime | None = None, earliest: date | None = None
) -> Period:
    """A Period from a name (today, week, month, last7, last30, all) or START..END.

    ``now`` is a naive UTC datetime (defaults to the current time). A custom period must
    lie within ``period_limits`` (``earliest`` defaults to the setting): 0001-01-01..9999-12-31
    is refused with a PeriodError, not computed into an overflow.
    """
    tzinfo = tz if isinstance(tz, ZoneInfo) else zone(tz)
    key = (spec or "week").strip().lower()
    key = ALIASES.get(key, key)
    now_utc = now or datetime.now(timezone.utc).replace(tzinfo=None)
    today = local_date(now_utc, tzinfo)
    if key == "today":
        return Period(key, tzinfo, today, today + timedelta(days=1))
    if key == "week":
        monday = today - timedelta(days=today.weekday())
        return Period(key, tzinfo, monday, monday + timedelta(days=7))
    if key == "month":
        first = today.replace(day=1)
        nxt = (first + timedelta(days=32)).replace(day=1)
        return Period(key, tzinfo, first, nxt)
    if key == "last7":
        return Period(key, tzinfo, today - timedelta(days=6), today + timedelta(days=1))
    if key == "last30":
        return Period(key, tzinfo, today - timedelta(days=29), today + timedelta(days=1))
    if key == "all":
        return Period(key, tzinfo)
    match = _CUSTOM.match(key)
    if match:
        try:
            first, last = date.fromisoformat(match.group(1)), date.fromisoformat(match.group(2))
        except ValueError as exc:
            raise PeriodError(f"bad date in period {spec!r}: {exc}") from None
        if last < first:
            raise PeriodError(f"period {spec!r} ends before it starts")
        low, high = period_limits(today, earliest=earliest)
        if first < low or last > high:
            raise PeriodError(
                f"period {spec!r} is outside the dates Starboard can show: "
                f"pick days from {low.isoformat()} to {high.isoformat()}"
            )
        return Period("custom", tzinfo, first, last + timedelta(days=1))
    names = ", ".join(PERIODS)
    raise PeriodError(f"unknown period {spec!r}: use one of {names}, or START..END as YYYY-MM-DD..YYYY-MM-DD")


def custom_period(first: date, last: date, *, tz: ZoneInfo | str | None = None) -> Period:
    """A custom period of the inclusive local dates first..last."""
    return resolve_period(f"{first.isoformat()}..{last.isoformat()}", tz=tz)


def week_key(day: date) -> str:
    """ISO week label such as 2026-W48 (weeks start on Monday)."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"
