"""The Recovery page (AppTest): the queue a leader works, the report and root causes, who sees what.

Ratings go in through the one write path (tests.factories → db.ingest), which opens
a case for every 1–2★ rating; the page is driven as the signed-in user.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pandas as pd
import pytest
import streamlit as st
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from db.models import AuditLog, Interaction, Rating, RecoveryCase, User, utcnow
from leaderboard import charts_recovery, recovery
from tests.app_util import app_as
from tests.browser_util import browser_db_url, chromium, page, streamlit_server  # noqa: F401  (fixtures)
from tests.factories import add_rating, make_agent, make_team

PAGE = "pages/recovery.py"
HOSTILE = (
    '<img src="http://evil.example/x.png" onerror="alert(1)"> ![pic](http://evil.example/y.png) '
    "[click me](http://evil.example) :red[BOOM] $x^2$ **bold** <script>alert(2)</script>"
)


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


def open_page(username: str, role: str) -> AppTest:
    at = app_as(username, role=role)
    at.run()
    at.switch_page(PAGE).run()
    return at


def queue_table(at: AppTest) -> pd.DataFrame:
    for element in at.dataframe:
        if "when" in element.value.columns:
            return element.value
    raise AssertionError("no queue table on the page")


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def case_for(engine, interaction_id: str) -> RecoveryCase:
    with Session(engine) as session:
        return session.exec(
            select(RecoveryCase)
            .join(Rating, Rating.id == RecoveryCase.rating_id)
            .join(Interaction, Interaction.id == Rating.interaction_id)
            .where(Interaction.interaction_id == interaction_id)
        ).one()


def make_overdue(engine, interaction_id: str, *, hours_late: float = 2.0) -> None:
    """Move a case back in time so its due time passed ``hours_late`` hours ago."""
    with Session(engine) as session:
        case = session.get(RecoveryCase, case_for(engine, interaction_id).id)
        case.opened_at = utcnow() - timedelta(hours=hours_late + 2)
        case.due_at = utcnow() - timedelta(hours=hours_late)
        session.add(case)
        session.commit()


def all_text(at: AppTest) -> str:
    """Every string the page shows: Markdown, text, captions, alerts, metrics, selectbox labels and table cells."""
    parts: list[str] = []
    for kind in ("markdown", "text", "caption", "title", "subheader", "success", "info", "warning", "error", "code"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    for box in at.selectbox:
        parts += [str(o) for o in box.options]
    for frame in at.dataframe:
        parts.append(frame.value.to_csv())
    return "\n".join(parts)


@pytest.fixture
def floor(engine):
    """Alpha (lead.a): Ann's 1★ (made 2 h overdue) and Ann's 2★ (due later); Beta (lead.b): Bob's 1★."""
    make_team(engine, "Alpha", site="Manila", tz="Asia/Manila", leader="lead.a")
    make_team(engine, "Beta", site="Manila", tz="Asia/Manila", leader="lead.b")
    make_agent(engine, "Ann Alpha", team="Alpha", site="Manila")
    make_agent(engine, "Bob Beta", team="Beta", site="Manila", username="bob")
    add_rating(engine, agent="Ann Alpha", team="Alpha", site="Manila", stars=2, comment="Slow reply",
               contact_reason="billing", interaction_id="A-LATER")
    add_rating(engine, agent="Ann Alpha", team="Alpha", site="Manila", stars=1, comment="Nobody called me back",
               contact_reason="returns", interaction_id="A-LATE")
    add_rating(engine, agent="Bob Beta", team="Beta", site="Manila", stars=1, comment="SECRET-BETA complaint",
               contact_reason="delivery", interaction_id="B-1")
    make_overdue(engine, "A-LATE", hours_late=2)
    return engine


# --------------------------------------------------------------------------- the queue, worked end to end


