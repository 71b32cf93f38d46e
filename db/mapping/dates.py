"""Dates in a mapping's file: day-first or month-first numbers, month names, 12-hour clocks,
and the time zone of times written without an offset, all read as naive UTC.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from db.ingest.rows import InvalidValue


def zone_for(name: str) -> timezone | ZoneInfo | None:
    if name.upper() == "UTC":
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None



_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        (
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
            ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
            ("oct", "october"), ("nov", "november"), ("dec", "december"),
        )
    )
    for name in names
}
_TIME = (
    r"(?:(?:\s*[T,]\s*|\s+(?:at\s+)?)"
    r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<F>\d{1,6}))?)?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?"
    r"\s*(?P<tz>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?\s*$"
)
# 01/08/2023, 1.8.23, 1-8-2023: day and month in an order the mapping names (or the values make plain).
_NUMERIC = re.compile(r"^\s*(?P<a>\d{1,2})(?P<sep>[/.\-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})" + _TIME)
_YEAR_FIRST = re.compile(r"^\s*(?P<y>\d{4})[/.](?P<m>\d{1,2})[/.](?P<d>\d{1,2})" + _TIME)
# 1-Aug-23, 1 Aug 2023, 01.August.2023
_DAY_NAME = re.compile(r"^\s*(?P<d>\d{1,2})[\s\-/.]*(?P<mon>[A-Za-z]{3,9})\.?[\s\-/.,]*(?P<y>\d{4}|\d{2})" + _TIME)
# Aug 1, 2023 / August 1st 2023
_NAME_DAY = re.compile(r"^\s*(?P<mon>[A-Za-z]{3,9})\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})" + _TIME)
_EXAMPLES = "e.g. 2026-11-20 14:03, 20/11/2026 14:03, 20-Nov-26 2:03 PM"


class DateReader:
    """Reads the date-times of a mapping's file as naive UTC (the storage convention)."""

    def __init__(self, *, order: str | None = None, formats: Iterable[str] = (), tz: str = "UTC") -> None:
        self.order = order
        self.formats = tuple(formats)
        zone = zone_for(tz)
        if zone is None:
            raise ValueError(f"unknown time zone {tz!r}")
        self.zone = zone

    def __call__(self, value: str) -> datetime:
        text = value.strip()
        for fmt in self.formats:
            try:
                return self._utc(datetime.strptime(text, fmt))
            except ValueError:
                continue
        try:
            return self._utc(datetime.fromisoformat(text))
        except ValueError:
            pass
        for pattern in (_NUMERIC, _YEAR_FIRST, _DAY_NAME, _NAME_DAY):
            match = pattern.match(text)
            if match:
                return self._from_match(match)
        raise InvalidValue(f"is not a date-time this mapping can read ({_EXAMPLES})")

    def _from_match(self, m: re.Match) -> datetime:
        parts = m.groupdict()
        year = int(parts["y"])
        if len(parts["y"]) == 2:
            year += 2000 if year < 70 else 1900  # as strptime's %y
        if "mon" in parts:
            month = _MONTHS.get(parts["mon"].lower())
            if month is None:
                raise InvalidValue(f"has no month called {parts['mon']!r} ({_EXAMPLES})")
            day = int(parts["d"])
        elif "a" in parts:
            day, month = self._day_month(int(parts["a"]), int(parts["b"]))
        else:
            day, month = int(parts["d"]), int(parts["m"])
        hour = int(parts["H"] or 0)
        ampm = (parts["ampm"] or "").lower().replace(".", "")
        if ampm:
            if not 1 <= hour <= 12:
                raise InvalidValue(f"has hour {hour} with {ampm.upper()}")
            hour = hour % 12 + (12 if ampm == "pm" else 0)
        micro = int((parts["F"] or "0").ljust(6, "0"))
        try:
            moment = datetime(year, month, day, hour, int(parts["M"] or 0), int(parts["S"] or 0), micro)
        except ValueError as exc:
            how = f" (the mapping reads dates {self.order})" if self.order and "a" in parts else ""
            raise InvalidValue(f"is not a valid date-time: {exc}{how}") from None
        tz = parts["tz"]
        if tz:
            if tz.upper() in ("Z", "UTC", "GMT"):
                return moment
            sign = 1 if tz[0] == "+" else -1
            digits = tz[1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
            return moment - sign * offset
        return self._utc(moment)

    def _day_month(self, a: int, b: int) -> tuple[int, int]:
        if self.order == "day-first":
            return a, b
        if self.order == "month-first":
            return b, a
        if a > 12 >= b or a == b:
            return a, b
        if b > 12 >= a:
            return b, a
        if a > 12 and b > 12:
            return a, b  # invalid either way: datetime() says why
        raise InvalidValue(
            f"is ambiguous: day {a} of month {b}, or day {b} of month {a}? "
            'Set [dates] order = "day-first" or "month-first" in the mapping'
        )

    def _utc(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            if self.zone is timezone.utc:
                return moment
            moment = moment.replace(tzinfo=self.zone)
        return moment.astimezone(timezone.utc).replace(tzinfo=None)

