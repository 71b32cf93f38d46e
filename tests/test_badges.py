"""Badges: each automatic badge's criteria at its threshold, idempotent evaluation, value awards,
the weekly value review, the agent's page helpers and the `badges` command."""

from __future__ import annotations

import itertools
import os
from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
from sqlmodel import Session, select

from db import accounts
from db.models import Agent, AuditLog, Badge, BadgeAward, Interaction, Rating, RatingTag, RecoveryCase, Site, Team, User
from leaderboard import badge_rules, badges
from leaderboard.badges import BadgeError
from leaderboard.board import build_board
from leaderboard.demo import seed_demo
from leaderboard.periods import custom_period
from leaderboard.settings import Settings
from tests.cli_util import run_cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOW = datetime(2026, 11, 25, 12, 0)  # a Wednesday in 2026-W48
W46 = datetime(2026, 11, 9, 8, 0)  # Mondays, 08:00 UTC
W47 = datetime(2026, 11, 16, 8, 0)
W48 = datetime(2026, 11, 23, 8, 0)
OCT = datetime(2026, 10, 2, 8, 0)
NOV = datetime(2026, 11, 2, 8, 0)
HOUR = timedelta(hours=1)
SETTINGS = Settings(prior_weight=10.0, min_ratings=5)

_ids = itertools.count(1)


# --- builders -----------------------------------------------------------------------------


def make_floor(session, *, tz: str = "UTC") -> dict:
    """One site; Alpha (Ann, Bob, Dee hidden from the wall; led by lead.a) and Beta (Cy; lead.b)."""
    site = Site(name="Main", timezone=tz)
    session.add(site)
    session.flush()
    users = {
        "lead.a": User(username="lead.a", display_name="Lea A", role="leader"),
        "lead.b": User(username="lead.b", display_name="Leo B", role="leader"),
        "admin": User(username="admin", display_name="Ada", role="admin"),
        "ann": User(username="ann", display_name="Ann Lee", role="agent"),
    }
    session.add_all(users.values())
    session.flush()
    alpha = Team(name="Alpha", site_id=site.id, leader_id=users["lead.a"].id)
    beta = Team(name="Beta", site_id=site.id, leader_id=users["lead.b"].id)
    session.add_all([alpha, beta])
    session.flush()
    agents = {
        "Ann": Agent(name="Ann Lee", display_name="Ann L.", team_id=alpha.id, user_id=users["ann"].id),
        "Bob": Agent(name="Bob Cruz", display_name="Bob C.", team_id=alpha.id),
        "Dee": Agent(name="Dee Hid", display_name="Dee H.", team_id=alpha.id, hide_from_wall=True),
        "Cy": Agent(name="Cy Diaz", display_name="Cy D.", team_id=beta.id),
    }
    session.add_all(agents.values())
    session.commit()
    return {"site": site, "teams": {"Alpha": alpha, "Beta": beta}, "agents": agents, "users": users}


def add_ratings(
    session,
    agent: Agent,
    stars: list[int],
    *,
    start: datetime,
    step: timedelta = HOUR,
    resolved: list | None = None,
    excluded: set[int] = frozenset(),
    comments: list[str] | None = None,
    tags: list[list[str]] | None = None,
) -> list[Rating]:
    """Ratings at start, start+step, ... (the i-th excluded when i in ``excluded``): add_all, one commit."""
    interactions = [
        Interaction(
            interaction_id=f"T{next(_ids):05d}",
            agent_id=agent.id,
            channel="phone",
            closed_at=start + i * step - timedelta(minutes=5),
        )
        for i in range(len(stars))
    ]
    session.add_all(interactions)
    session.flush()
    ratings = [
        Rating(
            interaction_id=inter.id,
            agent_id=agent.id,
            stars=s,
            comment=comments[i] if comments else "",
            resolved=resolved[i] if resolved else None,
            rated_at=start + i * step,
            excluded_cause="other" if i in excluded else None,
        )
        for i, (inter, s) in enumerate(zip(interactions, stars))
    ]
    session.add_all(ratings)
    session.flush()
    for i, rating in enumerate(ratings):
        for tag in (tags[i] if tags else []):
            session.add(RatingTag(rating_id=rating.id, kind="went_well", tag=tag))
    session.commit()
    return ratings


