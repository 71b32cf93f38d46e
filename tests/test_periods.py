"""Periods and their boundaries in a site's own time zone, worked out by hand.

2026-11-22 is a Sunday, 2026-11-23 a Monday. In November New York is UTC−5,
Manila UTC+8 and Belgrade UTC+1.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from leaderboard.periods import PeriodError, local_date, resolve_period, week_key

NY, MNL, BEG = "America/New_York", "Asia/Manila", "Europe/Belgrade"
MONDAY_NOON_UTC = datetime(2026, 11, 23, 12, 0)


@pytest.mark.parametrize(
    "spec, tz, now, start, end",
    [
        ("today", NY, MONDAY_NOON_UTC, datetime(2026, 11, 23, 5), datetime(2026, 11, 24, 5)),
        ("today", MNL, MONDAY_NOON_UTC, datetime(2026, 11, 22, 16), datetime(2026, 11, 23, 16)),
        # Monday 12:00 UTC is already Monday 20:00 in Manila; 17:00 UTC is Tuesday 01:00 there.
        ("today", MNL, datetime(2026, 11, 23, 17), datetime(2026, 11, 23, 16), datetime(2026, 11, 24, 16)),
        ("week", BEG, MONDAY_NOON_UTC, datetime(2026, 11, 22, 23), datetime(2026, 11, 29, 23)),
        ("week", "UTC", MONDAY_NOON_UTC, datetime(2026, 11, 23), datetime(2026, 11, 30)),
        # Sunday 23:00 in New York is Monday 04:00 UTC, but still last week in New York.
        ("week", NY, datetime(2026, 11, 23, 4), datetime(2026, 11, 16, 5), datetime(2026, 11, 23, 5)),
        ("month", NY, MONDAY_NOON_UTC, datetime(2026, 11, 1, 4), datetime(2026, 12, 1, 5)),  # DST ends Nov 1
        ("last7", "UTC", MONDAY_NOON_UTC, datetime(2026, 11, 17), datetime(2026, 11, 24)),
        ("last30", "UTC", MONDAY_NOON_UTC, datetime(2026, 10, 25), datetime(2026, 11, 24)),
        ("2026-11-01..2026-11-15", "UTC", MONDAY_NOON_UTC, datetime(2026, 11, 1), datetime(2026, 11, 16)),
        ("all", NY, MONDAY_NOON_UTC, None, None),
    ],
)
def test_period_bounds(spec, tz, now, start, end):
    assert resolve_period(spec, tz=tz, now=now).utc_bounds() == (start, end)


@pytest.mark.parametrize(
    "spec, now, previous",
    [
        ("today", MONDAY_NOON_UTC, (date(2026, 11, 22), date(2026, 11, 23))),
        ("week", MONDAY_NOON_UTC, (date(2026, 11, 16), date(2026, 11, 23))),
        ("month", MONDAY_NOON_UTC, (date(2026, 10, 1), date(2026, 11, 1))),  # a whole calendar month
        ("month", datetime(2026, 3, 5), (date(2026, 2, 1), date(2026, 3, 1))),
        ("last7", MONDAY_NOON_UTC, (date(2026, 11, 10), date(2026, 11, 17))),
        ("2026-11-01..2026-11-15", MONDAY_NOON_UTC, (date(2026, 10, 17), date(2026, 11, 1))),
    ],
)
def test_previous_period_has_the_same_length(spec, now, previous):
    prev = resolve_period(spec, tz="UTC", now=now).previous()
    assert (prev.start, prev.end) == previous


def test_all_time_has_no_previous_period():
    assert resolve_period("all").previous() is None
    assert resolve_period("all").previous_so_far(MONDAY_NOON_UTC) is None


# The previous period cut at the same elapsed point: (spec, tz, now UTC) -> previous period's UTC bounds.
@pytest.mark.parametrize(
    "spec, tz, now, start, end",
    [
        # Tuesday 10:00 UTC: last week's Monday 00:00 to Tuesday 10:00.
        ("week", "UTC", datetime(2026, 11, 24, 10), datetime(2026, 11, 16), datetime(2026, 11, 17, 10)),
        # Monday 00:00 exactly: nothing of last week yet (an empty comparison, so no movement).
        ("week", "UTC", datetime(2026, 11, 23, 0), datetime(2026, 11, 16), datetime(2026, 11, 16)),
        # Manila (UTC+8): Monday 12:00 UTC is Monday 20:00 there; last week up to Monday 20:00 local.
        ("week", MNL, MONDAY_NOON_UTC, datetime(2026, 11, 15, 16), datetime(2026, 11, 16, 12)),
        # New York's DST ended on Sunday 1 November: wall-clock time counts, not hours. Tuesday 3 Nov
        # 09:00 local (14:00 UTC) compares with Tuesday 27 Oct 09:00 local (13:00 UTC, still EDT).
        ("week", NY, datetime(2026, 11, 3, 14), datetime(2026, 10, 26, 4), datetime(2026, 10, 27, 13)),
        # 25 November 12:00: October's first 24½ days.
        ("month", "UTC", datetime(2026, 11, 25, 12), datetime(2026, 10, 1), datetime(2026, 10, 25, 12)),
        # 31 March 18:00: more days than February has; the whole of February, never past its end.
        ("month", "UTC", datetime(2026, 3, 31, 18), datetime(2026, 2, 1), datetime(2026, 3, 1)),
        # Today at 15:00: yesterday up to 15:00.
        ("today", "UTC", datetime(2026, 11, 24, 15), datetime(2026, 11, 23), datetime(2026, 11, 23, 15)),
        # A period that is over compares with the whole previous one.
        ("2026-11-16..2026-11-22", "UTC", datetime(2026, 11, 24, 10), datetime(2026, 11, 9), datetime(2026, 11, 16)),
    ],
)
def test_previous_so_far_is_the_same_elapsed_part(spec, tz, now, start, end):
    previous = resolve_period(spec, tz=tz, now=now).previous_so_far(now)
    assert previous.utc_bounds() == (start, end)


@pytest.mark.parametrize(
    "rated_at_utc, tz, in_today, in_week",
    [
        # Sunday 23:30 in New York = Monday 04:30 UTC: Sunday's day and last week there, though Monday in UTC.
        (datetime(2026, 11, 23, 4, 30), NY, False, False),
        (datetime(2026, 11, 23, 4, 30), "UTC", True, True),
        # Sunday 23:30 in Manila = Sunday 15:30 UTC: last week in Manila.
        (datetime(2026, 11, 22, 15, 30), MNL, False, False),
        # Monday 00:30 in Manila = Sunday 16:30 UTC: this week and today in Manila, but Sunday in UTC.
        (datetime(2026, 11, 22, 16, 30), MNL, True, True),
        (datetime(2026, 11, 22, 16, 30), "UTC", False, False),
    ],
)
def test_sunday_night_rating_falls_in_its_sites_day_and_week(rated_at_utc, tz, in_today, in_week):
    now = datetime(2026, 11, 23, 14, 0)  # Monday in all three zones
    assert resolve_period("today", tz=tz, now=now).contains(rated_at_utc) is in_today
    assert resolve_period("week", tz=tz, now=now).contains(rated_at_utc) is in_week
    assert resolve_period("week", tz=tz, now=now).previous().contains(rated_at_utc) is (not in_week)


@pytest.mark.parametrize("spec", ["fortnight", "2026-11-15..2026-11-01", "2026-13-01..2026-13-02", "yesterday"])
def test_bad_periods_are_clear_errors(spec):
    with pytest.raises(PeriodError):
        resolve_period(spec, tz="UTC")


def test_unknown_time_zone_is_a_clear_error():
    with pytest.raises(PeriodError, match="unknown time zone"):
        resolve_period("week", tz="Mars/Olympus")


@pytest.mark.parametrize("alias", ["this-week", "this_week", "week", "WEEK"])
def test_aliases(alias):
    assert resolve_period(alias, tz="UTC", now=MONDAY_NOON_UTC).name == "week"


def test_local_date_and_week_key():
    assert local_date(datetime(2026, 11, 23, 4, 30), NY) == date(2026, 11, 22)
    assert week_key(date(2026, 11, 22)) == "2026-W47"
    assert week_key(date(2026, 11, 23)) == "2026-W48"
