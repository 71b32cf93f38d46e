"""Writes are authorized and audited (issue 12, items 1-3).

An import is written for a viewer and refuses, row by row with its reason, what lies
outside the viewer's scope; agents are known by an external id or by name within a
site (case and accents ignored) and never move between sites from a file; every
import, in-place rating edit and agent move leaves an audit entry, which the Admin
page filters by who, kind and date.
"""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import datetime, timedelta

import pytest
import streamlit as st
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from db import audit, recovery_store
from db.engine import make_engine
from db.ingest import COLUMNS, RejectedRows, import_file
from db.models import Agent, AuditLog, Interaction, Rating, RecoveryCase, Site, Team, User
from leaderboard.auth import SYSTEM_VIEWER, Role, Viewer, may_administer, may_write
from leaderboard.names import name_key
from pages import uploads
from tests.app_util import app_as
from tests.cli_util import run_cli
from tests.factories import make_agent, make_team, make_user
from tests.test_migrations import RELEASE9_COUNTS, load_release9

HEADER = (*COLUMNS, "leader", "agent_external_id")


def row(iid: str, agent: str, team: str, site: str, stars: str = "5", **extra: str) -> dict:
    return {
        "interaction_id": iid, "agent": agent, "team": team, "site": site, "channel": "phone",
        "contact_reason": "billing", "closed_at": "2026-11-20T14:00:00Z", "rated_at": "2026-11-20T14:05:00Z",
        "stars": stars, "comment": "fine", "resolved": "yes", "nps": "9", "went_well": "", "to_improve": "",
        **extra,
    }


def write_csv(tmp_path, rows: list[dict], name: str = "ratings.csv"):
    path = tmp_path / name
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def two_sites(engine, tmp_path):
    """New York (Harbor: Ned York, with an agent account, 5★ on NY-1) and Manila (Blue: Ann Good)."""
    make_team(engine, "Harbor", site="New York", tz="America/New_York", leader="lead.ny")
    make_team(engine, "Blue", site="Manila", tz="Asia/Manila", leader="lead.mnl")
    report = import_file(
        engine=engine, viewer=SYSTEM_VIEWER,
        path=write_csv(tmp_path, [
            row("NY-1", "Ned York", "Harbor", "New York", agent_external_id="E-NED"),
            row("MN-1", "Ann Good", "Blue", "Manila", agent_external_id="E-ANN"),
        ], name="setup.csv"),
    )
    assert (report.inserted, report.rejected) == (2, 0), report.errors
    # Ned York signs in as an agent ("ned.york" is also the username a leader column "Ned York" finds).
    make_agent(engine, "Ned York", team="Harbor", site="New York", username="ned.york")
    with Session(engine) as session:
        manila = session.exec(select(Site).where(Site.name == "Manila")).one()
    make_user(engine, "mgr.mnl", role="manager")
    return Viewer(role=Role.MANAGER, user_id=None, username="mgr.mnl", site_ids=frozenset({manila.id}))


def stars_of(engine, iid: str) -> int:
    with Session(engine) as session:
        return session.exec(
            select(Rating.stars).join(Interaction, Interaction.id == Rating.interaction_id)
            .where(Interaction.interaction_id == iid)
        ).one()


def where_is(engine, name: str) -> list[tuple[str, str]]:
    with Session(engine) as session:
        return sorted(session.exec(
            select(Site.name, Team.name).join(Team, Team.site_id == Site.id).join(Agent, Agent.team_id == Team.id)
            .where(Agent.name == name)
        ).all())


def entries(engine, kind: str) -> list[AuditLog]:
    with Session(engine) as session:
        return list(session.exec(select(AuditLog).where(AuditLog.action == kind).order_by(AuditLog.id)).all())


# --------------------------------------------------------------------------- the rule


