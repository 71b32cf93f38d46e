"""User text is shown as text; the wall's URL never breaks the wall."""

from __future__ import annotations

import html
from datetime import datetime

import pytest

from leaderboard.text import html_text
from leaderboard.wall import WallConfig, current_panel, time_ago


@pytest.mark.parametrize(
    "raw",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[x](javascript:alert(1))",
        "![](http://127.0.0.1:9/pixel)",
        ":red[alarm] $x^2$ **bold** `code`",
        'quote " and apostrophe \' & ampersand',
    ],
)
def test_html_text_leaves_no_markup_and_round_trips(raw):
    escaped = html_text(raw)
    for ch in "<>[]()!*`$:\"'":
        assert ch not in escaped
    assert html.unescape(escaped) == raw


def test_html_text_folds_newlines_and_truncates():
    assert html.unescape(html_text("a\n\nb   c")) == "a b c"
    assert html.unescape(html_text("abcdefghij", max_length=5)) == "abcd…"
    assert html_text(None) == ""


@pytest.mark.parametrize(
    "params, expected",
    [
        ({}, dict(rotate=15, refresh=2, top=10, site=None, team=None)),
        ({"rotate": "5", "refresh": "2", "top": "3", "site": "Manila"}, dict(rotate=5, refresh=2, top=3, site="Manila")),
        ({"rotate": "abc"}, dict(rotate=15)),  # a typo falls back to the default
        ({"rotate": "0", "refresh": "-4", "top": "1000"}, dict(rotate=3, refresh=1, top=25)),  # clamped
        ({"team": "  "}, dict(team=None)),
    ],
)
def test_wall_config_from_params(params, expected):
    config = WallConfig.from_params(params)
    for key, value in expected.items():
        assert getattr(config, key) == value


def test_wall_config_reports_problems_instead_of_failing():
    config = WallConfig.from_params({"rotate": "abc", "tz": "Mars/Base"})
    assert len(config.problems) == 2 and config.tz is None


@pytest.mark.parametrize(
    "seconds, label",
    [(5, "just now"), (59, "just now"), (60, "1 min ago"), (3599, "59 min ago"), (3600, "1 h ago"),
     (86399, "23 h ago"), (86400, "yesterday"), (3 * 86400, "3 days ago"), (-30, "just now")],
)
def test_time_ago(seconds, label):
    now = datetime(2026, 11, 23, 12, 0, 0)
    from datetime import timedelta

    assert time_ago(now - timedelta(seconds=seconds), now) == label


@pytest.mark.parametrize(
    "panels, rotate, clock, expected",
    [
        (["today", "week", "teams"], 15, 0, "today"),
        (["today", "week", "teams"], 15, 14.9, "today"),
        (["today", "week", "teams"], 15, 15, "week"),
        (["today", "week", "teams"], 15, 45, "today"),  # wraps around
        ([], 15, 100, None),
    ],
)
def test_current_panel_rotates_with_the_clock(panels, rotate, clock, expected):
    assert current_panel(panels, rotate=rotate, clock=clock) == expected


@pytest.mark.parametrize("raw", ["see http://evil.example/x", "www.evil.example", "mail me@evil.example"])
def test_markdown_text_never_autolinks(raw):
    from leaderboard.text import markdown_text

    escaped = markdown_text(raw)
    assert "\u2060" in escaped
    assert html.unescape(escaped).replace("\u2060", "") == raw
