"""Mappings: read what contact centers actually export (a CSAT tool's tickets, a phone
system's call log) as canonical rows, without editing the file first.

A mapping is a small TOML file (``python -m leaderboard import FILE --mapping MAP.toml``),
or one built on the Data page and saved in the database for files with the same header.
Every table is optional except ``[columns]``::

    description = "Zendesk CSAT export"   # free text, shown nowhere but here

    [file]                        # how to read the file (default: detected)
    encoding = "cp1252"           # else: BOM, then UTF-8, then cp1252/latin-1
    delimiter = ";"               # else sniffed among , ; tab |
    sheet = "Export"              # .xlsx: the worksheet (default: the first)

    [columns]                     # canonical column = where its value comes from
    interaction_id = "Ticket ID"  # a column of the file (matched ignoring case and extra spaces)
    agent = "Agent Name"
    team = "Team"
    site = { const = "Manila" }   # the same value on every row
    channel = { const = "email" }
    closed_at = ["Date", "Time"]  # columns joined with a space: "01/08/2023" + "11:13"
    rated_at = { join = ["Survey Date", "Survey Time"], sep = " " }
    stars = "Rating"
    leader = "Supervisor"         # the team's leader: an account with the leader role, linked to the team

    [values.stars]                # per canonical column: file value (ignoring case) = canonical value
    good = 5
    bad = 1

    [values.resolved]
    Y = "yes"
    N = "no"

    [dates]
    order = "day-first"           # or "month-first": how to read 03/04/2026 (an ambiguous date is a row error without it)
    formats = ["%d-%b-%y %H:%M"]  # strptime formats tried first; ISO 8601, 1/8/2023 11:13, 1-Aug-23, Aug 1, 2023 need none
    timezone = "Asia/Manila"      # the zone of times without an offset (default UTC)

    [rows]                        # one {column, equals} table or a list of them; equals is a value or a list
    skip_when = { column = "Status", equals = ["Test", "Spam"] }   # left out, counted as skipped
    unrated_when = { column = "Answered", equals = "N" }           # lands as an interaction nobody rated

Canonical columns (see ``db.ingest``): interaction_id, agent, team, site, channel and
closed_at are required; contact_reason, rated_at, stars, comment, resolved, nps,
went_well, to_improve and leader may be left out. Whole-number decimals ("5.0") are
whole numbers. A rejected row names the file, the line, the file's own column and
value, and the reason: ``calls.csv:7: column Rating: value '7': stars must be a whole
number from 1 to 5``. A mapping that does not fit the file (a column it names is not in
the header) or is not valid TOML stops the import before anything is written, with one
line naming the mapping file and the key.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from db.ingest import (
    ALL_COLUMNS,
    COLUMNS,
    RATING_COLUMNS,
    CanonicalRow,
    FileProblem,  # noqa: F401  (raised by the readers this module calls; importers catch it from here too)
    RowError,
    Translate,
    _Invalid,
    canonical_translator,
    header_positions,
    open_table,
    parse_row,
    read_rows,
    ImportReport,
)

REQUIRED = ("interaction_id", "agent", "team", "site", "channel", "closed_at")
DATE_COLUMNS = ("closed_at", "rated_at")
ORDERS = ("day-first", "month-first")
META_PREFIX = "mapping:"
_TOP_KEYS = ("description", "file", "columns", "values", "dates", "rows")
_FILE_KEYS = ("encoding", "delimiter", "sheet")
_DATE_KEYS = ("order", "formats", "timezone")
_ROW_KEYS = ("skip_when", "unrated_when")


class MappingError(ValueError):
    """A mapping that cannot be used: one line naming the mapping file and the key."""


# --------------------------------------------------------------------------- the schema


@dataclass(frozen=True)
class Source:
    """Where one canonical value comes from: a column, columns joined, or a constant."""

    columns: tuple[str, ...] = ()
    const: str | None = None
    sep: str = " "

    @property
    def label(self) -> str:
        """How rejected rows name it: the file's column ("Rating"), "Date + Time", or "constant"."""
        if self.const is not None:
            return "constant"
        return " + ".join(self.columns)

    def toml(self) -> str:
        if self.const is not None:
            return f"{{ const = {_toml_string(self.const)} }}"
        if len(self.columns) == 1:
            return _toml_string(self.columns[0])
        names = "[" + ", ".join(_toml_string(c) for c in self.columns) + "]"
        return names if self.sep == " " else f"{{ join = {names}, sep = {_toml_string(self.sep)} }}"


