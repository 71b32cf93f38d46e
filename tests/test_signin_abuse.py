"""Sign-in that resists abuse (issue 12, items 4-8): atomic failure counts, delays instead of a lock
anyone can trigger, one answer for every failure, sessions that end when the account changes, a
password policy, demo accounts only on a demo-only database, bounded inputs. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, select

from db import accounts
from db.ingest import COLUMNS, import_csv
from db.models import Agent, AppMeta, AuditLog, Site, Team, User
from leaderboard import auth
from leaderboard.auth import DEMO_PASSWORD, SIGN_IN_FAILED, AuthError
from leaderboard.settings import Settings
from leaderboard.auth import SYSTEM_VIEWER
from pages.access import AUTH_KEY
from tests.app_util import app_as

NOW = datetime(2026, 11, 23, 12, 0)
PW = "correct horse battery"
PW_HASH = auth.hash_password(PW)  # hashed once: argon2 is slow on purpose
DEMO_HASH = auth.hash_password(DEMO_PASSWORD)
SETTINGS = Settings(max_failed_logins=5, lockout_minutes=15)


def no_wait(_seconds: float) -> None:
    """Tests do not sleep through a sign-in's wait."""


class FakeClock:
    """A clock that a sign-in's wait moves forward (instead of sleeping)."""

    def __init__(self, start: datetime = NOW):
        self.now = start
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def people(session):
    """One site, one team, accounts for ann (agent), lead.a (leader), admin; a disabled one (gone)."""
    site = Site(name="Manila", timezone="Asia/Manila")
    session.add(site)
    session.flush()
    users = {
        name: User(username=name, display_name=name, role=role, password_hash=PW_HASH)
        for name, role in (("ann", "agent"), ("lead.a", "leader"), ("admin", "admin"), ("gone", "agent"))
    }
    users["gone"].disabled = True
    session.add_all(users.values())
    session.flush()
    team = Team(name="Alpha", site_id=site.id, leader_id=users["lead.a"].id)
    session.add(team)
    session.flush()
    session.add(Agent(name="Ann Lee", display_name="Ann L.", team_id=team.id, user_id=users["ann"].id))
    session.commit()
    return users


def attempt(session, username, password=PW, **kwargs):
    kwargs.setdefault("now", NOW)
    kwargs.setdefault("settings", SETTINGS)
    kwargs.setdefault("sleep", no_wait)
    return accounts.sign_in(session=session, username=username, password=password, **kwargs)


def audit_rows(session, action=None) -> list[AuditLog]:
    session.expire_all()
    stmt = select(AuditLog).order_by(AuditLog.id)
    if action:
        stmt = stmt.where(AuditLog.action == action)
    return list(session.exec(stmt).all())


# --- 4. failures are counted atomically; delays, not a lock; one answer ------------------------


def test_twenty_parallel_wrong_passwords_count_twenty(engine, people):
    """Guards the read-modify-write race: 12 parallel failures once left the counter at 2."""

    def wrong(i: int):
        with Session(engine) as own:
            return attempt(own, "ann", password=f"wrong-{i}", address="203.0.113.7")

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(wrong, range(20)))
    assert all(r.viewer is None for r in results)
    with Session(engine) as session:
        assert accounts.failed_sign_ins(session=session, username="ann") == 20
        assert accounts.failed_sign_ins(session=session, address="203.0.113.7") == 20
        assert len(audit_rows(session, "sign_in_failed")) == 20


def test_unknown_wrong_disabled_and_misused_demo_password_answer_alike(session, people):
    people["lead.a"].password_hash = DEMO_HASH  # not a demo account, and no demo database
    session.add(people["lead.a"])
    session.commit()
    answers = {
        "unknown": attempt(session, "ghost"),
        "wrong": attempt(session, "ann", password="not-the-password"),
        "disabled (right password)": attempt(session, "gone"),
        "demo password outside the demo": attempt(session, "lead.a", password=DEMO_PASSWORD),
        "too long a name": attempt(session, "x" * 5000),
    }
    assert {name: (r.viewer, r.message) for name, r in answers.items()} == {
        name: (None, SIGN_IN_FAILED) for name in answers
    }
    details = [row.detail.split(";")[0] for row in audit_rows(session, "sign_in_failed")]
    assert details == [
        "unknown user", "wrong password", "disabled", "demo password outside the demo", "username too long"
    ]


