"""Importing what contact centers actually export: mappings (TOML), dates in every common form,
value maps, leaders, encodings and delimiters, .xlsx, saved mappings, dry runs, rejected-row
files, and an import killed half way that finishes when run again."""

from __future__ import annotations

import csv
import html
import io
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
import streamlit as st
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, text

from tests.conftest import pg_schema_url
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from db.engine import make_engine
from db.ingest import COLUMNS, RejectedRows, import_file, write_rows
from db.mapping import (
    CONSTANT,
    DateReader,
    Mapping,
    MappingError,
    check_upload_size,
    guess_mapping,
    header_key,
    load_mapping,
    missing_required,
    parse_mapping,
    preview,
    save_mapping,
    saved_mapping,
)
from db.models import Agent, AppMeta, Interaction, Rating, RatingTag, RecoveryCase, Site, Team, User
from leaderboard.auth import SYSTEM_VIEWER
from tests import factories
from tests.app_util import app_as
from tests.test_import import GOOD, write_csv
from tests.cli_util import run_cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "mappings"


def write(folder: Path, name: str, rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path = folder / name
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def mapping(text_: str, name: str = "test.toml") -> Mapping:
    return parse_mapping(text_, name=name)


MINIMAL = """
[columns]
interaction_id = "Id"
agent = "Agent"
team = { const = "Harbor" }
site = { const = "New York" }
channel = { const = "phone" }
closed_at = "When"
stars = "Score"
"""


def landed(engine) -> dict[str, tuple]:
    """interaction id -> (agent, closed_at, stars, rated_at) of everything in the database."""
    with Session(engine) as s:
        rows = s.exec(
            select(Interaction.interaction_id, Agent.name, Interaction.closed_at, Rating.stars, Rating.rated_at)
            .join(Agent, Agent.id == Interaction.agent_id)
            .outerjoin(Rating, Rating.interaction_id == Interaction.id)
        ).all()
    return {r[0]: tuple(r[1:]) for r in rows}


# --------------------------------------------------------------------------- the example mappings


def test_example_csat_tickets(engine):
    """Per-ticket CSAT: day-first local times, a 4.0 score, channel value map, supervisors become leaders."""
    report = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=EXAMPLES / "csat_tickets.csv", mapping=load_mapping(EXAMPLES / "csat_tickets.toml"))
    assert (report.read, report.inserted, report.rejected) == (6, 6, 0), [str(e) for e in report.errors]
    rows = landed(engine)
    # 16/11/2026 09:12 in Belgrade (UTC+1 in November) is 08:12 UTC.
    assert rows["T-50101"] == ("Ana Petrovic", datetime(2026, 11, 16, 8, 12), 5, datetime(2026, 11, 16, 8, 30))
    assert rows["T-50102"][2] == 4, "4.0 is a whole number"
    assert rows["T-50103"][2:] == (None, None), "no score: an interaction nobody rated"
    with Session(engine) as s:
        leaders = dict(
            s.exec(select(Team.name, User.username).join(User, User.id == Team.leader_id)).all()
        )
        users = s.exec(select(User.username, User.display_name, User.role)).all()
        channels = dict(s.exec(select(Interaction.interaction_id, Interaction.channel)).all())
        site = s.exec(select(Site)).one()
        cases = s.exec(select(func.count(RecoveryCase.id))).one()
    assert leaders == {"Sava": "marko.ilic", "Dunav": "milica.djordjevic"}
    assert sorted(users) == [("marko.ilic", "Marko Ilic", "leader"), ("milica.djordjevic", "Milica Djordjevic", "leader")]
    assert (channels["T-50101"], channels["T-50103"], channels["T-50102"]) == ("chat", "email", "phone")
    assert site.timezone == "Europe/Belgrade", "a site the mapping creates starts in the mapping's zone"
    assert cases == 1, "the 2-star ticket opened a recovery case"


def test_example_call_log(engine):
    """Call log: Date + Time columns month-first in Chicago time; unanswered surveys land unrated."""
    report = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=EXAMPLES / "call_log.csv", mapping=load_mapping(EXAMPLES / "call_log.toml"))
    assert (report.read, report.inserted, report.rejected) == (6, 6, 0), [str(e) for e in report.errors]
    rows = landed(engine)
    # 11/16/2026 8:02 AM Central (UTC-6) is 14:02 UTC; rated when the call closed (no survey time).
    assert rows["C-880001"] == ("Olivia Smith", datetime(2026, 11, 16, 14, 2), 5, datetime(2026, 11, 16, 14, 2))
    assert rows["C-880004"][1:3] == (datetime(2026, 11, 16, 19, 30), 1)
    assert rows["C-880002"][2] is None, "Answered = N and a rating of N/A: no rating, no error"
    assert rows["C-880005"][2] is None
    with Session(engine) as s:
        assert s.exec(select(Site.name, Site.timezone)).all() == [("Austin", "America/Chicago")]
        assert sorted(s.exec(select(Team.name)).all()) == ["Billing", "Orders"]


def test_example_binary_survey(engine):
    """good/bad (any case) become 5 and 1 stars; 20-Nov-26 dates in Manila time."""
    report = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=EXAMPLES / "binary_survey.csv", mapping=load_mapping(EXAMPLES / "binary_survey.toml"))
    assert (report.read, report.inserted, report.rejected) == (5, 5, 0), [str(e) for e in report.errors]
    rows = landed(engine)
    assert rows["CV-9001"] == ("Maria Santos", datetime(2026, 11, 16, 1, 3), 5, datetime(2026, 11, 16, 1, 20))
    assert rows["CV-9002"][2] == 1 and rows["CV-9003"][2] == 5
    assert rows["CV-9004"][2] is None
    with Session(engine) as s:
        channels = dict(s.exec(select(Interaction.interaction_id, Interaction.channel)).all())
    assert (channels["CV-9001"], channels["CV-9002"], channels["CV-9003"]) == ("chat", "social", "email")


def test_example_xlsx_lands_the_same_rows_as_the_csv(engine, db_url, tmp_path):
    """.xlsx: real date cells, a 4.0 number, a second sheet; identical to the CSV export's import."""
    report = import_file(
        engine=engine, viewer=SYSTEM_VIEWER, path=EXAMPLES / "csat_tickets.xlsx", mapping=load_mapping(EXAMPLES / "csat_tickets_xlsx.toml")
    )
    assert (report.read, report.inserted, report.rejected) == (6, 6, 0), [str(e) for e in report.errors]
    assert report.source == "Excel workbook, sheet 'Tickets'"
    again = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=EXAMPLES / "csat_tickets.csv", mapping=load_mapping(EXAMPLES / "csat_tickets.toml"))
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 6)