@dataclass(frozen=True)
class Rule:
    """A row condition: the cell of ``column`` equals one of ``equals`` (trimmed, ignoring case)."""

    column: str
    equals: tuple[str, ...]

    def toml(self) -> str:
        if len(self.equals) == 1:
            shown = _toml_string(self.equals[0])
        else:
            shown = "[" + ", ".join(map(_toml_string, self.equals)) + "]"
        return f"{{ column = {_toml_string(self.column)}, equals = {shown} }}"


@dataclass
class Mapping:
    """A parsed mapping (see the module docstring for its TOML form)."""

    columns: dict[str, Source]
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # canonical -> {file value: canonical value}
    order: str | None = None
    formats: tuple[str, ...] = ()
    timezone: str = "UTC"
    skip_when: tuple[Rule, ...] = ()
    unrated_when: tuple[Rule, ...] = ()
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    description: str = ""
    name: str = field(default="mapping", compare=False)  # the file it was read from, for messages

    def file_options(self) -> dict[str, str | None]:
        return {"encoding": self.encoding, "delimiter": self.delimiter, "sheet": self.sheet}

    def sources(self) -> set[str]:
        """Every column of the file this mapping reads."""
        names = {c for s in self.columns.values() for c in s.columns}
        return names | {r.column for r in (*self.skip_when, *self.unrated_when)}

    def translator(self, header: list[str], *, file: str) -> Translate:
        """Record -> CanonicalRow, rejected row errors, or None (skipped) for a file with ``header``.

        Raises MappingError when the header lacks a column the mapping names.
        """
        return _Translator(self, header, file=file)

    def to_toml(self) -> str:
        """The mapping as TOML text that ``parse_mapping`` reads back to an equal mapping."""
        lines: list[str] = []
        if self.description:
            lines += [f"description = {_toml_string(self.description)}", ""]
        options = {k: v for k, v in self.file_options().items() if v}
        if options:
            lines.append("[file]")
            lines += [f"{k} = {_toml_string(v)}" for k, v in options.items()]
            lines.append("")
        lines.append("[columns]")
        lines += [f"{c} = {self.columns[c].toml()}" for c in ALL_COLUMNS if c in self.columns]
        for column in ALL_COLUMNS:
            if self.values.get(column):
                lines += ["", f"[values.{column}]"]
                lines += [f"{_toml_key(k)} = {_toml_value(v, column)}" for k, v in self.values[column].items()]
        dates = []
        if self.order:
            dates.append(f"order = {_toml_string(self.order)}")
        if self.formats:
            dates.append("formats = [" + ", ".join(map(_toml_string, self.formats)) + "]")
        if self.timezone and self.timezone != "UTC":
            dates.append(f"timezone = {_toml_string(self.timezone)}")
        if dates:
            lines += ["", "[dates]", *dates]
        rows = []
        for key in _ROW_KEYS:
            rules = getattr(self, key)
            if len(rules) == 1:
                rows.append(f"{key} = {rules[0].toml()}")
            elif rules:
                rows.append(f"{key} = [" + ", ".join(r.toml() for r in rules) + "]")
        if rows:
            lines += ["", "[rows]", *rows]
        return "\n".join(lines) + "\n"


def _toml_string(value: str) -> str:
    # JSON string escapes are TOML basic-string escapes; DEL is a control character in TOML only.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_string(key)


def _toml_value(value: str, column: str) -> str:
    if column in ("stars", "nps") and re.fullmatch(r"\d{1,2}", value):
        return value
    return _toml_string(value)


# --------------------------------------------------------------------------- reading a mapping


