"""Role × page × data: every role opens every page; what must and must not be there.

Each agent has a distinctive low-rated comment (SECRET-…), an improvement tag
(tag-…) and a private coaching note (NOTE-…). Whatever a page shows, it never
shows those to someone who may not see that agent.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import streamlit as st
from sqlmodel import Session

from db.accounts import viewer_for_user
from db.models import CoachingNote, Site, User, utcnow
from tests.app_util import app_as
from tests.factories import add_ratings, make_agent, make_team, make_user

PAGES = (
    "pages/my_page.py",
    "pages/leaderboard.py",
    "pages/wall.py",
    "pages/coaching.py",
    "pages/recovery.py",
    "pages/badges.py",
    "pages/data.py",
    "pages/admin.py",
)
AGENTS = {  # name: (first, team, site)
    "Ann Lee": ("Ann", "Alpha", "Manila"),
    "Bob Cruz": ("Bob", "Alpha", "Manila"),
    "Cy Diaz": ("Cy", "Beta", "Manila"),
    "Dara Ilic": ("Dara", "Gamma", "Belgrade"),
}
# Whose private detail each user may see.
MAY_SEE = {
    "ann": {"Ann"},
    "lead.a": {"Ann", "Bob"},
    "lead.b": {"Cy"},
    "mgr.mnl": {"Ann", "Bob", "Cy"},
    "qa.admin": {"Ann", "Bob", "Cy", "Dara"},
}
ROLES = {"ann": "agent", "lead.a": "leader", "lead.b": "leader", "mgr.mnl": "manager", "qa.admin": "admin"}
PRIVATE_MARKS = ("SECRET-{}", "tag-{}", "NOTE-{}")


@pytest.fixture(autouse=True)
def _fresh_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def floor(db_env, engine):
    make_team(engine, "Alpha", site="Manila", tz="Asia/Manila", leader="lead.a")
    make_team(engine, "Beta", site="Manila", leader="lead.b")
    make_team(engine, "Gamma", site="Belgrade", tz="Europe/Belgrade", leader="lead.g")
    start = utcnow().replace(microsecond=0) - timedelta(hours=3)
    for name, (first, team, site) in AGENTS.items():
        make_agent(engine, name, team=team, site=site, username="ann" if first == "Ann" else None)
        add_ratings(engine, name, [5] * 6, at=start, team=team, site=site, comment=f"Lovely {first}")
        add_ratings(
            engine, name, [1], at=start + timedelta(hours=1), team=team, site=site,
            comment=f"SECRET-{first} was awful", to_improve=[f"tag-{first.lower()}"],
        )
    with Session(engine) as session:
        manila = session.exec(Site.__table__.select().where(Site.name == "Manila")).first()
        make_user(session, "mgr.mnl", role="manager")
        make_user(session, "qa.admin", role="admin")
        mgr = session.exec(User.__table__.select().where(User.username == "mgr.mnl")).first()
        session.get(User, mgr.id).site_id = manila.id
        from db.models import Agent, Team

        for name, (first, team, _) in AGENTS.items():
            agent = session.exec(Agent.__table__.select().where(Agent.name == name)).first()
            team_row = session.get(Team, agent.team_id)
            session.add(CoachingNote(agent_id=agent.id, author_id=team_row.leader_id, kind="criticism",
                                     visibility="private", text=f"NOTE-{first} needs work"))
        session.commit()
    return engine


def everything_shown(at) -> str:
    """All text a person could read on the page, dataframes included."""
    parts: list[str] = []

    def walk(node):
        value = getattr(node, "value", None)
        if value is not None:
            if hasattr(value, "to_csv"):
                parts.append(value.to_csv())
            else:
                parts.append(str(value))
        for attr in ("label", "body", "options", "help", "placeholder"):
            extra = getattr(node, attr, None)
            if extra:
                parts.append(str(extra))
        for child in getattr(node, "children", {}).values() if isinstance(getattr(node, "children", None), dict) else []:
            walk(child)

    walk(at._tree)
    import html

    return html.unescape("\n".join(parts))


@pytest.mark.parametrize("username", list(ROLES))
@pytest.mark.parametrize("page", PAGES)
def test_role_page_matrix_never_shows_what_it_should_not(floor, username, page):
    at = app_as(username, role=ROLES[username], timeout=90)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    shown = everything_shown(at)
    for name, (first, _, _) in AGENTS.items():
        if first in MAY_SEE[username] and page != "pages/wall.py":
            continue
        for mark in PRIVATE_MARKS:
            text = mark.format(first if mark != "tag-{}" else first.lower())
            assert text not in shown, f"{username} sees {text!r} on {page}"


@pytest.mark.parametrize(
    "username, page, must_show",
    [
        ("ann", "pages/my_page.py", "SECRET-Ann"),  # an agent's own feedback, low ratings included
        ("lead.a", "pages/recovery.py", "SECRET-Bob"),  # a leader's own team's recovery queue
        ("mgr.mnl", "pages/recovery.py", "SECRET-Cy"),
        ("qa.admin", "pages/recovery.py", "SECRET-Dara"),
    ],
)
def test_role_sees_what_it_should(floor, username, page, must_show):
    at = app_as(username, role=ROLES[username], timeout=90)
    at.run()
    at.switch_page(page).run()
    assert not at.exception
    assert must_show in everything_shown(at)


@pytest.mark.parametrize(
    "username, page",
    [("ann", "pages/coaching.py"), ("ann", "pages/recovery.py"), ("ann", "pages/admin.py"),
     ("ann", "pages/data.py"), ("lead.a", "pages/admin.py"), ("lead.a", "pages/data.py")],
)
def test_pages_outside_a_role_say_so(floor, username, page):
    at = app_as(username, role=ROLES[username], timeout=90)
    at.run()
    at.switch_page(page).run()
    assert "not available for your role" in everything_shown(at)


def test_crafted_query_parameters_return_nothing_more(floor):
    """Another agent's id or another team in the URL shows nothing of them."""
    with Session(floor) as session:
        from db.models import Agent

        bob = session.exec(Agent.__table__.select().where(Agent.name == "Bob Cruz")).first()
    for page, params in [
        ("pages/my_page.py", {"agent": str(bob.id), "agent_id": str(bob.id)}),
        ("pages/coaching.py", {"team": "Beta", "agent": "Cy Diaz"}),
    ]:
        user = "ann" if page.endswith("my_page.py") else "lead.a"
        at = app_as(user, role=ROLES[user], timeout=90, **params)
        at.run()
        at.switch_page(page).run()
        shown = everything_shown(at)
        hidden = ("SECRET-Bob", "NOTE-Bob") if user == "ann" else ("SECRET-Cy", "NOTE-Cy", "tag-cy")
        for text in hidden:
            assert text not in shown, f"{user} sees {text!r} on {page} with {params}"


def test_viewer_for_each_role_matches_the_matrix(floor):
    """The data layer's viewer agrees with the matrix above."""
    from db import queries

    with Session(floor) as session:
        for username, firsts in MAY_SEE.items():
            user = session.exec(User.__table__.select().where(User.username == username)).first()
            viewer = viewer_for_user(session=session, user=session.get(User, user.id))
            comments = set(queries.feedback(session=session, viewer=viewer)["comment"])
            seen = {c.split("-")[1].split()[0] for c in comments if c.startswith("SECRET-")}
            assert seen == firsts, username


def test_the_matrix_reads_dataframes_too(floor):
    """Guards the matrix itself: what it reads includes dataframe cells (public names here)."""
    at = app_as("qa.admin", role="admin", timeout=90)
    at.run()
    at.switch_page("pages/leaderboard.py").run()
    shown = everything_shown(at)
    assert "Bob C." in shown and "Dara I." in shown  # the leaderboard shows public names (STARBOARD_PUBLIC_NAMES)
