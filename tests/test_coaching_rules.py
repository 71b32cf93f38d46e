"""Micro-coaching prompts: each rule fires on its scenario and stays silent just outside it.

Every case is built with the ORM on a fresh database (SQLite, or PostgreSQL
with TEST_DATABASE_URL) and ``generate_prompts`` runs at a fixed NOW, a
Wednesday, in a UTC site (so "this week" starts Monday 2026-11-23 00:00).
Window edges, as documented in ``leaderboard.coaching``: "new" is at most
48 h old (inclusive), a 14-day window includes a rating exactly 14 × 24 h old,
a check-in is due exactly 7 × 24 h after the last note.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pandas as pd
import pytest
from sqlmodel import Session, select

from db.models import (
    AppMeta,
    Agent,
    AuditLog,
    CoachingNote,
    CoachingPrompt,
    Interaction,
    Rating,
    RatingTag,
    Site,
    Team,
    User,
)
from leaderboard import coaching, ratios
from leaderboard.auth import SYSTEM_VIEWER, Viewer
from leaderboard.coaching import CoachingError, CoachingRules
from leaderboard.settings import Settings

NOW = datetime(2026, 11, 25, 12, 0)  # a Wednesday
H = timedelta(hours=1)
D = timedelta(days=1)
SETTINGS = Settings()  # ratio target 5, min ratings 5, prior weight 10


@dataclass
class Floor:
    """A small contact centre built with the ORM: sites, teams, leaders, agents; helpers add ratings and notes."""

    session: Session
    sites: dict[str, Site] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    agents: dict[str, Agent] = field(default_factory=dict)
    _seq: int = 1000

    def site(self, name: str, tz: str = "UTC") -> Site:
        site = Site(name=name, timezone=tz)
        self.session.add(site)
        self.session.flush()
        self.sites[name] = site
        return site

    def user(self, username: str, role: str = "leader", **kw) -> User:
        user = User(username=username, display_name=kw.pop("display_name", username.title()), role=role, **kw)
        self.session.add(user)
        self.session.flush()
        self.users[username] = user
        return user

    def team(self, name: str, *, site: str = "Main", leader: str | None = None) -> Team:
        if site not in self.sites:
            self.site(site)
        leader_id = None
        if leader:
            leader_id = (self.users.get(leader) or self.user(leader)).id
        team = Team(name=name, site_id=self.sites[site].id, leader_id=leader_id)
        self.session.add(team)
        self.session.flush()
        self.teams[name] = team
        return team

    def agent(self, name: str, *, team: str = "Alpha", hide: bool = False, active: bool = True) -> Agent:
        agent = Agent(name=name, display_name=name, team_id=self.teams[team].id, hide_from_wall=hide, active=active)
        self.session.add(agent)
        self.session.flush()
        self.agents[name] = agent
        return agent

    def rate(self, agent: str, stars: int, ago: timedelta, *, comment: str = "", improve=(), well=(),
             excluded: str | None = None, flush: bool = True) -> Rating:
        self._seq += 1
        at = NOW - ago
        inter = Interaction(interaction_id=f"I-{self._seq}", agent_id=self.agents[agent].id, channel="phone", closed_at=at)
        self.session.add(inter)
        self.session.flush()
        rating = Rating(interaction_id=inter.id, agent_id=self.agents[agent].id, stars=stars, comment=comment,
                        rated_at=at, excluded_cause=excluded)
        self.session.add(rating)
        self.session.flush()
        for tag in improve:
            self.session.add(RatingTag(rating_id=rating.id, kind="to_improve", tag=tag))
        for tag in well:
            self.session.add(RatingTag(rating_id=rating.id, kind="went_well", tag=tag))
        if flush:
            self.session.flush()
        return rating

    def note(self, agent: str, kind: str, ago: timedelta, *, by: str = "lead.a", visibility: str = "private") -> CoachingNote:
        note = CoachingNote(agent_id=self.agents[agent].id, author_id=self.users[by].id, kind=kind,
                            visibility=visibility, text=f"{kind} note", created_at=NOW - ago)
        self.session.add(note)
        self.session.flush()
        return note

    def viewer(self, username: str) -> Viewer:
        from db.accounts import viewer_for_user

        return viewer_for_user(session=self.session, user=self.users[username])


@pytest.fixture
def floor(session) -> Floor:
    """Site Main (UTC): team Alpha led by lead.a (Ann, Bob, Cy, Dee), team Beta led by lead.b (Eve); an admin."""
    f = Floor(session)
    f.site("Main")
    f.user("admin", role="admin")
    f.team("Alpha", leader="lead.a")
    f.team("Beta", leader="lead.b")
    for name in ("Ann Lee", "Bob Cruz", "Cy Diaz", "Dee Moss"):
        f.agent(name)
    f.agent("Eve Ng", team="Beta")
    session.commit()
    return f


def run(f: Floor, rules: CoachingRules | None = None, now: datetime = NOW) -> list[CoachingPrompt]:
    f.session.commit()
    return coaching.generate_prompts(session=f.session, now=now, rules=rules, settings=SETTINGS)


def of_rule(prompts, rule: str) -> list[CoachingPrompt]:
    return [p for p in prompts if p.rule == rule]


# --- one case table for every rule: (scenario, rule, prompts expected) -------------------------


def _tagged(f, agent, ages, tag="patience", stars=2, **kw):
    for age in ages:
        f.rate(agent, stars, age, improve=(tag,), **kw)


def _five_in_a_row(f, agent, n, *, latest=H, gap=H):
    for i in range(n):
        f.rate(agent, 5, latest + gap * (n - 1 - i))


def _group(f, counts: dict[str, int], tag: str = "returns"):
    """Each agent's ``counts[agent]`` 3★ ratings naming ``tag``, a day apart from 5 days ago."""
    for agent, n in counts.items():
        for i in range(n):
            f.rate(agent, 3, 5 * D + i * D, improve=(tag,))


