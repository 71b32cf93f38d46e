"""Demo data: deterministic, realistic enough to demo every screen; the seed and simulate commands."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from statistics import mean
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlmodel import SQLModel

from db.engine import make_engine
from db.models import (
    Agent,
    AppMeta,
    Badge,
    BadgeAward,
    CoachingNote,
    Interaction,
    Rating,
    RatingTag,
    RecoveryCase,
    Site,
    Team,
    User,
)
from db.seed import DEMO_PASSWORD, Persona
from leaderboard.auth import verify_password
from leaderboard.commands.simulate import _on_shift
from leaderboard.demo import ensure_seeded, is_empty, seed_demo
from tests.cli_util import run_cli

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 23, 12, 0)


def fresh_engine(url: str):
    """An engine on ``url`` with every table dropped and created again."""
    engine = make_engine(url, create=False)
    SQLModel.metadata.drop_all(engine)
    SQLModel.metadata.create_all(engine)
    return engine


def fingerprint(engine) -> str:
    """A hash of every interaction, rating and tag: equal only for identical demo data."""
    digest = hashlib.sha256()
    with engine.connect() as conn:
        tags = defaultdict(list)
        for iid, kind, tag in conn.execute(
            select(Interaction.interaction_id, RatingTag.kind, RatingTag.tag)
            .join(Rating, Rating.interaction_id == Interaction.id)
            .join(RatingTag, RatingTag.rating_id == Rating.id)
        ):
            tags[iid].append((kind, tag))
        rows = conn.execute(
            select(
                Interaction.interaction_id, Agent.name, Interaction.channel, Interaction.contact_reason,
                Interaction.closed_at, Rating.stars, Rating.rated_at, Rating.comment, Rating.resolved, Rating.nps,
            )
            .join(Agent, Agent.id == Interaction.agent_id)
            .outerjoin(Rating, Rating.interaction_id == Interaction.id)
            .order_by(Interaction.interaction_id)
        )
        for r in rows:
            digest.update(repr((tuple(r), sorted(tags[r[0]]))).encode())
    return digest.hexdigest()


def gather(engine, counts: dict) -> dict:
    """Everything the realism tests look at, read right after seeding (the database may be reused later)."""
    with engine.connect() as conn:
        q = lambda stmt: conn.execute(stmt).all()  # noqa: E731
        stats: dict = {"counts": counts}
        stats["sites"] = dict(q(select(Site.name, Site.timezone)))
        stats["teams"] = q(select(Team.name, Team.leader_id, User.role).outerjoin(User, User.id == Team.leader_id))
        stats["agents"] = q(select(Agent.name, Agent.display_name, Agent.hide_from_wall, Agent.user_id))
        stats["users"] = q(select(User.username, User.role, User.password_hash))
        stats["ratings"] = q(
            select(Agent.name, Interaction.contact_reason, Rating.stars, Rating.comment, Rating.resolved, Rating.nps)
            .join(Interaction, Interaction.id == Rating.interaction_id)
            .join(Agent, Agent.id == Rating.agent_id)
        )
        stats["interactions"] = q(
            select(Interaction.agent_id, Interaction.closed_at, Site.timezone)
            .join(Agent, Agent.id == Interaction.agent_id)
            .join(Team, Team.id == Agent.team_id)
            .join(Site, Site.id == Team.site_id)
        )
        stats["times"] = q(select(func.min(Interaction.closed_at), func.max(Interaction.closed_at), func.max(Rating.rated_at)).outerjoin(Rating, Rating.interaction_id == Interaction.id))[0]
        stats["tags"] = q(select(RatingTag.kind, RatingTag.tag, Rating.stars).join(Rating, Rating.id == RatingTag.rating_id))
        stats["badges"] = q(select(Badge.code, Badge.kind, Badge.description, Badge.criteria))
        stats["awards"] = q(select(BadgeAward.period_key, BadgeAward.awarded_at, BadgeAward.awarded_by_id))
        stats["notes"] = q(
            select(CoachingNote.kind, CoachingNote.visibility, CoachingNote.rating_id, CoachingNote.created_at, User.role, CoachingNote.text)
            .join(User, User.id == CoachingNote.author_id)
        )
        stats["meta"] = dict(q(select(AppMeta.key, AppMeta.value)))
    stats["fingerprint"] = fingerprint(engine)
    return stats


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> dict:
    """One full demo database per module (70 days), summarised right away."""
    url = os.environ.get("TEST_DATABASE_URL", "").strip() or f"sqlite:///{tmp_path_factory.mktemp('seed') / 'demo.db'}"
    engine = fresh_engine(url)
    try:
        counts = seed_demo(engine=engine, seed=7, now=NOW)
        return gather(engine, counts)
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- determinism


@pytest.mark.slow
def test_same_seed_and_now_give_the_same_data(db_url):
    engine = fresh_engine(db_url)
    first = seed_demo(engine=engine, seed=11, now=NOW, days=10)
    first_print = fingerprint(engine)
    engine.dispose()

    engine = fresh_engine(db_url)
    second = seed_demo(engine=engine, seed=11, now=NOW, days=10)
    assert second == first
    assert fingerprint(engine) == first_print
    engine.dispose()

    engine = fresh_engine(db_url)
    other = seed_demo(engine=engine, seed=12, now=NOW, days=10)
    assert fingerprint(engine) != first_print
    assert other["stars_sum"] != first["stars_sum"] or other["interactions"] != first["interactions"]
    engine.dispose()


def test_now_may_be_aware(db_url):
    engine = fresh_engine(db_url)
    counts = seed_demo(engine=engine, seed=3, now=NOW.replace(tzinfo=timezone.utc) + timedelta(hours=8), days=2)
    with engine.connect() as conn:
        latest = conn.execute(select(func.max(Interaction.closed_at))).scalar()
    engine.dispose()
    assert counts["interactions"] > 0
    assert latest <= NOW + timedelta(hours=8)


# --------------------------------------------------------------------------- realism


@pytest.mark.slow
def test_floor_shape(seeded):
    assert seeded["sites"] == {"New York": "America/New_York", "Manila": "Asia/Manila", "Belgrade": "Europe/Belgrade"}
    assert len(seeded["teams"]) >= 8
    assert all(leader_id is not None and role == "leader" for _, leader_id, role in seeded["teams"])
    names = [a[0] for a in seeded["agents"]]
    assert len(names) >= 80 and len(set(names)) == len(names)
    assert {"José Núñez", "Zoë Harrington"} <= set(names)
    displays = {a[0]: a[1] for a in seeded["agents"]}
    assert displays["José Núñez"] == "José Núñez"  # stored in full; public screens shorten it
    assert 1 <= sum(a[2] for a in seeded["agents"]) <= 2, "one or two agents hidden from the wall"


@pytest.mark.slow
def test_users_and_accounts(seeded):
    roles = Counter(role for _, role, _ in seeded["users"])
    usernames = {u for u, _, _ in seeded["users"]}
    assert roles["manager"] >= 1 and roles["admin"] >= 1 and "admin" in usernames
    assert roles["leader"] == len(seeded["teams"])
    linked = [a for a in seeded["agents"] if a[3] is not None]
    assert 3 <= len(linked) <= roles["agent"]
    # Every demo account signs in with the demo password (argon2-hashed).
    hashes = {password_hash for _, _, password_hash in seeded["users"]}
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert verify_password(next(iter(hashes)), DEMO_PASSWORD)
    assert "jose.nunez" in usernames


@pytest.mark.slow
def test_volume_and_response_rate(seeded):
    counts = seeded["counts"]
    assert 60_000 <= counts["interactions"] <= 90_000
    response = counts["ratings"] / counts["interactions"]
    assert 0.30 <= response <= 0.40
    # 10-15 interactions per agent per working day (a working day: one with any interaction).
    per_day = Counter()
    for agent_id, closed_at, tz in seeded["interactions"]:
        local = closed_at.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz))
        per_day[(agent_id, local.date())] += 1
    full_days = [n for n in per_day.values()]
    assert 10 <= mean(full_days) <= 16


@pytest.mark.slow
def test_interactions_fall_in_local_working_hours_over_the_period(seeded):
    for _, closed_at, tz in seeded["interactions"]:
        local = closed_at.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz))
        assert 6 <= local.hour <= 21, (closed_at, tz)
    first, last, last_rating = seeded["times"]
    assert last <= NOW and last_rating <= NOW, "nothing from the future"
    assert NOW - first >= timedelta(days=60)
    assert NOW - last < timedelta(hours=12)


@pytest.mark.slow
def test_star_mix(seeded):
    stars = Counter(r[2] for r in seeded["ratings"])
    total = sum(stars.values())
    average = sum(s * n for s, n in stars.items()) / total
    assert 4.3 <= average <= 4.7
    assert (stars[1] + stars[2]) / total >= 0.02, "real 1-2★ ratings"
    assert stars[1] > 0 and stars[2] > 0 and stars[3] > 0


@pytest.mark.slow
def test_returns_and_billing_rate_lower(seeded):
    by_reason = defaultdict(list)
    for _, reason, stars, *_ in seeded["ratings"]:
        by_reason[reason].append(stars)
    averages = {reason: mean(values) for reason, values in by_reason.items()}
    assert len(averages) >= 5
    hard = [averages["returns"], averages["billing"]]
    others = [v for k, v in averages.items() if k not in ("returns", "billing")]
    assert max(hard) < min(others)


@pytest.mark.slow
def test_agents_differ_in_skill_and_some_are_new(seeded):
    by_agent = defaultdict(list)
    for name, _, stars, *_ in seeded["ratings"]:
        by_agent[name].append(stars)
    established = [mean(v) for v in by_agent.values() if len(v) >= 100]
    assert max(established) - min(established) >= 0.4
    ratings_per_agent = [len(by_agent.get(a[0], [])) for a in seeded["agents"]]
    assert sum(1 for n in ratings_per_agent if n < 25) >= 2, "a few new hires with very few ratings"


@pytest.mark.slow
def test_resolved_nps_and_tags_fit_the_stars(seeded):
    resolved = defaultdict(list)
    nps = defaultdict(list)
    for _, _, stars, _, was_resolved, score in seeded["ratings"]:
        if was_resolved is not None:
            resolved[stars >= 4].append(was_resolved)
        if score is not None:
            nps[stars].append(score)
    assert mean(resolved[True]) > mean(resolved[False]) + 0.3
    assert mean(nps[5]) > mean(nps[3]) > mean(nps[1])
    went_well = [s for kind, _, s in seeded["tags"] if kind == "went_well"]
    to_improve = [s for kind, _, s in seeded["tags"] if kind == "to_improve"]
    assert mean(went_well) > 4.5 > mean(to_improve)
    assert "returns process" in {tag for kind, tag, _ in seeded["tags"]}


@pytest.mark.slow
def test_comments_are_varied_and_exercise_text_handling(seeded):
    comments = [(stars, c) for _, _, stars, c, _, _ in seeded["ratings"] if c]
    texts = {c for _, c in comments}
    assert len(texts) >= 100
    assert any('"' in c for c in texts)
    assert any(any(ord(ch) > 0xFFFF for ch in c) for c in texts), "emoji"
    assert any(any(0x80 <= ord(ch) <= 0x24F for ch in c) for c in texts), "accented letters"
    unhappy = {c for s, c in comments if s <= 2}
    happy = {c for s, c in comments if s == 5}
    assert unhappy and happy and not (unhappy & happy)


@pytest.mark.slow
def test_badges_notes_and_meta(seeded):
    value = {code for code, kind, _, _ in seeded["badges"] if kind == "value"}
    automatic = {code for code, kind, _, _ in seeded["badges"] if kind == "automatic"}
    assert value == {"creative", "empowering", "nimble", "trustful", "empathetic", "responsive"}
    assert automatic == {
        "first_five_star", "streak_10", "ratings_100", "ratings_500", "weekly_top",
        "most_improved", "perfect_week", "fcr_champion", "recovery_hero",
    }
    assert all(description and criteria for _, _, description, criteria in seeded["badges"])
    # Value awards (given by a leader) are keyed by UTC day, as leaderboard.badges keys them;
    # automatic ones (first 5★, weekly #1 ...) were earned by the seeded history.
    by_leader = [key for key, _, by in seeded["awards"] if by is not None]
    by_system = [key for key, _, by in seeded["awards"] if by is None]
    assert by_leader and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}#1", key) for key in by_leader)
    assert by_system
    assert all(awarded_at <= NOW for _, awarded_at, _ in seeded["awards"])

    notes = seeded["notes"]
    kinds = Counter(kind for kind, *_ in notes)
    assert kinds["praise"] > 2 * kinds["criticism"] > 0
    assert {v for k, v, *_ in notes if k == "praise"} == {"public", "private"}
    assert {v for k, v, *_ in notes if k == "criticism"} == {"private"}, "criticism is never public"
    assert all(role == "leader" for *_, role, _ in notes)
    assert all(rating_id is not None and created <= NOW for _, _, rating_id, created, _, _ in notes)
    assert NOW - min(created for _, _, _, created, _, _ in notes) > timedelta(days=30), "spread over the period"

    assert seeded["meta"]["demo"] == "1" and seeded["meta"]["seed"] == "7"


# --------------------------------------------------------------------------- first start


def test_ensure_seeded_seeds_only_an_empty_database(engine):
    assert is_empty(engine)
    assert ensure_seeded(engine, now=NOW, days=3) is True
    assert not is_empty(engine)
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(Interaction)).scalar()
    assert ensure_seeded(engine, now=NOW, days=3) is False
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Interaction)).scalar() == before
        assert conn.execute(select(func.count()).select_from(Agent)).scalar() >= 80


# --------------------------------------------------------------------------- commands


@pytest.mark.slow
def test_seed_command_refuses_a_database_with_agents(db_env, engine):
    result = run_cli("seed", "--days", "2", "--now", "2026-11-23T12:00")
    assert result.returncode == 0, result.stderr
    assert "90 agents" in result.stdout
    again = run_cli("seed", "--days", "2")
    assert again.returncode == 2
    assert "already has agents" in again.stderr and "--reset" in again.stderr
    assert "Traceback" not in again.stderr
    reset = run_cli("seed", "--days", "2", "--seed", "5", "--reset", "--db", db_env)
    assert reset.returncode == 0, reset.stderr
    with engine.connect() as conn:
        assert conn.execute(select(AppMeta.value).where(AppMeta.key == "seed")).scalar() == "5"


def test_simulate_adds_live_ratings(db_env, engine):
    seed_demo(engine=engine, seed=2, days=2)
    with engine.connect() as conn:
        before = {
            "ratings": conn.execute(select(func.count()).select_from(Rating)).scalar(),
            "interactions": conn.execute(select(func.count()).select_from(Interaction)).scalar(),
        }
    result = run_cli("simulate", "--rate", "600", "--duration", "2", "--seed", "1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) >= 3
    assert all("★" in line for line in lines)
    with engine.connect() as conn:
        ratings = conn.execute(select(func.count()).select_from(Rating)).scalar()
        interactions = conn.execute(select(func.count()).select_from(Interaction)).scalar()
        newest = conn.execute(select(func.max(Rating.rated_at))).scalar()
    assert ratings - before["ratings"] == len(lines)
    # Each rating comes with 1-3 unrated interactions, so about a third of customers answer.
    assert interactions - before["interactions"] >= 2 * len(lines)
    assert datetime.now(timezone.utc).replace(tzinfo=None) - newest < timedelta(minutes=2)


def test_simulate_stops_cleanly_on_ctrl_c(db_env, engine):
    seed_demo(engine=engine, seed=2, days=1)
    process = subprocess.Popen(
        [sys.executable, "-m", "leaderboard", "simulate", "--rate", "120"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        first = process.stdout.readline()
        assert "★" in first
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert "Traceback" not in err and "added" in err


def test_simulate_refuses_an_empty_database(db_env, engine):
    result = run_cli("simulate", "--duration", "1")
    assert result.returncode == 2
    assert "no active agents" in result.stderr and "seed" in result.stderr


# --------------------------------------------------------------------------- a demo that agrees with itself


def test_recovery_cases_are_owned_by_the_leader_of_the_agents_team(demo_db_url):
    engine = make_engine(demo_db_url, create=False)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(RecoveryCase.id, User.role, Team.leader_id, RecoveryCase.owner_id)
                .join(Rating, Rating.id == RecoveryCase.rating_id)
                .join(Agent, Agent.id == Rating.agent_id)
                .join(Team, Team.id == Agent.team_id)
                .join(User, User.id == RecoveryCase.owner_id)
            ).all()
    finally:
        engine.dispose()
    assert len(rows) > 20
    assert {role for _, role, _, _ in rows} == {"leader"}
    assert all(owner == leader for _, _, leader, owner in rows)


TAGALOG = ("salamat", "maraming", " po,", " po!", "ang bilis")
SERBIAN = ("hvala", "svaka čast", "rešeno", "ljubazno")


def test_customer_comments_fit_the_agents_site(demo_db_url):
    engine = make_engine(demo_db_url, create=False)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Site.name, Rating.comment)
                .join(Agent, Agent.id == Rating.agent_id)
                .join(Team, Team.id == Agent.team_id)
                .join(Site, Site.id == Team.site_id)
                .where(Rating.comment != "")
            ).all()
    finally:
        engine.dispose()
    by_site = defaultdict(list)
    for site, comment in rows:
        by_site[site].append(comment.casefold())
    speaks = lambda texts, words: sum(any(w in t for w in words) for t in texts)  # noqa: E731
    assert speaks(by_site["Belgrade"], TAGALOG) == 0
    assert speaks(by_site["New York"], TAGALOG) == 0
    assert speaks(by_site["Manila"], SERBIAN) == 0
    assert speaks(by_site["New York"], SERBIAN) == 0
    assert not any("merci" in t for texts in by_site.values() for t in texts)
    # Each site still thanks its agents in its own words.
    assert speaks(by_site["Manila"], TAGALOG) > 0
    assert speaks(by_site["Belgrade"], SERBIAN) > 0


def test_simulate_follows_each_sites_working_hours_and_says_so():
    result = run_cli("simulate", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "working hours" in text and "07:00" in text and "21:00" in text
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "follows each site's working hours" in readme
    people = [
        (Persona(name=f"{site} agent", team="T", site=site, skill=0.0, weakness="tone"), tz)
        for site, tz in (("Manila", "Asia/Manila"), ("Belgrade", "Europe/Belgrade"), ("New York", "America/New_York"))
    ]
    # 09:00 UTC in November: 17:00 in Manila, 10:00 in Belgrade, 04:00 in New York.
    assert {p.site for p in _on_shift(people, datetime(2026, 11, 23, 9, 0))} == {"Manila", "Belgrade"}
    # 16:00 UTC: 00:00 in Manila, 17:00 in Belgrade, 11:00 in New York.
    assert {p.site for p in _on_shift(people, datetime(2026, 11, 23, 16, 0))} == {"Belgrade", "New York"}
