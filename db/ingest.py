"""Ratings import, and the one write path for interactions and ratings.

The canonical file has one row per closed interaction; the rating columns are
empty when the customer did not answer (the row still counts for response
rate). ``import_file`` reads a CSV file (any common encoding and delimiter) or
an .xlsx worksheet, turns each record into a ``CanonicalRow`` (through
``parse_row`` directly, or through a ``db.mapping.Mapping`` for a foreign
export) and hands the valid ones to ``write_rows``; seed data, the simulator
and tests call ``write_rows`` directly, so every interaction and rating enters
the database through the same code.

Writes go in batches, each in its own transaction: a killed import leaves whole
batches behind, and running it again finishes the job (rows are upserted by
``interaction_id``, so nothing is doubled).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import math
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, TextIO

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection, Dialect, Engine

from db.models import Agent, Interaction, Rating, RatingTag, Site, Team, User, utcnow
from leaderboard.settings import get_settings

if TYPE_CHECKING:
    from db.mapping import Mapping

COLUMNS = (
    "interaction_id",
    "agent",
    "team",
    "site",
    "channel",
    "contact_reason",
    "closed_at",
    "rated_at",
    "stars",
    "comment",
    "resolved",
    "nps",
    "went_well",
    "to_improve",
)
# May be left out of a canonical file: the team leader's name (creates or links the leader's account).
OPTIONAL_COLUMNS = ("leader",)
ALL_COLUMNS = COLUMNS + OPTIONAL_COLUMNS
# Empty together when the customer did not answer.
RATING_COLUMNS = ("rated_at", "stars", "comment", "resolved", "nps", "went_well", "to_improve")

# Rows per transaction: big enough that commits and per-batch queries are a small share
# of the time (a batch dirties index pages all over the per-agent indexes, whatever its
# size), small enough that a killed import loses a second of work, not minutes.
DEFAULT_BATCH_SIZE = 10_000
# Rejections kept in the report (all are counted): a file of a million bad rows
# must not hold a million messages in memory.
MAX_KEPT_ERRORS = 1000
# Longest text the schema stores per column (VARCHAR limits are enforced by PostgreSQL).
MAX_LENGTH = {
    "interaction_id": 100,
    "agent": 120,
    "team": 120,
    "site": 120,
    "channel": 40,
    "contact_reason": 120,
    "leader": 120,
}
MAX_TAG_LENGTH = 80
MAX_USERNAME_LENGTH = 80
NEW_SITE_TIMEZONE = "UTC"

_TRUE = frozenset({"yes", "y", "true", "t", "1"})
_FALSE = frozenset({"no", "n", "false", "f", "0"})

_SITE = Site.__table__
_TEAM = Team.__table__
_AGENT = Agent.__table__
_USER = User.__table__
_INTERACTION = Interaction.__table__
_RATING = Rating.__table__
_TAG = RatingTag.__table__


# --------------------------------------------------------------------------- types


@dataclass(frozen=True, slots=True)
class CanonicalRow:
    """One validated interaction, with its rating when the customer answered (``stars`` set)."""

    interaction_id: str
    agent: str
    team: str
    site: str
    channel: str
    contact_reason: str
    closed_at: datetime  # naive UTC
    rated_at: datetime | None = None  # naive UTC
    stars: int | None = None
    comment: str = ""
    resolved: bool | None = None
    nps: int | None = None
    went_well: tuple[str, ...] = ()
    to_improve: tuple[str, ...] = ()
    leader: str = ""  # the team's leader by name; '' leaves the team's leader as it is

    @property
    def rated(self) -> bool:
        return self.stars is not None


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one row of a file was rejected."""

    file: str
    line: int  # physical line where the record starts (1 = header); the row number in a worksheet
    column: str  # the file's own column ('' when the row as a whole is wrong)
    value: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.problem}"

    @property
    def problem(self) -> str:
        """The message without the file and line: 'column stars: value '7': must be ...'."""
        if not self.column:
            return self.reason
        return f"column {self.column}: value {_show(self.value)}: {self.reason}"


@dataclass
class ImportReport:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0  # rows a mapping leaves out on purpose ([rows] skip_when): not errors
    valid: int = 0  # rows that passed validation: in a dry run, what an import would write
    errors: list[RowError] = field(default_factory=list)  # the first MAX_KEPT_ERRORS
    fatal: str | None = None  # set when the file could not be read at all (nothing written)
    source: str = ""  # how the file was read: "CSV, utf-8, comma-separated"
    dry_run: bool = False

    @property
    def exit_code(self) -> int:
        """0 every row landed, 1 some rows were rejected, 2 nothing could be read."""
        if self.fatal:
            return 2
        return 1 if self.rejected else 0

    def summary(self) -> str:
        if self.dry_run:
            text = f"read={self.read} valid={self.valid} rejected={self.rejected}"
        else:
            text = (
                f"read={self.read} inserted={self.inserted} updated={self.updated} "
                f"unchanged={self.unchanged} rejected={self.rejected}"
            )
        return f"{text} skipped={self.skipped}" if self.skipped else text

    def reject(self, errors: list[RowError]) -> None:
        self.rejected += 1
        room = MAX_KEPT_ERRORS - len(self.errors)
        if room > 0:
            self.errors.extend(errors[:room])


def _show(value: str, limit: int = 60) -> str:
    text = value if len(value) <= limit else value[: limit - 1] + "…"
    return repr(text)


class _Invalid(ValueError):
    """A cell that fails validation; the message is the reason shown to the user."""


class FileProblem(ValueError):
    """Why a file cannot be imported at all: one line, without the file's name."""


Progress = Callable[[ImportReport], None]


# --------------------------------------------------------------------------- parsing


def display_name_for(name: str) -> str:
    """First name and last initial, the way public screens show agents: "Maria Santos" -> "Maria S."."""
    parts = name.split()
    if len(parts) < 2:
        return name
    return f"{parts[0]} {parts[-1][0]}."


