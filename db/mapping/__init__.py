"""Mappings: read what contact centers actually export as canonical rows, without editing the file.

Three concerns, one module each (this package re-exports their public names, so
``from db.mapping import X`` works for every one of them):

- ``db.mapping.schema``: the TOML mapping model, its validation, and how it reads a
  file's records (its module docstring describes the TOML form);
- ``db.mapping.dates``: date-times in a foreign file (day-first, month names, time zones);
- ``db.mapping.page``: what the Data page needs to build a mapping from a header.
"""

from db.ingest.read import FileProblem
from db.ingest.rows import COLUMNS
from db.mapping.dates import DateReader, zone_for
from db.mapping.page import (
    CONSTANT,
    META_PREFIX,
    NO_TIME,
    NOT_MAPPED,
    SYNONYMS,
    check_upload_size,
    column_choice,
    guess_mapping,
    header_key,
    is_canonical,
    missing_required,
    parse_value_map,
    preview,
    preview_row,
    read_header,
    rule_values,
    save_mapping,
    saved_mapping,
    source_from_choice,
    value_map_text,
)
from db.mapping.schema import (
    DATE_COLUMNS,
    ORDERS,
    REQUIRED,
    Mapping,
    MappingError,
    Rule,
    Source,
    load_mapping,
    norm_header,
    parse_mapping,
)

__all__ = [
    "COLUMNS",
    "CONSTANT",
    "DATE_COLUMNS",
    "DateReader",
    "FileProblem",
    "META_PREFIX",
    "Mapping",
    "MappingError",
    "NOT_MAPPED",
    "NO_TIME",
    "ORDERS",
    "REQUIRED",
    "Rule",
    "SYNONYMS",
    "Source",
    "check_upload_size",
    "column_choice",
    "guess_mapping",
    "header_key",
    "is_canonical",
    "load_mapping",
    "missing_required",
    "norm_header",
    "parse_mapping",
    "parse_value_map",
    "preview",
    "preview_row",
    "read_header",
    "rule_values",
    "save_mapping",
    "saved_mapping",
    "source_from_choice",
    "value_map_text",
    "zone_for",
]
