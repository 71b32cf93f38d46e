"""The Admin page (AppTest): users, wall display links, the audit log and settings; admins only."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from db import accounts, queries
from db.models import Agent, AuditLog, DisplayToken, Site, Team, User
from leaderboard.auth import verify_password
from leaderboard.settings import Settings
from tests.app_util import app_as
from tests.browser_util import browser_db_url, chromium, page, streamlit_server  # noqa: F401  (fixtures)
from tests.factories import make_agent, make_team, make_user

PAGE = "pages/admin.py"
SETTINGS_SOURCE = Path(__file__).resolve().parent.parent / "leaderboard" / "settings.py"


@pytest.fixture(autouse=True)
def _fresh_streamlit_caches():
    """Cached engines and frames must not leak from one test's database into the next."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def open_page(username: str = "qa.admin", role: str = "admin") -> AppTest:
    at = app_as(username, role=role)
    at.run()
    at.switch_page(PAGE).run()
    return at


def table(at: AppTest, column: str) -> pd.DataFrame:
    for element in at.dataframe:
        if column in element.value.columns:
            return element.value
    raise AssertionError(f"no table with a {column!r} column")


def audit(engine, action: str) -> list[AuditLog]:
    with Session(engine) as session:
        return list(session.exec(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)).all())


@pytest.fixture
def floor(engine):
    make_team(engine, "Alpha", site="Manila", tz="Asia/Manila", leader="lead.a")
    make_team(engine, "Sava", site="Belgrade", tz="Europe/Belgrade", leader="lead.s")
    make_agent(engine, "Ann Alpha", team="Alpha", site="Manila", username="ann")
    make_agent(engine, "Cy Free", team="Alpha", site="Manila")
    return engine


# --------------------------------------------------------------------------- wall displays


def test_a_display_token_is_shown_once_opens_only_the_wall_and_revoking_stops_it(db_env, floor):
    at = open_page()
    no_exception(at)
    at.text_input(key="adm_display_name").input("Manila floor TV")
    at.selectbox(key="adm_display_site").set_value("Manila").run()
    at.selectbox(key="adm_display_team").set_value("Alpha")
    at.button(key="adm_display_create").click().run()
    no_exception(at)
    links = [c.value for c in at.code if "/wall?display=" in c.value]
    assert len(links) == 1
    token = re.search(r"/wall\?display=([A-Za-z0-9_\-]+)$", links[0]).group(1)
    with Session(floor) as session:
        row = session.exec(select(DisplayToken).where(DisplayToken.name == "Manila floor TV")).one()
        assert token not in row.token_hash  # only a digest is kept
        viewer = accounts.viewer_for_token(session=session, token=token)
        # The token is a wall display's credential and nothing else: no user, no private detail.
        assert viewer is not None and viewer.role == "display" and viewer.user_id is None
        assert viewer.display_team_id == row.team_id is not None
        assert session.exec(queries.visible_agents(viewer)).all() == []
        assert accounts.sign_in(session=session, username="Manila floor TV", password=token).viewer is None
    assert [a.target for a in audit(floor, "display_added")] == ["Manila floor TV"]
    listed = table(at, "status")
    assert listed.set_index("name").loc["Manila floor TV", "status"] == "Live"

    # Shown once: the next run of the page no longer has it anywhere.
    at.run()
    assert not any(token in c.value for c in at.code)
    assert all(token not in str(e.value) for e in (*at.markdown, *at.text, *at.caption))

    at.selectbox(key="adm_revoke_name").set_value("Manila floor TV")
    at.button(key="adm_revoke").click().run()
    no_exception(at)
    with Session(floor) as session:
        assert accounts.viewer_for_token(session=session, token=token) is None
    assert table(at, "status").set_index("name").loc["Manila floor TV", "status"] == "Revoked"
    assert [a.target for a in audit(floor, "display_revoked")] == ["Manila floor TV"]


def test_a_display_name_in_use_is_refused_with_a_message(db_env, floor):
    with Session(floor) as session:
        accounts.add_display(session=session, name="Lobby")
    at = open_page()
    at.text_input(key="adm_display_name").input("Lobby")
    at.button(key="adm_display_create").click().run()
    no_exception(at)
    assert any("already exists" in e.value for e in at.error)
    assert not any("/wall?display=" in c.value for c in at.code)


# --------------------------------------------------------------------------- users