def S(agent: str, stars: list[int], start: datetime, **kw) -> tuple:
    return agent, stars, start, kw


def build(session, floor, specs) -> None:
    for name, stars, start, kw in specs:
        add_ratings(session, floor["agents"][name], stars, start=start, **kw)


def earned(session, awards, code: str) -> list[tuple[str, str]]:
    """(agent short name, period key) of the awards of one badge; a streak's key shows as 'i'."""
    names = {a.id: a.name.split()[0] for a in session.exec(select(Agent)).all()}
    codes = {b.id: b.code for b in session.exec(select(Badge)).all()}
    out = []
    for a in awards:
        if codes[a.badge_id] != code:
            continue
        key = "i" if code == "streak_10" and a.period_key.startswith("i") else a.period_key
        out.append((names[a.agent_id], key))
    return sorted(out)


# --- automatic badges: the criteria at their thresholds ---------------------------------------

CRITERIA_CASES = [
    # first 5★
    ("one 5★ earns it", "first_five_star", [S("Ann", [4, 5, 4], W47)], [("Ann", "")]),
    ("no 5★, no badge", "first_five_star", [S("Ann", [4, 4, 3], W47)], []),
    ("an excluded 5★ does not count", "first_five_star", [S("Ann", [5, 4], W47, excluded={0})], []),
    # 10 five-stars in a row
    ("10 in a row", "streak_10", [S("Ann", [5] * 10, W47)], [("Ann", "i")]),
    ("9 then a 4★", "streak_10", [S("Ann", [5] * 9 + [4], W47)], []),
    ("9, a 4★, then one more 5★", "streak_10", [S("Ann", [5] * 9 + [4, 5], W47)], []),
    ("an excluded 4★ is skipped", "streak_10", [S("Ann", [5] * 5 + [4] + [5] * 5, W47, excluded={5})], [("Ann", "i")]),
    ("12 in a row is one streak; a new one after a 3★", "streak_10",
     [S("Ann", [5] * 12 + [3] + [5] * 10, W47)], [("Ann", "i"), ("Ann", "i")]),
    # 100 ratings
    ("100 ratings", "ratings_100", [S("Ann", [4] * 100, OCT, step=6 * HOUR)], [("Ann", "")]),
    ("99 ratings", "ratings_100", [S("Ann", [4] * 99, OCT, step=6 * HOUR)], []),
    ("99 ratings and an excluded one", "ratings_100", [S("Ann", [4] * 100, OCT, step=6 * HOUR, excluded={7})], []),
    # weekly #1
    ("#1 of a completed week, not of the current one", "weekly_top",
     [S("Ann", [5] * 6, W47), S("Bob", [4] * 6, W47), S("Ann", [5] * 6, W48), S("Bob", [4] * 6, W48)],
     [("Ann", "2026-W47")]),
    ("a provisional agent is not #1", "weekly_top", [S("Ann", [5] * 4, W47), S("Bob", [4] * 5, W47)],
     [("Bob", "2026-W47")]),
    ("each team has its own #1", "weekly_top", [S("Ann", [5] * 5, W47), S("Bob", [4] * 5, W47), S("Cy", [3] * 5, W47)],
     [("Ann", "2026-W47"), ("Cy", "2026-W47")]),
    ("the fair score, not the mean: 40 x 4.9 beat 5 x 5★", "weekly_top",
     [S("Ann", [5] * 5, W47), S("Bob", ([5] * 9 + [4]) * 4, W47), S("Dee", [3] * 20, W47)], [("Bob", "2026-W47")]),
    # most improved
    ("largest gain in the team", "most_improved",
     [S("Ann", [3] * 5, W46), S("Bob", [4] * 5, W46), S("Ann", [5] * 5, W47), S("Bob", [4] * 5, W47)],
     [("Ann", "2026-W47")]),
    ("only agents ranked both weeks", "most_improved",
     [S("Ann", [3] * 4, W46), S("Bob", [3] * 5, W46), S("Ann", [5] * 5, W47), S("Bob", [4] * 5, W47)],
     [("Bob", "2026-W47")]),
    ("a fall is no improvement", "most_improved", [S("Ann", [5] * 5, W46), S("Ann", [4] * 5, W47)], []),
    ("not for the current week", "most_improved", [S("Ann", [3] * 5, W47), S("Ann", [5] * 5, W48)], []),
    # perfect week
    ("5 ratings, all 5★", "perfect_week", [S("Ann", [5] * 5, W47)], [("Ann", "2026-W47")]),
    ("4 ratings, all 5★", "perfect_week", [S("Ann", [5] * 4, W47)], []),
    ("5 ratings, one 4★", "perfect_week", [S("Ann", [5] * 4 + [4], W47)], []),
    ("5 ratings, one 4★ excluded", "perfect_week", [S("Ann", [5] * 5 + [4], W47, excluded={5})], [("Ann", "2026-W47")]),
    ("not for the current week", "perfect_week", [S("Ann", [5] * 5, W48)], []),
    # FCR champion
    ("20 answers", "fcr_champion", [S("Ann", [5] * 20, OCT, resolved=[True] * 18 + [False] * 2)], [("Ann", "2026-10")]),
    ("19 answers", "fcr_champion", [S("Ann", [5] * 19, OCT, resolved=[True] * 19)], []),
    ("unanswered questions are not answers", "fcr_champion",
     [S("Ann", [5] * 25, OCT, resolved=[True] * 19 + [None] * 6)], []),
    ("highest FCR among those with 20 answers", "fcr_champion",
     [S("Ann", [5] * 20, OCT, resolved=[True] * 18 + [False] * 2),
      S("Bob", [5] * 19, OCT, resolved=[True] * 19),
      S("Dee", [5] * 30, OCT, resolved=[True] * 20 + [False] * 10)],
     [("Ann", "2026-10")]),
    ("not for the current month", "fcr_champion", [S("Ann", [5] * 20, NOV, resolved=[True] * 20)], []),
]


