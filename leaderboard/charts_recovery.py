"""Chart builders for the service-recovery screen: report rows in, ``alt.Chart`` out, no Streamlit.

Inputs are the rows of ``leaderboard.recovery.report_rows`` (one dict per team or
ISO week, then an "All" row) and the frame of ``db.recovery_store.root_causes``.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from leaderboard.charts import LABEL_COLOUR

ORIGINAL_COLOUR = "#E5484D"  # the unhappy rating (the 1★ colour of the star charts)
FOLLOWUP_COLOUR = "#3DD68C"  # the rating after a recovery call
IN_TIME_COLOUR = "#F5B700"  # the theme's gold
GRID_COLOUR = "#2A3448"
MUTED = "#8A96AA"

CAUSE_LABELS = {
    "agent": "Agent (counts)",
    "product": "Product",
    "policy": "Policy",
    "system": "System",
    "other": "Other",
}
CAUSE_COLOURS = {
    "agent": "#F76B15",
    "product": "#7C8CF8",
    "policy": "#B58CF5",
    "system": "#3FB8AF",
    "other": MUTED,
}


def _rows(rows, key: str) -> pd.DataFrame:
    """The group rows of a report (the "All" row left out), as a frame."""
    frame = pd.DataFrame(list(rows))
    if frame.empty or key not in frame:
        return pd.DataFrame(columns=[key])
    return frame[frame[key] != "All"].reset_index(drop=True)


def _week_label(week: str) -> str:
    # "2026-W47" -> "W47": the year is in the tooltip, the axis stays short.
    return week.split("-", 1)[-1] if "-W" in week else week


def _finish(chart, *, height: int) -> alt.Chart:
    return chart.properties(height=height).configure_view(stroke=None).configure_axis(
        labelColor=LABEL_COLOUR, titleColor=LABEL_COLOUR, gridColor=GRID_COLOUR, domainColor=GRID_COLOUR
    ).configure_legend(labelColor=LABEL_COLOUR, titleColor=LABEL_COLOUR, orient="top", title=None)


def weekly_stars_chart(week_rows, *, height: int = 260) -> alt.Chart:
    """Original vs follow-up average stars per ISO week: two lines, the gap between them shaded.

    Weeks without a follow-up have no points (there is nothing to compare yet).
    """
    frame = _rows(week_rows, "week")
    if frame.empty or "followups" not in frame:
        frame = pd.DataFrame(columns=["week", "original_avg", "followup_avg", "followups", "opened"])
    frame = frame[frame["followups"].fillna(0) > 0] if len(frame) else frame
    frame = frame.assign(label=[_week_label(str(w)) for w in frame["week"]])
    order = list(frame["label"])
    x = alt.X("label:O", sort=order, title=None, axis=alt.Axis(labelAngle=0))
    stars = alt.Scale(domain=[1, 5])
    long = frame.melt(
        id_vars=["week", "label", "followups", "opened"],
        value_vars=["original_avg", "followup_avg"],
        var_name="which",
        value_name="stars",
    )
    long["which"] = long["which"].map({"original_avg": "Original rating", "followup_avg": "Follow-up rating"})
    colour = alt.Color(
        "which:N",
        scale=alt.Scale(domain=["Original rating", "Follow-up rating"], range=[ORIGINAL_COLOUR, FOLLOWUP_COLOUR]),
    )
    tooltip = [
        alt.Tooltip("week:N", title="Week"),
        alt.Tooltip("which:N", title="Rating"),
        alt.Tooltip("stars:Q", title="Average ★", format=".2f"),
        alt.Tooltip("followups:Q", title="Follow-ups"),
        alt.Tooltip("opened:Q", title="Cases opened"),
    ]
    gap = (
        alt.Chart(frame)
        .mark_area(opacity=0.14, color=FOLLOWUP_COLOUR)
        .encode(x=x, y=alt.Y("original_avg:Q", scale=stars, title="Average ★"), y2="followup_avg:Q")
    )
    lines = (
        alt.Chart(long)
        .mark_line(point=alt.OverlayMarkDef(size=60, filled=True), strokeWidth=3)
        .encode(x=x, y=alt.Y("stars:Q", scale=stars, title="Average ★"), color=colour, tooltip=tooltip)
    )
    return _finish(alt.layer(gap, lines), height=height)


def weekly_in_time_chart(week_rows, *, height: int = 220) -> alt.Chart:
    """Share of cases contacted within their due time, per ISO week (gold bars, labelled)."""
    frame = _rows(week_rows, "week")
    if frame.empty or "contacted_in_time_pct" not in frame:
        frame = pd.DataFrame(columns=["week", "contacted_in_time_pct", "opened", "median_minutes_to_contact"])
    frame = frame.assign(
        label=[_week_label(str(w)) for w in frame["week"]],
        text=[f"{v:.0f}%" if pd.notna(v) else "" for v in frame["contacted_in_time_pct"]],
    )
    order = list(frame["label"])
    x = alt.X("label:O", sort=order, title=None, axis=alt.Axis(labelAngle=0))
    y = alt.Y("contacted_in_time_pct:Q", title="Contacted in time", scale=alt.Scale(domain=[0, 100]),
              axis=alt.Axis(format=".0f", labelExpr="datum.value + '%'"))
    base = alt.Chart(frame)
    bars = base.mark_bar(color=IN_TIME_COLOUR, cornerRadiusTopLeft=3, cornerRadiusTopRight=3, opacity=0.9).encode(
        x=x,
        y=y,
        tooltip=[
            alt.Tooltip("week:N", title="Week"),
            alt.Tooltip("contacted_in_time_pct:Q", title="Contacted in time %", format=".1f"),
            alt.Tooltip("opened:Q", title="Cases opened"),
            alt.Tooltip("median_minutes_to_contact:Q", title="Median minutes to contact", format=".0f"),
        ],
    )
    labels = base.mark_text(dy=-8, fontSize=12, color=LABEL_COLOUR).encode(x=x, y=y, text="text:N")
    return _finish(bars + labels, height=height)


def in_time_by_team_chart(team_rows, *, overall: float | None = None, height: int | None = None) -> alt.Chart:
    """Contacted-in-time share per team (horizontal gold bars, best on top), the overall share as a dashed rule."""
    frame = _rows(team_rows, "team")
    if frame.empty or "contacted_in_time_pct" not in frame:
        frame = pd.DataFrame(columns=["team", "contacted_in_time_pct", "opened"])
    frame = frame.assign(text=[f"{v:.0f}%" if pd.notna(v) else "–" for v in frame["contacted_in_time_pct"]])
    order = list(frame.sort_values("contacted_in_time_pct", ascending=False, na_position="last")["team"])
    y = alt.Y("team:N", sort=order, title=None, axis=alt.Axis(labelFontSize=13, ticks=False, domain=False))
    x = alt.X("contacted_in_time_pct:Q", title=None, scale=alt.Scale(domain=[0, 112]), axis=None)
    base = alt.Chart(frame)
    bars = base.mark_bar(color=IN_TIME_COLOUR, cornerRadiusEnd=4, height={"band": 0.7}).encode(
        x=x,
        y=y,
        tooltip=[
            alt.Tooltip("team:N", title="Team"),
            alt.Tooltip("contacted_in_time_pct:Q", title="Contacted in time %", format=".1f"),
            alt.Tooltip("opened:Q", title="Cases opened"),
        ],
    )
    labels = base.mark_text(align="left", dx=6, fontSize=13, color=LABEL_COLOUR).encode(x=x, y=y, text="text:N")
    layers = [bars, labels]
    if overall is not None and overall == overall:
        layers.append(
            alt.Chart(pd.DataFrame({"x": [overall]}))
            .mark_rule(strokeDash=[4, 4], color=MUTED)
            .encode(x=alt.X("x:Q", scale=alt.Scale(domain=[0, 112])))
        )
    return _finish(alt.layer(*layers), height=height or max(90, 34 * len(frame) + 20))


def uplift_by_team_chart(team_rows, *, height: int | None = None) -> alt.Chart:
    """A dumbbell per team: original average ★ (red) → follow-up average ★ (green), the uplift labelled."""
    frame = _rows(team_rows, "team")
    if frame.empty or "followups" not in frame:
        frame = pd.DataFrame(columns=["team", "original_avg", "followup_avg", "uplift", "followups"])
    frame = frame[frame["followups"].fillna(0) > 0] if len(frame) else frame
    frame = frame.assign(text=[f"+{u:.1f}★" if u >= 0 else f"{u:.1f}★" for u in frame["uplift"].astype(float)])
    order = list(frame.sort_values("uplift", ascending=False)["team"])
    y = alt.Y("team:N", sort=order, title=None, axis=alt.Axis(labelFontSize=13, ticks=False, domain=False))
    stars = alt.Scale(domain=[1, 5.6])
    tooltip = [
        alt.Tooltip("team:N", title="Team"),
        alt.Tooltip("original_avg:Q", title="Original ★", format=".2f"),
        alt.Tooltip("followup_avg:Q", title="Follow-up ★", format=".2f"),
        alt.Tooltip("uplift:Q", title="Uplift ★", format="+.2f"),
        alt.Tooltip("followups:Q", title="Follow-ups"),
    ]
    base = alt.Chart(frame)
    bar = base.mark_rule(strokeWidth=5, color=GRID_COLOUR).encode(
        x=alt.X("original_avg:Q", scale=stars, title="Average ★", axis=alt.Axis(values=[1, 2, 3, 4, 5], format="d")),
        x2="followup_avg:Q",
        y=y,
    )
    before = base.mark_circle(size=170, color=ORIGINAL_COLOUR, opacity=1).encode(
        x=alt.X("original_avg:Q", scale=stars), y=y, tooltip=tooltip
    )
    after = base.mark_circle(size=190, color=FOLLOWUP_COLOUR, opacity=1).encode(
        x=alt.X("followup_avg:Q", scale=stars), y=y, tooltip=tooltip
    )
    labels = base.mark_text(align="left", dx=12, fontSize=13, fontWeight="bold", color=FOLLOWUP_COLOUR).encode(
        x=alt.X("followup_avg:Q", scale=stars), y=y, text="text:N"
    )
    return _finish(alt.layer(bar, before, after, labels), height=height or max(90, 34 * len(frame) + 30))


def root_causes_chart(causes: pd.DataFrame, *, top: int = 8, height: int | None = None) -> alt.Chart:
    """Low ratings per contact reason (the ``top`` reasons, most first), stacked by cause.

    ``causes`` has the columns contact_reason, cause (agent when not excluded), ratings.
    """
    frame = causes[["contact_reason", "cause", "ratings"]].copy() if len(causes) else pd.DataFrame(
        columns=["contact_reason", "cause", "ratings"]
    )
    totals = frame.groupby("contact_reason")["ratings"].sum().sort_values(ascending=False, kind="mergesort")
    keep = list(totals.index[:top])
    frame = frame[frame["contact_reason"].isin(keep)].copy()
    frame["cause_label"] = frame["cause"].map(lambda c: CAUSE_LABELS.get(c, str(c)))
    frame["total"] = frame["contact_reason"].map(totals)
    domain = [CAUSE_LABELS[c] for c in CAUSE_LABELS]
    # Head-room on the right for the total labels.
    x_scale = alt.Scale(domain=[0, max(1.0, float(totals.max()) * 1.12 if len(totals) else 1.0)], nice=False)
    y = alt.Y("contact_reason:N", sort=keep, title=None, axis=alt.Axis(labelFontSize=13, ticks=False, domain=False))
    bars = (
        alt.Chart(frame)
        .mark_bar(height={"band": 0.7})
        .encode(
            x=alt.X("sum(ratings):Q", title="Low ratings", stack="zero", scale=x_scale),
            y=y,
            color=alt.Color(
                "cause_label:N",
                scale=alt.Scale(domain=domain, range=[CAUSE_COLOURS[c] for c in CAUSE_LABELS]),
                legend=alt.Legend(title=None, orient="top"),
            ),
            order=alt.Order("cause:N"),
            tooltip=[
                alt.Tooltip("contact_reason:N", title="Contact reason"),
                alt.Tooltip("cause_label:N", title="Cause"),
                alt.Tooltip("ratings:Q", title="Low ratings"),
                alt.Tooltip("total:Q", title="All causes"),
            ],
        )
    )
    totals_frame = pd.DataFrame({"contact_reason": keep, "total": [int(totals[k]) for k in keep]})
    labels = (
        alt.Chart(totals_frame)
        .mark_text(align="left", dx=6, fontSize=13, color=LABEL_COLOUR)
        .encode(x=alt.X("total:Q", scale=x_scale), y=alt.Y("contact_reason:N", sort=keep), text="total:Q")
    )
    return _finish(alt.layer(bars, labels), height=height or max(110, 36 * len(keep) + 40))


__all__ = [
    "in_time_by_team_chart",
    "root_causes_chart",
    "uplift_by_team_chart",
    "weekly_in_time_chart",
    "weekly_stars_chart",
]
