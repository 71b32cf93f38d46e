"""Praise-to-criticism ratios: per agent (received), per leader (given), per team.

The ratio is praise notes ÷ criticism notes in a period, shown as ``5.2 : 1``
against ``settings.ratio_target`` (default 5). It is never a division by zero
or an infinity: every count pair maps to exactly one status.

    praise  criticism   ratio   label      status
    0       0           None    ""         no notes yet
    3       0           None    ""         no criticism yet
    0       2           0.0     "0.0 : 1"  below target
    5       1           5.0     "5.0 : 1"  on target       (exactly on target counts)
    26      5           5.2     "5.2 : 1"  on target

Rounding: one decimal, halves up, computed on the integers (26/5 → 5.2,
1/4 → 0.3), and the status compares the ratio *as shown* with the target, so
a screen never shows "5.0 : 1 — below target".

Page-facing API (no Streamlit here):

- ``ratio_value / ratio_label / ratio_status / target_label``: the pure rules above.
- ``ratio_table(*, session, by="agent"|"leader"|"team", period="week", site=None, team=None,
  tz=None, now=None, viewer, settings=None) -> DataFrame``: one row per agent,
  leader or team with ``id, name, team, praise, criticism, ratio, ratio_label, target,
  status`` (``team`` only for agents). ``viewer`` is required: the signed-in ``Viewer``
  on a screen, ``auth.SYSTEM_VIEWER`` on the command line.
- ``weekly_ratios(*, session, by="agent"|"leader"|"team", weeks=8, now=None, tz=None,
  team_id=None, ids=None, viewer, settings=None) -> DataFrame``: one row per
  (id, week) for the last ``weeks`` local weeks, for ``charts_coaching.ratio_trend_chart``.
- ``ratio_rows(frame, *, fmt)``: rows for ``commands.common.write_rows`` with ``RATIO_COLUMNS``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Sequence

import pandas as pd
from sqlmodel import Session

from db import coaching_store as store
from db.models import Team, utcnow
from db.queries import Scope, resolve_scope
from leaderboard.auth import Viewer, require_viewer
from leaderboard.board import period_for
from leaderboard.periods import Period, local_date, local_midnight_utc, week_key, zone
from leaderboard.ratio_rules import (  # the pure rules live there; re-exported for today's callers
    BELOW_TARGET,
    NO_CRITICISM,
    NO_NOTES,
    ON_TARGET,
    STATUSES,
    add_ratio_columns,
    counts_by,
    ratio_label,
    ratio_status,
    ratio_value,
    target_label,
)
from leaderboard.settings import Settings, get_settings

RATIO_COLUMNS = ("name", "praise", "criticism", "ratio", "target", "status")
BY_CHOICES = ("agent", "leader", "team")
TABLE_COLUMNS = ("id", "name", "team", "praise", "criticism", "ratio", "ratio_label", "target", "status")
WEEKLY_COLUMNS = (
    "id",
    "name",
    "week",
    "week_start",
    "praise",
    "criticism",
    "ratio",
    "ratio_label",
    "target",
    "status",
)


# --- tables from the database ----------------------------------------------------------


def _team_labels(teams: pd.DataFrame) -> dict[int, str]:
    """Team name, or SITE/TEAM when the name is used at several sites."""
    if teams.empty:
        return {}
    repeated = teams["team"].duplicated(keep=False)
    return {
        int(t): (f"{site}/{name}" if rep else name)
        for t, name, site, rep in zip(teams["team_id"], teams["team"], teams["site"], repeated)
    }


def ratio_table(
    *,
    session: Session,
    by: str = "agent",
    period: str | Period = "week",
    site: str | None = None,
    team: str | None = None,
    scope: Scope | None = None,
    tz: str | None = None,
    now: datetime | None = None,
    viewer: Viewer,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Praise and criticism in the period per agent (received), leader (given) or team (received).

    Every active agent of the scope is listed (with "no notes yet" when so);
    leaders are the scope's team leaders plus anyone who wrote a note to one
    of its agents. Raises ``queries.ScopeError`` / ``periods.PeriodError`` for
    unknown names and ``ValueError`` for an unknown ``by``.
    """
    require_viewer(viewer)
    if by not in BY_CHOICES:
        raise ValueError(f"unknown grouping {by!r} (use {', '.join(BY_CHOICES)})")
    settings = settings or get_settings()
    target = settings.ratio_target
    scope = scope or resolve_scope(session=session, site=site, team=team)
    period = period_for(scope=scope, spec=period, tz=tz, now=now)
    start, end = period.utc_bounds()
    team_ids = [scope.team_id] if scope.team_id is not None else None
    agents = store.agent_frame(session=session, team_ids=team_ids, site_id=scope.site_id, viewer=viewer)
    notes = store.note_rows(
        session=session, start=start, end=end, team_ids=team_ids, site_id=scope.site_id, viewer=viewer
    )
    teams = agents.drop_duplicates("team_id")[["team_id", "team", "site", "leader_id"]]
    labels = _team_labels(teams)

    if by == "agent":
        counts = counts_by(notes, "agent_id")
        frame = agents.merge(counts, on="agent_id", how="left")
        frame[["praise", "criticism"]] = frame[["praise", "criticism"]].fillna(0)
        frame = frame[frame["active"] | (frame["praise"] + frame["criticism"] > 0)]
        frame = frame.assign(id=frame["agent_id"], name=frame["agent"], team=frame["team_id"].map(labels))
    elif by == "team":
        notes_team = notes.merge(agents[["agent_id", "team_id"]], on="agent_id", how="inner")
        counts = counts_by(notes_team, "team_id")
        frame = teams.merge(counts, on="team_id", how="left")
        frame = frame.assign(id=frame["team_id"], name=frame["team_id"].map(labels), team="")
    else:
        counts = counts_by(notes.dropna(subset=["author_id"]).astype({"author_id": "int64"}), "author_id")
        leader_ids = {int(x) for x in teams["leader_id"].dropna()}
        ids = sorted(leader_ids | {int(x) for x in counts["author_id"]})
        frame = pd.DataFrame({"author_id": pd.Series(ids, dtype="int64")}).merge(counts, on="author_id", how="left")
        names = store.user_names(session=session, user_ids=ids)
        frame = frame.assign(
            id=frame["author_id"],
            name=[names.get(int(i), ("?", "?"))[1] for i in frame["author_id"]],
            team="",
        )
    frame = add_ratio_columns(frame, target=target)
    frame = frame.assign(_key=frame["name"].astype(str).str.casefold()).sort_values(["_key", "id"])
    return frame[list(TABLE_COLUMNS)].reset_index(drop=True)


