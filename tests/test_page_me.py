"""AppTest of My page (/me): the signed-in agent's own rank, feedback, badges and coaching, nobody else's.

The privacy tests read every element the page renders (Markdown, text, captions,
metrics, dataframe cells, HTML, charts) and look for another agent's comment,
tag, low rating, coaching note and badge reason: none may appear.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
import streamlit as st
from sqlmodel import Session, select

from db.models import Interaction, Rating, User, utcnow
from leaderboard import badges, coaching
from leaderboard.auth import Viewer
from leaderboard import me
from tests.app_util import app_as
from tests.factories import add_ratings, make_agent, make_team

HOSTILE = "[x](javascript:alert(1)) <img src=x onerror=alert(1)> ![](http://127.0.0.1:9/p)"


@pytest.fixture(autouse=True)
def _fresh_streamlit_caches():
    """Cached engines and frames must not leak from one test's database into the next."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


# --------------------------------------------------------------------------- helpers


def _walk(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)


def everything(at) -> str:
    """Every piece of text the run rendered: each element's proto, dataframe cells as text."""
    parts = []
    for node in _walk(at._tree):
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        if getattr(node, "type", "") in ("arrow_data_frame", "dataframe"):
            try:
                parts.append(node.value.to_csv())
            except Exception:  # noqa: BLE001 — a frame that will not render as CSV is still in its proto
                pass
    for element in at.dataframe:
        parts.append(element.value.astype(str).to_csv())
    return "\n".join(parts)


def markdown_like(at) -> str:
    """The text of every element that interprets Markdown."""
    elements = (*at.markdown, *at.caption, *at.title, *at.subheader, *at.header, *at.info, *at.success,
                *at.warning, *at.error)
    values = [e.value for e in elements]
    values += [m.label for m in at.metric] + [m.value for m in at.metric]
    return "\n".join(str(v) for v in values)


def no_exception(at) -> None:
    assert not at.exception, [e.message for e in at.exception]


def my_page(username: str, *, role: str = "agent", **params):
    at = app_as(username, role=role, timeout=120, **params)
    at.run()
    at.switch_page("pages/my_page.py").run()
    no_exception(at)
    return at


def frame_with(at, column: str) -> pd.DataFrame:
    for element in at.dataframe:
        if column in element.value.columns:
            return element.value
    raise AssertionError(f"no dataframe with a {column!r} column")


def interaction_of(engine, rating_id: int) -> str:
    with Session(engine) as session:
        rating = session.get(Rating, rating_id)
        return session.get(Interaction, rating.interaction_id).interaction_id


def user_id(engine, username: str) -> int:
    with Session(engine) as session:
        return session.exec(select(User).where(User.username == username)).one().id


@pytest.fixture
def floor(engine):
    """Ann (signed in as "ann") and Ben on team Alpha, led by Lee; Ben has a 1★ with a private complaint.

    Ann: 5 5 5 5 5 3 (28 stars), Ben: twelve 5★ and a 1★ (61): C = 89/19, so Ben's fair
    score 4.689 sits just above Ann's 4.678 and Ann is #2 of 2.
    """
    make_team(engine, "Alpha", leader="lee")
    ann = make_agent(engine, "Ann Lee", username="ann")
    ben = make_agent(engine, "Ben Ong", username="ben")
    start = utcnow().replace(microsecond=0) - timedelta(hours=3)
    ann_ids = add_ratings(engine, "Ann Lee", [5, 5, 5, 5], at=start)
    ann_ids += add_ratings(engine, "Ann Lee", [5], at=start + timedelta(minutes=10),
                           comment="ANNPRAISE7 she was lovely and so patient", went_well=["patience"])
    ann_ids += add_ratings(engine, "Ann Lee", [3], at=start + timedelta(minutes=20), comment="a bit slow")
    ben_ids = add_ratings(engine, "Ben Ong", [5] * 12, at=start, comment="BENPRAISE4 great")
    ben_low = add_ratings(engine, "Ben Ong", [1], at=start + timedelta(hours=1),
                          comment="BENSECRET9 rude and unhelpful", to_improve=["BENTAG3"])[0]
    lee = user_id(engine, "lee")
    with Session(engine) as session:
        badges.award(session=session, agent_id=ann.id, badge_code="empathetic", by_user_id=lee,
                     reason="ANNREASON5 calm with an upset customer")
        badges.award(session=session, agent_id=ben.id, badge_code="creative", by_user_id=lee,
                     reason="BENREASON8 clever fix")
        coaching.log_note(session=session, agent_id=ann.id, author_id=lee, kind="criticism", visibility="private",
                          text="ANNNOTE2 try summarising before closing")
        coaching.log_note(session=session, agent_id=ben.id, author_id=lee, kind="criticism", visibility="private",
                          text="BENNOTE6 tone on the 1 star call")
    return {
        "ann": ann.id,
        "ben": ben.id,
        "ben_low_interaction": interaction_of(engine, ben_low),
        "ann_ids": ann_ids,
        "ben_ids": ben_ids,
    }


BEN_PRIVATE = ("BENSECRET9", "BENTAG3", "BENNOTE6", "BENREASON8", "BENPRAISE4")


# --------------------------------------------------------------------------- the page