def test_admin_adds_a_user_linked_to_an_agent(db_env, floor):
    at = open_page()
    at.text_input(key="adm_new_username").input("cy.free")
    at.selectbox(key="adm_new_role").set_value("agent")
    # Agents who already have an account are not offered.
    assert "Ann Alpha" not in at.selectbox(key="adm_new_agent").options
    at.selectbox(key="adm_new_agent").set_value("Cy Free")
    at.text_input(key="adm_new_password").input("a-long-password")
    at.text_input(key="adm_new_password2").input("a-long-password")
    at.button(key="adm_add").click().run()
    no_exception(at)
    with Session(floor) as session:
        user = session.exec(select(User).where(User.username == "cy.free")).one()
        assert user.role == "agent" and verify_password(user.password_hash, "a-long-password")
        assert session.exec(select(Agent).where(Agent.name == "Cy Free")).one().user_id == user.id
    assert [(a.target, a.detail) for a in audit(floor, "user_added")] == [("cy.free", "role=agent")]
    assert "cy.free" in list(table(at, "username")["username"])
    assert at.text_input(key="adm_new_password").value == ""  # no password left in the form


@pytest.mark.parametrize(
    "first, second, role, message",
    [
        ("a-long-password", "different-password", "leader", "passwords differ"),
        ("short", "short", "leader", "at least 12 characters"),
        ("a-long-password", "a-long-password", "agent", "needs the agent"),
    ],
)
def test_adding_a_user_refuses_mistakes(db_env, floor, first, second, role, message):
    at = open_page()
    at.text_input(key="adm_new_username").input("new.person")
    at.selectbox(key="adm_new_role").set_value(role)
    at.text_input(key="adm_new_password").input(first)
    at.text_input(key="adm_new_password2").input(second)
    at.button(key="adm_add").click().run()
    no_exception(at)
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    with Session(floor) as session:
        assert session.exec(select(User).where(User.username == "new.person")).first() is None
    assert at.text_input(key="adm_new_username").value == "new.person"  # kept, to fix and retry


def test_a_role_change_is_audited(db_env, floor):
    at = open_page()
    at.selectbox(key="adm_user").set_value("lead.a").run()
    assert at.selectbox(key="adm_role").value == "leader"
    at.selectbox(key="adm_role").set_value("manager")
    at.button(key="adm_set_role").click().run()
    no_exception(at)
    with Session(floor) as session:
        assert session.exec(select(User).where(User.username == "lead.a")).one().role == "manager"
    [entry] = audit(floor, "role_changed")
    assert (entry.actor, entry.target, entry.detail) == ("qa.admin", "lead.a", "leader -> manager")
    # The audit log tab shows it, and its filter finds it.
    at.selectbox(key="adm_audit_action").set_value("role_changed").run()
    log = table(at, "action")
    assert list(log["action"]) == ["role_changed"] and log.iloc[0]["target"] == "lead.a"


def test_disable_enable_and_set_password(db_env, floor):
    at = open_page()
    at.selectbox(key="adm_user").set_value("ann").run()
    at.button(key="adm_toggle").click().run()
    no_exception(at)
    with Session(floor) as session:
        assert session.exec(select(User).where(User.username == "ann")).one().disabled
    assert at.button(key="adm_toggle").label == "Enable account"
    at.button(key="adm_toggle").click().run()
    at.text_input(key="adm_pw1").input("brand-new-pass")
    at.text_input(key="adm_pw2").input("brand-new-pass")
    at.button(key="adm_set_password").click().run()
    no_exception(at)
    with Session(floor) as session:
        user = session.exec(select(User).where(User.username == "ann")).one()
        assert not user.disabled and verify_password(user.password_hash, "brand-new-pass")
    assert [a.action for a in audit(floor, "user_disabled") + audit(floor, "user_enabled") + audit(floor, "password_set")] == [
        "user_disabled", "user_enabled", "password_set"
    ]


def test_admin_makes_a_team_leader_and_a_site_manager(db_env, floor):
    """Issue 13 item 8: a team's leader and a manager's site are set from the Admin page, audited."""
    make_user(floor, "mia", role="manager")
    at = open_page()
    no_exception(at)
    at.selectbox(key="adm_lead_team").set_value("Belgrade/Sava")
    at.selectbox(key="adm_lead_user").set_value("lead.a")
    at.button(key="adm_set_leader").click().run()
    no_exception(at)
    assert any("now leads Belgrade/Sava" in s.value for s in at.success), [e.value for e in (*at.error, *at.success)]
    at.selectbox(key="adm_mgr_site").set_value("Manila")
    at.selectbox(key="adm_mgr_user").set_value("mia")
    at.button(key="adm_add_manager").click().run()
    no_exception(at)
    assert any("mia now manages Manila" in s.value for s in at.success)
    with Session(floor) as session:
        lead = session.exec(select(User).where(User.username == "lead.a")).one()
        assert session.exec(select(Team).where(Team.name == "Sava")).one().leader_id == lead.id
        mia = session.exec(select(User).where(User.username == "mia")).one()
        assert mia.site_id == session.exec(select(Site).where(Site.name == "Manila")).one().id
    listed = table(at, "site").set_index("username")
    assert listed.loc["lead.a", "team"] == "Alpha; Sava" and listed.loc["mia", "site"] == "Manila"
    assert [(a.actor, a.target) for a in audit(floor, "team_leader_set")] == [("qa.admin", "Belgrade/Sava")]
    assert [(a.actor, a.target) for a in audit(floor, "site_manager_set")] == [("qa.admin", "Manila")]
    # Only leaders lead: an agent is not offered.
    assert "ann" not in at.selectbox(key="adm_lead_user").options