def test_example_xlsx_is_what_the_script_makes(tmp_path):
    sys.path.insert(0, str(EXAMPLES))
    try:
        import make_xlsx  # a script in examples/mappings, importable only with its folder on the path
    finally:
        sys.path.remove(str(EXAMPLES))

    made = make_xlsx.build(EXAMPLES / "csat_tickets.csv", tmp_path / "made.xlsx")

    def cells(path):
        book = load_workbook(path, read_only=True)
        try:
            return {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}
        finally:
            book.close()

    assert cells(made) == cells(EXAMPLES / "csat_tickets.xlsx")


@pytest.mark.parametrize("name", ["csat_tickets", "call_log", "binary_survey", "csat_tickets_xlsx"])
def test_example_mapping_round_trips_through_toml(name):
    original = load_mapping(EXAMPLES / f"{name}.toml")
    again = parse_mapping(original.to_toml(), name=f"{name}.toml")
    assert again == original


def test_examples_readme_names_every_example():
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    for toml in EXAMPLES.glob("*.toml"):
        assert toml.name in readme


# --------------------------------------------------------------------------- dates

DATES = [
    # (case, mapping [dates], value, expected naive UTC)
    ("ISO with offset", {}, "2026-11-20T14:03:00+08:00", datetime(2026, 11, 20, 6, 3)),
    ("ISO with Z", {}, "2026-11-20T14:03:00Z", datetime(2026, 11, 20, 14, 3)),
    ("ISO, offset wins over the mapping's zone", {"tz": "Asia/Manila"}, "2026-11-20 14:03-05:00", datetime(2026, 11, 20, 19, 3)),
    ("ISO without offset: UTC", {}, "2026-11-20 14:03", datetime(2026, 11, 20, 14, 3)),
    ("ISO without offset in the mapping's zone", {"tz": "Asia/Manila"}, "2026-11-20 14:03", datetime(2026, 11, 20, 6, 3)),
    ("day-first", {"order": "day-first"}, "03/11/2026 14:03", datetime(2026, 11, 3, 14, 3)),
    ("month-first", {"order": "month-first"}, "03/11/2026 14:03", datetime(2026, 3, 11, 14, 3)),
    ("1/8/2023 11:13 day-first", {"order": "day-first"}, "1/8/2023 11:13", datetime(2023, 8, 1, 11, 13)),
    ("day over 12 is plain without an order", {}, "20/11/2026", datetime(2026, 11, 20)),
    ("same day and month is plain", {}, "05/05/2026", datetime(2026, 5, 5)),
    ("dotted two-digit year", {"order": "day-first"}, "1.8.23 9:05:30", datetime(2023, 8, 1, 9, 5, 30)),
    ("1-Aug-23", {}, "1-Aug-23", datetime(2023, 8, 1)),
    ("1-Aug-23 with a 12-hour time", {}, "1-Aug-23 2:05 PM", datetime(2023, 8, 1, 14, 5)),
    ("12 AM is midnight", {}, "1-Aug-23 12:10 am", datetime(2023, 8, 1, 0, 10)),
    ("1 August 2023", {}, "1 August 2023 11:13", datetime(2023, 8, 1, 11, 13)),
    ("Aug 1, 2023", {}, "Aug 1, 2023 11:13", datetime(2023, 8, 1, 11, 13)),
    ("year first with slashes", {}, "2023/08/01 11:13", datetime(2023, 8, 1, 11, 13)),
    ("named zone, winter", {"tz": "Europe/Belgrade"}, "20-Nov-26 14:03", datetime(2026, 11, 20, 13, 3)),
    ("named zone, summer time", {"tz": "Europe/Belgrade"}, "1-Aug-23 14:03", datetime(2023, 8, 1, 12, 3)),
    ("numeric offset after a named date", {}, "1-Aug-23 14:03 +02:00", datetime(2023, 8, 1, 12, 3)),
    ("strptime format from the mapping", {"formats": ["%Y%m%d %H%M"]}, "20231108 0930", datetime(2023, 11, 8, 9, 30)),
]


@pytest.mark.parametrize("case, options, value, expected", DATES, ids=[c[0] for c in DATES])
def test_dates(case, options, value, expected):
    read = DateReader(order=options.get("order"), formats=options.get("formats", ()), tz=options.get("tz", "UTC"))
    assert read(value) == expected


BAD_DATES = [
    ("ambiguous without an order", {}, "03/11/2026", "is ambiguous: day 3 of month 11, or day 11 of month 3?"),
    ("month 13 when day-first", {"order": "day-first"}, "11/13/2026", "month must be in 1..12 (the mapping reads dates day-first)"),
    ("no such month", {}, "1-Foo-23", "has no month called 'Foo'"),
    ("not a date", {}, "yesterday", "is not a date-time this mapping can read"),
    ("31 February", {}, "31-Feb-2026", "day is out of range for month"),
    ("hour 14 PM", {}, "1-Aug-23 14:05 PM", "has hour 14 with PM"),
]


@pytest.mark.parametrize("case, options, value, reason", BAD_DATES, ids=[c[0] for c in BAD_DATES])
def test_bad_dates(case, options, value, reason):
    read = DateReader(order=options.get("order"), tz="UTC")
    with pytest.raises(ValueError) as info:
        read(value)
    assert reason in str(info.value)


def test_separate_date_and_time_columns_in_a_zone(engine, tmp_path):
    path = write(tmp_path, "calls.csv", [["Id", "Agent", "Day", "At", "Score"], ["A-1", "Ann Lee", "20/11/2026", "23:30", "5"]])
    m = mapping(MINIMAL.replace('closed_at = "When"', 'closed_at = ["Day", "At"]') + '[dates]\norder = "day-first"\ntimezone = "America/New_York"\n')
    report = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=path, mapping=m)
    assert report.inserted == 1, [str(e) for e in report.errors]
    assert landed(engine)["A-1"][1] == datetime(2026, 11, 21, 4, 30), "23:30 in New York is 04:30 UTC the next day"


