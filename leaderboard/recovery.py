"""Service recovery: every negative rating is a customer to win back.

Pure rules and arithmetic; storage lives in ``db.recovery_store``.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pandas as pd

from leaderboard.periods import zone

STATUSES = ("open", "contacted", "resolved", "no_response")
CLOSED_STATUSES = ("resolved", "no_response")
# Allowed moves: a case can be reopened, never skip back to "open" once contacted except by a leader's undo.
TRANSITIONS = {
    "open": {"contacted", "resolved", "no_response"},
    "contacted": {"resolved", "no_response", "open"},
    "resolved": {"open", "contacted"},
    "no_response": {"open", "contacted", "resolved"},
}


class RecoveryError(ValueError):
    """A recovery action that cannot be done, phrased for the person doing it."""


def opens_case(stars: int, *, threshold: int) -> bool:
    """A rating at or below the threshold opens a case."""
    return stars <= threshold


def due_at(opened_at: datetime, *, due_hours: float) -> datetime:
    return opened_at + timedelta(hours=due_hours)


def is_overdue(*, status: str, due: datetime, now: datetime, contacted_at: datetime | None = None) -> bool:
    """Overdue: nobody has contacted the customer and the due time (UTC) has passed."""
    return status == "open" and contacted_at is None and now > due


def contacted_in_time(*, due: datetime, contacted_at: datetime | None) -> bool:
    return contacted_at is not None and contacted_at <= due


def check_transition(old: str, new: str) -> None:
    if new not in STATUSES:
        raise RecoveryError(f"unknown status {new!r} (statuses: {', '.join(STATUSES)})")
    if new != old and new not in TRANSITIONS[old]:
        raise RecoveryError(f"a case that is {old} cannot become {new}")


def uplift(original: float, followup: float) -> float:
    """Follow-up stars minus the original stars (positive: the recovery worked)."""
    return followup - original


@dataclass(frozen=True)
class RecoverySummary:
    opened: int
    contacted_in_time_pct: float | None  # of cases whose due time has passed or that were contacted
    median_minutes_to_contact: float | None
    resolved_pct: float | None
    followups: int
    original_avg: float | None
    followup_avg: float | None
    uplift: float | None  # mean of (follow-up − original) over cases with a follow-up
    uplift_ratio: float | None  # follow-up average ÷ original average


def summarise(cases: pd.DataFrame, *, now: datetime) -> RecoverySummary:
    """The report's figures over a frame of cases.

    Columns used: stars, opened_at, due_at, contacted_at, status, followup_stars.
    """
    n = len(cases)
    if n == 0:
        return RecoverySummary(0, None, None, None, 0, None, None, None, None)
    contacted = cases["contacted_at"].notna()
    # A case still open before its due time has not had its chance yet: leave it out of the share.
    judged = contacted | (pd.to_datetime(cases["due_at"]) < now)
    in_time = contacted & (pd.to_datetime(cases["contacted_at"]) <= pd.to_datetime(cases["due_at"]))
    minutes = [
        (c - o).total_seconds() / 60
        for o, c in zip(pd.to_datetime(cases["opened_at"]), pd.to_datetime(cases["contacted_at"]))
        if not pd.isna(c)
    ]
    followed = cases[cases["followup_stars"].notna()]
    original_avg = float(followed["stars"].mean()) if len(followed) else None
    followup_avg = float(followed["followup_stars"].mean()) if len(followed) else None
    return RecoverySummary(
        opened=n,
        contacted_in_time_pct=(100.0 * int(in_time[judged].sum()) / int(judged.sum())) if int(judged.sum()) else None,
        median_minutes_to_contact=statistics.median(minutes) if minutes else None,
        resolved_pct=100.0 * int((cases["status"] == "resolved").sum()) / n,
        followups=len(followed),
        original_avg=original_avg,
        followup_avg=followup_avg,
        uplift=(followup_avg - original_avg) if len(followed) else None,
        uplift_ratio=(followup_avg / original_avg) if len(followed) and original_avg else None,
    )


def report_rows(cases: pd.DataFrame, *, now: datetime, by: str = "team") -> list[dict]:
    """One summary row per group (team, or ISO week of opening with by="week"), then "All"."""
    rows = []
    if len(cases):
        keys = cases[by] if by != "week" else pd.to_datetime(cases["opened_at"]).dt.strftime("%G-W%V")
        for key, group in cases.groupby(keys, sort=True):
            rows.append({by: key, **summary_dict(summarise(group, now=now))})
    rows.append({by: "All", **summary_dict(summarise(cases, now=now))})
    return rows


REPORT_COLUMNS = (
    "opened",
    "contacted_in_time_pct",
    "median_minutes_to_contact",
    "resolved_pct",
    "followups",
    "original_avg",
    "followup_avg",
    "uplift",
)


def summary_dict(summary: RecoverySummary) -> dict:
    out = {}
    for key in REPORT_COLUMNS:
        value = getattr(summary, key)
        out[key] = round(value, 2) if isinstance(value, float) else value
    return out


# --- the queue as a person reads it ---------------------------------------------------------------

STATUS_LABELS = {"open": "Open", "contacted": "Contacted", "resolved": "Resolved", "no_response": "No response"}


def duration_text(minutes: float) -> str:
    """35 min, 2 h 10 min (under 6 h), 7 h, 3 d: precise while it matters, short after."""
    minutes = max(0, int(minutes))
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 6:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} d"


def due_text(*, status: str, due: datetime, now: datetime, contacted_at: datetime | None = None) -> str:
    """"due in 35 min", "overdue by 2 h", "contacted in time", "contacted 40 min late", "closed without contact"."""
    if contacted_at is not None:
        if contacted_in_time(due=due, contacted_at=contacted_at):
            return "contacted in time"
        return f"contacted {duration_text((contacted_at - due).total_seconds() / 60)} late"
    if status in CLOSED_STATUSES:
        return "closed without contact"
    seconds = (due - now).total_seconds()
    if seconds >= 0:
        # Rounded up: one minute before the deadline still reads "due in 1 min", never "0 min".
        return f"due in {duration_text(-(-seconds // 60))}"
    return f"overdue by {duration_text(max(1.0, -seconds / 60))}"


def local_time_text(moment_utc: datetime | None, tz: str | None, *, fmt: str = "%a %d %b %H:%M") -> str:
    """A naive UTC instant as the site reads it: "Mon 23 Nov 14:05" ("" when missing)."""
    if moment_utc is None or pd.isna(moment_utc):
        return ""
    local = pd.Timestamp(moment_utc).to_pydatetime().replace(tzinfo=timezone.utc).astimezone(zone(tz))
    return local.strftime(fmt)


TABLE_TIME = "%d %b %H:%M"  # the queue's cells: narrow, the weekday is in the case panel
QUEUE_COLUMNS = (
    "case_id", "interaction_id", "when", "agent", "team", "stars", "comment", "contact_reason",
    "opened", "due", "timezone", "status", "owner", "followup_stars", "overdue", "closed",
)


def queue_frame(cases: pd.DataFrame, *, now: datetime) -> pd.DataFrame:
    """Cases as the queue shows them: local opened/due times, "due in …" / "overdue by …", status labels.

    Keeps the order it is given; ``cases`` has the columns of ``db.recovery_store.cases``.
    """
    if cases.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in QUEUE_COLUMNS})
    contacted = [None if pd.isna(c) else pd.Timestamp(c).to_pydatetime() for c in cases["contacted_at"]]
    dues = [pd.Timestamp(d).to_pydatetime() for d in cases["due_at"]]
    overdue = [
        is_overdue(status=s, due=d, now=now, contacted_at=c) for s, d, c in zip(cases["status"], dues, contacted)
    ]
    return pd.DataFrame(
        {
            "case_id": cases["case_id"].astype("int64"),
            "interaction_id": cases["interaction_id"].astype(str),
            "when": [
                due_text(status=s, due=d, now=now, contacted_at=c) for s, d, c in zip(cases["status"], dues, contacted)
            ],
            "agent": cases["agent"].astype(str),
            "team": cases["team"].astype(str),
            "stars": cases["stars"].astype("int64"),
            "comment": [" ".join(str(c or "").split()) for c in cases["comment"]],
            "contact_reason": cases["contact_reason"].fillna("").astype(str),
            "opened": [local_time_text(o, tz, fmt=TABLE_TIME) for o, tz in zip(cases["opened_at"], cases["timezone"])],
            "due": [local_time_text(d, tz, fmt=TABLE_TIME) for d, tz in zip(cases["due_at"], cases["timezone"])],
            "timezone": cases["timezone"].astype(str),
            "status": [STATUS_LABELS.get(s, s) for s in cases["status"]],
            "owner": cases["owner"].fillna("").astype(str),
            "followup_stars": cases["followup_stars"].astype("Int64"),
            "overdue": pd.Series(overdue, dtype=bool),
            "closed": cases["status"].isin(CLOSED_STATUSES).to_numpy(),
        }
    ).reset_index(drop=True)
