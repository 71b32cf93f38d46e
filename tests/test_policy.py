"""Who may see what: the one policy (``leaderboard.auth.visibility``) and the SQL built from it (``db.scope``).

A case table of role × scope × data kind against the pure policy; a check
that the SQL filters agree with it on a small floor; and a guard that every
viewer-filtered function in ``db/`` (and ``leaderboard.ratios``) requires a
viewer and refuses None.
"""

from __future__ import annotations

import importlib
from datetime import datetime
import inspect
import pkgutil

import pytest
from sqlmodel import Session, select

import db
from db import accounts, scope
from db.models import Agent, Team, User
from leaderboard import ratios
from leaderboard.auth import (
    ACCOUNT_ROLE_NAMES,
    SYSTEM_VIEWER,
    DataKind,
    Role,
    Viewer,
    display_viewer,
    require_viewer,
    visibility,
)
from tests.factories import make_agent, make_team

# --- the pure policy --------------------------------------------------------------------

# The floor of the case table: (agent id, team id, site id).
ME = (1, 10, 100)  # the agent viewer's own agent, on the leader's team, at the manager's site
TEAMMATE = (2, 10, 100)
SAME_SITE = (3, 11, 100)  # another team at the same site
OTHER_SITE = (4, 20, 200)

VIEWERS = {
    "agent": Viewer(role=Role.AGENT, agent_id=1),
    "agent without agent": Viewer(role=Role.AGENT),
    "leader": Viewer(role=Role.LEADER, team_ids=frozenset({10})),
    "leader of no team": Viewer(role=Role.LEADER),
    "site manager": Viewer(role=Role.MANAGER, site_ids=frozenset({100})),
    "manager of every site": Viewer(role=Role.MANAGER),
    "admin": Viewer(role=Role.ADMIN),
    "system": SYSTEM_VIEWER,
    "wall display": display_viewer(site_id=100, team_id=None, name="tv"),
}
PERSONAL = (DataKind.AGENT_DETAIL, DataKind.COMMENTS, DataKind.PRIVATE_NOTES, DataKind.PUBLIC_NOTES, DataKind.AWARDS)

CASES = [
    # viewer, whose data, kind, visible
    ("agent", ME, DataKind.AGENT_DETAIL, True),
    ("agent", ME, DataKind.COMMENTS, True),
    ("agent", ME, DataKind.PRIVATE_NOTES, True),  # their own 1:1 history
    ("agent", ME, DataKind.PUBLIC_NOTES, True),
    ("agent", ME, DataKind.AWARDS, True),
    ("agent", ME, DataKind.RECOVERY, False),  # cases are worked by coaches
    ("agent", ME, DataKind.COACHING_QUEUE, False),
    ("agent", TEAMMATE, DataKind.AGENT_DETAIL, False),
    ("agent", TEAMMATE, DataKind.COMMENTS, False),
    ("agent", TEAMMATE, DataKind.PUBLIC_NOTES, False),
    ("agent without agent", ME, DataKind.AGENT_DETAIL, False),
    ("leader", ME, DataKind.AGENT_DETAIL, True),
    ("leader", TEAMMATE, DataKind.PRIVATE_NOTES, True),
    ("leader", TEAMMATE, DataKind.RECOVERY, True),
    ("leader", TEAMMATE, DataKind.COACHING_QUEUE, True),
    ("leader", SAME_SITE, DataKind.AGENT_DETAIL, False),
    ("leader", SAME_SITE, DataKind.COACHING_QUEUE, False),
    ("leader", OTHER_SITE, DataKind.COMMENTS, False),
    ("leader of no team", ME, DataKind.AGENT_DETAIL, False),
    ("site manager", ME, DataKind.AGENT_DETAIL, True),
    ("site manager", SAME_SITE, DataKind.RECOVERY, True),
    ("site manager", SAME_SITE, DataKind.COACHING_QUEUE, True),
    ("site manager", OTHER_SITE, DataKind.AGENT_DETAIL, False),
    ("site manager", OTHER_SITE, DataKind.COACHING_QUEUE, False),
    ("manager of every site", OTHER_SITE, DataKind.PRIVATE_NOTES, True),
    ("manager of every site", OTHER_SITE, DataKind.COACHING_QUEUE, True),
    ("admin", OTHER_SITE, DataKind.AGENT_DETAIL, True),
    ("admin", OTHER_SITE, DataKind.RECOVERY, True),
    ("system", OTHER_SITE, DataKind.COMMENTS, True),
    ("system", SAME_SITE, DataKind.COACHING_QUEUE, True),
    ("wall display", ME, DataKind.AGENT_DETAIL, False),  # public figures only, even in its own scope
    ("wall display", ME, DataKind.COMMENTS, False),
    ("wall display", ME, DataKind.PUBLIC_NOTES, False),
    ("wall display", ME, DataKind.COACHING_QUEUE, False),
]


