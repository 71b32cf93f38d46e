"""File reading: a CSV file (any common encoding and delimiter) or an .xlsx worksheet, record by record.

``open_table`` detects what the file is and how to read it; ``read_rows`` turns its
records into ``CanonicalRow`` objects through a translator (``canonical_translator``
for a file whose header names the canonical columns, a ``db.mapping`` mapping's for a
foreign export) and counts the rejected ones in an ``ImportReport``.
"""

from __future__ import annotations

import codecs
import csv
import os
import re
import zipfile
from datetime import date, datetime, time
from pathlib import Path
from typing import Callable, Iterator, TextIO

from db.ingest.rows import ALL_COLUMNS, COLUMNS, CanonicalRow, DateWindow, ImportReport, RowError, parse_row
from leaderboard.text import CsvWriter


class FileProblem(ValueError):
    """Why a file cannot be imported at all: one line, without the file's name."""


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
# Text with more than one NUL character in this many is a binary file; fewer are stray bytes.
_MAX_NUL_SHARE = 100


def _scan(path: Path, encoding: str) -> tuple[int, int] | int:
    """Decode the whole file: the number of NUL characters if it is clean ``encoding`` text, else (bad byte, line).

    Raises FileProblem for binary files (NUL characters everywhere) and files without text.
    A few NUL characters in real text (a stray byte from a broken export) are left to
    ``read_rows``, which rejects the lines that hold them.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    seen_text = False
    nuls = chars = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                start = min(exc.start, len(chunk) - 1)
                line += chunk[:start].decode(encoding, errors="replace").count("\n")
                return chunk[start], line
            nuls += text.count("\x00")
            chars += len(text)
            line += text.count("\n")
            seen_text = seen_text or bool(text.strip(" \t\r\n\ufeff\x00"))
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return 0, line
    if nuls * _MAX_NUL_SHARE > chars:
        raise FileProblem("is a binary file (it contains NUL bytes), not CSV text")
    if not seen_text:
        raise FileProblem("is empty (a header line naming the columns is required)")
    return nuls


def detect_encoding(path: Path) -> str:
    """The encoding of a CSV file: its byte-order mark, else UTF-8, else cp1252 (or latin-1).

    The whole file is checked before anything is written, so a file that goes bad
    half way changes nothing. A file that mixes UTF-8 with another encoding is refused:
    read either way, some of its names would be garbled.
    """
    return _detect_encoding(path)[0]


def _detect_encoding(path: Path) -> tuple[str, int]:
    """``detect_encoding`` and the number of (stray) NUL characters in the file."""
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
    if isinstance(bad, int):
        return encoding, bad
    byte, line = bad
    if encoding != "utf-8":
        raise FileProblem(f"is not valid {encoding.upper()} text (byte 0x{byte:02x} on line {line})")
    # Not UTF-8 and holding NUL bytes: an image or an archive, not a legacy-encoded CSV.
    if _search_file(path, re.compile(b"\x00")):
        raise FileProblem("is a binary file (it contains NUL bytes), not CSV text")
    if _search_file(path, _UTF8_MULTIBYTE):
        raise FileProblem(
            f"mixes UTF-8 with another encoding (byte 0x{byte:02x} on line {line} is not UTF-8); "
            "save it as 'CSV UTF-8'"
        )
    fallback = "latin-1" if _search_file(path, _CP1252_HOLES) else "cp1252"
    _scan(path, fallback)  # the empty check (both encodings decode every byte)
    return fallback, 0


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
    # Whether a record may hold a NUL character (``read_rows`` then checks every record for one).
    may_hold_nul: bool = False

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
            nuls = _scan(path, encoding)
            if not isinstance(nuls, int):
                raise FileProblem(f"is not {encoding} text (byte 0x{nuls[0]:02x} on line {nuls[1]})")
        else:
            encoding, nuls = _detect_encoding(path)
        self.encoding = encoding
        self.may_hold_nul = nuls > 0
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
        if any("\x00" in h for h in header):
            self.close()
            raise FileProblem(f"has a NUL character in its header line (line {self.header_line})")
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
        # lazy: openpyxl is heavy to import and only an .xlsx file needs it
        from openpyxl import load_workbook
        from openpyxl.utils.exceptions import InvalidFileException  # lazy: as above

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
        self.may_hold_nul = True  # no scan of a workbook beforehand: read_rows checks every row
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

    translate.positions = positions  # type: ignore[attr-defined]  # read_rows quotes a cell by column
    return translate


class RejectedRows:
    """Rejected records as CSV, for the user to fix and import again: line, problems, then the file's columns."""

    # Canonical columns of numbers: a rejected "-3" there stays as typed (leaderboard.text's CSV rule).
    NUMERIC_COLUMNS = ("stars", "nps")

    def __init__(self, out: TextIO) -> None:
        self._writer = CsvWriter(out)
        self.count = 0

    def start(self, header: list[str]) -> None:
        self._writer.numeric_columns = frozenset(i + 2 for i, name in enumerate(header) if name in self.NUMERIC_COLUMNS)
        self._writer.writerow(["line", "problems", *header])

    def add(self, line: int, cells: list[str], errors: list[RowError]) -> None:
        self._writer.writerow([line, "; ".join(e.problem for e in errors), *cells])
        self.count += 1


