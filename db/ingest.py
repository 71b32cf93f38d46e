"""Canonical ratings import, and the one write path for interactions and ratings.

The canonical CSV has one row per closed interaction; the rating columns are
empty when the customer did not answer (the row still counts for response
rate). ``import_csv`` streams a file through ``parse_row`` into ``write_rows``;
seed data, the simulator and tests call ``write_rows`` directly, so every
interaction and rating enters the database through the same code.

Writes go in batches, each in its own transaction, with SQLAlchemy Core bulk
statements: a killed import leaves whole batches behind, and running it again
finishes the job (rows are upserted by ``interaction_id``).
"""

from __future__ import annotations

import codecs
import csv
import math
import os
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection, Engine

from db.models import Agent, Interaction, Rating, RatingTag, Site, Team
from leaderboard.settings import get_settings

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
# Empty together when the customer did not answer.
RATING_COLUMNS = ("rated_at", "stars", "comment", "resolved", "nps", "went_well", "to_improve")

DEFAULT_BATCH_SIZE = 2000
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
}
MAX_TAG_LENGTH = 80
NEW_SITE_TIMEZONE = "UTC"

_TRUE = frozenset({"yes", "y", "true", "t", "1"})
_FALSE = frozenset({"no", "n", "false", "f", "0"})