def test_ambiguous_date_is_a_row_error_naming_the_source_column(engine, tmp_path):
    path = write(
        tmp_path,
        "calls.csv",
        [["Id", "Agent", "When", "Score"], ["A-1", "Ann Lee", "20/11/2026 10:00", "5"], ["A-2", "Ann Lee", "03/11/2026 10:00", "4"]],
    )
    report = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=path, mapping=mapping(MINIMAL))
    assert (report.inserted, report.rejected) == (1, 1)
    [error] = report.errors
    assert (error.file, error.line, error.column, error.value) == ("calls.csv", 3, "When", "03/11/2026 10:00")
    assert str(error).startswith("calls.csv:3: column When: value '03/11/2026 10:00': closed_at is ambiguous")
    assert "order" in error.reason and "\n" not in str(error)


# --------------------------------------------------------------------------- values and rows


def test_mapped_row_errors_name_file_line_source_column_value_and_reason(engine, tmp_path):
    path = write(
        tmp_path,
        "survey.csv",
        [
            ["Id", "Agent", "When", "Score", "Fixed"],
            ["A-1", "Ann Lee", "2026-11-20 10:00", "good", "Y"],
            ["A-2", "Ann Lee", "2026-11-20 10:00", "meh", "Y"],
            ["A-3", "", "2026-11-20 10:00", "bad", "maybe"],
        ],
    )
    m = mapping(MINIMAL + 'resolved = "Fixed"\n[values.stars]\ngood = 5\nbad = 1\n[values.resolved]\nY = true\n')
    report = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=path, mapping=m)
    assert (report.inserted, report.rejected) == (1, 2)
    messages = [str(e) for e in report.errors]
    assert messages == [
        "survey.csv:3: column Score: value 'meh': stars must be a whole number from 1 to 5 (or one of the mapped values: good, bad)",
        "survey.csv:4: column Agent: value '': agent is required",
        "survey.csv:4: column Fixed: value 'maybe': resolved must be yes or no (or true/false, 1/0, y/n), or empty (or one of the mapped values: Y)",
    ]


def test_constant_and_unmapped_columns_are_named_as_such(engine, tmp_path):
    path = write(tmp_path, "s.csv", [["Id", "Agent", "When", "Score", "Note"], ["A-1", "Ann", "2026-11-20", "", "hi"]])
    m = mapping(MINIMAL.replace('channel = { const = "phone" }', 'channel = { const = "" }') + 'comment = "Note"\n')
    report = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=path, mapping=m)
    assert sorted(e.column for e in report.errors) == ["Score", "channel (constant)"]


def test_whole_number_decimals_and_value_maps(engine, tmp_path):
    path = write(
        tmp_path,
        "s.csv",
        [["Id", "Agent", "When", "Score", "NPS"], ["A-1", "Ann", "2026-11-20", "5.0", "10.0"], ["A-2", "Ann", "2026-11-20", "Good", ""]],
    )
    m = mapping(MINIMAL + 'nps = "NPS"\n[values.stars]\n"good" = 5\n"bad" = 1\n')
    report = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=path, mapping=m)
    assert report.inserted == 2, [str(e) for e in report.errors]
    with Session(engine) as s:
        assert sorted(s.exec(select(Rating.stars, Rating.nps)).all(), key=str) == [(5, 10), (5, None)]


def test_skip_and_unrated_rules(engine, tmp_path):
    path = write(
        tmp_path,
        "log.csv",
        [
            ["Id", "Agent", "When", "Score", "Answered", "Status"],
            ["A-1", "Ann", "2026-11-20", "4", "Y", "done"],
            ["A-2", "Ann", "2026-11-20", "0", "n", "done"],  # rating dropped: no error for the 0
            ["A-3", "Ann", "2026-11-20", "5", "Y", "TEST"],  # left out
            ["A-4", "Ann", "2026-11-20", "", "", "done"],
        ],
    )
    m = mapping(MINIMAL + '[rows]\nunrated_when = { column = "Answered", equals = ["N", "No"] }\n'
                'skip_when = [{ column = "Status", equals = "test" }, { column = "Status", equals = "spam" }]\n')
    report = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=path, mapping=m)
    assert (report.read, report.inserted, report.skipped, report.rejected) == (4, 3, 1, 0)
    assert report.summary().endswith("skipped=1")
    rows = landed(engine)
    assert set(rows) == {"A-1", "A-2", "A-4"} and rows["A-2"][2] is None


# --------------------------------------------------------------------------- leaders


def test_leader_column_creates_links_and_moves_leaders(engine, tmp_path):
    factories.make_user(engine, "ana.petrovic", role="agent", display_name="Ana Petrovic")  # promoted to team leader
    rows = [
        ["Id", "Agent", "Team", "Supervisor", "When", "Score"],
        ["A-1", "Ann Lee", "Harbor", "José Núñez", "2026-11-20", "5"],
        ["A-2", "Bo Diaz", "Liberty", "Ana Petrovic", "2026-11-20", "4"],
        ["A-3", "Cy Hill", "Liberty", "", "2026-11-20", "4"],
    ]
    m = mapping(MINIMAL.replace('team = { const = "Harbor" }', 'team = "Team"') + 'leader = "Supervisor"\n')
    import_file(engine=engine, viewer=SYSTEM_VIEWER, path=write(tmp_path, "a.csv", rows), mapping=m)
    import_file(engine=engine, viewer=SYSTEM_VIEWER, path=write(tmp_path, "a.csv", rows), mapping=m)  # again: nothing doubled

    def state():
        with Session(engine) as s:
            teams = dict(s.exec(select(Team.name, User.username).join(User, User.id == Team.leader_id)).all())
            users = sorted(s.exec(select(User.username, User.display_name, User.role)).all())
        return teams, users

    teams, users = state()
    assert teams == {"Harbor": "jose.nunez", "Liberty": "ana.petrovic"}
    assert users == [("ana.petrovic", "Ana Petrovic", "leader"), ("jose.nunez", "José Núñez", "leader")]
    # A later export names another supervisor for Harbor: the team's leader changes; an empty cell changes nothing.
    later = [rows[0], ["A-4", "Ann Lee", "Harbor", "Mia Cruz", "2026-11-21", "5"], ["A-5", "Bo Diaz", "Liberty", " ", "2026-11-21", "5"]]
    import_file(engine=engine, viewer=SYSTEM_VIEWER, path=write(tmp_path, "b.csv", later), mapping=m)
    teams, users = state()
    assert teams == {"Harbor": "mia.cruz", "Liberty": "ana.petrovic"}
    assert len(users) == 3


def test_canonical_file_may_carry_a_leader_column(engine, tmp_path):
    path = write_csv(tmp_path, [{**GOOD, "leader": "Marko Ilic"}], columns=(*COLUMNS, "leader"))
    report = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=path)
    assert report.inserted == 1, [str(e) for e in report.errors]
    with Session(engine) as s:
        assert s.exec(select(User.username).join(Team, Team.leader_id == User.id)).all() == ["marko.ilic"]


