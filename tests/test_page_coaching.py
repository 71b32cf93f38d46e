"""AppTest over the coaching page (the team leader workspace).

Each test runs the real app (app.py and st.navigation) against its own
database through the ``db_env`` fixture, signed in with ``tests.app_util.app_as``.
Tabs are opened through the URL (``?tab=Agent``): hidden tabs do no work.
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta

import pandas as pd
import pytest
import streamlit as st
from sqlmodel import Session, select

from db import accounts
from db.models import CoachingNote, CoachingPrompt, User
from leaderboard import coaching
from tests.app_util import app_as
from tests.factories import add_rating, add_ratings, make_agent, make_team

PAGE = "pages/coaching.py"
TABS = ("Prompts", "Team", "Agent", "Digest", "Training")
SECRET = "BETA-ONLY-COMMENT zanzibar"
HOSTILE = "[x](javascript:alert(1)) <img src=x onerror=alert(1)> ![](http://evil.example/p.png)"


@pytest.fixture(autouse=True)
def _fresh_streamlit_caches():
    """Cached engines, frames and prompt runs must not leak from one test's database into the next."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def _ago(**delta) -> datetime:
    return coaching.utcnow().replace(microsecond=0) - timedelta(**delta)


@pytest.fixture
def floor(engine):
    """Alpha (led by lead.a): Ann with praise-worthy 5★, Bob with a low rating; Beta (lead.b) holds a secret."""
    make_team(engine, "Alpha", leader="lead.a")
    make_team(engine, "Beta", leader="lead.b")
    add_ratings(engine, "Ann Lee", [5, 5, 4], team="Alpha", comment="Lovely and quick", went_well=["friendly"],
                at=_ago(hours=3), step=timedelta(minutes=10))
    add_rating(engine, agent="Bob Ray", stars=2, team="Alpha", comment="Slow and unclear",
               to_improve=["clarity"], rated_at=_ago(hours=2))
    add_ratings(engine, "Zed Quinn", [5, 1], team="Beta", comment=SECRET, to_improve=["tone"],
                at=_ago(hours=1), step=timedelta(minutes=5))
    return engine


def viewer_of(engine, username: str):
    with Session(engine) as session:
        user = session.exec(select(User).where(User.username == username)).one()
        return accounts.viewer_for_user(session=session, user=user)


def open_page(username: str = "lead.a", *, role: str = "leader", tab: str | None = None, **params: str):
    at = app_as(username, role=role, **params)
    if tab is not None:
        at.query_params["tab"] = tab
    at.switch_page(PAGE).run()
    no_exception(at)
    return at


def no_exception(at) -> None:
    assert not at.exception, [e.message for e in at.exception]


def prompts(engine, username: str = "lead.a") -> pd.DataFrame:
    with Session(engine) as session:
        return coaching.open_prompts(session=session, viewer=viewer_of(engine, username))


def metric(at, label: str):
    return next(m for m in at.metric if m.label == label)


def shown_text(value: str) -> str:
    """What the reader sees of Markdown-escaped text: entities decoded, invisible word joiners gone."""
    return html.unescape(value).replace("\u2060", "")


def pick_agent(at, name: str) -> None:
    box = at.selectbox(key="co_agent")
    box.select_index(box.options.index(name)).run()
    no_exception(at)