def load_mapping(path: str | Path) -> Mapping:
    """The mapping in a TOML file; MappingError names the file and what is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise MappingError(f"{path.name}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise MappingError(f"{path.name}: is not UTF-8 text") from None
    return parse_mapping(text, name=path.name)


def parse_mapping(text: str, *, name: str = "mapping") -> Mapping:
    """Parse and check a mapping's TOML text (``name`` is how messages call it)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{name}: not valid TOML: {exc}") from None

    def fail(key: str, problem: str) -> MappingError:
        return MappingError(f"{name}: {key}: {problem}")

    for key in data:
        if key not in _TOP_KEYS:
            raise fail(key, f"unknown key (expected: {', '.join(_TOP_KEYS)})")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise fail("description", "must be a string")

    file_options: dict[str, str | None] = {}
    file_table = _table(data, "file", fail)
    for key, value in file_table.items():
        if key not in _FILE_KEYS:
            raise fail(f"[file] {key}", f"unknown key (expected: {', '.join(_FILE_KEYS)})")
        if not isinstance(value, str) or not value:
            raise fail(f"[file] {key}", "must be a non-empty string")
        file_options[key] = value
    if "encoding" in file_options:
        import codecs

        try:
            codecs.lookup(file_options["encoding"])
        except LookupError:
            raise fail("[file] encoding", f"unknown encoding {file_options['encoding']!r}") from None
    if "delimiter" in file_options and len(file_options["delimiter"]) != 1:
        raise fail("[file] delimiter", 'must be one character (a tab is "\\t")')

    if "columns" not in data:
        raise fail("[columns]", "missing: it says which column of the file holds each canonical column")
    columns: dict[str, Source] = {}
    for canonical, spec in _table(data, "columns", fail).items():
        if canonical not in ALL_COLUMNS:
            raise fail(f"[columns] {canonical}", f"not a canonical column (expected: {', '.join(ALL_COLUMNS)})")
        columns[canonical] = _source(spec, lambda p, c=canonical: fail(f"[columns] {c}", p))
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise fail("[columns]", f"no {', '.join(missing)} (required: {', '.join(REQUIRED)})")

    values: dict[str, dict[str, str]] = {}
    for canonical, table in _table(data, "values", fail).items():
        key = f"[values.{canonical}]"
        if canonical not in ALL_COLUMNS:
            raise fail(key, f"not a canonical column (expected: {', '.join(ALL_COLUMNS)})")
        if not isinstance(table, dict):
            raise fail(key, 'must be a table of file value = canonical value, e.g. good = 5')
        if canonical not in columns:
            raise fail(key, f"{canonical} is not in [columns]")
        values[canonical] = {}
        for source_value, target in table.items():
            values[canonical][source_value] = _canonical_value(target, lambda p, k=source_value: fail(f"{key} {k}", p))

    dates = _table(data, "dates", fail)
    for key in dates:
        if key not in _DATE_KEYS:
            raise fail(f"[dates] {key}", f"unknown key (expected: {', '.join(_DATE_KEYS)})")
    order = dates.get("order")
    if order is not None and order not in ORDERS:
        raise fail("[dates] order", f"must be {' or '.join(map(repr, ORDERS))}, not {order!r}")
    formats = dates.get("formats", [])
    if isinstance(formats, str):
        formats = [formats]
    if not isinstance(formats, list) or not all(isinstance(f, str) and "%" in f for f in formats):
        raise fail("[dates] formats", 'must be a list of strptime formats, e.g. ["%d-%b-%y %H:%M"]')
    tz = dates.get("timezone", "UTC")
    if not isinstance(tz, str) or not _zone(tz):
        raise fail("[dates] timezone", f"unknown time zone {tz!r} (use a name such as 'Asia/Manila' or 'UTC')")
    tz = "UTC" if tz.upper() == "UTC" else tz

    rows = _table(data, "rows", fail)
    for key in rows:
        if key not in _ROW_KEYS:
            raise fail(f"[rows] {key}", f"unknown key (expected: {', '.join(_ROW_KEYS)})")
    rules = {key: _rules(rows.get(key), lambda p, k=key: fail(f"[rows] {k}", p)) for key in _ROW_KEYS}

    return Mapping(
        columns=columns,
        values=values,
        order=order,
        formats=tuple(formats),
        timezone=tz,
        skip_when=rules["skip_when"],
        unrated_when=rules["unrated_when"],
        encoding=file_options.get("encoding"),
        delimiter=file_options.get("delimiter"),
        sheet=file_options.get("sheet"),
        description=description,
        name=name,
    )