def leader_username(name: str) -> str:
    """The account name of a team leader known only by name: "José Núñez" -> "jose.nunez" (as the seed)."""
    from db.seed import username_for

    try:
        username = username_for(name)
    except IndexError:  # nothing ASCII in the name ("王伟")
        username = ""
    if not username:
        username = "leader." + hashlib.sha1(name.encode("utf-8")).hexdigest()[:10]
    return username[:MAX_USERNAME_LENGTH]


def parse_time(value: str) -> datetime:
    """An ISO 8601 date-time as naive UTC; without an offset it is taken as UTC."""
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _Invalid("must be an ISO 8601 date-time, e.g. 2026-11-20T14:03:00Z") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def _whole(value: str, *, low: int, high: int) -> int:
    reason = f"must be a whole number from {low} to {high}"
    text = value.strip()
    try:
        number = int(text)
    except ValueError:
        try:
            decimal = float(text)
        except ValueError:
            raise _Invalid(reason) from None
        # "5.0" from a spreadsheet is 5; "4.5" is not a star count.
        if not math.isfinite(decimal) or not decimal.is_integer():
            raise _Invalid(reason) from None
        number = int(decimal)
    if not low <= number <= high:
        raise _Invalid(reason)
    return number


def _yes_no(value: str) -> bool | None:
    text = value.strip().lower()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _Invalid("must be yes or no (or true/false, 1/0, y/n), or empty")


def parse_tags(value: str) -> tuple[str, ...]:
    """``;``-separated tags: trimmed, lowercased, empties dropped, duplicates removed (order kept)."""
    if not value:
        return ()
    tags = dict.fromkeys(" ".join(t.split()).lower() for t in value.split(";"))
    tags.pop("", None)
    for tag in tags:
        if len(tag) > MAX_TAG_LENGTH:
            raise _Invalid(f"tag {_show(tag, 30)} is longer than {MAX_TAG_LENGTH} characters")
    return tuple(tags)


def parse_row(raw: dict[str, str], *, file: str, line: int) -> CanonicalRow | list[RowError]:
    """Validate one record keyed by canonical column name; every problem in it is reported."""
    errors: list[RowError] = []
    get = raw.get
    rated = False
    for column in RATING_COLUMNS:
        value = get(column)
        if value and not value.isspace():
            rated = True
            break
    # Built in CanonicalRow's field order (the columns, then leader).
    values: list = []
    append = values.append
    for column, parse in _PARSERS if rated else _INTERACTION_PARSERS:
        value = get(column) or ""
        try:
            append(parse(value))
        except _Invalid as exc:
            errors.append(RowError(file=file, line=line, column=column, value=value, reason=str(exc)))
            append(None)
    if not rated:
        values.extend(_UNRATED)
    leader = get("leader") or ""
    if leader:
        try:
            leader = _leader(leader)
        except _Invalid as exc:
            errors.append(RowError(file=file, line=line, column="leader", value=leader, reason=str(exc)))
    append(leader)
    closed_at = values[_CLOSED_AT]
    if rated and closed_at is not None:
        rated_at = values[_RATED_AT]
        if rated_at is None and not (get("rated_at") or "").strip():
            values[_RATED_AT] = closed_at
        elif rated_at is not None and rated_at < closed_at:
            reason = f"is before closed_at ({closed_at.isoformat(sep=' ')} UTC)"
            errors.append(RowError(file=file, line=line, column="rated_at", value=raw["rated_at"], reason=reason))
    if errors:
        return errors
    return _new_row(values)


_CLOSED_AT = COLUMNS.index("closed_at")
_RATED_AT = COLUMNS.index("rated_at")
# What an interaction nobody rated holds in the rating fields (rated_at ... to_improve).
_UNRATED = (None, None, "", None, None, (), ())
# CanonicalRow is frozen: its generated __init__ sets each field through object.__setattr__,
# which cost more than validating the row. Rows parsed here are built through the slots'
# own setters instead (the same object, a third of the time).
_SLOT_SETTERS = tuple(CanonicalRow.__dict__[name].__set__ for name in CanonicalRow.__slots__)
if CanonicalRow.__slots__ != (*COLUMNS, *OPTIONAL_COLUMNS):  # parse_row builds values in this order
    raise RuntimeError("CanonicalRow's fields must follow COLUMNS, then OPTIONAL_COLUMNS")


def _new_row(values: list) -> CanonicalRow:
    row = object.__new__(CanonicalRow)
    for set_field, value in zip(_SLOT_SETTERS, values):
        set_field(row, value)
    return row


def _text_parser(column: str, *, required: bool = True, collapse: bool = True, lower: bool = False):
    """Parser for a text column: trimmed; names also collapse inner runs of spaces ("Maria  Santos")."""
    limit = MAX_LENGTH[column]

    def parse(value: str) -> str:
        text = " ".join(value.split()) if collapse else value.strip()
        if lower:
            text = text.lower()
        if not text and required:
            raise _Invalid("is required")
        if len(text) > limit:
            raise _Invalid(f"longer than {limit} characters")
        if "\x00" in text:
            raise _Invalid("contains a NUL character")
        return text

    return parse


def _required_time(value: str) -> datetime:
    if not value.strip():
        raise _Invalid("is required")
    return parse_time(value)


def _optional_time(value: str) -> datetime | None:
    return parse_time(value) if value.strip() else None


def _stars(value: str) -> int:
    if not value.strip():
        raise _Invalid("is required when the customer answered (other rating columns are filled)")
    return _whole(value, low=1, high=5)


def _nps(value: str) -> int | None:
    return _whole(value, low=0, high=10) if value.strip() else None


def _comment(value: str) -> str:
    if "\x00" in value:
        raise _Invalid("contains a NUL character")
    # Spreadsheets write CRLF inside quoted cells; store one kind of newline.
    return value.replace("\r\n", "\n").strip()


_leader = _text_parser("leader", required=False)

_INTERACTION_PARSERS = (
    # Ids are only trimmed: inner spaces may be part of an external system's id.
    ("interaction_id", _text_parser("interaction_id", collapse=False)),
    ("agent", _text_parser("agent")),
    ("team", _text_parser("team")),
    ("site", _text_parser("site")),
    ("channel", _text_parser("channel", lower=True)),
    ("contact_reason", _text_parser("contact_reason", required=False)),
    ("closed_at", _required_time),
)
_PARSERS = _INTERACTION_PARSERS + (
    ("rated_at", _optional_time),
    ("stars", _stars),
    ("comment", _comment),
    ("resolved", _yes_no),
    ("nps", _nps),
    ("went_well", parse_tags),
    ("to_improve", parse_tags),
)