@pytest.mark.parametrize(
    "viewer, site_id, team_id, allowed",
    [
        (SYSTEM_VIEWER, 1, None, True),
        (Viewer(role="admin", username="root"), 2, 5, True),
        (Viewer(role="manager", username="m", site_ids=frozenset({1})), 1, 7, True),
        (Viewer(role="manager", username="m", site_ids=frozenset({1})), 2, None, False),
        (Viewer(role="manager", username="m", site_ids=frozenset({1})), 2, 7, False),
        (Viewer(role="manager", username="m"), 2, None, True),  # a manager of every site
        (Viewer(role="leader", username="l", team_ids=frozenset({7})), 1, 7, False),  # leaders do not import
        (Viewer(role="agent", username="a", agent_id=3), 1, 7, False),
        (Viewer(role="display", username="tv"), 1, None, False),
    ],
)
def test_may_write_reads_the_visibility_policy(viewer, site_id, team_id, allowed):
    assert may_write(viewer, site_id=site_id, team_id=team_id) is allowed


def test_only_an_admin_creates_sites_and_promotes_accounts():
    assert may_administer(SYSTEM_VIEWER) and may_administer(Viewer(role="admin", username="root"))
    assert not may_administer(Viewer(role="manager", username="m"))


# --------------------------------------------------------------------------- item 1: the viewer's scope


def test_cross_site_import_as_a_manila_manager_refuses_every_out_of_scope_row(engine, two_sites, tmp_path):
    """The attack of issue 12: a Manila manager's file rewrites New York. Every such row is refused."""
    path = write_csv(tmp_path, [
        row("NY-1", "Ned York", "Harbor", "New York", stars="1"),  # overwrite a New York rating
        row("NY-1", "Ann Good", "Blue", "Manila", stars="1"),  # take a New York interaction over
        row("MN-7", "Ned York", "Blue", "Manila", agent_external_id="E-NED"),  # move Ned into a Manila team
        row("NY-8", "Ned York", "Harbor", "New York", leader="Ned York"),  # promote him, leader of Harbor
        row("MN-8", "Ann Good", "Blue", "Manila", leader="Ned York"),  # promote him, leader of Blue
        row("CB-1", "Cy Bu", "Reef", "Cebu"),  # a new site
        row("MN-2", "ann  GOOD", "Blue", "Manila", stars="4"),  # in scope: lands
    ], name="attack.csv")
    report = import_file(engine=engine, viewer=two_sites, path=path)

    assert (report.inserted, report.updated, report.rejected) == (1, 0, 6)
    refused = {(e.line, e.column): e.reason for e in report.errors}
    assert refused == {
        (2, "site"): "site New York is outside your scope (Manila)",
        (3, "interaction_id"): "interaction NY-1 belongs to site New York, outside your scope (Manila)",
        (4, "agent_external_id"): (
            "agent Ned York (E-NED) works at site New York: a file never moves an agent to another site "
            "(an admin can: python -m leaderboard agents move)"
        ),
        (5, "site"): "site New York is outside your scope (Manila)",
        (6, "leader"): "only an admin may promote the agent account of Ned York to team leader through an import",
        (7, "site"): "site Cebu does not exist; only an admin may create a site",
    }
    assert all(e.file == "attack.csv" for e in report.errors)
    # Nothing changed in New York: the rating, Ned's team, his account, the team's leader; no case opened.
    assert stars_of(engine, "NY-1") == 5
    assert where_is(engine, "Ned York") == [("New York", "Harbor")]
    with Session(engine) as session:
        assert session.exec(select(User.role).where(User.username == "ned.york")).one() == "agent"
        harbor = session.exec(select(Team).where(Team.name == "Harbor")).one()
        assert session.get(User, harbor.leader_id).username == "lead.ny"
        assert session.exec(select(RecoveryCase)).all() == []
        assert session.exec(select(Site).where(Site.name == "Cebu")).first() is None
    # The in-scope row landed on Ann Good (name matched without case).
    assert stars_of(engine, "MN-2") == 4
    # One audit entry says who imported which file (by hash), and what was refused.
    [entry] = entries(engine, "import")[-1:]
    assert (entry.actor, entry.target) == ("mgr.mnl", "attack.csv")
    assert f"sha256={hashlib.sha256(path.read_bytes()).hexdigest()}" in entry.detail
    assert "inserted=1" in entry.detail and "rejected=6" in entry.detail and "refused outside scope=6" in entry.detail


