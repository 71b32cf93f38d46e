"""AppTest of the Badges page (/badges): award a value badge, confirm the weekly review, who may do what."""

from __future__ import annotations

import pytest
import streamlit as st
from sqlmodel import Session, select

from db.accounts import audit_entries
from db.models import Badge, BadgeAward
from tests.app_util import app_as
from tests.factories import add_ratings, make_agent, make_team

HOSTILE = "so patient [x](javascript:alert(1)) <img src=x onerror=alert(1)> ![](http://127.0.0.1:9/p)"


@pytest.fixture(autouse=True)
def _fresh_streamlit_caches():
    """Cached engines and frames must not leak from one test's database into the next."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def no_exception(at) -> None:
    assert not at.exception, [e.message for e in at.exception]


def badges_page(username: str, *, role: str):
    at = app_as(username, role=role, timeout=120)
    at.run()
    at.switch_page("pages/badges.py").run()
    no_exception(at)
    return at


def feed(at):
    for element in at.dataframe:
        if "reason" in element.value.columns and "awarded_by" in element.value.columns:
            return element.value
    raise AssertionError("no recognition feed on the page")


def awards_of(engine, agent_id: int) -> list[tuple[str, str, str]]:
    """(badge code, reason, evidence) of an agent's awards."""
    with Session(engine) as session:
        rows = session.exec(
            select(Badge.code, BadgeAward.reason, BadgeAward.evidence)
            .join(Badge, Badge.id == BadgeAward.badge_id)
            .where(BadgeAward.agent_id == agent_id)
        ).all()
    return [tuple(r) for r in rows]


@pytest.fixture
def teams(engine):
    """Lee leads Alpha (Ann, praised this week for patience); Olga is on Beta at another site."""
    make_team(engine, "Alpha", leader="lee")
    ann = make_agent(engine, "Ann Lee", username="ann")
    olga = make_agent(engine, "Olga Other", team="Beta", site="Belgrade")
    add_ratings(engine, "Ann Lee", [5], comment=HOSTILE, went_well=["patience"])
    add_ratings(engine, "Olga Other", [5, 5], team="Beta", site="Belgrade", comment="so patient and kind")
    return {"ann": ann.id, "olga": olga.id}


def test_a_leader_awards_a_value_badge_and_it_lands_in_the_feed_and_the_audit_log(db_env, engine, teams):
    at = badges_page("lee", role="leader")
    at.selectbox(key="bd_agent").set_value(teams["ann"]).run()
    at.selectbox(key="bd_badge").set_value("creative")
    at.text_area(key="bd_reason").input("Found a clever way to rebook the parcel")
    at.button(key="bd_award").click().run()
    no_exception(at)
    assert any("awarded to" in s.value and "Ann Lee" in s.value for s in at.success), [e.value for e in at.error]
    assert ("creative", "Found a clever way to rebook the parcel", "") in awards_of(engine, teams["ann"])
    table = feed(at)
    row = table[table["agent"] == "Ann Lee"].iloc[0]
    assert "Creative" in row["badge"] and row["reason"] == "Found a clever way to rebook the parcel"
    assert row["awarded_by"] == "lee"
    with Session(engine) as session:
        entries = audit_entries(session=session, action="badge_awarded")
    assert [(e.actor, e.target) for e in entries] == [("lee", "Ann Lee")]
    # The reason box is empty again, ready for the next award.
    assert at.text_area(key="bd_reason").value == ""


def test_an_award_needs_a_reason(db_env, engine, teams):
    at = badges_page("lee", role="leader")
    at.selectbox(key="bd_agent").set_value(teams["ann"]).run()
    at.button(key="bd_award").click().run()
    no_exception(at)
    assert any("reason is required" in e.value for e in at.error)
    assert awards_of(engine, teams["ann"]) == []


def test_a_leader_confirms_a_weekly_review_candidate(db_env, engine, teams):
    at = badges_page("lee", role="leader")
    confirm = [b for b in at.button if (b.key or "").startswith(f"bd_confirm_{teams['ann']}_empathetic_")]
    assert len(confirm) == 1
    reason_key = confirm[0].key.replace("bd_confirm_", "bd_reason_")
    assert "patient" in at.text_input(key=reason_key).value  # prefilled from the matched words
    confirm[0].click().run()
    no_exception(at)
    (award,) = awards_of(engine, teams["ann"])
    assert award[0] == "empathetic" and "patient" in award[1] and award[2]  # tied to the rating
    assert "Ann Lee" in set(feed(at)["agent"])
    # Awarded: the candidate leaves the queue.
    assert not [b for b in at.button if (b.key or "").startswith(f"bd_confirm_{teams['ann']}_empathetic_")]


def test_customer_quotes_in_the_review_are_text(db_env, teams):
    """Regression: a quote with a link, an HTML tag and an image is shown with st.text, never as Markdown."""
    at = badges_page("lee", role="leader")
    assert any("javascript:alert(1)" in t.value for t in at.text)
    shown = " ".join(e.value for e in (*at.markdown, *at.caption, *at.success, *at.info))
    for raw in ("javascript:", "<img", "![](", "onerror"):
        assert raw not in shown, raw


def test_a_leader_cannot_award_to_an_agent_of_another_team(db_env, engine, teams):
    at = badges_page("lee", role="leader")
    options = at.selectbox(key="bd_agent").options  # as shown: "name · team"
    assert options == ["Ann Lee · Alpha"]
    # Olga's praise makes no candidate for Lee either.
    assert not [b for b in at.button if (b.key or "").startswith(f"bd_confirm_{teams['olga']}_")]
    assert "Olga Other" not in " ".join(m.value for m in at.markdown)


def test_an_agent_cannot_open_the_badges_page(db_env, teams):
    at = badges_page("ann", role="agent")
    assert any("not available for your role" in e.value for e in at.error)
    assert not [b for b in at.button if b.key == "bd_award"]
    assert not at.dataframe


def test_only_managers_and_admins_evaluate_automatic_badges(db_env, engine, teams):
    leader = badges_page("lee", role="leader")
    assert not [b for b in leader.button if b.key == "bd_evaluate"]
    at = badges_page("boss", role="admin")
    at.button(key="bd_evaluate").click().run()
    no_exception(at)
    assert any("automatic badge" in s.value for s in at.success)
    assert ("first_five_star" in {code for code, *_ in awards_of(engine, teams["ann"])})
    at.button(key="bd_evaluate").click().run()
    assert any("nothing new" in i.value for i in at.info)
