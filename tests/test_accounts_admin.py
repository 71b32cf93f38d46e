"""Issue 13 item 8: leaders, site managers and re-enabling, from the command line (audited)."""

from __future__ import annotations

from sqlmodel import Session, select

from db import accounts
from db.models import AuditLog, Team, User
from leaderboard.auth import Role
from tests.cli_util import run_cli
from tests.factories import make_team


def cli(*args, db):
    run = run_cli(*args, db=db)
    return run.returncode, run.stdout, run.stderr

PASSWORD = "a-long-enough-password\n"


def _add(db_url: str, username: str, role: str) -> None:
    run = run_cli("users", "add", username, "--role", role, db=db_url, stdin=PASSWORD)
    code, err = run.returncode, run.stderr
    assert code == 0, err


def _audit(engine, kind: str) -> list[AuditLog]:
    with Session(engine) as session:
        return list(session.exec(select(AuditLog).where(AuditLog.action == kind).order_by(AuditLog.id)).all())


def _user(engine, username: str) -> User:
    with Session(engine) as session:
        return session.exec(select(User).where(User.username == username)).one()


def test_users_enable_brings_a_disabled_account_back(db_url, engine):
    _add(db_url, "dana", "agent")
    assert cli("users", "disable", "dana", db=db_url)[0] == 0
    before = _user(engine, "dana").auth_version
    code, out, err = cli("users", "enable", "dana", db=db_url)
    assert code == 0, err
    assert "dana enabled" in out
    user = _user(engine, "dana")
    assert not user.disabled and user.auth_version == before + 1
    assert [e.target for e in _audit(engine, "user_enabled")] == ["dana"]
    with Session(engine) as session:
        assert accounts.sign_in(session=session, username="dana", password=PASSWORD.strip(), sleep=lambda s: None).viewer


def test_users_set_role_is_audited_and_ends_sessions(db_url, engine):
    _add(db_url, "lee", "agent")
    code, out, err = cli("users", "set-role", "lee", "leader", db=db_url)
    assert code == 0, err
    user = _user(engine, "lee")
    assert user.role == "leader" and user.auth_version == 1
    assert _audit(engine, "role_changed")[-1].detail == "agent -> leader"


def test_teams_set_leader_gives_the_leader_the_team(db_url, engine):
    make_team(engine, "Narra", site="Manila")
    make_team(engine, "Narra", site="Belgrade")
    make_team(engine, "Sava", site="Belgrade")
    _add(db_url, "lee", "leader")
    # An ambiguous name asks for SITE/TEAM.
    code, out, err = cli("teams", "set-leader", "Narra", "lee", db=db_url)
    assert code == 2 and "SITE/TEAM" in err
    code, out, err = cli("teams", "set-leader", "Belgrade/Narra", "lee", db=db_url)
    assert code == 0, err
    assert "lee now leads Belgrade/Narra" in out
    code, out, err = cli("teams", "set-leader", "sava", "lee", db=db_url)
    assert code == 0, err
    with Session(engine) as session:
        user = session.exec(select(User).where(User.username == "lee")).one()
        viewer = accounts.viewer_for_user(session=session, user=user)
        led = set(session.exec(select(Team.name).where(Team.id.in_(viewer.team_ids))).all())
    assert led == {"Narra", "Sava"} and len(viewer.team_ids) == 2
    entries = _audit(engine, "team_leader_set")
    assert [(e.actor, e.target, e.detail) for e in entries] == [
        ("cli", "Belgrade/Narra", "(none) -> lee"),
        ("cli", "Belgrade/Sava", "(none) -> lee"),
    ]
    code, _, _ = cli("users", "list", "--format", "csv", db=db_url)
    assert code == 0


def test_teams_set_leader_needs_a_leader(db_url, engine):
    make_team(engine, "Sava", site="Belgrade")
    _add(db_url, "ann", "agent")
    code, out, err = cli("teams", "set-leader", "Sava", "ann", db=db_url)
    assert code == 2
    assert "users set-role ann leader" in err
    code, out, err = cli("teams", "set-leader", "Nowhere", "ann", db=db_url)
    assert code == 2 and "no team named" in err
    assert _audit(engine, "team_leader_set") == []


def test_sites_add_manager_gives_the_manager_the_site(db_url, engine):
    make_team(engine, "Sava", site="Belgrade")
    make_team(engine, "Narra", site="Manila")
    _add(db_url, "mia", "manager")
    with Session(engine) as session:
        assert accounts.viewer_for_user(session=session, user=_user(engine, "mia")).site_ids is None  # every site
    code, out, err = cli("sites", "add-manager", "belgrade", "mia", db=db_url)
    assert code == 0, err
    assert "mia now manages Belgrade" in out
    with Session(engine) as session:
        user = session.exec(select(User).where(User.username == "mia")).one()
        viewer = accounts.viewer_for_user(session=session, user=user)
    assert viewer.role == Role.MANAGER and len(viewer.site_ids) == 1
    rows = {r["username"]: r for r in accounts.list_users(session=Session(engine))}
    assert rows["mia"]["site"] == "Belgrade"
    entry = _audit(engine, "site_manager_set")[-1]
    assert (entry.actor, entry.target, entry.detail) == ("cli", "Belgrade", "mia (was every site)")


def test_sites_add_manager_refuses_what_it_cannot_do(db_url, engine):
    make_team(engine, "Sava", site="Belgrade")
    _add(db_url, "lee", "leader")
    code, out, err = cli("sites", "add-manager", "Belgrade", "lee", db=db_url)
    assert code == 2 and "users set-role lee manager" in err
    code, out, err = cli("sites", "add-manager", "Atlantis", "lee", db=db_url)
    assert code == 2 and "no site named 'Atlantis'" in err
    code, out, err = cli("sites", "add-manager", "Belgrade", "nobody", db=db_url)
    assert code == 2 and "no user named" in err
