"""The wall: praise only, top N only, hidden agents never, user text as text."""

from __future__ import annotations

import html
import itertools
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
import streamlit as st
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from db import accounts
from db.models import Agent, Badge, BadgeAward, CoachingNote, Interaction, Rating, RatingTag, Site, Team, utcnow
from leaderboard.wall import PANELS, WallConfig, WallData, celebrations, wall_data
from leaderboard.wall_view import BADGE_ICONS, celebration_html, panel_html

APP = str(Path(__file__).resolve().parent.parent / "app.py")
LOW_COMMENT = "ZZ-terrible-LOWSTAR-comment"
IMPROVE_TAG = "zz-improve-tag"
HIDDEN_NAME = "Hidey Hallow"
CRITICISM = "ZZ-private-criticism-note"
XSS = "<img src=x onerror=alert(1)> ![](http://127.0.0.1:9/pixel) [x](javascript:alert(1))"

OUR_ICON = re.compile(r'<img class="sb-svg" alt="" src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+">')

_ids = itertools.count(1)


def _rate(session, agent, stars, *, comment="", minutes_ago=30, tags=()):
    when = utcnow() - timedelta(minutes=minutes_ago)
    inter = Interaction(interaction_id=f"W{next(_ids)}", agent_id=agent.id, channel="phone", closed_at=when)
    session.add(inter)
    session.flush()
    rating = Rating(interaction_id=inter.id, agent_id=agent.id, stars=stars, comment=comment, rated_at=when)
    session.add(rating)
    session.flush()
    for kind, tag in tags:
        session.add(RatingTag(rating_id=rating.id, kind=kind, tag=tag))
    return rating


@pytest.fixture
def wall_floor(engine):
    """Six agents rated today: one hidden (the best!), one with a 1★ rating and a to_improve tag."""
    with Session(engine, expire_on_commit=False) as session:
        site = Site(name="Manila", timezone="UTC")
        session.add(site)
        session.flush()
        team = Team(name="Alpha", site_id=site.id)
        other = Team(name="Beta", site_id=site.id)
        session.add_all([team, other])
        session.flush()
        agents = {}
        for name, team_row, hidden in [
            ("Ana Reyes", team, False),
            ("Ben Cruz", team, False),
            ("Cora Lim", other, False),
            ("Dan Uy", other, False),
            ("Eve Sy", team, False),
            (HIDDEN_NAME, team, True),
        ]:
            # Stored in full, as imports store it: the wall shortens names when it shows them.
            agent = Agent(name=name, display_name=name, team_id=team_row.id, hide_from_wall=hidden)
            session.add(agent)
            session.flush()
            agents[name] = agent
        for _ in range(8):
            _rate(session, agents[HIDDEN_NAME], 5, comment="Hidden agent praise HIDDEN-PRAISE")
        for stars, name in [(5, "Ana Reyes"), (5, "Ben Cruz"), (4, "Cora Lim"), (4, "Dan Uy"), (4, "Eve Sy")]:
            for i in range(6):
                _rate(session, agents[name], stars, comment=f"Lovely help from {name} #{i}" if i == 0 else "")
        _rate(session, agents["Eve Sy"], 1, comment=LOW_COMMENT, tags=[("to_improve", IMPROVE_TAG)], minutes_ago=1)
        _rate(session, agents["Ana Reyes"], 5, comment=XSS, minutes_ago=2)
        _rate(session, agents["Cora Lim"], 4, comment="Good but ZZ-mild-criticism", tags=[("to_improve", "speed")], minutes_ago=0)
        session.add(CoachingNote(agent_id=agents["Eve Sy"].id, kind="criticism", text=CRITICISM))
        badge = Badge(code="empathetic", name="Empathetic", kind="value")
        session.add(badge)
        session.flush()
        session.add(BadgeAward(badge_id=badge.id, agent_id=agents["Ben Cruz"].id, reason="kind"))
        session.add(BadgeAward(badge_id=badge.id, agent_id=agents[HIDDEN_NAME].id, reason="kind"))
        session.commit()
    return agents


FORBIDDEN = (LOW_COMMENT, IMPROVE_TAG, CRITICISM, "Hidey", "HIDDEN-PRAISE", "ZZ-mild-criticism")


def test_wall_data_is_praise_only(engine, wall_floor):
    with Session(engine) as session:
        data = wall_data(session=session, config=WallConfig(top=3))
    blob = repr(data)
    for text in FORBIDDEN:
        assert text not in blob
    # Top 3 of today only; the hidden agent (really first) is skipped, ranks kept.
    assert [r["agent"] for r in data.today] == ["Ana R.", "Ben C."]
    assert all(r["rank"] <= 3 for r in data.today + data.week)
    assert {s["stars"] for s in data.shoutouts} <= {4, 5}
    assert [b["agent"] for b in data.badges] == ["Ben C."]
    assert data.panels() == ["today", "week", "shoutouts", "badges", "teams"]


