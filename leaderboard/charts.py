"""Chart builders and trend windows for the screens: data in, ``alt.Chart`` out, no Streamlit.

Pages only call ``st.altair_chart(builder(...))``, so every chart can be built
and checked in a plain test.
"""

from __future__ import annotations

from datetime import date, timedelta

import altair as alt
import pandas as pd

from leaderboard.periods import Period

# One colour per star value, red through amber to green; 5★ uses the theme's gold.
STAR_COLOURS = {1: "#E5484D", 2: "#F76B15", 3: "#FFC53D", 4: "#8BC34A", 5: "#F5B700"}
STAR_LABELS = {s: f"{s} ★" for s in range(1, 6)}

# Text on charts: readable on the dark theme and on a light one.
LABEL_COLOUR = "#C3CAD6"

# Sparklines show at most this many days (the last ones of the period) and at least this many.
TREND_MAX_DAYS = 14
TREND_MIN_DAYS = 7


def trend_days(
    period: Period, today: date, *, max_days: int = TREND_MAX_DAYS, min_days: int = TREND_MIN_DAYS
) -> list[date]:
    """The local days a sparkline covers: the period's last ``max_days`` days up to today.

    Days after today are never shown (a week in progress has no Sunday yet); all
    time shows the last ``max_days`` days; a period shorter than ``min_days``
    (today) reaches back ``min_days`` so a line has a shape.
    """
    last = today if period.end is None else min(period.end - timedelta(days=1), today)
    first = last - timedelta(days=max_days - 1)
    if period.start is not None:
        first = max(first, period.start)
    if (last - first).days + 1 < min_days:
        first = last - timedelta(days=min_days - 1)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def star_distribution_chart(distribution: pd.DataFrame, *, height: int = 230) -> alt.Chart:
    """Horizontal bars of how many ratings got each star value, 5★ on top, with counts and shares.

    ``distribution`` has the columns ``stars`` (1–5) and ``ratings``
    (``leaderboard.board.star_distribution``).
    """
    frame = distribution[["stars", "ratings"]].copy()
    total = int(frame["ratings"].sum())
    frame["label"] = frame["stars"].map(STAR_LABELS)
    frame["share"] = frame["ratings"] / total if total else 0.0
    frame["text"] = [
        f"{n:,}  ({share:.0%})" if total else "0" for n, share in zip(frame["ratings"], frame["share"])
    ]
    order = [STAR_LABELS[s] for s in range(5, 0, -1)]
    colour = alt.Color(
        "label:N",
        scale=alt.Scale(domain=order, range=[STAR_COLOURS[s] for s in range(5, 0, -1)]),
        legend=None,
    )
    y = alt.Y("label:N", sort=order, title=None, axis=alt.Axis(labelFontSize=14, ticks=False, domain=False))
    x_max = max(1, int(frame["ratings"].max() if len(frame) else 1))
    base = alt.Chart(frame)
    bars = base.mark_bar(cornerRadiusEnd=4, height={"band": 0.72}).encode(
        x=alt.X(
            "ratings:Q",
            title=None,
            axis=None,
            # Head-room on the right for the count labels.
            scale=alt.Scale(domain=[0, x_max * 1.3]),
        ),
        y=y,
        color=colour,
        tooltip=[
            alt.Tooltip("label:N", title="Stars"),
            alt.Tooltip("ratings:Q", title="Ratings", format=","),
            alt.Tooltip("share:Q", title="Share", format=".1%"),
        ],
    )
    labels = base.mark_text(align="left", dx=6, fontSize=13, color=LABEL_COLOUR).encode(
        x="ratings:Q", y=y, text="text:N"
    )
    return (bars + labels).properties(height=height).configure_view(stroke=None)


def day_axis(frame: pd.DataFrame) -> alt.X:
    """The x encoding of a chart with one row per day, in the frame's order.

    Adds to ``frame`` (in place) ``label`` ("Mon 03", on the axis) and ``when``
    ("Mon 03 Dec", for tooltips), both from its ``day`` column (dates).
    """
    frame["label"] = [d.strftime("%a %d") for d in frame["day"]]
    frame["when"] = [d.strftime("%a %d %b") for d in frame["day"]]
    order = list(frame["label"])
    return alt.X("label:O", sort=order, title=None, axis=alt.Axis(labelAngle=0, labelColor=LABEL_COLOUR))


def daily_average_chart(days: pd.DataFrame, *, prior: float | None = None, height: int = 230) -> alt.Chart:
    """Average stars per day (gold line, right axis) over the number of ratings per day (grey bars).

    ``days`` has the columns ``day`` (a date), ``avg_stars`` and ``ratings``;
    ``prior`` (C, the period's average) is drawn as a dashed rule for reference.
    """
    frame = days[["day", "avg_stars", "ratings"]].copy()
    x = day_axis(frame)
    tooltip = [
        alt.Tooltip("when:N", title="Day"),
        alt.Tooltip("avg_stars:Q", title="Average ★", format=".2f"),
        alt.Tooltip("ratings:Q", title="Ratings"),
    ]
    bars = (
        alt.Chart(frame)
        .mark_bar(opacity=0.45, color="#5B6B86", cornerRadiusTopLeft=3, cornerRadiusTopRight=3)
        .encode(
            x=x,
            y=alt.Y("ratings:Q", title="Ratings", axis=alt.Axis(grid=False, titleColor=LABEL_COLOUR)),
            tooltip=tooltip,
        )
    )
    stars_scale = alt.Scale(domain=[1, 5])
    line = (
        alt.Chart(frame)
        .mark_line(point=alt.OverlayMarkDef(size=50, filled=True), color="#F5B700", strokeWidth=3)
        .encode(
            x=x,
            y=alt.Y("avg_stars:Q", title="Average ★", scale=stars_scale, axis=alt.Axis(titleColor="#F5B700")),
            tooltip=tooltip,
        )
    )
    layers = [line]
    if prior is not None and prior == prior:  # not NaN
        layers.append(
            alt.Chart(pd.DataFrame({"prior": [prior]}))
            .mark_rule(strokeDash=[4, 4], color="#8A96AA")
            .encode(y=alt.Y("prior:Q", scale=stars_scale))
        )
    return (
        alt.layer(bars, alt.layer(*layers))
        .resolve_scale(y="independent")
        .properties(height=height)
        .configure_view(stroke=None)
    )


__all__ = ["daily_average_chart", "star_distribution_chart", "trend_days"]