def test_refused_rows_go_to_the_rejects_file_with_their_line(engine, two_sites, tmp_path):
    out = io.StringIO()
    path = write_csv(tmp_path, [row("NY-1", "Ned York", "Harbor", "New York", stars="1")])
    import_file(engine=engine, viewer=two_sites, path=path, rejects=RejectedRows(out))
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("line,problems,interaction_id")
    assert lines[1].startswith("2,column site: value 'New York': site New York is outside your scope (Manila),NY-1,")


def test_the_data_page_import_is_given_the_signed_in_viewer(engine, two_sites):
    data = "\n".join([",".join(HEADER), ",".join(row("NY-1", "Ned York", "Harbor", "New York", stars="1").get(c, "")
                                                 for c in HEADER)]) + "\n"
    report, rejects = uploads.import_mapped_upload(
        engine=engine, viewer=two_sites, data=data.encode(), filename="upload.csv", mapping_toml=None
    )
    assert report.rejected == 1 and "outside your scope (Manila)" in rejects
    assert stars_of(engine, "NY-1") == 5


def test_the_data_page_refuses_a_managers_cross_site_rows(db_env, engine, two_sites):
    """The Data page (AppTest) signed in as the Manila manager: the New York row is refused on screen."""
    st.cache_data.clear()
    st.cache_resource.clear()
    with Session(engine) as session:
        manager = session.exec(select(User).where(User.username == "mgr.mnl")).one()
        manager.site_id = next(iter(two_sites.site_ids))
        session.add(manager)
        session.commit()
    lines = [",".join(HEADER)] + [
        ",".join(r.get(c, "") for c in HEADER)
        for r in (row("NY-1", "Ned York", "Harbor", "New York", stars="1"), row("MN-3", "Ann Good", "Blue", "Manila"))
    ]
    at = app_as("mgr.mnl", role="manager")
    at.run()
    at.switch_page("pages/data.py").run()
    at.file_uploader(key="data_upload").set_value(("mixed.csv", "\n".join(lines).encode(), "text/csv")).run()
    at.button(key="data_import").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert {m.label: m.value for m in at.metric}["Rejected"] == "1"
    errors = next(d.value for d in at.dataframe if "reason" in d.value.columns)
    assert list(errors["reason"]) == ["site New York is outside your scope (Manila)"]
    assert stars_of(engine, "NY-1") == 5 and stars_of(engine, "MN-3") == 5
    assert entries(engine, "import")[-1].actor == "mgr.mnl"
    st.cache_data.clear()
    st.cache_resource.clear()


def test_same_site_rows_of_a_manager_still_land(engine, two_sites, tmp_path):
    path = write_csv(tmp_path, [
        row("MN-1", "Ann Good", "Blue", "Manila", stars="2"),  # an in-place edit in scope
        row("MN-3", "Bea New", "Green", "Manila"),  # a new team and a new agent in Manila
        row("MN-4", "Ann Good", "Green", "Manila", leader="Lea Dern"),  # Ann moves team; an existing leader
    ])
    make_user(engine, "lea.dern", role="leader", display_name="Lea Dern")
    report = import_file(engine=engine, viewer=two_sites, path=path, allow_moves=True)
    assert (report.inserted, report.updated, report.rejected) == (2, 1, 0), report.errors
    assert stars_of(engine, "MN-1") == 2
    assert where_is(engine, "Bea New") == [("Manila", "Green")]
    assert where_is(engine, "Ann Good") == [("Manila", "Green")]
    [entry] = entries(engine, "import")[-1:]
    assert "agents moved=1: Ann Good: Blue → Green from 2026-11-20" in entry.detail
    with Session(engine) as session:
        green = session.exec(select(Team).where(Team.name == "Green")).one()
        assert session.get(User, green.leader_id).username == "lea.dern"