def test_leader_sees_the_overdue_case_first_and_works_it_to_a_followup(db_env, floor):
    at = open_page("lead.a", "leader")
    no_exception(at)
    table = queue_table(at)
    assert list(table["interaction_id"]) == ["A-LATE", "A-LATER"]
    assert table.loc[0, "when"].startswith("overdue by 2 h")
    assert bool(table.loc[0, "overdue"]) and not bool(table.loc[1, "overdue"])
    assert table.loc[1, "when"] in ("due in 2 h", "due in 1 h 59 min")  # opened just now, due in 2 h
    # Local times in the site's zone: Manila is UTC+8.
    late = case_for(floor, "A-LATE")
    assert table.loc[0, "timezone"] == "Asia/Manila"
    assert table.loc[0, "due"] == recovery.local_time_text(late.due_at, "Asia/Manila", fmt=recovery.TABLE_TIME)
    assert metrics(at)["Overdue"] == "1" and metrics(at)["Open"] == "1"
    # The most urgent case is the one picked below the table.
    case_id = late.id
    assert at.selectbox(key="rc_case").value == case_id

    with Session(floor) as session:
        lead = session.exec(select(User).where(User.username == "lead.a")).one()

    at.button(key="rc_claim").click().run()
    no_exception(at)
    assert case_for(floor, "A-LATE").owner_id == lead.id
    assert metrics(at)["Yours"] == "1"

    at.text_input(key="rc_note").input("Called, apologised, refund on its way")
    at.button(key="rc_contact").click().run()
    no_exception(at)
    case = case_for(floor, "A-LATE")
    assert case.status == "contacted" and case.contacted_at is not None
    assert "Called, apologised, refund on its way" in case.notes
    assert at.text_input(key="rc_note").value == ""  # the note does not linger for the next action

    at.button(key="rc_resolved").click().run()
    no_exception(at)
    case = case_for(floor, "A-LATE")
    assert case.status == "resolved" and case.closed_at is not None

    at.segmented_control(key="rc_followup_stars").set_value(5)
    at.button(key="rc_followup").click().run()
    no_exception(at)
    assert case_for(floor, "A-LATE").followup_stars == 5

    # The page's figures: two cases opened, one resolved, one follow-up of 5★ on a 1★ rating.
    figures = metrics(at)
    assert figures["Cases opened"] == "2"
    assert figures["Resolved"] == "50%"
    assert figures["Follow-up rating"] == "5.00 ★"
    # Contacted after its due time; the other case is not due yet, so it is not judged.
    assert figures["Contacted in time"] == "0%"
    assert figures["Overdue"] == "0"
    teams = next(d.value for d in at.dataframe if "uplift" in d.value.columns)
    alpha = teams[teams["team"] == "Alpha"].iloc[0]
    assert alpha["opened"] == 2 and alpha["followups"] == 1 and alpha["uplift"] == pytest.approx(4.0)
    # The closed case stays in the queue, after the open one.
    assert list(queue_table(at)["interaction_id"]) == ["A-LATER", "A-LATE"]
    with Session(floor) as session:
        actions = [a.action for a in session.exec(select(AuditLog).where(AuditLog.actor == "lead.a")).all()]
    assert actions.count("recovery_claimed") == 1 and actions.count("recovery_updated") == 2
    assert "recovery_followup" in actions


def test_picking_another_case_shows_it_and_drops_a_half_typed_note(db_env, floor):
    """A note typed for one case must not land on another."""
    at = open_page("lead.a", "leader")
    at.text_input(key="rc_note").input("meant for the late case")
    second = int(queue_table(at).loc[1, "case_id"])
    at.selectbox(key="rc_case").set_value(second).run()
    no_exception(at)
    assert any(f"Case #{second}" in m.value for m in at.markdown)
    assert at.text_input(key="rc_note").value == ""
    assert "Slow reply" in [t.value for t in at.text]