def test_write_rows_links_leaders_too(engine):
    row = factories.rating_row(agent="Ann Lee", stars=5, interaction_id="W-1")
    write_rows(engine=engine, viewer=SYSTEM_VIEWER, rows=[replace(row, leader="王伟")])
    with Session(engine) as s:
        user = s.exec(select(User)).one()
    assert user.username.startswith("leader.") and user.display_name == "王伟" and user.role == "leader"


# --------------------------------------------------------------------------- mapping errors

MAPPING_ERRORS = [
    ("not TOML", "[columns\nagent = 1", "test.toml: not valid TOML"),
    ("no columns table", 'description = "x"', "test.toml: [columns]: missing"),
    ("unknown top-level key", "colums = 1\n" + MINIMAL, "test.toml: colums: unknown key"),
    ("unknown canonical column", MINIMAL + 'manager = "Manager"', "test.toml: [columns] manager: not a canonical column"),
    ("missing required", MINIMAL.replace('agent = "Agent"\n', ""), "test.toml: [columns]: no agent (required:"),
    ("bad source", MINIMAL.replace('stars = "Score"', "stars = 5"), "test.toml: [columns] stars: must be a column name"),
    ("bad order", MINIMAL + '[dates]\norder = "little-endian"', "test.toml: [dates] order: must be 'day-first' or 'month-first'"),
    ("bad zone", MINIMAL + '[dates]\ntimezone = "Mars/Olympus"', "test.toml: [dates] timezone: unknown time zone 'Mars/Olympus'"),
    ("bad format", MINIMAL + '[dates]\nformats = ["YYYY"]', "test.toml: [dates] formats: must be a list of strptime formats"),
    ("values for an unmapped column", MINIMAL + "[values.nps]\nhigh = 10", "test.toml: [values.nps]: nps is not in [columns]"),
    ("bad value", MINIMAL + "[values.stars]\ngood = [5]", "test.toml: [values.stars] good: must be a string"),
    ("bad rule", MINIMAL + '[rows]\nskip_when = { column = "X" }', "test.toml: [rows] skip_when: must be { column"),
    ("bad encoding", '[file]\nencoding = "klingon"\n' + MINIMAL, "test.toml: [file] encoding: unknown encoding 'klingon'"),
]


@pytest.mark.parametrize("case, toml, message", MAPPING_ERRORS, ids=[c[0] for c in MAPPING_ERRORS])
def test_mapping_errors_are_one_line_naming_file_and_key(case, toml, message):
    with pytest.raises(MappingError) as info:
        parse_mapping(toml, name="test.toml")
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_unknown_source_column_stops_the_import_before_any_write(engine, tmp_path):
    path = write(tmp_path, "calls.csv", [["Id", "Agent Name", "When", "Score"], ["A-1", "Ann", "2026-11-20", "5"]])
    report = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=path, mapping=mapping(MINIMAL))
    assert report.exit_code == 2 and report.inserted == 0
    assert report.fatal == (
        "test.toml: [columns] agent = \"Agent\": calls.csv has no column 'Agent' "
        "(its columns: 'Id', 'Agent Name', 'When', 'Score')"
    )
    with Session(engine) as s:
        assert s.exec(select(func.count(Interaction.id))).one() == 0


def test_source_columns_match_ignoring_case_and_spaces(engine, tmp_path):
    path = write(tmp_path, "s.csv", [[" id ", "AGENT", "when", "score"], ["A-1", "Ann", "2026-11-20", "5"]])
    assert import_file(engine=engine, viewer=SYSTEM_VIEWER, path=path, mapping=mapping(MINIMAL)).inserted == 1


def test_to_toml_round_trip_with_awkward_text():
    m = mapping(
        MINIMAL.replace('site = { const = "New York" }', 'site = { const = "Café \\"Quote\\" \\\\ \\t" }')
        + '[file]\ndelimiter = "\\t"\n[values.stars]\n"très bien" = 5\n"a = b" = "4"\n'
        + '[rows]\nunrated_when = { column = "Ans", equals = ["N", ""] }\n'
    )
    assert parse_mapping(m.to_toml(), name="test.toml") == m


# --------------------------------------------------------------------------- encodings, delimiters, xlsx

HEADER = ["Id", "Agent", "When", "Score"]
BODY = [["A-1", "José Núñez", "2026-11-20 10:00", "5"], ["A-2", "Zoë Brontë", "2026-11-20 11:00", "4"]]

ENCODINGS = [
    # (case, delimiter, encoding written, what the report says)
    ("semicolon", ";", "utf-8", "CSV, utf-8, semicolon-separated"),
    ("tab", "\t", "utf-8", "CSV, utf-8, tab-separated"),
    ("pipe", "|", "utf-8", "CSV, utf-8, pipe-separated"),
    ("utf-8 with BOM", ",", "utf-8-sig", "CSV, utf-8 with BOM, comma-separated"),
    ("utf-16 with BOM", "\t", "utf-16", "CSV, utf-16, tab-separated"),
    ("utf-16 big-endian with BOM", ",", "utf-16-be-bom", "CSV, utf-16, comma-separated"),
    ("cp1252 with é", ";", "cp1252", "CSV, cp1252, semicolon-separated"),
]


@pytest.mark.parametrize("case, delimiter, encoding, source", ENCODINGS, ids=[c[0] for c in ENCODINGS])
def test_encodings_and_delimiters(engine, tmp_path, case, delimiter, encoding, source):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows([HEADER, *BODY])
    data = (b"\xfe\xff" + buffer.getvalue().encode("utf-16-be")) if encoding == "utf-16-be-bom" else buffer.getvalue().encode(encoding)
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    report = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=path, mapping=mapping(MINIMAL))
    assert report.source == source
    assert (report.inserted, report.rejected) == (2, 0), [str(e) for e in report.errors]
    with Session(engine) as s:
        assert sorted(s.exec(select(Agent.name)).all()) == ["José Núñez", "Zoë Brontë"]


def test_latin1_bytes_cp1252_lacks(engine, tmp_path):
    path = write(tmp_path, "x.csv", [HEADER, ["A-1", "Agent \x81", "2026-11-20", "5"]], encoding="latin-1")
    report = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=path, mapping=mapping(MINIMAL))
    assert report.source.startswith("CSV, latin-1") and report.inserted == 1


