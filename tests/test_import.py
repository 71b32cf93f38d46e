"""The canonical CSV import: validation with line numbers, idempotent upserts, unreadable
files, exit codes, and the write path (write_rows) shared with seed data and factories."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session

from db.ingest import COLUMNS, CanonicalRow, RowError, import_csv, parse_row, write_rows
from db.models import Agent, Interaction, Rating, RatingTag, Site, Team
from leaderboard.auth import SYSTEM_VIEWER
from tests.cli_util import run_cli
from tests import factories

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "ratings_sample.csv"

GOOD = {
    "interaction_id": "C-1",
    "agent": "Maria Santos",
    "team": "Harbor",
    "site": "New York",
    "channel": "Phone",
    "contact_reason": "billing",
    "closed_at": "2026-11-16T14:00:00-05:00",
    "rated_at": "2026-11-16T14:10:00-05:00",
    "stars": "5",
    "comment": "Great, thanks!",
    "resolved": "yes",
    "nps": "10",
    "went_well": "friendly; Quick;;friendly",
    "to_improve": "",
}
UNRATED = {**GOOD, **{c: "" for c in ("rated_at", "stars", "comment", "resolved", "nps", "went_well", "to_improve")}}


def row(n: int, **changes) -> dict[str, str]:
    """A valid rated row with id C-n, changed by ``changes``."""
    return {**GOOD, "interaction_id": f"C-{n}", **changes}


def write_csv(folder: Path, rows: list[dict], *, name: str = "ratings.csv", columns=COLUMNS) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow([r.get(c, "") for c in columns])
    path = folder / name
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def snapshot(engine) -> dict[str, list[tuple]]:
    """Every row of the tables an import writes, for before/after comparisons."""
    tables = {"site": Site, "team": Team, "agent": Agent, "interaction": Interaction, "rating": Rating, "tag": RatingTag}
    with engine.connect() as conn:
        return {
            name: [tuple(r) for r in conn.execute(select(model.__table__).order_by(model.__table__.c.id))]
            for name, model in tables.items()
        }


def counts(engine) -> dict[str, int]:
    return {name: len(rows) for name, rows in snapshot(engine).items()}


# --------------------------------------------------------------------------- clean files


def test_clean_file_lands_every_row(engine, tmp_path):
    path = write_csv(
        tmp_path,
        [
            row(1),
            row(2, agent="José Núñez", team="Mabuhay", site="Manila", closed_at="2026-11-17T01:00:00Z",
                rated_at="", stars="4.0", resolved="N", nps="", went_well="", to_improve="wait time"),
            UNRATED | {"interaction_id": "C-3"},
        ],
    )
    report = import_csv(engine=engine, viewer=SYSTEM_VIEWER, path=path)
    assert (report.read, report.inserted, report.updated, report.unchanged, report.rejected) == (3, 3, 0, 0, 0)
    assert report.fatal is None and report.errors == [] and report.exit_code == 0

    with Session(engine) as s:
        agents = {a.name: a for a in s.exec(select(Agent)).scalars()}
        # Names are stored in full; public screens shorten them when shown (STARBOARD_PUBLIC_NAMES).
        assert agents["Maria Santos"].display_name == "Maria Santos"
        assert agents["José Núñez"].display_name == "José Núñez"
        assert {site.name: site.timezone for site in s.exec(select(Site)).scalars()} == {"New York": "UTC", "Manila": "UTC"}
        interactions = {i.interaction_id: i for i in s.exec(select(Interaction)).scalars()}
        # -05:00 is converted to naive UTC; channel is stored lowercased.
        assert interactions["C-1"].closed_at == datetime(2026, 11, 16, 19, 0)
        assert interactions["C-1"].channel == "phone"
        ratings = {r.interaction_id: r for r in s.exec(select(Rating)).scalars()}
        assert len(ratings) == 2, "the unrated interaction lands without a rating"
        first = ratings[interactions["C-1"].id]
        assert (first.stars, first.resolved, first.nps, first.rated_at) == (5, True, 10, datetime(2026, 11, 16, 19, 10))
        assert first.agent_id == interactions["C-1"].agent_id
        second = ratings[interactions["C-2"].id]
        # Empty rated_at with stars present: rated when it closed. "4.0" is 4.
        assert (second.stars, second.resolved, second.nps, second.rated_at) == (4, False, None, datetime(2026, 11, 17, 1, 0))
        tags = sorted((t.rating_id == first.id, t.kind, t.tag) for t in s.exec(select(RatingTag)).scalars())
        assert tags == [(False, "to_improve", "wait time"), (True, "went_well", "friendly"), (True, "went_well", "quick")]


def test_sample_file_imports_cleanly(engine):
    report = import_csv(engine=engine, viewer=SYSTEM_VIEWER, path=SAMPLE)
    assert report.exit_code == 0, [str(e) for e in report.errors]
    assert report.read == report.inserted >= 18
    c = counts(engine)
    assert 0 < c["rating"] < c["interaction"], "the sample has unrated interactions"


def test_header_in_any_order_case_and_spacing_with_extra_columns(engine, tmp_path):
    columns = ["  STARS ", "Comment", "extra", *reversed([c.title() for c in COLUMNS if c not in ("stars", "comment")])]
    rows = [{**{k.strip().lower(): v for k, v in row(1).items()}, "extra": "ignored"}]
    text = ",".join(columns) + "\n" + ",".join(
        csv_quote(rows[0].get(c.strip().lower(), "")) for c in columns
    ) + "\n"
    path = tmp_path / "shuffled.csv"
    path.write_text(text, encoding="utf-8")
    report = import_csv(engine=engine, viewer=SYSTEM_VIEWER, path=path)
    assert (report.inserted, report.rejected) == (1, 0), [str(e) for e in report.errors]


def csv_quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def test_utf8_bom_and_crlf_are_fine(engine, tmp_path):
    path = write_csv(tmp_path, [row(1), row(2)])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    report = import_csv(engine=engine, viewer=SYSTEM_VIEWER, path=path)
    assert (report.inserted, report.rejected) == (2, 0)


# --------------------------------------------------------------------------- rejected rows

BAD_ROWS = [
    # (case, changes to a good row, column, value, reason fragment)
    ("stars zero", {"stars": "0"}, "stars", "0", "must be a whole number from 1 to 5"),
    ("stars six", {"stars": "6"}, "stars", "6", "must be a whole number from 1 to 5"),
    ("stars in words", {"stars": "five"}, "stars", "five", "must be a whole number from 1 to 5"),
    ("half a star", {"stars": "4.5"}, "stars", "4.5", "must be a whole number from 1 to 5"),
    ("answered without stars", {"stars": ""}, "stars", "", "is required when the customer answered"),
    ("nps eleven", {"nps": "11"}, "nps", "11", "must be a whole number from 0 to 10"),
    ("nps negative", {"nps": "-1"}, "nps", "-1", "must be a whole number from 0 to 10"),
    ("closed_at not a date", {"closed_at": "yesterday"}, "closed_at", "yesterday", "ISO 8601"),
    ("closed_at month 13", {"closed_at": "2026-13-01T10:00:00"}, "closed_at", "2026-13-01T10:00:00", "ISO 8601"),
    ("closed_at missing", {"closed_at": ""}, "closed_at", "", "is required"),
    ("rated_at not a date", {"rated_at": "16/11/2026"}, "rated_at", "16/11/2026", "ISO 8601"),
    ("rated before closed", {"rated_at": "2026-11-16T13:59:00-05:00"}, "rated_at", "2026-11-16T13:59:00-05:00",
     "is before closed_at (2026-11-16 19:00:00 UTC)"),
    ("missing agent", {"agent": "  "}, "agent", "  ", "is required"),
    ("missing team", {"team": ""}, "team", "", "is required"),
    ("missing site", {"site": ""}, "site", "", "is required"),
    ("missing channel", {"channel": ""}, "channel", "", "is required"),
    ("missing interaction id", {"interaction_id": ""}, "interaction_id", "", "is required"),
    ("agent name too long", {"agent": "A" * 121}, "agent", "A" * 121, "longer than 120 characters"),
    ("resolved maybe", {"resolved": "maybe"}, "resolved", "maybe", "must be yes or no"),
    ("tag too long", {"went_well": "x" * 81}, "went_well", "x" * 81, "longer than 80 characters"),
]


@pytest.mark.parametrize("case, changes, column, value, reason", BAD_ROWS, ids=[c[0] for c in BAD_ROWS])
def test_bad_row_is_reported_and_the_rest_lands(engine, tmp_path, case, changes, column, value, reason):
    bad = row(2, **changes)
    path = write_csv(tmp_path, [row(1), bad, row(3)])
    report = import_csv(engine=engine, viewer=SYSTEM_VIEWER, path=path)
    assert (report.read, report.inserted, report.rejected) == (3, 2, 1)
    assert report.exit_code == 1
    [error] = report.errors
    assert (error.file, error.line, error.column, error.value) == ("ratings.csv", 3, column, value)
    assert reason in error.reason
    message = str(error)
    assert message.startswith(f"ratings.csv:3: column {column}: value ")
    assert reason in message and "\n" not in message
    with Session(engine) as s:
        landed = set(s.exec(select(Interaction.interaction_id)).scalars())
    assert landed == {"C-1", "C-3"}


def test_error_message_format():
    error = RowError(file="ratings.csv", line=14, column="stars", value="7", reason="must be a whole number from 1 to 5")
    assert str(error) == "ratings.csv:14: column stars: value '7': must be a whole number from 1 to 5"
    whole_row = RowError(file="ratings.csv", line=9, column="", value="", reason="has 3 fields, the header has 14")
    assert str(whole_row) == "ratings.csv:9: has 3 fields, the header has 14"


def test_row_with_every_problem_reports_each(tmp_path):
    result = parse_row(row(1, stars="9", nps="x", resolved="perhaps", agent=""), file="f.csv", line=7)
    assert isinstance(result, list)
    assert sorted(e.column for e in result) == ["agent", "nps", "resolved", "stars"]
    assert {e.line for e in result} == {7}


def test_wrong_number_of_fields_is_a_row_error(engine, tmp_path):
    path = write_csv(tmp_path, [row(1)])
    with path.open("a", encoding="utf-8") as f:
        f.write("C-2,Maria Santos,Harbor\n")
        f.write(",".join(csv_quote(row(3)[c]) for c in COLUMNS) + ",,\n")  # trailing empty cells are fine
    report = import_csv(engine=engine, viewer=SYSTEM_VIEWER, path=path)
    assert (report.inserted, report.rejected) == (2, 1)
    assert str(report.errors[0]) == "ratings.csv:3: has 3 fields, the header has 14"


def test_quoted_newlines_keep_line_numbers_of_later_rows(engine, tmp_path):
    """Regression: line numbers are physical lines where a record starts, not record counts."""
    rows = [row(1, comment="line one\nline two\r\nline three"), row(2), row(3, stars="7"), row(4, comment='say "hi"\n'), row(5, nps="12")]
    path = write_csv(tmp_path, rows)
    report = import_csv(engine=engine, viewer=SYSTEM_VIEWER, path=path)
    # header 1; C-1 spans lines 2-4; C-2 line 5; C-3 line 6; C-4 spans 7-8; C-5 line 9.
    assert [(e.line, e.column) for e in report.errors] == [(6, "stars"), (9, "nps")]
    with Session(engine) as s:
        comment = s.exec(select(Rating.comment).join(Interaction).where(Interaction.interaction_id == "C-1")).scalar_one()
    assert comment == "line one\nline two\nline three"


def test_blank_lines_are_skipped_but_counted_in_line_numbers(engine, tmp_path):
    path = write_csv(tmp_path, [row(1)])
    with path.open("a", encoding="utf-8") as f:
        f.write("\n\n" + ",".join(csv_quote(row(2, stars="0")[c]) for c in COLUMNS) + "\n")
    report = import_csv(engine=engine, viewer=SYSTEM_VIEWER, path=path)
    assert report.read == 2
    assert [e.line for e in report.errors] == [5]


# --------------------------------------------------------------------------- parsing details


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2026-11-20T14:03:00Z", datetime(2026, 11, 20, 14, 3)),
        ("2026-11-20T14:03:00+08:00", datetime(2026, 11, 20, 6, 3)),
        ("2026-11-20 14:03", datetime(2026, 11, 20, 14, 3)),  # no offset: UTC
        ("2026-11-20T14:03:00.250-05:00", datetime(2026, 11, 20, 19, 3, 0, 250000)),
        (" 2026-11-20 ", datetime(2026, 11, 20)),
    ],
)
def test_times_become_naive_utc(raw, expected):
    parsed = parse_row(row(1, closed_at=raw, rated_at=""), file="f", line=2)
    assert isinstance(parsed, CanonicalRow)
    assert parsed.closed_at == expected and parsed.closed_at.tzinfo is None
    assert parsed.rated_at == expected


@pytest.mark.parametrize(
    "raw, expected",
    [("yes", True), ("Y", True), ("TRUE", True), ("1", True), ("no", False), ("n", False), ("False", False), ("0", False), ("", None)],
)
def test_resolved_values(raw, expected):
    assert parse_row(row(1, resolved=raw), file="f", line=2).resolved is expected


def test_tags_are_trimmed_lowercased_deduplicated():
    parsed = parse_row(row(1, went_well=" Friendly ; quick;; FRIENDLY ;  clear   explanation ", to_improve=";"), file="f", line=2)
    assert parsed.went_well == ("friendly", "quick", "clear explanation")
    assert parsed.to_improve == ()


def test_unrated_row_has_no_rating_fields():
    parsed = parse_row(UNRATED | {"interaction_id": "U"}, file="f", line=2)
    assert isinstance(parsed, CanonicalRow)
    assert not parsed.rated
    assert (parsed.stars, parsed.rated_at, parsed.comment, parsed.went_well) == (None, None, "", ())


# --------------------------------------------------------------------------- re-import


def test_reimport_changes_nothing(engine, tmp_path):
    path = write_csv(tmp_path, [row(i, comment=f"nice {i} — “quoted” 🙂") for i in range(1, 8)] + [UNRATED | {"interaction_id": "U-1"}])
    first = import_csv(engine=engine, viewer=SYSTEM_VIEWER, path=path, batch_size=3)
    before = snapshot(engine)
    second = import_csv(engine=engine, viewer=SYSTEM_VIEWER, path=path, batch_size=3)
    assert (first.inserted, first.unchanged) == (8, 0)
    assert (second.read, second.inserted, second.updated, second.unchanged, second.rejected) == (8, 0, 0, 8, 0)
    assert snapshot(engine) == before


def test_reimport_counts_only_rows_that_differ(engine, tmp_path):
    rows = [row(1), row(2), row(3), row(4), UNRATED | {"interaction_id": "U-1"}]
    import_csv(engine=engine, viewer=SYSTEM_VIEWER, path=write_csv(tmp_path, rows))
    changed = [
        row(1, stars="4"),  # rating changed
        row(2, went_well="patient", to_improve="tone"),  # tags replaced
        row(3, agent="Tyrone Walker"),  # interaction moves to another agent; the rating follows
        row(4),  # the same
        UNRATED | {"interaction_id": "U-1", "stars": "3", "rated_at": "2026-11-17T09:00:00Z"},  # now answered
    ]
    report = import_csv(engine=engine, viewer=SYSTEM_VIEWER, path=write_csv(tmp_path, changed, name="again.csv"))
    assert (report.inserted, report.updated, report.unchanged, report.rejected) == (0, 4, 1, 0)
    with Session(engine) as s:
        by_id = {
            iid: (r.stars, r.agent_id, i.agent_id)
            for iid, r, i in s.exec(select(Interaction.interaction_id, Rating, Interaction).join(Rating)).all()
        }
        tags = set(
            s.exec(
                select(RatingTag.kind, RatingTag.tag).join(Rating).join(Interaction).where(Interaction.interaction_id == "C-2")
            ).all()
        )
    assert by_id["C-1"][0] == 4
    assert by_id["C-3"][1] == by_id["C-3"][2] != by_id["C-4"][2], "rating.agent_id follows the interaction"
    assert by_id["U-1"][0] == 3
    assert tags == {("went_well", "patient"), ("to_improve", "tone")}


def test_empty_rating_never_erases_a_stored_rating(engine, tmp_path):
    import_csv(engine=engine, viewer=SYSTEM_VIEWER, path=write_csv(tmp_path, [row(1)]))
    report = import_csv(engine=engine, viewer=SYSTEM_VIEWER, path=write_csv(tmp_path, [UNRATED | {"interaction_id": "C-1"}], name="b.csv"))
    assert report.unchanged == 1
    assert counts(engine)["rating"] == 1


def test_agent_named_under_another_team_moves_only_when_allowed(engine, tmp_path):
    import_csv(engine=engine, viewer=SYSTEM_VIEWER, path=write_csv(tmp_path, [row(1)]))
    report = import_csv(engine=engine, viewer=SYSTEM_VIEWER, path=write_csv(tmp_path, [row(2, team="Liberty")], name="b.csv"))
    assert report.inserted == 1
    assert report.held_moves == ["Maria Santos: Harbor → Liberty from 2026-11-16"]
    with Session(engine) as s:
        agent = s.exec(select(Agent)).scalar_one()
        assert s.get(Team, agent.team_id).name == "Harbor"  # held back: the rating landed, the team did not change
    report = import_csv(
        engine=engine, viewer=SYSTEM_VIEWER, path=write_csv(tmp_path, [row(3, team="Liberty")], name="c.csv"),
        allow_moves=True,
    )
    assert report.moves == ["Maria Santos: Harbor → Liberty from 2026-11-16"]
    with Session(engine) as s:
        agent = s.exec(select(Agent)).scalar_one()
        assert s.get(Team, agent.team_id).name == "Liberty"


def test_sites_and_teams_match_case_insensitively(engine, tmp_path):
    import_csv(engine=engine, viewer=SYSTEM_VIEWER, path=write_csv(tmp_path, [row(1), row(2, site="new york", team="HARBOR")]))
    assert (counts(engine)["site"], counts(engine)["team"]) == (1, 1)


def test_repeated_id_in_one_file_is_an_update(engine, tmp_path):
    report = import_csv(engine=engine, viewer=SYSTEM_VIEWER, path=write_csv(tmp_path, [row(1), row(2), row(1, stars="2"), row(1, stars="2")]))
    assert (report.read, report.inserted, report.updated, report.unchanged) == (4, 2, 1, 1)
    with Session(engine) as s:
        assert s.exec(select(Rating.stars).join(Interaction).where(Interaction.interaction_id == "C-1")).scalar_one() == 2


# --------------------------------------------------------------------------- unreadable files

UNREADABLE = [
    ("binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary file"),
    ("utf-8 names and a cp1252 byte", ",".join(COLUMNS).encode() + "\nC-1,José,Harbor,NY,phone,,2026-11-16T10:00:00Z,,,,,,,\n".encode()
     + b"C-2,Caf\xe9,Harbor,NY,phone,,2026-11-16T10:00:00Z,,,,,,,\n", "mixes UTF-8 with another encoding (byte 0xe9 on line 3 is not UTF-8)"),
    ("empty", b"", "is empty"),
    ("only blank lines", b"\n  \n\r\n", "is empty"),
    ("wrong header", b"id,name,score\n1,Ann,5\n", "missing columns interaction_id, agent"),
    ("one column missing", ",".join(c for c in COLUMNS if c != "nps").encode() + b"\n", "missing column nps "),
    ("duplicate column", (",".join(COLUMNS) + ",Stars").encode() + b"\n", "column 'stars' appears twice"),
]


@pytest.mark.parametrize("case, data, reason", UNREADABLE, ids=[c[0] for c in UNREADABLE])
def test_unreadable_file_changes_nothing(engine, tmp_path, case, data, reason):
    path = tmp_path / "ratings.csv"
    path.write_bytes(data)
    report = import_csv(engine=engine, viewer=SYSTEM_VIEWER, path=path)
    assert report.exit_code == 2
    assert report.fatal and report.fatal.startswith("ratings.csv: ") and "\n" not in report.fatal
    assert reason in report.fatal
    assert (report.inserted, report.rejected) == (0, 0)
    assert all(n == 0 for n in counts(engine).values())


def test_bad_encoding_late_in_the_file_changes_nothing(engine, tmp_path):
    """Regression: the encoding check runs before any batch is written, so earlier rows do not land."""
    path = write_csv(tmp_path, [row(i, agent="José Núñez") for i in range(1, 3001)])
    with path.open("ab") as f:
        f.write(b"C-9999,Caf\xe9 Agent,Harbor,NY,phone,,2026-11-16T10:00:00Z,,,,,,,\n")
    report = import_csv(engine=engine, viewer=SYSTEM_VIEWER, path=path, batch_size=500)
    assert report.fatal and "line 3002" in report.fatal
    assert counts(engine)["interaction"] == 0


def test_cp1252_file_imports_and_says_so(engine, tmp_path):
    """A spreadsheet's "CSV" (Windows-1252): é lands as é, and the report says how the file was read."""
    path = tmp_path / "ratings.csv"
    path.write_bytes((",".join(COLUMNS) + "\r\n").encode() + b"C-1,Jos\xe9 N\xfa\xf1ez,Harbor,NY,phone,,2026-11-16T10:00:00Z,,,,,,,\r\n")
    report = import_csv(engine=engine, viewer=SYSTEM_VIEWER, path=path)
    assert (report.inserted, report.source) == (1, "CSV, cp1252, comma-separated")
    with Session(engine) as s:
        assert s.exec(select(Agent.name)).scalar_one() == "José Núñez"


