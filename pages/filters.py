"""The leaderboard's filters in the URL: ?period=last30&site=Manila&team=Alpha (and &from=…&to=…).

The URL is the source of truth for a bookmark; the widgets are the source of
truth once the user touches them.
"""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from leaderboard.periods import ALIASES, PERIODS
from pages.common import md
from pages.loaders import FilterOptions

PERIOD_CHOICES = (*PERIODS, "custom")
PERIOD_LABELS = {**PERIODS, "custom": "Custom range"}

# URL parameter -> widget key.
FILTER_KEYS = {"period": "lb_period", "from": "lb_from", "to": "lb_to", "site": "lb_site", "team": "lb_team"}
_URL_SEEN = "lb_url"  # the filters as last written to the URL (a UI choice, per tab)
DEFAULT_PERIOD = "week"
CUSTOM_DEFAULT_DAYS = 14


def _url_filters() -> dict[str, str | None]:
    return {name: (st.query_params.get(name) or "").strip() or None for name in FILTER_KEYS}


def _parse_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _match(value: str | None, choices) -> str | None:
    """The choice equal to ``value`` ignoring case, or None."""
    if not value:
        return None
    wanted = value.casefold()
    return next((c for c in choices if c.casefold() == wanted), None)


def restore_filters(options: FilterOptions, *, today: date) -> list[str]:
    """Set the filter widgets from the URL when it changed from outside (first load, bookmark, back button).

    Returns Markdown-safe sentences about URL values that match nothing; those
    fall back to the defaults instead of failing.
    """
    state = st.session_state
    in_url = _url_filters()
    seen = state.get(_URL_SEEN)
    # Widgets forget their values when the user visits another page; restore them then too.
    widgets_alive = all(FILTER_KEYS[name] in state for name in ("period", "site", "team"))
    if seen is not None and in_url == seen and widgets_alive:
        return []
    problems: list[str] = []
    source = in_url
    if seen is not None and not any(in_url.values()):
        # Back from another page (the menu drops the query): keep this tab's filters.
        source = seen

    period = (source["period"] or DEFAULT_PERIOD).lower()
    period = ALIASES.get(period, period)
    first, last = _parse_day(source["from"]), _parse_day(source["to"])
    if ".." in period:  # ?period=2026-11-01..2026-11-15, the command line's spelling
        head, _, tail = period.partition("..")
        first, last, period = _parse_day(head), _parse_day(tail), "custom"
    if period not in PERIOD_CHOICES:
        problems.append(f"There is no period called “{md(source['period'])}”; showing {PERIODS[DEFAULT_PERIOD].lower()}.")
        period = DEFAULT_PERIOD
    if period == "custom":
        for name, value, parsed in (("from", source["from"], first), ("to", source["to"], last)):
            if value and parsed is None and ".." not in (source["period"] or ""):
                problems.append(f"“{md(value)}” is not a date (use YYYY-MM-DD) for “{name}”.")
    first = first or today - timedelta(days=CUSTOM_DEFAULT_DAYS - 1)
    last = last or today

    site = _match(source["site"], options.sites)
    if source["site"] and site is None:
        known = ", ".join(md(s) for s in options.sites) or "none yet"
        problems.append(f"There is no site called “{md(source['site'])}” (sites: {known}); showing every site.")
    team = _match(source["team"], options.teams_for(site))
    if source["team"] and team is None:
        where = f" at {md(site)}" if site else ""
        problems.append(f"There is no team called “{md(source['team'])}”{where}; showing every team.")

    state[FILTER_KEYS["period"]] = period
    state[FILTER_KEYS["from"]] = first
    state[FILTER_KEYS["to"]] = last
    state[FILTER_KEYS["site"]] = site or ""
    state[FILTER_KEYS["team"]] = team or ""
    return problems


def publish_filters(*, period: str, first: date | None, last: date | None, site: str, team: str) -> None:
    """Write the filters to the URL (only ours: other parameters such as embed stay)."""
    wanted = {
        "period": period,
        "from": first.isoformat() if period == "custom" and first else None,
        "to": last.isoformat() if period == "custom" and last else None,
        "site": site or None,
        "team": team or None,
    }
    for name, value in wanted.items():
        if value is None:
            if name in st.query_params:
                del st.query_params[name]
        elif st.query_params.get(name) != value:
            st.query_params[name] = value
    st.session_state[_URL_SEEN] = wanted


def default_custom_range(today: date) -> None:
    """Give the From/To pickers the last two weeks when they appear without a value."""
    st.session_state.setdefault(FILTER_KEYS["from"], today - timedelta(days=CUSTOM_DEFAULT_DAYS - 1))
    st.session_state.setdefault(FILTER_KEYS["to"], today)


def clear_team() -> None:
    """on_change of the site filter: another site has other teams."""
    st.session_state[FILTER_KEYS["team"]] = ""