def test_quoted_newlines_and_delimiters_inside_cells(engine, tmp_path):
    path = write(
        tmp_path,
        "x.csv",
        [[*HEADER, "Note"], ["A-1", "Ann", "2026-11-20", "5", "one; two\nthree"], ["A-2", "Ann", "2026-11-20", "9", ""]],
        delimiter=";",
    )
    report = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=path, mapping=mapping(MINIMAL + 'comment = "Note"\n'))
    assert report.inserted == 1
    assert [e.line for e in report.errors] == [4], "the first record spans lines 2-3"


def test_mixed_encodings_are_refused_before_any_write(engine, tmp_path):
    """Regression: UTF-8 names plus one cp1252 byte late in the file: either reading garbles names."""
    path = write(tmp_path, "x.csv", [HEADER, *[[f"A-{i}", "José", "2026-11-20", "5"] for i in range(3000)]])
    with path.open("ab") as f:
        f.write(b"A-9999,Caf\xe9,2026-11-20,5\r\n")
    report = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=path, mapping=mapping(MINIMAL), batch_size=500)
    assert report.fatal.startswith("x.csv: mixes UTF-8 with another encoding (byte 0xe9 on line 3002")
    with Session(engine) as s:
        assert s.exec(select(func.count(Interaction.id))).one() == 0


def test_encoding_and_delimiter_from_the_mapping(engine, tmp_path):
    path = write(tmp_path, "x.csv", [HEADER, ["A-1", "Renée", "2026-11-20", "5"]], delimiter="|", encoding="latin-1")
    m = mapping('[file]\nencoding = "latin-1"\ndelimiter = "|"\n' + MINIMAL)
    report = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=path, mapping=m)
    assert report.source == "CSV, latin-1, pipe-separated" and report.inserted == 1


def _xlsx(path: Path, rows: list[list], *, blank_rows_first: int = 0) -> Path:
    book = Workbook()
    sheet = book.active
    for _ in range(blank_rows_first):
        sheet.append([])
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_xlsx_line_numbers_are_spreadsheet_rows(engine, tmp_path):
    rows = [list(COLUMNS)]
    rows.append(["X-1", "Ann Lee", "Harbor", "NY", "phone", "", datetime(2026, 11, 20, 10, 0), None, 5.0, "ok", True, 9])
    rows.append(["X-2", "Ann Lee", "Harbor", "NY", "phone", "", datetime(2026, 11, 20, 11, 0), None, 7])
    rows.append([])
    rows.append([10003, "Ann Lee", "Harbor", "NY", "chat", "", "2026-11-20T12:00:00Z", None, 4.5])
    path = _xlsx(tmp_path / "export.xlsx", rows, blank_rows_first=2)
    report = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=path)
    assert report.source == "Excel workbook, sheet 'Sheet'"
    assert (report.read, report.inserted, report.rejected) == (3, 1, 2)
    assert [str(e) for e in report.errors] == [
        "export.xlsx:5: column stars: value '7': must be a whole number from 1 to 5",
        "export.xlsx:7: column stars: value '4.5': must be a whole number from 1 to 5",
    ]
    with Session(engine) as s:
        rating = s.exec(select(Rating)).one()
    assert (rating.stars, rating.resolved, rating.nps, rating.rated_at) == (5, True, 9, datetime(2026, 11, 20, 10, 0))


UNREADABLE = [
    ("xlsx that is not a zip", "broken.xlsx", b"hello,world\n", "is not an Excel workbook"),
    ("zip that is not a workbook", "data.xlsx", b"PK\x03\x04" + b"\x00" * 40, "is not a readable .xlsx workbook"),
    ("old xls", "old.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 40, "old Excel .xls workbook"),
    ("bad utf-16", "u.csv", b"\xff\xfeI\x00d\x00\x00\xd8\n\x00", "is not valid UTF-16 text"),
]


@pytest.mark.parametrize("case, name, data, reason", UNREADABLE, ids=[c[0] for c in UNREADABLE])
def test_unreadable_files_are_one_line(engine, tmp_path, case, name, data, reason):
    path = tmp_path / name
    path.write_bytes(data)
    report = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=path)
    assert report.exit_code == 2 and report.fatal.startswith(f"{name}: ") and reason in report.fatal
    assert "\n" not in report.fatal


def test_missing_sheet_names_the_sheets(engine, tmp_path):
    path = _xlsx(tmp_path / "e.xlsx", [HEADER])
    report = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=path, mapping=mapping('[file]\nsheet = "Calls"\n' + MINIMAL))
    assert report.fatal == "e.xlsx: has no sheet 'Calls' (sheets: 'Sheet')"


# --------------------------------------------------------------------------- dry run, rejects, progress, preview


def test_dry_run_writes_nothing_and_counts_what_would_land(engine, tmp_path):
    path = write(tmp_path, "s.csv", [HEADER, ["A-1", "Ann", "2026-11-20", "5"], ["A-2", "Ann", "2026-11-20", "6"]])
    report = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=path, mapping=mapping(MINIMAL), dry_run=True)
    assert (report.read, report.valid, report.rejected, report.inserted) == (2, 1, 1, 0)
    assert report.summary() == "read=2 valid=1 rejected=1"
    with Session(engine) as s:
        assert s.exec(select(func.count(Agent.id))).one() == 0


def test_rejected_rows_file_keeps_the_source_cells_and_reasons(engine, tmp_path):
    path = write(
        tmp_path,
        "s.csv",
        [HEADER, ["A-1", "Ann", "2026-11-20", "5"], ["A-2", "", "2026-11-20", "6"], ["A-3", "Ann", "2026-11-20,oops", "4"]],
    )
    out = io.StringIO()
    report = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=path, mapping=mapping(MINIMAL), rejects=RejectedRows(out))
    assert report.rejected == 2
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["line", "problems", *HEADER]
    assert rows[1] == [
        "3",
        "column Agent: value '': agent is required; column Score: value '6': stars must be a whole number from 1 to 5",
        "A-2", "", "2026-11-20", "6",
    ]
    assert rows[2][0] == "4" and rows[2][1].startswith("column When: value '2026-11-20,oops': closed_at is not a date-time")


def test_progress_is_reported_after_every_batch(engine, tmp_path):
    path = write(tmp_path, "s.csv", [HEADER, *[[f"A-{i}", "Ann", "2026-11-20", "5"] for i in range(25)]])
    seen = []
    import_file(engine=engine, viewer=SYSTEM_VIEWER, path=path, mapping=mapping(MINIMAL), batch_size=10, progress=lambda r: seen.append(r.read))
    assert seen[-1] == 25 and len(seen) == 3


