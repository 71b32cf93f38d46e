"""The mapping schema: read what contact centers actually export (a CSAT tool's tickets, a phone
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

import codecs
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from db.ingest.read import Translate
from db.ingest.rows import ALL_COLUMNS, RATING_COLUMNS, CanonicalRow, InvalidValue, RowError, parse_row
from db.mapping.dates import DateReader, zone_for

REQUIRED = ("interaction_id", "agent", "team", "site", "channel", "closed_at")
DATE_COLUMNS = ("closed_at", "rated_at")
ORDERS = ("day-first", "month-first")
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
    if not isinstance(tz, str) or not zone_for(tz):
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



# --------------------------------------------------------------------------- translating records


def norm_header(name: str) -> str:
    """A header name or cell as mappings compare them: ignoring case and extra spaces."""
    return " ".join(name.split()).casefold()


class _Translator:
    """One mapping bound to one file's header: record -> CanonicalRow | [RowError] | None."""

    def __init__(self, mapping: Mapping, header: list[str], *, file: str) -> None:
        self.file = file
        self.name = mapping.name
        positions: dict[str, int] = {}
        twice: set[str] = set()
        for i, column in enumerate(header):
            key = norm_header(column)
            if key in positions:
                twice.add(key)
            positions.setdefault(key, i)

        def position(column: str, key: str) -> int:
            found = positions.get(norm_header(column))
            if found is None:
                shown = ", ".join(repr(h) for h in header[:30]) + (", …" if len(header) > 30 else "")
                raise MappingError(f"{self.name}: {key}: {file} has no column {column!r} (its columns: {shown})")
            if norm_header(column) in twice:
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
            vmap = {norm_header(k): v for k, v in mapping.values.get(canonical, {}).items()} or None
            self.plan.append((canonical, at, source.const, source.sep, vmap))
            self.labels[canonical] = source.label if source.const is None else f"{canonical} (constant)"
        self.hints = {c: ", ".join(m) for c, m in mapping.values.items() if m}
        self.skip = tuple(
            (position(r.column, f"[rows] skip_when column = {r.column!r}"), frozenset(map(norm_header, r.equals)))
            for r in mapping.skip_when
        )
        self.unrated = tuple(
            (position(r.column, f"[rows] unrated_when column = {r.column!r}"), frozenset(map(norm_header, r.equals)))
            for r in mapping.unrated_when
        )
        self.dates = DateReader(order=mapping.order, formats=mapping.formats, tz=mapping.timezone)

    def __call__(self, cells: list[str], line: int) -> CanonicalRow | list[RowError] | None:
        for at, equals in self.skip:
            if norm_header(cells[at]) in equals:
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
                text = vmap.get(norm_header(text), text)
            raw[canonical] = text
        for at, equals in self.unrated:
            if norm_header(cells[at]) in equals:
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
                except InvalidValue as exc:
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