@pytest.mark.parametrize(
    "viewer, whose, kind, visible", CASES, ids=[f"{v}-{w[0]}-{k.value}" for v, w, k, _ in CASES]
)
def test_policy_case_table(viewer, whose, kind, visible):
    agent_id, team_id, site_id = whose
    assert visibility(VIEWERS[viewer]).may_see(kind, agent_id=agent_id, team_id=team_id, site_id=site_id) is visible


@pytest.mark.parametrize(
    "viewer, sees_everyone", [("admin", True), ("system", True), ("manager of every site", True),
                              ("site manager", False), ("leader", False), ("agent", False), ("wall display", False)]
)
def test_sees_everyone_comes_from_the_policy(viewer, sees_everyone):
    assert VIEWERS[viewer].sees_everyone is sees_everyone


def test_can_see_agent_is_the_policy_for_agent_detail():
    for viewer in VIEWERS.values():
        for agent_id, team_id, site_id in (ME, TEAMMATE, SAME_SITE, OTHER_SITE):
            expected = visibility(viewer).may_see(
                DataKind.AGENT_DETAIL, agent_id=agent_id, team_id=team_id, site_id=site_id
            )
            assert viewer.can_see_agent(agent_id=agent_id, team_id=team_id, site_id=site_id) is expected


def test_roles_are_the_stored_text():
    assert Role.LEADER == "leader" and f"{Role.MANAGER}" == "manager" and str(Role.ADMIN) == "admin"
    assert ACCOUNT_ROLE_NAMES == ("agent", "leader", "manager", "admin")
    assert Viewer(role="leader").role is Role.LEADER
    with pytest.raises(ValueError):
        Viewer(role="superuser")


def test_system_viewer_is_explicit_and_named():
    assert Viewer.system() is SYSTEM_VIEWER and SYSTEM_VIEWER.is_system and SYSTEM_VIEWER.username == "system"
    assert not Viewer(role=Role.ADMIN, username="qa.admin").is_system
    assert visibility(SYSTEM_VIEWER).all_sites


@pytest.mark.parametrize("bad", [None, "admin", {"role": "admin"}])
def test_there_is_no_viewer_standing_for_everyone(bad):
    with pytest.raises(TypeError, match="Viewer is required"):
        require_viewer(bad)
    with pytest.raises(TypeError, match="Viewer is required"):
        visibility(bad)


# --- the SQL agrees with the policy ---------------------------------------------------


@pytest.fixture
def floor(engine):
    """Two teams at Manila (Alpha led by lead.a, Beta), one at Belgrade; one agent each, two on Alpha."""
    make_team(engine, "Alpha", site="Manila", leader="lead.a")
    make_team(engine, "Beta", site="Manila")
    make_team(engine, "Gamma", site="Belgrade")
    agents = {
        name: make_agent(engine, name, team=team, site=site)
        for name, team, site in (
            ("Ann Lee", "Alpha", "Manila"), ("Bob Cruz", "Alpha", "Manila"),
            ("Cy Diaz", "Beta", "Manila"), ("Dara Ilic", "Gamma", "Belgrade"),
        )
    }
    with Session(engine) as session:
        rows = session.exec(select(Agent.id, Agent.team_id, Team.site_id).join(Team, Team.id == Agent.team_id)).all()
        alpha = session.exec(select(Team).where(Team.name == "Alpha")).one()
    return {"agents": agents, "rows": [tuple(r) for r in rows], "alpha": alpha}