@pytest.mark.parametrize("code, specs, expected", [c[1:] for c in CRITERIA_CASES], ids=[c[0] for c in CRITERIA_CASES])
def test_automatic_badge_criteria(session, code, specs, expected):
    floor = make_floor(session)
    build(session, floor, specs)
    awards = badges.evaluate(session=session, now=NOW, settings=SETTINGS)
    assert earned(session, awards, code) == sorted(expected)


def test_weeks_are_counted_in_the_sites_time_zone(session):
    """Sunday 17:00 UTC is Monday 01:00 in Manila: that rating belongs to the next local week."""
    floor = make_floor(session, tz="Asia/Manila")
    sunday_late = datetime(2026, 11, 22, 17, 0)
    add_ratings(session, floor["agents"]["Ann"], [5] * 4, start=W47)
    add_ratings(session, floor["agents"]["Ann"], [5], start=sunday_late)
    awards = badges.evaluate(session=session, now=NOW, settings=SETTINGS)
    assert earned(session, awards, "perfect_week") == []
    # The week of 2026-11-23 (Manila) is not over at NOW; a week later it is.
    add_ratings(session, floor["agents"]["Ann"], [5] * 4, start=W48)
    later = badges.evaluate(session=session, now=NOW + timedelta(days=7), settings=SETTINGS)
    assert earned(session, later, "perfect_week") == [("Ann", "2026-W48")]
    award = next(a for a in later if a.period_key == "2026-W48")
    # Awarded when the local week ended: Monday 00:00 Manila = Sunday 16:00 UTC.
    assert award.awarded_at == datetime(2026, 11, 29, 16, 0)


def test_weekly_top_is_build_boards_rank_one(session):
    """Regression guard: the vectorised weekly #1 agrees with build_board for that week and team."""
    floor = make_floor(session)
    build(
        session,
        floor,
        [S("Ann", [5, 4, 5, 3, 5, 5, 4], W47), S("Bob", [5, 5, 4, 5, 4, 5, 5, 5, 4], W47 + 30 * HOUR),
         S("Dee", [5, 5, 5, 5, 5], W47 + 50 * HOUR)],
    )
    awards = badges.evaluate(session=session, now=NOW, settings=SETTINGS)
    board = build_board(
        session=session,
        period=custom_period(date(2026, 11, 16), date(2026, 11, 22), tz="UTC"),
        team="Alpha",
        settings=SETTINGS,
        with_movement=False,
    )
    top = board.agents[board.agents["rank"] == 1]["agent"].str.split().str[0].tolist()
    assert [name for name, _ in earned(session, awards, "weekly_top")] == sorted(top)


