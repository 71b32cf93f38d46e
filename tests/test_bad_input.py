"""Bad input gets a clear error, never a traceback (issue 12, items 12-14).

Absurd dates in a file are rejected row by row (file, line, column, value, reason);
absurd periods and an unreachable database are one line (command line: exit 2; app:
one warning or error); a stray NUL byte rejects its line, not the file; a mistyped
--db is refused instead of quietly starting a new database in a new folder.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from db.ingest import COLUMNS, DateWindow, import_file, parse_row
from db.mapping import load_mapping
from db.models import Interaction, Rating
from leaderboard.periods import PeriodError, resolve_period
from leaderboard.auth import SYSTEM_VIEWER
from tests import factories
from tests.app_util import app_as
from tests.cli_util import run_cli

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TODAY = datetime.now(timezone.utc).date()
RECENT = f"{TODAY - timedelta(days=3)}T10:00:00Z"
RECENT_RATED = f"{TODAY - timedelta(days=3)}T10:05:00Z"
UNREACHABLE = "postgresql+psycopg://postgres:s3cret-pw@127.0.0.1:1/starboard"


def good(n: int, **changes: str) -> dict[str, str]:
    return {
        "interaction_id": f"B-{n}", "agent": "Ann Good", "team": "Harbor", "site": "Lisbon", "channel": "phone",
        "contact_reason": "billing", "closed_at": RECENT, "rated_at": RECENT_RATED, "stars": "5", "comment": "",
        "resolved": "yes", "nps": "9", "went_well": "", "to_improve": "", **changes,
    }


def csv_file(folder: Path, rows: list[dict[str, str]], name: str = "bad.csv") -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([row.get(c, "") for c in COLUMNS])
    path = folder / name
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def stored(engine, model) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


# --------------------------------------------------------------------------- 12. dates in a file


def test_dates_outside_the_window_reject_their_row_and_the_rest_lands(engine, tmp_path):
    """A rated_at of 0001-01-01T00:00:00+05:00 stopped the whole import with an OverflowError."""
    path = csv_file(tmp_path, [
        good(1),
        good(2, rated_at="0001-01-01T00:00:00+05:00"),
        good(3, closed_at="1999-12-31T23:00:00Z", rated_at=""),
        good(4, rated_at="9999-12-31T23:00:00-05:00"),
        good(5, rated_at=f"{TODAY + timedelta(days=3)}T00:00:00Z"),
        good(6),
    ])
    report = import_file(engine=engine, path=path, viewer=SYSTEM_VIEWER)
    assert (report.read, report.inserted, report.rejected, report.fatal) == (6, 2, 4, None)
    assert stored(engine, Interaction) == 2
    by_line = {e.line: e for e in report.errors}
    assert set(by_line) == {3, 4, 5, 6}
    year_one = by_line[3]
    assert (year_one.file, year_one.column, year_one.value) == ("bad.csv", "rated_at", "0001-01-01T00:00:00+05:00")
    assert "out of range" in year_one.reason
    assert (by_line[4].column, by_line[4].value) == ("closed_at", "1999-12-31T23:00:00Z")
    assert "before 2000-01-01" in by_line[4].reason and "STARBOARD_EARLIEST_DATE" in by_line[4].reason
    assert by_line[5].column == "rated_at" and "out of range" in by_line[5].reason
    assert by_line[6].column == "rated_at" and "STARBOARD_MAX_DAYS_AHEAD" in by_line[6].reason


def test_the_date_window_is_a_setting(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("STARBOARD_EARLIEST_DATE", str(TODAY - timedelta(days=10)))
    monkeypatch.setenv("STARBOARD_MAX_DAYS_AHEAD", "0")
    path = csv_file(tmp_path, [
        good(1),
        good(2, closed_at=f"{TODAY - timedelta(days=20)}T10:00:00Z", rated_at=""),
        good(3, rated_at=f"{TODAY + timedelta(days=1)}T00:30:00Z"),
    ])
    report = import_file(engine=engine, path=path, viewer=SYSTEM_VIEWER)
    assert (report.inserted, report.rejected) == (1, 2)
    assert [e.column for e in report.errors] == ["closed_at", "rated_at"]


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (datetime(2000, 1, 1), True),
        (datetime(1999, 12, 31, 23, 59, 59), False),
        (datetime(2026, 12, 2, 23, 59, 59), True),  # today + 1 day, to its last second
        (datetime(2026, 12, 3), False),
    ],
)
def test_date_window_bounds(moment, inside):
    window = DateWindow.for_today(earliest_date=date(2000, 1, 1), max_days_ahead=1, today=date(2026, 12, 1))
    assert (window.problem(moment) is None) is inside


def test_an_offset_that_leaves_the_calendar_is_a_row_error_not_an_overflow():
    result = parse_row(good(1, closed_at="0001-01-01T00:00:00+05:00", rated_at=""), file="f.csv", line=2)
    assert isinstance(result, list) and [e.column for e in result] == ["closed_at"]
    assert "out of range" in result[0].reason


def test_command_line_import_of_absurd_dates_lists_them_and_exits_1(db_url, tmp_path):
    path = csv_file(tmp_path, [good(1), good(2, rated_at="0001-01-01T00:00:00+05:00")])
    result = run_cli("import", str(path), db=db_url)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "OverflowError" not in result.stderr
    assert "bad.csv:3: column rated_at: value '0001-01-01T00:00:00+05:00'" in result.stderr


# --------------------------------------------------------------------------- 12. absurd periods


def test_an_absurd_custom_period_is_refused_in_one_line(db_url):
    """rank --period 0001-01-01..9999-12-31 printed an OverflowError traceback."""
    result = run_cli("rank", "--period", "0001-01-01..9999-12-31", db=db_url)
    line = result.error_line()
    assert "outside the dates Starboard can show" in line and "2000-01-01" in line


@pytest.mark.parametrize("spec", ["0001-01-01..9999-12-31", "1999-12-31..2000-01-05", "2026-01-01..9999-12-31"])
def test_resolve_period_refuses_absurd_custom_ranges(spec):
    with pytest.raises(PeriodError, match="outside the dates"):
        resolve_period(spec, now=datetime(2026, 12, 1, 12))


def test_resolve_period_keeps_sane_custom_ranges():
    period = resolve_period("2000-01-01..2027-06-30", now=datetime(2026, 12, 1, 12))
    assert (period.start, period.end) == (date(2000, 1, 1), date(2027, 7, 1))


def test_an_absurd_period_in_the_url_is_a_warning_not_an_exception(db_env, engine):
    """/leaderboard?period=custom&from=0001-01-01&to=9999-12-31 showed an OverflowError."""
    factories.add_rows(engine, [factories.rating_row(agent="Ann Good", stars=5)])
    at = app_as("admin", **{"period": "custom", "from": "0001-01-01", "to": "9999-12-31"})
    at.switch_page("pages/leaderboard.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("outside the dates Starboard can show" in w.value for w in at.warning), [w.value for w in at.warning]


# --------------------------------------------------------------------------- 12. unreachable database


def test_an_unreachable_database_is_one_line_without_the_password():
    result = run_cli("rank", "--period", "all", db=UNREACHABLE)
    assert result.error_line() == (
        "error: cannot reach the database at postgresql+psycopg://postgres@127.0.0.1:1/starboard (connection refused)"
    )
    assert "s3cret" not in result.stderr + result.stdout


def test_the_app_on_an_unreachable_database_shows_one_error(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE)
    monkeypatch.setenv("STARBOARD_AUTO_SEED", "0")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [
        "Starboard cannot start: cannot reach the database at "
        "postgresql+psycopg://postgres@127.0.0.1:1/starboard (connection refused)"
    ]


# --------------------------------------------------------------------------- 13. NUL bytes


def test_a_nul_byte_rejects_its_line_only(engine, tmp_path):
    """One NUL byte made the whole file 'a binary file'."""
    path = csv_file(tmp_path, [good(1), good(2, comment="broken\x00export"), good(3, went_well="kind\x00"), good(4)])
    report = import_file(engine=engine, path=path, viewer=SYSTEM_VIEWER)
    assert (report.fatal, report.inserted, report.rejected) == (None, 2, 2)
    assert [(e.line, e.column, e.reason) for e in report.errors] == [
        (3, "comment", "contains a NUL character"),
        (4, "went_well", "contains a NUL character"),
    ]
    assert stored(engine, Rating) == 2


def test_a_file_of_nul_bytes_is_still_binary(engine, tmp_path):
    path = tmp_path / "dump.csv"
    path.write_bytes(b"interaction_id,agent\n" + b"\x00" * 500 + b"\n")
    report = import_file(engine=engine, path=path, viewer=SYSTEM_VIEWER)
    assert report.fatal and "binary file" in report.fatal


# --------------------------------------------------------------------------- 14. a missing database file


@pytest.mark.parametrize(
    "args",
    [
        ("rank", "--period", "all"),
        ("import", "FILE"),
        ("simulate", "--duration", "0"),
        ("users", "list"),
        ("db", "current"),
    ],
)
def test_a_mistyped_db_path_is_refused_and_nothing_is_created(tmp_path, args):
    """--db with a typo silently created a new database in a new folder."""
    data = csv_file(tmp_path, [good(1)])
    typo = tmp_path / "dta" / "starboard.db"
    result = run_cli(*[str(data) if a == "FILE" else a for a in args], db=str(typo))
    line = result.error_line()
    assert f"no database at {typo}" in line and "db upgrade" in line
    assert not typo.parent.exists()


def test_a_missing_file_from_the_environment_is_refused_too(tmp_path):
    typo = tmp_path / "nowhere" / "x.db"
    result = run_cli("rank", env={"DATABASE_URL": None, "STARBOARD_DB": str(typo)})
    assert f"no database at {typo}" in result.error_line()
    assert not typo.exists()


def test_db_upgrade_creates_a_new_database_and_import_then_works(tmp_path):
    new = tmp_path / "fresh" / "starboard.db"
    created = run_cli("db", "upgrade", db=str(new))
    assert created.returncode == 0, created.stderr
    assert new.exists()
    imported = run_cli("import", str(csv_file(tmp_path, [good(1)])), db=str(new))
    assert imported.returncode == 0, imported.stderr
    assert "inserted=1" in imported.stdout


def test_seed_creates_a_new_database(tmp_path):
    new = tmp_path / "demo" / "starboard.db"
    result = run_cli("seed", "--days", "1", db=str(new))
    assert result.returncode == 0, result.stderr
    with_site = run_cli("rank", "--period", "all", "--format", "csv", db=str(new))
    assert with_site.returncode == 0 and with_site.stdout.startswith("rank,agent")


def test_a_mapped_export_with_an_absurd_date_rejects_that_row_naming_its_columns(engine, tmp_path):
    """Through a mapping too: the row is rejected with the export's own column names."""
    examples = Path(__file__).resolve().parent.parent / "examples" / "mappings"
    lines = (examples / "call_log.csv").read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("11/16/2026", "01/01/0001")
    path = tmp_path / "call_log.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = import_file(engine=engine, path=path, viewer=SYSTEM_VIEWER, mapping=load_mapping(examples / "call_log.toml"))
    assert report.fatal is None and report.rejected == 1
    (error,) = report.errors
    assert error.line == 2 and "Date" in error.column and "Traceback" not in error.reason