def _table(data: dict, key: str, fail) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise fail(f"[{key}]", "must be a table")
    return value


def _source(spec: Any, fail) -> Source:
    if isinstance(spec, str) and spec.strip():
        return Source(columns=(spec,))
    if isinstance(spec, list) and spec and all(isinstance(s, str) and s.strip() for s in spec):
        return Source(columns=tuple(spec))
    if isinstance(spec, dict):
        extra = set(spec) - {"const", "join", "sep", "column"}
        if extra:
            raise fail(f"unknown key {sorted(extra)[0]!r} (expected const, column, or join with sep)")
        if "const" in spec:
            if len(spec) != 1:
                raise fail("const stands alone (no column or join beside it)")
            return Source(const=_canonical_value(spec["const"], fail))
        if "column" in spec and isinstance(spec["column"], str) and spec["column"].strip() and len(spec) == 1:
            return Source(columns=(spec["column"],))
        join = spec.get("join")
        sep = spec.get("sep", " ")
        if isinstance(join, list) and join and all(isinstance(s, str) and s.strip() for s in join) and isinstance(sep, str):
            return Source(columns=tuple(join), sep=sep)
    raise fail('must be a column name, a list of columns to join, { const = "..." } or { join = [...], sep = " " }')


def _canonical_value(value: Any, fail) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return value
    raise fail("must be a string, a whole number or true/false")


def _rules(spec: Any, fail) -> tuple[Rule, ...]:
    if spec is None:
        return ()
    items = spec if isinstance(spec, list) else [spec]
    rules = []
    for item in items:
        if not isinstance(item, dict) or set(item) != {"column", "equals"}:
            raise fail('must be { column = "...", equals = "..." } (or a list of them)')
        column, equals = item["column"], item["equals"]
        equals = equals if isinstance(equals, list) else [equals]
        if not isinstance(column, str) or not column.strip():
            raise fail("column must be a column name")
        try:
            rules.append(Rule(column=column, equals=tuple(_canonical_value(e, fail) for e in equals)))
        except MappingError:
            raise fail("equals must be a value or a list of values") from None
    return tuple(rules)


def _zone(name: str) -> timezone | ZoneInfo | None:
    if name.upper() == "UTC":
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


# --------------------------------------------------------------------------- dates

_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        (
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
            ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
            ("oct", "october"), ("nov", "november"), ("dec", "december"),
        )
    )
    for name in names
}
_TIME = (
    r"(?:(?:\s*[T,]\s*|\s+(?:at\s+)?)"
    r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<F>\d{1,6}))?)?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?"
    r"\s*(?P<tz>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?\s*$"
)
# 01/08/2023, 1.8.23, 1-8-2023: day and month in an order the mapping names (or the values make plain).
_NUMERIC = re.compile(r"^\s*(?P<a>\d{1,2})(?P<sep>[/.\-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})" + _TIME)
_YEAR_FIRST = re.compile(r"^\s*(?P<y>\d{4})[/.](?P<m>\d{1,2})[/.](?P<d>\d{1,2})" + _TIME)
# 1-Aug-23, 1 Aug 2023, 01.August.2023
_DAY_NAME = re.compile(r"^\s*(?P<d>\d{1,2})[\s\-/.]*(?P<mon>[A-Za-z]{3,9})\.?[\s\-/.,]*(?P<y>\d{4}|\d{2})" + _TIME)
# Aug 1, 2023 / August 1st 2023
_NAME_DAY = re.compile(r"^\s*(?P<mon>[A-Za-z]{3,9})\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})" + _TIME)
_EXAMPLES = "e.g. 2026-11-20 14:03, 20/11/2026 14:03, 20-Nov-26 2:03 PM"