def test_awards_carry_who_when_why_and_evidence(session):
    floor = make_floor(session)
    ratings = add_ratings(session, floor["agents"]["Ann"], [4] + [5] * 10, start=W47)
    awards = badges.evaluate(session=session, now=NOW, settings=SETTINGS)
    streak = next(a for a in awards if a.reason.startswith("10 five-star"))
    by_pk = dict(session.exec(select(Interaction.id, Interaction.interaction_id)).all())
    assert streak.awarded_by == "system" and streak.awarded_by_id is None
    assert streak.period_key == f"i{ratings[1].interaction_id}"
    assert streak.evidence.split(";") == [by_pk[r.interaction_id] for r in ratings[1:]]
    assert streak.awarded_at == ratings[-1].rated_at
    first = next(a for a in awards if a.reason == "First 5★ rating")
    assert first.evidence == by_pk[ratings[1].interaction_id] and first.awarded_at == ratings[1].rated_at


# --- idempotence -------------------------------------------------------------------------------


def test_evaluate_twice_awards_nothing_new(session):
    floor = make_floor(session)
    build(session, floor, [S("Ann", [5] * 12, W46), S("Ann", [5] * 6, W47), S("Bob", [4] * 6, W47),
                           S("Cy", [5] * 20, OCT, resolved=[True] * 20)])
    first = badges.evaluate(session=session, now=NOW, settings=SETTINGS)
    assert first
    count = len(session.exec(select(BadgeAward)).all())
    assert badges.evaluate(session=session, now=NOW, settings=SETTINGS) == []
    assert len(session.exec(select(BadgeAward)).all()) == count == len(first)


def test_weekly_badges_once_per_week_and_one_winner_per_team(session):
    floor = make_floor(session)
    build(session, floor, [S("Ann", [5] * 6, W47), S("Bob", [4] * 6, W47), S("Ann", [5] * 6, W48),
                           S("Bob", [4] * 6, W48)])
    first = badges.evaluate(session=session, now=NOW, settings=SETTINGS)
    assert earned(session, first, "weekly_top") == [("Ann", "2026-W47")]
    # A leader later excludes Ann's week: Bob would now top it, but 2026-W47 is decided.
    for rating in session.exec(select(Rating).where(Rating.agent_id == floor["agents"]["Ann"].id)).all():
        if rating.rated_at < W48:
            rating.excluded_cause = "system"
            session.add(rating)
    session.commit()
    week_later = badges.evaluate(session=session, now=NOW + timedelta(days=7), settings=SETTINGS)
    assert earned(session, week_later, "weekly_top") == [("Ann", "2026-W48")]
    assert badges.evaluate(session=session, now=NOW + timedelta(days=7), settings=SETTINGS) == []
    weekly = session.exec(select(BadgeAward).join(Badge).where(Badge.code == "weekly_top")).all()
    assert sorted(a.period_key for a in weekly) == ["2026-W47", "2026-W48"]


def test_catalogue_is_seeded_once_and_keeps_edits(session):
    new = badges.ensure_catalogue(session)
    assert [b.code for b in new] == [s.code for s in badges.DEFAULT_CATALOGUE]
    empathetic = session.exec(select(Badge).where(Badge.code == "empathetic")).one()
    empathetic.name = "Heart"
    session.add(empathetic)
    session.commit()
    assert badges.ensure_catalogue(session) == []
    assert session.exec(select(Badge).where(Badge.code == "empathetic")).one().name == "Heart"
    kinds = {b.code: b.kind for b in session.exec(select(Badge).order_by(Badge.id)).all()}
    assert [c for c, k in kinds.items() if k == "value"] == [
        "creative", "empowering", "nimble", "trustful", "empathetic", "responsive"
    ]