def test_a_leader_column_promotion_is_refused_for_a_manager_and_allowed_for_an_admin(engine, two_sites, tmp_path):
    path = write_csv(tmp_path, [row("MN-5", "Ann Good", "Blue", "Manila", leader="Ned York")])
    report = import_file(engine=engine, viewer=two_sites, path=path)
    assert report.rejected == 1 and report.errors[0].column == "leader"
    with Session(engine) as session:
        assert session.exec(select(User.role).where(User.username == "ned.york")).one() == "agent"

    admin = Viewer(role=Role.ADMIN, username="root")
    report = import_file(engine=engine, viewer=admin, path=path)
    assert (report.inserted, report.rejected) == (1, 0), report.errors
    with Session(engine) as session:
        ned = session.exec(select(User).where(User.username == "ned.york")).one()
        assert ned.role == "leader"
        assert session.exec(select(Team.leader_id).where(Team.name == "Blue")).one() == ned.id


def test_a_manager_cannot_create_a_leader_account_through_an_import(engine, two_sites, tmp_path):
    path = write_csv(tmp_path, [row("MN-6", "Ann Good", "Blue", "Manila", leader="Zed New")])
    report = import_file(engine=engine, viewer=two_sites, path=path)
    assert report.errors[0].reason == "only an admin may create a leader account for Zed New through an import"
    with Session(engine) as session:
        assert session.exec(select(User).where(User.display_name == "Zed New")).first() is None


# --------------------------------------------------------------------------- item 2: who an agent is


def test_names_match_without_case_or_accents_within_a_site(engine, tmp_path):
    path = write_csv(tmp_path, [
        row("A-1", "José Núñez", "Blue", "Manila"),
        row("A-2", "jose  NUNEZ", "Blue", "Manila"),
        row("A-3", "JOSÉ núñez", "Green", "Manila"),  # the same agent, moved to Green
    ])
    report = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=path, allow_moves=True)
    assert report.rejected == 0, report.errors
    with Session(engine) as session:
        agents = session.exec(select(Agent)).all()
        assert [(a.name, a.name_key) for a in agents] == [("José Núñez", "jose nunez")]
        assert {i.agent_id for i in session.exec(select(Interaction)).all()} == {agents[0].id}
    assert where_is(engine, "José Núñez") == [("Manila", "Green")]
    assert name_key("ann good") == name_key("Ann Good")


def test_two_agents_with_the_same_name_at_two_sites_stay_two_agents(engine, tmp_path):
    rows = [row("S-1", "Sam Lee", "Harbor", "New York"), row("S-2", "Sam Lee", "Blue", "Manila")]
    for name in ("first.csv", "again.csv"):
        report = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=write_csv(tmp_path, rows, name=name))
        assert report.rejected == 0, report.errors
    assert where_is(engine, "Sam Lee") == [("Manila", "Blue"), ("New York", "Harbor")]
    with Session(engine) as session:
        owners = dict(session.exec(select(Interaction.interaction_id, Interaction.agent_id)).all())
        assert owners["S-1"] != owners["S-2"]