def test_every_answer_costs_one_password_check(session, people, monkeypatch):
    """Similar timing: unknown names and disabled accounts get the same argon2 work as a wrong password."""
    calls: list[str] = []
    real = accounts.verify_password
    monkeypatch.setattr(accounts, "verify_password", lambda h, p: calls.append(h) or real(h, p))
    for name in ("ghost", "ann", "gone", "y" * 500):
        attempt(session, name, password="not-the-password")
    assert len(calls) == 4 and all(h.startswith("$argon2id$") for h in calls)


def test_nobody_can_lock_the_admin_out(session, people):
    """Many failures on "admin" from many addresses: the admin still gets in, after a short capped wait."""
    for i in range(12):
        attempt(session, "admin", password="guess", address=f"198.51.100.{i}")
    clock = FakeClock(NOW + timedelta(seconds=1))
    ok = attempt(session, "admin", address="192.0.2.10", now=clock.now, sleep=clock.sleep)
    assert ok.viewer is not None and ok.viewer.is_admin
    assert clock.waits and clock.waits[0] <= auth.ACCOUNT_MAX_DELAY_SECONDS


def test_a_name_slows_down_the_same_whether_it_exists_or_not(session, people):
    """Growing waits per name; the same for an unknown name, so they tell nothing about who exists."""
    waits = {}
    for name in ("ann", "nobody.here"):
        clock = FakeClock()
        for _ in range(9):
            attempt(session, name, password="guess", now=clock.now, sleep=clock.sleep)
        waits[name] = clock.waits
    assert waits["ann"] == waits["nobody.here"] == [1.0, 2.0, 4.0, 8.0]


def test_an_address_that_keeps_failing_is_refused_then_let_back(session, people):
    """Spraying many names from one address: refused (right password too) until the delay passes."""
    address = "203.0.113.9"
    free = SETTINGS.max_failed_logins * auth.ADDRESS_FREE_FACTOR
    for i in range(free):
        attempt(session, f"user{i}", password="guess", address=address)
    refused = attempt(session, "ann", address=address)
    unknown = attempt(session, "ghost", password="guess", address=address)
    assert refused.viewer is None and "Too many failed sign-ins" in refused.message
    assert unknown.message.split(" Try again")[0] == refused.message.split(" Try again")[0]
    assert attempt(session, "ann", address="192.0.2.1").viewer is not None  # another address is not affected
    later = attempt(session, "ann", address=address, now=NOW + timedelta(seconds=auth.ADDRESS_MAX_DELAY_SECONDS + 1))
    assert later.viewer is not None


def test_failures_are_forgotten_after_the_quiet_period(session, people):
    for _ in range(3):
        attempt(session, "ann", password="guess")
    assert accounts.failed_sign_ins(session=session, username="ann") == 3
    attempt(session, "ann", password="guess", now=NOW + timedelta(minutes=SETTINGS.lockout_minutes + 1))
    session.expire_all()
    assert accounts.failed_sign_ins(session=session, username="ann") == 1


# --- 5. account changes end open sessions ---------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        lambda s: accounts.set_password(session=s, username="ann", password="a-brand-new-secret"),
        lambda s: accounts.set_role(session=s, username="ann", role="leader"),
        lambda s: accounts.disable_user(session=s, username="ann"),
    ],
    ids=["password", "role", "disable"],
)
def test_an_account_change_ends_its_open_sessions(session, people, change):
    signed_in = attempt(session, "ann")
    user_id = signed_in.viewer.user_id
    assert accounts.viewer_for_user_id(session=session, user_id=user_id, auth_version=signed_in.auth_version)
    change(session)
    session.expire_all()
    assert accounts.viewer_for_user_id(session=session, user_id=user_id, auth_version=signed_in.auth_version) is None


def test_a_session_signed_in_after_the_change_works(session, people):
    accounts.set_password(session=session, username="ann", password="a-brand-new-secret")
    again = attempt(session, "ann", password="a-brand-new-secret")
    assert again.auth_version == 1
    assert accounts.viewer_for_user_id(session=session, user_id=again.viewer.user_id, auth_version=1) is not None