CASES = [
    # praise-rating: a new 4–5★ rating with a comment
    ("praise: 5★ with comment 1 h ago", lambda f: f.rate("Ann Lee", 5, H, comment="so patient"), "praise-rating", 1),
    ("praise: 4★ with comment", lambda f: f.rate("Ann Lee", 4, H, comment="nice"), "praise-rating", 1),
    ("praise: exactly 48 h old is still new", lambda f: f.rate("Ann Lee", 5, 48 * H, comment="great"), "praise-rating", 1),
    ("praise: 48 h + 1 s is not new", lambda f: f.rate("Ann Lee", 5, 48 * H + timedelta(seconds=1), comment="great"), "praise-rating", 0),
    ("praise: 3★ with comment", lambda f: f.rate("Ann Lee", 3, H, comment="ok"), "praise-rating", 0),
    ("praise: 5★ without comment", lambda f: f.rate("Ann Lee", 5, H), "praise-rating", 0),
    ("praise: blank comment", lambda f: f.rate("Ann Lee", 5, H, comment="   "), "praise-rating", 0),
    ("praise: excluded rating", lambda f: f.rate("Ann Lee", 5, H, comment="x", excluded="system"), "praise-rating", 0),
    ("praise: inactive agent", lambda f: (f.agent("Old Timer", active=False), f.rate("Old Timer", 5, H, comment="x")), "praise-rating", 0),
    # low-rating: a new 1–2★ rating
    ("low: 1★", lambda f: f.rate("Bob Cruz", 1, H, comment="rude", improve=("patience",)), "low-rating", 1),
    ("low: 2★ 47 h ago", lambda f: f.rate("Bob Cruz", 2, 47 * H), "low-rating", 1),
    ("low: 3★", lambda f: f.rate("Bob Cruz", 3, H, improve=("patience",)), "low-rating", 0),
    ("low: 2★ 49 h ago", lambda f: f.rate("Bob Cruz", 2, 49 * H), "low-rating", 0),
    ("low: excluded 1★", lambda f: f.rate("Bob Cruz", 1, H, excluded="product"), "low-rating", 0),
    # ratio-below-target: received ratio this week below 5 : 1
    ("ratio: 1 praise 1 criticism this week", lambda f: (f.note("Cy Diaz", "praise", D), f.note("Cy Diaz", "criticism", D)), "ratio-below-target", 1),
    ("ratio: only criticism", lambda f: f.note("Cy Diaz", "criticism", H), "ratio-below-target", 1),
    ("ratio: 4 : 1", lambda f: ([f.note("Cy Diaz", "praise", H) for _ in range(4)], f.note("Cy Diaz", "criticism", H)), "ratio-below-target", 1),
    ("ratio: exactly 5 : 1 is on target", lambda f: ([f.note("Cy Diaz", "praise", H) for _ in range(5)], f.note("Cy Diaz", "criticism", H)), "ratio-below-target", 0),
    ("ratio: no criticism yet", lambda f: f.note("Cy Diaz", "praise", H), "ratio-below-target", 0),
    ("ratio: criticism last Sunday (last week)", lambda f: f.note("Cy Diaz", "criticism", 2 * D + 12 * H + timedelta(minutes=1)), "ratio-below-target", 0),
    ("ratio: criticism Monday 00:00 (this week)", lambda f: f.note("Cy Diaz", "criticism", 2 * D + 12 * H), "ratio-below-target", 1),
    # repeat-tag: the same to_improve tag on 3+ of one agent's ratings in 14 days
    ("repeat: 3 in 13 days", lambda f: _tagged(f, "Dee Moss", [3 * D, 8 * D, 13 * D]), "repeat-tag", 1),
    ("repeat: oldest exactly 14 days old", lambda f: _tagged(f, "Dee Moss", [3 * D, 8 * D, 14 * D]), "repeat-tag", 1),
    ("repeat: oldest 14 days + 1 min old", lambda f: _tagged(f, "Dee Moss", [3 * D, 8 * D, 14 * D + timedelta(minutes=1)]), "repeat-tag", 0),
    ("repeat: only 2 ratings", lambda f: _tagged(f, "Dee Moss", [3 * D, 8 * D]), "repeat-tag", 0),
    ("repeat: 3 but one excluded", lambda f: (_tagged(f, "Dee Moss", [3 * D, 8 * D]), _tagged(f, "Dee Moss", [9 * D], excluded="policy")), "repeat-tag", 0),
    ("repeat: 3 ratings, 3 different tags", lambda f: [f.rate("Dee Moss", 2, a * D, improve=(t,)) for a, t in ((3, "a"), (4, "b"), (5, "c"))], "repeat-tag", 0),
    # team-training: a real group, 4+ agents of one team on 10+ ratings sharing a to_improve tag in 14 days
    ("training: 4 agents, 10 ratings", lambda f: _group(f, {"Ann Lee": 3, "Bob Cruz": 3, "Cy Diaz": 2, "Dee Moss": 2}), "team-training", 1),
    ("training: 4 agents, 9 ratings", lambda f: _group(f, {"Ann Lee": 3, "Bob Cruz": 2, "Cy Diaz": 2, "Dee Moss": 2}), "team-training", 0),
    ("training: 3 agents, 12 ratings", lambda f: _group(f, {"Ann Lee": 4, "Bob Cruz": 4, "Cy Diaz": 4}), "team-training", 0),
    ("training: 3 agents, 3 ratings (was a topic before)", lambda f: _group(f, {"Ann Lee": 1, "Bob Cruz": 1, "Cy Diaz": 1}), "team-training", 0),
    ("training: 4 agents but one in another team", lambda f: _group(f, {"Ann Lee": 3, "Bob Cruz": 3, "Cy Diaz": 2, "Eve Ng": 2}), "team-training", 0),
    ("training: the 10th rating 15 days ago", lambda f: (_group(f, {"Ann Lee": 3, "Bob Cruz": 3, "Cy Diaz": 2, "Dee Moss": 1}), f.rate("Dee Moss", 3, 15 * D, improve=("returns",))), "team-training", 0),
    ("training: the 10th rating exactly 14 days ago", lambda f: (_group(f, {"Ann Lee": 3, "Bob Cruz": 3, "Cy Diaz": 2, "Dee Moss": 1}), f.rate("Dee Moss", 3, 14 * D, improve=("returns",))), "team-training", 1),
    # check-in: no coaching note for 7+ days
    ("check-in: never coached", lambda f: None, "check-in", 5),
    ("check-in: last note exactly 7 days ago", lambda f: [f.note(a, "praise", 7 * D) for a in f.agents], "check-in", 5),
    ("check-in: last note 6 days 23 h ago", lambda f: [f.note(a, "praise", 7 * D - H) for a in f.agents], "check-in", 0),
    ("check-in: skipped while another prompt is open", lambda f: ([f.note(a, "praise", 7 * D - H) for a in f.agents if a != "Ann Lee"], f.rate("Ann Lee", 5, H, comment="yay")), "check-in", 0),
    # star-streak: 5+ 5★ ratings in a row
    ("streak: 5 in a row", lambda f: _five_in_a_row(f, "Ann Lee", 5), "star-streak", 1),
    ("streak: 7 in a row is one streak", lambda f: _five_in_a_row(f, "Ann Lee", 7), "star-streak", 1),
    ("streak: 4 in a row", lambda f: _five_in_a_row(f, "Ann Lee", 4), "star-streak", 0),
    ("streak: 5 broken by a 4★", lambda f: (_five_in_a_row(f, "Ann Lee", 2, latest=10 * H), f.rate("Ann Lee", 4, 5 * H), _five_in_a_row(f, "Ann Lee", 3)), "star-streak", 0),
    ("streak: 5 after a 4★", lambda f: (f.rate("Ann Lee", 4, 20 * H), _five_in_a_row(f, "Ann Lee", 5)), "star-streak", 1),
    ("streak: latest 49 h old", lambda f: _five_in_a_row(f, "Ann Lee", 5, latest=49 * H), "star-streak", 0),
    ("streak: an excluded 1★ does not break it", lambda f: (_five_in_a_row(f, "Ann Lee", 3, latest=5 * H), f.rate("Ann Lee", 1, 4 * H, excluded="system"), _five_in_a_row(f, "Ann Lee", 2)), "star-streak", 1),
]


