"""Deterministic demo data: three sites, nine teams, ~90 agents, ~70 days of interactions.

The same ``seed`` and ``now`` always give the same database. Interactions and
ratings go through ``db.ingest.write_rows`` (the one write path); the
generators here (``Persona``, ``draw_interaction``) are reused by the live
simulator, so demo data and the live feed read alike.

Agents differ in latent skill; contact reasons differ in difficulty (returns
and billing rate lower); stars average about 4.5 with real 1-2★ ratings; about
35% of customers answer; comments and tags fit the stars.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable, Iterator, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from db.badge_store import ensure_badges
from db.ingest import CanonicalRow, write_rows
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
    utcnow,
)
from leaderboard.auth import DEMO_PASSWORD, SYSTEM_VIEWER, hash_password
from leaderboard.badge_rules import DEFAULT_CATALOGUE, VALUE_BADGES
from leaderboard.names import username_for

# Called inside the seeding transaction once the history is written: awards automatic badges
# (``leaderboard.badges.evaluate`` through ``leaderboard.demo``; storage never runs a use case itself).
AfterSeed = Callable[[Session, datetime], int]

DEFAULT_SEED = 7
DEFAULT_DAYS = 70

# --------------------------------------------------------------------------- the floor

# (site, time zone, earliest and latest local shift start hour, teams)
SITES = (
    ("New York", "America/New_York", (7, 12), ("Harbor", "Liberty", "Empire")),
    ("Manila", "Asia/Manila", (6, 13), ("Mabuhay", "Sampaguita", "Bayanihan")),
    ("Belgrade", "Europe/Belgrade", (7, 12), ("Danube", "Sava", "Kalemegdan")),
)
AGENTS_PER_TEAM = 10
SHIFT_HOURS = 8

FIRST_NAMES = {
    "New York": (
        "Maria", "Tyrone", "Emily", "Marcus", "Jasmine", "Kevin", "Rachel", "Darnell", "Sofia", "Brandon",
        "Ashley", "Luis", "Megan", "Andre", "Nicole", "Ryan", "Keisha", "Daniel", "Olivia", "Jamal",
        "Hannah", "Carlos", "Brianna", "Tyler", "Aaliyah", "Sean", "Priya", "Derek", "Gabriela", "Omar",
    ),
    "Manila": (
        "Angelica", "Paolo", "Kristine", "Mark", "Joy", "Carlo", "Mae", "Jerome", "Bea", "Rhea",
        "Miguel", "Patricia", "Jericho", "Camille", "Nico", "Aileen", "Ramon", "Katrina", "Jun", "Liza",
        "Francis", "Cherry", "Renz", "Princess", "Arvin", "Jenny", "Rodel", "Trisha", "Dennis", "Lovely",
    ),
    "Belgrade": (
        "Nikola", "Ivana", "Marko", "Milica", "Stefan", "Jelena", "Luka", "Ana", "Nemanja", "Teodora",
        "Aleksandar", "Marija", "Filip", "Jovana", "Dušan", "Katarina", "Vuk", "Sara", "Miloš", "Tijana",
        "Đorđe", "Nevena", "Uroš", "Mina", "Petar", "Anđela", "Bojan", "Dragana", "Ognjen", "Sanja",
    ),
}
LAST_NAMES = {
    "New York": (
        "Santos", "Walker", "Chen", "Johnson", "Rivera", "O'Brien", "Goldberg", "Williams", "Patel", "Kowalski",
        "Murphy", "Nguyen", "Jackson", "Romano", "Brooks", "Kim", "Harrington", "Diaz", "Fischer", "Bennett",
    ),
    "Manila": (
        "Reyes", "Santiago", "Cruz", "Bautista", "Dela Cruz", "Garcia", "Mendoza", "Villanueva", "Ramos",
        "Aquino", "Castillo", "Flores", "Navarro", "Tolentino", "Pascual", "Manalo", "Domingo", "Soriano",
        "Lim", "Tan",
    ),
    "Belgrade": (
        "Petrović", "Jovanović", "Marković", "Nikolić", "Đorđević", "Stojanović", "Ilić", "Pavlović",
        "Stanković", "Milošević", "Popović", "Kostić", "Todorović", "Lazić", "Simić", "Živković", "Ristić",
        "Babić", "Savić", "Krstić",
    ),
}
# Names that exercise non-ASCII text everywhere (wall, exports, usernames); always on the floor.
SPECIAL_AGENTS = (("José Núñez", "Manila"), ("Zoë Harrington", "New York"), ("Đorđe Živković", "Belgrade"))
LEADER_NAMES = (
    "Grace Kim", "Robert Alvarez", "Denise Carter",
    "Theresa Lopez", "Ronaldo Basa", "Carmela Ong",
    "Vesna Radović", "Igor Mitrović", "Tamara Vuković",
)
MANAGER = ("manager", "Dana Whitfield")
ADMIN = ("admin", "Administrator")

# (reason, share of contacts, effect on the latent rating score: negative is harder)
REASONS = (
    ("order status", 0.30, 0.45),
    ("technical support", 0.20, -0.05),
    ("returns", 0.15, -0.75),
    ("billing", 0.13, -0.65),
    ("account changes", 0.12, 0.25),
    ("delivery", 0.10, -0.15),
)
# (channel, share of contacts, effect on the score, share of customers who answer the survey)
CHANNELS = (
    ("phone", 0.40, 0.0, 0.33),
    ("chat", 0.30, 0.15, 0.42),
    ("email", 0.20, -0.20, 0.28),
    ("social", 0.10, -0.10, 0.31),
)
# Ordinal-logistic cut points: with a score of 0, P(5★)=0.76, P(≥4★)=0.92, P(≥3★)=0.96, P(≥2★)=0.98.
# Harder reasons, channels and weaker agents pull the floor's mean down to about 4.5.
CUTS = ((5, -1.15), (4, -2.4), (3, -3.15), (2, -3.85))

# --------------------------------------------------------------------------- customer voice

# A slot in PRAISE_COMMENTS filled with the thanks of the agent's own site: customers write to
# an agent in the language of the site's market (no "Salamat po" in Belgrade). Three slots, so
# the draws (and with them the whole demo floor) are the same as before the comments were localised.
LOCAL_THANKS = "{local thanks}"
THANKS_BY_SITE = {
    "New York": ("Thank you so much, {name}! Very kind.", "Appreciate it, {name}. Sorted in five minutes.", "Awesome job, thanks a ton!"),
    "Manila": ("Salamat po, {name}! Very kind.", "Maraming salamat, {name}! Ang bilis.", "Thank you po, {name}, very patient."),
    "Belgrade": ("Hvala puno! Sve je rešeno za pet minuta.", "Hvala, {name}, baš ljubazno.", "Svaka čast, {name}! Odlična usluga."),
}

PRAISE_COMMENTS = (
    "{name} was fantastic, sorted everything in one go.",
    "Quick, friendly and knew exactly what to do. Thank you!",
    "Best customer service I've had in years 🙌",
    "{name} actually listened. Rare these days.",
    "Super helpful and explained everything clearly.",
    "Honestly didn't expect it to be this easy. 10/10",
    '{name} said "leave it with me" and meant it.',
    "Patient with me even though I was frustrated. Much appreciated 😊",
    "Thanks {name}! Problem solved in five minutes.",
    "Great service ⭐⭐⭐⭐⭐",
    "{name} went above and beyond and checked back that it had worked.",
    LOCAL_THANKS,
    LOCAL_THANKS,
    LOCAL_THANKS,
    "Couldn't have asked for more.",
    "Friendly and professional from start to finish.",
    "Lovely person, made my day.",
    "Fast and no fuss. Exactly what I needed.",
)
GOOD_COMMENTS = (
    "Good help overall, just a bit of a wait to get through.",
    "Sorted in the end. Took a couple of tries.",
    "Friendly, but I had to repeat my order number twice.",
    "Pretty good. Would have liked a confirmation email.",
    "{name} was nice, the process is the slow part.",
    "All fine 👍",
    "Helpful. The hold music, less so.",
    "Solved, though I'm not 100% sure what happens next.",
)
MIXED_COMMENTS = (
    "It got sorted, eventually.",
    "OK, but I was transferred twice before reaching the right person.",
    "The answer was correct but hard to follow.",
    "Meh. Felt like reading from a script.",
    "Half solved. Still waiting on the refund.",
    "The policy makes no sense but {name} tried.",
    "Took longer than it should have.",
)
POOR_COMMENTS = (
    "Took far too long and I still had to call back.",
    "Didn't seem to know the product.",
    'I was told "someone will email you". Nobody did.',
    "Felt rushed off the phone.",
    "Wrong information about my refund.",
    "Had to explain everything three times.",
)
ANGRY_COMMENTS = (
    "Waste of time. Problem not fixed.",
    "Rude and unhelpful 😡",
    "Hung up on me. Awful.",
    "Third time contacting you about the same charge. Still wrong!!",
    "Nobody could tell me anything. Never again.",
    "Worst experience, cancelling my account.",
)
COMMENTS_BY_STARS = {5: PRAISE_COMMENTS, 4: GOOD_COMMENTS, 3: MIXED_COMMENTS, 2: POOR_COMMENTS, 1: ANGRY_COMMENTS}
# Share of answering customers who write something, by stars (unhappy customers write more).
COMMENT_RATE = {5: 0.5, 4: 0.45, 3: 0.6, 2: 0.8, 1: 0.85}
REASON_DETAILS = {
    "order status": ("Found my parcel straight away.", "Nobody knows where my order is."),
    "technical support": ("Walked me through the reset step by step.", "Still can't log in."),
    "returns": ("Return label arrived before I'd even hung up.", "The returns policy is a maze."),
    "billing": ("Explained the charges line by line.", "Still charged twice."),
    "account changes": ("Address updated, no fuss.", "The change didn't go through."),
    "delivery": ("Rebooked the delivery for a day that suits me.", "Parcel still missing."),
}
WENT_WELL = (
    "friendly", "quick", "knowledgeable", "clear explanation", "patient", "empathetic",
    "solved first time", "went the extra mile", "kept me informed",
)
WEAKNESSES = ("product knowledge", "clarity", "tone", "follow-up", "listening", "wait time")
REASON_TO_IMPROVE = {"returns": "returns process", "billing": "billing accuracy", "delivery": "follow-up"}
RESOLVED_RATE = {5: 0.94, 4: 0.83, 3: 0.5, 2: 0.2, 1: 0.07}
NPS_RANGE = {5: (8, 10), 4: (6, 9), 3: (4, 7), 2: (1, 5), 1: (0, 3)}

# --------------------------------------------------------------------------- leaders' voice

PRAISE_NOTES = (
    "Great {reason} call: calm, clear and solved first time. Keep doing exactly that.",
    "Loved how you explained the {reason} steps in plain words. The customer noticed.",
    "Shout-out: the customer named you in their comment. Brilliant work.",
    "Nice ownership on that {reason} case; you followed up without being asked.",
    "Textbook wrap-up on this one: summary, next steps, thank you.",
    "The customer said you were patient and clear. That's the standard we want.",
    "You turned a frustrated {reason} customer around. Well done!",
)
CRITICISM_NOTES = (
    "Let's look at this {reason} contact together: the customer felt rushed. Confirm the issue back before solving.",
    "The rating mentions {tag}. Check the knowledge base before promising a date.",
    "Two transfers on this one. Next time own it and do a warm hand-off to the specialist.",
    "The customer wasn't sure what happens next. End with a clear summary of next steps.",
    "Tone came across short on this {reason} contact. Let's go through the phrasing in our 1:1.",
)

VALUE_AWARD_REASONS = {
    "creative": "Found a workaround for a customer whose voucher code kept failing.",
    "empowering": "Showed a customer how to track every future order themselves.",
    "nimble": "Jumped onto the chat queue during the outage and kept quality up.",
    "trustful": "Called the customer back exactly when promised, twice.",
    "empathetic": "Stayed calm and kind with a customer dealing with a bereavement.",
    "responsive": "Cleared the email backlog before the weekend and kept everyone informed.",
}


# --------------------------------------------------------------------------- generators


@dataclass(frozen=True)
class Persona:
    """What the generators know about an agent: who they are and how good they are."""

    name: str
    team: str
    site: str
    skill: float  # added to the latent rating score (0 is an average agent)
    weakness: str  # the to-improve tag their unhappy customers pick most


def first_name(name: str) -> str:
    return name.split()[0]


def _weighted(rng: random.Random, table: Sequence[tuple], weight_index: int = 1) -> tuple:
    return rng.choices(table, weights=[t[weight_index] for t in table])[0]


def _logistic(rng: random.Random) -> float:
    u = rng.random() or 1e-12
    return math.log(u / (1 - u))


def stars_for(score: float) -> int:
    """Stars for a latent score (the score already carries the customer's noise)."""
    for stars, cut in CUTS:
        if score > cut:
            return stars
    return 1


def expected_stars(skill: float) -> float:
    """Mean stars of an agent with this skill over the usual mix of contacts."""
    total = 0.0
    for _, r_share, r_effect in REASONS:
        for _, c_share, c_effect, _ in CHANNELS:
            mu = skill + r_effect + c_effect
            p = [1 / (1 + math.exp(-(mu - cut))) for _, cut in CUTS]  # P(≥5), P(≥4), P(≥3), P(≥2)
            total += r_share * c_share * (1 + sum(p))
    return total


def skill_for_average(average: float) -> float:
    """The skill whose expected stars are closest to ``average`` (for agents seen only through their ratings)."""
    return min((s / 20 for s in range(-60, 61)), key=lambda s: abs(expected_stars(s) - average))


def comment_for(rng: random.Random, *, stars: int, reason: str, name: str, site: str | None = None) -> str:
    """A customer's comment that fits the stars and the agent's site (empty when they wrote nothing)."""
    if rng.random() >= COMMENT_RATE[stars]:
        return ""
    table = COMMENTS_BY_STARS[stars]
    index = rng.randrange(len(table))
    text = table[index]
    if text == LOCAL_THANKS:
        # No further draw: the slot's position picks one of the site's thanks.
        local = THANKS_BY_SITE.get(site or "", THANKS_BY_SITE["New York"])
        text = local[table[:index].count(LOCAL_THANKS) % len(local)]
    text = text.format(name=first_name(name))
    details = REASON_DETAILS.get(reason)
    if details and rng.random() < 0.35:
        detail = details[0] if stars >= 4 else details[1]
        text = f"{detail} {text}" if rng.random() < 0.5 else f"{text} {detail}"
    return text


def tags_for(
    rng: random.Random, *, stars: int, reason: str, weakness: str
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(went_well, to_improve) tags a customer ticks, fitting the stars."""
    went_well: list[str] = []
    to_improve: list[str] = []
    if stars >= 4 and rng.random() < 0.75:
        went_well = rng.sample(WENT_WELL, k=rng.choice((1, 1, 2, 2, 3)))
    if stars == 3 and rng.random() < 0.4:
        went_well = [rng.choice(WENT_WELL[:5])]
    if stars <= 3 or (stars == 4 and rng.random() < 0.3):
        picks = 1 if stars >= 3 else rng.choice((1, 2, 2))
        pool = [weakness] * 3 + list(WEAKNESSES)
        if reason in REASON_TO_IMPROVE:
            pool += [REASON_TO_IMPROVE[reason]] * 3
        while len(to_improve) < picks:
            tag = rng.choice(pool)
            if tag not in to_improve:
                to_improve.append(tag)
    return tuple(went_well), tuple(to_improve)


def draw_interaction(
    rng: random.Random,
    *,
    persona: Persona,
    interaction_id: str,
    closed_at: datetime,
    now: datetime,
    answered: bool | None = None,
    rated_at: datetime | None = None,
) -> CanonicalRow:
    """One interaction of ``persona`` closed at ``closed_at`` (naive UTC) and, maybe, its rating.

    ``answered`` None lets the channel's response rate decide; a rating that
    would arrive after ``now`` has not arrived yet.
    """
    channel, _, channel_effect, response_rate = _weighted(rng, CHANNELS)
    reason, _, reason_effect = _weighted(rng, REASONS)
    row = CanonicalRow(
        interaction_id=interaction_id,
        agent=persona.name,
        team=persona.team,
        site=persona.site,
        channel=channel,
        contact_reason=reason,
        closed_at=closed_at,
    )
    if answered is None:
        answered = rng.random() < response_rate
    if not answered:
        return row
    if rated_at is None:
        # Most answers come within the hour, some the next day.
        rated_at = closed_at + timedelta(minutes=min(rng.lognormvariate(3.0, 1.1), 36 * 60))
    if rated_at > now:
        return row
    stars = stars_for(persona.skill + reason_effect + channel_effect + _logistic(rng))
    went_well, to_improve = tags_for(rng, stars=stars, reason=reason, weakness=persona.weakness)
    resolved = None if rng.random() < 0.12 else rng.random() < RESOLVED_RATE[stars]
    nps = None if rng.random() < 0.2 else rng.randint(*NPS_RANGE[stars])
    return replace(
        row,
        rated_at=rated_at.replace(microsecond=0),
        stars=stars,
        comment=comment_for(rng, stars=stars, reason=reason, name=persona.name, site=persona.site),
        resolved=resolved,
        nps=nps,
        went_well=went_well,
        to_improve=to_improve,
    )


def live_personas(*, session: Session) -> list[tuple[Persona, str]]:
    """Active agents as personas, with their site's time zone, for the live simulator.

    Skill is read back from each agent's average stars (the seed's latent skill
    is not stored); weakness from their most frequent to-improve tag.
    """
    rows = session.execute(
        select(Agent.name, Team.name, Site.name, Site.timezone, func.avg(Rating.stars), func.count(Rating.id))
        .join(Team, Team.id == Agent.team_id)
        .join(Site, Site.id == Team.site_id)
        .outerjoin(Rating, Rating.agent_id == Agent.id)
        .where(Agent.active.is_(True))
        .group_by(Agent.name, Team.name, Site.name, Site.timezone)
        .order_by(Agent.name)
    ).all()
    weakness_rows = session.execute(
        select(Agent.name, RatingTag.tag, func.count())
        .join(Rating, Rating.agent_id == Agent.id)
        .join(RatingTag, RatingTag.rating_id == Rating.id)
        .where(RatingTag.kind == "to_improve")
        .group_by(Agent.name, RatingTag.tag)
        .order_by(Agent.name, func.count().desc(), RatingTag.tag)
    ).all()
    weakness: dict[str, str] = {}
    for name, tag, _ in weakness_rows:
        weakness.setdefault(name, tag)
    personas = []
    for name, team, site, tz, average, count in rows:
        # Fewer than 10 ratings says little about skill: treat the agent as average.
        skill = skill_for_average(float(average)) if count >= 10 else 0.0
        persona = Persona(name=name, team=team, site=site, skill=skill, weakness=weakness.get(name, "wait time"))
        personas.append((persona, tz))
    return personas


# --------------------------------------------------------------------------- the demo floor


@dataclass(frozen=True)
class _SeedAgent:
    persona: Persona
    timezone: str
    shift_start: int  # local hour
    days_off: frozenset[int]  # weekday numbers, Monday = 0
    start: date | None  # first working day of a new hire (None: worked the whole period)
    hide_from_wall: bool
    has_account: bool


@dataclass(frozen=True)
class _SeedTeam:
    name: str
    site: str
    timezone: str
    leader: str


def _plan_floor(rng: random.Random, today: date) -> tuple[list[_SeedTeam], list[_SeedAgent]]:
    teams: list[_SeedTeam] = []
    agents: list[_SeedAgent] = []
    leader_names = iter(LEADER_NAMES)
    for site, tz, (early, late), team_names in SITES:
        names: list[str] = [n for n, s in SPECIAL_AGENTS if s == site]
        firsts = list(FIRST_NAMES[site])
        rng.shuffle(firsts)
        for first in firsts:
            if len(names) >= AGENTS_PER_TEAM * len(team_names):
                break
            candidate = f"{first} {rng.choice(LAST_NAMES[site])}"
            if candidate not in names and first not in {n.split()[0] for n in names}:
                names.append(candidate)
        rng.shuffle(names)
        for t, team in enumerate(team_names):
            teams.append(_SeedTeam(name=team, site=site, timezone=tz, leader=next(leader_names)))
            for i, name in enumerate(names[t * AGENTS_PER_TEAM : (t + 1) * AGENTS_PER_TEAM]):
                # Mostly weekends off; a contact center is open every day, so some rotate.
                off_start = rng.choices((5, 0, 1, 2, 3, 4, 6), weights=(12, 2, 2, 1, 1, 1, 2))[0]
                persona = Persona(
                    name=name,
                    team=team,
                    site=site,
                    skill=round(rng.gauss(0.0, 0.55), 3),
                    weakness=rng.choice(WEAKNESSES),
                )
                agents.append(
                    _SeedAgent(
                        persona=persona,
                        timezone=tz,
                        shift_start=rng.randint(early, late),
                        days_off=frozenset({off_start, (off_start + 1) % 7}),
                        start=None,
                        hide_from_wall=False,
                        has_account=i == 0 or name in {n for n, _ in SPECIAL_AGENTS},
                    )
                )
    # A few new hires with only a handful of ratings, and two agents who asked to stay off the wall.
    order = list(range(len(agents)))
    rng.shuffle(order)
    special = {n for n, _ in SPECIAL_AGENTS}
    candidates = [i for i in order if agents[i].persona.name not in special]
    for i in candidates[:3]:
        agents[i] = replace(agents[i], start=today - timedelta(days=rng.randint(2, 5)))
    for i in candidates[3:5]:
        agents[i] = replace(agents[i], hide_from_wall=True)
    return teams, agents


def _interactions(
    rng: random.Random, agents: list[_SeedAgent], *, now: datetime, days: int
) -> Iterator[CanonicalRow]:
    """Every demo interaction, agent by agent and day by day, inside each site's working hours."""
    number = 0
    now_aware = now.replace(tzinfo=timezone.utc)
    for agent in agents:
        zone = ZoneInfo(agent.timezone)
        today = now_aware.astimezone(zone).date()
        for back in range(days - 1, -1, -1):
            day = today - timedelta(days=back)
            if agent.start is not None and day < agent.start:
                continue
            if day.weekday() in agent.days_off or rng.random() < 0.03:  # 3%: sick or on leave
                continue
            shift = datetime.combine(day, time(agent.shift_start), tzinfo=zone)
            offsets = sorted(rng.uniform(0.05, SHIFT_HOURS) for _ in range(rng.randint(11, 18)))
            for hours in offsets:
                closed = (shift + timedelta(hours=hours)).astimezone(timezone.utc).replace(tzinfo=None, microsecond=0)
                if closed > now:
                    break
                number += 1
                yield draw_interaction(
                    rng, persona=agent.persona, interaction_id=f"DEMO-{number:06d}", closed_at=closed, now=now
                )


def _normalize_now(now: datetime | None) -> datetime:
    if now is None:
        return utcnow().replace(microsecond=0)
    if now.tzinfo is not None:
        now = now.astimezone(timezone.utc).replace(tzinfo=None)
    return now


def is_empty(engine: Engine) -> bool:
    """True when the database has no agents (nothing to show, nothing to lose)."""
    with engine.connect() as conn:
        return not conn.execute(select(func.count()).select_from(Agent.__table__)).scalar()


def ensure_seeded(
    engine: Engine,
    *,
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    days: int = DEFAULT_DAYS,
    after_seed: AfterSeed | None = None,
) -> bool:
    """Seed demo data when the database has no agents (first start of the app); True if it did."""
    if not is_empty(engine):
        return False
    try:
        seed_demo(engine=engine, seed=seed, now=now, days=days, after_seed=after_seed)
    except _AlreadySeeded:
        return False
    return True


class _AlreadySeeded(Exception):
    """Another process created the floor first."""


def seed_demo(
    *,
    engine: Engine,
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    days: int = DEFAULT_DAYS,
    after_seed: AfterSeed | None = None,
) -> dict[str, int]:
    """Fill an empty database with the demo floor; returns how many of each thing were made.

    ``after_seed(session, now)`` runs once the history is committed and returns how many awards it
    made (``leaderboard.demo`` passes the real badge evaluation: this module has no badge rules of
    its own). Without it no automatic badge is awarded.
    """
    now = _normalize_now(now)
    rng = random.Random(seed)
    site_tz = {site: tz for site, tz, _, _ in SITES}
    today = now.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(site_tz["New York"])).date()
    teams, agents = _plan_floor(rng, today)
    start = now - timedelta(days=days)

    user_ids = _create_floor(engine=engine, teams=teams, agents=agents, now=start)
    report = write_rows(engine=engine, viewer=SYSTEM_VIEWER, rows=_interactions(rng, agents, now=now, days=days))

    with Session(engine) as session:
        notes = _coaching_notes(session=session, rng=rng, teams=teams, agents=agents, user_ids=user_ids, now=now)
        badges = _badges(session=session)
        awards = _value_awards(
            session=session, rng=rng, teams=teams, agents=agents, user_ids=user_ids, badges=badges, now=now, days=days
        )
        cases = _recovery_history(session=session, rng=rng, now=now)
        _demo_passwords(session=session)
        session.commit()
        if after_seed is not None:
            # Milestone badges the history has earned (first 5★, 100 ratings, weekly #1 ...).
            awards += after_seed(session, now)
        session.add(AppMeta(key="demo", value="1"))
        session.add(AppMeta(key="seed", value=str(seed)))
        session.add(AppMeta(key="seeded_at", value=now.isoformat()))
        session.commit()
        ratings = session.execute(select(func.count()).select_from(Rating.__table__)).one()[0]
        tags = session.execute(select(func.count()).select_from(RatingTag.__table__)).one()[0]
        stars = session.execute(select(func.coalesce(func.sum(Rating.stars), 0))).one()[0]
    return {
        "sites": len(SITES),
        "teams": len(teams),
        "agents": len(agents),
        "users": len(user_ids),
        "interactions": report.inserted,
        "ratings": int(ratings),
        "stars_sum": int(stars),
        "tags": int(tags),
        "coaching_notes": notes,
        "badges": len(badges),
        "badge_awards": awards,
        "recovery_cases": cases,
    }