def test_preview_shows_rows_as_they_will_land(tmp_path):
    rows, errors = preview(EXAMPLES / "call_log.csv", load_mapping(EXAMPLES / "call_log.toml"), limit=3)
    assert [r["interaction_id"] for r in rows] == ["C-880001", "C-880002", "C-880003"]
    assert rows[0]["closed_at"] == "2026-11-16 14:02:00 UTC" and rows[0]["site"] == "Austin" and rows[0]["stars"] == 5
    assert rows[1]["stars"] is None and errors == []


def test_guess_mapping_for_the_example_headers():
    header = ["Call ID", "Date", "Time", "Agent", "Queue", "Wrap-up Code", "Duration (s)", "Answered", "Satisfaction (1-5)"]
    guess = guess_mapping(header)
    assert guess.columns["interaction_id"].columns == ("Call ID",)
    assert guess.columns["closed_at"].columns == ("Date", "Time")
    assert guess.columns["team"].columns == ("Queue",)
    assert guess.columns["stars"].columns == ("Satisfaction (1-5)",)
    assert missing_required(guess) == ["site", "channel"]
    tickets = guess_mapping(["Ticket ID", "Agent", "Supervisor", "Team", "Site", "Channel", "Solved At", "CSAT Score"])
    assert tickets.columns["leader"].columns == ("Supervisor",) and missing_required(tickets) == []


def test_saved_mappings_are_keyed_by_the_header(session):
    m = load_mapping(EXAMPLES / "call_log.toml")
    header = ["Call ID", "Date", "Time", "Agent", "Queue", "Wrap-up Code", "Duration (s)", "Answered", "Satisfaction (1-5)"]
    assert saved_mapping(session=session, header=header) is None
    key = save_mapping(session=session, header=header, mapping=m)
    assert key == header_key(list(reversed([h.upper() for h in header]))), "order and case do not matter"
    assert len(key) <= 60 and key.startswith("mapping:")
    again = parse_mapping(saved_mapping(session=session, header=list(reversed(header))), name="saved")
    assert again.columns == m.columns and again.unrated_when == m.unrated_when
    with pytest.raises(MappingError):
        save_mapping(session=session, header=header, mapping=guess_mapping(header))  # site and channel missing
    save_mapping(session=session, header=header, mapping=load_mapping(EXAMPLES / "binary_survey.toml"))
    assert "Conversation ID" in saved_mapping(session=session, header=header)
    assert session.exec(select(func.count()).select_from(AppMeta)).one() == 1


def test_upload_size_check_names_the_size_and_the_limit():
    assert check_upload_size(1024 * 1024, limit_mb=1) is None
    message = check_upload_size(3 * 1024 * 1024 + 200_000, limit_mb=1, name="calls.csv")
    assert message.startswith("calls.csv is 3.2 MB: the limit is 1 MB.")
    # Just over the limit: a size in MB would read "1.0 MB: the limit is 1 MB".
    assert check_upload_size(1024 * 1024 + 1, limit_mb=1, name="x.csv").startswith(
        "x.csv is 1,048,577 bytes: the limit is 1 MB (1,048,576 bytes)."
    )


# --------------------------------------------------------------------------- nothing lost, nothing doubled


def test_overlapping_files_double_nothing(engine, tmp_path):
    m = load_mapping(EXAMPLES / "csat_tickets.toml")
    lines = (EXAMPLES / "csat_tickets.csv").read_text(encoding="utf-8").splitlines()
    first = tmp_path / "first.csv"
    first.write_text("\n".join(lines[:5]) + "\n", encoding="utf-8")
    second = tmp_path / "second.csv"
    second.write_text("\n".join([lines[0], *lines[3:]]) + "\n", encoding="utf-8")
    a = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=first, mapping=m)
    b = import_file(engine=engine, viewer=SYSTEM_VIEWER, path=second, mapping=m)
    assert (a.inserted, b.inserted, b.unchanged) == (4, 2, 2)
    single = content(engine)
    assert len(single["interactions"]) == 6 and len(single["users"]) == 2 and len(single["cases"]) == 1


def content(engine) -> dict[str, list[tuple]]:
    """Everything an import writes, by natural keys (ids differ between databases, the content must not)."""
    site, team, agent, user = Site.__table__, Team.__table__, Agent.__table__, User.__table__
    inter, rating, tag, case = Interaction.__table__, Rating.__table__, RatingTag.__table__, RecoveryCase.__table__
    queries = {
        "sites": sa_select(site.c.name, site.c.timezone),
        "teams": sa_select(site.c.name, team.c.name, user.c.username)
        .select_from(team.join(site, site.c.id == team.c.site_id).outerjoin(user, user.c.id == team.c.leader_id)),
        "users": sa_select(user.c.username, user.c.display_name, user.c.role, user.c.password_hash, user.c.disabled),
        "agents": sa_select(agent.c.name, agent.c.display_name, team.c.name, agent.c.active, agent.c.hide_from_wall)
        .select_from(agent.join(team, team.c.id == agent.c.team_id)),
        "interactions": sa_select(inter.c.interaction_id, agent.c.name, inter.c.channel, inter.c.contact_reason, inter.c.closed_at)
        .select_from(inter.join(agent, agent.c.id == inter.c.agent_id)),
        "ratings": sa_select(inter.c.interaction_id, agent.c.name, rating.c.stars, rating.c.comment, rating.c.resolved,
                          rating.c.nps, rating.c.rated_at, rating.c.excluded_cause)
        .select_from(rating.join(inter, inter.c.id == rating.c.interaction_id).join(agent, agent.c.id == rating.c.agent_id)),
        "tags": sa_select(inter.c.interaction_id, tag.c.kind, tag.c.tag)
        .select_from(tag.join(rating, rating.c.id == tag.c.rating_id).join(inter, inter.c.id == rating.c.interaction_id)),
        "cases": sa_select(inter.c.interaction_id, case.c.status)
        .select_from(case.join(rating, rating.c.id == case.c.rating_id).join(inter, inter.c.id == rating.c.interaction_id)),
    }
    with engine.connect() as conn:
        return {name: sorted((tuple(r) for r in conn.execute(q)), key=repr) for name, q in queries.items()}


@pytest.fixture
def other_db_url(tmp_path, server_db_url):
    """A second empty database (a SQLite file, or a PostgreSQL schema of its own)."""
    if not server_db_url:
        yield f"sqlite:///{tmp_path / 'other.db'}"
        return
    base = os.environ["TEST_DATABASE_URL"].strip()
    with pg_schema_url(base, f"sb_test_{os.getpid()}_other") as url:
        yield url


