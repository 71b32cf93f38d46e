"""Service recovery and exclusions: cases open on landing, overdue across zones, uplift, exclude/undo."""

from __future__ import annotations

import csv
import io
import os
from datetime import datetime, timedelta

import pandas as pd
import pytest
from sqlmodel import select

from db import recovery_store
from db.models import AuditLog, Rating, RecoveryCase, utcnow
from leaderboard import recovery
from leaderboard.auth import SYSTEM_VIEWER, Viewer
from leaderboard.recovery import RecoveryError, summarise
from tests.factories import add_rating, add_ratings, make_agent, make_team, make_user, rating_row, add_rows
from tests.cli_util import CliRun, run_cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADMIN = Viewer(role="admin", username="admin")


def _cases(session) -> list[RecoveryCase]:
    session.expire_all()
    return list(session.exec(select(RecoveryCase).order_by(RecoveryCase.id)).all())


@pytest.mark.parametrize("stars, threshold, opens", [(1, 2, True), (2, 2, True), (3, 2, False), (5, 2, False), (3, 3, True)])
def test_case_opens_at_the_threshold_and_not_above(engine, session, monkeypatch, stars, threshold, opens):
    monkeypatch.setenv("STARBOARD_RECOVERY_THRESHOLD", str(threshold))
    rating_id = add_rating(engine, agent="Ann Lee", stars=stars, comment="it was bad")
    cases = _cases(session)
    assert [c.rating_id for c in cases] == ([rating_id] if opens else [])
    if opens:
        assert cases[0].status == "open"
        assert cases[0].due_at - cases[0].opened_at == timedelta(hours=2)


def test_reimport_and_updates_never_open_a_second_case(engine, session):
    row = rating_row(agent="Ann Lee", stars=1, comment="bad", interaction_id="R-1")
    add_rows(engine, [row])
    add_rows(engine, [row])
    assert len(_cases(session)) == 1
    # A rating corrected upward keeps its case (someone may already be on it); one corrected down opens one.
    add_rows(engine, [rating_row(agent="Ann Lee", stars=4, interaction_id="R-2")])
    add_rows(engine, [rating_row(agent="Ann Lee", stars=2, interaction_id="R-2")])
    assert len(_cases(session)) == 2


# Manila is UTC+8: a case opened at 23:00 local on Monday (15:00 UTC) is due at 01:00 local on Tuesday.
OPENED = datetime(2026, 11, 23, 15, 0)


@pytest.mark.parametrize(
    "now, status, contacted_at, overdue",
    [
        (OPENED + timedelta(minutes=119), "open", None, False),  # 00:59 Tuesday in Manila
        (OPENED + timedelta(minutes=120), "open", None, False),  # exactly due: not yet late
        (OPENED + timedelta(minutes=121), "open", None, True),  # 01:01 Tuesday in Manila
        (OPENED + timedelta(hours=30), "contacted", OPENED + timedelta(minutes=90), False),
        (OPENED + timedelta(hours=30), "resolved", OPENED + timedelta(hours=5), False),
    ],
)
def test_overdue_across_midnight_in_manila(now, status, contacted_at, overdue):
    due = recovery.due_at(OPENED, due_hours=2)
    assert recovery.is_overdue(status=status, due=due, now=now, contacted_at=contacted_at) is overdue


def test_queue_puts_overdue_first_for_a_manila_team(engine, session):
    make_team(engine, "Mabuhay", site="Manila", tz="Asia/Manila", leader="lead.m")
    make_agent(engine, "Jun Cruz", team="Mabuhay", site="Manila")
    for i in range(3):
        add_rating(engine, agent="Jun Cruz", stars=1, team="Mabuhay", interaction_id=f"M-{i}")
    cases = _cases(session)
    # Case M-1 was opened three hours ago (before midnight in Manila) and is overdue; the others are not.
    now = utcnow()
    cases[1].opened_at, cases[1].due_at = now - timedelta(hours=3), now - timedelta(hours=1)
    session.add(cases[1])
    session.commit()
    frame = recovery_store.cases(session=session, viewer=ADMIN, now=now)
    assert frame.iloc[0]["interaction_id"] == "M-1" and bool(frame.iloc[0]["overdue"])
    assert frame["overdue"].tolist() == [True, False, False]


def test_leaders_see_their_teams_cases_only(engine, session):
    make_team(engine, "Alpha", leader="lead.a")
    make_team(engine, "Beta", leader="lead.b")
    add_rating(engine, agent="Ann Lee", stars=1, team="Alpha", interaction_id="A-1")
    add_rating(engine, agent="Bo Diaz", stars=2, team="Beta", interaction_id="B-1")
    from db.accounts import viewer_for_user

    leader_a = viewer_for_user(session=session, user=make_user(session, "lead.a"))
    frame = recovery_store.cases(session=session, viewer=leader_a)
    assert frame["interaction_id"].tolist() == ["A-1"]
    other = int(recovery_store.cases(session=session, viewer=ADMIN).set_index("interaction_id").loc["B-1", "case_id"])
    with pytest.raises(RecoveryError):
        recovery_store.claim(session=session, case_id=other, by=make_user(session, "lead.a"), viewer=leader_a)