def test_an_alerts_link_opens_its_case_and_another_teams_case_is_not_shown(db_env, floor):
    """A recovery alert links to /recovery?case=ID: that case is picked; one outside the queue is not shown."""
    at = open_page("lead.a", "leader")
    second = int(queue_table(at).loc[1, "case_id"])
    assert at.selectbox(key="rc_case").value != second
    at.query_params["case"] = str(second)
    at.run()
    no_exception(at)
    assert at.selectbox(key="rc_case").value == second
    beta = open_page("lead.b", "leader")
    beta_case = int(queue_table(beta).loc[0, "case_id"])
    at.query_params["case"] = str(beta_case)
    at.run()
    no_exception(at)
    assert f"Case #{beta_case} is not in this view of your queue." in [i.value for i in at.info]
    assert "SECRET-BETA" not in all_text(at)


def test_case_picker_labels_do_not_change_with_the_clock(db_env, floor):
    """Streamlit matches a picked option by its label: "due in 35 min" in a label would swap the case a minute later."""
    at = open_page("lead.a", "leader")
    labels = at.selectbox(key="rc_case").options
    assert len(labels) == len(set(labels)) == 2
    assert not any(word in label for label in labels for word in ("due", "overdue", "min", " h"))


def test_excluding_a_rating_from_the_page_is_audited_and_undo_restores_it(db_env, floor):
    at = open_page("lead.a", "leader")
    at.selectbox(key="rc_case").set_value(case_for(floor, "A-LATER").id).run()
    at.selectbox(key="rc_exclude_cause").set_value("product")
    at.text_input(key="rc_exclude_reason").input("Courier lost the parcel")
    at.button(key="rc_exclude").click().run()
    no_exception(at)
    with Session(floor) as session:
        rating = session.exec(
            select(Rating).join(Interaction).where(Interaction.interaction_id == "A-LATER")
        ).one()
        assert rating.excluded_cause == "product" and rating.excluded_reason == "Courier lost the parcel"
        entry = session.exec(select(AuditLog).where(AuditLog.action == "score_excluded")).one()
    assert (entry.actor, entry.target) == ("lead.a", "A-LATER")
    assert entry.detail == "product: Courier lost the parcel"
    assert queue_table(at).set_index("interaction_id").loc["A-LATER", "excluded"] == "product"
    # The root causes still show it, as product rather than the agent's.
    causes = next(d.value for d in at.dataframe if "cause" in d.value.columns)
    assert set(causes["cause"]) == {"product", "agent"}

    at.button(key="rc_undo").click().run()
    no_exception(at)
    with Session(floor) as session:
        rating = session.exec(
            select(Rating).join(Interaction).where(Interaction.interaction_id == "A-LATER")
        ).one()
        assert rating.excluded_cause is None
        assert session.exec(select(AuditLog).where(AuditLog.action == "score_exclusion_undone")).one().actor == "lead.a"


def test_an_exclusion_without_a_reason_is_refused_with_a_message(db_env, floor):
    at = open_page("lead.a", "leader")
    at.button(key="rc_exclude").click().run()
    no_exception(at)
    assert any("reason is required" in e.value for e in at.error)
    with Session(floor) as session:
        assert session.exec(select(AuditLog).where(AuditLog.action == "score_excluded")).first() is None


# --------------------------------------------------------------------------- who sees what


def test_a_leader_never_sees_another_teams_case_or_comment(db_env, floor):
    at = open_page("lead.a", "leader")
    no_exception(at)
    assert set(queue_table(at)["team"]) == {"Alpha"}
    # Every tab renders at once in AppTest: the report and root causes are in this text too.
    text = all_text(at)
    assert "SECRET-BETA" not in text and "Bob Beta" not in text and "delivery" not in text
    assert metrics(at)["Cases opened"] == "2"
    # And the other leader sees only theirs.
    other = open_page("lead.b", "leader")
    assert list(queue_table(other)["interaction_id"]) == ["B-1"]
    assert "Nobody called me back" not in all_text(other)