def _demo_passwords(*, session: Session) -> None:
    """Every seeded account is a demo account and signs in with DEMO_PASSWORD (only on this demo database)."""
    # One argon2 hash for all demo accounts: hashing is slow on purpose.
    hashed = hash_password(DEMO_PASSWORD)
    for user in session.scalars(select(User)).all():
        user.password_hash = hashed
        user.demo = True
        session.add(user)


def _recovery_history(*, session: Session, rng: random.Random, now: datetime) -> int:
    """Give the cases the import opened a believable past: old ones worked and closed, recent ones open.

    The write path opens every case "now"; here each is dated from its rating, and cases
    older than a day were contacted (mostly in time), closed, and often followed up.
    """
    # Each case is owned by the leader of the rated agent's team: never by an agent, never across sites.
    rows = session.exec(
        select(RecoveryCase, Rating.rated_at, Rating.stars, Team.leader_id)
        .join(Rating, Rating.id == RecoveryCase.rating_id)
        .join(Agent, Agent.id == Rating.agent_id)
        .join(Team, Team.id == Agent.team_id)
        .order_by(RecoveryCase.id)
    ).all()
    for case, rated_at, stars, leader_id in rows:
        case.opened_at = rated_at + timedelta(minutes=1)
        case.due_at = case.opened_at + timedelta(hours=2)
        age = now - case.opened_at
        if age < timedelta(hours=20):
            # Today's queue: some claimed and contacted, the rest open (a few of them overdue).
            if rng.random() < 0.35 and age > timedelta(minutes=40):
                case.status = "contacted"
                case.owner_id = leader_id
                case.contacted_at = case.opened_at + timedelta(minutes=rng.randint(10, 40))
            session.add(case)
            continue
        case.owner_id = leader_id
        late = rng.random() < 0.15
        minutes = rng.randint(130, 600) if late else rng.randint(8, 115)
        case.contacted_at = case.opened_at + timedelta(minutes=minutes)
        case.closed_at = case.contacted_at + timedelta(minutes=rng.randint(5, 240))
        case.status = "no_response" if rng.random() < 0.18 else "resolved"
        if case.status == "resolved" and rng.random() < 0.65:
            # Well-run recovery: follow-ups several times the original rating.
            case.followup_stars = rng.choices([2, 3, 4, 5], weights=[1, 2, 4, 6])[0]
        case.notes = "Called the customer back; " + ("put it right." if case.status == "resolved" else "no answer.")
        session.add(case)
    return len(rows)


