"""Every CSV export is safe to open in a spreadsheet (issue 12, item 16).

A cell that starts with = + - @, a tab or a carriage return is a formula to Excel,
LibreOffice and Google Sheets; every CSV the app writes goes through one writer
(``leaderboard.text.CsvWriter``) that puts an apostrophe in front of such a text cell
and leaves numbers alone. The rule is a case table; then each writer (every command's
``--format csv``, the import's rejected-rows file, the pages' downloads) is fed a
hostile name or comment, and a last test fails if any module builds its own CSV writer.
"""

from __future__ import annotations

import ast
import csv
import io
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from leaderboard.text import CsvWriter, safe_csv_cell, write_csv
from tests.app_util import app_as
from tests.cli_util import run_cli
from tests.factories import add_rating, add_ratings, make_agent, make_team, make_user

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = '=HYPERLINK("http://x","click")'
SAFE = "'" + HOSTILE
# Independent of the module under test on purpose: what spreadsheets treat as a formula start.
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch):
    """Agents named in full in every export (short public names are tested elsewhere); no demo seed."""
    monkeypatch.setenv("STARBOARD_PUBLIC_NAMES", "full")
    monkeypatch.setenv("STARBOARD_AUTO_SEED", "0")


# --------------------------------------------------------------------------- the cell rule


@pytest.mark.parametrize(
    "value, numeric, expected",
    [
        pytest.param("=1+1", False, "'=1+1", id="equals formula"),
        pytest.param("+SUM(A1)", False, "'+SUM(A1)", id="plus formula"),
        pytest.param("-cmd", False, "'-cmd", id="minus text"),
        pytest.param("@foo", False, "'@foo", id="at sign"),
        pytest.param("\tx", False, "'\tx", id="leading tab"),
        pytest.param("\rx", False, "'\rx", id="leading carriage return"),
        pytest.param(HOSTILE, False, SAFE, id="hyperlink"),
        pytest.param("normal", False, "normal", id="plain text"),
        pytest.param("", False, "", id="empty text"),
        pytest.param(None, False, "", id="None is empty"),
        pytest.param(float("nan"), False, "", id="NaN is empty"),
        pytest.param(-42.5, False, "-42.5", id="negative float is a number"),
        pytest.param(0, False, "0", id="zero"),
        pytest.param(-3, False, "-3", id="negative int"),
        pytest.param(Decimal("-1.50"), False, "-1.50", id="negative Decimal"),
        pytest.param(np.int64(-7), False, "-7", id="numpy int"),
        pytest.param(np.float64(-42.5), False, "-42.5", id="numpy float"),
        pytest.param(True, False, "true", id="bool true"),
        pytest.param(np.bool_(False), False, "false", id="numpy bool"),
        pytest.param("a=b", False, "a=b", id="equals inside"),
        pytest.param("Ann-Marie", False, "Ann-Marie", id="hyphen inside"),
        pytest.param(" =x", False, "' =x", id="leading space then formula"),
        pytest.param("  -1+cmd", False, "'  -1+cmd", id="leading spaces then minus"),
        pytest.param("\n=x", False, "'\n=x", id="leading newline then formula"),
        pytest.param(" x", False, " x", id="leading space then text"),
        pytest.param("Zoë Ünal", False, "Zoë Ünal", id="accented text"),
        pytest.param("名前 ★★★", False, "名前 ★★★", id="CJK and stars"),
        pytest.param("\uff1d1+1", False, "'\uff1d1+1", id="full-width equals"),
        pytest.param("'=x", False, "'=x", id="already neutralised"),
        pytest.param("2026-11-20T14:03", False, "2026-11-20T14:03", id="date text"),
        pytest.param("-5", False, "'-5", id="numeric-looking text in a text column"),
        pytest.param("-5", True, "-5", id="numeric-looking text in a numeric column"),
        pytest.param("+2.5e3", True, "+2.5e3", id="number literal with exponent in a numeric column"),
        pytest.param("-1+cmd", True, "'-1+cmd", id="formula in a numeric column"),
        pytest.param("=1", True, "'=1", id="equals in a numeric column"),
        pytest.param(-42.5, True, "-42.5", id="number in a numeric column"),
    ],
)
def test_csv_cell_rule(value, numeric, expected):
    assert safe_csv_cell(value, numeric=numeric) == expected


def test_write_csv_quotes_then_neutralises_and_keeps_numbers():
    out = io.StringIO()
    write_csv(
        [{"agent": HOSTILE, "nps": -42.5, "ok": True, "note": "-5"}, {"agent": "Ann", "nps": None}],
        ("agent", "nps", "ok", "note"),
        out,
    )
    assert out.getvalue() == (
        "agent,nps,ok,note\n"
        '"\'=HYPERLINK(""http://x"",""click"")",-42.5,true,\'-5\n'
        "Ann,,,\n"
    )
    assert next(csv.reader(io.StringIO(out.getvalue().splitlines()[1])))[0] == SAFE