def test_uplift_arithmetic_by_hand():
    t0 = datetime(2026, 11, 2, 9, 0)
    cases = pd.DataFrame(
        {
            "stars": [1, 2, 1, 2],
            "opened_at": [t0] * 4,
            "due_at": [t0 + timedelta(hours=2)] * 4,
            "contacted_at": [t0 + timedelta(minutes=30), t0 + timedelta(minutes=90), t0 + timedelta(hours=3), None],
            "status": ["resolved", "resolved", "no_response", "open"],
            "followup_stars": [4, 5, None, None],
        }
    )
    s = summarise(cases, now=t0 + timedelta(hours=4))
    assert s.opened == 4
    assert s.contacted_in_time_pct == pytest.approx(50.0)  # 2 of the 4 judged (all are past due) in time
    assert s.median_minutes_to_contact == pytest.approx(90.0)  # 30, 90, 180
    assert s.resolved_pct == pytest.approx(50.0)
    assert (s.followups, s.original_avg, s.followup_avg) == (2, 1.5, 4.5)
    assert s.uplift == pytest.approx(3.0) and s.uplift_ratio == pytest.approx(3.0)


def test_open_case_before_due_time_is_not_judged_late():
    t0 = datetime(2026, 11, 2, 9, 0)
    cases = pd.DataFrame(
        {"stars": [1], "opened_at": [t0], "due_at": [t0 + timedelta(hours=2)], "contacted_at": [None],
         "status": ["open"], "followup_stars": [None]}
    )
    assert summarise(cases, now=t0 + timedelta(hours=1)).contacted_in_time_pct is None


@pytest.mark.parametrize(
    "old, new, ok",
    [("open", "contacted", True), ("contacted", "resolved", True), ("open", "no_response", True),
     ("resolved", "open", True), ("open", "closed", False)],
)
def test_status_transitions(old, new, ok):
    if ok:
        recovery.check_transition(old, new)
    else:
        with pytest.raises(RecoveryError):
            recovery.check_transition(old, new)


def test_update_and_followup_stamp_times_and_notes(engine, session):
    add_rating(engine, agent="Ann Lee", stars=1, interaction_id="U-1")
    case = _cases(session)[0]
    lead = make_user(session, "lead.a", role="leader")
    t = utcnow()
    recovery_store.update(session=session, viewer=SYSTEM_VIEWER, case_id=case.id, status="contacted", by=lead, note="called back", now=t)
    recovery_store.update(session=session, viewer=SYSTEM_VIEWER, case_id=case.id, status="resolved", by=lead, now=t + timedelta(minutes=5))
    recovery_store.record_followup(session=session, viewer=SYSTEM_VIEWER, case_id=case.id, stars=5)
    case = _cases(session)[0]
    assert case.contacted_at == t and case.closed_at == t + timedelta(minutes=5)
    assert case.owner_id == lead.id and case.followup_stars == 5
    assert "called back" in case.notes and "follow-up rating 5★" in case.notes
    with pytest.raises(RecoveryError):
        recovery_store.record_followup(session=session, viewer=SYSTEM_VIEWER, case_id=case.id, stars=6)


def _cli(db_url, *args) -> CliRun:
    return run_cli(*args, db=db_url)


def test_exclude_runs_as_a_command(db_url, engine, session):
    add_rating(engine, agent="Ann Lee", stars=1, interaction_id="S-1")
    make_user(session, "lead.a", role="leader")
    run = run_cli("exclude", "S-1", "--cause", "system", "--by", "lead.a", "--reason", "IVR down",
                  env={"DATABASE_URL": db_url})
    assert run.returncode == 0, run.stderr
    session.expire_all()
    assert session.exec(select(Rating)).one().excluded_cause == "system"


def _rank(db_url) -> list[dict]:
    out = _cli(db_url, "rank", "--period", "all", "--format", "csv")
    assert out.returncode == 0, out.stderr
    return list(csv.DictReader(io.StringIO(out.stdout)))


def test_exclusion_changes_rank_exactly_as_removing_the_rating_and_undo_restores(db_url, engine, session):
    at = datetime(2026, 11, 2, 9, 0)
    add_ratings(engine, "Ann Lee", [5, 5, 5, 5, 5, 1], at=at, resolved=True, nps=10)
    add_ratings(engine, "Bo Diaz", [5, 5, 5, 5, 4, 4], at=at, resolved=True, nps=9)
    add_ratings(engine, "Cy Uy", [4, 4, 4, 4, 4, 5], at=at, resolved=False, nps=7)
    ann_low = session.exec(select(Rating).where(Rating.stars == 1)).one()
    from db.models import Interaction

    low_id = session.get(Interaction, ann_low.interaction_id).interaction_id
    make_user(session, "lead.a", role="leader")
    before = _rank(db_url)
    assert before[0]["agent"] == "Bo Diaz"

    out = _cli(db_url, "exclude", low_id, "--cause", "product", "--by", "lead.a", "--reason", "known outage")
    assert out.returncode == 0, out.stderr
    excluded = _rank(db_url)
    assert excluded[0]["agent"] == "Ann Lee"

    assert _cli(db_url, "exclude", low_id, "--undo", "--by", "lead.a").returncode == 0
    assert _rank(db_url) == before

    # Removing the rating outright gives the same figures; the customer still answered, so the
    # response rate (rated ÷ closed) is the one column an exclusion leaves as it was.
    session.delete(session.get(Rating, ann_low.id))
    session.commit()
    removed = _rank(db_url)
    strip = lambda rows: [{k: v for k, v in r.items() if k not in ("response_rate", "movement")} for r in rows]  # noqa: E731
    assert strip(removed) == strip(excluded)
    assert [r["response_rate"] for r in excluded] == [r["response_rate"] for r in before]

    actions = [(a.action, a.actor, a.target) for a in session.exec(select(AuditLog).order_by(AuditLog.id)).all()]
    assert ("score_excluded", "lead.a", low_id) in actions
    assert ("score_exclusion_undone", "lead.a", low_id) in actions