@pytest.mark.parametrize("build, rule, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule_fires_on_its_scenario_and_not_just_outside(floor, build, rule, expected):
    build(floor)
    assert len(of_rule(run(floor), rule)) == expected


# --- stretch: top quartile of the team board, not top 3 ----------------------------------------


def _ranked_team(f: Floor, size: int) -> list[str]:
    """A team of ``size`` agents, agent k strictly behind agent k-1 (16 ratings each, k of them 4★)."""
    f.team("Big", leader="lead.big")
    names = []
    for k in range(size):
        name = f"Agent{k:02d} Big"
        f.agent(name, team="Big")
        names.append(name)
        for i in range(16):
            f.rate(name, 4 if i < k else 5, 3 * D + i * H, flush=False)
    f.session.flush()
    return names


@pytest.mark.parametrize(
    "size, expected_ranks",
    [
        (12, []),  # top quartile = ranks 1..3: nobody outside the top 3
        (13, [4]),  # ceil(13 / 4) = 4
        (16, [4]),
        (17, [4, 5]),  # ceil(17 / 4) = 5
        (20, [4, 5]),
    ],
    ids=["12 agents", "13 agents", "16 agents", "17 agents", "20 agents"],
)
def test_stretch_picks_the_top_quartile_below_the_top_three(floor, size, expected_ranks):
    names = _ranked_team(floor, size)
    prompts = of_rule(run(floor), "stretch")
    by_id = {a.id: n for n, a in floor.agents.items()}
    assert sorted(by_id[p.agent_id] for p in prompts) == [names[r - 1] for r in expected_ranks]
    for p in prompts:
        assert p.kind == "stretch" and "GROW" in p.purpose


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_team_ranks_agree_with_the_leaderboard_rule(seed):
    """Regression guard: the vectorised team ranking must rank exactly as ranking.rank_table does per team."""
    import numpy as np
    import pandas as pd

    from leaderboard import ranking

    rng = np.random.default_rng(seed)
    n = 120
    ratings = rng.integers(0, 12, n)
    sums = pd.DataFrame({
        "agent_id": np.arange(1, n + 1),
        "agent": [f"Agent {i % 17:02d} {chr(65 + i % 5)}" for i in range(n)],
        "team_id": rng.integers(1, 6, n),
        "ratings": ratings,
        # Few distinct values, so ties on score and ratings happen.
        "star_sum": ratings * rng.integers(3, 6, n),
    })
    mine = coaching.team_ranks(sums, prior_weight=10.0, min_ratings=5).set_index("agent_id")
    for _, team in sums.groupby("team_id"):
        board = ranking.rank_table(team, prior_weight=10.0, min_ratings=5).set_index("agent_id")
        assert (board["rank"].reindex(team["agent_id"]).fillna(-1) == mine.loc[team["agent_id"], "rank"].fillna(-1)).all()
        assert np.allclose(board["score"].reindex(team["agent_id"]), mine.loc[team["agent_id"], "score"])


def test_stretch_ignores_provisional_agents(floor):
    names = _ranked_team(floor, 16)
    # Three newcomers with 2 ratings each are listed, not ranked: still 16 ranked agents.
    for i in range(3):
        floor.agent(f"New{i} Big", team="Big")
        floor.rate(f"New{i} Big", 5, 2 * D)
        floor.rate(f"New{i} Big", 5, 2 * D + H)
    prompts = of_rule(run(floor), "stretch")
    assert [p.agent_id for p in prompts] == [floor.agents[names[3]].id]


# --- what the prompts say ----------------------------------------------------------------------


def test_praise_is_public_unless_the_agent_hides_from_the_wall(floor):
    floor.agent("Shy Sam", hide=True)
    floor.rate("Ann Lee", 5, H, comment="so patient")
    floor.rate("Shy Sam", 5, H, comment="lovely")
    prompts = {p.agent_id: p for p in of_rule(run(floor), "praise-rating")}
    assert "in public" in prompts[floor.agents["Ann Lee"].id].purpose
    shy = prompts[floor.agents["Shy Sam"].id].purpose
    assert "1:1" in shy and "in public" not in shy


def test_low_rating_focuses_on_one_tag_and_opens_with_a_recent_success(floor):
    good = floor.rate("Bob Cruz", 5, 3 * D, comment="so kind", well=("empathy",))
    floor.rate("Bob Cruz", 3, 6 * D, improve=("hold time",))
    low = floor.rate("Bob Cruz", 1, H, comment="rude and slow", improve=("patience", "hold time"))
    (prompt,) = of_rule(run(floor), "low-rating")
    assert prompt.kind == "develop"
    # "hold time" is the agent's more frequent tag of the two: one focus only.
    assert "'hold time'" in prompt.purpose and "patience" not in prompt.purpose
    assert "so kind" in prompt.opening
    evidence = json.loads(prompt.evidence)
    assert [e["rating_id"] for e in evidence] == [low.id, good.id]
    assert evidence[0]["stars"] == 1 and evidence[0]["tags"]["to_improve"] == ["hold time", "patience"]
    assert coaching.evidence_text(evidence[:1]) == f"{evidence[0]['interaction_id']} 1★ 'rude and slow' [to_improve: hold time, patience]"


def test_new_low_ratings_on_one_tag_make_one_prompt(floor):
    older = floor.rate("Bob Cruz", 2, 5 * H, improve=("patience",))
    newer = floor.rate("Bob Cruz", 1, H, improve=("patience",))
    floor.rate("Bob Cruz", 1, 2 * H, improve=("billing",))
    prompts = of_rule(run(floor), "low-rating")
    patience = [p for p in prompts if "'patience'" in p.purpose]
    assert len(prompts) == 2 and len(patience) == 1
    assert patience[0].dedupe_key == f"low-rating:r{newer.id}"
    assert [e["rating_id"] for e in json.loads(patience[0].evidence)] == [newer.id, older.id]
    assert "and 1 more new low rating on it" in patience[0].purpose


def test_a_low_rating_on_a_repeated_tag_is_coached_in_the_repeat_tag_prompt(floor):
    _tagged(floor, "Bob Cruz", [3 * D, 5 * D])
    floor.rate("Bob Cruz", 1, H, improve=("patience",))
    prompts = run(floor)
    assert len(of_rule(prompts, "repeat-tag")) == 1 and of_rule(prompts, "low-rating") == []


def test_low_rating_without_tags_is_about_its_comment(floor):
    floor.rate("Bob Cruz", 2, H, comment="never called back")
    (prompt,) = of_rule(run(floor), "low-rating")
    assert "never called back" in prompt.purpose


def test_repeat_tag_shows_the_agents_figure_next_to_the_teams(floor):
    _tagged(floor, "Dee Moss", [1 * D, 2 * D, 3 * D])
    floor.rate("Dee Moss", 5, 4 * D)
    floor.rate("Ann Lee", 5, 4 * D)
    floor.rate("Ann Lee", 5, 5 * D)
    (prompt,) = of_rule(run(floor), "repeat-tag")
    assert "3 of 4 ratings" in prompt.purpose and "(75%)" in prompt.purpose
    assert "team's 3 of 6 (50%)" in prompt.purpose
    assert len(json.loads(prompt.evidence)) == 3


def test_training_replaces_individual_prompts_for_that_tag(floor):
    _tagged(floor, "Ann Lee", [4 * D, 5 * D, 6 * D], tag="returns", stars=3)  # would be a repeat-tag prompt alone
    _tagged(floor, "Bob Cruz", [5 * D, 6 * D, 7 * D, 8 * D], tag="returns", stars=3)
    floor.rate("Cy Diaz", 1, H, improve=("returns",))  # would be a low-rating prompt on "returns"
    floor.rate("Dee Moss", 1, H, improve=("returns", "tone"))  # its other tag becomes the focus
    floor.agent("Fay Wu")
    floor.rate("Fay Wu", 2, H, comment="lost my parcel", improve=("returns",))  # its comment becomes the focus
    prompts = run(floor)
    (training,) = of_rule(prompts, "team-training")
    assert training.agent_id is None and training.kind == "training" and "'returns'" in training.purpose
    assert training.team_id == floor.teams["Alpha"].id
    assert "5 agents" in training.purpose
    assert of_rule(prompts, "repeat-tag") == []
    lows = {p.agent_id: p.purpose for p in of_rule(prompts, "low-rating")}
    assert set(lows) == {floor.agents["Dee Moss"].id, floor.agents["Fay Wu"].id}
    assert "'tone'" in lows[floor.agents["Dee Moss"].id] and "returns" not in lows[floor.agents["Dee Moss"].id]
    assert "('lost my parcel')" in lows[floor.agents["Fay Wu"].id]


def test_ratio_prompt_cites_the_best_recent_rating(floor):
    floor.rate("Cy Diaz", 4, 3 * D, comment="fine")
    floor.rate("Cy Diaz", 5, 5 * D, comment="brilliant help")
    floor.rate("Cy Diaz", 5, 6 * D)
    floor.note("Cy Diaz", "criticism", H)
    (prompt,) = of_rule(run(floor), "ratio-below-target")
    assert "brilliant help" in prompt.opening
    assert "0 praise to 1 criticism" in prompt.purpose and "0.0 : 1" in prompt.purpose


def test_ratio_week_follows_the_sites_time_zone(floor):
    # Manila is UTC+8: its week began Sunday 16:00 UTC, so a note on Sunday 17:00 UTC is this week there.
    floor.site("Manila", "Asia/Manila")
    floor.team("Gamma", site="Manila", leader="lead.g")
    floor.agent("Gil Tan", team="Gamma")
    floor.agent("Hal Roy", team="Gamma")
    sunday_17 = NOW - datetime(2026, 11, 22, 17, 0)
    floor.note("Gil Tan", "criticism", sunday_17, by="lead.g")
    floor.note("Ann Lee", "criticism", sunday_17)  # in the UTC site that is last week
    prompts = of_rule(run(floor), "ratio-below-target")
    assert [p.agent_id for p in prompts] == [floor.agents["Gil Tan"].id]
    assert prompts[0].dedupe_key.endswith(":2026-W48")


def test_streak_evidence_lists_the_latest_ratings(floor):
    _five_in_a_row(floor, "Ann Lee", 7)
    (prompt,) = of_rule(run(floor), "star-streak")
    assert "7 five-star ratings in a row" in prompt.purpose
    assert len(json.loads(prompt.evidence)) == 5


def test_a_streak_longer_than_the_window_keeps_its_key(floor):
    """Regression: a streak older than the streak window must not be praised again as the window slides."""
    for day in range(20, 0, -1):
        floor.rate("Ann Lee", 5, day * D - 2 * H)
    floor.rate("Ann Lee", 3, 25 * D)  # ended the previous streak
    first = of_rule(run(floor), "star-streak")
    assert len(first) == 1 and first[0].dedupe_key.endswith(f"after-r{floor.session.exec(select(Rating.id).where(Rating.stars == 3)).one()}")
    floor.rate("Ann Lee", 5, -1 * D)  # a day later, the window has moved on a day
    assert of_rule(run(floor, now=NOW + 2 * D), "star-streak") == []


# --- lifecycle: no duplicates, done, dismiss, expiry --------------------------------------------


def _mixed(f: Floor) -> None:
    f.rate("Ann Lee", 5, H, comment="so patient")
    f.rate("Bob Cruz", 1, H, comment="rude", improve=("patience",))
    _tagged(f, "Dee Moss", [D, 2 * D, 3 * D])
    f.note("Cy Diaz", "criticism", H)


def test_a_second_run_generates_nothing_new(floor, session):
    _mixed(floor)
    first = run(floor)
    assert len(first) >= 5
    assert run(floor) == []
    assert run(floor, now=NOW + H) == []
    keys = session.exec(select(CoachingPrompt.dedupe_key)).all()
    assert len(keys) == len(set(keys)) == len(first)


def test_generation_for_one_team_leaves_others_alone(floor, session):
    _mixed(floor)
    floor.rate("Eve Ng", 1, H)
    created = coaching.generate_prompts(session=session, now=NOW, team_ids=[floor.teams["Beta"].id], settings=SETTINGS)
    assert created and {p.team_id for p in created} == {floor.teams["Beta"].id}


def test_done_without_a_note_logs_nothing_and_leaves_the_ratio(floor, session):
    """Issue 13: one click on Done must not put the leader's own instruction in the agent's record."""
    _mixed(floor)
    run(floor)
    lead = floor.users["lead.a"]
    queue = coaching.open_prompts(session=session, viewer=floor.viewer("lead.a"), now=NOW)
    develop = queue[queue["rule"] == "low-rating"].iloc[0]
    before = session.exec(select(CoachingNote)).all()  # _mixed's one criticism for Cy
    assert coaching.mark_done(session=session, prompt_id=int(develop["id"]), by_user_id=lead.id, now=NOW) is None
    assert coaching.mark_done(session=session, prompt_id=int(queue.iloc[-1]["id"]), by_user_id=lead.id, now=NOW,
                              text="   ") is None
    assert session.exec(select(CoachingNote)).all() == before
    done = session.get(CoachingPrompt, int(develop["id"]))
    assert (done.status, done.resolved_by, done.note_id) == ("done", "lead.a", None)
    assert _ratio_of(session, "Bob Cruz") == (0, 0, "no notes yet")
    with pytest.raises(CoachingError, match="already done"):
        coaching.mark_done(session=session, prompt_id=int(develop["id"]), by_user_id=lead.id, now=NOW)
    logged = session.exec(select(AuditLog).where(AuditLog.action == "prompt_done")).first()
    assert logged is not None and "no note" in logged.detail


def _ratio_of(session, name):
    table = ratios.ratio_table(session=session, viewer=SYSTEM_VIEWER, by="agent", team="Alpha", now=NOW, settings=SETTINGS)
    row = table[table["name"] == name].iloc[0]
    return int(row["praise"]), int(row["criticism"]), row["status"]


def test_done_with_the_leaders_note_logs_it_and_moves_the_ratio(floor, session):
    _mixed(floor)
    run(floor)
    lead = floor.users["lead.a"]
    queue = coaching.open_prompts(session=session, viewer=floor.viewer("lead.a"), now=NOW)
    develop = queue[queue["rule"] == "low-rating"].iloc[0].to_dict()
    praise = queue[queue["rule"] == "praise-rating"].iloc[0].to_dict()

    offer = coaching.note_suggestion(develop)
    assert (offer["kind"], offer["visibility"]) == ("criticism", "private")
    # Written to the agent, never the prompt's instruction to the leader.
    assert offer["text"].startswith("Bob, ") and "1:1 with" not in offer["text"] and offer["text"] != develop["purpose"]
    note = coaching.mark_done(session=session, prompt_id=int(develop["id"]), by_user_id=lead.id, now=NOW,
                              text="Bob, thanks for looking at I-1 with me.", kind=offer["kind"],
                              visibility=offer["visibility"])
    assert (note.kind, note.visibility, note.author_id, note.text) == (
        "criticism", "private", lead.id, "Bob, thanks for looking at I-1 with me.")
    assert note.rating_id == develop["evidence_items"][0]["rating_id"]
    assert session.get(CoachingPrompt, int(develop["id"])).note_id == note.id
    assert _ratio_of(session, "Bob Cruz") == (0, 1, "below target")

    offer = coaching.note_suggestion(praise)
    assert (offer["kind"], offer["visibility"]) == ("praise", "public") and offer["text"].startswith("Great work, Ann")
    # The leader chooses kind and visibility: here a 1:1 praise instead of a public one.
    note = coaching.mark_done(session=session, prompt_id=int(praise["id"]), by_user_id=lead.id, now=NOW,
                              text=offer["text"], visibility="1:1")
    assert (note.kind, note.visibility) == ("praise", "private")
    assert _ratio_of(session, "Ann Lee") == (1, 0, "no criticism yet")


def test_done_refuses_a_public_criticism_and_keeps_the_prompt_open(floor, session):
    floor.rate("Bob Cruz", 1, H, comment="rude")
    (low,) = of_rule(run(floor), "low-rating")
    with pytest.raises(CoachingError, match="never in public"):
        coaching.mark_done(session=session, prompt_id=low.id, by_user_id=floor.users["lead.a"].id, now=NOW,
                           text="Bob, you were rude", visibility="public")
    session.rollback()
    assert session.get(CoachingPrompt, low.id).status == "open"
    assert session.exec(select(CoachingNote)).first() is None


@pytest.mark.parametrize(
    "prompt_kind, rule, hidden, expected",
    [
        ("praise", "praise-rating", False, ("praise", "public", "Great work, Ann: on I-7 the customer gave you 5★ and wrote 'Fixed it straight away.' Keep it up!")),
        ("praise", "praise-rating", True, ("praise", "private", "Great work, Ann: on I-7 the customer gave you 5★ and wrote 'Fixed it straight away.' Keep it up!")),
        ("praise", "star-streak", False, ("praise", "public", "Ann, 1 five-star ratings in a row: whatever you're doing, keep doing it. Thank you!")),
        ("develop", "low-rating", False, ("criticism", "private", "Ann, let's look at your contact I-7 (5★, 'Fixed it straight away.') together: what went well, and what would you do differently next time?")),
        ("stretch", "stretch", False, ("praise", "private", "Ann, thanks for talking about where you want to be a month from now. You're close to the top: I'm behind you.")),
        ("check-in", "check-in", False, ("praise", "private", "Thanks for the chat, Ann: on I-7 the customer gave you 5★ and wrote 'Fixed it straight away.' Keep it up!")),
        ("training", "team-training", False, (None, "private", "")),
    ],
    ids=["praise", "praise-hidden", "streak", "develop", "stretch", "check-in", "training"],
)
def test_note_suggestion_is_written_to_the_agent(prompt_kind, rule, hidden, expected):
    row = {"kind": prompt_kind, "rule": rule, "agent": "" if prompt_kind == "training" else "Ann Lee",
           "hide_from_wall": hidden, "purpose": "1:1 with Ann on one thing",
           "evidence_items": [{"interaction_id": "I-7", "rating_id": 7, "stars": 5, "comment": "Fixed it straight away."}]}
    offer = coaching.note_suggestion(row)
    assert (offer["kind"], offer["visibility"], offer["text"]) == expected


def test_done_on_a_training_prompt_logs_no_note(floor, session):
    _group(floor, {"Ann Lee": 3, "Bob Cruz": 3, "Cy Diaz": 2, "Dee Moss": 2})
    (training,) = of_rule(run(floor), "team-training")
    with pytest.raises(CoachingError, match="about a team"):
        coaching.mark_done(session=session, prompt_id=training.id, by_user_id=floor.users["lead.a"].id, now=NOW,
                           text="Great huddle")
    assert coaching.mark_done(session=session, prompt_id=training.id, by_user_id=floor.users["lead.a"].id, now=NOW) is None
    assert session.get(CoachingPrompt, training.id).status == "done"
    assert session.exec(select(CoachingNote)).first() is None


def test_only_a_coach_of_the_team_may_close_a_prompt(floor, session):
    floor.rate("Bob Cruz", 1, H)
    (low,) = of_rule(run(floor), "low-rating")
    with pytest.raises(CoachingError, match="does not coach"):
        coaching.mark_done(session=session, prompt_id=low.id, by_user_id=floor.users["lead.b"].id, now=NOW)
    with pytest.raises(CoachingError, match="no prompt"):
        coaching.dismiss(session=session, prompt_id=999_999, by_user_id=floor.users["lead.a"].id, now=NOW)
    # An admin may.
    coaching.dismiss(session=session, prompt_id=low.id, by_user_id=floor.users["admin"].id, now=NOW)


def test_dismissed_prompts_leave_the_queue_and_are_not_generated_again(floor, session):
    floor.rate("Bob Cruz", 1, H)
    (low,) = of_rule(run(floor), "low-rating")
    coaching.dismiss(session=session, prompt_id=low.id, by_user_id=floor.users["lead.a"].id, now=NOW)
    assert session.get(CoachingPrompt, low.id).status == "dismissed"
    assert low.id not in set(coaching.open_prompts(session=session, viewer=floor.viewer("lead.a"), now=NOW)["id"])
    assert of_rule(run(floor, now=NOW + H), "low-rating") == []
    with pytest.raises(CoachingError, match="already dismissed"):
        coaching.dismiss(session=session, prompt_id=low.id, by_user_id=floor.users["lead.a"].id, now=NOW)


def test_prompts_expire(floor, session):
    floor.rate("Ann Lee", 5, H, comment="great")
    (praise,) = of_rule(run(floor), "praise-rating")
    assert praise.expires_at == NOW + timedelta(hours=48)
    viewer = floor.viewer("lead.a")
    assert praise.id in set(coaching.open_prompts(session=session, viewer=viewer, now=NOW + 47 * H)["id"])
    assert praise.id not in set(coaching.open_prompts(session=session, viewer=viewer, now=NOW + 48 * H)["id"])


def test_queue_is_viewer_filtered_and_sorted_by_priority(floor, session):
    _mixed(floor)
    floor.rate("Eve Ng", 1, H)
    floor.user("ann", role="agent")
    floor.agents["Ann Lee"].user_id = floor.users["ann"].id
    run(floor)
    alpha = coaching.open_prompts(session=session, viewer=floor.viewer("lead.a"), now=NOW)
    beta = coaching.open_prompts(session=session, viewer=floor.viewer("lead.b"), now=NOW)
    everyone = coaching.open_prompts(session=session, viewer=floor.viewer("admin"), now=NOW)
    assert set(alpha["team"]) == {"Alpha"} and set(beta["team"]) == {"Beta"}
    assert len(everyone) == len(alpha) + len(beta)
    assert list(alpha["priority"]) == sorted(alpha["priority"], reverse=True)
    assert coaching.open_prompts(session=session, viewer=floor.viewer("ann"), now=NOW).empty
    assert coaching.open_prompts(session=session, viewer=None, now=NOW).empty
    only_b = coaching.open_prompts(
        session=session, viewer=floor.viewer("admin"), leader_user_id=floor.users["lead.b"].id, now=NOW
    )
    assert set(only_b["team"]) == {"Beta"}
    assert list(alpha.columns[: len(coaching.PROMPT_COLUMNS)]) == list(coaching.PROMPT_COLUMNS)


# --- rules are data -------------------------------------------------------------------------------


def test_rules_come_from_app_meta_json(floor, session):
    _five_in_a_row(floor, "Ann Lee", 3)
    assert of_rule(run(floor), "star-streak") == []
    session.add(AppMeta(key="coaching_rules", value=json.dumps({"streak_length": 3, "priorities": {"star-streak": 99}})))
    session.commit()
    (streak,) = of_rule(run(floor), "star-streak")
    assert streak.priority == 99


def test_rules_can_be_saved_and_disabled(floor, session):
    rules = CoachingRules.from_mapping({"disabled": ["check-in"], "checkin_after_days": 3})
    coaching.save_rules(session=session, rules=rules, actor="admin")
    assert coaching.load_rules(session=session) == rules
    assert json.loads(session.get(AppMeta, "coaching_rules").value) == {"checkin_after_days": 3, "disabled": ["check-in"]}
    assert of_rule(run(floor), "check-in") == []


@pytest.mark.parametrize(
    "data, message",
    [
        ({"streak_lenght": 3}, "unknown coaching rule setting"),
        ({"streak_length": -1}, "must be a number"),
        ({"streak_length": "five"}, "must be a number"),
        ({"priorities": {"nope": 1}}, "priorities must map rule names"),
        ({"disabled": ["nope"]}, "disabled must be a list"),
        ({"stretch_period": "fortnight"}, "stretch_period"),
    ],
)
def test_bad_rules_are_refused_with_a_clear_message(data, message):
    with pytest.raises(CoachingError, match=message):
        CoachingRules.from_mapping(data)


def test_bad_rules_json_is_a_clear_error():
    with pytest.raises(CoachingError, match="not valid JSON"):
        CoachingRules.from_json("{streak_length: 3")


# --- notes -----------------------------------------------------------------------------------------


def test_log_note_validates_and_audits(floor, session):
    ann, lead = floor.agents["Ann Lee"], floor.users["lead.a"]
    rating = floor.rate("Ann Lee", 5, H)
    session.commit()
    note = coaching.log_note(session=session, agent_id=ann.id, author_id=lead.id, kind="praise", text=" Great call ",
                             visibility="public", rating_id=rating.id, now=NOW)
    assert (note.text, note.created_at, note.rating_id) == ("Great call", NOW, rating.id)
    assert session.exec(select(AuditLog).where(AuditLog.action == "coaching_note")).one().target == "Ann Lee"
    one_to_one = coaching.log_note(session=session, agent_id=ann.id, author_id=lead.id, kind="criticism",
                                   text="hold time", visibility="1:1", now=NOW)
    assert one_to_one.visibility == "private"
    bad = [
        (dict(kind="criticism", visibility="public"), "never in public"),
        (dict(kind="blame"), "kind must be"),
        (dict(text="  "), "needs some text"),
        (dict(author_id=floor.users["lead.b"].id), "does not coach"),
        (dict(agent_id=999_999), "no agent"),
        (dict(rating_id=floor.rate("Bob Cruz", 4, H).id), "not one of Ann Lee's ratings"),
    ]
    for change, message in bad:
        kwargs = dict(session=session, agent_id=ann.id, author_id=lead.id, kind="praise", text="x", visibility="private", now=NOW)
        with pytest.raises(CoachingError, match=message):
            coaching.log_note(**(kwargs | change))


# --- leader helpers ------------------------------------------------------------------------------


def test_team_table_ranks_counts_and_last_coached(floor, session):
    for name, stars in (("Ann Lee", 5), ("Bob Cruz", 4)):
        for i in range(6):
            floor.rate(name, stars, D + i * H)
    floor.rate("Cy Diaz", 3, H)
    floor.note("Ann Lee", "praise", H)
    floor.note("Ann Lee", "criticism", 2 * H)
    floor.note("Bob Cruz", "praise", 10 * D)
    session.commit()
    table = coaching.team_table(session=session, viewer=floor.viewer("lead.a"), team_id=floor.teams["Alpha"].id, now=NOW, settings=SETTINGS)
    assert list(table.columns) == list(coaching.TEAM_TABLE_COLUMNS)
    assert list(table["agent"]) == ["Ann Lee", "Bob Cruz", "Cy Diaz", "Dee Moss"]
    ann = table.iloc[0]
    assert (ann["rank"], ann["ratings_this_week"], ann["ratio_received"], ann["ratio_status"]) == (1, 6, "1.0 : 1", "below target")
    assert ann["last_coached"] == NOW - H
    bob = table.iloc[1]
    assert (bob["rank"], bob["praise"], bob["ratio_status"], bob["last_coached"]) == (2, 0, "no notes yet", NOW - 10 * D)
    cy = table.iloc[2]
    assert pd_isna(cy["rank"]) and cy["provisional"] and cy["last_coached"] is None
    other = coaching.team_table(session=session, viewer=floor.viewer("lead.b"), team_id=floor.teams["Alpha"].id, now=NOW)
    assert other.empty


def pd_isna(value) -> bool:
    import pandas as pd

    return value is None or value is pd.NA or bool(pd.isna(value))


def test_digest_lists_the_days_best_and_worst_per_team(floor, session):
    floor.rate("Ann Lee", 5, 2 * H, comment="wonderful")
    floor.rate("Bob Cruz", 5, 3 * H)
    floor.rate("Bob Cruz", 4, 4 * H, comment="good")
    floor.rate("Cy Diaz", 1, 5 * H, comment="awful", improve=("tone",))
    floor.rate("Dee Moss", 2, 6 * H, excluded="system")
    floor.rate("Eve Ng", 3, 2 * H)
    floor.rate("Ann Lee", 1, D + H)  # yesterday
    session.commit()
    result = coaching.digest(session=session, viewer=floor.viewer("admin"), day=date(2026, 11, 25), tz="UTC", limit=2)
    assert set(result) == {"Alpha", "Beta"}
    alpha = result["Alpha"]
    assert [(i["agent"], i["stars"]) for i in alpha["best"]] == [("Ann Lee", 5), ("Bob Cruz", 5)]
    assert [(i["agent"], i["stars"], i["to_improve"]) for i in alpha["worst"]] == [("Cy Diaz", 1, ["tone"])]
    assert result["Beta"] == {"best": [], "worst": [dict(result["Beta"]["worst"][0])]}
    mine = coaching.digest(session=session, viewer=floor.viewer("lead.b"), day=date(2026, 11, 25), tz="UTC")
    assert set(mine) == {"Beta"}


def test_training_topics_are_viewer_filtered(floor, session):
    _group(floor, {"Ann Lee": 3, "Bob Cruz": 3, "Cy Diaz": 2, "Dee Moss": 2})
    _group(floor, {"Ann Lee": 1, "Bob Cruz": 1, "Cy Diaz": 1}, tag="tone")  # 3 agents, 3 ratings: no group
    session.commit()
    topics = coaching.training_topics(session=session, viewer=floor.viewer("lead.a"), now=NOW)
    assert list(topics.columns) == list(coaching.TRAINING_COLUMNS)
    assert topics[["team", "tag", "agents", "ratings"]].values.tolist() == [["Alpha", "returns", 4, 10]]
    assert topics.iloc[0]["agent_names"] == "Ann Lee, Bob Cruz, Cy Diaz, Dee Moss"
    assert coaching.training_topics(session=session, viewer=floor.viewer("lead.b"), now=NOW).empty


def test_grow_sheet_is_plain_text_with_the_agents_data(floor, session):
    floor.rate("Bob Cruz", 5, 3 * D, comment="so kind")
    _tagged(floor, "Bob Cruz", [D, 2 * D, 4 * D], tag="patience")
    floor.rate("Ann Lee", 5, 2 * D, comment="calm", well=("patience",))
    floor.note("Bob Cruz", "praise", 2 * D)
    session.commit()
    sheet = coaching.grow_sheet(session=session, viewer=floor.viewer("lead.a"), agent_id=floor.agents["Bob Cruz"].id, now=NOW)
    for heading in ("GOAL", "REALITY", "OPTIONS", "WILL"):
        assert f"\n{heading}\n" in sheet
    assert "Focus: 'patience' (named in 3 of 4 ratings in 14 days)" in sheet
    assert "so kind" in sheet and "Ask Ann Lee" in sheet
    assert "Last coached: 2026-11-23" in sheet
    assert not any(mark in sheet for mark in ("**", "##", "](", "__"))
    assert coaching.grow_sheet(session=session, viewer=floor.viewer("lead.b"), agent_id=floor.agents["Bob Cruz"].id, now=NOW) == ""


# --- issue 13: fewer, better prompts ----------------------------------------------------------------


def test_several_new_praise_ratings_make_one_prompt_per_agent(floor):
    floor.rate("Ann Lee", 4, 5 * H, comment="nice")
    best = floor.rate("Ann Lee", 5, 3 * H, comment="so patient")
    newest = floor.rate("Ann Lee", 4, H, comment="quick")
    floor.rate("Bob Cruz", 5, H, comment="kind")
    prompts = {p.agent_id: p for p in of_rule(run(floor), "praise-rating")}
    assert len(prompts) == 2
    ann = prompts[floor.agents["Ann Lee"].id]
    assert ann.dedupe_key == f"praise-rating:r{newest.id}"
    assert [e["rating_id"] for e in json.loads(ann.evidence)][0] == best.id and len(json.loads(ann.evidence)) == 3
    assert "(and 2 more new ratings with praise)" in ann.purpose and "'so patient'" in ann.purpose


def test_the_queue_merges_an_agents_praise_prompts_and_closes_them_together(floor, session):
    first = floor.rate("Ann Lee", 5, 5 * H, comment="so patient")
    run(floor, now=NOW - 4 * H)
    second = floor.rate("Ann Lee", 5, H, comment="quick")
    _five_in_a_row(floor, "Ann Lee", 5, latest=30 * timedelta(minutes=1), gap=timedelta(minutes=5))
    run(floor)
    stored = session.exec(select(CoachingPrompt).where(CoachingPrompt.kind == "praise")).all()
    assert len(stored) == 3  # two praise-rating prompts (two runs) and a streak
    queue = coaching.open_prompts(session=session, viewer=floor.viewer("lead.a"), now=NOW)
    praise = queue[queue["kind"] == "praise"]
    assert len(praise) == 1
    (row,) = praise.to_dict("records")
    assert len(row["merged_ids"]) == 2
    shown = {e["rating_id"] for e in row["evidence_items"]}
    assert {first.id, second.id} <= shown
    coaching.mark_done(session=session, prompt_id=int(row["id"]), by_user_id=floor.users["lead.a"].id, now=NOW)
    assert {p.status for p in session.exec(select(CoachingPrompt).where(CoachingPrompt.kind == "praise")).all()} == {"done"}


@pytest.mark.parametrize(
    "agents, per_10, expected",
    [(10, 8, 8), (4, 8, 4), (5, 8, 4), (1, 8, 1), (0, 8, 1), (25, 8, 20), (10, 5, 5), (3, 2.5, 1), (11, 8, 9)],
)
def test_prompt_budget_per_team(agents, per_10, expected):
    from leaderboard.coaching.rules import prompt_budget

    assert prompt_budget(agents, per_10) == expected


def test_within_budget_keeps_the_first_of_each_team():
    from leaderboard.coaching.rules import within_budget

    frame = pd.DataFrame({"team_id": [1, 1, 2, 1, 2, 2, 2], "priority": [90, 80, 80, 60, 60, 40, 40]})
    assert within_budget(frame, {1: 2, 2: 3}).tolist() == [True, True, True, False, True, True, False]


def test_the_queue_shows_the_budget_highest_priority_first_and_folds_the_rest(floor, session):
    # Alpha has 4 active agents: 8 per 10 agents is 4 prompts (3.2, rounded up).
    _mixed(floor)
    for name in ("Cy Diaz", "Dee Moss"):
        floor.rate(name, 5, H, comment="thanks")
    run(floor)
    queue = coaching.open_prompts(session=session, viewer=floor.viewer("lead.a"), now=NOW)
    assert len(queue) > 4
    assert queue["in_budget"].tolist() == [True] * 4 + [False] * (len(queue) - 4)
    assert queue.iloc[0]["rule"] == "low-rating"
    tight = coaching.open_prompts(session=session, viewer=floor.viewer("lead.a"), now=NOW,
                                  settings=Settings(prompt_budget=2.5))
    assert int(tight["in_budget"].sum()) == 1


@pytest.mark.parametrize("budget, handled, left", [(4, 0, 4), (4, 1, 3), (4, 4, 0), (4, 6, 0), (1, 0, 1)])
def test_budget_left_after_what_was_handled_today(budget, handled, left):
    from leaderboard.coaching.rules import budget_left

    assert budget_left(budget, handled) == left


def test_the_budget_is_daily_handled_prompts_use_it_up_until_tomorrow(floor, session):
    """Handling a prompt does not pull the next one into today's queue: the budget is per day."""
    _mixed(floor)
    for name in ("Cy Diaz", "Dee Moss"):
        floor.rate(name, 5, H, comment="thanks")
    run(floor)
    lead = floor.viewer("lead.a")
    queue = coaching.open_prompts(session=session, viewer=lead, now=NOW)
    assert int(queue["in_budget"].sum()) == 4 and len(queue) == 5
    first, second = (int(i) for i in queue["id"][:2])
    coaching.mark_done(session=session, prompt_id=first, by_user_id=floor.users["lead.a"].id, now=NOW)
    coaching.dismiss(session=session, prompt_id=second, by_user_id=floor.users["lead.a"].id, now=NOW)
    later = coaching.open_prompts(session=session, viewer=lead, now=NOW + timedelta(minutes=5))
    assert int(later["in_budget"].sum()) == 2  # 4 a day, 2 handled today
    assert later["in_budget"].tolist() == [True] * 2 + [False] * (len(later) - 2)
    tomorrow = coaching.open_prompts(session=session, viewer=lead, now=NOW + timedelta(days=1))
    assert int(tomorrow["in_budget"].sum()) == min(4, len(tomorrow))


@pytest.mark.parametrize(
    "hours_old, wrote",
    [(0.2, "just wrote"), (3.0, "just wrote"), (3.1, "wrote 3 h ago"), (20, "wrote 20 h ago"), (47, "wrote 47 h ago")],
)
def test_just_wrote_only_about_a_recent_rating(floor, hours_old, wrote):
    floor.rate("Ann Lee", 5, timedelta(hours=hours_old), comment="so patient")
    (prompt,) = of_rule(run(floor), "praise-rating")
    assert f"a customer {wrote} about your phone" in prompt.opening
    if wrote != "just wrote":
        assert "just" not in prompt.opening


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Thanks", "Thanks."),
        ("Thanks.", "Thanks."),
        ("wrote 'Fixed it straight away.'", "wrote 'Fixed it straight away.'"),
        ("wrote 'Fixed it'", "wrote 'Fixed it'."),
        ("wrote 'Wow!'", "wrote 'Wow!'"),
        ("wrote 'Really?'", "wrote 'Really?'"),
        ("wrote 'and then…'", "wrote 'and then…'"),
        ('wrote "Great."', 'wrote "Great."'),
        ("wrote 'x.' ", "wrote 'x.'"),
        ("", ""),
    ],
)
def test_sentence_adds_one_full_stop_quote_aware(text, expected):
    from leaderboard.coaching.texts import sentence

    assert sentence(text) == expected