class DateReader:
    """Reads the date-times of a mapping's file as naive UTC (the storage convention)."""

    def __init__(self, *, order: str | None = None, formats: Iterable[str] = (), tz: str = "UTC") -> None:
        self.order = order
        self.formats = tuple(formats)
        zone = _zone(tz)
        if zone is None:
            raise ValueError(f"unknown time zone {tz!r}")
        self.zone = zone

    def __call__(self, value: str) -> datetime:
        text = value.strip()
        for fmt in self.formats:
            try:
                return self._utc(datetime.strptime(text, fmt))
            except ValueError:
                continue
        try:
            return self._utc(datetime.fromisoformat(text))
        except ValueError:
            pass
        for pattern in (_NUMERIC, _YEAR_FIRST, _DAY_NAME, _NAME_DAY):
            match = pattern.match(text)
            if match:
                return self._from_match(match)
        raise _Invalid(f"is not a date-time this mapping can read ({_EXAMPLES})")

    def _from_match(self, m: re.Match) -> datetime:
        parts = m.groupdict()
        year = int(parts["y"])
        if len(parts["y"]) == 2:
            year += 2000 if year < 70 else 1900  # as strptime's %y
        if "mon" in parts:
            month = _MONTHS.get(parts["mon"].lower())
            if month is None:
                raise _Invalid(f"has no month called {parts['mon']!r} ({_EXAMPLES})")
            day = int(parts["d"])
        elif "a" in parts:
            day, month = self._day_month(int(parts["a"]), int(parts["b"]))
        else:
            day, month = int(parts["d"]), int(parts["m"])
        hour = int(parts["H"] or 0)
        ampm = (parts["ampm"] or "").lower().replace(".", "")
        if ampm:
            if not 1 <= hour <= 12:
                raise _Invalid(f"has hour {hour} with {ampm.upper()}")
            hour = hour % 12 + (12 if ampm == "pm" else 0)
        micro = int((parts["F"] or "0").ljust(6, "0"))
        try:
            moment = datetime(year, month, day, hour, int(parts["M"] or 0), int(parts["S"] or 0), micro)
        except ValueError as exc:
            how = f" (the mapping reads dates {self.order})" if self.order and "a" in parts else ""
            raise _Invalid(f"is not a valid date-time: {exc}{how}") from None
        tz = parts["tz"]
        if tz:
            if tz.upper() in ("Z", "UTC", "GMT"):
                return moment
            sign = 1 if tz[0] == "+" else -1
            digits = tz[1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
            return moment - sign * offset
        return self._utc(moment)

    def _day_month(self, a: int, b: int) -> tuple[int, int]:
        if self.order == "day-first":
            return a, b
        if self.order == "month-first":
            return b, a
        if a > 12 >= b or a == b:
            return a, b
        if b > 12 >= a:
            return b, a
        if a > 12 and b > 12:
            return a, b  # invalid either way: datetime() says why
        raise _Invalid(
            f"is ambiguous: day {a} of month {b}, or day {b} of month {a}? "
            'Set [dates] order = "day-first" or "month-first" in the mapping'
        )

    def _utc(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            if self.zone is timezone.utc:
                return moment
            moment = moment.replace(tzinfo=self.zone)
        return moment.astimezone(timezone.utc).replace(tzinfo=None)


# --------------------------------------------------------------------------- translating records


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


class _Translator:
    """One mapping bound to one file's header: record -> CanonicalRow | [RowError] | None."""

    def __init__(self, mapping: Mapping, header: list[str], *, file: str) -> None:
        self.file = file
        self.name = mapping.name
        positions: dict[str, int] = {}
        twice: set[str] = set()
        for i, column in enumerate(header):
            key = _norm(column)
            if key in positions:
                twice.add(key)
            positions.setdefault(key, i)

        def position(column: str, key: str) -> int:
            found = positions.get(_norm(column))
            if found is None:
                shown = ", ".join(repr(h) for h in header[:30]) + (", …" if len(header) > 30 else "")
                raise MappingError(f"{self.name}: {key}: {file} has no column {column!r} (its columns: {shown})")
            if _norm(column) in twice:
                raise MappingError(f"{self.name}: {key}: {file} has two columns called {column!r}")
            return found

        # (canonical, positions, const, sep, value map)
        self.plan: list[tuple[str, tuple[int, ...], str | None, str, dict[str, str] | None]] = []
        self.labels: dict[str, str] = {}
        for canonical in ALL_COLUMNS:
            source = mapping.columns.get(canonical)
            if source is None:
                self.labels[canonical] = f"{canonical} (not mapped)"
                continue
            at = tuple(position(c, f"[columns] {canonical} = {source.toml()}") for c in source.columns)
            vmap = {_norm(k): v for k, v in mapping.values.get(canonical, {}).items()} or None
            self.plan.append((canonical, at, source.const, source.sep, vmap))
            self.labels[canonical] = source.label if source.const is None else f"{canonical} (constant)"
        self.hints = {c: ", ".join(m) for c, m in mapping.values.items() if m}
        self.skip = tuple(
            (position(r.column, f"[rows] skip_when column = {r.column!r}"), frozenset(map(_norm, r.equals)))
            for r in mapping.skip_when
        )
        self.unrated = tuple(
            (position(r.column, f"[rows] unrated_when column = {r.column!r}"), frozenset(map(_norm, r.equals)))
            for r in mapping.unrated_when
        )
        self.dates = DateReader(order=mapping.order, formats=mapping.formats, tz=mapping.timezone)

    def __call__(self, cells: list[str], line: int) -> CanonicalRow | list[RowError] | None:
        for at, equals in self.skip:
            if _norm(cells[at]) in equals:
                return None
        raw: dict[str, str] = {}
        shown: dict[str, str] = {}  # canonical -> the file's value (before value maps), for messages
        for canonical, at, const, sep, vmap in self.plan:
            if const is not None:
                text = const
            elif len(at) == 1:
                text = cells[at[0]]
            else:
                text = sep.join(p for p in (cells[i].strip() for i in at) if p)
            shown[canonical] = text
            if vmap is not None:
                text = vmap.get(_norm(text), text)
            raw[canonical] = text
        for at, equals in self.unrated:
            if _norm(cells[at]) in equals:
                for column in RATING_COLUMNS:
                    raw[column] = ""
                break
        errors: list[RowError] = []
        failed: set[str] = set()
        for column in DATE_COLUMNS:
            text = raw.get(column)
            if text and not text.isspace():
                try:
                    raw[column] = self.dates(text).isoformat()
                except _Invalid as exc:
                    errors.append(self._error(column, shown[column], str(exc), line))
                    failed.add(column)
        result = parse_row(raw, file=self.file, line=line)
        if type(result) is not list:
            return errors or result
        for error in result:
            if error.column in failed:
                continue  # already reported with the mapping's reason
            if not error.column:
                errors.append(error)
                continue
            reason = error.reason
            hint = self.hints.get(error.column)
            if hint:
                reason += f" (or one of the mapped values: {hint})"
            errors.append(self._error(error.column, shown.get(error.column, error.value), reason, line))
        return errors

    def _error(self, canonical: str, value: str, reason: str, line: int) -> RowError:
        return RowError(
            file=self.file, line=line, column=self.labels[canonical], value=value, reason=f"{canonical} {reason}"
        )


# --------------------------------------------------------------------------- building one (the Data page)

# Header names (compared ignoring case, spaces and punctuation) that usually hold a canonical column.
SYNONYMS = {
    "interaction_id": ("interaction id", "ticket id", "ticket", "ticket number", "case id", "case number", "call id",
                       "conversation id", "contact id", "response id", "survey id", "id"),
    "agent": ("agent", "agent name", "assignee", "assignee name", "rep", "representative", "handled by", "user name"),
    "team": ("team", "team name", "group", "group name", "queue", "department"),
    "site": ("site", "site name", "location", "center", "centre", "office", "country"),
    "channel": ("channel", "contact channel", "medium", "contact type", "via"),
    "contact_reason": ("contact reason", "reason", "category", "topic", "disposition", "ticket type", "call reason"),
    "closed_at": ("closed at", "closed", "date closed", "solved at", "solved date", "call date", "call start",
                  "date time", "datetime", "timestamp", "end time", "date"),
    "rated_at": ("rated at", "survey date", "response date", "rating date", "survey submitted", "submitted at"),
    "stars": ("stars", "rating", "score", "csat", "csat score", "csat rating", "satisfaction", "satisfaction rating"),
    "comment": ("comment", "comments", "feedback", "verbatim", "remarks", "customer comment"),
    "resolved": ("resolved", "issue resolved", "fcr", "first contact resolution", "was your issue resolved"),
    "nps": ("nps", "likelihood to recommend", "ltr", "recommend", "nps score"),
    "went_well": ("went well", "praise tags", "what went well"),
    "to_improve": ("to improve", "improvement tags", "what could improve"),
    "leader": ("leader", "team leader", "team lead", "supervisor", "supervisor name", "tl"),
}


def _loose(name: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", name.casefold()).split())


def guess_mapping(header: list[str]) -> Mapping:
    """A first guess for a file's header: canonical names and common synonyms, "Date" + "Time" joined.

    Required columns it cannot place stay out; the page asks for them.
    """
    loose = {}
    for column in header:
        loose.setdefault(_loose(column), column)
    columns: dict[str, Source] = {}
    used: set[str] = set()
    for canonical in ALL_COLUMNS:
        for candidate in (_loose(canonical), *SYNONYMS.get(canonical, ())):
            column = loose.get(candidate)
            if column is not None and column not in used:
                columns[canonical] = Source(columns=(column,))
                used.add(column)
                break
    # Then names that start with a synonym: "Satisfaction (1-5)", "CSAT Score (1-5)".
    for canonical in ALL_COLUMNS:
        if canonical in columns:
            continue
        for candidate in (c for c in SYNONYMS.get(canonical, ()) if len(c) >= 4):
            column = next((col for name, col in loose.items() if name.startswith(candidate + " ") and col not in used), None)
            if column is not None:
                columns[canonical] = Source(columns=(column,))
                used.add(column)
                break
    time_column = loose.get("time") or loose.get("call time") or loose.get("time closed")
    closed = columns.get("closed_at")
    if closed and time_column and time_column not in used and len(closed.columns) == 1:
        columns["closed_at"] = Source(columns=(closed.columns[0], time_column))
    return Mapping(columns=columns)


def missing_required(mapping: Mapping) -> list[str]:
    return [c for c in REQUIRED if c not in mapping.columns]


# The Data page's choices for a canonical column, beside the file's own column names.
NOT_MAPPED = "— not in this file —"
CONSTANT = "— the same value on every row —"
NO_TIME = "— no separate time column —"


def column_choice(mapping: Mapping, canonical: str) -> tuple[str, str, str]:
    """How the page's widgets show ``canonical`` in ``mapping``: (column or NOT_MAPPED/CONSTANT, constant, time column)."""
    source = mapping.columns.get(canonical)
    if source is None:
        return NOT_MAPPED, "", NO_TIME
    if source.const is not None:
        return CONSTANT, source.const, NO_TIME
    time_column = source.columns[1] if len(source.columns) > 1 else NO_TIME
    return source.columns[0], "", time_column


def source_from_choice(choice: str, *, const: str = "", time_column: str = NO_TIME) -> Source | None:
    """The inverse of ``column_choice``: a Source from the page's widgets (None: not mapped)."""
    if choice == NOT_MAPPED:
        return None
    if choice == CONSTANT:
        return Source(const=const)
    if time_column and time_column != NO_TIME:
        return Source(columns=(choice, time_column))
    return Source(columns=(choice,))


def value_map_text(values: dict[str, str]) -> str:
    """``{"good": "5", "bad": "1"}`` as the page edits it: ``good = 5, bad = 1``."""
    return ", ".join(f"{k} = {v}" for k, v in values.items())


def parse_value_map(text: str, *, column: str) -> dict[str, str]:
    """``good = 5, bad = 1`` (commas or new lines between pairs) -> {"good": "5", "bad": "1"}."""
    pairs: dict[str, str] = {}
    for part in re.split(r"[,\n]", text):
        if not part.strip():
            continue
        if "=" not in part:
            raise MappingError(f"values for {column}: {part.strip()!r} is not file value = {column} value")
        key, _, value = part.partition("=")
        pairs[key.strip()] = value.strip()
    return pairs


def rule_values(text: str) -> tuple[str, ...]:
    """``N, No`` -> ("N", "No"): the values a row rule matches."""
    return tuple(v.strip() for v in text.split(",") if v.strip())


# --------------------------------------------------------------------------- saved mappings


def header_key(header: list[str]) -> str:
    """The AppMeta key of the mapping saved for files with this header (order and case do not matter)."""
    names = sorted(_norm(h) for h in header if h.strip())
    return META_PREFIX + hashlib.sha1("\n".join(names).encode("utf-8")).hexdigest()


def saved_mapping(*, session, header: list[str]) -> str | None:
    """The TOML text saved for files with this header, if any."""
    from db.models import AppMeta

    row = session.get(AppMeta, header_key(header))
    return row.value if row else None


def save_mapping(*, session, header: list[str], mapping: Mapping) -> str:
    """Store ``mapping`` for files with this header (replacing an earlier one); returns its key."""
    from db.models import AppMeta

    key = header_key(header)
    text = mapping.to_toml()
    parse_mapping(text, name="saved mapping")  # never store what cannot be read back
    row = session.get(AppMeta, key)
    if row is None:
        session.add(AppMeta(key=key, value=text))
    else:
        row.value = text
        session.add(row)
    session.commit()
    return key


# --------------------------------------------------------------------------- preview


def read_header(path: str | Path, mapping: Mapping | None = None) -> tuple[list[str], str]:
    """The file's header and how it was read ("CSV, cp1252, semicolon-separated"); raises FileProblem."""
    with open_table(path, **(mapping.file_options() if mapping else {})) as table:
        return list(table.header), table.describe()


def is_canonical(header: list[str]) -> bool:
    return not isinstance(header_positions(header), str)


def preview(path: str | Path, mapping: Mapping | None, *, limit: int = 20) -> tuple[list[dict], list[RowError]]:
    """The first ``limit`` valid rows as they will land (canonical columns), and the errors met on the way.

    Raises FileProblem or MappingError when the file or mapping cannot be used at all.
    """
    path = Path(path)
    with open_table(path, **(mapping.file_options() if mapping else {})) as table:
        if mapping is None:
            translate = canonical_translator(table.header, file=table.name)
        else:
            translate = mapping.translator(table.header, file=table.name)
        report = ImportReport(dry_run=True)
        rows: list[dict] = []
        for row in read_rows(table, translate, report):
            rows.append(preview_row(row))
            if len(rows) >= limit:
                break
        return rows, list(report.errors)


def preview_row(row: CanonicalRow) -> dict:
    """A row as the page shows it: times as 'YYYY-MM-DD HH:MM UTC' text, tags joined."""
    out: dict[str, Any] = {}
    for column in ALL_COLUMNS:
        value = getattr(row, column)
        if isinstance(value, datetime):
            value = value.strftime("%Y-%m-%d %H:%M:%S") + " UTC"
        elif isinstance(value, tuple):
            value = "; ".join(value)
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        out[column] = value
    return out


def check_upload_size(size: int, *, limit_mb: int, name: str = "the file") -> str | None:
    """Why an upload of ``size`` bytes is refused (naming its size and the limit), or None."""
    limit = limit_mb * 1024 * 1024
    if size <= limit:
        return None
    shown = _human_size(size)
    if shown == _human_size(limit) or size < 2 * limit:  # "1.0 MB: the limit is 1 MB" would not explain much
        how_big, the_limit = f"{size:,} bytes", f"{limit_mb} MB ({limit:,} bytes)"
    else:
        how_big, the_limit = shown, f"{limit_mb} MB"
    return (
        f"{name} is {how_big}: the limit is {the_limit}. "
        "Split the export into smaller files (re-importing overlapping rows is safe)."
    )


def _human_size(size: float) -> str:
    for unit in ("bytes", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:.1f} MB"


__all__ = [
    "CONSTANT",
    "COLUMNS",
    "NOT_MAPPED",
    "NO_TIME",
    "column_choice",
    "parse_value_map",
    "rule_values",
    "source_from_choice",
    "value_map_text",
    "DateReader",
    "Mapping",
    "MappingError",
    "REQUIRED",
    "Rule",
    "Source",
    "check_upload_size",
    "guess_mapping",
    "header_key",
    "is_canonical",
    "load_mapping",
    "missing_required",
    "parse_mapping",
    "preview",
    "preview_row",
    "read_header",
    "save_mapping",
    "saved_mapping",
]
