"""The Data page's uploads: read the header, dry-run every row through a mapping, import, remember the mapping."""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from db import audit
from db.ingest import ALL_COLUMNS, FileProblem, ImportReport, RejectedRows, import_file
from db.mapping import MappingError, is_canonical, parse_mapping, read_header, save_mapping, saved_mapping
from db.mapping import preview as preview_rows
from leaderboard.auth import SYSTEM_VIEWER, Viewer
from pages.common import get_engine


def errors_frame(report) -> pd.DataFrame:
    """The rejected rows of an import report: line, column, value, reason."""
    return pd.DataFrame(
        [{"line": e.line, "column": e.column, "value": e.value, "reason": e.reason} for e in report.errors],
        columns=["line", "column", "value", "reason"],
    )


@dataclass(frozen=True)
class UploadHeader:
    """The first look at an upload: its header and how it reads, or why it cannot be read."""

    header: tuple[str, ...] = ()
    source: str = ""
    canonical: bool = False
    fatal: str | None = None


@dataclass(frozen=True)
class DryRun:
    """An upload parsed without writing: the first rows as they will land, and every problem."""

    read: int = 0
    valid: int = 0
    rejected: int = 0
    skipped: int = 0
    fatal: str | None = None
    preview: pd.DataFrame = field(default_factory=pd.DataFrame)
    errors: pd.DataFrame = field(default_factory=pd.DataFrame)
    rejects_csv: str = ""
    # Team moves the file asks for ("Ann Good: Blue → Red from 2026-11-20"): made only when confirmed.
    moves: tuple[str, ...] = ()


def _with_upload_file(data: bytes, filename: str, work):
    """Run ``work(path)`` on the upload saved under its own name (so messages name the user's file)."""
    safe_name = Path(filename).name or "upload.csv"
    with tempfile.TemporaryDirectory(prefix="starboard-upload-") as folder:
        path = Path(folder) / safe_name
        path.write_bytes(data)
        return work(path)


@st.cache_data(max_entries=4, ttl=900, show_spinner="Reading the file…")
def upload_header(data: bytes, filename: str) -> UploadHeader:
    def work(path: Path) -> UploadHeader:
        try:
            header, source = read_header(path)
        except FileProblem as exc:
            return UploadHeader(fatal=f"{path.name}: {exc}")
        return UploadHeader(header=tuple(header), source=source, canonical=is_canonical(header))

    return _with_upload_file(data, filename, work)


@st.cache_data(max_entries=4, ttl=900, show_spinner="Checking every row (nothing is written yet)…")
def dry_run_upload(data: bytes, filename: str, mapping_toml: str | None, version: tuple = ()) -> DryRun:
    """Parse the whole upload through the mapping (None: canonical columns) without writing anything.

    The database is read (``version`` keys the cache on it) to list the team moves the file asks for.
    """
    mapping = parse_mapping(mapping_toml, name="the mapping") if mapping_toml else None

    def work(path: Path) -> DryRun:
        try:
            rows, _ = preview_rows(path, mapping, limit=20)
        except (FileProblem, MappingError) as exc:
            return DryRun(fatal=str(exc) if isinstance(exc, MappingError) else f"{path.name}: {exc}")
        out = io.StringIO()
        # Checks every row and writes nothing (so no scope to check: that happens when the rows are written);
        # reads the agents to list the team moves the file asks for.
        report: ImportReport = import_file(
            engine=get_engine(), viewer=SYSTEM_VIEWER, path=path, mapping=mapping, dry_run=True,
            rejects=RejectedRows(out),
        )
        return DryRun(
            read=report.read,
            valid=report.valid,
            rejected=report.rejected,
            skipped=report.skipped,
            fatal=report.fatal,
            preview=pd.DataFrame(rows, columns=list(ALL_COLUMNS)),
            errors=errors_frame(report),
            rejects_csv=out.getvalue() if report.rejected else "",
            moves=tuple(report.held_moves),
        )

    return _with_upload_file(data, filename, work)


def import_mapped_upload(
    *, engine: Engine, viewer: Viewer, data: bytes, filename: str, mapping_toml: str | None, progress=None,
    allow_moves: bool = False,
):
    """Import an upload for ``viewer`` through a mapping (None: canonical columns); returns (report, rejected rows as CSV).

    Rows outside the viewer's scope are rejected with their reasons (``db.ingest``). Team moves
    are made only with ``allow_moves`` (the Data page's checkbox); otherwise held back and named.
    """
    mapping = parse_mapping(mapping_toml, name="the mapping") if mapping_toml else None
    out = io.StringIO()

    def work(path: Path):
        return import_file(
            engine=engine, viewer=viewer, path=path, mapping=mapping, progress=progress, rejects=RejectedRows(out),
            allow_moves=allow_moves,
        )

    report = _with_upload_file(data, filename, work)
    return report, out.getvalue() if report.rejected else ""


def saved_mapping_text(header: tuple[str, ...]) -> str | None:
    """The mapping saved for files with this header (AppMeta), if any."""
    with Session(get_engine()) as session:
        return saved_mapping(session=session, header=list(header))


def save_upload_mapping(header: tuple[str, ...], mapping, *, viewer: Viewer) -> None:
    """Remember ``mapping`` for files with this header; audited in the same transaction (save_mapping commits)."""
    with Session(get_engine()) as session:
        audit.record(
            session, actor=viewer.username, kind="mapping_saved", target=", ".join(header)[:200],
            detail=mapping.to_toml(),
        )
        save_mapping(session=session, header=list(header), mapping=mapping)
