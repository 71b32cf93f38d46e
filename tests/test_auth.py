"""Sign-in, lockout, timeout, display tokens and who sees what, at the data layer."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, select

from db import accounts, queries
from db.models import Agent, AuditLog, Interaction, Rating, RatingTag, Site, Team, User
from leaderboard import auth
from leaderboard.auth import AuthError, Viewer
from leaderboard.settings import Settings
from tests.cli_util import run_cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOW = datetime(2026, 11, 23, 12, 0)
PW = "correct horse battery"
PW_HASH = auth.hash_password(PW)  # hashed once: argon2 is slow on purpose


@pytest.fixture
def floor(session):
    """Two sites, three teams, four agents with one distinctive comment each; accounts for every role."""
    mnl = Site(name="Manila", timezone="Asia/Manila")
    beg = Site(name="Belgrade", timezone="Europe/Belgrade")
    session.add_all([mnl, beg])
    session.flush()
    leader_a = User(username="lead.a", display_name="Lea A", role="leader")
    leader_b = User(username="lead.b", display_name="Leo B", role="leader")
    manager = User(username="mgr.mnl", display_name="Mia M", role="manager", site_id=mnl.id)
    admin = User(username="admin", display_name="Ada", role="admin")
    ann_user = User(username="ann", display_name="Ann Lee", role="agent")
    session.add_all([leader_a, leader_b, manager, admin, ann_user])
    session.flush()
    alpha = Team(name="Alpha", site_id=mnl.id, leader_id=leader_a.id)
    beta = Team(name="Beta", site_id=mnl.id, leader_id=leader_b.id)
    gamma = Team(name="Gamma", site_id=beg.id)
    session.add_all([alpha, beta, gamma])
    session.flush()
    agents = {
        "Ann Lee": Agent(name="Ann Lee", display_name="Ann L.", team_id=alpha.id, user_id=ann_user.id),
        "Bob Cruz": Agent(name="Bob Cruz", display_name="Bob C.", team_id=alpha.id),
        "Cy Diaz": Agent(name="Cy Diaz", display_name="Cy D.", team_id=beta.id),
        "Dara Ilic": Agent(name="Dara Ilic", display_name="Dara I.", team_id=gamma.id),
    }
    session.add_all(agents.values())
    session.flush()
    for i, (name, agent) in enumerate(agents.items()):
        inter = Interaction(interaction_id=f"X{i}", agent_id=agent.id, channel="chat", closed_at=NOW)
        session.add(inter)
        session.flush()
        rating = Rating(
            interaction_id=inter.id, agent_id=agent.id, stars=1 + i, comment=f"secret-{name.split()[0]}", rated_at=NOW
        )
        session.add(rating)
        session.flush()
        session.add(RatingTag(rating_id=rating.id, kind="to_improve", tag=f"tag-{name.split()[0].lower()}"))
    for user in (leader_a, leader_b, manager, admin, ann_user):
        user.password_hash = PW_HASH
    session.commit()
    return {"agents": agents, "users": {u.username: u for u in (leader_a, leader_b, manager, admin, ann_user)}}


class FakeClock:
    """A clock that a sign-in's wait moves forward (instead of sleeping)."""

    def __init__(self, start: datetime):
        self.now = start
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += timedelta(seconds=seconds)


def viewer(session, username) -> Viewer:
    user = session.exec(select(User).where(User.username == username)).one()
    return accounts.viewer_for_user(session=session, user=user)


@pytest.mark.parametrize(
    "username, sees",
    [
        ("ann", {"Ann"}),  # an agent: only their own feedback
        ("lead.a", {"Ann", "Bob"}),  # a leader: their team
        ("lead.b", {"Cy"}),
        ("mgr.mnl", {"Ann", "Bob", "Cy"}),  # a manager: their site
        ("admin", {"Ann", "Bob", "Cy", "Dara"}),  # an admin: everyone
    ],
)
def test_feedback_is_filtered_by_viewer(session, floor, username, sees):
    frame = queries.feedback(session=session, viewer=viewer(session, username))
    assert {c.removeprefix("secret-") for c in frame["comment"]} == sees
    assert {t[0].removeprefix("tag-") for t in frame["to_improve"]} == {s.lower() for s in sees}