def test_an_external_id_identifies_an_agent_and_a_name_without_one_is_adopted(engine, tmp_path):
    import_file(engine=engine, viewer=SYSTEM_VIEWER, path=write_csv(tmp_path, [row("E-1", "Kim Park", "Blue", "Manila")]))
    report = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=write_csv(tmp_path, [
        row("E-2", "Kim Park", "Blue", "Manila", agent_external_id="K-9"),  # the named agent gets the id
        row("E-3", "Kimberly Park", "Blue", "Manila", agent_external_id="K-9"),  # the id wins over the spelling
    ], name="b.csv"))
    assert report.rejected == 0, report.errors
    with Session(engine) as session:
        [kim] = session.exec(select(Agent)).all()
        assert (kim.name, kim.external_id) == ("Kim Park", "K-9")
        assert {i.agent_id for i in session.exec(select(Interaction)).all()} == {kim.id}


def test_a_row_moving_an_agent_across_sites_is_refused(db_url, engine, two_sites, tmp_path):
    """Even at the command line (the system viewer): moving sites is `agents move`'s job."""
    path = write_csv(tmp_path, [row("MN-9", "Ned York", "Blue", "Manila", agent_external_id="E-NED")])
    done = run_cli("import", path, db=db_url)
    assert done.returncode == 1, done.stderr
    assert "a file never moves an agent to another site" in done.stderr and "ratings.csv:2:" in done.stderr
    assert where_is(engine, "Ned York") == [("New York", "Harbor")]


