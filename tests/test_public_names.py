"""Public names: stored in full, shortened when a public screen shows them (STARBOARD_PUBLIC_NAMES).

Regression (issue 11): names were shortened to "Ann L." at import, so
``STARBOARD_PUBLIC_NAMES=full`` changed nothing on the wall or the Leaderboard page.
"""

from __future__ import annotations

import html

import pandas as pd
import pytest
import streamlit as st
from sqlmodel import Session, select

from db.models import Agent, Badge, BadgeAward
from leaderboard import settings as settings_module
from leaderboard.names import public_name, public_names
from leaderboard.wall import WallConfig, celebrations, wall_data
from leaderboard.wall_view import panel_html
from tests import factories
from tests.app_util import app_as


def _clear_settings_cache() -> None:
    # get_settings may be cached (functools.cache): a changed variable must be read again.
    clear = getattr(settings_module.get_settings, "cache_clear", None)
    if clear is not None:
        clear()


@pytest.fixture(autouse=True)
def _fresh_settings_and_caches(monkeypatch):
    monkeypatch.delenv("STARBOARD_PUBLIC_NAMES", raising=False)
    _clear_settings_cache()
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    _clear_settings_cache()
    st.cache_data.clear()
    st.cache_resource.clear()


def _style(monkeypatch, style: str | None) -> None:
    if style is None:
        monkeypatch.delenv("STARBOARD_PUBLIC_NAMES", raising=False)
    else:
        monkeypatch.setenv("STARBOARD_PUBLIC_NAMES", style)
    _clear_settings_cache()


# --------------------------------------------------------------------------- the rule


@pytest.mark.parametrize(
    ("full_name", "style", "shown"),
    [
        ("Ann Lee", "first_initial", "Ann L."),
        ("Ann Lee", "full", "Ann Lee"),
        ("Cher", "first_initial", "Cher"),  # a single name is shown as it is
        ("Cher", "full", "Cher"),
        ("Maria de la Cruz", "first_initial", "Maria C."),  # first part, initial of the last
        ("Maria de la Cruz", "full", "Maria de la Cruz"),
        ("José Núñez", "first_initial", "José N."),
        ("Zoë Ångström", "first_initial", "Zoë Å."),  # an accented initial stays accented
        ("  Ann   Lee  ", "first_initial", "Ann L."),  # extra spaces collapse
        ("  Ann   Lee  ", "full", "Ann Lee"),
        ("\tAnn\u00a0Lee\n", "first_initial", "Ann L."),  # tabs, no-break spaces, new lines
        ("", "first_initial", ""),
        ("", "full", ""),
        ("   ", "first_initial", ""),
        ("Ann Lee", "unknown-style", "Ann L."),  # anything but "full" shortens
    ],
)
def test_public_name(full_name, style, shown):
    assert public_name(full_name, style) == shown


def test_public_name_defaults_to_first_initial():
    assert public_name("Maria Santos") == "Maria S."


def test_public_names_keeps_the_order_of_a_column():
    column = pd.Series(["Maria Santos", "Cher", "Ann Lee"])
    assert public_names(column, "first_initial") == ["Maria S.", "Cher", "Ann L."]
    assert public_names(column, "full") == ["Maria Santos", "Cher", "Ann Lee"]


# --------------------------------------------------------------------------- stored in full


def test_names_are_stored_in_full(engine):
    factories.add_ratings(engine, "Maria Santos", [5])
    with Session(engine) as session:
        agent = session.exec(select(Agent)).one()
    assert (agent.name, agent.display_name) == ("Maria Santos", "Maria Santos")


# --------------------------------------------------------------------------- the wall


@pytest.fixture
def maria(engine):
    """Maria Santos: six 5★ ratings (a comment on the last) and a badge."""
    factories.add_ratings(engine, "Maria Santos", [5] * 5)
    factories.add_rating(engine, agent="Maria Santos", stars=5, comment="Maria sorted it in minutes")
    with Session(engine) as session:
        agent = session.exec(select(Agent).where(Agent.name == "Maria Santos")).one()
        badge = Badge(code="empathetic", name="Empathetic", kind="value")
        session.add(badge)
        session.flush()
        session.add(BadgeAward(badge_id=badge.id, agent_id=agent.id, reason="kind"))
        session.commit()
    return engine


def _wall_names(engine) -> tuple[set[str], str]:
    with Session(engine) as session:
        data = wall_data(session=session, config=WallConfig())
        events = celebrations(session=session, config=WallConfig(), after_rating_id=0, after_award_id=0)
    rows = data.today + data.week + data.shoutouts + data.badges + events
    assert data.shoutouts and data.badges and events and (data.today or data.week)
    shown = "".join(panel_html(data, p, now=data.generated_at, local_clock="", reconnecting=False) for p in data.panels())
    return {r["agent"] for r in rows}, html.unescape(shown)


@pytest.mark.parametrize(("style", "shown", "hidden"), [(None, "Maria S.", "Maria Santos"), ("full", "Maria Santos", None)])
def test_wall_shows_names_in_the_configured_style(monkeypatch, maria, style, shown, hidden):
    _style(monkeypatch, style)
    names, page = _wall_names(maria)
    assert names == {shown}
    assert shown in page
    if hidden:
        assert hidden not in page


# --------------------------------------------------------------------------- the Leaderboard page


def _page_names(at) -> tuple[list[str], list[str]]:
    ranked = provisional = []
    for element in at.dataframe:
        frame = element.value
        if "trend" in frame.columns:
            ranked = list(frame["agent"])
        elif "to_go" in frame.columns:
            provisional = list(frame["agent"])
    return ranked, provisional


@pytest.mark.parametrize(
    ("style", "ranked", "provisional"),
    [(None, ["Maria S."], ["Ann L."]), ("full", ["Maria Santos"], ["Ann Lee"])],
)
def test_leaderboard_page_shows_names_in_the_configured_style(monkeypatch, db_env, engine, style, ranked, provisional):
    factories.add_ratings(engine, "Maria Santos", [5] * 6)
    factories.add_ratings(engine, "Ann Lee", [4, 4])  # too few to be ranked: provisional
    _style(monkeypatch, style)
    at = app_as("qa.admin", role="admin", period="all")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert _page_names(at) == (ranked, provisional)