@pytest.mark.parametrize("username, target", [("ann", "Bob Cruz"), ("lead.a", "Cy Diaz"), ("mgr.mnl", "Dara Ilic")])
def test_asking_for_someone_out_of_reach_returns_nothing(session, floor, username, target):
    """A crafted agent id (another agent, another team, another site) returns nothing."""
    v = viewer(session, username)
    agent_id = floor["agents"][target].id
    assert queries.feedback(session=session, viewer=v, agent_id=agent_id).empty
    assert not queries.can_see_agent(session=session, viewer=v, agent_id=agent_id)


def test_display_viewer_sees_no_private_detail(session, floor):
    v = auth.display_viewer(site_id=None, team_id=None, name="tv")
    assert queries.feedback(session=session, viewer=v).empty
    assert queries.visible_directory(session=session, viewer=v).empty


def test_leader_directory_holds_only_their_team(session, floor):
    names = set(queries.visible_directory(session=session, viewer=viewer(session, "lead.a"))["agent"])
    assert names == {"Ann Lee", "Bob Cruz"}


def test_password_hash_is_argon2_and_verifies():
    hashed = auth.hash_password(PW)
    assert hashed.startswith("$argon2id$")
    assert auth.verify_password(hashed, PW)
    assert not auth.verify_password(hashed, PW + "x")
    assert not auth.verify_password("", PW)
    assert not auth.verify_password(hashed, "x" * (auth.MAX_PASSWORD_LENGTH + 1))


def test_sign_in_success_and_generic_failure(session, floor):
    ok = accounts.sign_in(session=session, username="ANN", password=PW, now=NOW)
    assert ok.viewer is not None and ok.viewer.role == "agent" and ok.viewer.agent_id == floor["agents"]["Ann Lee"].id
    bad = accounts.sign_in(session=session, username="ann", password="nope", now=NOW)
    unknown = accounts.sign_in(session=session, username="ghost", password="nope", now=NOW)
    assert bad.viewer is None and unknown.viewer is None
    assert bad.message == unknown.message == "Wrong username or password."


def test_failures_slow_down_the_next_attempt_but_never_lock_the_owner_out(session, floor):
    """Past the free failures each attempt on a name waits (1, 2, 4 ... s, capped); the right password still works."""
    settings = Settings(max_failed_logins=3, lockout_minutes=15)
    clock = FakeClock(NOW)
    for _ in range(5):
        result = accounts.sign_in(
            session=session, username="ann", password="nope", now=clock.now, settings=settings, sleep=clock.sleep
        )
        assert result.viewer is None and result.message == auth.SIGN_IN_FAILED
    assert clock.waits == [1.0, 2.0]  # after failures 3 and 4 (none after the free ones)
    ok = accounts.sign_in(session=session, username="ann", password=PW, now=clock.now, settings=settings, sleep=clock.sleep)
    assert ok.viewer is not None and clock.waits[-1] == 4.0
    assert accounts.failed_sign_ins(session=session, username="ann") == 0  # a success starts the name afresh
    actions = [a.action for a in session.exec(select(AuditLog).order_by(AuditLog.id)).all()]
    assert actions.count("sign_in_failed") == 5 and actions[-1] == "sign_in"


@pytest.mark.parametrize(
    "failures, free, cap, delay",
    [(0, 5, 10, 0.0), (4, 5, 10, 0.0), (5, 5, 10, 1.0), (6, 5, 10, 2.0), (8, 5, 10, 8.0), (9, 5, 10, 10.0),
     (1000, 5, 10, 10.0), (20, 20, 300, 1.0), (40, 20, 300, 300.0)],
)
def test_throttle_delay(failures, free, cap, delay):
    assert auth.throttle_delay(failures, free_failures=free, max_delay=cap) == delay


def test_throttle_wait_counts_from_the_last_failure():
    kwargs = dict(failures=7, free_failures=5, max_delay=10.0)  # a 4 s delay
    assert auth.throttle_wait(last_failure_at=None, now=NOW, **kwargs) == 0.0
    assert auth.throttle_wait(last_failure_at=NOW - timedelta(seconds=1), now=NOW, **kwargs) == 3.0
    assert auth.throttle_wait(last_failure_at=NOW - timedelta(seconds=9), now=NOW, **kwargs) == 0.0
    assert auth.throttle_wait(last_failure_at=NOW + timedelta(seconds=60), now=NOW, **kwargs) == 4.0


