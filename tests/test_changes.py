"""The change counter (db/changes.py): every kind of write moves it, in the writing transaction.

Regression for issue 12 item 9: a rating corrected in place from 5★ to 3★ kept the old
data version (max ids and counts), so every cache went on showing the 5★.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text, update
from sqlmodel import Session, select

from db import changes, queries
from db.ingest import write_rows
from db.models import Agent, AuditLog, ChangeCounter, CoachingPrompt, Rating, Site, utcnow
from db.recovery_store import exclude, undo_exclusion
from leaderboard.auth import SYSTEM_VIEWER
from tests.factories import add_rating, make_agent, make_user, rating_row


def counter(engine) -> int:
    with engine.connect() as conn:
        return changes.read(conn)


@pytest.fixture
def floor(engine):
    make_agent(engine, "Ann Lee", team="Alpha", site="Manila")
    rating_id = add_rating(engine, agent="Ann Lee", stars=5, comment="Brilliant")
    return rating_id


def test_a_new_database_has_the_one_counter_row(engine):
    with Session(engine) as session:
        rows = session.exec(select(ChangeCounter)).all()
    assert [(r.id, r.value) for r in rows] == [(1, 0)]


def test_the_data_version_is_the_counter(engine, floor):
    with Session(engine) as session:
        assert queries.data_version(session=session) == (counter(engine),)


def test_an_orm_insert_moves_the_counter(engine):
    before = counter(engine)
    with Session(engine) as session:
        session.add(Site(name="Belgrade", timezone="Europe/Belgrade"))
        session.commit()
    assert counter(engine) == before + 1


def test_a_rating_edited_in_place_moves_the_counter(engine, floor):
    """The bug: 5★ corrected to 3★ changes no id and no count, yet it must change the version."""
    before = counter(engine)
    with Session(engine) as session:
        rating = session.get(Rating, floor)
        rating.stars = 3
        session.add(rating)
        session.commit()
    assert counter(engine) == before + 1


def test_an_orm_delete_moves_the_counter(engine, floor):
    before = counter(engine)
    with Session(engine) as session:
        session.delete(session.get(Rating, floor))
        session.commit()
    assert counter(engine) == before + 1


def test_an_orm_bulk_update_moves_the_counter(engine, floor):
    before = counter(engine)
    with Session(engine) as session:
        session.exec(update(Agent).where(Agent.name == "Ann Lee").values(hide_from_wall=True))
        session.commit()
    assert counter(engine) == before + 1


def test_a_core_write_moves_the_counter(engine, floor):
    before = counter(engine)
    with engine.begin() as conn:
        conn.execute(update(Rating.__table__).where(Rating.__table__.c.id == floor).values(stars=4))
    assert counter(engine) == before + 1
    with engine.begin() as conn:
        conn.execute(text("UPDATE rating SET stars = 2 WHERE id = :id"), {"id": floor})
    assert counter(engine) == before + 2


def test_an_import_batch_moves_the_counter_once_per_batch(engine, floor):
    before = counter(engine)
    rows = [rating_row(agent="Ann Lee", stars=s, comment="batch") for s in (5, 4, 5, 3, 5)]
    report = write_rows(engine=engine, rows=rows, batch_size=2, viewer=SYSTEM_VIEWER)
    assert report.inserted == 5
    assert counter(engine) == before + 3  # batches of 2, 2 and 1


def test_an_import_correcting_a_rating_in_place_moves_the_counter(engine, floor):
    with Session(engine) as session:
        interaction_id = session.exec(
            text("SELECT i.interaction_id FROM interaction i JOIN rating r ON r.interaction_id = i.id WHERE r.id = :id"),
            params={"id": floor},
        ).scalar_one()
    before = counter(engine)
    report = write_rows(engine=engine, rows=[rating_row(agent="Ann Lee", stars=3, interaction_id=interaction_id)], viewer=SYSTEM_VIEWER)
    assert report.updated == 1
    assert counter(engine) > before


def test_an_exclusion_and_its_undo_move_the_counter(engine, floor):
    lead = make_user(engine, "lead", role="admin")
    with Session(engine) as session:
        interaction_id = session.exec(
            text("SELECT i.interaction_id FROM interaction i JOIN rating r ON r.interaction_id = i.id WHERE r.id = :id"),
            params={"id": floor},
        ).scalar_one()
    before = counter(engine)
    with Session(engine) as session:
        exclude(
            session=session, interaction_id=interaction_id, cause="system", by=lead, reason="outage",
            viewer=SYSTEM_VIEWER,
        )
    assert counter(engine) == before + 1
    with Session(engine) as session:
        undo_exclusion(session=session, interaction_id=interaction_id, by=lead, viewer=SYSTEM_VIEWER)
    assert counter(engine) == before + 2


def test_a_rolled_back_write_leaves_the_counter(engine, floor):
    before = counter(engine)
    with Session(engine) as session:
        rating = session.get(Rating, floor)
        rating.stars = 1
        session.add(rating)
        session.flush()
        session.rollback()
    with pytest.raises(RuntimeError):
        with engine.begin() as conn:
            conn.execute(update(Rating.__table__).values(stars=2))
            raise RuntimeError("abandon the transaction")
    assert counter(engine) == before
    # The connection goes back to the pool unmarked: the next read-only transaction moves nothing.
    with engine.begin() as conn:
        conn.execute(select(Rating.id)).all()
    assert counter(engine) == before


def test_reads_and_bookkeeping_leave_the_counter(engine, floor):
    """Reads, writes that change no row, and the audit trail alone refresh no screen."""
    before = counter(engine)
    with Session(engine) as session:
        session.exec(select(Rating)).all()
        session.exec(update(Rating).where(Rating.id == -1).values(stars=1))
        session.add(AuditLog(actor="t", action="looked", at=utcnow()))
        session.commit()
    assert counter(engine) == before


def test_bump_moves_the_counter_on_an_untracked_engine(engine, db_url):
    """The batch writer calls bump itself: an engine made without make_engine still moves it."""
    plain = create_engine(db_url)
    try:
        before = counter(engine)
        with plain.begin() as conn:
            changes.bump(conn)
        assert counter(engine) == before + 1
    finally:
        plain.dispose()


def test_the_counter_and_the_write_commit_together(engine, floor):
    """Another connection sees neither the new value nor the new row before the commit."""
    before = counter(engine)
    with engine.connect() as writer:
        with writer.begin():
            writer.execute(update(Rating.__table__).where(Rating.__table__.c.id == floor).values(stars=3))
            changes.bump(writer)
            assert counter(engine) == before
        assert counter(engine) == before + 1


def test_coaching_prompts_are_derived_and_move_nothing(engine, floor):
    """The rules write prompts from the data; the coaching page runs the rules once per version,
    so a rules run (or a Done, a Dismiss) must not move the version it is keyed on."""
    with Session(engine) as session:
        team_id = session.exec(select(Agent.team_id).where(Agent.name == "Ann Lee")).one()
    before = counter(engine)
    with Session(engine) as session:
        prompt = CoachingPrompt(
            dedupe_key="praise:ann", team_id=team_id, kind="praise", rule="praise", expires_at=utcnow()
        )
        session.add(prompt)
        session.commit()
        prompt.status = "dismissed"
        session.add(prompt)
        session.commit()
    assert counter(engine) == before