_SITE = Site.__table__
_TEAM = Team.__table__
_AGENT = Agent.__table__
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

    @property
    def rated(self) -> bool:
        return self.stars is not None


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one row of a file was rejected."""

    file: str
    line: int  # physical line where the record starts (1 = header)
    column: str  # '' when the row as a whole is wrong
    value: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:"
        if not self.column:
            return f"{where} {self.reason}"
        return f"{where} column {self.column}: value {_show(self.value)}: {self.reason}"


@dataclass
class ImportReport:
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)  # the first MAX_KEPT_ERRORS
    fatal: str | None = None  # set when the file could not be read at all (nothing written)

    @property
    def exit_code(self) -> int:
        """0 every row landed, 1 some rows were rejected, 2 nothing could be read."""
        if self.fatal:
            return 2
        return 1 if self.rejected else 0

    def summary(self) -> str:
        return (
            f"read={self.read} inserted={self.inserted} updated={self.updated} "
            f"unchanged={self.unchanged} rejected={self.rejected}"
        )

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


# --------------------------------------------------------------------------- parsing


def display_name_for(name: str) -> str:
    """First name and last initial, the way public screens show agents: "Maria Santos" -> "Maria S."."""
    parts = name.split()
    if len(parts) < 2:
        return name
    return f"{parts[0]} {parts[-1][0]}."


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
    tags = dict.fromkeys(" ".join(t.split()).lower() for t in value.split(";"))
    tags.pop("", None)
    for tag in tags:
        if len(tag) > MAX_TAG_LENGTH:
            raise _Invalid(f"tag {_show(tag, 30)} is longer than {MAX_TAG_LENGTH} characters")
    return tuple(tags)


def parse_row(raw: dict[str, str], *, file: str, line: int) -> CanonicalRow | list[RowError]:
    """Validate one record keyed by canonical column name; every problem in it is reported."""
    errors: list[RowError] = []
    values: dict[str, object] = {}
    get = raw.get
    rated = any(v and not v.isspace() for v in map(get, RATING_COLUMNS))
    for column, parse in _PARSERS if rated else _INTERACTION_PARSERS:
        value = get(column) or ""
        try:
            values[column] = parse(value)
        except _Invalid as exc:
            errors.append(RowError(file=file, line=line, column=column, value=value, reason=str(exc)))
            values[column] = None
    closed_at = values["closed_at"]
    if rated and closed_at is not None:
        rated_at = values["rated_at"]
        if rated_at is None and not (raw.get("rated_at") or "").strip():
            values["rated_at"] = closed_at
        elif rated_at is not None and rated_at < closed_at:
            reason = f"is before closed_at ({closed_at.isoformat(sep=' ')} UTC)"
            errors.append(RowError(file=file, line=line, column="rated_at", value=raw["rated_at"], reason=reason))
    if errors:
        return errors
    return CanonicalRow(**values)


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


def _unreadable(path: Path) -> str | None:
    """Why ``path`` is not a UTF-8 text file, or None. Checked before any write,
    so a file that goes bad half way changes nothing."""
    try:
        if path.is_dir():
            return "is a folder, not a file"
        handle = path.open("rb")
    except OSError as exc:
        return exc.strerror or str(exc)
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    seen_text = False
    with handle:
        while chunk := handle.read(1 << 20):
            if b"\x00" in chunk:
                return "is a binary file (it contains NUL bytes), not CSV text"
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                line += chunk.count(b"\n", 0, exc.start)
                return f"is not UTF-8 text (byte 0x{chunk[exc.start]:02x} on line {line}); save it as 'CSV UTF-8'"
            line += chunk.count(b"\n")
            seen_text = seen_text or bool(chunk.strip(b" \t\r\n\xef\xbb\xbf"))
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "is not UTF-8 text (it ends inside a character); save it as 'CSV UTF-8'"
    if not seen_text:
        return "is empty (a header line naming the columns is required)"
    return None


def _header_positions(header: list[str]) -> dict[str, int] | str:
    """Column name -> position, or the reason the header is unusable."""
    names = [h.strip().lower() for h in header]
    positions: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in COLUMNS and name in positions:
            return f"column {name!r} appears twice in the header"
        positions.setdefault(name, i)
    missing = [c for c in COLUMNS if c not in positions]
    if missing:
        return f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} (expected: {', '.join(COLUMNS)})"
    return {c: positions[c] for c in COLUMNS}


def _records(path: Path, report: ImportReport) -> Iterator[CanonicalRow]:
    """Valid rows of the file, in order; rejected rows go into ``report``.

    Sets ``report.fatal`` (and yields nothing) when the header is unusable.
    """
    name = path.name
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            report.fatal = f"{name}: is empty (a header line naming the columns is required)"
            return
        positions = _header_positions(header)
        if isinstance(positions, str):
            report.fatal = f"{name}: {positions}"
            return
        width = len(header)
        items = tuple(positions.items())
        while True:
            # The record starts on the line after the last one read (quoted newlines span lines).
            line = reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                report.read += 1
                report.reject([RowError(file=name, line=line, column="", value="", reason=f"unreadable CSV: {exc}")])
                continue
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # blank line
            report.read += 1
            if len(record) != width and not (len(record) > width and not any(f.strip() for f in record[width:])):
                reason = f"has {len(record)} fields, the header has {width}"
                report.reject([RowError(file=name, line=line, column="", value="", reason=reason)])
                continue
            parsed = parse_row({c: record[i] for c, i in items}, file=name, line=line)
            if isinstance(parsed, list):
                report.reject(parsed)
            else:
                yield parsed


def import_csv(*, engine: Engine, path: str | os.PathLike[str], batch_size: int = DEFAULT_BATCH_SIZE) -> ImportReport:
    """Import a canonical CSV file: valid rows land, rejected rows are reported.

    A file that cannot be read at all changes nothing and sets ``fatal``.
    """
    path = Path(path)
    report = ImportReport()
    problem = _unreadable(path)
    if problem:
        report.fatal = f"{path.name}: {problem}"
        return report
    _Writer(engine=engine, report=report, batch_size=batch_size).write_all(_records(path, report))
    return report


# --------------------------------------------------------------------------- writing


def write_rows(
    *, engine: Engine, rows: Iterable[CanonicalRow], batch_size: int = DEFAULT_BATCH_SIZE
) -> ImportReport:
    """Upsert interactions and their ratings by ``interaction_id``; the one write path.

    Unknown sites, teams and agents are created; an agent named under another
    team moves to it. A row without a rating never erases a stored rating.
    ``read`` counts the rows given; each is inserted, updated or unchanged.
    """
    report = ImportReport()

    def counted() -> Iterator[CanonicalRow]:
        for row in rows:
            report.read += 1
            yield row

    _Writer(engine=engine, report=report, batch_size=batch_size).write_all(counted())
    return report


@dataclass
class _Directory:
    """Ids of the sites, teams and agents, loaded once per import and extended as rows create them."""

    sites: dict[str, int]  # lower(name) -> id
    teams: dict[tuple[int, str], int]  # (site id, lower(name)) -> id
    agents: dict[str, tuple[int, int]]  # name -> (agent id, team id)

    @classmethod
    def load(cls, conn: Connection) -> "_Directory":
        sites = {name.lower(): id_ for id_, name in conn.execute(select(_SITE.c.id, _SITE.c.name))}
        teams = {
            (site_id, name.lower()): id_
            for id_, site_id, name in conn.execute(select(_TEAM.c.id, _TEAM.c.site_id, _TEAM.c.name))
        }
        agents = {
            name: (id_, team_id)
            for id_, name, team_id in conn.execute(select(_AGENT.c.id, _AGENT.c.name, _AGENT.c.team_id))
        }
        return cls(sites=sites, teams=teams, agents=agents)

    def agent_id(self, conn: Connection, row: CanonicalRow) -> int:
        """The agent's id, creating the site, team and agent as needed (and moving the agent)."""
        site_id = self.sites.get(row.site.lower())
        if site_id is None:
            result = conn.execute(insert(_SITE).values(name=row.site, timezone=NEW_SITE_TIMEZONE))
            site_id = self.sites[row.site.lower()] = result.inserted_primary_key[0]
        team_key = (site_id, row.team.lower())
        team_id = self.teams.get(team_key)
        if team_id is None:
            result = conn.execute(insert(_TEAM).values(name=row.team, site_id=site_id))
            team_id = self.teams[team_key] = result.inserted_primary_key[0]
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


