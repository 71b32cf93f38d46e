"""What every page shares: the engine, the data version, and text and numbers made fit to show.

The domain (``leaderboard/``, ``db/``) stays free of Streamlit: caches live in
pages/ only. Nothing here touches the database at import time. The cached
loaders of the leaderboard are in ``pages.loaders``, its URL filters in
``pages.filters``, its tables in ``pages.ranking_tables``, and the Data page's
upload helpers in ``pages.uploads``.
"""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlmodel import Session

from db import queries
from db.engine import DatabaseUnavailable, make_engine
from db.migrate import DatabaseNewerError
from db.retry import DatabaseBusy
from leaderboard.settings import Settings, SettingsError, get_settings
from leaderboard.text import markdown_text

APP_PATH = Path(__file__).resolve().parent.parent / "app.py"

# Query results are recomputed at least this often even when the data version has
# not moved: "today" rolls over with the clock. (Every write moves the version.)
DATA_TTL_SECONDS = 60


# --------------------------------------------------------------------------- engine and data version


# What an unreachable database raises (refused, file gone, pool exhausted): the wall waits.
UNREACHABLE = (DBAPIError, PoolTimeoutError, OSError, DatabaseUnavailable)


def cannot_reach(exc: BaseException) -> None:
    """The database is away: one line instead of a traceback, and the run stops."""
    why = str(exc) if isinstance(exc, DatabaseUnavailable) else "cannot reach the database"
    _cannot_start(why)


def _cannot_start(problem: str) -> None:
    """A bad setting or a database from a newer release: one line instead of a traceback."""
    st.error(f"Starboard cannot start: {problem}", icon=":material/error:")
    st.stop()


def app_settings() -> Settings:
    """The settings; a bad value ends the run with one line naming the variable."""
    try:
        return get_settings()
    except SettingsError as exc:
        _cannot_start(str(exc))
        raise  # not reached in a script run: st.stop() ends it


def database_url() -> str:
    """The database this server talks to (``DATABASE_URL``, else data/starboard.db)."""
    return app_settings().database_url


@st.cache_resource(show_spinner=False, on_release=lambda engine: engine.dispose())
def _engine_for(url: str) -> Engine:
    return make_engine(url)


def get_engine() -> Engine:
    """One engine (and connection pool) per database URL per server process, upgraded on first use."""
    try:
        return _engine_for(database_url())
    except DatabaseUnavailable:
        # Not cached: the next run tries again, so the app recovers by itself when the database is back.
        # pages/nav.py says so in one line; the wall shows its quiet "reconnecting" screen instead.
        raise
    except DatabaseNewerError as exc:
        _cannot_start(str(exc))
        raise
    except DatabaseBusy as exc:
        st.warning(f"{str(exc).capitalize()}.", icon=":material/hourglass_top:")
        st.stop()
        raise


def data_version() -> tuple[int]:
    """The change counter (one row every write moves, ``db.changes``), part of every cache key."""
    with Session(get_engine()) as session:
        return tuple(queries.data_version(session=session))


# --------------------------------------------------------------------------- text


# GFM turns bare "http://…", "www.…" and "a@b.c" into links even when every special
# character is an entity (it links the decoded text): an invisible word joiner
# after ":" and "@" and inside "www" keeps them plain text.
_WORD_JOINER = "\u2060"
_AUTOLINK_TRIGGERS = re.compile(r"(:|@|(?i:www))")


def md(value: object) -> str:
    """User text (names, URL values) made inert for st.markdown, captions, warnings and buttons."""
    text = "" if value is None else str(value)
    return markdown_text(_AUTOLINK_TRIGGERS.sub(lambda m: m.group(0) + _WORD_JOINER, text))


# --------------------------------------------------------------------------- numbers and sizes


def fmt_number(value, pattern: str) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    return pattern.format(value)


def delta(now, before, pattern: str) -> dict:
    """st.metric keyword arguments for the change since the previous period (nothing when unknown).

    A change that rounds to zero is shown grey without an arrow, not as a red "-0.00".
    """
    if before is None or now is None:
        return {}
    if any(isinstance(v, float) and v != v for v in (now, before)):
        return {}
    text = pattern.format(now - before)
    if not any(ch in "123456789" for ch in text):
        return {"delta": text.lstrip("+-"), "delta_color": "off", "delta_arrow": "off"}
    return {"delta": text}


def table_height(rows: int, *, row_height: int = 35, max_rows: int = 25) -> int:
    """Pixels for a dataframe that shows ``rows`` rows without scrolling (up to ``max_rows``)."""
    return row_height * (min(max(rows, 1), max_rows) + 1) + 3


def redacted_url(url: str) -> str:
    """A database URL fit to show: no password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 — a malformed URL is shown as its scheme only
        return url.split(":", 1)[0]


def human_size(size: int) -> str:
    for unit in ("bytes", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:.1f} MB"