def test_no_prompt_text_doubles_its_punctuation(floor):
    """Issue 13: "…straight away.'." in the praise purpose and openings."""
    for name, stars in (("Ann Lee", 5), ("Cy Diaz", 4)):
        floor.rate(name, stars, 3 * D, comment="Fixed it straight away.")
        floor.rate(name, stars, H, comment="Sorted in minutes!")
    floor.rate("Bob Cruz", 5, 3 * D, comment="Lovely, thank you.")
    floor.rate("Bob Cruz", 1, H, comment="Worst experience.")
    floor.note("Cy Diaz", "criticism", H)
    _tagged(floor, "Dee Moss", [D, 2 * D, 3 * D])
    floor.rate("Dee Moss", 5, 4 * D, comment="Patient and clear.")
    prompts = run(floor)
    assert {"praise-rating", "low-rating", "ratio-below-target", "repeat-tag"} <= {p.rule for p in prompts}
    for p in prompts:
        for text in (p.purpose, p.why_now, p.opening):
            for doubled in (".'.", "!'.", "?'.", "..", ".'. ", "!.", "?."):
                assert doubled not in text, (p.rule, text)
    praise = {p.agent_id: p for p in of_rule(prompts, "praise-rating")}
    assert praise[floor.agents["Ann Lee"].id].purpose.endswith("'Sorted in minutes!'")
