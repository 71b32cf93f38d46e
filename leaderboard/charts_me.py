"""Chart builders for the agent's own page: data in, ``alt.Chart`` out, no Streamlit.

- ``my_trend_chart(trend)``: the agent's average stars per day (gold line) against their
  team's (grey dashed line), over bars of how many ratings the agent got each day.

Every builder accepts an empty frame and returns an (empty) chart.
"""

from __future__ import annotations

import math

import altair as alt
import pandas as pd

from leaderboard.charts import LABEL_COLOUR, day_axis

MINE_COLOUR = "#F5B700"
TEAM_COLOUR = "#8A96AA"
BAR_COLOUR = "#5B6B86"


def _stars_floor(values: pd.Series) -> float:
    """The bottom of the stars axis: a little under the lowest point, in half stars, never under 1.

    A fixed 1–5 axis squashes the difference between 4.5 and 4.9, which is the
    difference an agent cares about.
    """
    finite = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if not finite:
        return 1.0
    return max(1.0, math.floor((min(finite) - 0.25) * 2) / 2)


def my_trend_chart(trend: pd.DataFrame, *, me: str = "You", team: str = "Team", height: int = 260) -> alt.LayerChart:
    """Daily average stars, the agent's (gold) vs the team's (grey, dashed), over the agent's daily ratings.

    ``trend`` has the columns ``day`` (a date), ``mine``, ``my_ratings``, ``team`` and
    ``team_ratings`` (``leaderboard.me.trend_frame``). Days without ratings leave a gap.
    """
    frame = trend[["day", "mine", "my_ratings", "team", "team_ratings"]].copy()
    x = day_axis(frame)
    tooltip = [
        alt.Tooltip("when:N", title="Day"),
        alt.Tooltip("mine:Q", title=f"{me} ★", format=".2f"),
        alt.Tooltip("my_ratings:Q", title=f"{me}: ratings"),
        alt.Tooltip("team:Q", title=f"{team} ★", format=".2f"),
    ]
    bars = (
        alt.Chart(frame)
        .mark_bar(opacity=0.35, color=BAR_COLOUR, cornerRadiusTopLeft=3, cornerRadiusTopRight=3)
        .encode(
            x=x,
            y=alt.Y(
                "my_ratings:Q",
                title="Your ratings",
                axis=alt.Axis(grid=False, titleColor=LABEL_COLOUR, tickMinStep=1),
            ),
            tooltip=tooltip,
        )
    )
    long = frame.melt(
        id_vars=["label", "when", "my_ratings"], value_vars=["mine", "team"], var_name="who", value_name="stars"
    )
    long["who"] = long["who"].map({"mine": me, "team": team})
    long = long.merge(frame[["label", "mine", "team"]], on="label", how="left")
    stars_scale = alt.Scale(domain=[_stars_floor(long["stars"]), 5], nice=False)
    colour = alt.Color(
        "who:N",
        scale=alt.Scale(domain=[me, team], range=[MINE_COLOUR, TEAM_COLOUR]),
        title=None,
        legend=alt.Legend(orient="top", labelColor=LABEL_COLOUR, labelFontSize=13, symbolStrokeWidth=3),
    )
    dash = alt.StrokeDash(
        "who:N", scale=alt.Scale(domain=[me, team], range=[[1, 0], [6, 4]]), legend=None
    )
    lines = (
        alt.Chart(long)
        .mark_line(point=alt.OverlayMarkDef(size=55, filled=True), strokeWidth=3)
        .encode(
            x=x,
            y=alt.Y("stars:Q", title="Average ★", scale=stars_scale, axis=alt.Axis(titleColor=MINE_COLOUR)),
            color=colour,
            strokeDash=dash,
            tooltip=tooltip,
        )
    )
    return (
        alt.layer(bars, lines)
        .resolve_scale(y="independent")
        .properties(height=height)
        .configure_view(stroke=None)
    )


__all__ = ["my_trend_chart"]
