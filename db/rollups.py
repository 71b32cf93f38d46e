"""Rollups: per agent, per team at the time, per local day, the sums a board needs (``agent_day``).

A row's ``team_id`` is the team the agent was in when the rating was earned (the interaction
closed): the ``agent_team`` row with an end that covers the moment, else the agent's team
today, exactly as ``queries.sums_by_team`` splits a moved agent. Its ``day`` is the local date
in the time zone of that team's site. The key is (agent_id, day, team_id), so a team's board
can still split a moved agent between teams.

``refresh_rollups(conn, pairs)`` recomputes the rows of the touched (agent, day) pairs from the
raw rows, inside the caller's transaction (delete the keys, insert what the raw rows sum to):
robust against every kind of change (insert, edit in place, stale row, exclusion, delete, move)
and cheap for small writes. Every write path calls it: the batch writer (``db.ingest.write``)
explicitly; ORM writes (exclusions, agent moves, a test's rows) through the session hook below,
which nobody has to remember; survey offers in ``db.survey_mail_store``.

``rebuild`` recomputes everything; ``differences`` compares the stored rows with a full
recomputation (``python -m leaderboard db rebuild-rollups`` / ``db check-rollups``).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
from sqlalchemy import and_, bindparam, delete, event, exists, insert, inspect as sa_inspect, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from db.chunks import chunks
from db.models import Agent, AgentDay, AgentTeam, Interaction, Rating, Site, SurveyOffer, Team

_DAY = AgentDay.__table__
KEY = ("agent_id", "day", "team_id")
SUMS = (
    "ratings",
    "star_sum",
    "five_count",
    "resolved_yes",
    "resolved_answered",
    "nps_n",
    "promoters",
    "detractors",
    "excluded",
    "closed",
    "rated",
    "offered",
    "offered_rated",
)
COLUMNS = (*KEY, *SUMS)
# Agents per statement (whole agents) and time windows per statement (touched days).
_AGENTS_PER_QUERY = 200
_WINDOWS_PER_QUERY = 100

Pair = tuple[int, "date | datetime | None"]


def _connection(conn) -> Connection:
    return conn.connection() if isinstance(conn, Session) else conn


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


# --------------------------------------------------------------------------- computing from raw rows


# A batch whose rows span at most this many days is read as one range for all its agents.
_ONE_RANGE_DAYS = 45


def _condition(agent_col, time_col, agent_ids: list[int] | None, windows: list[tuple[int, datetime, datetime]] | None):
    if windows is None:
        return agent_col.in_(agent_ids)
    low, high = min(w[1] for w in windows), max(w[2] for w in windows)
    if high - low <= timedelta(days=_ONE_RANGE_DAYS):
        return and_(agent_col.in_(sorted({w[0] for w in windows})), time_col >= low, time_col < high)
    return or_(*(and_(agent_col == a, time_col >= lo, time_col < hi) for a, lo, hi in windows))


def _raw(conn: Connection, agent_ids: list[int] | None, windows, *, as_records: bool = False):
    """(ratings, interactions) of the agents (whole) or of the windows, as frames (or lists of tuples)."""
    rating_cols = ["agent_id", "at", "stars", "resolved", "nps", "excluded_cause"]
    inter_cols = ["agent_id", "at", "rating_id", "offered"]
    offered = exists().where(SurveyOffer.interaction_id == Interaction.id)
    ratings, inters = [], []
    groups = (
        [list(c) for c in chunks(agent_ids, _AGENTS_PER_QUERY)]
        if windows is None
        else [list(windows[i : i + _WINDOWS_PER_QUERY]) for i in range(0, len(windows), _WINDOWS_PER_QUERY)]
    )
    for group in groups:
        ids, win = (group, None) if windows is None else (None, group)
        stmt = select(
            Rating.agent_id, Rating.rated_at, Rating.stars, Rating.resolved, Rating.nps, Rating.excluded_cause
        ).where(_condition(Rating.agent_id, Rating.rated_at, ids, win))
        ratings += [tuple(r) for r in conn.execute(stmt)]
        stmt = (
            select(Interaction.agent_id, Interaction.closed_at, Rating.id, offered)
            .select_from(Interaction)
            .outerjoin(Rating, Rating.interaction_id == Interaction.id)
            .where(_condition(Interaction.agent_id, Interaction.closed_at, ids, win))
        )
        inters += [tuple(r) for r in conn.execute(stmt)]
    if as_records:
        return ratings, inters
    return (
        pd.DataFrame.from_records(ratings, columns=rating_cols),
        pd.DataFrame.from_records(inters, columns=inter_cols),
    )


def attribution(conn: Connection, agent_ids: list[int]):
    """(today's team per agent, closed memberships, zone per team) for these agents."""
    today: dict[int, int] = {}
    moved: list[tuple] = []
    for chunk in chunks(agent_ids):
        chunk = list(chunk)
        today.update(tuple(r) for r in conn.execute(select(Agent.id, Agent.team_id).where(Agent.id.in_(chunk))))
        moved += [
            tuple(r)
            for r in conn.execute(
                select(AgentTeam.agent_id, AgentTeam.team_id, AgentTeam.valid_from, AgentTeam.valid_to).where(
                    AgentTeam.valid_to.is_not(None), AgentTeam.agent_id.in_(chunk)
                )
            )
        ]
    zones = {int(t): _zone(z) for t, z in conn.execute(select(Team.id, Site.timezone).join(Site, Site.id == Team.site_id))}
    return today, moved, zones


def place(frame: pd.DataFrame, today, moved, zones) -> pd.DataFrame:
    """``frame`` (agent_id, at) with team_id (the team at the time) and day (local date in its site's zone)."""
    if frame.empty:
        return frame.assign(team_id=pd.Series(dtype="int64"), day=pd.Series(dtype="object"))
    at = pd.to_datetime(frame["at"])
    team = frame["agent_id"].map(today)
    for agent_id, team_id, valid_from, valid_to in moved:
        covered = (frame["agent_id"] == agent_id) & (at >= pd.Timestamp(valid_from)) & (at < pd.Timestamp(valid_to))
        team = team.mask(covered, team_id)
    frame = frame.assign(team_id=team.astype("int64"))
    day = pd.Series([None] * len(frame), index=frame.index, dtype="object")
    utc = at.dt.tz_localize("UTC")
    for team_id, idx in frame.groupby("team_id").groups.items():
        tz = zones.get(int(team_id), ZoneInfo("UTC"))
        day.loc[idx] = utc.loc[idx].dt.tz_convert(tz).dt.date
    return frame.assign(day=day)


def compute(conn, agent_ids: Iterable[int] | None = None, windows=None) -> pd.DataFrame:
    """The rollup rows the raw rows sum to: whole ``agent_ids``, or only the rows in ``windows``
    ((agent_id, utc_from, utc_to) triples). Columns ``COLUMNS``, one row per key."""
    conn = _connection(conn)
    ids = sorted({int(a) for a in agent_ids} if agent_ids is not None else {int(w[0]) for w in windows or ()})
    if not ids:
        return pd.DataFrame(columns=list(COLUMNS))
    ratings, inters = _raw(conn, ids if windows is None else None, windows)
    today, moved, zones = attribution(conn, ids)
    ratings = place(ratings, today, moved, zones)
    inters = place(inters, today, moved, zones)
    parts = []
    if not ratings.empty:
        kept = ratings["excluded_cause"].isna()
        stars = ratings["stars"].astype("int64")
        nps = pd.to_numeric(ratings["nps"], errors="coerce")
        resolved = ratings["resolved"]
        parts.append(
            pd.DataFrame(
                {
                    "agent_id": ratings["agent_id"].astype("int64"),
                    "day": ratings["day"],
                    "team_id": ratings["team_id"],
                    "ratings": kept.astype("int64"),
                    "star_sum": stars.where(kept, 0),
                    "five_count": ((stars == 5) & kept).astype("int64"),
                    "resolved_yes": (resolved.map(lambda v: v is not None and v == v and bool(v)).astype(bool) & kept).astype("int64"),
                    "resolved_answered": (resolved.notna() & kept).astype("int64"),
                    "nps_n": (nps.notna() & kept).astype("int64"),
                    "promoters": ((nps >= 9) & kept).astype("int64"),
                    "detractors": ((nps <= 6) & kept).astype("int64"),
                    "excluded": (~kept).astype("int64"),
                }
            )
        )
    if not inters.empty:
        rated = inters["rating_id"].notna()
        offered = inters["offered"].astype(bool)
        parts.append(
            pd.DataFrame(
                {
                    "agent_id": inters["agent_id"].astype("int64"),
                    "day": inters["day"],
                    "team_id": inters["team_id"],
                    "closed": 1,
                    "rated": rated.astype("int64"),
                    "offered": offered.astype("int64"),
                    "offered_rated": (offered & rated).astype("int64"),
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=list(COLUMNS))
    both = pd.concat(parts, ignore_index=True)
    for column in SUMS:
        both[column] = both[column].fillna(0).astype("int64") if column in both else 0
    return both.groupby(list(KEY), as_index=False)[list(SUMS)].sum()[list(COLUMNS)]


# Up to this many raw rows a recomputation runs in plain Python: pandas costs tens of
# milliseconds per call whatever the size, a single API rating's few rows cost well under one.
_SMALL_ROWS = 2000


def _compute_small(ratings: list[tuple], inters: list[tuple], today, moved, zones) -> list[dict]:
    """``compute`` for a few raw rows, without pandas: the same rules, row by row (records, not a frame)."""
    moves: dict[int, list[tuple]] = {}
    for agent_id, team_id, valid_from, valid_to in moved:
        moves.setdefault(int(agent_id), []).append((valid_from, valid_to, int(team_id)))
    utc_zone = ZoneInfo("UTC")

    def place(agent_id: int, at: datetime) -> tuple[int, date]:
        team = int(today[agent_id])
        for valid_from, valid_to, team_id in moves.get(agent_id, ()):  # the last covering row wins, as in place()
            if valid_from <= at < valid_to:
                team = team_id
        local = at.replace(tzinfo=utc_zone).astimezone(zones.get(team, utc_zone))
        return team, local.date()

    sums: dict[tuple[int, date, int], dict[str, int]] = {}

    def row(agent_id: int, at: datetime) -> dict[str, int]:
        team, day = place(agent_id, at)
        return sums.setdefault((agent_id, day, team), dict.fromkeys(SUMS, 0))

    for agent_id, at, stars, resolved, nps, excluded_cause in ratings:
        agent_id = int(agent_id)
        out = row(agent_id, at)
        if excluded_cause is not None:
            out["excluded"] += 1
            continue
        stars = int(stars)
        out["ratings"] += 1
        out["star_sum"] += stars
        out["five_count"] += stars == 5
        if resolved is not None:
            out["resolved_answered"] += 1
            out["resolved_yes"] += bool(resolved)
        if nps is not None:
            out["nps_n"] += 1
            out["promoters"] += nps >= 9
            out["detractors"] += nps <= 6
    for agent_id, at, rating_id, offered in inters:
        agent_id = int(agent_id)
        out = row(agent_id, at)
        rated, offered = rating_id is not None, bool(offered)
        out["closed"] += 1
        out["rated"] += rated
        out["offered"] += offered
        out["offered_rated"] += offered and rated
    return [
        {"agent_id": a, "day": d, "team_id": t, **{k: int(v) for k, v in values.items()}}
        for (a, d, t), values in sorted(sums.items())
    ]


def _records(frame: pd.DataFrame) -> list[dict]:
    return [
        {k: (v if k == "day" else int(v)) for k, v in zip(COLUMNS, row)}
        for row in frame[list(COLUMNS)].itertuples(index=False, name=None)
    ]


# --------------------------------------------------------------------------- maintaining


def _as_day(when) -> date:
    return when.date() if isinstance(when, datetime) else when


def refresh_rollups(conn, agent_day_pairs: Iterable[Pair]) -> None:
    """Recompute the rollup rows of the touched (agent, day) pairs from the raw rows, in ``conn``'s transaction.

    ``day``: the UTC date (or naive UTC datetime) of a rating or interaction that was written,
    before or after the change; a local day is within a day of it, so the agent's days from the
    day before the first to the day after the last are recomputed. ``None``: every day of the
    agent (a team move re-dates memberships).
    """
    conn = _connection(conn)
    whole: set[int] = set()
    spans: dict[int, tuple[date, date]] = {}
    for agent_id, when in agent_day_pairs:
        if agent_id is None:
            continue
        agent_id = int(agent_id)
        if when is None:
            whole.add(agent_id)
            continue
        d = _as_day(when)
        lo, hi = spans.get(agent_id, (d, d))
        spans[agent_id] = (min(lo, d), max(hi, d))
    for agent_id in whole:
        spans.pop(agent_id, None)
    # Two transactions recomputing the same agent take turns (PostgreSQL: the agent rows locked, in
    # id order, before anything is read; the second then reads what the first committed). SQLite
    # has one writer at a time anyway.
    for chunk in chunks(sorted(whole | set(spans))):
        conn.execute(select(Agent.id).where(Agent.id.in_(list(chunk))).order_by(Agent.id).with_for_update()).all()
    if whole:
        for chunk in chunks(sorted(whole)):
            conn.execute(delete(_DAY).where(_DAY.c.agent_id.in_(list(chunk))))
        _insert(conn, compute(conn, whole))
    if not spans:
        return
    # Per agent, every local day from the first touched one to the last (a day either side: a
    # local day is within a day of the UTC one) is recomputed: its rows are read from a UTC window
    # one more day wide on each side. A file is usually in time order, so a batch spans a few days.
    spans = {a: (lo - timedelta(days=1), hi + timedelta(days=1)) for a, (lo, hi) in spans.items()}
    conn.execute(
        delete(_DAY).where(_DAY.c.agent_id == bindparam("a"), _DAY.c.day >= bindparam("lo"), _DAY.c.day <= bindparam("hi")),
        [{"a": a, "lo": lo, "hi": hi} for a, (lo, hi) in sorted(spans.items())],
    )
    windows = [
        (a, datetime.combine(lo - timedelta(days=1), time(0)), datetime.combine(hi + timedelta(days=2), time(0)))
        for a, (lo, hi) in sorted(spans.items())
    ]
    ratings, inters = _raw(conn, None, windows, as_records=True)
    if len(ratings) + len(inters) <= _SMALL_ROWS:
        today, moved, zones = attribution(conn, sorted(spans))
        records = _compute_small(ratings, inters, today, moved, zones)
        kept = [r for r in records if spans[r["agent_id"]][0] <= r["day"] <= spans[r["agent_id"]][1]]
        if kept:
            conn.execute(insert(_DAY), kept)
        return
    frame = compute(conn, windows=windows)
    if not frame.empty:
        lo = frame["agent_id"].map({a: v[0] for a, v in spans.items()})
        hi = frame["agent_id"].map({a: v[1] for a, v in spans.items()})
        _insert(conn, frame[(frame["day"] >= lo) & (frame["day"] <= hi)])


def _insert(conn: Connection, frame: pd.DataFrame) -> None:
    records = _records(frame)
    for i in range(0, len(records), 5000):
        conn.execute(insert(_DAY), records[i : i + 5000])


def rebuild(conn) -> int:
    """Every rollup row recomputed from the raw rows; returns how many there are."""
    conn = _connection(conn)
    conn.execute(delete(_DAY))
    count = 0
    agent_ids = [int(a) for a in conn.execute(select(Agent.id).order_by(Agent.id)).scalars()]
    for chunk in chunks(agent_ids, _AGENTS_PER_QUERY):
        frame = compute(conn, list(chunk))
        _insert(conn, frame)
        count += len(frame)
    return count


def stored(conn, agent_ids: Iterable[int] | None = None) -> pd.DataFrame:
    conn = _connection(conn)
    stmt = select(*(_DAY.c[c] for c in COLUMNS))
    if agent_ids is not None:
        stmt = stmt.where(_DAY.c.agent_id.in_([int(a) for a in agent_ids]))
    return pd.DataFrame.from_records([tuple(r) for r in conn.execute(stmt)], columns=list(COLUMNS))


def differences(conn, *, limit: int = 50) -> list[str]:
    """Where the stored rollups differ from a full recomputation from the raw rows (empty: none)."""
    conn = _connection(conn)
    agent_ids = [int(a) for a in conn.execute(select(Agent.id).order_by(Agent.id)).scalars()]
    found: list[str] = []
    for chunk in chunks(agent_ids, _AGENTS_PER_QUERY):
        chunk = list(chunk)
        want = compute(conn, chunk).assign(day=lambda f: f["day"].astype(str))
        have = stored(conn, chunk).assign(day=lambda f: f["day"].astype(str))
        both = want.merge(have, on=list(KEY), how="outer", suffixes=("_raw", "_stored"), indicator=True)
        for rec in both.sort_values(list(KEY)).to_dict("records"):
            where = f"agent {int(rec['agent_id'])} team {int(rec['team_id'])} day {rec['day']}"
            if rec["_merge"] == "left_only":
                found.append(f"{where}: missing from the rollups (raw ratings {int(rec['ratings_raw'])}, closed {int(rec['closed_raw'])})")
            elif rec["_merge"] == "right_only":
                found.append(f"{where}: in the rollups but not in the raw rows")
            else:
                diffs = [
                    f"{c} {int(rec[c + '_stored'])} (raw {int(rec[c + '_raw'])})"
                    for c in SUMS
                    if int(rec[c + "_stored"]) != int(rec[c + "_raw"])
                ]
                if diffs:
                    found.append(f"{where}: " + ", ".join(diffs))
            if len(found) >= limit:
                return found
    # Rows of agents that no longer exist.
    orphans = conn.execute(select(_DAY.c.agent_id).where(~_DAY.c.agent_id.in_(select(Agent.id))).limit(1)).first()
    if orphans is not None:
        found.append(f"agent {int(orphans[0])}: rollup rows of an agent that does not exist")
    return found


# --------------------------------------------------------------------------- ORM writes: the session hook


def _history(obj, *names: str) -> list[tuple]:
    """Current and previous values of ``names`` of an ORM object."""
    state = sa_inspect(obj)
    now = tuple(getattr(obj, n, None) for n in names)
    before = []
    for n in names:
        hist = state.attrs[n].history
        before.append(hist.deleted[0] if hist.deleted else getattr(obj, n, None))
    return [now, tuple(before)]


def _touched_by_flush(session: Session) -> tuple[list[Pair], list[int]]:
    pairs: list[Pair] = []
    offers: list[int] = []
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Rating):
            pairs += _history(obj, "agent_id", "rated_at")
        elif isinstance(obj, Interaction):
            if obj in session.deleted:  # its rating goes with it (ON DELETE CASCADE), on any day
                pairs.append((obj.agent_id, None))
            else:
                pairs += _history(obj, "agent_id", "closed_at")
        elif isinstance(obj, SurveyOffer):
            offers.append(obj.interaction_id)
        elif isinstance(obj, AgentTeam):
            pairs += [(agent_id, None) for agent_id, in _history(obj, "agent_id")]
        elif isinstance(obj, Agent) and obj not in session.new and obj not in session.deleted:
            if sa_inspect(obj).attrs.team_id.history.has_changes():
                pairs.append((obj.id, None))
        elif isinstance(obj, (Site, Team)) and obj in session.dirty:
            attr = "timezone" if isinstance(obj, Site) else "site_id"
            if sa_inspect(obj).attrs[attr].history.has_changes():
                pairs += _agents_of(session, obj)
    return pairs, offers


def _agents_of(session: Session, obj) -> list[Pair]:
    """Every agent whose rows may lie in a team of this site (or this team): their every day."""
    teams = select(Team.id).where(Team.site_id == obj.id) if isinstance(obj, Site) else select(Team.id).where(Team.id == obj.id)
    conn = session.connection()
    ids = {int(a) for a in conn.execute(select(Agent.id).where(Agent.team_id.in_(teams))).scalars()}
    ids |= {int(a) for a in conn.execute(select(_DAY.c.agent_id).where(_DAY.c.team_id.in_(teams)).distinct()).scalars()}
    ids |= {int(a) for a in conn.execute(select(AgentTeam.agent_id).where(AgentTeam.team_id.in_(teams))).scalars()}
    return [(a, None) for a in ids]


def offer_pairs(conn, interaction_ids: Iterable[int]) -> list[Pair]:
    """The (agent, closed day) of these interactions (by primary key): what their offers touch."""
    conn = _connection(conn)
    pairs: list[Pair] = []
    for chunk in chunks(sorted({int(i) for i in interaction_ids if i is not None})):
        pairs += [tuple(r) for r in conn.execute(
            select(Interaction.agent_id, Interaction.closed_at).where(Interaction.id.in_(list(chunk)))
        )]
    return pairs


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    pairs, offers = _touched_by_flush(session)
    if offers:
        pairs += offer_pairs(session, offers)
    if pairs:
        refresh_rollups(session.connection(), pairs)


__all__ = ["COLUMNS", "KEY", "SUMS", "attribution", "compute", "differences", "offer_pairs", "place", "rebuild", "refresh_rollups", "stored"]
