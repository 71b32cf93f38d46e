"""Praise-to-criticism ratios: the pure rules as a case table, then the tables and charts from the database."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlmodel import Session

from db.models import Agent, CoachingNote, Site, Team, User
from leaderboard import charts_coaching, ratios
from leaderboard.auth import SYSTEM_VIEWER, Viewer
from leaderboard.ratios import BELOW_TARGET, NO_CRITICISM, NO_NOTES, ON_TARGET
from leaderboard.settings import Settings

NOW = datetime(2026, 11, 25, 12, 0)  # Wednesday; the UTC week began Monday 2026-11-23
SETTINGS = Settings()  # target 5


@pytest.mark.parametrize(
    "praise, criticism, target, value, label, status",
    [
        (0, 0, 5, None, "", NO_NOTES),  # nothing at all: no ratio, never 0/0
        (3, 0, 5, None, "", NO_CRITICISM),  # never ∞
        (0, 2, 5, 0.0, "0.0 : 1", BELOW_TARGET),  # only criticism
        (5, 1, 5, 5.0, "5.0 : 1", ON_TARGET),  # exactly on target counts as on target
        (10, 2, 5, 5.0, "5.0 : 1", ON_TARGET),
        (26, 5, 5, 5.2, "5.2 : 1", ON_TARGET),
        (24, 5, 5, 4.8, "4.8 : 1", BELOW_TARGET),
        (7, 3, 5, 2.3, "2.3 : 1", BELOW_TARGET),
        (1, 4, 5, 0.3, "0.3 : 1", BELOW_TARGET),  # 0.25 rounds half up, not to even
        (99, 20, 5, 5.0, "5.0 : 1", ON_TARGET),  # 4.95 shows as 5.0: the status follows what is shown
        (49, 10, 5, 4.9, "4.9 : 1", BELOW_TARGET),
        (9, 2, 4.5, 4.5, "4.5 : 1", ON_TARGET),  # a non-whole target
        (1000, 1, 5, 1000.0, "1000.0 : 1", ON_TARGET),
    ],
)
def test_ratio_rules(praise, criticism, target, value, label, status):
    assert ratios.ratio_value(praise, criticism) == value
    assert ratios.ratio_label(praise, criticism) == label
    assert ratios.ratio_status(praise, criticism, target) == status


@pytest.mark.parametrize("target, label", [(5, "5 : 1"), (5.0, "5 : 1"), (4.5, "4.5 : 1"), (3, "3 : 1")])
def test_target_label(target, label):
    assert ratios.target_label(target) == label


# --- from the database -----------------------------------------------------------------------


@pytest.fixture
def centre(session: Session) -> dict:
    """UTC site: Alpha (lead.a: Ann, Bob, Cy, a retired agent), Beta (lead.b: Eve); a manager writes notes too."""
    site = Site(name="Main", timezone="UTC")
    session.add(site)
    session.flush()
    users = {u: User(username=u, display_name=name, role=role) for u, name, role in (
        ("lead.a", "Lea A", "leader"), ("lead.b", "Leo B", "leader"), ("mgr", "Mia M", "manager"), ("admin", "Ada", "admin"))}
    session.add_all(users.values())
    session.flush()
    alpha = Team(name="Alpha", site_id=site.id, leader_id=users["lead.a"].id)
    beta = Team(name="Beta", site_id=site.id, leader_id=users["lead.b"].id)
    session.add_all([alpha, beta])
    session.flush()
    agents = {n: Agent(name=n, display_name=n, team_id=t.id, active=n != "Old Timer")
              for n, t in (("Ann Lee", alpha), ("Bob Cruz", alpha), ("Cy Diaz", alpha), ("Old Timer", alpha), ("Eve Ng", beta))}
    session.add_all(agents.values())
    session.flush()

    def note(agent, kind, ago, by="lead.a"):
        session.add(CoachingNote(agent_id=agents[agent].id, author_id=users[by].id, kind=kind,
                                 visibility="private", text=kind, created_at=NOW - ago))

    h, d = timedelta(hours=1), timedelta(days=1)
    for _ in range(26):
        note("Ann Lee", "praise", h)
    for _ in range(5):
        note("Ann Lee", "criticism", 2 * h)
    note("Bob Cruz", "praise", h)
    note("Bob Cruz", "criticism", 3 * d)  # last week (Sunday)
    note("Cy Diaz", "criticism", d, by="mgr")
    note("Eve Ng", "praise", d, by="lead.b")
    note("Eve Ng", "praise", 10 * d, by="lead.b")  # two weeks ago
    session.commit()
    return {"users": users, "agents": agents, "teams": {"Alpha": alpha, "Beta": beta}}


def _rows(frame):
    return {r["name"]: (r["praise"], r["criticism"], r["ratio_label"], r["status"]) for r in frame.to_dict("records")}


def test_ratio_table_by_agent_counts_received_notes_this_week(session, centre):
    table = ratios.ratio_table(session=session, viewer=SYSTEM_VIEWER, by="agent", now=NOW, settings=SETTINGS)
    assert list(table.columns) == list(ratios.TABLE_COLUMNS)
    assert _rows(table) == {
        "Ann Lee": (26, 5, "5.2 : 1", ON_TARGET),
        "Bob Cruz": (1, 0, "", NO_CRITICISM),  # his criticism was last week
        "Cy Diaz": (0, 1, "0.0 : 1", BELOW_TARGET),
        "Eve Ng": (1, 0, "", NO_CRITICISM),
    }  # the inactive agent with no notes is not listed
    month = ratios.ratio_table(session=session, viewer=SYSTEM_VIEWER, by="agent", period="last30", now=NOW, settings=SETTINGS)
    assert _rows(month)["Bob Cruz"] == (1, 1, "1.0 : 1", BELOW_TARGET)
    assert _rows(month)["Eve Ng"][0] == 2


def test_ratio_table_by_leader_counts_notes_given(session, centre):
    table = ratios.ratio_table(session=session, viewer=SYSTEM_VIEWER, by="leader", now=NOW, settings=SETTINGS)
    assert _rows(table) == {
        "Lea A": (27, 5, "5.4 : 1", ON_TARGET),
        "Leo B": (1, 0, "", NO_CRITICISM),
        "Mia M": (0, 1, "0.0 : 1", BELOW_TARGET),
    }
    alpha_only = ratios.ratio_table(session=session, viewer=SYSTEM_VIEWER, by="leader", team="Alpha", now=NOW, settings=SETTINGS)
    assert set(_rows(alpha_only)) == {"Lea A", "Mia M"}


def test_ratio_table_by_team(session, centre):
    table = ratios.ratio_table(session=session, viewer=SYSTEM_VIEWER, by="team", now=NOW, settings=SETTINGS)
    assert _rows(table) == {"Alpha": (27, 6, "4.5 : 1", BELOW_TARGET), "Beta": (1, 0, "", NO_CRITICISM)}


def test_ratio_table_with_no_notes_at_all(session, centre):
    table = ratios.ratio_table(session=session, viewer=SYSTEM_VIEWER, by="team", period="2026-01-01..2026-01-31", now=NOW, settings=SETTINGS)
    assert _rows(table) == {"Alpha": (0, 0, "", NO_NOTES), "Beta": (0, 0, "", NO_NOTES)}
    assert table["ratio"].isna().all()


def test_ratio_table_is_viewer_filtered(session, centre):
    from db.accounts import viewer_for_user

    lead_b = viewer_for_user(session=session, user=centre["users"]["lead.b"])
    assert set(_rows(ratios.ratio_table(session=session, by="agent", now=NOW, viewer=lead_b))) == {"Eve Ng"}
    assert set(_rows(ratios.ratio_table(session=session, by="leader", now=NOW, viewer=lead_b))) == {"Leo B"}
    display = Viewer(role="display")
    assert ratios.ratio_table(session=session, by="agent", now=NOW, viewer=display).empty


def test_ratio_rows_have_exactly_the_cli_columns(session, centre):
    table = ratios.ratio_table(session=session, viewer=SYSTEM_VIEWER, by="agent", now=NOW, settings=SETTINGS)
    csv_rows = ratios.ratio_rows(table, fmt="csv")
    assert all(list(r) == list(ratios.RATIO_COLUMNS) for r in csv_rows)
    by_name = {r["name"]: r for r in csv_rows}
    assert by_name["Ann Lee"]["ratio"] == 5.2 and by_name["Ann Lee"]["target"] == 5.0
    assert by_name["Bob Cruz"]["ratio"] is None
    table_rows = {r["name"]: r for r in ratios.ratio_rows(table, fmt="table")}
    assert table_rows["Ann Lee"]["ratio"] == "5.2 : 1" and table_rows["Ann Lee"]["target"] == "5 : 1"
    assert table_rows["Bob Cruz"]["ratio"] == ""


def test_weekly_ratios_one_row_per_week_with_gaps(session, centre):
    weekly = ratios.weekly_ratios(session=session, viewer=SYSTEM_VIEWER, by="agent", weeks=3, now=NOW,
                                  team_id=centre["teams"]["Alpha"].id, settings=SETTINGS)
    assert list(weekly.columns) == list(ratios.WEEKLY_COLUMNS)
    bob = weekly[weekly["name"] == "Bob Cruz"]
    assert list(bob["week"]) == ["2026-W46", "2026-W47", "2026-W48"]
    assert list(zip(bob["praise"], bob["criticism"], bob["status"])) == [
        (0, 0, NO_NOTES), (0, 1, BELOW_TARGET), (1, 0, NO_CRITICISM)]
    assert set(weekly["name"]) == {"Ann Lee", "Bob Cruz", "Cy Diaz"}
    leaders = ratios.weekly_ratios(session=session, viewer=SYSTEM_VIEWER, by="leader", weeks=2, now=NOW, settings=SETTINGS)
    lea = leaders[leaders["name"] == "Lea A"]
    assert list(lea["ratio_label"]) == ["0.0 : 1", "5.4 : 1"]


def test_weekly_ratios_in_the_sites_time_zone(session, centre):
    # Manila is UTC+8: a note at Sunday 17:00 UTC is already Monday there (this week).
    site = Site(name="Manila", timezone="Asia/Manila")
    session.add(site)
    session.flush()
    team = Team(name="Gamma", site_id=site.id, leader_id=centre["users"]["lead.a"].id)
    session.add(team)
    session.flush()
    gil = Agent(name="Gil Tan", display_name="Gil T.", team_id=team.id)
    session.add(gil)
    session.flush()
    session.add(CoachingNote(agent_id=gil.id, author_id=centre["users"]["lead.a"].id, kind="praise",
                             created_at=datetime(2026, 11, 22, 17, 0)))
    session.commit()
    weekly = ratios.weekly_ratios(session=session, viewer=SYSTEM_VIEWER, by="agent", weeks=2, now=NOW, team_id=team.id)
    assert list(weekly["praise"]) == [0, 1]


# --- charts -----------------------------------------------------------------------------------------


def _spec(chart) -> str:
    return json.dumps(chart.to_dict())


def test_trend_chart_has_a_target_rule_and_no_infinity(session, centre):
    weekly = ratios.weekly_ratios(session=session, viewer=SYSTEM_VIEWER, by="agent", weeks=4, now=NOW, settings=SETTINGS)
    spec = _spec(charts_coaching.ratio_trend_chart(weekly, target=5.0, title="Received"))
    assert '"rule"' in spec and "target 5 : 1" in spec
    assert "Infinity" not in spec and "NaN" not in spec
    assert "no criticism yet" in spec


@pytest.mark.parametrize(
    "builder",
    [
        lambda f: charts_coaching.ratio_trend_chart(f, target=5),
        lambda f: charts_coaching.ratio_bars_chart(f, target=5),
        lambda f: charts_coaching.notes_weekly_chart(f),
    ],
    ids=["trend", "bars", "notes"],
)
def test_charts_accept_empty_frames(builder):
    import pandas as pd

    assert builder(pd.DataFrame()).to_dict()


def test_bar_and_notes_charts_build_from_the_tables(session, centre):
    table = ratios.ratio_table(session=session, viewer=SYSTEM_VIEWER, by="agent", now=NOW, settings=SETTINGS)
    spec = _spec(charts_coaching.ratio_bars_chart(table, target=5))
    assert "5.2 : 1" in spec and "Infinity" not in spec
    weekly = ratios.weekly_ratios(session=session, viewer=SYSTEM_VIEWER, by="agent", weeks=3, now=NOW, ids=[centre["agents"]["Bob Cruz"].id])
    assert '"criticism"' in _spec(charts_coaching.notes_weekly_chart(weekly))