def _create_floor(
    *, engine: Engine, teams: list[_SeedTeam], agents: list[_SeedAgent], now: datetime
) -> dict[str, int]:
    """Sites, users, teams and agents in one transaction; user ids by person name (plus manager/admin)."""
    site_tz = {site: tz for site, tz, _, _ in SITES}
    user_ids: dict[str, int] = {}
    try:
        with Session(engine) as session:
            sites = {name: Site(name=name, timezone=tz) for name, tz in site_tz.items()}
            session.add_all(sites.values())
            people = [(MANAGER[0], MANAGER[1], "manager"), (ADMIN[0], ADMIN[1], "admin")]
            people += [(username_for(t.leader), t.leader, "leader") for t in teams]
            people += [(username_for(a.persona.name), a.persona.name, "agent") for a in agents if a.has_account]
            users = {}
            for username, display, role in people:
                users[display] = User(username=username, display_name=display, role=role, created_at=now)
            session.add_all(users.values())
            session.flush()
            team_rows = {}
            for t in teams:
                team_rows[(t.site, t.name)] = Team(name=t.name, site_id=sites[t.site].id, leader_id=users[t.leader].id)
            session.add_all(team_rows.values())
            session.flush()
            for a in agents:
                p = a.persona
                session.add(
                    Agent(
                        name=p.name,
                        display_name=p.name,
                        team_id=team_rows[(p.site, p.team)].id,
                        user_id=users[p.name].id if a.has_account else None,
                        hide_from_wall=a.hide_from_wall,
                    )
                )
            session.commit()
            user_ids = {display: user.id for display, user in users.items()}
    except IntegrityError as exc:
        raise _AlreadySeeded(str(exc.orig)) from None
    return user_ids