def test_agents_move_is_an_audited_admin_action(db_url, engine, two_sites):
    done = run_cli("agents", "move", "ned york", "--site", "Manila", "--team", "Blue", db=db_url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Ned York: New York/Harbor -> Manila/Blue"
    assert where_is(engine, "Ned York") == [("Manila", "Blue")]
    [entry] = entries(engine, "agent_moved")
    assert (entry.actor, entry.target, entry.detail) == ("system", "Ned York", "New York/Harbor -> Manila/Blue")
    # Now the external id finds him in Manila.
    assert run_cli("agents", "move", "E-NED", "--site", "Manila", "--team", "Blue", db=db_url).error_line() == (
        "error: Ned York is already in Manila/Blue"
    )


def test_agents_move_asks_which_site_when_a_name_is_at_two(db_url, engine, tmp_path):
    rows = [row("S-1", "Sam Lee", "Harbor", "New York"), row("S-2", "Sam Lee", "Blue", "Manila")]
    import_file(engine=engine, viewer=SYSTEM_VIEWER, path=write_csv(tmp_path, rows))
    line = run_cli("agents", "move", "Sam Lee", "--site", "Manila", "--team", "Green", db=db_url).error_line()
    assert "2 agents are called 'Sam Lee'" in line and "--from-site" in line
    # Into a site that has a Sam Lee already: refused.
    line = run_cli("agents", "move", "Sam Lee", "--from-site", "New York", "--site", "Manila", "--team", "Green",
                   db=db_url).error_line()
    assert "site Manila already has an agent called Sam Lee" in line


# --------------------------------------------------------------------------- item 3: the audit log


def test_an_in_place_rating_edit_is_audited_old_to_new(db_url, engine, two_sites, tmp_path):
    path = write_csv(tmp_path, [row("NY-1", "Ned York", "Harbor", "New York", stars="3")], name="fix.csv")
    done = run_cli("import", path, db=db_url)
    assert done.returncode == 0, done.stderr
    [edit] = entries(engine, "rating_edited")
    assert (edit.actor, edit.target, edit.detail) == ("system", "interaction NY-1", "stars 5 -> 3")
    [*_, summary] = entries(engine, "import")
    assert summary.target == "fix.csv" and "updated=1" in summary.detail and "ratings edited in place=1" in summary.detail
    # The same file again changes nothing and audits no edit.
    assert run_cli("import", path, db=db_url).returncode == 0
    assert len(entries(engine, "rating_edited")) == 1


def test_a_second_exclusion_is_audited_with_what_it_replaced(engine, two_sites):
    with Session(engine) as session:
        lead = session.exec(select(User).where(User.username == "lead.mnl")).one()
        recovery_store.exclude(session=session, interaction_id="MN-1", cause="product", by=lead,
                               reason="Courier lost it", viewer=SYSTEM_VIEWER)
        recovery_store.exclude(session=session, interaction_id="MN-1", cause="system", by=lead,
                               reason="Outage", viewer=SYSTEM_VIEWER)
    details = [e.detail for e in entries(engine, "score_excluded")]
    assert details == ["product: Courier lost it", "system: Outage (was product: Courier lost it)"]


def test_the_audit_log_filters_by_actor_kind_and_date(session):
    day = datetime(2026, 11, 20, 12, 0)
    for offset, actor, kind in [(0, "ann", "import"), (1, "ann", "rating_edited"), (2, "bob", "import"),
                                (3, "Bob", "agent_moved")]:
        session.add(AuditLog(at=day + timedelta(days=offset), actor=actor, action=kind, target=f"t{offset}"))
    session.commit()

    def targets(**filters) -> list[str]:
        return [e.target for e in audit.entries(session=session, **filters)]

    assert targets() == ["t3", "t2", "t1", "t0"]
    assert targets(actor="bob") == ["t3", "t2"]  # without case
    assert targets(kind="import") == ["t2", "t0"]
    assert targets(actor="ann", kind="import") == ["t0"]
    assert targets(since=day.date() + timedelta(days=1), until=day.date() + timedelta(days=2)) == ["t2", "t1"]
    assert targets(until=day.date()) == ["t0"]  # a date includes its whole day
    assert audit.actors(session=session) == ["ann", "Bob", "bob"]


def test_the_admin_audit_tab_filters_by_actor_kind_and_date(db_env, engine):
    st.cache_data.clear()
    st.cache_resource.clear()
    day = datetime(2026, 11, 20, 12, 0)
    with Session(engine) as session:
        for offset, actor, kind in [(0, "ann", "import"), (1, "ann", "rating_edited"), (2, "bob", "import")]:
            session.add(AuditLog(at=day + timedelta(days=offset), actor=actor, action=kind, target=f"t{offset}"))
        session.commit()
    at = app_as("qa.admin", role="admin")
    at.run()
    at.switch_page("pages/admin.py").run()
    assert not at.exception, [e.stack_trace for e in at.exception]

    def shown() -> list[str]:
        log = next(d.value for d in at.dataframe if "action" in d.value.columns)
        return [t for t in log["target"] if t.startswith("t")]

    assert shown() == ["t2", "t1", "t0"]
    at.selectbox(key="adm_audit_actor").set_value("ann").run()
    assert shown() == ["t1", "t0"]
    at.selectbox(key="adm_audit_action").set_value("import").run()
    assert shown() == ["t0"]
    at.selectbox(key="adm_audit_actor").set_value("").run()
    at.date_input(key="adm_audit_dates").set_value((day.date() + timedelta(days=2), day.date() + timedelta(days=2))).run()
    assert not at.exception, [e.message for e in at.exception]
    assert shown() == ["t2"]
    st.cache_data.clear()
    st.cache_resource.clear()


# --------------------------------------------------------------------------- revision 0002


def test_release9_agents_get_their_name_keys_and_names_are_unique_per_team(db_url):
    """Revision 0002 keeps every agent, gives each its name key, and lets two sites share a name."""
    load_release9(db_url)
    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            agents = session.exec(select(Agent)).all()
            assert len(agents) == RELEASE9_COUNTS["agent"]
            assert all(a.name_key == name_key(a.name) and a.external_id is None for a in agents)
            first = agents[0]
            other_site = session.exec(
                select(Team).where(Team.site_id != session.get(Team, first.team_id).site_id)
            ).first()
            session.add(Agent(name=first.name, display_name=first.name, team_id=other_site.id))
            session.commit()  # the same name at another site: allowed now
            session.add(Agent(name=first.name.upper(), display_name="x", team_id=first.team_id))
            with pytest.raises(IntegrityError):
                session.commit()  # the same name (ignoring case) in one team: not
    finally:
        engine.dispose()