def test_csv_writer_numeric_columns_keep_number_text():
    out = io.StringIO()
    writer = CsvWriter(out, numeric_columns=[1])
    writer.writerow(["-5", "-5", "=x"])
    assert out.getvalue() == "'-5,-5,'=x\n"


# --------------------------------------------------------------------------- every writer


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def assert_safe(text: str) -> None:
    """No cell of ``text`` starts (after spaces) like a formula, except plain numbers."""
    for row in _cells(text):
        for cell in row:
            if _is_number(cell):
                continue
            assert not cell.startswith(TRIGGERS) and not cell.lstrip().startswith(TRIGGERS), (cell, row)


def _ok(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def hostile(engine):
    """A team led by lead.a whose agent is named like a formula, with 1★ ratings whose comment is one too."""
    make_team(engine, "@Team", leader="lead.a")
    make_agent(engine, HOSTILE, team="@Team", username="-agent")
    add_ratings(engine, HOSTILE, [5, 5, 4, 5, 5, 5], team="@Team", nps=0, comment=HOSTILE)
    add_rating(engine, agent=HOSTILE, stars=1, team="@Team", nps=0, comment=HOSTILE, to_improve=("=tag",))
    add_ratings(engine, "Ann Lee", [5] * 6, team="@Team", nps=10)
    return engine


def test_rank_csv_neutralises_a_formula_agent_name_and_keeps_negative_numbers(db_url, hostile):
    out = _ok(run_cli("rank", "--period", "all", "--format", "csv", db=db_url))
    assert_safe(out)
    rows = {r["agent"]: r for r in csv.DictReader(io.StringIO(out))}
    assert SAFE in rows and rows[SAFE]["team"] == "'@Team"
    assert rows[SAFE]["nps"] == "-100.0"  # every answer a 0: a negative number stays a number


def test_prompts_csv_neutralises_agent_team_and_comment(db_url, hostile):
    _ok(run_cli("prompts", "generate", db=db_url))  # listing no longer generates (issue 13)
    out = _ok(run_cli("prompts", "--format", "csv", db=db_url))
    assert_safe(out)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows and {r["agent"] for r in rows} >= {SAFE}
    assert any(HOSTILE in r["evidence"] for r in rows)  # inside the evidence text: not at the start


def test_ratios_csv_neutralises_names(db_url, hostile):
    assert _ok(run_cli("coach", HOSTILE, "--kind", "praise", "--text", HOSTILE, "--by", "lead.a", db=db_url))
    for by in ("agent", "team"):
        out = _ok(run_cli("ratios", "--by", by, "--period", "all", "--format", "csv", db=db_url))
        assert_safe(out)
        names = [r["name"] for r in csv.DictReader(io.StringIO(out))]
        assert (SAFE if by == "agent" else "'@Team") in names


def test_users_list_csv_neutralises_username_and_agent(db_url, hostile):
    make_user(hostile, "+admin", role="admin")
    out = _ok(run_cli("users", "list", "--format", "csv", db=db_url))
    assert_safe(out)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {"'-agent", "'+admin"} <= {r["username"] for r in rows}
    assert SAFE in {r["agent"] for r in rows}


def test_recovery_list_and_report_csv_neutralise_names(db_url, hostile):
    add_rating(hostile, agent=HOSTILE, stars=1, team="@Team", interaction_id="-X-1", comment=HOSTILE)
    listed = _ok(run_cli("recovery", "list", "--format", "csv", db=db_url))
    assert_safe(listed)
    rows = list(csv.DictReader(io.StringIO(listed)))
    assert SAFE in {r["agent"] for r in rows} and "'-X-1" in {r["interaction_id"] for r in rows}
    report = _ok(run_cli("recovery", "report", "--period", "all", "--format", "csv", db=db_url))
    assert_safe(report)
    assert "'@Team" in {r["team"] for r in csv.DictReader(io.StringIO(report))}


def test_badges_list_csv_neutralises_agent_and_reason(db_url, hostile):
    catalogue = list(csv.DictReader(io.StringIO(_ok(run_cli("badges", "catalogue", "--format", "csv", db=db_url)))))
    value_badge = next(r["code"] for r in catalogue if r["kind"] == "value")
    _ok(run_cli("badges", "award", HOSTILE, value_badge, "--by", "lead.a", "--reason", HOSTILE, db=db_url))
    out = _ok(run_cli("badges", "list", "--format", "csv", db=db_url))
    assert_safe(out)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert (rows[0]["agent"], rows[0]["reason"]) == (SAFE, SAFE)


def _upload(*rows: dict) -> bytes:
    """A canonical ratings file (written here by hand: the test's input, not an export)."""
    from db.ingest import COLUMNS

    lines = [",".join(COLUMNS)]
    for row in rows:
        lines.append(",".join('"' + str(row.get(c, "")).replace('"', '""') + '"' for c in COLUMNS))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _bad_row(iid: str, **extra) -> dict:
    return {
        "interaction_id": iid, "agent": HOSTILE, "team": "@Team", "site": "Manila", "channel": "chat",
        "contact_reason": "billing", "closed_at": "2026-11-20T14:03:00Z", "rated_at": "2026-11-20T14:05:00Z",
        "stars": "-3", "comment": HOSTILE, "nps": "-1", **extra,
    }


def test_import_rejects_file_neutralises_text_but_keeps_number_columns(db_url, tmp_path):
    source = tmp_path / "ratings.csv"
    source.write_bytes(_upload(_bad_row("=I-1"), _bad_row("I-2", stars="=1+1")))
    rejects = tmp_path / "rejected.csv"
    result = run_cli("import", str(source), "--rejects", str(rejects), db=db_url)
    assert result.returncode == 1, result.stderr  # some rows were rejected
    text = rejects.read_text(encoding="utf-8")
    assert_safe(text)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["line"] for r in rows] == ["2", "3"]
    first, second = rows
    assert (first["interaction_id"], first["agent"], first["team"], first["comment"]) == ("'=I-1", SAFE, "'@Team", SAFE)
    # stars and nps are number columns: a rejected -3 comes back as typed, a formula does not.
    assert (first["stars"], first["nps"], second["stars"]) == ("-3", "-1", "'=1+1")


