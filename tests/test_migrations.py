"""Schema migrations: a release-9 database upgrades in place on SQLite and PostgreSQL and keeps
every row; a newer database stops with one line; `db upgrade|current|history|revision`."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import streamlit as st
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlmodel import SQLModel
from streamlit.testing.v1 import AppTest

from db import migrate
from db.engine import make_engine
from leaderboard import cli

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# Rows per table in the release-9 fixtures (both dumps hold the same rows).
RELEASE9_COUNTS = {
    "site": 3, "app_user": 10, "team": 3, "agent": 6, "interaction": 43, "rating": 15, "rating_tag": 24,
    "coaching_note": 12, "coaching_prompt": 6, "badge": 15, "badge_award": 6, "recovery_case": 7,
    "display_token": 2, "audit_log": 3, "app_meta": 4,
}

# The demo revision comes right after this code's head, as the next release would ship it.
HEAD = migrate.head()
NEXT = f"{int(HEAD) + 1:04d}"
AFTER = f"{int(HEAD) + 2:04d}"

DEMO_REVISION = '''"""Demo: agents get a nickname, display names get longer.

Revision ID: NEXT
Revises: HEAD
"""

import sqlalchemy as sa
from alembic import op

revision = "NEXT"
down_revision = "HEAD"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agent") as batch_op:
        batch_op.add_column(sa.Column("nickname", sa.String(length=40), nullable=False, server_default=""))
        batch_op.alter_column("display_name", existing_type=sa.String(length=120), type_=sa.String(length=200))


def downgrade() -> None:
    with op.batch_alter_table("agent") as batch_op:
        batch_op.alter_column("display_name", existing_type=sa.String(length=200), type_=sa.String(length=120))
        batch_op.drop_column("nickname")
'''.replace("NEXT", NEXT).replace("HEAD", HEAD)


def load_release9(url: str) -> None:
    """Make the database the previous release would have made (its own SQL dump)."""
    engine = create_engine(url)
    try:
        if engine.dialect.name == "sqlite":
            raw = engine.raw_connection()
            try:
                raw.driver_connection.executescript((FIXTURES / "release9_sqlite.sql").read_text())
            finally:
                raw.close()
        else:
            with engine.begin() as conn:
                conn.exec_driver_sql((FIXTURES / "release9_postgres.sql").read_text())
    finally:
        engine.dispose()


def counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in RELEASE9_COUNTS}


def version_rows(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def set_version(engine, revision: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


@pytest.fixture
def clean_url(db_url):
    """db_url, without an alembic_version a previous test left in a shared PostgreSQL schema."""
    engine = make_engine(db_url, create=False)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    return db_url


@pytest.fixture
def demo_revision(tmp_path, monkeypatch):
    """A copy of db/migrations with the next revision added, as the next release would ship it."""
    folder = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "versions" / f"{NEXT}_demo.py").write_text(DEMO_REVISION)
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", folder)
    migrate._script.cache_clear()
    yield folder
    migrate._script.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_script_cache():
    migrate._script.cache_clear()
    yield
    migrate._script.cache_clear()


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------- the previous release


def test_release9_database_upgrades_in_place_and_keeps_every_row(clean_url):
    load_release9(clean_url)
    engine = make_engine(clean_url)
    try:
        assert version_rows(engine) == [migrate.head()]
        assert counts(engine) == RELEASE9_COUNTS
        with engine.connect() as conn:
            assert conn.execute(text("SELECT name, timezone FROM site ORDER BY id")).all() == [
                ("New York", "America/New_York"), ("Manila", "Asia/Manila"), ("Belgrade", "Europe/Belgrade")
            ]
            assert conn.execute(text("SELECT count(*) FROM rating WHERE stars <= 2")).scalar_one() == 7
            assert conn.execute(text("SELECT username FROM app_user WHERE username = 'qa.lead'")).scalar_one() == "qa.lead"
        # The upgraded schema is exactly what the models describe.
        assert migrate.check(engine) == []
    finally:
        engine.dispose()


def test_second_open_is_a_no_op(clean_url):
    load_release9(clean_url)
    make_engine(clean_url).dispose()
    engine = make_engine(clean_url)
    try:
        assert migrate.pending(engine) == "none"
        assert migrate.upgrade(engine).action == "none"
        assert version_rows(engine) == [migrate.head()] and counts(engine) == RELEASE9_COUNTS
    finally:
        engine.dispose()


def test_two_processes_opening_an_old_database_upgrade_it_once(clean_url):
    """The migration lock: both openers succeed and alembic_version holds one row."""
    load_release9(clean_url)
    with ThreadPoolExecutor(max_workers=2) as pool:
        engines = list(pool.map(lambda _: make_engine(clean_url), range(2)))
    try:
        assert version_rows(engines[0]) == [migrate.head()]
        assert counts(engines[1]) == RELEASE9_COUNTS
    finally:
        for engine in engines:
            engine.dispose()


def test_upgraded_database_takes_new_rows(clean_url):
    """Regression guard for PostgreSQL: the dump's sequences continue after the kept ids."""
    load_release9(clean_url)
    engine = make_engine(clean_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO site (name, timezone) VALUES ('Lisbon', 'Europe/Lisbon')"))
        assert counts(engine)["site"] == 4
    finally:
        engine.dispose()


def test_empty_database_is_created_at_the_head(clean_url):
    engine = make_engine(clean_url)
    try:
        assert version_rows(engine) == [migrate.head()]
        assert set(SQLModel.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_revisions_from_scratch_build_exactly_the_models(clean_url):
    """0001 + every later revision == db/models.py: a model change without its revision fails here."""
    engine = make_engine(clean_url, create=False)
    try:
        with engine.begin() as conn:
            command.upgrade(migrate.alembic_config(connection=conn), "head")
        assert migrate.check(engine) == []
    finally:
        engine.dispose()


def test_alembic_version_lives_in_the_connections_schema(clean_url):
    engine = make_engine(clean_url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name != "postgresql":
                pytest.skip("schemas are a PostgreSQL matter")
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
            found = conn.execute(
                text("SELECT table_schema FROM information_schema.tables WHERE table_name = 'alembic_version'")
            ).scalars().all()
        # Other test runs may hold schemas of their own at the same time: only ours and public matter.
        assert schema != "public" and schema in found and "public" not in found
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- a later revision


def test_a_later_revision_upgrades_a_release9_database_in_place(clean_url, demo_revision):
    load_release9(clean_url)
    engine = make_engine(clean_url)
    try:
        assert version_rows(engine) == [NEXT]
        assert counts(engine) == RELEASE9_COUNTS
        columns = {c["name"]: c for c in inspect(engine).get_columns("agent")}
        assert "nickname" in columns and columns["display_name"]["type"].length == 200
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            # Cascades still work after the table was rebuilt (SQLite) or altered.
            conn.execute(text("DELETE FROM agent WHERE id = (SELECT min(id) FROM agent)"))
        assert counts(engine)["agent"] == RELEASE9_COUNTS["agent"] - 1
    finally:
        engine.dispose()


def test_db_upgrade_prints_from_and_to(clean_url, demo_revision, capsys):
    engine = make_engine(clean_url)  # at the demo head
    set_version(engine, HEAD)
    engine.dispose()
    code, out, err = run_cli(capsys, "db", "upgrade", "--db", clean_url)
    assert (code, out.strip(), err) == (0, f"upgraded: {HEAD} -> {NEXT}", "")
    code, out, _ = run_cli(capsys, "db", "upgrade", "--db", clean_url)
    assert (code, out.strip()) == (0, f"already at the newest revision {NEXT}")


def test_failed_upgrade_changes_nothing(clean_url, demo_revision):
    """The whole upgrade is one transaction: a failing revision leaves the database as it was."""
    (demo_revision / "versions" / f"{AFTER}_broken.py").write_text(
        DEMO_REVISION.replace(f'revision = "{NEXT}"', f'revision = "{AFTER}"')
        .replace(f'down_revision = "{HEAD}"', f'down_revision = "{NEXT}"')
        .replace("def upgrade() -> None:\n", "def upgrade() -> None:\n    op.execute('SELECT * FROM no_such_table')\n")
    )
    migrate._script.cache_clear()
    load_release9(clean_url)
    with pytest.raises(Exception, match="no_such_table"):
        make_engine(clean_url)
    engine = make_engine(clean_url, create=False)
    try:
        assert "alembic_version" not in inspect(engine).get_table_names()
        assert "nickname" not in {c["name"] for c in inspect(engine).get_columns("agent")}
        assert counts(engine) == RELEASE9_COUNTS
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- a newer database


def test_newer_database_stops_with_one_line(clean_url, capsys, monkeypatch):
    engine = make_engine(clean_url)
    set_version(engine, "0999")
    engine.dispose()
    with pytest.raises(migrate.DatabaseNewerError) as caught:
        make_engine(clean_url)
    message = str(caught.value)
    assert "\n" not in message and "0999" in message and "python -m leaderboard db upgrade" in message
    monkeypatch.setenv("DATABASE_URL", clean_url)
    code, out, err = run_cli(capsys, "rank")
    assert (code, out, err) == (2, "", f"error: {message}\n")
    code, out, err = run_cli(capsys, "db", "upgrade", "--db", clean_url)
    assert (code, err) == (2, f"error: {message}\n")


# --------------------------------------------------------------------------- the db command


def test_db_current_and_history(clean_url, capsys):
    load_release9(clean_url)
    code, out, err = run_cli(capsys, "db", "current", "--db", clean_url)
    assert (code, out) == (0, "none\n") and "db upgrade" in err
    code, out, _ = run_cli(capsys, "db", "upgrade", "--db", clean_url)
    assert (code, out) == (0, f"upgraded: release 9 (no revision) -> {migrate.head()}\n")
    code, out, err = run_cli(capsys, "db", "current", "--db", clean_url)
    assert (code, out, err) == (0, f"{migrate.head()}\n", "")
    code, out, _ = run_cli(capsys, "db", "history", "--format", "csv", "--db", clean_url)
    lines = out.splitlines()
    assert lines[0] == "revision,revises,message,head,current"
    assert lines[1].startswith("0001,,Release 9 schema")
    assert lines[-1].endswith("true,true")  # the newest is the head and the database's


def test_db_revision_writes_the_next_numbered_file(clean_url, demo_revision, capsys):
    code, out, err = run_cli(capsys, "db", "revision", "-m", "add team colour", "--autogenerate", "--db", clean_url)
    assert code == 0, err
    written = demo_revision / "versions" / f"{AFTER}_add_team_colour.py"
    assert written.exists() and str(written) in out
    source = written.read_text()
    assert f'revision: str = "{AFTER}"' in source or f"revision: str = '{AFTER}'" in source
    assert f"down_revision: Union[str, Sequence[str], None] = '{NEXT}'" in source


def test_app_on_a_newer_database_shows_one_error_line(clean_url, monkeypatch):
    engine = make_engine(clean_url)
    set_version(engine, "0999")
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", clean_url)
    monkeypatch.setenv("STARBOARD_AUTO_SEED", "1")
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=30).run()
    assert not at.exception, [e.message for e in at.exception]
    assert [e.value for e in at.error] == [f"Starboard cannot start: {migrate.DatabaseNewerError('0999')}"]
