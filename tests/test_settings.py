"""Settings declared once: the README's table is the declared one; values from the environment are
read or refused with one line naming the variable (command line: exit 2; app: one error)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from leaderboard import cli
from leaderboard.settings import DEFAULT_DB_PATH, Settings, SettingsError, get_settings, settings_table, sqlite_url

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
VARIABLES = [row.variable for row in settings_table()]


def readme_table() -> list[tuple[str, str, str, str]]:
    """(variable, type, default, description) rows of the README's "Configuration" table."""
    section = README.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("| `"):
            continue
        variable, kind, default, description = cells
        rows.append((variable.strip("`"), kind, default.strip("`"), description))
    return rows


@pytest.fixture(autouse=True)
def _no_settings_in_environment(monkeypatch):
    for variable in VARIABLES:
        monkeypatch.delenv(variable, raising=False)


def test_readme_configuration_table_is_the_declared_settings():
    declared = [(r.variable, r.type, r.default, r.description) for r in settings_table()]
    assert readme_table() == declared


def test_every_setting_has_a_variable_and_a_description():
    for row in settings_table():
        assert re.fullmatch(r"(DATABASE_URL|STARBOARD_[A-Z_]+)", row.variable), row
        assert row.description and "\n" not in row.description, row


def test_defaults_without_environment():
    s = get_settings()
    assert s == Settings()
    assert (s.database_url, s.prior_weight, s.min_ratings, s.ratio_target, s.auto_seed) == (
        sqlite_url(DEFAULT_DB_PATH), 10.0, 5, 5.0, True
    )
    assert (s.public_name_style, s.recovery_threshold, s.recovery_due_hours) == ("first_initial", 2, 2.0)


@pytest.mark.parametrize(
    "variable, raw, field, expected",
    [
        ("STARBOARD_MIN_RATINGS", "3", "min_ratings", 3),
        ("STARBOARD_MIN_RATINGS", " 7 ", "min_ratings", 7),
        ("STARBOARD_MIN_RATINGS", "", "min_ratings", 5),  # empty means "not set"
        ("STARBOARD_PRIOR_WEIGHT", "2.5", "prior_weight", 2.5),
        ("STARBOARD_PRIOR_WEIGHT", "0", "prior_weight", 0.0),
        ("STARBOARD_AUTO_SEED", "0", "auto_seed", False),
        ("STARBOARD_AUTO_SEED", "false", "auto_seed", False),
        ("STARBOARD_AUTO_SEED", "no", "auto_seed", False),
        ("STARBOARD_AUTO_SEED", "1", "auto_seed", True),
        ("STARBOARD_AUTO_SEED", "yes", "auto_seed", True),
        ("STARBOARD_PUBLIC_NAMES", "full", "public_name_style", "full"),
        ("STARBOARD_PUBLIC_NAMES", "Full", "public_name_style", "full"),
        ("STARBOARD_RECOVERY_THRESHOLD", "3", "recovery_threshold", 3),
        ("STARBOARD_RECOVERY_DUE_HOURS", "0.5", "recovery_due_hours", 0.5),
        ("STARBOARD_DB", "/tmp/sb-settings.db", "database_url", sqlite_url("/tmp/sb-settings.db")),
        ("DATABASE_URL", "postgresql+psycopg://u@h/db", "database_url", "postgresql+psycopg://u@h/db"),
        ("DATABASE_URL", "  ", "database_url", sqlite_url(DEFAULT_DB_PATH)),
    ],
)
def test_good_values(monkeypatch, variable, raw, field, expected):
    monkeypatch.setenv(variable, raw)
    assert getattr(get_settings(), field) == expected


def test_database_url_wins_over_starboard_db(monkeypatch):
    monkeypatch.setenv("STARBOARD_DB", "/tmp/ignored.db")
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/used.db")
    assert get_settings().database_url == "sqlite:////tmp/used.db"


@pytest.mark.parametrize(
    "variable, raw, problem",
    [
        ("STARBOARD_MIN_RATINGS", "abc", "is not a whole number"),
        ("STARBOARD_MIN_RATINGS", "2.5", "is not a whole number"),
        ("STARBOARD_MIN_RATINGS", "-1", "must be at least 0"),
        ("STARBOARD_PRIOR_WEIGHT", "ten", "is not a number"),
        ("STARBOARD_RATIO_TARGET", "0", "must be more than 0"),
        ("STARBOARD_AUTO_SEED", "maybe", "is not yes/no (1/0, true/false, yes/no, on/off)"),
        ("STARBOARD_MAX_UPLOAD_MB", "0", "must be at least 1"),
        ("STARBOARD_PUBLIC_NAMES", "initials", "is not one of: first_initial, full"),
        ("STARBOARD_RECOVERY_THRESHOLD", "6", "must be at most 5"),
        ("STARBOARD_RECOVERY_DUE_HOURS", "soon", "is not a number"),
    ],
)
def test_bad_values_stop_with_one_line_naming_the_variable(monkeypatch, variable, raw, problem):
    monkeypatch.setenv(variable, raw)
    with pytest.raises(SettingsError) as caught:
        get_settings()
    assert str(caught.value) == f"setting {variable}={raw!r} {problem}"


def test_two_bad_values_are_both_named_on_one_line(monkeypatch):
    monkeypatch.setenv("STARBOARD_MIN_RATINGS", "abc")
    monkeypatch.setenv("STARBOARD_PRIOR_WEIGHT", "x")
    with pytest.raises(SettingsError) as caught:
        get_settings()
    message = str(caught.value)
    assert "\n" not in message and "STARBOARD_MIN_RATINGS" in message and "STARBOARD_PRIOR_WEIGHT" in message


def test_settings_are_immutable_and_copied_with_changes():
    s = Settings()
    with pytest.raises(Exception):
        s.min_ratings = 3  # type: ignore[misc]
    assert s.model_copy(update={"min_ratings": 3}).min_ratings == 3 and s.min_ratings == 5
    assert Settings(min_ratings=3).min_ratings == 3
    assert s.with_db("/tmp/other.db").database_url == sqlite_url("/tmp/other.db")
    assert s.with_db("postgresql+psycopg://u@h/db").database_url == "postgresql+psycopg://u@h/db"
    assert s.with_db(None) is s


def test_only_the_documented_variable_names_are_read(monkeypatch):
    """An attribute name is not a second environment variable."""
    monkeypatch.setenv("min_ratings", "9")
    assert get_settings().min_ratings == 5


def test_command_line_bad_setting_is_one_line_and_exit_2(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("STARBOARD_MIN_RATINGS", "abc")
    code = cli.main(["rank", "--db", str(tmp_path / "x.db")])
    out, err = capsys.readouterr()
    assert (code, out, err) == (2, "", "error: setting STARBOARD_MIN_RATINGS='abc' is not a whole number\n")


def test_app_bad_setting_is_one_error_line(db_env, monkeypatch):
    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.setenv("STARBOARD_MIN_RATINGS", "abc")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert not at.exception, [e.message for e in at.exception]
    assert [e.value for e in at.error] == [
        "Starboard cannot start: setting STARBOARD_MIN_RATINGS='abc' is not a whole number"
    ]