def _tag_rows(rating_id: int, row: CanonicalRow) -> list[dict]:
    return [{"rating_id": rating_id, "kind": kind, "tag": tag} for kind, tag in sorted(_tag_set(row))]


@dataclass
class _BatchPlan:
    """What one batch changes, worked out from the rows and what is stored, before any write."""

    new_interactions: list[dict] = field(default_factory=list)
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
                {
                    "interaction_id": row.interaction_id,
                    "agent_id": agent_id,
                    "channel": row.channel,
                    "contact_reason": row.contact_reason,
                    "closed_at": row.closed_at,
                }
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

    def __init__(self, *, engine: Engine, report: ImportReport, batch_size: int) -> None:
        self.engine = engine
        self.report = report
        self.batch_size = max(1, batch_size)
        self.directory: _Directory | None = None
        self.settings = get_settings()
        self.recovery_threshold = self.settings.recovery_threshold

    def write_all(self, rows: Iterable[CanonicalRow]) -> None:
        batch: list[CanonicalRow] = []
        ids: set[str] = set()
        for row in rows:
            # A repeated id inside one batch would be inserted twice: write what came before it first,
            # so the second occurrence is an update of the first, as in a re-import.
            if row.interaction_id in ids:
                self._flush(batch)
                batch, ids = [], set()
            batch.append(row)
            ids.add(row.interaction_id)
            if len(batch) >= self.batch_size:
                self._flush(batch)
                batch, ids = [], set()
        self._flush(batch)

    def _flush(self, batch: list[CanonicalRow]) -> None:
        if not batch:
            return
        with self.engine.begin() as conn:
            if self.directory is None:
                self.directory = _Directory.load(conn)
            self._write_batch(conn, batch)

    def _write_batch(self, conn: Connection, batch: list[CanonicalRow]) -> None:
        agent_ids = [self.directory.agent_id(conn, row) for row in batch]
        existing = self._existing(conn, [row.interaction_id for row in batch])
        stored_tags = self._tags(conn, [s.rating_id for s in existing.values() if s.rating_id is not None])
        plan = _BatchPlan()
        for row, agent_id in zip(batch, agent_ids):
            outcome = plan.add(row, agent_id, existing.get(row.interaction_id), stored_tags)
            setattr(self.report, outcome, getattr(self.report, outcome) + 1)
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
            pks = self._insert(conn, _INTERACTION, "interaction_id", plan.new_interactions)
            rating_inserts.extend((row, agent_id, pks[row.interaction_id]) for row, agent_id in plan.new_rated)
        if plan.interaction_updates:
            conn.execute(_UPDATE_INTERACTION, plan.interaction_updates)
        if plan.rating_updates:
            conn.execute(_UPDATE_RATING, plan.rating_updates)
        new_tags: list[dict] = []
        if plan.tag_replacements:
            conn.execute(delete(_TAG).where(_TAG.c.rating_id.in_(list(plan.tag_replacements))))
            for rating_id, row in plan.tag_replacements.items():
                new_tags.extend(_tag_rows(rating_id, row))
        if rating_inserts:
            values = [
                {"interaction_id": pk, **dict(zip(_RATING_FIELDS, _rating_tuple(row, agent_id)))}
                for row, agent_id, pk in rating_inserts
            ]
            rating_ids = self._insert(conn, _RATING, "interaction_id", values)
            for row, _, pk in rating_inserts:
                if row.went_well or row.to_improve:
                    new_tags.extend(_tag_rows(rating_ids[pk], row))
        if new_tags:
            conn.execute(insert(_TAG), new_tags)

    @staticmethod
    def _insert(conn: Connection, table, key: str, rows: list[dict]) -> dict:
        """Insert ``rows``; the new primary keys by their unique ``key`` column.

        A plain executemany and one SELECT of the new ids: the drivers' fastest bulk path
        (psycopg pipelines it, sqlite3 loops in C), and no reliance on RETURNING order.
        """
        conn.execute(insert(table), rows)
        keys = [r[key] for r in rows]
        return dict(conn.execute(select(table.c[key], table.c.id).where(table.c[key].in_(keys))).all())

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
    "COLUMNS",
    "CanonicalRow",
    "ImportReport",
    "RATING_COLUMNS",
    "RowError",
    "display_name_for",
    "import_csv",
    "parse_row",
    "parse_tags",
    "parse_time",
    "write_rows",
]