def test_user_picker_labels_stay_the_same_when_a_user_changes(db_env, floor):
    """Streamlit matches a picked option by its label: a label showing role or state would pick someone else."""
    at = open_page()
    before = at.selectbox(key="adm_user").options
    at.selectbox(key="adm_user").set_value("ann").run()
    at.button(key="adm_toggle").click().run()
    at.selectbox(key="adm_role").set_value("leader")
    at.button(key="adm_set_role").click().run()
    assert at.selectbox(key="adm_user").options == before
    assert at.selectbox(key="adm_user").value == "ann"


def test_an_admin_cannot_lock_themselves_out(db_env, floor):
    at = open_page()
    at.selectbox(key="adm_user").set_value("qa.admin").run()
    assert at.button(key="adm_set_role").disabled and at.button(key="adm_toggle").disabled


# --------------------------------------------------------------------------- settings and access


def test_settings_tab_lists_every_setting_with_its_environment_variable(db_env, floor):
    at = open_page()
    shown = table(at, "environment variable")
    assert list(shown["setting"]) == list(Settings.model_fields)
    source = SETTINGS_SOURCE.read_text()
    for env in shown["environment variable"]:
        name = env.split()[0]
        assert name and f'"{name}"' in source, f"{name} is not read in leaderboard/settings.py"
    assert any("environment variable" in i.value.lower() for i in at.info)


@pytest.mark.parametrize("username, role", [("lead.a", "leader"), ("ann", "agent"), ("boss", "manager")])
def test_admin_is_not_available_to_other_roles(db_env, floor, username, role):
    at = open_page(username, role)
    no_exception(at)
    assert [e.value for e in at.error] == ["This page is not available for your role."]
    assert not at.dataframe and not any(b.key == "adm_add" for b in at.button)
    shown = " ".join(str(e.value) for e in (*at.markdown, *at.text, *at.caption, *at.code))
    assert "lead.s" not in shown and "qa.admin" not in shown


# --------------------------------------------------------------------------- in a real browser


@pytest.mark.browser
def test_browser_disable_then_set_password_lands_on_the_same_user(page, streamlit_server):
    """Regression: a user picker labelled with the user's state picked someone else (the admin) after a change."""
    import time
    import uuid

    from db.engine import make_engine
    from tests.browser_util import DEMO_ADMIN, assert_no_exception, open_app, wait_for_app

    url = streamlit_server.database_url
    target = f"browser.{uuid.uuid4().hex[:8]}"
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            accounts.add_user(session=session, username=target, role="leader", password="first-password")
    finally:
        engine.dispose()

    def user(name: str) -> User:
        eng = make_engine(url)
        try:
            with Session(eng) as session:
                return session.exec(select(User).where(User.username == name)).one()
        finally:
            eng.dispose()

    def wait_for(check, what: str, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.25)
        raise AssertionError(f"timed out waiting for {what}")

    open_app(page, streamlit_server.url + "/admin", ready=".st-key-adm_change_box", user=DEMO_ADMIN)
    page.locator(".st-key-adm_user input").first.click()
    page.keyboard.type(target)
    page.get_by_role("option", name=target, exact=True).click()
    wait_for_app(page, ready=".st-key-adm_change_box")
    page.wait_for_function(
        "(name) => document.querySelector('.st-key-adm_change_box')?.textContent.includes(name + ' · Team leader')",
        arg=target, timeout=30_000,
    )
    page.locator(".st-key-adm_toggle button").first.click()
    wait_for(lambda: user(target).disabled, f"{target} to be disabled")
    page.wait_for_function(
        "() => document.querySelector('.st-key-adm_toggle')?.textContent.includes('Enable account')", timeout=30_000
    )
    wait_for_app(page, ready=".st-key-adm_change_box")
    for key in ("adm_pw1", "adm_pw2"):
        page.locator(f".st-key-{key} input").first.fill("second-password")
        page.locator(f".st-key-{key} input").first.press("Enter")
        wait_for_app(page, ready=".st-key-adm_change_box")
    # A click that lands while the page is rerunning can be dropped by the browser: try it again then.
    for attempt in range(3):
        page.locator(".st-key-adm_set_password button").first.click()
        try:
            wait_for(lambda: verify_password(user(target).password_hash, "second-password"), f"{target}'s new password", 15)
            break
        except AssertionError:
            if attempt == 2:
                raise
            wait_for_app(page, ready=".st-key-adm_change_box")
    assert_no_exception(page)
    assert verify_password(user(DEMO_ADMIN[0]).password_hash, DEMO_ADMIN[1]), "the admin's own password is untouched"
    assert not user(DEMO_ADMIN[0]).disabled