def test_inactive_badges_are_not_evaluated(session):
    floor = make_floor(session)
    badges.ensure_catalogue(session)
    badge = session.exec(select(Badge).where(Badge.code == "first_five_star")).one()
    badge.active = False
    session.add(badge)
    session.commit()
    add_ratings(session, floor["agents"]["Ann"], [5], start=W47)
    assert earned(session, badges.evaluate(session=session, now=NOW, settings=SETTINGS), "first_five_star") == []


def test_recovery_hero_goes_to_the_agent_who_owned_three_successful_recoveries(session):
    floor = make_floor(session)
    low = add_ratings(session, floor["agents"]["Bob"], [1, 2, 1, 2], start=W47)
    owner = floor["users"]["ann"].id
    for i, rating in enumerate(low):
        followup = 4 if i < 2 else (3 if i == 2 else 5)
        session.add(RecoveryCase(rating_id=rating.id, status="resolved", owner_id=owner, due_at=W47,
                                 closed_at=W47 + (i + 1) * HOUR * 5, followup_stars=followup))
    session.commit()
    awards = badges.evaluate(session=session, now=NOW, settings=SETTINGS)
    assert earned(session, awards, "recovery_hero") == [("Ann", "")]
    hero = next(a for a in awards if a.reason.startswith("3 recovery"))
    assert hero.awarded_at == W47 + 20 * HOUR and len(hero.evidence.split(";")) == 3


# --- value badges ----------------------------------------------------------------------------------


def test_leader_awards_value_badges_with_audit(session):
    floor = make_floor(session)
    ann, lead = floor["agents"]["Ann"], floor["users"]["lead.a"]
    (rating,) = add_ratings(session, ann, [5], start=W47)
    about = session.get(Interaction, rating.interaction_id).interaction_id
    one = badges.award(session=session, agent_id=ann.id, badge_code="Empathetic", by_user_id=lead.id,
                       reason="Stayed calm with an upset caller", interaction_id=about, now=NOW)
    two = badges.award(session=session, agent_id=ann.id, badge_code="empathetic", by_user_id=lead.id,
                       reason="Again", now=NOW)
    three = badges.award(session=session, agent_id=ann.id, badge_code="EMPATHETIC", by_user_id=lead.id,
                         reason="And again", now=NOW)
    assert (one.period_key, one.evidence) == (f"i{rating.interaction_id}", about)
    assert (two.period_key, three.period_key) == ("2026-11-25#1", "2026-11-25#2")
    assert one.awarded_by == "lead.a" and one.awarded_by_id == lead.id and one.awarded_at == NOW
    entries = session.exec(select(AuditLog).where(AuditLog.action == "badge_awarded")).all()
    assert len(entries) == 3 and entries[0].actor == "lead.a" and entries[0].target == "Ann Lee"
    with pytest.raises(BadgeError, match="already has"):
        badges.award(session=session, agent_id=ann.id, badge_code="empathetic", by_user_id=lead.id,
                     reason="twice", interaction_id=about, now=NOW)


@pytest.mark.parametrize(
    "agent, badge, by, about, message",
    [
        ("Ann", "streak_10", "lead.a", None, "earned automatically"),
        ("Ann", "Weekly #1", "lead.a", None, "earned automatically"),
        ("Ann", "kindness", "lead.a", None, "no badge"),
        ("Ann", "empathetic", "lead.b", None, "does not lead"),
        ("Ann", "empathetic", "ann", None, "only team leaders"),
        ("Ann", "empathetic", "lead.a", "NOPE-1", "no interaction"),
        ("Ann", "empathetic", "lead.a", "bob's", "another agent"),
        ("Cy", "creative", "admin", None, None),
    ],
)
def test_award_refuses_what_a_leader_may_not_do(session, agent, badge, by, about, message):
    floor = make_floor(session)
    (bob_rating,) = add_ratings(session, floor["agents"]["Bob"], [5], start=W47)
    if about == "bob's":
        about = session.get(Interaction, bob_rating.interaction_id).interaction_id
    call = dict(session=session, agent_id=floor["agents"][agent].id, badge_code=badge,
                by_user_id=floor["users"][by].id, reason="because", interaction_id=about, now=NOW)
    if message is None:
        assert badges.award(**call).id is not None
    else:
        with pytest.raises(BadgeError, match=message):
            badges.award(**call)
        assert session.exec(select(BadgeAward)).all() == []