REJECTS_LABEL = "Download the rejected rows with their reasons (CSV)"


@pytest.fixture
def downloads(monkeypatch) -> dict[str, list[bytes]]:
    """Spy on st.download_button (and on a column's): label -> the bytes offered, run after run."""
    seen: dict[str, list[bytes]] = {}
    original = DeltaGenerator.download_button

    def spy(self, label, data, *args, **kwargs):
        seen.setdefault(label, []).append(data)
        return original(self, label, data, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", spy)
    monkeypatch.setattr(st, "download_button", lambda *a, **k: spy(st._main, *a, **k))
    return seen


def test_leaderboard_download_csv_equals_rank_format_csv_byte_for_byte(db_env, hostile, downloads):
    at = app_as("qa.admin", role="admin", period="all")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    offered = downloads["Download CSV"][-1]
    assert offered == _ok(run_cli("rank", "--period", "all", "--format", "csv")).encode("utf-8")
    assert_safe(offered.decode("utf-8"))
    assert SAFE in {r["agent"] for r in csv.DictReader(io.StringIO(offered.decode("utf-8")))}


# --------------------------------------------------------------------------- one writer


# Calls that build a CSV writer of their own: csv.writer(...), csv.DictWriter(...), frame.to_csv(...).
WRITER_NAMES = ("writer", "DictWriter", "to_csv")
THE_WRITER = Path("leaderboard/text.py")


def writer_calls(source: str) -> list[int]:
    """Lines of ``source`` that call csv.writer, DictWriter or .to_csv (however imported)."""
    tree = ast.parse(source)
    names = set(WRITER_NAMES)
    for node in ast.walk(tree):  # from csv import writer as w: w(...) is a writer too
        if isinstance(node, ast.ImportFrom) and node.module == "csv":
            names |= {alias.asname for alias in node.names if alias.name in WRITER_NAMES and alias.asname}
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in names:
                lines.append(node.lineno)
    return lines


def test_every_csv_writer_goes_through_the_one_safe_writer():
    """csv.writer(, DictWriter( and .to_csv( appear in leaderboard/text.py only (app.py, leaderboard/, db/, pages/)."""
    files = [ROOT / "app.py", *sorted(p for d in ("leaderboard", "db", "pages") for p in (ROOT / d).rglob("*.py"))]
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in files
        if path.relative_to(ROOT) != THE_WRITER
        for line in writer_calls(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "write CSV with leaderboard.text.write_csv / CsvWriter instead"
    assert writer_calls((ROOT / THE_WRITER).read_text(encoding="utf-8"))  # the one writer is where it should be


@pytest.mark.parametrize(
    "source",
    [
        "import csv\ncsv.writer(out)",
        "from csv import writer\nwriter(out)",
        "import csv as c\nc.DictWriter(out, fieldnames=[])",
        "from csv import DictWriter as W\nW(out)",
        "frame.to_csv(index=False)",
    ],
)
def test_the_writer_check_finds_every_form(source):
    assert writer_calls(source)


def test_data_page_rejected_rows_downloads_are_neutralised(db_env, engine, downloads):
    at = app_as("qa.admin", role="admin")
    at.run()
    at.switch_page("pages/data.py").run()
    at.file_uploader(key="data_upload").set_value(("ratings.csv", _upload(_bad_row("=I-1")), "text/csv")).run()
    assert not at.exception, [e.message for e in at.exception]
    checked = downloads.pop(REJECTS_LABEL)  # offered by the check before anything is written
    at.button(key="data_import").click().run()
    assert not at.exception, [e.message for e in at.exception]
    imported = downloads[REJECTS_LABEL]  # the check's again, then the import's own
    assert len(imported) == 2
    for data in {*checked, *imported}:
        text = data.decode("utf-8")
        assert_safe(text)
        (row,) = csv.DictReader(io.StringIO(text))
        assert (row["interaction_id"], row["agent"], row["comment"], row["stars"]) == ("'=I-1", SAFE, SAFE, "-3")