def read_rows(
    table: Table,
    translate: Translate,
    report: ImportReport,
    *,
    rejects: RejectedRows | None = None,
    window: DateWindow | None = None,
) -> Iterator[CanonicalRow]:
    """The valid rows of ``table``, in order; rejected rows go into ``report`` (and ``rejects``).

    A row holding a NUL character, or (with ``window``) a closed_at or rated_at outside the
    window, is rejected on its own: the rest of the file still lands.
    """
    name = table.name
    header = table.header
    width = len(header)
    check_nul = table.may_hold_nul
    earliest, latest = (window.earliest, window.latest) if window is not None else (None, None)
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
        result: CanonicalRow | list[RowError] | None
        if len(record) != width and not (len(record) > width and not any(f.strip() for f in record[width:])):
            reason = f"has {len(record)} fields, the header has {width}"
            result = [RowError(file=name, line=line, column="", value="", reason=reason)]
        elif check_nul and "\x00" in "".join(record):
            result = [
                RowError(file=name, line=line, column=header[i] if i < width else "", value=cell,
                         reason="contains a NUL character")
                for i, cell in enumerate(record)
                if "\x00" in cell
            ]
        else:
            try:
                result = translate(record, line)
            except OverflowError:  # a date a mapping shifts past year 1 or 9999
                result = [RowError(file=name, line=line, column="", value="", reason="holds a date out of range")]
            if window is not None and type(result) is CanonicalRow:
                closed, rated = result.closed_at, result.rated_at
                if not (earliest <= closed < latest and (rated is None or earliest <= rated < latest)):
                    result = _outside_window(result, window, translate, record, file=name, line=line)
        if result is None:
            report.skipped += 1
        elif type(result) is list:
            report.reject(result)
            if rejects is not None:
                rejects.add(line, record, result)
        else:
            report.valid += 1
            yield result


def _outside_window(
    row: CanonicalRow, window: DateWindow, translate: Translate, record: list[str], *, file: str, line: int
) -> list[RowError]:
    """Why ``row``'s closed_at or rated_at is outside ``window`` (one RowError per column)."""
    closed, rated = row.closed_at, row.rated_at
    # The file's own cell when the columns are canonical; else the time as read, in UTC.
    positions: dict[str, int] = getattr(translate, "positions", None) or {}
    labels: dict[str, str] = getattr(translate, "labels", None) or {}
    errors = []
    for column, moment in (("closed_at", closed), ("rated_at", rated)):
        if moment is None or (column == "rated_at" and moment is closed):
            continue  # no rating, or a rating time taken from closed_at (reported there)
        problem = window.problem(moment)
        if problem is None:
            continue
        at = positions.get(column)
        value = record[at] if at is not None else f"{moment.isoformat(sep=' ')} UTC"
        errors.append(RowError(file=file, line=line, column=labels.get(column, column), value=value, reason=problem))
    return errors
