"""Ratings import, and the one write path for interactions and ratings.

Three concerns, one module each (this package re-exports their public names, so
``from db.ingest import X`` works for every one of them):

- ``db.ingest.read``: file reading (CSV in any common encoding and delimiter, .xlsx streamed);
- ``db.ingest.rows``: row checking (one record into a ``CanonicalRow``, or ``RowError``s
  naming the file, line, column, value and reason);
- ``db.ingest.write``: writing (upserts in batches; low ratings open recovery cases in
  the same transaction);

and ``db.ingest.importer`` runs the three for one file (``import_file``).
"""

from db.ingest.importer import FileMapping, import_csv, import_file
from db.ingest.read import (
    DELIMITER_NAMES,
    DELIMITERS,
    FALLBACK_ENCODINGS,
    FileProblem,
    RejectedRows,
    Table,
    Translate,
    canonical_translator,
    cell_text,
    detect_encoding,
    header_positions,
    open_table,
    read_rows,
    sniff_delimiter,
)
from db.ingest.rows import (
    ALL_COLUMNS,
    COLUMNS,
    MAX_KEPT_ERRORS,
    MAX_LENGTH,
    MAX_TAG_LENGTH,
    OPTIONAL_COLUMNS,
    RATING_COLUMNS,
    CanonicalRow,
    DateWindow,
    ImportReport,
    InvalidValue,
    RowError,
    parse_row,
    parse_tags,
    parse_time,
)
from db.ingest.write import (
    DEFAULT_BATCH_SIZE,
    MAX_USERNAME_LENGTH,
    NEW_SITE_TIMEZONE,
    BatchWriter,
    Progress,
    Refusal,
    leader_username,
    write_rows,
)

__all__ = [
    "ALL_COLUMNS",
    "BatchWriter",
    "COLUMNS",
    "CanonicalRow",
    "DEFAULT_BATCH_SIZE",
    "DateWindow",
    "DELIMITERS",
    "DELIMITER_NAMES",
    "FALLBACK_ENCODINGS",
    "FileMapping",
    "FileProblem",
    "ImportReport",
    "InvalidValue",
    "MAX_KEPT_ERRORS",
    "MAX_LENGTH",
    "MAX_TAG_LENGTH",
    "MAX_USERNAME_LENGTH",
    "NEW_SITE_TIMEZONE",
    "OPTIONAL_COLUMNS",
    "Progress",
    "Refusal",
    "RATING_COLUMNS",
    "RejectedRows",
    "RowError",
    "Table",
    "Translate",
    "canonical_translator",
    "cell_text",
    "detect_encoding",
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