@pytest.mark.parametrize("idle_minutes, expired", [(119, False), (120, False), (121, True)])
def test_session_timeout(idle_minutes, expired):
    assert auth.session_expired(last_seen=NOW, now=NOW + timedelta(minutes=idle_minutes), timeout_minutes=120) is expired


def test_disabled_account_cannot_sign_in_and_loses_its_session(session, floor):
    accounts.disable_user(session=session, username="ann")
    assert accounts.sign_in(session=session, username="ann", password=PW, now=NOW).viewer is None
    user = floor["users"]["ann"]
    session.refresh(user)
    assert accounts.viewer_for_user_id(session=session, user_id=user.id, auth_version=user.auth_version) is None


def test_display_token_grant_and_revoke(session, floor):
    token = accounts.add_display(session=session, name="floor-tv", site="Manila")
    v = accounts.viewer_for_token(session=session, token=token)
    assert v is not None and v.is_display and v.display_site_id is not None
    assert accounts.display_scope_names(session=session, viewer=v) == ("Manila", None)
    assert accounts.viewer_for_token(session=session, token=token + "x") is None
    accounts.revoke_display(session=session, name="floor-tv")
    assert accounts.viewer_for_token(session=session, token=token) is None
    actions = {a.action for a in session.exec(select(AuditLog)).all()}
    assert {"display_added", "display_revoked"} <= actions


def test_role_change_is_audited(session, floor):
    accounts.set_role(session=session, username="ann", role="leader", actor="admin")
    entry = accounts.audit_entries(session=session, action="role_changed")[0]
    assert (entry.actor, entry.target, entry.detail) == ("admin", "ann", "agent -> leader")


def test_purge_comments_keeps_stars(session, floor):
    count = accounts.purge_comments(session=session, older_than_days=1, now=NOW + timedelta(days=3))
    assert count == 4
    ratings = session.exec(select(Rating)).all()
    assert {r.comment for r in ratings} == {""} and sorted(r.stars for r in ratings) == [1, 2, 3, 4]


def _cli(db_url, *args, stdin=""):
    return run_cli(*args, stdin=stdin, env={"DATABASE_URL": db_url})


def test_users_cli_reads_password_from_stdin_and_lists_csv(db_url, session, floor):
    added = _cli(db_url, "users", "add", "bob", "--role", "agent", "--agent", "Bob Cruz", stdin="pw-from-stdin\n")
    assert added.returncode == 0, added.stderr
    listed = _cli(db_url, "users", "list", "--format", "csv")
    lines = listed.stdout.splitlines()
    assert lines[0] == "username,role,agent,team,site,disabled"
    assert "bob,agent,Bob Cruz,Alpha,Manila,false" in lines
    assert "lead.a,leader,,Alpha,Manila,false" in lines
    changed = _cli(db_url, "users", "set-password", "bob", stdin="another-password\n")
    assert changed.returncode == 0
    session.expire_all()
    assert accounts.sign_in(session=session, username="bob", password="another-password", now=NOW).viewer is not None
    assert _cli(db_url, "users", "add", "nopw", "--role", "agent").returncode == 2
    disabled = _cli(db_url, "users", "disable", "bob")
    assert disabled.returncode == 0 and "bob,agent,Bob Cruz,Alpha,Manila,true" in _cli(db_url, "users", "list", "--format", "csv").stdout


def test_displays_cli_prints_token_alone_on_last_line(db_url, session, floor):
    out = _cli(db_url, "displays", "add", "tv-1", "--site", "Manila")
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip().splitlines()[-1]
    assert " " not in token and len(token) >= 24
    assert accounts.viewer_for_token(session=session, token=token) is not None
    assert _cli(db_url, "displays", "revoke", "tv-1").returncode == 0
    session.expire_all()
    assert accounts.viewer_for_token(session=session, token=token) is None
    assert _cli(db_url, "displays", "add", "tv-2", "--site", "Atlantis").returncode == 2


def test_demo_accounts_are_listed_only_on_the_seeded_demo_database(session, floor):
    from db.models import AppMeta

    assert accounts.demo_accounts(session=session) is None
    session.add(AppMeta(key="demo", value="1"))
    for user in floor["users"].values():
        user.demo = True
        session.add(user)
    session.commit()
    users, password = accounts.demo_accounts(session=session)
    assert password == "starboard-demo"
    assert ("admin", "admin") in users and ("ann", "agent") in users
    accounts.disable_user(session=session, username="ann")
    assert ("ann", "agent") not in accounts.demo_accounts(session=session)[0]