def ratio_rows(frame: pd.DataFrame, *, fmt: str = "csv") -> list[dict]:
    """Rows with exactly ``RATIO_COLUMNS``: ratio a number (CSV/JSON) or ``5.2 : 1`` (table); empty without criticism."""
    rows = []
    for rec in frame.to_dict("records"):
        ratio = rec["ratio"]
        ratio = None if ratio is None or ratio is pd.NA or pd.isna(ratio) else float(ratio)
        rows.append(
            {
                "name": rec["name"],
                "praise": int(rec["praise"]),
                "criticism": int(rec["criticism"]),
                "ratio": rec["ratio_label"] if fmt == "table" else ratio,
                "target": target_label(rec["target"]) if fmt == "table" else float(rec["target"]),
                "status": rec["status"],
            }
        )
    return rows


def received_this_week(
    *, session: Session, agent_ids: Sequence[int] | None, team_ids: Sequence[int] | None, now: datetime,
    tz_by_agent: dict[int, str], viewer: Viewer,
) -> pd.DataFrame:
    """agent_id, praise, criticism: notes each agent received in their site's current local week (up to now)."""
    require_viewer(viewer)
    # The earliest local Monday any zone can have is at most 8 days back.
    notes = store.note_rows(
        session=session,
        start=now - timedelta(days=8),
        end=now,
        end_inclusive=True,
        team_ids=team_ids,
        agent_ids=agent_ids,
        viewer=viewer,
    )
    if notes.empty:
        return pd.DataFrame(columns=["agent_id", "praise", "criticism"])
    starts = {a: week_start_utc(now, tz) for a, tz in tz_by_agent.items()}
    week_start = notes["agent_id"].map(lambda a: starts.get(int(a)))
    notes = notes[week_start.notna() & (notes["created_at"] >= week_start.fillna(now))]
    return counts_by(notes, "agent_id")


def week_start_utc(now: datetime, tz: str | None) -> datetime:
    """The naive UTC instant at which the local week (Monday 00:00) containing ``now`` began."""
    tzinfo = zone(tz)
    today = local_date(now, tzinfo)
    return local_midnight_utc(today - timedelta(days=today.weekday()), tzinfo)