# --------------------------------------------------------------------------- reading a file

DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
# Encodings tried, in order, for a CSV without a byte-order mark.
FALLBACK_ENCODINGS = ("utf-8", "cp1252", "latin-1")
_SNIFF_CHARS = 1 << 16
_CHUNK = 1 << 20
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
# Bytes that cp1252 leaves undefined (latin-1 maps every byte).
_CP1252_HOLES = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls


def _scan(path: Path, encoding: str) -> tuple[int, int] | None:
    """Decode the whole file: None if it is clean ``encoding`` text, else (bad byte, line).

    Raises FileProblem for binary files (NUL characters) and files without text.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    seen_text = False
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                start = min(exc.start, len(chunk) - 1)
                line += chunk[:start].decode(encoding, errors="replace").count("\n")
                return chunk[start], line
            if "\x00" in text:
                raise FileProblem("is a binary file (it contains NUL bytes), not CSV text")
            line += text.count("\n")
            seen_text = seen_text or bool(text.strip(" \t\r\n\ufeff"))
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return 0, line
    if not seen_text:
        raise FileProblem("is empty (a header line naming the columns is required)")
    return None


def detect_encoding(path: Path) -> str:
    """The encoding of a CSV file: its byte-order mark, else UTF-8, else cp1252 (or latin-1).

    The whole file is checked before anything is written, so a file that goes bad
    half way changes nothing. A file that mixes UTF-8 with another encoding is refused:
    read either way, some of its names would be garbled.
    """
    with path.open("rb") as handle:
        head = handle.read(4)
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        encoding = "utf-16"
    else:
        if b"\x00" in head or head.startswith(_OLE_MAGIC):
            raise FileProblem("is a binary file (it contains NUL bytes), not CSV text")
        encoding = "utf-8"
    bad = _scan(path, encoding)
    if bad is None:
        return encoding
    byte, line = bad
    if encoding != "utf-8":
        raise FileProblem(f"is not valid {encoding.upper()} text (byte 0x{byte:02x} on line {line})")
    if _search_file(path, re.compile(b"\x00")):
        raise FileProblem("is a binary file (it contains NUL bytes), not CSV text")
    if _search_file(path, _UTF8_MULTIBYTE):
        raise FileProblem(
            f"mixes UTF-8 with another encoding (byte 0x{byte:02x} on line {line} is not UTF-8); "
            "save it as 'CSV UTF-8'"
        )
    fallback = "latin-1" if _search_file(path, _CP1252_HOLES) else "cp1252"
    _scan(path, fallback)  # the NUL and empty checks (both encodings decode every byte)
    return fallback


def _search_file(path: Path, pattern: re.Pattern) -> bool:
    """Whether ``pattern`` (at most 4 bytes long) occurs in the file, read in chunks."""
    tail = b""
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            if pattern.search(tail + chunk):
                return True
            tail = chunk[-3:]
    return False


def sniff_delimiter(sample: str, *, complete: bool) -> str:
    """The delimiter that splits the header into most columns and the most records into as many.

    ``complete`` says whether ``sample`` is the whole file (else its last record may be cut).
    """
    best, best_score = ",", (-1, -1)
    for delimiter in DELIMITERS:
        records: list[list[str]] = []
        reader = csv.reader(sample.splitlines(keepends=True), delimiter=delimiter)
        try:
            for record in reader:
                records.append(record)
        except csv.Error:
            pass
        if not complete and len(records) > 1:
            records.pop()
        records = [r for r in records if any(c.strip() for c in r)]
        if not records or len(records[0]) < 2:
            continue
        width = len(records[0])
        score = (sum(1 for r in records[1:] if len(r) == width), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


class Table:
    """A CSV file or one worksheet of an .xlsx workbook: a header and records read one at a time.

    ``records()`` yields (line, cells), or (line, reason) for a record that cannot be read;
    line is the physical line where a CSV record starts, or the worksheet's row number.
    """

    name: str
    kind: str  # "csv" or "xlsx"
    header: list[str]
    header_line: int = 1
    encoding: str = ""
    delimiter: str = ""
    sheet: str = ""

    def records(self) -> Iterator[tuple[int, list[str] | str]]:
        raise NotImplementedError

    def describe(self) -> str:
        if self.kind == "xlsx":
            return f"Excel workbook, sheet {self.sheet!r}"
        encoding = "utf-8 with BOM" if self.encoding == "utf-8-sig" else self.encoding
        return f"CSV, {encoding}, {DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))}-separated"

    def close(self) -> None:
        pass

    def __enter__(self) -> "Table":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


class _CsvTable(Table):
    kind = "csv"

    def __init__(self, path: Path, *, encoding: str | None, delimiter: str | None) -> None:
        self.name = path.name
        if encoding:
            try:
                codecs.lookup(encoding)
            except LookupError:
                raise FileProblem(f"unknown encoding {encoding!r}") from None
            bad = _scan(path, encoding)
            if bad:
                raise FileProblem(f"is not {encoding} text (byte 0x{bad[0]:02x} on line {bad[1]})")
        else:
            encoding = detect_encoding(path)
        self.encoding = encoding
        if not delimiter:
            with path.open("r", encoding=encoding, newline="") as handle:
                sample = handle.read(_SNIFF_CHARS)
                complete = not handle.read(1)
            delimiter = sniff_delimiter(sample, complete=complete)
        self.delimiter = delimiter
        self._handle: TextIO = path.open("r", encoding=encoding, newline="")
        self._reader = csv.reader(self._handle, delimiter=delimiter)
        while True:
            self.header_line = self._reader.line_num + 1
            try:
                header = next(self._reader)
            except StopIteration:
                self.close()
                raise FileProblem("is empty (a header line naming the columns is required)") from None
            except csv.Error as exc:
                self.close()
                raise FileProblem(f"has an unreadable header line ({exc})") from None
            if any(cell.strip() for cell in header):
                break
        header = [h.lstrip("\ufeff") for h in header]
        self.header = header

    def records(self) -> Iterator[tuple[int, list[str] | str]]:
        reader = self._reader
        while True:
            # The record starts on the line after the last one read (quoted newlines span lines).
            line = reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield line, f"unreadable CSV: {exc}"
                continue
            yield line, record

    def close(self) -> None:
        self._handle.close()


def cell_text(value: object) -> str:
    """A worksheet cell as the text a CSV export of it would hold ("5.0" is "5", a date is ISO)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        # A date typed into Excel is a datetime at midnight; written as a date it joins a Time column.
        return value.date().isoformat() if value.time() == time() and value.tzinfo is None else value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)


