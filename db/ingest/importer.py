"""A whole file import: read a file, check its rows, write the valid ones.

``import_file`` opens a .csv or .xlsx file (``db.ingest.read``), turns each record
into a ``CanonicalRow`` (``db.ingest.rows``, directly or through a ``db.mapping``
mapping for a foreign export) and hands the valid ones to the one write path
(``db.ingest.write``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from sqlalchemy.engine import Engine

from db.accounts import end_demo
from db.ingest.read import FileProblem, RejectedRows, Translate, canonical_translator, open_table, read_rows
from db.ingest.rows import DateWindow, ImportReport
from db.ingest.write import DEFAULT_BATCH_SIZE, NEW_SITE_TIMEZONE, BatchWriter, Progress
from leaderboard.settings import get_settings


class FileMapping(Protocol):
    """What an import needs of a ``db.mapping.Mapping`` (db.mapping reads files with db.ingest, so not imported here)."""

    timezone: str

    def file_options(self) -> dict[str, str | None]: ...

    def translator(self, header: list[str], *, file: str) -> Translate: ...


def import_file(
    *,
    engine: Engine | None,
    path: str | os.PathLike[str],
    mapping: FileMapping | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    progress: Progress | None = None,
    rejects: RejectedRows | None = None,
    window: DateWindow | None = None,
) -> ImportReport:
    """Import a .csv or .xlsx file: valid rows land, rejected rows are reported.

    Without ``mapping`` the header must name the canonical columns. A file (or a
    mapping) that cannot be used at all changes nothing and sets ``fatal``.
    ``dry_run`` validates every row and writes nothing (``engine`` may then be
    None). ``progress`` is called with the report after every batch. ``rejects``
    receives every rejected record (``report.errors`` keeps the first
    MAX_KEPT_ERRORS problems). A row dated outside ``window`` (default: the settings'
    ``STARBOARD_EARLIEST_DATE`` to today plus ``STARBOARD_MAX_DAYS_AHEAD``) is rejected.
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
        if window is None:
            settings = get_settings()
            window = DateWindow.for_today(earliest_date=settings.earliest_date, max_days_ahead=settings.max_days_ahead)
        rows = read_rows(table, translate, report, rejects=rejects, window=window)
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
            BatchWriter(
                engine=engine, report=report, batch_size=batch_size, progress=progress, new_site_timezone=site_tz
            ).write_all(rows)
            if report.inserted or report.updated:
                end_demo(engine)
    return report


def import_csv(
    *, engine: Engine, path: str | os.PathLike[str], batch_size: int = DEFAULT_BATCH_SIZE, **options
) -> ImportReport:
    """``import_file`` under its first name (it reads .xlsx too); ``options`` as there."""
    return import_file(engine=engine, path=path, batch_size=batch_size, **options)

