"""Chart builders for coaching: data in, ``alt.Chart`` out, no Streamlit.

The leader workspace page only calls ``st.altair_chart(builder(...))``:

- ``ratio_trend_chart(weekly, *, target)``: weekly praise-to-criticism ratio per leader or
  agent (``leaderboard.ratios.weekly_ratios``) with the target as a dashed rule. Weeks
  without criticism have no ratio: the line breaks there and a hollow point at the top
  of the chart says "no criticism yet" (never an infinity).
- ``ratio_bars_chart(table, *, target)``: this period's ratio per agent, leader or team
  (``leaderboard.ratios.ratio_table``), bars coloured by status, target rule.
- ``notes_weekly_chart(weekly)``: praise and criticism counts per week, stacked (for one
  agent or leader).
- ``stars_trend_chart(trend, *, agent, grain)``: an agent's average stars per day or week
  (gold) against the team average (grey, dashed) (``leaderboard.coaching.stars_trend``).
- ``tag_breakdown_chart(tags)``: how often each tag was named, "went well" to the right and
  "to improve" to the left (``leaderboard.coaching.tag_breakdown``).

Every builder accepts an empty frame and returns an (empty) chart.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from leaderboard import ratios

LABEL_COLOUR = "#C3CAD6"
TARGET_COLOUR = "#8A96AA"
STATUS_COLOURS = {
    ratios.ON_TARGET: "#46A758",
    ratios.BELOW_TARGET: "#E5484D",
    ratios.NO_CRITICISM: "#F5B700",
    ratios.NO_NOTES: "#5B6B86",
}
KIND_COLOURS = {"praise": "#F5B700", "criticism": "#5B6B86"}


def _colour_key(field: str, colours: dict[str, str]) -> alt.Color:
    """Colour ``field`` by ``colours`` ({value: colour}, in legend order); the legend below the chart."""
    return alt.Color(
        field,
        scale=alt.Scale(domain=list(colours), range=list(colours.values())),
        legend=alt.Legend(orient="bottom", title=None, labelColor=LABEL_COLOUR),
    )


def _top(values: pd.Series, target: float) -> float:
    """The y-axis top: above the target and every ratio, with room for the "no criticism" marks."""
    highest = float(values.max()) if values.notna().any() else 0.0
    return max(float(target) * 1.5, highest * 1.15, 1.0)


def _target_rule(target: float, top: float) -> alt.Chart:
    frame = pd.DataFrame({"target": [float(target)], "label": [f"target {ratios.target_label(target)}"]})
    scale = alt.Scale(domain=[0, top])
    rule = alt.Chart(frame).mark_rule(strokeDash=[6, 4], color=TARGET_COLOUR, strokeWidth=2).encode(
        y=alt.Y("target:Q", scale=scale)
    )
    text = alt.Chart(frame).mark_text(align="left", dx=4, dy=-7, color=TARGET_COLOUR, fontSize=11).encode(
        y=alt.Y("target:Q", scale=scale), x=alt.value(0), text="label:N"
    )
    return rule + text


def ratio_trend_chart(weekly: pd.DataFrame, *, target: float, title: str | None = None, height: int = 240) -> alt.LayerChart:
    """Weekly ratio lines, one colour per name, with the target rule.

    ``weekly`` has the columns of ``ratios.WEEKLY_COLUMNS`` (name, week, week_start,
    praise, criticism, ratio, ratio_label, status).
    """
    frame = weekly.copy()
    if frame.empty:
        frame = pd.DataFrame(columns=list(ratios.WEEKLY_COLUMNS))
    frame["ratio"] = pd.to_numeric(frame["ratio"], errors="coerce").astype("float64")
    frame["week_start"] = pd.to_datetime(frame["week_start"])
    top = _top(frame["ratio"], target)
    # Praise without criticism: drawn at the top of the chart, hollow, never as ∞.
    frame["no_criticism_y"] = [top * 0.97 if s == ratios.NO_CRITICISM else None for s in frame["status"]]
    frame["shown"] = [lab or s for lab, s in zip(frame["ratio_label"], frame["status"])]
    scale = alt.Scale(domain=[0, top])
    x = alt.X("week_start:T", title=None, axis=alt.Axis(format="%d %b", labelColor=LABEL_COLOUR, tickCount="week"))
    colour = alt.Color("name:N", title=None, legend=alt.Legend(orient="bottom", labelColor=LABEL_COLOUR))
    tooltip = [
        alt.Tooltip("name:N", title="Who"),
        alt.Tooltip("week:N", title="Week"),
        alt.Tooltip("praise:Q", title="Praise"),
        alt.Tooltip("criticism:Q", title="Criticism"),
        alt.Tooltip("shown:N", title="Ratio"),
        alt.Tooltip("status:N", title="Status"),
    ]
    base = alt.Chart(frame)
    line = base.mark_line(point=alt.OverlayMarkDef(size=45, filled=True), strokeWidth=2.5).encode(
        x=x,
        y=alt.Y("ratio:Q", title="Praise per criticism", scale=scale, axis=alt.Axis(titleColor=LABEL_COLOUR)),
        color=colour,
        tooltip=tooltip,
    )
    hollow = base.mark_point(shape="triangle-up", size=70, filled=False, strokeWidth=2).encode(
        x=x, y=alt.Y("no_criticism_y:Q", scale=scale), color=colour, tooltip=tooltip
    )
    chart = alt.layer(line, hollow, _target_rule(target, top)).properties(height=height)
    if title:
        chart = chart.properties(title=title)
    return chart.configure_view(stroke=None)


def ratio_bars_chart(table: pd.DataFrame, *, target: float, height: int | None = None) -> alt.LayerChart:
    """This period's ratio per name (``ratios.ratio_table``), coloured by status, with the target rule.

    Names without criticism get no bar, only their status as text.
    """
    frame = table.copy()
    if frame.empty:
        frame = pd.DataFrame(columns=list(ratios.TABLE_COLUMNS))
    frame["ratio"] = pd.to_numeric(frame["ratio"], errors="coerce").astype("float64")
    top = _top(frame["ratio"], target)
    frame["bar"] = frame["ratio"].fillna(0.0)
    frame["text"] = [lab or s for lab, s in zip(frame["ratio_label"], frame["status"])]
    order = list(frame["name"])
    y = alt.Y("name:N", sort=order, title=None, axis=alt.Axis(labelColor=LABEL_COLOUR, labelLimit=180))
    colour = _colour_key("status:N", STATUS_COLOURS)
    tooltip = [
        alt.Tooltip("name:N", title="Who"),
        alt.Tooltip("praise:Q", title="Praise"),
        alt.Tooltip("criticism:Q", title="Criticism"),
        alt.Tooltip("text:N", title="Ratio"),
    ]
    scale = alt.Scale(domain=[0, top])
    base = alt.Chart(frame)
    bars = base.mark_bar(cornerRadiusEnd=4, height={"band": 0.7}).encode(
        y=y, x=alt.X("bar:Q", title="Praise per criticism", scale=scale), color=colour, tooltip=tooltip
    )
    labels = base.mark_text(align="left", dx=5, fontSize=12, color=LABEL_COLOUR).encode(
        y=y, x=alt.X("bar:Q", scale=scale), text="text:N"
    )
    rule = alt.Chart(pd.DataFrame({"target": [float(target)]})).mark_rule(
        strokeDash=[6, 4], color=TARGET_COLOUR, strokeWidth=2
    ).encode(x=alt.X("target:Q", scale=scale))
    height = height or max(120, 28 * len(frame))
    return alt.layer(bars, labels, rule).properties(height=height).configure_view(stroke=None)


def notes_weekly_chart(weekly: pd.DataFrame, *, height: int = 200) -> alt.Chart:
    """Praise and criticism notes per week, stacked (``ratios.weekly_ratios`` rows of one name)."""
    frame = weekly.copy()
    if frame.empty:
        frame = pd.DataFrame(columns=list(ratios.WEEKLY_COLUMNS))
    long = frame.melt(
        id_vars=["name", "week", "week_start"], value_vars=["praise", "criticism"], var_name="kind", value_name="notes"
    )
    long["week_start"] = pd.to_datetime(long["week_start"])
    return (
        alt.Chart(long)
        .mark_bar(cornerRadiusTopLeft=2, cornerRadiusTopRight=2)
        .encode(
            x=alt.X("week_start:T", title=None, timeUnit="yearmonthdate", axis=alt.Axis(format="%d %b", labelColor=LABEL_COLOUR)),
            y=alt.Y("sum(notes):Q", title="Notes", axis=alt.Axis(titleColor=LABEL_COLOUR, tickMinStep=1)),
            color=_colour_key("kind:N", KIND_COLOURS),
            tooltip=[
                alt.Tooltip("week:N", title="Week"),
                alt.Tooltip("kind:N", title="Kind"),
                alt.Tooltip("sum(notes):Q", title="Notes"),
            ],
        )
        .properties(height=height)
        .configure_view(stroke=None)
    )


AGENT_COLOUR = "#F5B700"
TEAM_COLOUR = "#8A96AA"
TAG_COLOURS = {"went well": "#46A758", "to improve": "#E5484D"}


def stars_trend_chart(trend: pd.DataFrame, *, agent: str, grain: str = "day", height: int = 230) -> alt.LayerChart:
    """The agent's average stars per day or week (gold) against the team average (grey, dashed).

    ``trend`` has ``start`` (a date), ``who`` (the agent's name or anything else
    for the team), ``avg_stars`` and ``ratings``.
    """
    frame = trend.copy()
    if frame.empty:
        frame = pd.DataFrame({"start": pd.Series(dtype="datetime64[ns]"), "who": pd.Series(dtype=str),
                              "avg_stars": pd.Series(dtype="float64"), "ratings": pd.Series(dtype="int64")})
    frame["start"] = pd.to_datetime(frame["start"])
    frame["series"] = ["agent" if w == agent else "team" for w in frame["who"]]
    others = [w for w in dict.fromkeys(frame["who"]) if w != agent] or ["Team average"]
    names = [agent, others[0]]
    fmt = "%a %d %b" if grain == "day" else "week of %d %b"
    x = alt.X(
        "start:T",
        title=None,
        axis=alt.Axis(format="%d %b", labelColor=LABEL_COLOUR, tickCount="week" if grain == "week" else "day"),
    )
    y = alt.Y("avg_stars:Q", title="Average ★", scale=alt.Scale(domain=[1, 5]),
              axis=alt.Axis(titleColor=LABEL_COLOUR, values=[1, 2, 3, 4, 5]))
    colour = alt.Color(
        "who:N",
        scale=alt.Scale(domain=names, range=[AGENT_COLOUR, TEAM_COLOUR]),
        legend=alt.Legend(orient="bottom", title=None, labelColor=LABEL_COLOUR),
    )
    dash = alt.StrokeDash(
        "series:N", scale=alt.Scale(domain=["agent", "team"], range=[[1, 0], [6, 4]]), legend=None
    )
    tooltip = [
        alt.Tooltip("who:N", title="Who"),
        alt.Tooltip("start:T", title="Day" if grain == "day" else "Week", format=fmt),
        alt.Tooltip("avg_stars:Q", title="Average ★", format=".2f"),
        alt.Tooltip("ratings:Q", title="Ratings"),
    ]
    line = (
        alt.Chart(frame)
        .mark_line(point=alt.OverlayMarkDef(size=45, filled=True), strokeWidth=2.5)
        .encode(x=x, y=y, color=colour, strokeDash=dash, tooltip=tooltip)
    )
    return alt.layer(line).properties(height=height).configure_view(stroke=None)


def tag_breakdown_chart(tags: pd.DataFrame, *, limit: int = 10, height: int | None = None) -> alt.LayerChart:
    """Tags named most often: "went well" bars to the right, "to improve" to the left, with counts.

    ``tags`` has ``tag``, ``went_well`` and ``to_improve`` counts, most named first;
    the first ``limit`` tags are drawn.
    """
    frame = tags.head(limit).copy()
    if frame.empty:
        frame = pd.DataFrame({"tag": pd.Series(dtype=str), "went_well": pd.Series(dtype="int64"),
                              "to_improve": pd.Series(dtype="int64")})
    order = list(frame["tag"])
    long = frame.melt(id_vars=["tag"], value_vars=["went_well", "to_improve"], var_name="kind", value_name="count")
    long["kind"] = long["kind"].map({"went_well": "went well", "to_improve": "to improve"})
    long = long[long["count"] > 0]
    long["signed"] = [c if k == "went well" else -c for k, c in zip(long["kind"], long["count"])]
    highest = int(long["count"].max()) if len(long) else 1
    scale = alt.Scale(domain=[-highest * 1.25 - 0.5, highest * 1.25 + 0.5])
    y = alt.Y(
        "tag:N", sort=order, title=None,
        axis=alt.Axis(labelColor=LABEL_COLOUR, labelLimit=160, ticks=False, domain=False, labelOverlap=False),
    )
    x = alt.X("signed:Q", title=None, scale=scale, axis=None)
    colour = _colour_key("kind:N", TAG_COLOURS)
    tooltip = [alt.Tooltip("tag:N", title="Tag"), alt.Tooltip("kind:N", title="Named as"),
               alt.Tooltip("count:Q", title="Ratings")]
    base = alt.Chart(long)
    bars = base.mark_bar(height={"band": 0.7}, cornerRadius=3).encode(x=x, y=y, color=colour, tooltip=tooltip)
    right = base.transform_filter(alt.datum.signed > 0).mark_text(align="left", dx=4, color=LABEL_COLOUR).encode(
        x=x, y=y, text="count:Q"
    )
    left = base.transform_filter(alt.datum.signed < 0).mark_text(align="right", dx=-4, color=LABEL_COLOUR).encode(
        x=x, y=y, text="count:Q"
    )
    zero = alt.Chart(pd.DataFrame({"zero": [0]})).mark_rule(color=TARGET_COLOUR, opacity=0.6).encode(
        x=alt.X("zero:Q", scale=scale)
    )
    # The height covers the legend too: about 26 px per tag plus the legend's 50.
    height = height or 50 + 26 * max(2, len(order))
    return alt.layer(bars, right, left, zero).properties(height=height).configure_view(stroke=None)


__all__ = ["notes_weekly_chart", "ratio_bars_chart", "ratio_trend_chart", "stars_trend_chart", "tag_breakdown_chart"]
