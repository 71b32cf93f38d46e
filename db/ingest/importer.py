"""A whole file import: read a file, check its rows, write the valid ones.

``import_file`` opens a .csv or .xlsx file (``db.ingest.read``), turns each record
into a ``CanonicalRow`` (``db.ingest.rows``, directly or through a ``db.mapping``
mapping for a foreign export) and hands the valid ones to the one write path
(``db.ingest.write``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

from sqlalchemy.engine import Engine

from db.accounts import end_demo
from db.audit import record
from db.ingest.read import FileProblem, RejectedRows, Translate, canonical_translator, open_table, read_rows
from db.ingest.rows import CanonicalRow, DateWindow, ImportReport, RowError
from db.ingest.write import DEFAULT_BATCH_SIZE, NEW_SITE_TIMEZONE, BatchWriter, MovePreview, Progress, Refusal
from leaderboard.auth import Viewer, require_viewer
from leaderboard.settings import get_settings

# Moves listed one by one in an import's audit entry (all are counted).
MAX_AUDITED_MOVES = 200


class FileMapping(Protocol):
    """What an import needs of a ``db.mapping.Mapping`` (db.mapping reads files with db.ingest, so not imported here)."""

    timezone: str

    def file_options(self) -> dict[str, str | None]: ...

    def translator(self, header: list[str], *, file: str) -> Translate: ...


def import_file(
    *,
    engine: Engine | None,
    viewer: Viewer,
    path: str | os.PathLike[str],
    mapping: FileMapping | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    progress: Progress | None = None,
    rejects: RejectedRows | None = None,
    window: DateWindow | None = None,
    allow_moves: bool = False,
) -> ImportReport:
    """Import a .csv or .xlsx file: valid rows land, rejected rows are reported.

    Without ``mapping`` the header must name the canonical columns. A file (or a
    mapping) that cannot be used at all changes nothing and sets ``fatal``.
    ``dry_run`` validates every row and writes nothing (``engine`` may then be
    None). ``progress`` is called with the report after every batch. ``rejects``
    receives every rejected record (``report.errors`` keeps the first
    MAX_KEPT_ERRORS problems). A row dated outside ``window`` (default: the settings'
    ``STARBOARD_EARLIEST_DATE`` to today plus ``STARBOARD_MAX_DAYS_AHEAD``) is rejected.

    Rows are written for ``viewer`` (``SYSTEM_VIEWER`` at the command line): a row
    outside its scope is rejected with its line and reason, like an invalid one. An
    import that writes leaves an audit entry: who, the file's name and SHA-256,
    the counts, the agents moved and the moves held back (and each rating changed in
    place its own entry).

    A row naming a known agent under another team of their site asks for a move. It is
    made only with ``allow_moves`` (from the date of the earliest such row: earlier
    ratings keep counting for the old team); otherwise the rating lands, the agent keeps
    their team and the move is listed in ``report.held_moves``. A dry run with an
    ``engine`` lists the moves the file asks for in ``report.held_moves``.
    """
    require_viewer(viewer)
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
        # Where each valid row came from, so that a row refused at write time is reported with its
        # line (and written to ``rejects``) like an invalid one. Bounded: the writer holds one batch.
        origins: OrderedDict[int, tuple[int, list[str]]] = OrderedDict()
        keep = 2 * max(1, batch_size) + 1

        def traced(cells: list[str], line: int):
            result = translate(cells, line)
            if type(result) is CanonicalRow:
                origins[id(result)] = (line, cells)
                if len(origins) > keep:
                    origins.popitem(last=False)
            return result

        def refused(row: CanonicalRow, why: Refusal) -> None:
            line, cells = origins.get(id(row), (0, []))
            errors = [RowError(file=table.name, line=line, column=why.column, value=why.value, reason=why.reason)]
            report.reject(errors)
            if rejects is not None:
                rejects.add(line, cells, errors)

        # The date-window check names the file's own columns through these (see read._outside_window).
        traced.positions = getattr(translate, "positions", None)
        traced.labels = getattr(translate, "labels", None)
        rows = read_rows(table, traced if not dry_run else translate, report, rejects=rejects, window=window)
        if dry_run:
            step = max(1, batch_size)
            moves = MovePreview(engine, viewer) if engine is not None else None
            for row in rows:
                if moves is not None:
                    moves.see(row)
                if progress is not None and report.valid % step == 0:
                    progress(report)
            if progress is not None:
                progress(report)
            if moves is not None:
                report.held_moves = moves.moves()
        else:
            # A mapping says which zone the export's times are in: a site it creates starts in that zone.
            site_tz = mapping.timezone if mapping is not None else NEW_SITE_TIMEZONE
            writer = BatchWriter(
                engine=engine, viewer=viewer, report=report, batch_size=batch_size, progress=progress,
                new_site_timezone=site_tz, refused=refused, allow_moves=allow_moves,
            )
            try:
                writer.write_all(rows)
            except BaseException:
                # The batches before the failing one landed: say so, if the database still answers.
                with contextlib.suppress(Exception):
                    _audit_import(engine, viewer=viewer, path=path, report=report, writer=writer)
                raise
            report.moves, report.held_moves = writer.moves(), writer.held()
            _audit_import(engine, viewer=viewer, path=path, report=report, writer=writer)
            if report.inserted or report.updated:
                end_demo(engine)
    return report


def file_digest(path: Path) -> str:
    """The SHA-256 of a file, in hex (the audit log names an imported file by it)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _audit_import(engine: Engine, *, viewer: Viewer, path: Path, report: ImportReport, writer: BatchWriter) -> None:
    moves, held = writer.moves(), writer.held()
    detail = (
        f"sha256={file_digest(path)}; {report.summary()}; refused outside scope={writer.refusals}; "
        f"ratings edited in place={writer.edited}; agents moved={len(moves)}"
    )
    detail += _listed(moves)
    detail += f"; moves held back (not confirmed)={len(held)}" + _listed(held)
    with engine.begin() as conn:
        record(conn, actor=viewer.username, kind="import", target=path.name, detail=detail)


def _listed(moves: list[str]) -> str:
    """": a; b; … and N more" (at most MAX_AUDITED_MOVES named), or "" for none."""
    if not moves:
        return ""
    listed = moves[:MAX_AUDITED_MOVES]
    more = f"; … and {len(moves) - len(listed)} more" if len(moves) > len(listed) else ""
    return ": " + "; ".join(listed) + more


def import_csv(
    *,
    engine: Engine,
    viewer: Viewer,
    path: str | os.PathLike[str],
    batch_size: int = DEFAULT_BATCH_SIZE,
    **options,
) -> ImportReport:
    """``import_file`` under its first name (it reads .xlsx too); ``options`` as there."""
    return import_file(engine=engine, viewer=viewer, path=path, batch_size=batch_size, **options)

