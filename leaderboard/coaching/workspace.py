"""Small helpers for the team leader workspace: note history, the ratio given, trends, feedback filters."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable

import pandas as pd
from sqlmodel import Session

from db import coaching_store as store
from db.coaching_queries import NOTE_HISTORY_ROW, note_history_rows, team_scope
from db.models import utcnow
from leaderboard import ratios
from leaderboard.periods import local_date, local_midnight_utc, zone
from leaderboard.settings import Settings, get_settings


NOTE_HISTORY_COLUMNS = (
    "note_id", "created_at", "agent_id", "agent", "kind", "visibility", "author", "text", "interaction_id",
)


TAG_COLUMNS = ("tag", "went_well", "to_improve")


STARS_TREND_COLUMNS = ("start", "who", "avg_stars", "ratings")


TEAM_AVERAGE = "Team average"


GRAINS = ("day", "week")


def notes_history(
    *,
    session: Session,
    viewer,
    team_id: int | None = None,
    agent_id: int | None = None,
    author_id: int | None = None,
    since: datetime | None = None,
    limit: int = 50,
) -> pd.DataFrame:
    """Coaching notes with their text, newest first: ``NOTE_HISTORY_COLUMNS``.

    Only notes to agents ``viewer`` may see (``viewer=None`` sees nothing);
    visibility is "public" or "1:1"; times are naive UTC.
    """
    empty = pd.DataFrame(columns=list(NOTE_HISTORY_COLUMNS))
    if viewer is None:
        return empty
    rows = note_history_rows(
        session=session, viewer=viewer, team_id=team_id, agent_id=agent_id, author_id=author_id, since=since, limit=limit
    )
    if not rows:
        return empty
    raw = pd.DataFrame(rows, columns=list(NOTE_HISTORY_ROW))
    return pd.DataFrame(
        {
            "note_id": raw["note_id"].astype("int64"),
            "created_at": pd.to_datetime(raw["created_at"]),
            "agent_id": raw["agent_id"].astype("int64"),
            "agent": raw["agent"].astype(str),
            "kind": raw["kind"].astype(str),
            "visibility": raw["visibility"].map({"private": "1:1"}).fillna(raw["visibility"]).astype(str),
            "author": [d or u or "—" for d, u in zip(raw["display"], raw["username"])],
            "text": raw["text"].fillna("").astype(str),
            "interaction_id": raw["iid"].fillna("").astype(str),
        }
    )


def given_ratio(
    *,
    session: Session,
    viewer,
    team_id: int,
    author_id: int | None,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> dict:
    """The praise-to-criticism ratio ``author_id`` gave the team's agents this (local) week.

    {"praise", "criticism", "ratio", "label", "status", "target"} (label "" without criticism:
    never an infinity). Zero notes for an unknown team, author or a viewer who may not see it.
    """
    settings = settings or get_settings()
    out = {
        "praise": 0,
        "criticism": 0,
        "ratio": None,
        "label": "",
        "status": ratios.NO_NOTES,
        "target": ratios.target_label(settings.ratio_target),
    }
    scope = team_scope(session=session, team_id=team_id)
    if scope is None or viewer is None or author_id is None:
        return out
    table = ratios.ratio_table(
        session=session, by="leader", scope=scope, period="week", now=now or utcnow(), viewer=viewer, settings=settings
    )
    row = table[table["id"] == int(author_id)]
    if row.empty:
        return out
    p, c = int(row.iloc[0]["praise"]), int(row.iloc[0]["criticism"])
    out.update(
        praise=p,
        criticism=c,
        ratio=ratios.ratio_value(p, c),
        label=ratios.ratio_label(p, c),
        status=ratios.ratio_status(p, c, settings.ratio_target),
    )
    return out


def filter_feedback(frame: pd.DataFrame, *, stars: Iterable[int] | None = None, tag: str | None = None) -> pd.DataFrame:
    """``db.queries.feedback`` rows with one of ``stars`` (None or empty: any) naming ``tag`` (either kind)."""
    out = frame
    wanted = {int(s) for s in stars} if stars else set()
    if wanted and len(out):
        out = out[out["stars"].astype(int).isin(wanted)]
    if tag and len(out):
        key = tag.strip().lower()
        named = [
            key in {str(t).strip().lower() for t in (list(w) + list(i))}
            for w, i in zip(out["went_well"], out["to_improve"])
        ]
        out = out[pd.Series(named, index=out.index, dtype=bool)]
    return out.reset_index(drop=True)


def tag_breakdown(frame: pd.DataFrame) -> pd.DataFrame:
    """How often each tag was named in ``feedback`` rows: ``TAG_COLUMNS``, most named first."""
    counts: dict[str, list[int]] = {}
    if len(frame):
        for kind, index in (("went_well", 0), ("to_improve", 1)):
            for tags in frame[kind]:
                for tag in {str(t).strip().lower() for t in (tags or ()) if str(t).strip()}:
                    counts.setdefault(tag, [0, 0])[index] += 1
    if not counts:
        return pd.DataFrame({"tag": pd.Series(dtype=str), "went_well": pd.Series(dtype="int64"),
                             "to_improve": pd.Series(dtype="int64")})
    table = pd.DataFrame(
        [(tag, w, i) for tag, (w, i) in counts.items()], columns=list(TAG_COLUMNS)
    ).astype({"went_well": "int64", "to_improve": "int64"})
    table = table.assign(_total=table["went_well"] + table["to_improve"])
    table = table.sort_values(["_total", "to_improve", "tag"], ascending=[False, False, True])
    return table[list(TAG_COLUMNS)].reset_index(drop=True)


def stars_trend(
    *,
    session: Session,
    viewer,
    agent_id: int,
    grain: str = "day",
    periods: int = 14,
    now: datetime | None = None,
) -> pd.DataFrame:
    """The agent's average stars per local day (or week) against their team's: ``STARS_TREND_COLUMNS``.

    The last ``periods`` days (weeks: Monday to Sunday, the current one last) in
    the site's time zone; ``who`` is the agent's name or ``TEAM_AVERAGE`` (every
    rating of the team, the agent's included). Days without ratings have no row.
    Empty when the viewer may not see the agent.
    """
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {', '.join(GRAINS)}, not {grain!r}")
    empty = pd.DataFrame(
        {"start": pd.Series(dtype="datetime64[ns]"), "who": pd.Series(dtype=str),
         "avg_stars": pd.Series(dtype="float64"), "ratings": pd.Series(dtype="int64")}
    )
    if viewer is None:
        return empty
    mine = store.agent_frame(session=session, agent_ids=[agent_id], viewer=viewer)
    if mine.empty:
        return empty
    me = mine.iloc[0]
    now = now or utcnow()
    tz = zone(me["timezone"])
    today = local_date(now, tz)
    periods = max(1, int(periods))
    if grain == "week":
        first = today - timedelta(days=today.weekday()) - timedelta(weeks=periods - 1)
    else:
        first = today - timedelta(days=periods - 1)
    rows = store.window_ratings(
        session=session, start=local_midnight_utc(first, tz), end=now, team_ids=[int(me["team_id"])], viewer=viewer
    )
    if rows.empty:
        return empty
    local = pd.to_datetime(rows["rated_at"]).dt.tz_localize("UTC").dt.tz_convert(tz.key)
    day = local.dt.normalize().dt.tz_localize(None)
    if grain == "week":
        day = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    rows = rows.assign(start=day, stars=rows["stars"].astype("float64"))

    def averages(frame: pd.DataFrame, who: str) -> pd.DataFrame:
        out = frame.groupby("start", as_index=False)["stars"].agg(avg_stars="mean", ratings="count")
        return out.assign(who=who)

    mine_rows = rows[rows["agent_id"].astype(int) == int(agent_id)]
    frame = pd.concat([averages(mine_rows, str(me["agent"])), averages(rows, TEAM_AVERAGE)], ignore_index=True)
    frame["start"] = pd.to_datetime(frame["start"]).astype("datetime64[ns]")
    frame["ratings"] = frame["ratings"].astype("int64")
    return frame[list(STARS_TREND_COLUMNS)].sort_values(["who", "start"]).reset_index(drop=True)