KILL_MAPPING = """
[columns]
interaction_id = "Ticket"
agent = "Agent"
team = "Team"
site = { const = "Belgrade" }
channel = "Channel"
leader = "Supervisor"
closed_at = ["Date", "Time"]
stars = "Score"
comment = "Comment"
went_well = "Praise"

[values.stars]
good = 5
bad = 1

[dates]
order = "day-first"
timezone = "Europe/Belgrade"
"""


def _big_export(path: Path, rows: int) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f, delimiter=";")
        out.writerow(["Ticket", "Date", "Time", "Agent", "Team", "Supervisor", "Channel", "Score", "Comment", "Praise"])
        for i in range(rows):
            team = i % 7
            score = ("good", "bad", "4", "", "3.0")[i % 5]
            out.writerow([
                f"K-{i}", f"{1 + i % 28:02d}/11/2026", f"{i % 24}:{i % 60:02d}", f"Agent {i % 97} Name", f"Team {team}",
                f"Lead {team} Person", ("Phone", "Chat")[i % 2], score, f"note {i}" if score else "",
                "quick; friendly" if score == "good" else "",
            ])
    return path


@pytest.mark.slow
def test_killed_import_finishes_when_run_again_identical_to_a_clean_run(engine, db_url, other_db_url, tmp_path):
    """SIGKILL mid-import leaves whole batches only; the same command again ends where one clean run ends."""
    rows, batch = 30_000, 100
    export = _big_export(tmp_path / "export.csv", rows)
    map_file = tmp_path / "export.toml"
    map_file.write_text(KILL_MAPPING, encoding="utf-8")
    command = [sys.executable, "-m", "leaderboard", "import", str(export), "--mapping", str(map_file),
               "--batch-size", str(batch), "--db", db_url]
    env = {**os.environ, "STARBOARD_AUTO_SEED": "0"}
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    count = 0
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None:
            with engine.connect() as conn:
                count = conn.execute(sa_select(func.count()).select_from(Interaction.__table__)).scalar_one()
            if count >= 10 * batch:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.02)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the import finished before it could be killed"
    with engine.connect() as conn:
        after_kill = conn.execute(sa_select(func.count()).select_from(Interaction.__table__)).scalar_one()
    assert 0 < after_kill < rows
    assert after_kill % batch == 0, "only whole batches are left behind"

    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    summary = again.stdout.strip().splitlines()[-1]
    assert summary == f"read={rows} inserted={rows - after_kill} updated=0 unchanged={after_kill} rejected=0"

    clean = make_engine(other_db_url)
    try:
        report = import_file(engine=clean, viewer=SYSTEM_VIEWER, path=export, mapping=load_mapping(map_file))
        assert (report.inserted, report.rejected) == (rows, 0)
        expected = content(clean)
    finally:
        clean.dispose()
    resumed = content(engine)
    assert resumed == expected
    assert len(expected["users"]) == 7 and len(expected["cases"]) == rows // 5 and expected["tags"]


# --------------------------------------------------------------------------- the command