def test_every_account_change_is_audited(session, people):
    accounts.add_user(session=session, username="new.one", role="agent", password="a-brand-new-secret", actor="boss")
    accounts.set_password(session=session, username="new.one", password="another-new-secret", actor="boss")
    accounts.set_role(session=session, username="new.one", role="leader", actor="boss")
    accounts.disable_user(session=session, username="new.one", actor="boss")
    accounts.disable_user(session=session, username="new.one", actor="boss", disabled=False)
    rows = [(r.actor, r.action, r.target) for r in audit_rows(session)]
    assert rows == [
        ("boss", action, "new.one")
        for action in ("user_added", "password_set", "role_changed", "user_disabled", "user_enabled")
    ]


@pytest.fixture
def app_db(db_env, monkeypatch, engine, people):
    monkeypatch.setenv("STARBOARD_AUTO_SEED", "0")
    return engine


def sign_in_through_the_form(at, username, password):
    at.run()
    form = "signin" if any(t.key == "signin_username" for t in at.text_input) else "guard"
    at.text_input(key=f"{form}_username").input(username)
    at.text_input(key=f"{form}_password").input(password)
    at.button[0].click().run()
    return at


@pytest.mark.parametrize(
    "change",
    [
        lambda s: accounts.set_password(session=s, username="lead.a", password="a-brand-new-secret"),
        lambda s: accounts.set_role(session=s, username="lead.a", role="agent"),
        lambda s: accounts.disable_user(session=s, username="lead.a"),
    ],
    ids=["password", "role", "disable"],
)
def test_an_open_page_is_signed_out_when_the_account_changes(app_db, change):
    at = sign_in_through_the_form(app_as(None), "lead.a", PW)
    assert not at.exception
    assert at.session_state[AUTH_KEY]["user_id"]
    with Session(app_db) as session:
        change(session)
    at.run()
    assert not at.exception
    assert AUTH_KEY not in at.session_state
    assert {t.key for t in at.text_input} & {"signin_username", "guard_username"}


# --- 6. passwords ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password, problem",
    [
        ("short-pw", "at least 12 characters"),
        ("x" * (auth.MAX_PASSWORD_LENGTH + 1), "at most 1024"),
        ("password1234", "most common passwords"),
        ("Qwertyuiop123", "most common passwords"),  # compared without case
        ("123456789012", "most common passwords"),
        ("new.person.here", "not be the username"),
        ("NEW.PERSON.HERE", "not be the username"),
        (DEMO_PASSWORD, "demo password"),
        ("ocean-lamp-violet-42", None),
    ],
)
def test_password_policy(password, problem):
    found = auth.password_problem(password, username="new.person.here")
    assert (found is None) if problem is None else (problem in found)


def test_common_password_list_is_shipped_and_sizeable():
    common = auth.common_passwords()
    assert 1000 <= len(common) <= 20000
    assert {"password", "123456", "qwerty", "iloveyou", "password123456"} <= common


@pytest.mark.parametrize("password", ["password1234", "short-pw", DEMO_PASSWORD, "<username>"])
def test_accounts_refuse_a_weak_password(session, people, password):
    with pytest.raises(AuthError, match="password"):
        accounts.add_user(
            session=session, username="fresh.person.name", role="agent",
            password=password.replace("<username>", "fresh.person.name"),
        )
    session.rollback()
    assert session.exec(select(User).where(User.username == "fresh.person.name")).first() is None
    people["ann"].username = "ann.with.a.long.name"
    session.add(people["ann"])
    session.commit()
    with pytest.raises(AuthError, match="password"):
        accounts.set_password(
            session=session, username="ann.with.a.long.name",
            password=password.replace("<username>", "Ann.With.A.Long.Name"),
        )
    session.rollback()
    assert session.exec(select(User).where(User.username == "ann.with.a.long.name")).one().password_hash == PW_HASH


def test_users_command_refuses_a_common_password(db_url, people):
    from tests.cli_util import run_cli

    run = run_cli("users", "add", "bob", "--role", "agent", db=db_url, stdin="password1234\n")
    assert "most common passwords" in run.error_line()


def demo_database(session, people, *, marker=True, demo_users=("admin",)):
    if marker:
        session.add(AppMeta(key="demo", value="1"))
    for name, user in people.items():
        user.demo = name in demo_users
        user.password_hash = DEMO_HASH
        session.add(user)
    session.commit()