def _floor_viewers(floor) -> dict[str, Viewer]:
    alpha = floor["alpha"]
    ann = floor["agents"]["Ann Lee"]
    return {
        "agent": Viewer(role=Role.AGENT, agent_id=ann.id),
        "leader": Viewer(role=Role.LEADER, team_ids=frozenset({alpha.id})),
        "site manager": Viewer(role=Role.MANAGER, site_ids=frozenset({alpha.site_id})),
        "admin": Viewer(role=Role.ADMIN),
        "system": SYSTEM_VIEWER,
        "wall display": display_viewer(site_id=alpha.site_id, team_id=None, name="tv"),
    }


@pytest.mark.parametrize("kind", list(DataKind))
def test_sql_filters_agree_with_the_policy(session, floor, kind):
    every = {agent_id for agent_id, _, _ in floor["rows"]}
    teams = {team_id: site_id for _, team_id, site_id in floor["rows"]}
    for name, viewer in _floor_viewers(floor).items():
        policy = visibility(viewer)
        allowed = scope.visible_agent_ids(viewer, kind=kind)
        got = every if allowed is None else set(session.exec(allowed).all())
        expected = {a for a, t, s in floor["rows"] if policy.may_see(kind, agent_id=a, team_id=t, site_id=s)}
        assert got == expected, (name, kind)
        allowed_teams = scope.visible_team_ids(viewer, kind=kind)
        got_teams = set(teams) if allowed_teams is None else set(session.exec(allowed_teams).all())
        expected_teams = {t for t, s in teams.items() if policy.may_see(kind, agent_id=None, team_id=t, site_id=s)}
        assert got_teams == expected_teams, (name, kind)


def test_a_role_member_is_stored_as_plain_text(session, floor):
    """Regression: a StrEnum handed to a driver must store "leader", never "Role.LEADER" or "LEADER"."""
    accounts.add_user(session=session, username="lee", role=Role.LEADER, password="long-enough-pw")
    accounts.set_role(session=session, username="lee", role=Role.MANAGER)
    users = User.__table__
    # Core select, bypassing the ORM: what the driver stored, as the database hands it back.
    stored = session.execute(select(users.c.role).where(users.c.username == "lee")).scalar_one()
    assert stored == "manager" and type(stored) is str


# --- the viewer is never None ------------------------------------------------------------


def _db_modules():
    # Every module of the storage layer.
    return [importlib.import_module(f"db.{m.name}") for m in pkgutil.iter_modules(db.__path__)]


def _viewer_functions():
    found = []
    for module in [*_db_modules(), ratios]:
        for name, fn in vars(module).items():
            if inspect.isfunction(fn) and fn.__module__ == module.__name__ and "viewer" in inspect.signature(fn).parameters:
                found.append(pytest.param(fn, id=f"{module.__name__}.{name}"))
    return found


VIEWER_FUNCTIONS = _viewer_functions()
# Modules whose signatures this branch owns: every viewer there is annotated ``Viewer``.
TYPED_MODULES = {"db.queries", "db.coaching_store", "db.recovery_store", "db.accounts", "db.scope", "leaderboard.ratios"}


def test_the_viewer_functions_are_found():
    names = {p.id for p in VIEWER_FUNCTIONS}
    for expected in ("db.queries.feedback", "db.coaching_store.prompt_frame", "db.recovery_store.cases",
                     "db.recovery_store.exclude", "db.scope.visible_agent_ids", "leaderboard.ratios.ratio_table"):
        assert expected in names


@pytest.mark.parametrize("fn", VIEWER_FUNCTIONS)
def test_viewer_is_required(fn):
    param = inspect.signature(fn).parameters["viewer"]
    assert param.default is inspect.Parameter.empty, f"{fn.__qualname__}: viewer has a default ({param.default!r})"
    if fn.__module__ in TYPED_MODULES:
        assert param.annotation in ("Viewer", Viewer), f"{fn.__qualname__}: viewer is not typed Viewer"


@pytest.mark.parametrize("fn", VIEWER_FUNCTIONS)
def test_viewer_none_raises(session, fn):
    kwargs = {}
    for name, param in inspect.signature(fn).parameters.items():
        if param.default is not inspect.Parameter.empty or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        # Plausible values, so that only the missing viewer can be what fails.
        kwargs[name] = session if name == "session" else datetime(2026, 1, 5) if "datetime" in str(param.annotation) else None
    kwargs["viewer"] = None
    if "column" in kwargs:  # the SQL builders take the column to filter
        kwargs["column"] = Agent.id
    with pytest.raises(TypeError, match="Viewer is required"):
        fn(**kwargs)