def test_value_candidates_from_praise_comments_and_tags(session):
    floor = make_floor(session)
    add_ratings(
        session,
        floor["agents"]["Ann"],
        [5, 4, 3, 5],
        start=W47,
        comments=["She was so patient and really listened to me.", "Quick and kind.", "patient but wrong",
                  ""],
        tags=[[], [], [], ["quick response"]],
    )
    add_ratings(session, floor["agents"]["Cy"], [5], start=W47, comments=["Very patient"])
    add_ratings(session, floor["agents"]["Bob"], [5], start=W46, comments=["Very patient (last week)"])
    viewer = accounts.viewer_for_user(session=session, user=floor["users"]["lead.a"])
    frame = badges.value_candidates(session=session, viewer=viewer, week_start=date(2026, 11, 16), tz="UTC")
    assert list(frame.columns) == list(badges.CANDIDATE_COLUMNS)
    rows = {(r["agent"], r["badge"]): r for r in frame.to_dict("records")}
    assert set(rows) == {("Ann Lee", "Empathetic"), ("Ann Lee", "Responsive")}  # Cy: not lead.a's; 3★: no
    empathetic = rows[("Ann Lee", "Empathetic")]
    assert empathetic["matched"] == "patient; listened; kind" and empathetic["ratings"] == 2
    assert "patient and really listened" in empathetic["quote"]
    responsive = rows[("Ann Lee", "Responsive")]
    assert responsive["matched"] == "quick; quick response" and responsive["ratings"] == 2
    # Confirming a candidate marks it as awarded.
    badges.award(session=session, agent_id=floor["agents"]["Ann"].id, badge_code="empathetic",
                 by_user_id=floor["users"]["lead.a"].id, reason="listened", interaction_id=empathetic["interaction_id"])
    again = badges.value_candidates(session=session, viewer=viewer, week_start=date(2026, 11, 16), tz="UTC")
    assert again.set_index("badge").loc["Empathetic", "already_awarded"]
    assert not again.set_index("badge").loc["Responsive", "already_awarded"]


# --- the agent's page -----------------------------------------------------------------------------


def test_progress_toward_unearned_badges(session):
    floor = make_floor(session)
    ann = floor["agents"]["Ann"]
    add_ratings(session, ann, [4] * 81 + [5] * 6, start=OCT, step=6 * HOUR)
    add_ratings(session, ann, [5, 5, 5], start=W48, resolved=[True, False, True])
    badges.evaluate(session=session, now=NOW, settings=SETTINGS)
    by_code = {p["code"]: p for p in badges.progress(session=session, agent_id=ann.id, now=NOW, settings=SETTINGS)}
    assert "first_five_star" not in by_code  # earned already
    assert by_code["ratings_100"]["label"] == "90 / 100 ratings" and by_code["ratings_100"]["fraction"] == 0.9
    assert by_code["ratings_500"]["label"] == "90 / 500 ratings"
    assert by_code["streak_10"]["label"] == "streak 9 / 10"
    assert by_code["perfect_week"]["label"] == "3 / 5 ratings this week, all 5★"
    assert by_code["fcr_champion"]["label"] == "FCR 67% on 3 / 20 answers this month"
    assert by_code["weekly_top"]["label"] == "provisional this week: 3 / 5 ratings to be ranked"
    assert by_code["recovery_hero"]["label"] == "0 / 3 recoveries"
    assert all(p["criteria"] for p in by_code.values())


def test_agent_badges_are_viewer_filtered(session):
    floor = make_floor(session)
    ann = floor["agents"]["Ann"]
    add_ratings(session, ann, [5], start=W47)
    badges.evaluate(session=session, now=NOW, settings=SETTINGS)

    def seen(username):
        viewer = accounts.viewer_for_user(session=session, user=floor["users"][username])
        return badges.agent_badges(session=session, viewer=viewer, agent_id=ann.id)

    assert seen("ann")["badge"].tolist() == ["First five-star"]
    assert len(seen("lead.a")) == 1 and len(seen("admin")) == 1
    assert seen("lead.b").empty
    assert list(seen("ann").columns[:7]) == list(badges.AWARD_COLUMNS)