@pytest.mark.parametrize(
    "marker, demo_users, username, signs_in",
    [
        (True, ("admin", "ann", "lead.a", "gone"), "admin", True),  # the seeded demo database
        (True, ("ann",), "admin", False),  # not a demo account (added by hand, say)
        (False, ("admin", "ann", "lead.a", "gone"), "admin", False),  # real data arrived: the demo is over
    ],
)
def test_demo_password_signs_in_only_demo_accounts_of_a_demo_database(
    session, people, marker, demo_users, username, signs_in
):
    demo_database(session, people, marker=marker, demo_users=demo_users)
    result = attempt(session, username, password=DEMO_PASSWORD)
    assert (result.viewer is not None) is signs_in
    if not signs_in:
        assert result.message == SIGN_IN_FAILED


# --- 7. demo accounts panel ----------------------------------------------------------------------


def test_demo_panel_lists_only_seeded_accounts_and_only_on_a_demo_only_database(session, people):
    demo_database(session, people, demo_users=("admin", "ann", "lead.a", "gone"))
    users, password = accounts.demo_accounts(session=session)
    assert password == DEMO_PASSWORD and ("admin", "admin") in users and ("gone", "agent") not in users
    accounts.add_user(session=session, username="real.person", role="agent", password="a-real-persons-secret")
    assert accounts.demo_accounts(session=session) is None  # a real account: not demo-only any more


def test_an_import_that_lands_rows_ends_the_demo(engine, session, people, tmp_path):
    demo_database(session, people, demo_users=("admin", "ann", "lead.a", "gone"))
    path = tmp_path / "real.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerow(
            {c: "" for c in COLUMNS}
            | {"interaction_id": "R-1", "agent": "Ann Lee", "team": "Alpha", "site": "Manila", "channel": "chat",
               "closed_at": "2026-11-20T10:00:00", "rated_at": "2026-11-20T10:05:00", "stars": "5"}
        )
    report = import_csv(engine=engine, path=path, viewer=SYSTEM_VIEWER)
    assert report.inserted == 1, report.errors
    session.expire_all()
    assert accounts.demo_accounts(session=session) is None
    assert not accounts.demo_database(session=session)
    assert attempt(session, "admin", password=DEMO_PASSWORD).viewer is None


def test_sign_in_page_shows_the_demo_panel_only_on_a_demo_only_database(app_db, session, people):
    demo_database(session, people, demo_users=("admin", "ann", "lead.a", "gone"))
    at = app_as(None)
    at.run()
    assert not at.exception
    assert any("Demo accounts" in e.label for e in at.expander)
    accounts.add_user(session=session, username="real.person", role="agent", password="a-real-persons-secret")
    at = app_as(None)
    at.run()
    assert not any("Demo accounts" in e.label for e in at.expander)


# --- 8. bounded input ---------------------------------------------------------------------------


def test_an_over_long_username_is_a_plain_failure_and_audited_truncated(session, people):
    """Guards the PostgreSQL DataError: a 5,000-character username reached the audit insert."""
    result = attempt(session, "a" * 5000, password="p" * 100_000, address="203.0.113.5")
    assert result.viewer is None and result.message == SIGN_IN_FAILED
    [row] = audit_rows(session, "sign_in_failed")
    assert row.target == "a" * auth.MAX_USERNAME_LENGTH and len(row.actor) <= 120


def test_account_commands_bound_the_username(session, people):
    with pytest.raises(AuthError, match="at most 80"):
        accounts.add_user(session=session, username="b" * 500, role="agent", password="ocean-lamp-violet-42")
    with pytest.raises(AuthError, match="no user named"):
        accounts.set_password(session=session, username="c" * 5000, password="ocean-lamp-violet-42")


# --- the seed and older databases keep their demo accounts working --------------------------------


def test_seed_marks_its_accounts_as_demo_accounts(session, people):
    from db.seed import _demo_passwords

    _demo_passwords(session=session)
    session.add(AppMeta(key="demo", value="1"))
    session.commit()
    assert all(u.demo for u in session.exec(select(User)).all())
    assert attempt(session, "admin", password=DEMO_PASSWORD).viewer is not None


def test_a_release9_demo_database_keeps_its_demo_accounts_after_the_upgrade(db_url):
    """Revision 0003 marks the accounts the seed made (created up to seeded_at), not ones added later."""
    from db.engine import make_engine
    from tests.test_migrations import load_release9

    load_release9(db_url)
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            demo = {u.username: u.demo for u in session.exec(select(User)).all()}
            assert demo["admin"] and demo["grace.kim"] and not demo["qa.lead"]
            assert accounts.demo_database(session=session)
    finally:
        engine.dispose()