def _candidate_ratings(session: Session) -> dict[str, list[tuple]]:
    """Ratings worth a coaching note, by agent name: (rating id, stars, rated_at, reason, interaction id, tag)."""
    tag = (
        select(func.min(RatingTag.tag))
        .where(RatingTag.rating_id == Rating.id, RatingTag.kind == "to_improve")
        .scalar_subquery()
    )
    stmt = (
        select(Agent.name, Rating.id, Rating.stars, Rating.rated_at, Interaction.contact_reason, Interaction.interaction_id, tag)
        .join(Interaction, Interaction.id == Rating.interaction_id)
        .join(Agent, Agent.id == Rating.agent_id)
        .where((Rating.stars == 5) | (Rating.stars <= 3))
        # Ordered by the external id, so the same seed picks the same ratings on any database.
        .order_by(Interaction.interaction_id)
    )
    found: dict[str, list[tuple]] = defaultdict(list)
    for name, *rest in session.execute(stmt):
        found[name].append(tuple(rest))
    return found


def _coaching_notes(
    *,
    session: Session,
    rng: random.Random,
    teams: list[_SeedTeam],
    agents: list[_SeedAgent],
    user_ids: dict[str, int],
    now: datetime,
) -> int:
    """Leaders' notes about specific ratings: mostly praise (public or 1:1), criticism always 1:1."""
    leader_of = {(t.site, t.name): t.leader for t in teams}
    # Some leaders hit 5:1, some lean on criticism: the ratio screens have something to show.
    praise_share = {t.leader: rng.choice((0.92, 0.85, 0.8, 0.7, 0.55)) for t in teams}
    agent_ids = dict(session.execute(select(Agent.name, Agent.id)).all())
    candidates = _candidate_ratings(session)
    count = 0
    for agent in agents:
        p = agent.persona
        leader = leader_of[(p.site, p.team)]
        ratings = candidates.get(p.name, [])
        praise_pool = [r for r in ratings if r[1] == 5]
        critic_pool = [r for r in ratings if r[1] <= 3]
        for _ in range(rng.randint(2, 7) if ratings else 0):
            praise = rng.random() < praise_share[leader] or not critic_pool
            pool = praise_pool if praise else critic_pool
            if not pool:
                continue
            rating_id, _stars, rated_at, reason, _iid, tag = rng.choice(pool)
            template = rng.choice(PRAISE_NOTES if praise else CRITICISM_NOTES)
            created = min(rated_at + timedelta(hours=rng.uniform(0.5, 30)), now)
            session.add(
                CoachingNote(
                    agent_id=agent_ids[p.name],
                    author_id=user_ids[leader],
                    kind="praise" if praise else "criticism",
                    # Motivate in public, develop face-to-face: criticism is never public.
                    visibility=("public" if rng.random() < 0.6 else "private") if praise else "private",
                    rating_id=rating_id,
                    text=template.format(reason=reason or "customer", tag=tag or "what could improve"),
                    created_at=created.replace(microsecond=0),
                )
            )
            count += 1
    session.flush()
    return count