def test_an_admin_sees_every_team(db_env, floor):
    at = open_page("qa.admin", "admin")
    no_exception(at)
    assert set(queue_table(at)["interaction_id"]) == {"A-LATE", "A-LATER", "B-1"}
    assert queue_table(at).loc[0, "interaction_id"] == "A-LATE"


def test_an_agent_opening_recovery_is_told_it_is_not_for_their_role(db_env, floor):
    at = open_page("bob", "agent")
    no_exception(at)
    assert [e.value for e in at.error] == ["This page is not available for your role."]
    assert not at.dataframe and not at.metric
    assert "SECRET-BETA" not in all_text(at) and "Nobody called me back" not in all_text(at)


def test_a_hostile_comment_renders_as_plain_text(db_env, engine):
    make_team(engine, "Alpha", leader="lead.a")
    add_rating(engine, agent="Ann Alpha", stars=1, comment=HOSTILE, interaction_id="H-1")
    at = open_page("lead.a", "leader")
    no_exception(at)
    # Shown verbatim as text (st.text) and in a dataframe cell, which never interpret it…
    assert HOSTILE in [t.value for t in at.text]
    assert queue_table(at).loc[0, "comment"] == " ".join(HOSTILE.split())
    # …and in no Markdown element at all, escaped or not.
    for element in (*at.markdown, *at.caption, *at.success, *at.info, *at.error):
        assert "evil.example" not in element.value and "BOOM" not in element.value


# --------------------------------------------------------------------------- pure pieces


@pytest.mark.parametrize(
    "status, due_in_minutes, contacted_after_due, expected",
    [
        ("open", 35, None, "due in 35 min"),
        ("open", 34.5, None, "due in 35 min"),  # rounded up: never "due in 0 min"
        ("open", 0.2, None, "due in 1 min"),
        ("open", 125, None, "due in 2 h 5 min"),
        ("open", -120, None, "overdue by 2 h"),
        ("open", -0.1, None, "overdue by 1 min"),
        ("open", -7 * 60 - 30, None, "overdue by 7 h"),
        ("open", -3 * 24 * 60, None, "overdue by 3 d"),
        ("contacted", -300, -10, "contacted in time"),
        ("resolved", -300, 40, "contacted 40 min late"),
        ("no_response", -300, None, "closed without contact"),
    ],
)
def test_due_text(status, due_in_minutes, contacted_after_due, expected):
    now = datetime(2026, 11, 23, 12, 0)
    due = now + timedelta(minutes=due_in_minutes)
    contacted = None if contacted_after_due is None else due + timedelta(minutes=contacted_after_due)
    assert recovery.due_text(status=status, due=due, now=now, contacted_at=contacted) == expected


@pytest.mark.parametrize(
    "utc, tz, expected",
    [
        (datetime(2026, 11, 23, 15, 0), "Asia/Manila", "Mon 23 Nov 23:00"),
        (datetime(2026, 11, 23, 17, 0), "Asia/Manila", "Tue 24 Nov 01:00"),  # past local midnight
        (datetime(2026, 11, 23, 15, 0), "America/New_York", "Mon 23 Nov 10:00"),
        (None, "UTC", ""),
    ],
)
def test_local_time_text(utc, tz, expected):
    assert recovery.local_time_text(utc, tz) == expected