def test_cli_with_a_mapping(db_env, engine, tmp_path):
    result = run_cli("import", str(EXAMPLES / "call_log.csv"), "--mapping", str(EXAMPLES / "call_log.toml"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "call_log.csv: CSV, utf-8, comma-separated",
        "read=6 inserted=6 updated=0 unchanged=0 rejected=0",
    ]
    xlsx = run_cli("import", str(EXAMPLES / "csat_tickets.xlsx"), "--mapping", str(EXAMPLES / "csat_tickets_xlsx.toml"))
    assert xlsx.returncode == 0 and xlsx.stdout.splitlines()[0] == "csat_tickets.xlsx: Excel workbook, sheet 'Tickets'"


def test_cli_mapping_errors_are_one_line(db_env, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(MINIMAL + "[dates]\norder = 'sideways'\n", encoding="utf-8")
    result = run_cli("import", str(EXAMPLES / "call_log.csv"), "--mapping", str(bad))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == ["error: bad.toml: [dates] order: must be 'day-first' or 'month-first', not 'sideways'"]
    wrong = run_cli("import", str(EXAMPLES / "call_log.csv"), "--mapping", str(EXAMPLES / "binary_survey.toml"))
    assert wrong.returncode == 2 and len(wrong.stderr.strip().splitlines()) == 1
    assert wrong.stderr.startswith("error: binary_survey.toml: [columns] interaction_id = \"Conversation ID\": call_log.csv has no column")


def test_cli_without_a_mapping_points_to_one(db_env):
    result = run_cli("import", str(EXAMPLES / "call_log.csv"))
    assert result.returncode == 2
    assert "missing columns" in result.stderr and "--mapping" in result.stderr


def test_cli_dry_run_and_rejects_file(db_env, engine, tmp_path):
    path = write(tmp_path, "s.csv", [HEADER, ["A-1", "Ann", "2026-11-20", "5"], ["A-2", "Ann", "2026-11-20", "6"]])
    map_file = tmp_path / "m.toml"
    map_file.write_text(MINIMAL, encoding="utf-8")
    rejects = tmp_path / "rejected.csv"
    result = run_cli("import", str(path), "--mapping", str(map_file), "--dry-run", "--rejects", str(rejects))
    assert result.returncode == 1
    assert result.stdout.splitlines() == ["s.csv: CSV, utf-8, comma-separated (dry run: nothing written)", "read=2 valid=1 rejected=1"]
    assert rejects.read_text(encoding="utf-8").splitlines()[1].startswith("3,column Score: value '6'")
    with Session(engine) as s:
        assert s.exec(select(func.count(Interaction.id))).one() == 0


# --------------------------------------------------------------------------- the Data page


@pytest.fixture
def data_page(db_env):
    """The Data page (AppTest), signed in as an admin, with fresh Streamlit caches."""
    st.cache_data.clear()
    st.cache_resource.clear()
    at = app_as("qa.admin", role="admin")
    at.run()
    at.switch_page("pages/data.py").run()
    assert not at.exception
    yield at
    st.cache_data.clear()
    st.cache_resource.clear()


CALL_HEADER = ["Call ID", "Date", "Time", "Agent", "Queue", "Wrap-up Code", "Duration (s)", "Answered", "Satisfaction (1-5)"]


def _plain(markdown: str) -> str:
    """Text that went through pages.common.md, without its escapes and word joiners."""
    return html.unescape(markdown).replace("\u2060", "")


def _suffix(header) -> str:
    return header_key(list(header))[-10:]


def test_data_page_maps_an_export_saves_the_mapping_and_imports(data_page, engine):
    at = data_page
    data = (EXAMPLES / "call_log.csv").read_bytes()
    at.file_uploader(key="data_upload").set_value(("call_log.csv", data, "text/csv")).run()
    assert not at.exception
    s = _suffix(CALL_HEADER)
    assert at.selectbox(key=f"data_map_interaction_id_{s}").value == "Call ID"
    assert at.selectbox(key=f"data_time_closed_at_{s}").value == "Time", "Date + Time guessed"
    assert any("missing columns site, channel" in w.value for w in at.warning)
    at.selectbox(key=f"data_map_site_{s}").set_value(CONSTANT).run()
    at.text_input(key=f"data_const_site_{s}").input("Austin")
    at.selectbox(key=f"data_map_channel_{s}").set_value(CONSTANT).run()
    at.text_input(key=f"data_const_channel_{s}").input("phone")
    assert at.selectbox(key=f"data_map_stars_{s}").value == "Satisfaction (1-5)"
    at.selectbox(key=f"data_order_{s}").set_value("month-first")
    at.selectbox(key=f"data_tz_{s}").set_value("America/Chicago")
    at.selectbox(key=f"data_unrated_{s}_col").set_value("Answered").run()
    at.text_input(key=f"data_unrated_{s}_vals").input("N").run()
    assert not at.exception and not at.warning, [w.value for w in at.warning]
    preview_frame = next(d.value for d in at.dataframe if "interaction_id" in d.value.columns)
    assert list(preview_frame["interaction_id"][:2]) == ["C-880001", "C-880002"]
    assert preview_frame["closed_at"][0] == "2026-11-16 14:02:00 UTC"
    assert any("6 rows read, 6 valid, 0 rejected" in c.value for c in at.caption)

    at.button(key="data_mapping_save").click().run()
    with Session(engine) as session:
        saved = saved_mapping(session=session, header=CALL_HEADER)
    assert 'site = { const = "Austin" }' in saved and 'timezone = "America/Chicago"' in saved

    at.button(key="data_import").click().run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Inserted"] == "6"
    assert any("Every row landed" in x.value for x in at.success)
    assert landed(engine)["C-880001"] == ("Olivia Smith", datetime(2026, 11, 16, 14, 2), 5, datetime(2026, 11, 16, 14, 2))


def test_data_page_offers_the_saved_mapping_for_the_same_header(data_page, session):
    save_mapping(session=session, header=CALL_HEADER, mapping=load_mapping(EXAMPLES / "call_log.toml"))
    at = data_page
    shuffled = "\n".join(
        ";".join(reversed(line.split(","))) for line in (EXAMPLES / "call_log.csv").read_text(encoding="utf-8").splitlines()
    )
    shuffled = shuffled.replace("Olivia Smith", "Olivia Smíth")
    at.file_uploader(key="data_upload").set_value(("calls.csv", shuffled.encode("cp1252"), "text/csv")).run()
    assert not at.exception
    s = _suffix(CALL_HEADER)
    assert at.selectbox(key=f"data_map_site_{s}").value == CONSTANT
    assert at.text_input(key=f"data_const_site_{s}").value == "Austin"
    assert any("saved for files with these columns" in c.value for c in at.caption)
    assert any("semicolon-separated" in _plain(c.value) and "cp1252" in c.value for c in at.caption)
    assert not at.warning


def test_data_page_rejects_rows_before_import_and_offers_them_for_download(data_page, engine):
    at = data_page
    lines = (EXAMPLES / "binary_survey.csv").read_text(encoding="utf-8").splitlines()
    lines.append("CV-9100,31-Feb-26 09:00,,Maria Santos,Mabuhay,Manila,Email,so-so,<b>hi</b> ![x](http://127.0.0.1:9/x.png)")
    toml = (EXAMPLES / "binary_survey.toml").read_bytes()
    at.file_uploader(key="data_upload").set_value(("survey.csv", "\n".join(lines).encode(), "text/csv")).run()
    at.file_uploader(key="data_mapping_file").set_value(("binary_survey.toml", toml, "application/toml")).run()
    assert not at.exception and not at.warning
    dry = next(d.value for d in at.dataframe if "reason" in d.value.columns)
    assert list(dry["column"]) == ["Created", "Rating"] and list(dry["line"]) == [7, 7]
    assert dry["reason"][1].startswith("stars must be a whole number from 1 to 5 (or one of the mapped values: good, bad)")
    with Session(engine) as s:
        assert s.exec(select(func.count(Interaction.id))).one() == 0, "the dry run writes nothing"
    at.button(key="data_import").click().run()
    assert {m.label: m.value for m in at.metric}["Rejected"] == "1"
    download = next(b for b in at.get("download_button") if b.proto.id.endswith("data_errors_download") or "data_errors_download" in str(b.proto))
    assert download is not None
    assert all("<b>" not in m.value for m in at.markdown), "user text never goes through st.markdown"


@pytest.fixture
def small_upload_limit(monkeypatch):
    monkeypatch.setenv("STARBOARD_MAX_UPLOAD_MB", "1")  # before the page first runs: the uploader's limit is part of it


def test_data_page_refuses_an_oversized_upload(small_upload_limit, data_page):
    at = data_page
    # (AppTest's uploader lets a file over max_upload_size through; the page checks it again.)
    at.file_uploader(key="data_upload").set_value(("calls.csv", b"Call ID\n" + b"x" * (1024 * 1024), "text/csv")).run()
    assert not at.exception
    messages = [_plain(e.value) for e in at.error]
    assert any("calls.csv is 1,048,584 bytes: the limit is 1 MB (1,048,576 bytes)" in m for m in messages), messages
    assert not [b for b in at.button if b.key == "data_import"]


def test_data_page_imports_an_xlsx_with_its_mapping(data_page, engine):
    at = data_page
    at.file_uploader(key="data_upload").set_value(
        ("csat_tickets.xlsx", (EXAMPLES / "csat_tickets.xlsx").read_bytes(), "application/vnd.ms-excel")
    ).run()
    # The first sheet is a title page: nothing to map until the mapping names the sheet.
    at.file_uploader(key="data_mapping_file").set_value(
        ("csat_tickets_xlsx.toml", (EXAMPLES / "csat_tickets_xlsx.toml").read_bytes(), "application/toml")
    ).run()
    assert not at.exception
    at.button(key="data_import").click().run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Inserted"] == "6"
    assert landed(engine)["T-50102"][2] == 4