def test_semicolon_canonical_file(engine, tmp_path):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows([[r[c] for c in COLUMNS] for r in (row(1, went_well="quick;friendly"), row(2))])
    path = tmp_path / "ratings.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    report = import_csv(engine=engine, viewer=SYSTEM_VIEWER, path=path)
    assert report.source == "CSV, utf-8, semicolon-separated"
    assert (report.inserted, report.rejected) == (2, 0), [str(e) for e in report.errors]


def test_header_only_file_is_fine(engine, tmp_path):
    report = import_csv(engine=engine, viewer=SYSTEM_VIEWER, path=write_csv(tmp_path, []))
    assert (report.read, report.exit_code, report.fatal) == (0, 0, None)


def test_missing_file_is_one_line(engine, tmp_path):
    report = import_csv(engine=engine, viewer=SYSTEM_VIEWER, path=tmp_path / "nope.csv")
    assert report.exit_code == 2 and "nope.csv" in report.fatal


# --------------------------------------------------------------------------- the command


def test_cli_exit_codes_and_output(db_env, engine, tmp_path):
    clean = write_csv(tmp_path, [row(1), row(2)], name="clean.csv")
    result = run_cli("import", str(clean))  # DATABASE_URL from db_env
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["clean.csv: CSV, utf-8, comma-separated", "read=2 inserted=2 updated=0 unchanged=0 rejected=0"]
    assert result.stderr == ""

    again = run_cli("import", str(clean), "--db", db_env)
    assert again.returncode == 0
    assert again.stdout.splitlines()[-1] == "read=2 inserted=0 updated=0 unchanged=2 rejected=0"

    mixed = write_csv(tmp_path, [row(3), row(4, stars="7"), row(5)], name="mixed.csv")
    result = run_cli("import", str(mixed))
    assert result.returncode == 1
    assert result.stderr.strip() == "mixed.csv:3: column stars: value '7': must be a whole number from 1 to 5"
    assert result.stdout.splitlines()[-1] == "read=3 inserted=2 updated=0 unchanged=0 rejected=1"

    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")
    result = run_cli("import", str(binary))
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert "photo.csv" in result.stderr and "binary" in result.stderr
    assert counts(engine)["interaction"] == 4