def test_every_panel_renders_user_text_as_text(engine, wall_floor):
    with Session(engine) as session:
        data = wall_data(session=session, config=WallConfig())
    for panel in data.panels():
        page = panel_html(data, panel, now=utcnow(), local_clock="Mon 10:00", reconnecting=False)
        page = OUR_ICON.sub("", page)  # the wall's own SVG icons are the only images
        assert "<img" not in page and "](" not in page
        for text in FORBIDDEN:
            assert text not in html.unescape(page)
    shout = html.unescape(panel_html(data, "shoutouts", now=utcnow(), local_clock="", reconnecting=False))
    assert XSS in shout  # shown literally, after the browser decodes the entities


def test_celebrations_only_for_new_five_stars_and_badges(engine, wall_floor):
    with Session(engine) as session:
        first = wall_data(session=session, config=WallConfig())
        agent = session.get(Agent, wall_floor["Cora Lim"].id)
        _rate(session, agent, 5, comment="New five star!", minutes_ago=0)
        _rate(session, session.get(Agent, wall_floor["Dan Uy"].id), 2, comment="meh", minutes_ago=0)
        _rate(session, session.get(Agent, wall_floor[HIDDEN_NAME].id), 5, comment="hidden again", minutes_ago=0)
        session.commit()
        events = celebrations(
            session=session,
            config=WallConfig(),
            after_rating_id=first.latest_rating_id,
            after_award_id=first.latest_award_id,
        )
    assert [(e["kind"], e["agent"], e["text"]) for e in events] == [("five_star", "Cora L.", "New five star!")]


def test_empty_floor_still_looks_intentional(engine):
    with Session(engine) as session:
        data = wall_data(session=session, config=WallConfig())
    assert data.panels() == []
    page = panel_html(data, None, now=utcnow(), local_clock="Mon 08:00", reconnecting=False)
    assert "A fresh day on the floor" in page


@pytest.fixture(autouse=True)
def _clear_streamlit_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def _token(engine, name="floor-tv", **scope) -> str:
    with Session(engine) as session:
        return accounts.add_display(session=session, name=name, **scope)


def _wall_app(engine, *, token: str | None = "new", **params) -> AppTest:
    """The wall as a TV opens it: /wall?display=TOKEN&..., nobody signed in."""
    at = AppTest.from_file(APP, default_timeout=30)
    if token == "new":
        token = _token(engine)
    if token:
        at.query_params["display"] = token
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page("pages/wall.py")
    return at


def _bodies(at) -> str:
    """What the wall says, as a person reads it (entities decoded)."""
    return html.unescape(" ".join(h.value for h in at.html))


@pytest.mark.parametrize("panel", PANELS)
def test_wall_page_never_shows_criticism_or_hidden_agents(db_env, engine, wall_floor, panel):
    """AppTest of /wall: a 1★ comment, a to_improve tag and a hidden agent appear in no panel."""
    at = _wall_app(engine, panel=panel, top="3")
    at.run()
    assert not at.exception
    raw = " ".join(h.value for h in at.html)
    assert f'data-panel="{panel}"' in raw
    assert "<img src" not in raw  # the hostile comment is entities, never a tag
    bodies = _bodies(at)
    for text in FORBIDDEN:
        assert text not in bodies
    # No widgets on a wall.
    assert not at.button and not at.selectbox and not at.text_input


def test_wall_page_unknown_site_is_a_calm_message(db_env, engine, wall_floor):
    at = _wall_app(engine, site="Atlantis")
    at.run()
    assert not at.exception
    assert "no site named" in _bodies(at)


def test_wall_without_token_or_session_asks_for_sign_in(db_env, engine, wall_floor):
    at = _wall_app(engine, token=None, panel="shoutouts")
    at.run()
    assert not at.exception
    assert "sb-wall" not in _bodies(at)
    assert [t.label for t in at.text_input] == ["Username", "Password"]


def test_bad_token_shows_no_data(db_env, engine, wall_floor):
    at = _wall_app(engine, token="not-a-token", panel="week")
    at.run()
    assert "Ana R." not in _bodies(at) and [t.label for t in at.text_input] == ["Username", "Password"]


def test_revoked_token_stops_at_the_next_refresh(db_env, engine, wall_floor):
    token = _token(engine, "tv-2")
    at = _wall_app(engine, token=token, panel="week")
    at.run()
    assert "Ana R." in _bodies(at)
    with Session(engine) as session:
        accounts.revoke_display(session=session, name="tv-2")
    at.run()  # the next refresh (a whole run here; in a browser the fragment says "no longer valid")
    assert "Ana R." not in _bodies(at)
    assert "no longer valid" in _bodies(at) or [t.label for t in at.text_input] == ["Username", "Password"]


def test_display_token_scope_wins_over_the_url(db_env, engine, wall_floor):
    token = _token(engine, "beta-tv", team="Beta")
    at = _wall_app(engine, token=token, panel="week", team="Alpha")
    at.run()
    bodies = _bodies(at)
    assert "Cora L." in bodies and "Ana R." not in bodies


