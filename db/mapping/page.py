"""What the Data page needs to build a mapping from a file's header.

A first guess from the header (canonical names and common synonyms), the page's
widget choices and their inverse, value maps as text, mappings saved per header,
a preview of the first rows as they will land, and the upload size check.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from db.ingest.read import canonical_translator, header_positions, open_table, read_rows
from db.ingest.rows import ALL_COLUMNS, CanonicalRow, ImportReport, RowError
from db.mapping.schema import REQUIRED, Mapping, MappingError, Source, norm_header, parse_mapping
from db.models import AppMeta

META_PREFIX = "mapping:"


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
    "agent_external_id": ("agent external id", "agent id", "employee id", "employee number", "agent number"),
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
    names = sorted(norm_header(h) for h in header if h.strip())
    return META_PREFIX + hashlib.sha1("\n".join(names).encode("utf-8")).hexdigest()


def saved_mapping(*, session: Session, header: list[str]) -> str | None:
    """The TOML text saved for files with this header, if any."""
    row = session.get(AppMeta, header_key(header))
    return row.value if row else None


def save_mapping(*, session: Session, header: list[str], mapping: Mapping) -> str:
    """Store ``mapping`` for files with this header (replacing an earlier one); returns its key."""
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