def test_exclusion_stays_in_recovery_and_root_causes(engine, session):
    add_rating(engine, agent="Ann Lee", stars=1, interaction_id="E-1", contact_reason="returns")
    add_rating(engine, agent="Ann Lee", stars=2, interaction_id="E-2", contact_reason="billing")
    lead = make_user(session, "lead.a", role="leader")
    recovery_store.exclude(session=session, viewer=SYSTEM_VIEWER, interaction_id="E-1", cause="policy", by=lead, reason="returns policy")
    assert len(recovery_store.cases(session=session, viewer=ADMIN)) == 2
    causes = recovery_store.root_causes(session=session, viewer=ADMIN, start=None, end=None)
    assert sorted(zip(causes["contact_reason"], causes["cause"])) == [("billing", "agent"), ("returns", "policy")]


@pytest.mark.parametrize(
    "args, message",
    [
        (["exclude", "NOPE", "--cause", "product", "--by", "lead.a", "--reason", "x"], "no rating for interaction"),
        (["exclude", "X-1", "--cause", "product", "--by", "ghost", "--reason", "x"], "no user named"),
        (["exclude", "X-1", "--by", "lead.a"], "--cause and --reason are required"),
        (["recovery", "update", "999", "--status", "contacted", "--by", "lead.a"], "no recovery case 999"),
    ],
)
def test_cli_mistakes_are_one_line_exit_2(db_url, engine, session, args, message):
    add_rating(engine, agent="Ann Lee", stars=1, interaction_id="X-1")
    make_user(session, "lead.a", role="leader")
    out = _cli(db_url, *args)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr


def test_recovery_cli_list_update_followup_report(db_url, engine, session):
    add_rating(engine, agent="Ann Lee", stars=1, interaction_id="C-1")
    make_user(session, "lead.a", role="leader")
    listed = _cli(db_url, "recovery", "list", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(listed.stdout)))
    assert listed.stdout.splitlines()[0] == "case_id,interaction_id,agent,team,stars,opened_at,due_at,status,owner"
    case_id = rows[0]["case_id"]
    assert _cli(db_url, "recovery", "update", case_id, "--status", "resolved", "--by", "lead.a").returncode == 0
    assert _cli(db_url, "recovery", "followup", case_id, "--stars", "5").returncode == 0
    report = list(csv.DictReader(io.StringIO(_cli(db_url, "recovery", "report", "--format", "csv").stdout)))
    total = report[-1]
    assert total["team"] == "All" and total["opened"] == "1" and total["uplift"] == "4.0"


def test_recovery_list_defaults_to_the_cases_still_to_work(db_url, engine, session):
    """Issue 13: `recovery list` shows open cases by default; --status all shows every case."""
    for i in range(1, 5):
        add_rating(engine, agent="Ann Lee", stars=1, interaction_id=f"S-{i}")
    make_user(session, "lead.a", role="leader")

    def listed(*extra):
        out = _cli(db_url, "recovery", "list", "--format", "csv", *extra)
        assert out.returncode == 0, out.stderr
        return {r["interaction_id"]: r["status"] for r in csv.DictReader(io.StringIO(out.stdout))}

    cases = {r["interaction_id"]: r["case_id"] for r in csv.DictReader(io.StringIO(
        _cli(db_url, "recovery", "list", "--format", "csv").stdout))}
    assert set(cases) == {"S-1", "S-2", "S-3", "S-4"}
    for iid, status in (("S-2", "contacted"), ("S-3", "resolved"), ("S-4", "no_response")):
        assert _cli(db_url, "recovery", "update", cases[iid], "--status", status, "--by", "lead.a").returncode == 0
    assert listed() == {"S-1": "open", "S-2": "contacted"}
    assert listed("--status", "active") == {"S-1": "open", "S-2": "contacted"}
    assert listed("--status", "all") == {"S-1": "open", "S-2": "contacted", "S-3": "resolved", "S-4": "no_response"}
    assert listed("--status", "open") == {"S-1": "open"}
    assert listed("--status", "resolved") == {"S-3": "resolved"}
