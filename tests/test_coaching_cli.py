"""`coach`, `ratios` and `prompts` on the command line: exact headers, exit codes, one-line errors.

Each call runs ``python -m leaderboard ...`` in this process (tests/cli_util.py) with
DATABASE_URL pointing at this test's database. The commands use the real clock, so the
data is placed relative to now.
"""

from __future__ import annotations

import csv
import io
import os
from datetime import timedelta

import pytest
from sqlmodel import select

from db.models import Agent, CoachingNote, CoachingPrompt, Interaction, Rating, RatingTag, Site, Team, User, utcnow
from tests.cli_util import run_cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cli(db_url, *args):
    return run_cli(*args, env={"DATABASE_URL": db_url, "STARBOARD_AUTO_SEED": "0"})


def _error(result) -> str:
    """The one stderr line of a user error (exit 2), never a traceback."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture
def centre(session):
    """Team Alpha (leader lead.a): Ann Lee, Bob Cruz (a fresh 1★ on I-1, tagged patience); team Solo without a leader."""
    now = utcnow()
    site = Site(name="Main", timezone="UTC")
    session.add(site)
    session.flush()
    lead = User(username="lead.a", display_name="Lea Avila", role="leader")
    other = User(username="lead.b", display_name="Leo Bell", role="leader")
    session.add_all([lead, other])
    session.flush()
    alpha = Team(name="Alpha", site_id=site.id, leader_id=lead.id)
    solo = Team(name="Solo", site_id=site.id)
    session.add_all([alpha, solo])
    session.flush()
    ann = Agent(name="Ann Lee", display_name="Ann L.", team_id=alpha.id)
    bob = Agent(name="Bob Cruz", display_name="Bob C.", team_id=alpha.id)
    sam = Agent(name="Sam Solo", display_name="Sam S.", team_id=solo.id)
    session.add_all([ann, bob, sam])
    session.flush()
    for ext, agent, stars, comment, ago in (
        ("I-1", bob, 1, "rude and slow", timedelta(hours=1)),
        ("I-2", ann, 5, "so patient", timedelta(hours=2)),
    ):
        inter = Interaction(interaction_id=ext, agent_id=agent.id, channel="chat", closed_at=now - ago)
        session.add(inter)
        session.flush()
        rating = Rating(interaction_id=inter.id, agent_id=agent.id, stars=stars, comment=comment, rated_at=now - ago)
        session.add(rating)
        session.flush()
        if stars == 1:
            session.add(RatingTag(rating_id=rating.id, kind="to_improve", tag="patience"))
    session.add(Interaction(interaction_id="I-unrated", agent_id=ann.id, channel="phone", closed_at=now))
    session.commit()
    return {"lead": lead, "ann": ann, "bob": bob}


def test_coach_logs_a_note_from_the_team_leader(db_url, session, centre):
    out = _cli(db_url, "coach", "Ann Lee", "--kind", "praise", "--text", "Lovely call", "--about", "I-2")
    assert out.returncode == 0, out.stderr
    assert "Logged praise (public) for Ann Lee by lead.a" in out.stdout
    note = session.exec(select(CoachingNote)).one()
    rating = session.exec(select(Rating).where(Rating.agent_id == centre["ann"].id)).one()
    assert (note.kind, note.visibility, note.author_id, note.rating_id, note.text) == (
        "praise", "public", centre["lead"].id, rating.id, "Lovely call")


def test_coach_criticism_is_always_one_to_one(db_url, session, centre):
    out = _cli(db_url, "coach", "bob cruz", "--kind", "criticism", "--text", "Hold time", "--by", "Lea Avila")
    assert out.returncode == 0, out.stderr
    assert "criticism (1:1)" in out.stdout and "0.0 : 1 (below target)" in out.stdout
    private = _cli(db_url, "coach", "Ann Lee", "--kind", "praise", "--text", "Thanks", "--private")
    assert private.returncode == 0 and "praise (1:1)" in private.stdout
    assert {n.visibility for n in session.exec(select(CoachingNote)).all()} == {"private"}


@pytest.mark.parametrize(
    "args, message",
    [
        (("Nobody", "--kind", "praise", "--text", "x"), "no agent named 'Nobody'"),
        (("Ann Lee", "--kind", "praise", "--text", "x", "--by", "ghost"), "no user named 'ghost'"),
        (("Ann Lee", "--kind", "praise", "--text", "x", "--about", "I-404"), "no interaction 'I-404'"),
        (("Ann Lee", "--kind", "praise", "--text", "x", "--about", "I-unrated"), "has no rating"),
        (("Ann Lee", "--kind", "praise", "--text", "x", "--about", "I-1"), "not one of Ann Lee's ratings"),
        (("Ann Lee", "--kind", "praise", "--text", "x", "--by", "lead.b"), "lead.b does not coach"),
        (("Sam Solo", "--kind", "praise", "--text", "x"), "has no leader: pass --by"),
        (("Ann Lee", "--kind", "praise", "--text", "   "), "needs some text"),
    ],
    ids=["agent", "leader", "interaction", "unrated", "other agent's rating", "not their team", "no leader", "blank"],
)
def test_coach_errors_are_one_line_with_exit_2(db_url, centre, args, message):
    assert message in _error(_cli(db_url, "coach", *args))


def test_ratios_csv_has_the_exact_header(db_url, session, centre):
    assert _cli(db_url, "coach", "Ann Lee", "--kind", "praise", "--text", "a").returncode == 0
    assert _cli(db_url, "coach", "Bob Cruz", "--kind", "criticism", "--text", "b").returncode == 0
    out = _cli(db_url, "ratios", "--format", "csv", "--team", "Alpha")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "name,praise,criticism,ratio,target,status"
    assert lines[1:] == ["Ann Lee,1,0,,5.0,no criticism yet", "Bob Cruz,0,1,0.0,5.0,below target"]
    leaders = _cli(db_url, "ratios", "--by", "leader", "--format", "csv").stdout.splitlines()
    assert leaders[1:] == ["Lea Avila,1,1,1.0,5.0,below target"]  # lead.b leads no team and wrote nothing
    table = _cli(db_url, "ratios", "--by", "team", "--period", "today").stdout
    assert "1.0 : 1" in table and "5 : 1" in table
    assert "no team named" in _error(_cli(db_url, "ratios", "--team", "Nope"))
    assert "unknown period" in _error(_cli(db_url, "ratios", "--period", "fortnight"))


def test_prompts_generate_then_list_with_the_exact_header(db_url, session, centre):
    assert _cli(db_url, "prompts", "--format", "csv").stdout.splitlines()[1:] == []  # listing generates nothing
    generated = _cli(db_url, "prompts", "generate")
    assert generated.returncode == 0 and "new prompts." in generated.stdout, generated.stderr
    out = _cli(db_url, "prompts", "--format", "csv")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "id,agent,team,kind,rule,purpose,evidence,opening,priority,created_at,expires_at"
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    low = next(r for r in rows if r["rule"] == "low-rating")
    assert (low["agent"], low["team"], low["kind"], low["priority"]) == ("Bob Cruz", "Alpha", "develop", "90")
    assert low["evidence"] == "I-1 1★ 'rude and slow' [to_improve: patience]"
    assert [int(r["priority"]) for r in rows] == sorted((int(r["priority"]) for r in rows), reverse=True)
    assert _cli(db_url, "prompts", "generate").stdout == "No new prompts: up to date.\n"  # idempotent
    again = _cli(db_url, "prompts", "--format", "csv")
    assert again.stdout == out.stdout
    assert len(session.exec(select(CoachingPrompt)).all()) == len(rows)
    only = _cli(db_url, "prompts", "--leader", "lead.a", "--format", "json")
    assert only.returncode == 0 and '"team": "Solo"' not in only.stdout
    assert "leads no team" in _error(_cli(db_url, "prompts", "--leader", "lead.b"))


def test_prompts_done_and_dismiss_exit_codes(db_url, session, centre):
    _cli(db_url, "prompts", "generate", "--team", "Alpha")
    prompts = {p.rule: p for p in session.exec(select(CoachingPrompt).where(CoachingPrompt.team_id == centre["bob"].team_id)).all()}
    low, praise = prompts["low-rating"], prompts["praise-rating"]
    assert "--note" in _error(_cli(db_url, "prompts", "done", str(low.id), "--kind", "praise"))
    assert "never in public" in _error(_cli(db_url, "prompts", "done", str(low.id), "--note", "Bob, hi",
                                            "--visibility", "public"))
    done = _cli(db_url, "prompts", "done", str(low.id))
    assert done.returncode == 0, done.stderr
    # Issue 13: done without --note writes nothing into the agent's record.
    assert done.stdout == f"Prompt {low.id} done by lead.a; no note logged.\n"
    assert session.exec(select(CoachingNote)).first() is None
    assert "already done" in _error(_cli(db_url, "prompts", "done", str(low.id)))
    assert "no prompt with id 999999" in _error(_cli(db_url, "prompts", "done", "999999"))
    assert "no user named 'ghost'" in _error(_cli(db_url, "prompts", "done", str(praise.id), "--by", "ghost"))
    assert "does not coach" in _error(_cli(db_url, "prompts", "dismiss", str(praise.id), "--by", "lead.b"))
    dismissed = _cli(db_url, "prompts", "dismiss", str(praise.id), "--by", "Lea Avila")
    assert dismissed.returncode == 0 and "dismissed by lead.a" in dismissed.stdout
    session.expire_all()
    assert session.get(CoachingPrompt, praise.id).status == "dismissed"
    listed = _cli(db_url, "prompts", "--no-generate", "--format", "csv").stdout  # still accepted: a no-op
    assert f"\n{low.id}," not in listed and f"\n{praise.id}," not in listed
    assert _cli(db_url, "prompts", "done", "not-a-number").returncode == 2  # argparse's own usage error


def test_prompts_done_with_a_note_logs_the_leaders_words(db_url, session, centre):
    _cli(db_url, "prompts", "generate")
    low = session.exec(select(CoachingPrompt).where(CoachingPrompt.rule == "low-rating")).one()
    done = _cli(db_url, "prompts", "done", str(low.id), "--note", "Bob, thanks for going through I-1 with me.")
    assert done.returncode == 0, done.stderr
    note = session.exec(select(CoachingNote)).one()
    assert done.stdout == f"Prompt {low.id} done by lead.a; logged criticism note {note.id} (1:1).\n"
    assert (note.kind, note.visibility, note.agent_id, note.text) == (
        "criticism", "private", centre["bob"].id, "Bob, thanks for going through I-1 with me.")
    praise = session.exec(select(CoachingPrompt).where(CoachingPrompt.rule == "praise-rating")).one()
    out = _cli(db_url, "prompts", "done", str(praise.id), "--note", "Lovely work", "--visibility", "1:1")
    assert out.returncode == 0 and "logged praise note" in out.stdout and "(1:1)" in out.stdout


def _many_prompts(session, centre, n=30):
    """``n`` fresh 5★ ratings with long comments for n new agents of Alpha: n praise prompts (+ the fixture's)."""
    alpha = centre["bob"].team_id
    now = utcnow()
    for i in range(n):
        agent = Agent(name=f"Agent {i:02d} Longname", display_name=f"Agent {i:02d}", team_id=alpha)
        session.add(agent)
        session.flush()
        inter = Interaction(interaction_id=f"M-{i}", agent_id=agent.id, channel="chat", closed_at=now)
        session.add(inter)
        session.flush()
        session.add(Rating(interaction_id=inter.id, agent_id=agent.id, stars=5, rated_at=now - timedelta(minutes=i),
                           comment="Absolutely wonderful service, " * 12 + "fixed it straight away."))
    session.commit()


def test_prompts_table_is_wrapped_and_folds_what_is_over_the_budget(db_url, session, centre):
    """Issue 13: no 600-character lines, and the queue a leader sees is the budget, the rest counted."""
    _many_prompts(session, centre)
    assert _cli(db_url, "prompts", "generate").returncode == 0
    total = len(list(csv.DictReader(io.StringIO(_cli(db_url, "prompts", "--format", "csv").stdout))))
    assert total > 30
    out = run_cli("prompts", env={"DATABASE_URL": db_url, "STARBOARD_AUTO_SEED": "0", "COLUMNS": ""})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100  # the default width when not on a terminal
    # Alpha has 32 active agents: 8 per 10 is 26 prompts (25.6 rounded up); Solo's 1 agent: 1.
    shown = [line for line in lines if line.startswith("#")]
    assert len(shown) == 26 + 1
    assert f"{total - 27} more" in out.stdout and "prompts --all" in out.stdout
    assert lines[0].startswith(f"{total} open prompts")
    # Highest priority first: Bob's develop prompt leads.
    assert shown[0].split(" · ")[1] == "Bob Cruz" and "develop" in shown[0]
    narrow = _cli(db_url, "prompts", "--width", "60", "--all")
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 60
    assert len([line for line in narrow.stdout.splitlines() if line.startswith("#")]) == total
    tight = run_cli("prompts", "--team", "Alpha",
                    env={"DATABASE_URL": db_url, "STARBOARD_AUTO_SEED": "0", "STARBOARD_PROMPT_BUDGET": "2"})
    assert len([line for line in tight.stdout.splitlines() if line.startswith("#")]) == 7  # ceil(2 × 32 / 10)


def test_listing_prompts_generates_nothing(db_url, session, centre):
    for args in (("prompts",), ("prompts", "--no-generate"), ("prompts", "--format", "json"), ("prompts", "--all")):
        out = _cli(db_url, *args)
        assert out.returncode == 0, out.stderr
    assert session.exec(select(CoachingPrompt)).first() is None
    assert "No open prompts" in _cli(db_url, "prompts").stdout
    assert _cli(db_url, "prompts", "--team", "Alpha", "generate").returncode == 0
    assert {p.team_id for p in session.exec(select(CoachingPrompt)).all()} == {centre["bob"].team_id}
    assert "leads no team" in _error(_cli(db_url, "prompts", "generate", "--leader", "lead.b"))