class _XlsxTable(Table):
    kind = "xlsx"

    def __init__(self, path: Path, *, sheet: str | None) -> None:
        import zipfile

        from openpyxl import load_workbook
        from openpyxl.utils.exceptions import InvalidFileException

        self.name = path.name
        try:
            # read_only streams the sheet's XML: memory stays flat however long the sheet is.
            self._book = load_workbook(path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
            raise FileProblem(f"is not a readable .xlsx workbook ({_first_line(exc)})") from None
        names = self._book.sheetnames
        if sheet and sheet not in names:
            self.close()
            raise FileProblem(f"has no sheet {sheet!r} (sheets: {', '.join(map(repr, names))})")
        self.sheet = sheet or names[0]
        self._rows = enumerate(self._book[self.sheet].iter_rows(values_only=True), start=1)
        for number, values in self._rows:
            cells = [cell_text(v) for v in values]
            if any(c.strip() for c in cells):
                while cells and not cells[-1].strip():
                    cells.pop()
                self.header, self.header_line = cells, number
                return
        self.close()
        raise FileProblem(f"sheet {self.sheet!r} is empty (a header row naming the columns is required)")

    def records(self) -> Iterator[tuple[int, list[str] | str]]:
        width = len(self.header)
        for number, values in self._rows:
            cells = [cell_text(v) for v in values]
            # A worksheet leaves trailing empty cells out, or pads rows to the sheet's widest.
            if len(cells) < width:
                cells.extend([""] * (width - len(cells)))
            elif len(cells) > width and not any(c.strip() for c in cells[width:]):
                del cells[width:]
            yield number, cells

    def close(self) -> None:
        self._book.close()


def open_table(
    path: str | os.PathLike[str], *, encoding: str | None = None, delimiter: str | None = None, sheet: str | None = None
) -> Table:
    """Open a .csv (encoding and delimiter detected unless given) or an .xlsx worksheet.

    Raises FileProblem, with a one-line reason, for anything that cannot be read.
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise FileProblem("is a folder, not a file")
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise FileProblem(exc.strerror or str(exc)) from None
    suffix = path.suffix.lower()
    if head.startswith(_ZIP_MAGIC) or suffix in (".xlsx", ".xlsm"):
        if not head.startswith(_ZIP_MAGIC):
            raise FileProblem(f"is not an Excel workbook (a {suffix} file is a ZIP archive)")
        return _XlsxTable(path, sheet=sheet)
    if head.startswith(_OLE_MAGIC):
        raise FileProblem("is an old Excel .xls workbook: save it as .xlsx or CSV")
    return _CsvTable(path, encoding=encoding, delimiter=delimiter)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def header_positions(header: list[str]) -> dict[str, int] | str:
    """Canonical column name -> position, or the reason the header is not canonical."""
    names = [h.strip().lower() for h in header]
    positions: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in ALL_COLUMNS and name in positions:
            return f"column {name!r} appears twice in the header"
        positions.setdefault(name, i)
    missing = [c for c in COLUMNS if c not in positions]
    if missing:
        return f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} (expected: {', '.join(COLUMNS)})"
    return {c: positions[c] for c in ALL_COLUMNS if c in positions}


Translate = Callable[[list[str], int], "CanonicalRow | list[RowError] | None"]


def canonical_translator(header: list[str], *, file: str) -> Translate:
    """Record -> parse_row for a file whose header names the canonical columns."""
    positions = header_positions(header)
    if isinstance(positions, str):
        raise FileProblem(positions)
    items = tuple(positions.items())

    def translate(cells: list[str], line: int) -> CanonicalRow | list[RowError]:
        return parse_row({c: cells[i] for c, i in items}, file=file, line=line)

    return translate


class RejectedRows:
    """Rejected records as CSV, for the user to fix and import again: line, problems, then the file's columns."""

    def __init__(self, out: TextIO) -> None:
        self._writer = csv.writer(out, lineterminator="\n")
        self.count = 0

    def start(self, header: list[str]) -> None:
        self._writer.writerow(["line", "problems", *header])

    def add(self, line: int, cells: list[str], errors: list[RowError]) -> None:
        self._writer.writerow([line, "; ".join(e.problem for e in errors), *cells])
        self.count += 1


def read_rows(
    table: Table, translate: Translate, report: ImportReport, *, rejects: RejectedRows | None = None
) -> Iterator[CanonicalRow]:
    """The valid rows of ``table``, in order; rejected rows go into ``report`` (and ``rejects``)."""
    name = table.name
    width = len(table.header)
    for line, record in table.records():
        if type(record) is str:
            report.read += 1
            errors = [RowError(file=name, line=line, column="", value="", reason=record)]
            report.reject(errors)
            if rejects is not None:
                rejects.add(line, [], errors)
            continue
        first = record[0] if record else ""
        if (not first or first.isspace()) and not "".join(record).strip():
            continue  # a blank line, or a row of empty cells
        report.read += 1
        if len(record) != width and not (len(record) > width and not any(f.strip() for f in record[width:])):
            reason = f"has {len(record)} fields, the header has {width}"
            result: CanonicalRow | list[RowError] | None = [RowError(file=name, line=line, column="", value="", reason=reason)]
        else:
            result = translate(record, line)
        if result is None:
            report.skipped += 1
        elif type(result) is list:
            report.reject(result)
            if rejects is not None:
                rejects.add(line, record, result)
        else:
            report.valid += 1
            yield result


def import_file(
    *,
    engine: Engine | None,
    path: str | os.PathLike[str],
    mapping: "Mapping | None" = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    progress: Progress | None = None,
    rejects: RejectedRows | None = None,
) -> ImportReport:
    """Import a .csv or .xlsx file: valid rows land, rejected rows are reported.

    Without ``mapping`` the header must name the canonical columns. A file (or a
    mapping) that cannot be used at all changes nothing and sets ``fatal``.
    ``dry_run`` validates every row and writes nothing (``engine`` may then be
    None). ``progress`` is called with the report after every batch. ``rejects``
    receives every rejected record (``report.errors`` keeps the first
    MAX_KEPT_ERRORS problems).
    """
    path = Path(path)
    report = ImportReport(dry_run=dry_run)
    options = mapping.file_options() if mapping is not None else {}
    try:
        table = open_table(path, **options)
    except FileProblem as exc:
        report.fatal = f"{path.name}: {exc}"
        return report
    with table:
        report.source = table.describe()
        try:
            if mapping is None:
                translate = canonical_translator(table.header, file=table.name)
            else:
                translate = mapping.translator(table.header, file=table.name)
        except FileProblem as exc:
            report.fatal = f"{table.name}: {exc}"
            return report
        except ValueError as exc:  # db.mapping.MappingError: already names the mapping and the key
            report.fatal = str(exc)
            return report
        if rejects is not None:
            rejects.start(table.header)
        rows = read_rows(table, translate, report, rejects=rejects)
        if dry_run:
            step = max(1, batch_size)
            for _ in rows:
                if progress is not None and report.valid % step == 0:
                    progress(report)
            if progress is not None:
                progress(report)
        else:
            # A mapping says which zone the export's times are in: a site it creates starts in that zone.
            site_tz = mapping.timezone if mapping is not None else NEW_SITE_TIMEZONE
            _Writer(
                engine=engine, report=report, batch_size=batch_size, progress=progress, new_site_timezone=site_tz
            ).write_all(rows)
    return report


def import_csv(
    *, engine: Engine, path: str | os.PathLike[str], batch_size: int = DEFAULT_BATCH_SIZE, **options
) -> ImportReport:
    """``import_file`` under its first name (it reads .xlsx too); ``options`` as there."""
    return import_file(engine=engine, path=path, batch_size=batch_size, **options)


# --------------------------------------------------------------------------- writing


def write_rows(
    *,
    engine: Engine,
    rows: Iterable[CanonicalRow],
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
) -> ImportReport:
    """Upsert interactions and their ratings by ``interaction_id``; the one write path.

    Unknown sites, teams and agents are created; an agent named under another
    team moves to it; a row naming a ``leader`` makes that person (an account
    with the leader role, created if needed) the team's leader. A row without a
    rating never erases a stored rating. ``read`` counts the rows given; each is
    inserted, updated or unchanged. ``progress`` is called after every batch.
    """
    report = ImportReport()

    def counted() -> Iterator[CanonicalRow]:
        for row in rows:
            report.read += 1
            report.valid += 1
            yield row

    _Writer(engine=engine, report=report, batch_size=batch_size, progress=progress).write_all(counted())
    return report


@dataclass
class _Directory:
    """Ids of the sites, teams, agents and leaders, loaded once per import and extended as rows create them."""

    sites: dict[str, int]  # lower(name) -> id
    teams: dict[tuple[int, str], int]  # (site id, lower(name)) -> id
    agents: dict[str, tuple[int, int]]  # name -> (agent id, team id)
    leaders: dict[int, int | None]  # team id -> leader's user id
    users: dict[str, tuple[int, str]] | None = None  # username -> (id, role); loaded at the first leader
    leader_ids: dict[str, int] = field(default_factory=dict)  # leader's name -> user id
    new_site_timezone: str = NEW_SITE_TIMEZONE

    @classmethod
    def load(cls, conn: Connection) -> "_Directory":
        sites = {name.lower(): id_ for id_, name in conn.execute(select(_SITE.c.id, _SITE.c.name))}
        teams = {}
        leaders = {}
        for id_, site_id, name, leader_id in conn.execute(
            select(_TEAM.c.id, _TEAM.c.site_id, _TEAM.c.name, _TEAM.c.leader_id)
        ):
            teams[(site_id, name.lower())] = id_
            leaders[id_] = leader_id
        agents = {
            name: (id_, team_id)
            for id_, name, team_id in conn.execute(select(_AGENT.c.id, _AGENT.c.name, _AGENT.c.team_id))
        }
        return cls(sites=sites, teams=teams, agents=agents, leaders=leaders)

    def agent_id(self, conn: Connection, row: CanonicalRow) -> int:
        """The agent's id, creating the site, team and agent as needed (and moving the agent)."""
        site_id = self.sites.get(row.site.lower())
        if site_id is None:
            result = conn.execute(insert(_SITE).values(name=row.site, timezone=self.new_site_timezone))
            site_id = self.sites[row.site.lower()] = result.inserted_primary_key[0]
        team_key = (site_id, row.team.lower())
        team_id = self.teams.get(team_key)
        if team_id is None:
            result = conn.execute(insert(_TEAM).values(name=row.team, site_id=site_id))
            team_id = self.teams[team_key] = result.inserted_primary_key[0]
            self.leaders[team_id] = None
        if row.leader:
            self._lead(conn, team_id, row.leader)
        known = self.agents.get(row.agent)
        if known is None:
            result = conn.execute(
                insert(_AGENT).values(
                    name=row.agent,
                    display_name=display_name_for(row.agent),
                    team_id=team_id,
                    active=True,
                    hide_from_wall=False,
                )
            )
            agent_id = result.inserted_primary_key[0]
        else:
            agent_id, current_team = known
            if current_team != team_id:
                conn.execute(update(_AGENT).where(_AGENT.c.id == agent_id).values(team_id=team_id))
        self.agents[row.agent] = (agent_id, team_id)
        return agent_id

    def _lead(self, conn: Connection, team_id: int, name: str) -> None:
        """Make ``name`` the team's leader (the latest row naming a leader wins)."""
        user_id = self.leader_ids.get(name)
        if user_id is None:
            user_id = self.leader_ids[name] = self._leader_user(conn, name)
        if self.leaders.get(team_id) != user_id:
            conn.execute(update(_TEAM).where(_TEAM.c.id == team_id).values(leader_id=user_id))
            self.leaders[team_id] = user_id

    def _leader_user(self, conn: Connection, name: str) -> int:
        """The account of the leader called ``name``, created with the leader role if there is none.

        Found by username (``leader_username``) when its display name is this name; two
        people whose names give the same username get ``name.2``, ``name.3``...
        """
        if self.users is None:
            self.users = {
                username: (id_, role, " ".join(display.split()).casefold())
                for id_, username, role, display in conn.execute(
                    select(_USER.c.id, _USER.c.username, _USER.c.role, _USER.c.display_name)
                )
            }
        base = leader_username(name)
        wanted = " ".join(name.split()).casefold()
        username, n = base, 1
        while (known := self.users.get(username)) is not None and known[2] != wanted and known[2] != username:
            n += 1
            suffix = f".{n}"
            username = base[: MAX_USERNAME_LENGTH - len(suffix)] + suffix
        if known is None:
            result = conn.execute(
                insert(_USER).values(
                    username=username,
                    display_name=name,
                    role="leader",
                    password_hash="",  # no password yet: an admin sets one before the leader can sign in
                    disabled=False,
                    failed_logins=0,
                    created_at=utcnow(),
                )
            )
            user_id = result.inserted_primary_key[0]
            self.users[username] = (user_id, "leader", wanted)
            return user_id
        user_id, role, display = known
        if role == "agent":  # an agent promoted to team leader
            conn.execute(update(_USER).where(_USER.c.id == user_id).values(role="leader"))
            self.users[username] = (user_id, "leader", display)
        return user_id


_INTERACTION_FIELDS = ("agent_id", "channel", "contact_reason", "closed_at")
_RATING_FIELDS = ("agent_id", "stars", "comment", "resolved", "nps", "rated_at")

_UPDATE_INTERACTION = (
    update(_INTERACTION)
    .where(_INTERACTION.c.id == bindparam("b_id"))
    .values({f: bindparam(f"b_{f}") for f in _INTERACTION_FIELDS})
)
_UPDATE_RATING = (
    update(_RATING).where(_RATING.c.id == bindparam("b_id")).values({f: bindparam(f"b_{f}") for f in _RATING_FIELDS})
)
_SELECT_EXISTING = select(
    _INTERACTION.c.interaction_id,
    _INTERACTION.c.id,
    *(_INTERACTION.c[f] for f in _INTERACTION_FIELDS),
    _RATING.c.id,
    *(_RATING.c[f] for f in _RATING_FIELDS),
).select_from(_INTERACTION.outerjoin(_RATING, _RATING.c.interaction_id == _INTERACTION.c.id))


class _BulkInsert:
    """An INSERT compiled once for the engine's dialect and run with the driver's executemany.

    Core's executemany converts and copies every parameter set in Python, which cost more
    than SQLite's own inserting; here the dialect's type conversions (SQLite stores
    datetimes as text) run column by column, only on the columns that need one. The SQL
    is still SQLAlchemy's, so the statement is the dialect's own (SQLite, PostgreSQL).
    """

    def __init__(self, dialect: Dialect, table, columns: tuple[str, ...]) -> None:
        compiled = insert(table).inline().values({c: bindparam(c) for c in columns}).compile(dialect=dialect)
        self.sql = str(compiled)
        # Columns left out get their schema defaults (excluded_reason=''), rendered as parameters too.
        names = tuple(compiled.positiontup) if dialect.positional else tuple(compiled.binds)
        extra = tuple(n for n in names if n not in columns)
        for name in extra:
            default = table.c[name].default
            if default is None or not default.is_scalar:
                raise RuntimeError(f"{table.name}.{name} needs a value in bulk inserts")
        self.columns = columns + extra
        self.constants = tuple(table.c[name].default.arg for name in extra)
        self.positional = bool(dialect.positional)
        if self.positional and names != self.columns:
            raise RuntimeError(f"unexpected parameter order in {self.sql}")
        self.processors = tuple(
            (i, _fast_processor(p))
            for i, c in enumerate(self.columns)
            if (p := table.c[c].type.dialect_impl(dialect).bind_processor(dialect)) is not None
        )

    def run(self, conn: Connection, rows: list[tuple]) -> None:
        if not rows:
            return
        if self.constants:
            constants = self.constants
            rows = [r + constants for r in rows]
        if self.processors:
            # Column by column: one C-level map per converted column instead of a Python call per row.
            columns = list(zip(*rows))
            for i, process in self.processors:
                columns[i] = map(process, columns[i])
            rows = list(zip(*columns))
        if self.positional:
            conn.exec_driver_sql(self.sql, rows)
        else:
            names = self.columns
            conn.exec_driver_sql(self.sql, [dict(zip(names, r)) for r in rows])


_PROBES = (datetime(2026, 11, 20, 14, 3), datetime(2026, 1, 2, 3, 4, 5, 60), datetime(999, 12, 31, 23, 59, 59, 999999))


def _iso_microseconds(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(" ", "microseconds")


def _fast_processor(process: Callable) -> Callable:
    """``process``, or ``datetime.isoformat`` where that writes exactly the same text (SQLite's DATETIME)."""
    try:
        same = all(process(p) == _iso_microseconds(p) for p in _PROBES) and process(None) is None
    except Exception:  # noqa: BLE001 - not a datetime column
        return process
    return _iso_microseconds if same else process


class _Lookup:
    """``SELECT key, value... FROM table WHERE key IN (...)`` run by the driver, without result conversion.

    For text and integer columns only (what the write path looks up: external ids and
    primary keys). Core's expanding IN renders and names every parameter in Python on
    each call; this builds the placeholder list once per length.
    """

    CHUNK = 5000  # placeholders per query: far below SQLite's and PostgreSQL's limits

    def __init__(self, dialect: Dialect, table, key: str, values: tuple[str, ...] = ()) -> None:
        marks = {"qmark": "?", "format": "%s", "pyformat": "%s"}
        self.mark = marks.get(dialect.paramstyle)
        self.columns = (table.c[key], *(table.c[v] for v in values))
        prepare = dialect.identifier_preparer
        self.head = (
            f"SELECT {', '.join(prepare.format_column(c) for c in self.columns)} "
            f"FROM {prepare.format_table(table)} WHERE {prepare.format_column(table.c[key])} IN "
        )

    def __call__(self, conn: Connection, keys: list) -> list[tuple]:
        if self.mark is None:  # another parameter style: the portable Core query
            stmt = select(*self.columns).where(self.columns[0].in_(keys))
            return [tuple(r) for r in conn.execute(stmt)]
        found: list[tuple] = []
        for start in range(0, len(keys), self.CHUNK):
            chunk = tuple(keys[start : start + self.CHUNK])
            sql = self.head + "(" + ", ".join([self.mark] * len(chunk)) + ")"
            found.extend(conn.exec_driver_sql(sql, chunk).fetchall())
        return found


@dataclass(frozen=True, slots=True)
class _Stored:
    """An interaction already in the database, as plain tuples in ``*_FIELDS`` order."""

    id: int
    values: tuple
    rating_id: int | None
    rating: tuple | None


def _interaction_tuple(row: CanonicalRow, agent_id: int) -> tuple:
    return (agent_id, row.channel, row.contact_reason, row.closed_at)


def _rating_tuple(row: CanonicalRow, agent_id: int) -> tuple:
    return (agent_id, row.stars, row.comment, row.resolved, row.nps, row.rated_at)


def _tag_set(row: CanonicalRow) -> set[tuple[str, str]]:
    return {("went_well", t) for t in row.went_well} | {("to_improve", t) for t in row.to_improve}


def _tag_rows(rating_id: int, row: CanonicalRow) -> list[tuple]:
    """(rating_id, kind, tag) in ``_TAG_COLUMNS`` order."""
    return [(rating_id, kind, tag) for kind, tag in sorted(_tag_set(row))]


_INTERACTION_COLUMNS = ("interaction_id", "agent_id", "channel", "contact_reason", "closed_at")
_RATING_COLUMNS = ("interaction_id", "agent_id", "stars", "comment", "resolved", "nps", "rated_at")
_TAG_COLUMNS = ("rating_id", "kind", "tag")


@dataclass
class _BatchPlan:
    """What one batch changes, worked out from the rows and what is stored, before any write."""

    new_interactions: list[tuple] = field(default_factory=list)  # in _INTERACTION_COLUMNS order
    new_rated: list[tuple[CanonicalRow, int]] = field(default_factory=list)  # (row, agent id) of new interactions
    interaction_updates: list[dict] = field(default_factory=list)
    rating_inserts: list[tuple[CanonicalRow, int, int]] = field(default_factory=list)  # (row, agent id, interaction pk)
    rating_updates: list[dict] = field(default_factory=list)
    tag_replacements: dict[int, CanonicalRow] = field(default_factory=dict)  # rating id -> row with its new tags

    def add(
        self, row: CanonicalRow, agent_id: int, stored: _Stored | None, stored_tags: dict[int, set[tuple[str, str]]]
    ) -> str:
        """Plan one row; returns the report counter it belongs to: inserted, updated or unchanged."""
        if stored is None:
            self.new_interactions.append(
                (row.interaction_id, agent_id, row.channel, row.contact_reason, row.closed_at)
            )
            if row.stars is not None:
                self.new_rated.append((row, agent_id))
            return "inserted"
        changed = False
        values = _interaction_tuple(row, agent_id)
        if values != stored.values:
            self.interaction_updates.append(_bind(stored.id, _INTERACTION_FIELDS, values))
            changed = True
        if row.stars is not None and stored.rating_id is None:
            self.rating_inserts.append((row, agent_id, stored.id))
            changed = True
        elif row.stars is not None:
            wanted = _rating_tuple(row, agent_id)
            if wanted != stored.rating:
                self.rating_updates.append(_bind(stored.rating_id, _RATING_FIELDS, wanted))
                changed = True
            if stored_tags.get(stored.rating_id, set()) != _tag_set(row):
                self.tag_replacements[stored.rating_id] = row
                changed = True
        elif stored.rating_id is not None and stored.rating[0] != agent_id:
            # No answer in this row: keep the stored rating, but it follows its interaction's agent.
            self.rating_updates.append(_bind(stored.rating_id, _RATING_FIELDS, (agent_id, *stored.rating[1:])))
            changed = True
        return "updated" if changed else "unchanged"


class _Writer:
    """Collects rows into batches and writes each batch in one transaction."""

    def __init__(
        self,
        *,
        engine: Engine,
        report: ImportReport,
        batch_size: int,
        progress: Progress | None = None,
        new_site_timezone: str = NEW_SITE_TIMEZONE,
    ) -> None:
        self.engine = engine
        self.new_site_timezone = new_site_timezone
        self.report = report
        self.batch_size = max(1, batch_size)
        self.progress = progress
        self.directory: _Directory | None = None
        self.settings = get_settings()
        self.recovery_threshold = self.settings.recovery_threshold
        dialect = engine.dialect
        self.insert_interactions = _BulkInsert(dialect, _INTERACTION, _INTERACTION_COLUMNS)
        self.insert_ratings = _BulkInsert(dialect, _RATING, _RATING_COLUMNS)
        self.insert_tags = _BulkInsert(dialect, _TAG, _TAG_COLUMNS)
        self.stored_ids = _Lookup(dialect, _INTERACTION, "interaction_id")
        self.interaction_pks = _Lookup(dialect, _INTERACTION, "interaction_id", ("id",))
        self.rating_pks = _Lookup(dialect, _RATING, "interaction_id", ("id",))

    def write_all(self, rows: Iterable[CanonicalRow]) -> None:
        batch: list[CanonicalRow] = []
        ids: set[str] = set()
        size = self.batch_size
        for row in rows:
            # A repeated id inside one batch would be inserted twice: write what came before it first,
            # so the second occurrence is an update of the first, as in a re-import.
            if row.interaction_id in ids:
                self._flush(batch)
                batch, ids = [], set()
            batch.append(row)
            ids.add(row.interaction_id)
            if len(batch) >= size:
                self._flush(batch)
                batch, ids = [], set()
        self._flush(batch)

    def _flush(self, batch: list[CanonicalRow]) -> None:
        if not batch:
            return
        with self.engine.begin() as conn:
            if self.directory is None:
                self.directory = _Directory.load(conn)
                self.directory.new_site_timezone = self.new_site_timezone
            self._write_batch(conn, batch)
        if self.progress is not None:
            self.progress(self.report)

    def _write_batch(self, conn: Connection, batch: list[CanonicalRow]) -> None:
        agent_id = self.directory.agent_id
        agent_ids = [agent_id(conn, row) for row in batch]
        # Which ids are stored, first, by the cheap query: a first import finds none and skips the full lookup.
        stored = [r[0] for r in self.stored_ids(conn, [row.interaction_id for row in batch])]
        existing = self._existing(conn, stored) if stored else {}
        stored_tags = self._tags(conn, [s.rating_id for s in existing.values() if s.rating_id is not None])
        plan = _BatchPlan()
        counts = {"inserted": 0, "updated": 0, "unchanged": 0}
        if existing:
            for row, aid in zip(batch, agent_ids):
                counts[plan.add(row, aid, existing.get(row.interaction_id), stored_tags)] += 1
        else:
            # A batch of new interactions only (a first import): the plan without the lookups.
            plan.new_interactions = [
                (row.interaction_id, aid, row.channel, row.contact_reason, row.closed_at)
                for row, aid in zip(batch, agent_ids)
            ]
            plan.new_rated = [(row, aid) for row, aid in zip(batch, agent_ids) if row.stars is not None]
            counts["inserted"] = len(batch)
        for outcome, n in counts.items():
            setattr(self.report, outcome, getattr(self.report, outcome) + n)
        self._apply(conn, plan)
        # Every low rating opens a recovery case in the same transaction that lands it,
        # whichever way it came in (import, simulator, seed).
        low = [row.interaction_id for row in batch if row.stars is not None and row.stars <= self.recovery_threshold]
        if low:
            from db.recovery_store import open_cases

            open_cases(conn, interaction_ids=low, settings=self.settings)

    def _apply(self, conn: Connection, plan: "_BatchPlan") -> None:
        """Run the plan's statements: bulk inserts and executemany updates, no per-row round trips."""
        rating_inserts = list(plan.rating_inserts)
        if plan.new_interactions:
            self.insert_interactions.run(conn, plan.new_interactions)
            if plan.new_rated:
                # Only rated rows need their new interaction's id (for the rating's foreign key).
                pks = dict(self.interaction_pks(conn, [row.interaction_id for row, _ in plan.new_rated]))
                rating_inserts.extend((row, agent_id, pks[row.interaction_id]) for row, agent_id in plan.new_rated)
        if plan.interaction_updates:
            conn.execute(_UPDATE_INTERACTION, plan.interaction_updates)
        if plan.rating_updates:
            conn.execute(_UPDATE_RATING, plan.rating_updates)
        new_tags: list[tuple] = []
        if plan.tag_replacements:
            conn.execute(delete(_TAG).where(_TAG.c.rating_id.in_(list(plan.tag_replacements))))
            for rating_id, row in plan.tag_replacements.items():
                new_tags.extend(_tag_rows(rating_id, row))
        if rating_inserts:
            self.insert_ratings.run(
                conn,
                [
                    (pk, agent_id, row.stars, row.comment, row.resolved, row.nps, row.rated_at)
                    for row, agent_id, pk in rating_inserts
                ],
            )
            tagged = [(row, pk) for row, _, pk in rating_inserts if row.went_well or row.to_improve]
            if tagged:
                rating_ids = dict(self.rating_pks(conn, [pk for _, pk in tagged]))
                for row, pk in tagged:
                    new_tags.extend(_tag_rows(rating_ids[pk], row))
        if new_tags:
            self.insert_tags.run(conn, new_tags)

    @staticmethod
    def _existing(conn: Connection, interaction_ids: list[str]) -> dict[str, _Stored]:
        """Stored interactions (and their ratings) among ``interaction_ids``, by external id."""
        found: dict[str, _Stored] = {}
        n = len(_INTERACTION_FIELDS)
        for row in conn.execute(_SELECT_EXISTING.where(_INTERACTION.c.interaction_id.in_(interaction_ids))):
            row = tuple(row)
            rating_id = row[2 + n]
            found[row[0]] = _Stored(
                id=row[1],
                values=row[2 : 2 + n],
                rating_id=rating_id,
                rating=None if rating_id is None else row[3 + n :],
            )
        return found

    @staticmethod
    def _tags(conn: Connection, rating_ids: list[int]) -> dict[int, set[tuple[str, str]]]:
        found: dict[int, set[tuple[str, str]]] = defaultdict(set)
        if rating_ids:
            stmt = select(_TAG.c.rating_id, _TAG.c.kind, _TAG.c.tag).where(_TAG.c.rating_id.in_(rating_ids))
            for rating_id, kind, tag in conn.execute(stmt):
                found[rating_id].add((kind, tag))
        return found


def _bind(pk: int, fields: tuple[str, ...], values: tuple) -> dict:
    """Parameters for the ``_UPDATE_*`` statements (bind names must differ from column names)."""
    return {"b_id": pk, **{f"b_{f}": v for f, v in zip(fields, values)}}


__all__ = [
    "ALL_COLUMNS",
    "COLUMNS",
    "CanonicalRow",
    "FileProblem",
    "ImportReport",
    "OPTIONAL_COLUMNS",
    "RATING_COLUMNS",
    "RejectedRows",
    "RowError",
    "Table",
    "canonical_translator",
    "cell_text",
    "detect_encoding",
    "display_name_for",
    "header_positions",
    "import_csv",
    "import_file",
    "leader_username",
    "open_table",
    "parse_row",
    "parse_tags",
    "parse_time",
    "read_rows",
    "sniff_delimiter",
    "write_rows",
]