def test_agent_sees_their_rank_comment_badge_and_coaching(db_env, floor):
    at = my_page("ann")
    assert at.title[0].value.startswith("Hi Ann")
    ranks = [(m.label, m.value) for m in at.metric if m.label.startswith(("Team", "Floor"))]
    # Today, this week, this month: #2 of 2 on the team and on the (one-team) floor.
    assert ranks == [("Team of 2", "#2"), ("Floor of 2", "#2")] * 3
    # What it takes to pass the next agent up, by name (a public leaderboard figure).
    assert any("to pass Ben Ong" in m.value and "5★" in m.value for m in at.markdown)
    feedback = frame_with(at, "comment")
    assert "ANNPRAISE7 she was lovely and so patient" in set(feedback["comment"])
    assert any("ANNPRAISE7" in t.value for t in at.text)  # quoted in "what customers said"
    assert any("Empathetic" in m.value for m in at.markdown)
    assert "ANNREASON5 calm with an upset customer" in set(frame_with(at, "reason")["reason"])
    # Their own 1:1 criticism is theirs to read.
    assert "ANNNOTE2 try summarising before closing" in set(frame_with(at, "text")["text"])
    assert at.get("progress"), "progress toward the next automatic badges"


def test_another_agents_comments_tags_notes_and_low_rating_never_appear(db_env, floor):
    """Regression: the issue requires that no element of /me carries another agent's private detail."""
    at = my_page("ann")
    rendered = everything(at)
    assert "ANNPRAISE7" in rendered  # the walk does see the page's own content
    for secret in (*BEN_PRIVATE, floor["ben_low_interaction"]):
        assert secret not in rendered, secret
    # Ben is on the page only as a public figure: name, rank, score.
    nearby = frame_with(at, "score")
    assert set(nearby.columns) == {"rank", "agent", "score", "avg_stars", "ratings", "movement", "me"}
    assert "Ben Ong" in set(nearby["agent"])


def test_a_crafted_agent_parameter_changes_nothing(db_env, floor):
    """Regression: ?agent=<someone else> must not open their page."""
    plain = my_page("ann")
    crafted = my_page("ann", agent=str(floor["ben"]), agent_id=str(floor["ben"]))
    assert crafted.title[0].value == plain.title[0].value
    assert [(m.label, m.value) for m in crafted.metric] == [(m.label, m.value) for m in plain.metric]
    assert frame_with(crafted, "comment").equals(frame_with(plain, "comment"))
    rendered = everything(crafted)
    for secret in (*BEN_PRIVATE, floor["ben_low_interaction"]):
        assert secret not in rendered, secret


def test_hostile_comments_are_shown_as_text(db_env, engine, floor):
    """Regression: a comment with a link, an HTML tag and an image renders as text, never as Markdown."""
    add_ratings(engine, "Ann Lee", [5], comment=HOSTILE)
    at = my_page("ann")
    assert HOSTILE in set(frame_with(at, "comment")["comment"])
    assert any(HOSTILE in t.value for t in at.text)  # the praise quote, via st.text
    shown = markdown_like(at)
    for raw in ("javascript:", "<img", "![](", "onerror"):
        assert raw not in shown, raw


def test_a_leader_without_an_agent_gets_a_friendly_word(db_env, floor):
    at = my_page("lee", role="leader")
    assert any("My page is for agents; your account is not linked to an agent" in i.value for i in at.info)
    assert not at.dataframe and not at.metric


def test_a_leader_linked_to_an_agent_sees_only_their_own_page(db_env, engine, floor):
    """A leader who is also an agent reads their own page as that agent, not with their team's reach."""
    make_agent(engine, "Lee Park", team="Beta", username="lee")
    add_ratings(engine, "Lee Park", [5, 4, 5], team="Beta", comment="LEEPRAISE1 thanks")
    at = my_page("lee", role="leader")
    assert at.title[0].value.startswith("Hi Lee")
    rendered = everything(at)
    assert "LEEPRAISE1" in rendered
    for secret in ("ANNPRAISE7", "ANNNOTE2", "ANNREASON5", *BEN_PRIVATE):
        assert secret not in rendered, secret


def test_an_agent_with_no_ratings_yet_gets_a_page(db_env, engine):
    make_agent(engine, "New Starter", username="newbie")
    at = my_page("newbie")
    assert at.title[0].value.startswith("Hi New")
    assert any("No ratings yet" in i.value for i in at.info)


def test_period_and_feedback_filters_switch_cleanly(db_env, floor):
    at = my_page("ann")
    at.segmented_control(key="me_compare_period").set_value("month").run()
    no_exception(at)
    labels = [m.label for m in at.metric]
    assert "Average ★" in labels and "Response rate" in labels
    at.segmented_control(key="me_feedback_filter").set_value("work_on").run()
    assert set(frame_with(at, "comment")["stars"]) == {3}


# --------------------------------------------------------------------------- the assembly (no Streamlit)


def test_summary_reads_private_detail_through_the_agents_own_eyes(session, floor):
    viewer = Viewer(role="leader", user_id=None, agent_id=floor["ann"], team_ids=frozenset({1}))
    summary = me.my_summary(session=session, viewer=viewer)
    assert set(summary.feedback["interaction_id"]).isdisjoint({floor["ben_low_interaction"]})
    assert "BENNOTE6 tone on the 1 star call" not in set(summary.notes["text"])
    assert set(summary.awards["agent_id"]) == {floor["ann"]}
    week = summary.standing("week", "team")
    assert (week.rank, week.ranked, week.next_name) == (2, 2, "Ben Ong")
    assert week.to_pass is not None and week.to_pass >= 1


def test_summary_refuses_a_viewer_without_an_agent(session, floor):
    with pytest.raises(me.MeError):
        me.my_summary(session=session, viewer=Viewer(role="leader", user_id=1))