# --------------------------------------------------------------------------- issue 12: never stale, never broken


def test_every_user_string_is_isolated_and_loses_its_bidi_overrides(engine, wall_floor):
    """A right-to-left override in a comment or a name reversed the quote (issue 12 item 11)."""
    with Session(engine) as session:
        agent = session.get(Agent, wall_floor["Cora Lim"].id)
        _rate(session, agent, 5, comment="\u202eGreat help\u202c thanks \u2067x\u2069", minutes_ago=0)
        session.commit()
        data = wall_data(session=session, config=WallConfig())
    page = html.unescape(panel_html(data, "shoutouts", now=utcnow(), local_clock="", reconnecting=False))
    assert not any(ch in page for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    assert "<bdi>Great help thanks x</bdi>" in page
    assert "<bdi>Cora L.</bdi>" in page


@pytest.mark.parametrize(("rows", "columns", "per_column"), [(5, 1, 5), (10, 1, 10), (12, 2, 6), (25, 2, 13), (31, 3, 11)])
def test_many_rows_go_into_columns(rows, columns, per_column):
    """12 rows (ties at top=10) cut names off; up to 25 and beyond now fit (issue 12 item 11)."""
    data = WallData(
        scope_label="Everyone",
        generated_at=utcnow(),
        week=[
            {"rank": i + 1, "agent": f"Agent {i}", "team": "T", "score": 4.0, "avg_stars": 4.0, "ratings": 9,
             "movement": None}
            for i in range(rows)
        ],
    )
    page = panel_html(data, "week", now=utcnow(), local_clock="", reconnecting=False)
    assert f'style="--cols:{columns};--k:{per_column}"' in page
    assert page.count('class="sb-row') == rows


def test_wall_with_its_database_away_says_reconnecting(db_env, engine, wall_floor, tmp_path, monkeypatch):
    """Opened while the database is away: the quiet state, never an OperationalError (issue 12 item 10)."""
    token = _token(engine)
    away = tmp_path / "away"
    away.mkdir()  # a folder where the database file should be: nothing can open it
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{away}")
    monkeypatch.setenv("STARBOARD_AUTO_SEED", "1")
    at = _wall_app(engine, token=token, panel="week")
    at.run()
    assert not at.exception
    assert "reconnecting" in _bodies(at)
    assert "Ana R." not in _bodies(at)


def test_wall_data_is_recomputed_when_a_rating_is_edited_in_place(db_env, engine, wall_floor):
    """A 5★ corrected to 3★ kept its shout-out for 15 minutes: the cache key did not move (item 9)."""
    with Session(engine) as session:
        agent = session.get(Agent, wall_floor["Cora Lim"].id)
        rating = _rate(session, agent, 5, comment="Corrected-later praise", minutes_ago=0)
        session.commit()
        rating_id = rating.id
    at = _wall_app(engine, panel="shoutouts")
    at.run()
    assert "Corrected-later praise" in _bodies(at)
    with Session(engine) as session:
        rating = session.get(Rating, rating_id)
        rating.stars = 3
        session.add(rating)
        session.commit()
    time.sleep(1.1)  # the counter is read at most once a second
    at.run()
    assert not at.exception
    assert "Corrected-later praise" not in _bodies(at)


def _emoji(text: str) -> list[str]:
    """Characters a Linux TV without an emoji font draws as empty boxes (★ and ▲ are in DejaVu Sans)."""
    return sorted({ch for ch in text if ord(ch) >= 0x1F000 or ord(ch) == 0xFE0F or 0x2600 <= ord(ch) <= 0x27BF and ch != "★"})


def test_badge_icons_and_banners_are_svg_not_emoji():
    now = utcnow()
    data = WallData(
        scope_label="Everyone",
        generated_at=now,
        badges=[
            {"agent": f"Agent {i}", "team": "T", "badge": code, "badge_code": code, "awarded_at": now}
            for i, code in enumerate([*BADGE_ICONS, "no-such-badge"])
        ],
    )
    page = panel_html(data, "badges", now=now, local_clock="Mon 10:00", reconnecting=False)
    shown = min(len(data.badges), 6)
    assert page.count('<img class="sb-svg" alt="" src="data:image/svg+xml;base64,') == shown
    empty = panel_html(WallData(scope_label="Everyone", generated_at=now), None, now=now, local_clock="", reconnecting=False)
    banners = [
        celebration_html({"kind": "badge", "agent": "Ana", "text": "Nimble", "key": "b1"}),
        celebration_html({"kind": "rating", "agent": "Ana", "text": "Thanks!", "key": "r1"}),
    ]
    for html_text in (page, empty, *banners):
        assert _emoji(html_text) == []
    assert all('class="sb-svg"' in banner for banner in banners)
    # Every badge has its own icon.
    assert len({shape for shape, _ in BADGE_ICONS.values()}) == len(BADGE_ICONS)