def test_recognition_feed_skips_agents_hidden_from_the_wall(session):
    floor = make_floor(session)
    for name in ("Ann", "Dee"):
        add_ratings(session, floor["agents"][name], [5], start=W47)
    badges.evaluate(session=session, now=NOW, settings=SETTINGS)
    feed = badges.recognition_feed(session=session, since=W46, limit=10)
    assert [(f["agent"], f["badge"]) for f in feed] == [("Ann L.", "First five-star")]
    assert set(feed[0]) == {"id", "agent", "team", "badge", "badge_code", "kind", "awarded_at"}
    assert badges.recognition_feed(session=session, since=W48, limit=10) == []


# --- the command line ------------------------------------------------------------------------------


def _cli(db_url, *args):
    env = {"DATABASE_URL": db_url, "STARBOARD_MIN_RATINGS": "5", "STARBOARD_PRIOR_WEIGHT": "10"}
    return run_cli("badges", *args, env=env)


def test_cli_evaluate_award_and_list(db_url, session):
    floor = make_floor(session)
    build(session, floor, [S("Ann", [5] * 5, W47), S("Bob", [4] * 5, W47)])
    evaluated = _cli(db_url, "evaluate", "--now", NOW.isoformat())
    assert evaluated.returncode == 0, evaluated.stderr
    assert "Weekly #1" in evaluated.stdout and "Perfect week" in evaluated.stdout
    assert "#1 of Alpha in 2026-W47" in evaluated.stdout
    assert "3 new awards" in evaluated.stderr  # Ann: first 5★, weekly #1, perfect week
    again = _cli(db_url, "evaluate", "--now", NOW.isoformat())
    assert again.returncode == 0 and again.stdout.strip() == "no new awards"

    awarded = _cli(db_url, "award", "ann lee", "Empathetic", "--by", "lead.a", "--reason", "Calm, kind, patient")
    assert awarded.returncode == 0, awarded.stderr
    assert awarded.stdout.strip() == "awarded Empathetic to Ann Lee (by lead.a)"

    listed = _cli(db_url, "list", "--agent", "Ann Lee", "--format", "csv")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0] == "agent,badge,kind,awarded_at,awarded_by,reason,evidence"
    assert lines[1].startswith("Ann Lee,Empathetic,value,") and lines[1].endswith(",lead.a,\"Calm, kind, patient\",")
    assert len(lines) == 1 + 4
    assert _cli(db_url, "list", "--since", "2030-01-01", "--format", "csv").stdout.splitlines() == [lines[0]]


@pytest.mark.parametrize(
    "args, message",
    [
        (["award", "Ann Lee", "kindness", "--by", "lead.a", "--reason", "x"], "no badge 'kindness'"),
        (["award", "Nobody", "empathetic", "--by", "lead.a", "--reason", "x"], "no agent named 'Nobody'"),
        (["award", "Ann Lee", "empathetic", "--by", "ghost", "--reason", "x"], "no user named 'ghost'"),
        (["award", "Ann Lee", "streak_10", "--by", "lead.a", "--reason", "x"], "earned automatically"),
        (["award", "Ann Lee", "empathetic", "--by", "lead.a", "--reason", "x", "--about", "NOPE"], "no interaction"),
        (["list", "--agent", "Nobody"], "no agent named 'Nobody'"),
        (["list", "--since", "yesterday"], "not a date"),
    ],
)
def test_cli_user_errors_exit_2_with_one_line(db_url, session, args, message):
    make_floor(session)
    out = _cli(db_url, *args)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().count("\n") == 0 and message in out.stderr and "Traceback" not in out.stderr