def test_chart_builders_take_report_rows_and_root_causes():
    rows = [
        {"week": "2026-W46", "opened": 4, "contacted_in_time_pct": 75.0, "median_minutes_to_contact": 40.0,
         "resolved_pct": 50.0, "followups": 2, "original_avg": 1.5, "followup_avg": 4.5, "uplift": 3.0},
        {"week": "2026-W47", "opened": 1, "contacted_in_time_pct": None, "median_minutes_to_contact": None,
         "resolved_pct": 0.0, "followups": 0, "original_avg": None, "followup_avg": None, "uplift": None},
        {"week": "All", "opened": 5, "contacted_in_time_pct": 75.0, "median_minutes_to_contact": 40.0,
         "resolved_pct": 40.0, "followups": 2, "original_avg": 1.5, "followup_avg": 4.5, "uplift": 3.0},
    ]
    weekly = charts_recovery.weekly_stars_chart(rows).to_dict()
    assert weekly["layer"][1]["mark"]["type"] == "line"
    teams = [dict(r, team=r.pop("week")) for r in [dict(r) for r in rows]]
    for chart in (
        charts_recovery.weekly_in_time_chart(rows),
        charts_recovery.in_time_by_team_chart(teams, overall=75.0),
        charts_recovery.uplift_by_team_chart(teams),
        charts_recovery.weekly_stars_chart([]),
        charts_recovery.uplift_by_team_chart([{"team": "All", "opened": 0}]),
    ):
        assert chart.to_dict()
    causes = pd.DataFrame(
        {"contact_reason": ["returns", "returns", "billing"], "cause": ["agent", "product", "agent"],
         "ratings": [5, 2, 3], "avg_stars": [1.2, 1.5, 2.0]}
    )
    spec = charts_recovery.root_causes_chart(causes).to_dict()
    assert spec["layer"][0]["encoding"]["y"]["sort"] == ["returns", "billing"]
    assert charts_recovery.root_causes_chart(causes.iloc[0:0]).to_dict()


# --------------------------------------------------------------------------- in a real browser


def _wait_for(check, *, timeout: float = 30.0, what: str = "") -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.browser
def test_browser_leader_picks_a_case_claims_it_and_its_hostile_comment_stays_text(page, streamlit_server):
    """The case worked on is the case picked (labels are stable), and the comment makes no element and no request."""
    from db.engine import make_engine
    from db.models import Agent, Site, Team
    from tests.browser_util import DEMO_ADMIN, assert_no_exception, open_app, wait_for_app

    url = streamlit_server.database_url
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            leader, team, site, agent = session.exec(
                select(User.username, Team.name, Site.name, Agent.name)
                .join(Team, Team.leader_id == User.id)
                .join(Site, Site.id == Team.site_id)
                .join(Agent, Agent.team_id == Team.id)
                .order_by(Team.name, Agent.name)
            ).first()
        interaction = f"BROWSER-{uuid.uuid4().hex[:10]}"
        add_rating(engine, agent=agent, team=team, site=site, stars=1, interaction_id=interaction,
                   comment=HOSTILE + " HOSTILE-MARK")
        case_id = case_for(engine, interaction).id
    finally:
        engine.dispose()

    requests: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_app(page, streamlit_server.url + "/recovery", ready=".st-key-rc_case_box", user=(leader, DEMO_ADMIN[1]))
    page.locator(".st-key-rc_case input").first.click()
    page.keyboard.type(f"#{case_id} ")
    page.get_by_role("option").filter(has_text=f"#{case_id} ·").first.click()
    page.wait_for_function(
        "(id) => document.querySelector('.st-key-rc_case_box')?.textContent.includes('Case #' + id)", arg=case_id,
        timeout=30_000,
    )
    wait_for_app(page, ready=".st-key-rc_case_box")
    page.locator(".st-key-rc_claim button").first.click()

    def owner() -> str | None:
        eng = make_engine(url)
        try:
            with Session(eng) as session:
                case = session.get(RecoveryCase, case_id)
                return session.get(User, case.owner_id).username if case.owner_id else None
        finally:
            eng.dispose()

    _wait_for(lambda: owner() == leader, what=f"case {case_id} to be claimed by {leader}")
    wait_for_app(page, ready=".st-key-rc_case_box")
    assert_no_exception(page)
    assert "HOSTILE-MARK" in page.locator(".st-key-rc_comment_box").inner_text()
    assert page.locator('img[src*="evil.example"]').count() == 0
    assert page.locator('a[href*="evil.example"]').count() == 0
    assert page.locator(".st-key-rc_case_box script").count() == 0
    page.wait_for_timeout(1000)
    assert dialogs == [] and not [r for r in requests if "evil.example" in r]