def weekly_ratios(
    *,
    session: Session,
    by: str = "agent",
    weeks: int = 8,
    now: datetime | None = None,
    tz: str | None = None,
    team_id: int | None = None,
    ids: Sequence[int] | None = None,
    viewer: Viewer,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Weekly praise, criticism and ratio for the last ``weeks`` local weeks (the current one last).

    One row per (id, week), weeks without notes included (ratio empty), so a
    trend line shows gaps rather than inventing values. Weeks are counted in
    the team's site time zone when ``team_id`` is given, else in ``tz`` (UTC).
    ``ids`` limits the agents / leaders / teams shown.
    """
    require_viewer(viewer)
    if by not in BY_CHOICES:
        raise ValueError(f"unknown grouping {by!r} (use {', '.join(BY_CHOICES)})")
    settings = settings or get_settings()
    now = now or utcnow()
    weeks = max(1, int(weeks))
    team_ids = [team_id] if team_id is not None else None
    if team_id is not None and tz is None:
        team_row = session.get(Team, team_id)
        if team_row is not None and team_row.site is not None:
            tz = team_row.site.timezone
    tzinfo = zone(tz)
    today = local_date(now, tzinfo)
    monday = today - timedelta(days=today.weekday())
    mondays = [monday - timedelta(weeks=k) for k in range(weeks - 1, -1, -1)]
    start = local_midnight_utc(mondays[0], tzinfo)
    end = local_midnight_utc(monday + timedelta(days=7), tzinfo)

    agents = store.agent_frame(session=session, team_ids=team_ids, viewer=viewer)
    notes = store.note_rows(session=session, start=start, end=end, team_ids=team_ids, viewer=viewer)
    if not notes.empty:
        local = pd.to_datetime(notes["created_at"]).dt.tz_localize("UTC").dt.tz_convert(tzinfo.key)
        day = local.dt.normalize().dt.tz_localize(None)
        notes = notes.assign(week_start=(day - pd.to_timedelta(day.dt.day_of_week, unit="D")).dt.date)
    else:
        notes = notes.assign(week_start=pd.Series(dtype="object"))

    labels = _team_labels(agents.drop_duplicates("team_id")[["team_id", "team", "site"]])
    if by == "agent":
        key = "agent_id"
        names = dict(zip(agents["agent_id"].astype(int), agents["agent"]))
        default_ids = agents.loc[agents["active"], "agent_id"].astype(int).tolist()
    elif by == "team":
        key = "team_id"
        notes = notes.merge(agents[["agent_id", "team_id"]], on="agent_id", how="inner")
        names = labels
        default_ids = sorted(labels)
    else:
        key = "author_id"
        notes = notes.dropna(subset=["author_id"]).astype({"author_id": "int64"})
        leader_ids = {int(x) for x in agents["leader_id"].dropna()}
        default_ids = sorted(leader_ids | {int(x) for x in notes["author_id"]})
        names = {uid: display for uid, (_, display) in store.user_names(session=session, user_ids=default_ids).items()}
    chosen = [int(i) for i in (ids if ids is not None else default_ids)]
    grid = pd.DataFrame(
        [(i, names.get(i, "?"), week_key(m), m) for i in chosen for m in mondays],
        columns=["id", "name", "week", "week_start"],
    )
    if notes.empty:
        counts = pd.DataFrame(columns=["id", "week_start", "praise", "criticism"])
    else:
        table = pd.crosstab([notes[key], notes["week_start"]], notes["kind"])
        for kind in ("praise", "criticism"):
            if kind not in table:
                table[kind] = 0
        counts = table[["praise", "criticism"]].reset_index().rename(columns={key: "id"})
        counts["id"] = counts["id"].astype("int64")
    grid = grid.merge(counts, on=["id", "week_start"], how="left")
    grid = add_ratio_columns(grid, target=settings.ratio_target)
    return grid[list(WEEKLY_COLUMNS)].sort_values(["name", "id", "week_start"]).reset_index(drop=True)


__all__ = [
    "BELOW_TARGET",
    "BY_CHOICES",
    "NO_CRITICISM",
    "NO_NOTES",
    "ON_TARGET",
    "RATIO_COLUMNS",
    "add_ratio_columns",
    "ratio_label",
    "ratio_rows",
    "ratio_status",
    "ratio_table",
    "ratio_value",
    "received_this_week",
    "target_label",
    "week_start_utc",
    "weekly_ratios",
]