def test_empty_floor_awards_nothing_and_progress_starts_at_zero(session):
    assert badges.evaluate(session=session, now=NOW, settings=SETTINGS) == []
    floor = make_floor(session)
    assert badges.evaluate(session=session, now=NOW, settings=SETTINGS) == []
    labels = {p["code"]: p["label"] for p in badges.progress(session=session, agent_id=floor["agents"]["Bob"].id,
                                                             now=NOW, settings=SETTINGS)}
    assert labels["first_five_star"] == "0 / 1 five-star ratings" and labels["streak_10"] == "streak 0 / 10"
    assert labels["weekly_top"] == "no ratings this week yet"
    assert labels["fcr_champion"] == "0 / 20 answers this month"
    with pytest.raises(BadgeError):
        badges.progress(session=session, agent_id=10_000, now=NOW)


# --- one definition per badge: the text agents read comes from the numbers evaluation uses ----------


@pytest.mark.parametrize(
    "rule, numbers",
    [
        (badge_rules.STREAK_10, {"length": "10 ratings of 5★ in a row"}),
        (badge_rules.RATINGS_100, {"count": "at your 100th rating"}),
        (badge_rules.RATINGS_500, {"count": "at your 500th rating"}),
        (badge_rules.PERFECT_WEEK, {"min_ratings": "at least 5 ratings"}),
        (badge_rules.FCR_CHAMPION, {"min_answers": "at least 20 answers", "period": "completed calendar month"}),
        (badge_rules.RECOVERY_HERO, {"cases": "when 3 service recovery cases", "min_followup_stars": "4★ or more"}),
        (badge_rules.MOST_IMPROVED, {"min_gain": "above zero"}),
    ],
    ids=lambda v: getattr(v, "code", ""),
)
def test_each_badges_text_states_its_numbers(rule, numbers):
    for field, phrase in numbers.items():
        assert phrase in rule.criteria, (field, rule.criteria)


@pytest.mark.parametrize(
    "rule, change, phrase",
    [
        (badge_rules.STREAK_10, {"length": 7}, "7 ratings of 5★ in a row"),
        (badge_rules.RATINGS_100, {"count": 250}, "at your 250th rating"),
        (badge_rules.PERFECT_WEEK, {"min_ratings": 8}, "at least 8 ratings"),
        (badge_rules.FCR_CHAMPION, {"min_answers": 10, "period": "week"}, "with at least 10 answers. Ties share it. Earned once per week"),
        (badge_rules.RECOVERY_HERO, {"cases": 1}, "when a service recovery case you owned is resolved"),
        (badge_rules.MOST_IMPROVED, {"min_gain": 0.1}, "the rise must be above 0.1"),
    ],
    ids=lambda v: getattr(v, "code", ""),
)
def test_changing_a_number_changes_the_text(rule, change, phrase):
    changed = replace(rule, **change)
    assert phrase in changed.criteria
    assert changed.criteria != rule.criteria


def test_fcr_champion_text_and_evaluation_use_the_same_period_and_minimum():
    rule = badge_rules.FCR_CHAMPION
    assert f"at least {rule.min_answers} answers" in rule.criteria
    assert f"Earned once per {rule.period}" in rule.criteria
    assert rule.period in rule.description


def test_the_catalogue_reads_the_rules(session):
    badges.ensure_catalogue(session)
    stored = {b.code: b for b in session.exec(select(Badge)).all()}
    for spec in badge_rules.DEFAULT_CATALOGUE:
        assert (stored[spec.code].name, stored[spec.code].description, stored[spec.code].criteria) == (
            spec.name, spec.description, spec.criteria
        )


def test_a_badge_period_must_be_week_or_month():
    with pytest.raises(ValueError, match="week, month"):
        badge_rules.FcrChampion(period="day")


def test_the_demo_seed_awards_automatic_badges_by_the_real_evaluation(engine):
    """Regression: the seed once had its own copy of the criteria (FCR weekly with 10 answers...)."""
    seed_demo(engine=engine, seed=3, now=NOW, days=40)
    with Session(engine) as s:
        awarded = s.exec(select(BadgeAward.period_key).join(Badge).where(Badge.code == "fcr_champion")).all()
        # Monthly keys (2026-10), never weekly ones: the rule's period.
        assert awarded and all(len(k) == 7 and "-W" not in k for k in awarded)
        again = badges.evaluate(session=s, now=NOW)
    assert again == []  # the seed left nothing for the real evaluation to add