def _badges(*, session: Session) -> dict[str, int]:
    """The default badge catalogue of ``leaderboard.badge_rules`` (missing codes only); badge ids by code."""
    ensure_badges(session=session, specs=DEFAULT_CATALOGUE, commit=False)
    return dict(session.execute(select(Badge.code, Badge.id)).all())


def _value_awards(
    *,
    session: Session,
    rng: random.Random,
    teams: list[_SeedTeam],
    agents: list[_SeedAgent],
    user_ids: dict[str, int],
    badges: dict[str, int],
    now: datetime,
    days: int,
) -> int:
    """Weekly value badges from each leader over the period (the wall's "badges this week")."""
    agent_ids = dict(session.execute(select(Agent.name, Agent.id)).all())
    by_team: dict[tuple[str, str], list[str]] = defaultdict(list)
    for a in agents:
        if a.start is None:
            by_team[(a.persona.site, a.persona.team)].append(a.persona.name)
    count = 0
    this_monday = datetime.combine(now.date() - timedelta(days=now.weekday()), time())
    for week_back in range(days // 7, -1, -1):
        monday = this_monday - timedelta(days=7 * week_back)
        for t in teams:
            if rng.random() > 0.75:
                continue
            name = rng.choice(by_team[(t.site, t.name)])
            code = rng.choice(VALUE_BADGES).code
            # Some time during that week (this week: before now).
            span = min(now, monday + timedelta(days=7)) - monday
            awarded = monday + span * rng.random()
            if awarded < now - timedelta(days=days):
                continue  # before the demo period
            session.add(
                BadgeAward(
                    badge_id=badges[code],
                    agent_id=agent_ids[name],
                    awarded_by_id=user_ids[t.leader],
                    awarded_by=username_for(t.leader),
                    awarded_at=awarded.replace(microsecond=0),
                    reason=VALUE_AWARD_REASONS[code],
                    # A value award not tied to one rating is keyed by its UTC day (see leaderboard.badges).
                    period_key=f"{awarded.date().isoformat()}#1",
                )
            )
            count += 1
    session.flush()
    return count


__all__ = [
    "CHANNELS",
    "DEFAULT_SEED",
    "Persona",
    "REASONS",
    "comment_for",
    "draw_interaction",
    "ensure_seeded",
    "expected_stars",
    "is_empty",
    "live_personas",
    "seed_demo",
    "skill_for_average",
    "stars_for",
    "tags_for",
    "username_for",
]