def everything(at) -> str:
    """Every piece of text the page shows: markdown, captions, text, code, alerts, metrics, widgets, tables."""
    parts: list[str] = []
    for kind in ("markdown", "caption", "text", "code", "title", "subheader", "header", "success", "info",
                 "warning", "error"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    parts += [b.label for b in at.button]
    for box in at.selectbox:
        parts += [str(o) for o in box.options]
    for frame in at.dataframe:
        parts.append(frame.value.to_string())
    parts += [str(e.label) for e in at.expander]
    return "\n".join(parts)


# --------------------------------------------------------------------------- access


@pytest.mark.parametrize("tab", TABS)
def test_renders_for_a_leader_on_every_tab(db_env, floor, tab):
    at = open_page(tab=tab)
    assert at.query_params["team"] == "Alpha"
    assert metric(at, "Your ratio this week").value == "–"


@pytest.mark.parametrize("role", ["manager", "admin"])
@pytest.mark.parametrize("tab", TABS)
def test_renders_for_a_manager_and_an_admin(db_env, floor, role, tab):
    at = open_page(f"qa.{role}", role=role, tab=tab)
    # Both may coach every team here; they pick one.
    assert at.selectbox(key="co_team").options == ["Alpha", "Beta"]
    assert metric(at, "Leader's ratio this week")


def test_manager_picks_a_team_and_the_url_follows(db_env, floor):
    at = open_page("qa.manager", role="manager")
    at.selectbox(key="co_team").select_index(1).run()
    no_exception(at)
    assert at.query_params["team"] == "Beta"
    assert SECRET in everything(at)


def test_team_in_the_url_is_matched_whatever_its_case(db_env, floor):
    at = open_page("qa.admin", role="admin", team="beta")
    assert at.query_params["team"] == "Beta"
    assert not at.warning


def test_an_agent_gets_not_available_and_no_data(db_env, floor):
    make_agent(floor, "Ann Lee", team="Alpha", username="ann.lee")
    at = open_page("ann.lee", role="agent")
    assert any("not available for your role" in e.value for e in at.error)
    shown = everything(at)
    assert "Lovely and quick" not in shown and "Slow and unclear" not in shown and SECRET not in shown
    assert not at.dataframe and not at.metric


def test_signed_out_visitor_gets_the_sign_in_form(db_env, floor):
    at = app_as(None)
    at.switch_page(PAGE).run()
    no_exception(at)
    assert at.text_input(key="guard_username")
    assert "Lovely and quick" not in everything(at)


@pytest.mark.parametrize("tab", TABS)
def test_a_leader_never_sees_another_teams_agents_or_comments(db_env, floor, tab):
    at = open_page(tab=tab)
    shown = everything(at)
    assert "Zed Quinn" not in shown and SECRET not in shown
    assert "Ann Lee" in shown or tab in ("Digest", "Training")


@pytest.mark.parametrize("tab", TABS)
def test_a_crafted_team_param_shows_nothing_of_that_team(db_env, floor, tab):
    """Regression: ?team=Beta for Alpha's leader is a friendly message, and Alpha, never Beta."""
    at = open_page(tab=tab, team="Beta")
    assert any("no team “Beta” among the teams you coach" in shown_text(w.value) for w in at.warning)
    shown = everything(at)
    assert "Zed Quinn" not in shown and SECRET not in shown
    assert at.query_params["team"] == "Alpha"


def test_a_crafted_agent_in_session_state_falls_back_to_the_team(db_env, floor):
    zed = make_agent(floor, "Zed Quinn", team="Beta")
    at = app_as("lead.a", role="leader")
    at.query_params["tab"] = "Agent"
    at.session_state["co_agent"] = int(zed.id)
    at.switch_page(PAGE).run()
    no_exception(at)
    shown = everything(at)
    assert "Zed Quinn" not in shown and SECRET not in shown


def test_unknown_team_for_a_leader_without_a_team_is_a_friendly_message(db_env, engine):
    at = open_page("lonely.lead", role="leader")
    assert any("do not lead a team yet" in shown_text(i.value) for i in at.info)


# --------------------------------------------------------------------------- the prompts queue


def test_queue_lists_prompts_highest_priority_first_without_training(db_env, floor):
    # Four Alpha agents on ten ratings name 'patience': a team training topic, kept out of the individual queue.
    for name, n in (("Cy Dee", 3), ("Di Eve", 3), ("Ed Fox", 2), ("Flo Gil", 2)):
        for i in range(n):
            add_rating(floor, agent=name, stars=3, team="Alpha", to_improve=["patience"], rated_at=_ago(hours=5 + i))
    at = open_page()
    queue = prompts(floor)
    individual = queue[queue["kind"] != "training"]
    training = queue[queue["kind"] == "training"]
    assert len(individual) and len(training)
    keys = [b.key for b in at.button if b.key and b.key.startswith("co_done_")]
    assert keys == [f"co_done_{int(i)}" for i in individual["id"][: len(keys)]]
    assert not any(f"co_done_{int(i)}" in keys for i in training["id"])
    # Bob's low rating comes first: develop prompts have the highest priority.
    assert individual.iloc[0]["agent"] == "Bob Ray" and individual.iloc[0]["kind"] == "develop"

    at = open_page(tab="Training")
    training_keys = {b.key for b in at.button if b.key and b.key.startswith("co_done_")}
    assert {f"co_done_{int(i)}" for i in training["id"]} <= training_keys
    assert "patience" in everything(at)


def _ratio_four_to_one(floor):
    lead = viewer_of(floor, "lead.a")
    with Session(floor) as session:
        ann = make_agent(session, "Ann Lee", team="Alpha")
        bob = make_agent(session, "Bob Ray", team="Alpha")
        for text in ("Great call", "Kind words", "Quick fix", "Clear steps"):
            coaching.log_note(session=session, agent_id=ann.id, author_id=lead.user_id, kind="praise",
                              text=text, visibility="private")
        coaching.log_note(session=session, agent_id=bob.id, author_id=lead.user_id, kind="criticism",
                          text="Let's talk hold times", visibility="private")
    return lead


def _notes(floor) -> int:
    with Session(floor) as session:
        return len(session.exec(select(CoachingNote)).all())


def test_done_opens_a_note_to_the_agent_and_logs_only_what_the_leader_saves(db_env, floor):
    """Issue 13: Done opens a short note form prefilled with words to the agent; the leader saves it."""
    lead = _ratio_four_to_one(floor)
    at = open_page()
    ratio = metric(at, "Your ratio this week")
    assert (ratio.value, ratio.delta) == ("4.0 : 1", "below target")

    queue = prompts(floor)
    praise = queue[(queue["kind"] == "praise") & (queue["agent"] == "Ann Lee")].iloc[0]
    at.button(key=f"co_done_{int(praise['id'])}").click().run()
    no_exception(at)
    # Nothing is logged by the click: a form opens with a suggestion written to Ann.
    assert _notes(floor) == 5
    suggested = at.text_area(key="co_note_text_praise").value
    assert suggested.startswith("Great work, Ann") and suggested != praise["purpose"]
    assert at.segmented_control(key="co_note_kind").value == "praise"
    assert at.segmented_control(key="co_note_vis").value == "public"
    at.text_area(key="co_note_text_praise").input("Ann, the customer on that call loved your patience.").run()
    at.segmented_control(key="co_note_vis").set_value("private").run()
    at.button(key="co_note_save").click().run()
    no_exception(at)

    ratio = metric(at, "Your ratio this week")
    assert (ratio.value, ratio.delta) == ("5.0 : 1", "on target")
    flash = shown_text(" ".join(s.value for s in at.success))
    assert "Ann Lee" in flash and "5.0 : 1 (on target)" in flash
    with Session(floor) as session:
        done = session.get(CoachingPrompt, int(praise["id"]))
        note = session.get(CoachingNote, done.note_id)
    assert done.status == "done" and note.author_id == lead.user_id
    assert (note.kind, note.visibility, note.text) == (
        "praise", "private", "Ann, the customer on that call loved your patience.")
    # The new note is listed among the notes given this week, as plain text.
    assert note.text in [t.value for t in at.text]
    assert not [b for b in at.button if b.key == f"co_done_{int(praise['id'])}"]


def test_done_without_a_note_writes_nothing_to_the_agent(db_env, floor):
    """Issue 13: one click on a develop prompt used to log the leader's instruction as a criticism note."""
    _ratio_four_to_one(floor)
    at = open_page()
    develop = prompts(floor).iloc[0]
    assert develop["kind"] == "develop" and develop["agent"] == "Bob Ray"
    at.button(key=f"co_done_{int(develop['id'])}").click().run()
    suggested = at.text_area(key="co_note_text_criticism").value
    assert suggested.startswith("Bob, ") and "1:1 with" not in suggested
    assert at.segmented_control(key="co_note_kind").value == "criticism"
    at.button(key="co_note_skip").click().run()
    no_exception(at)
    with Session(floor) as session:
        done = session.get(CoachingPrompt, int(develop["id"]))
    assert (done.status, done.note_id) == ("done", None)
    assert _notes(floor) == 5
    assert metric(at, "Your ratio this week").value == "4.0 : 1"
    assert any("No note was logged" in shown_text(s.value) for s in at.success)
    assert not [b for b in at.button if b.key == "co_note_save"]


def test_cancel_on_the_done_form_keeps_the_prompt_open(db_env, floor):
    at = open_page()
    first = prompts(floor).iloc[0]
    at.button(key=f"co_done_{int(first['id'])}").click().run()
    at.button(key="co_note_cancel").click().run()
    no_exception(at)
    with Session(floor) as session:
        assert session.get(CoachingPrompt, int(first["id"])).status == "open"
    assert _notes(floor) == 0


def test_dismiss_removes_the_prompt(db_env, floor):
    at = open_page()
    first = prompts(floor).iloc[0]
    at.button(key=f"co_dismiss_{int(first['id'])}").click().run()
    no_exception(at)
    assert not [b for b in at.button if b.key in (f"co_done_{int(first['id'])}", f"co_dismiss_{int(first['id'])}")]
    with Session(floor) as session:
        assert session.get(CoachingPrompt, int(first["id"])).status == "dismissed"
    assert any("Dismissed" in shown_text(i.value) for i in at.info)
    # Nothing is logged for a dismissal, and the prompt does not come back on the next run.
    at.run()
    assert int(first["id"]) not in set(prompts(floor)["id"])


def test_prompts_are_generated_once_per_data_version(db_env, floor, monkeypatch):
    calls: list = []
    real = coaching.generate_prompts

    def counting(**kwargs):
        calls.append(kwargs.get("team_ids"))
        return real(**kwargs)

    monkeypatch.setattr(coaching, "generate_prompts", counting)
    at = open_page()
    at.run()
    # A dismissal moves the data version (it is audited) but gives the rules nothing new.
    at.button(key=f"co_dismiss_{int(prompts(floor).iloc[0]['id'])}").click().run()
    at.query_params["tab"] = "Team"
    at.run()
    no_exception(at)
    assert len(calls) == 1
    add_rating(floor, agent="Ann Lee", stars=5, team="Alpha", comment="Again brilliant")
    at.run()
    assert len(calls) == 2
    # Another session on the same data reuses the run; "Refresh prompts" runs the rules on demand.
    other = open_page()
    assert len(calls) == 2
    other.button(key="co_refresh").click().run()
    no_exception(other)
    assert len(calls) == 3 and calls[-1] == calls[0]


def test_the_queue_shows_the_budget_and_folds_the_rest(db_env, floor, monkeypatch):
    """Issue 13: 8 open prompts per 10 agents, highest priority first; the rest collapsed under "more"."""
    for i in range(20):
        add_rating(floor, agent=f"Agent {i:02d}", stars=5, team="Alpha", comment="Thanks a lot",
                   rated_at=_ago(minutes=30 + i))
    at = open_page()  # the page runs the rules
    queue = prompts(floor)
    individual = queue[queue["kind"] != "training"]
    # 22 agents: a budget of 18 (17.6 rounded up).
    assert int(individual["in_budget"].sum()) == 18 and len(individual) == 22
    more = next(e for e in at.expander if "more prompt" in str(e.label))
    assert str(more.label).startswith("4 more prompts")
    assert metric(at, "Open prompts").value == "18 + 4 more"
    budget_keys = [f"co_done_{int(i)}" for i in individual[individual["in_budget"]]["id"]]
    keys = [b.key for b in at.button if b.key and b.key.startswith("co_done_")]
    assert keys[:18] == budget_keys and len(keys) == 22

    monkeypatch.setenv("STARBOARD_PROMPT_BUDGET", "1")  # 3 now, 19 folded: a page of 10, then "Show more"
    at = open_page()
    assert len([b for b in at.button if b.key and b.key.startswith("co_done_")]) == 3 + 10
    at.button(key="co_more").click().run()
    assert len([b for b in at.button if b.key and b.key.startswith("co_done_")]) == 3 + 19


def test_kind_filter_shows_one_kind(db_env, floor):
    at = open_page()
    at.segmented_control(key="co_kind").set_value("develop").run()
    no_exception(at)
    keys = {b.key for b in at.button if b.key and b.key.startswith("co_done_")}
    queue = prompts(floor)
    assert keys == {f"co_done_{int(i)}" for i in queue[queue["kind"] == "develop"]["id"]}


# --------------------------------------------------------------------------- escaping


def test_hostile_comments_are_shown_as_text(db_env, floor):
    add_rating(floor, agent="Ann Lee", stars=1, team="Alpha", comment=HOSTILE, to_improve=["tone"],
               rated_at=_ago(minutes=30))
    for tab in ("Prompts", "Agent", "Digest"):
        at = open_page(tab=tab)
        texts = [t.value for t in at.text]
        assert any(HOSTILE in t for t in texts), tab
        for kind in ("markdown", "caption", "success", "info", "warning"):
            for element in getattr(at, kind):
                value = str(element.value)
                assert "](javascript" not in value and "<img" not in value and "![](" not in value, (tab, value)


def test_hostile_agent_names_are_escaped(db_env, engine):
    make_team(engine, "Alpha", leader="lead.a")
    add_ratings(engine, "**Bold** [Eve](javascript:x)", [5, 5], team="Alpha", comment="nice", at=_ago(hours=2))
    at = open_page()
    for element in list(at.markdown) + list(at.caption):
        assert "[Eve](javascript" not in element.value and "**Bold**" not in element.value


# --------------------------------------------------------------------------- team, agent, notes


def test_team_table_shows_ratio_received_and_last_coached(db_env, floor):
    lead = viewer_of(floor, "lead.a")
    with Session(floor) as session:
        ann = make_agent(session, "Ann Lee", team="Alpha")
        coaching.log_note(session=session, agent_id=ann.id, author_id=lead.user_id, kind="praise",
                          text="Great call", visibility="public")
    at = open_page(tab="Team")
    table = at.dataframe(key="co_team_table").value
    assert list(table["agent"]) == ["Ann Lee", "Bob Ray"] or set(table["agent"]) == {"Ann Lee", "Bob Ray"}
    row = table[table["agent"] == "Ann Lee"].iloc[0]
    assert row["status"] == "no criticism yet" and row["praise"] == 1 and pd.notna(row["last_coached"])
    assert pd.isna(table[table["agent"] == "Bob Ray"].iloc[0]["last_coached"])
    # A provisional agent's rank is a dash, never a raw "None" (issue 13 item 11).
    assert all(isinstance(r, str) and r != "None" and r for r in table["rank"])


def test_agent_drill_down_feedback_tags_history_and_grow(db_env, floor):
    at = open_page(tab="Agent")
    pick_agent(at, "Ann Lee")
    no_exception(at)
    texts = [t.value for t in at.text]
    assert texts.count("“Lovely and quick”") == 3
    assert any("1:1 PREP: Ann Lee" in c.value for c in at.code)
    assert at.get("download_button")
    # Filters: only 4★.
    at.pills(key="co_fb_stars").set_value([4]).run()
    assert [t.value for t in at.text].count("“Lovely and quick”") == 1


def test_logging_a_note_from_a_feedback_row_takes_two_clicks(db_env, floor):
    at = open_page(tab="Agent")
    pick_agent(at, "Bob Ray")
    coach = next(b for b in at.button if b.key and b.key.startswith("co_fb_coach_"))
    coach.click().run()
    no_exception(at)
    assert at.segmented_control(key="co_note_kind").value == "criticism"
    draft = at.text_area(key="co_note_text_criticism").value
    assert draft.startswith("Bob, let's look at your contact") and "Slow and unclear" in draft
    at.button(key="co_note_save").click().run()
    no_exception(at)
    with Session(floor) as session:
        note = session.exec(select(CoachingNote)).one()
    assert (note.kind, note.visibility, note.text) == ("criticism", "private", draft)
    assert note.rating_id is not None
    assert any("Criticism for **Bob Ray** logged 1:1" in shown_text(s.value) for s in at.success)
    assert metric(at, "Your ratio this week").delta == "below target"
    assert draft in [t.value for t in at.text]  # the coaching history shows it


def test_public_praise_from_a_feedback_row(db_env, floor):
    at = open_page(tab="Agent")
    praise = next(b for b in at.button if b.key and b.key.startswith("co_fb_praise_"))
    praise.click().run()
    at.text_area(key="co_note_text_praise").input("Brilliant, thank you").run()
    at.button(key="co_note_save").click().run()
    no_exception(at)
    with Session(floor) as session:
        note = session.exec(select(CoachingNote)).one()
    assert (note.kind, note.visibility, note.text) == ("praise", "public", "Brilliant, thank you")
    assert metric(at, "Your ratio this week").delta == "no criticism yet"


def test_cancel_closes_the_note_dialog_without_a_note(db_env, floor):
    at = open_page(tab="Agent")
    at.button(key="co_note_new").click().run()
    assert at.button(key="co_note_save")
    at.button(key="co_note_cancel").click().run()
    no_exception(at)
    assert not [b for b in at.button if b.key == "co_note_save"]
    with Session(floor) as session:
        assert session.exec(select(CoachingNote)).first() is None


def test_digest_shows_the_days_best_and_worst(db_env, floor):
    at = open_page(tab="Digest")
    texts = [t.value for t in at.text]
    assert "“Lovely and quick”" in texts and "“Slow and unclear”" in texts
    at.date_input(key="co_digest_day").set_value(at.date_input(key="co_digest_day").value - timedelta(days=30)).run()
    no_exception(at)
    assert "“Lovely and quick”" not in [t.value for t in at.text]


# --------------------------------------------------------------------------- the page's helpers


@pytest.mark.parametrize(
    "kind, fields, expected",
    [
        ("praise", dict(interaction_id="I-1", stars=5, comment="great"),
         "Great work, Ann: on I-1 the customer gave you 5★ and wrote 'great'. Keep it up!"),
        ("praise", dict(interaction_id="I-1", stars=5, comment="So kind!"),
         "Great work, Ann: on I-1 the customer gave you 5★ and wrote 'So kind!' Keep it up!"),
        ("praise", dict(), "Great work, Ann. Keep it up!"),
        ("criticism", dict(interaction_id="I-2", stars=2, comment="slow"),
         "Ann, let's look at your contact I-2 (2★, 'slow') together: what went well, "
         "and what would you do differently next time?"),
        ("criticism", dict(), "Ann, let's look at a recent contact together: what went well, "
         "and what would you do differently next time?"),
    ],
    ids=["praise-comment", "praise-exclaims", "praise-bare", "criticism-rating", "criticism-bare"],
)
def test_note_draft(kind, fields, expected):
    assert coaching.note_draft(kind=kind, agent="Ann Lee", **fields) == expected


def _feedback_rows(rows):
    return pd.DataFrame(rows, columns=["stars", "went_well", "to_improve"])


@pytest.mark.parametrize(
    "stars, tag, expected",
    [
        (None, None, [5, 4, 2]),
        ([5, 2], None, [5, 2]),
        (None, "Clarity", [4, 2]),
        ([4], "clarity", [4]),
        ([1], None, []),
    ],
    ids=["no-filter", "stars", "tag-any-case-either-kind", "both", "nothing"],
)
def test_filter_feedback(stars, tag, expected):
    rows = _feedback_rows([(5, ["friendly"], []), (4, ["clarity"], []), (2, [], ["clarity", "tone"])])
    assert list(coaching.filter_feedback(rows, stars=stars, tag=tag)["stars"]) == expected


def test_tag_breakdown_counts_each_rating_once_most_named_first():
    """Most named first; among equals, the ones to improve first, then by name."""
    rows = _feedback_rows([(5, ["friendly", "Friendly"], []), (4, ["clarity"], []), (2, [], ["clarity", "tone"])])
    table = coaching.tag_breakdown(rows)
    assert table.to_dict("records") == [
        {"tag": "clarity", "went_well": 1, "to_improve": 1},
        {"tag": "tone", "went_well": 0, "to_improve": 1},
        {"tag": "friendly", "went_well": 1, "to_improve": 0},
    ]
    assert coaching.tag_breakdown(rows.iloc[:0]).empty


def test_stars_trend_against_the_team_and_only_for_those_who_may_see(db_env, floor):
    ann = make_agent(floor, "Ann Lee", team="Alpha")
    with Session(floor) as session:
        mine = coaching.stars_trend(session=session, viewer=viewer_of(floor, "lead.a"), agent_id=ann.id)
        other = coaching.stars_trend(session=session, viewer=viewer_of(floor, "lead.b"), agent_id=ann.id)
    ann_rows = mine[mine["who"] == "Ann Lee"]
    team_rows = mine[mine["who"] == coaching.TEAM_AVERAGE]
    assert int(ann_rows["ratings"].sum()) == 3
    # Weighted over however many local days the three ratings fell on: 5, 5 and 4 stars.
    assert abs(float((ann_rows["avg_stars"] * ann_rows["ratings"]).sum()) - 14) < 1e-9
    assert int(team_rows["ratings"].sum()) == 4  # Ann's three and Bob's one, never Beta's
    assert other.empty