def test_cli_caps_printed_rejections(db_env, tmp_path):
    path = write_csv(tmp_path, [row(i, nps="99") for i in range(1, 61)])
    result = run_cli("import", str(path))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 51 and lines[-1] == "... and 10 more rejected rows"
    assert "rejected=60" in result.stdout


def test_cli_help():
    result = run_cli("import", "--help")
    assert result.returncode == 0
    assert "interaction_id" in result.stdout and "Exit code" in result.stdout


# --------------------------------------------------------------------------- write_rows and factories


def test_write_rows_is_the_shared_write_path(engine):
    rows = [
        factories.rating_row(agent="Ann Lee", stars=5, rated_at=datetime(2026, 11, 16, 3), interaction_id="W-1",
                             went_well=("quick",)),
        factories.rating_row(agent="Ann Lee", stars=None, closed_at=datetime(2026, 11, 16, 4), interaction_id="W-2"),
    ]
    report = write_rows(engine=engine, viewer=SYSTEM_VIEWER, rows=rows, batch_size=1)
    assert (report.read, report.inserted) == (2, 2)
    again = write_rows(engine=engine, viewer=SYSTEM_VIEWER, rows=rows)
    assert again.unchanged == 2


def test_factories_build_a_small_floor(engine):
    ids = factories.add_ratings(
        engine, "Ann Lee", [5, 5, 4], team="Alpha", site="Manila", tz="Asia/Manila", at=datetime(2026, 11, 16, 2, 0)
    )
    factories.add_interactions(engine, "Ann Lee", 3, team="Alpha", site="Manila", at=datetime(2026, 11, 16, 3, 0))
    rating_id = factories.add_rating(engine, agent="Bo Diaz", stars=2, to_improve=["tone"], resolved=False, nps=3)
    with Session(engine) as s:
        factories.make_agent(s, "Cy Hill", team="Beta", site="Manila", hide_from_wall=True, username="cy")
        factories.add_ratings(s, "Cy Hill", [4], team="Beta", site="Manila")
        site = s.exec(select(Site).where(Site.name == "Manila")).scalar_one()
        stars = [s.get(Rating, i).stars for i in ids]
        low = s.get(Rating, rating_id)
        cy = s.exec(select(Agent).where(Agent.name == "Cy Hill")).scalar_one()
    assert site.timezone == "Asia/Manila", "a later call without tz leaves the site's zone alone"
    assert stars == [5, 5, 4]
    assert (low.stars, low.resolved, low.nps) == (2, False, 3)
    assert cy.hide_from_wall and cy.user_id is not None
    c = counts(engine)
    assert (c["interaction"], c["rating"], c["agent"]) == (8, 5, 3)
