"""The fair ranking as case tables worked out by hand (m = prior weight, C = prior mean)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from leaderboard import ranking


def sums_for(stars_by_agent: dict[str, list[int]], **extra: dict[str, dict]) -> pd.DataFrame:
    """A frame of per-agent sums from lists of star values."""
    rows = []
    for i, (name, stars) in enumerate(stars_by_agent.items(), start=1):
        row = {
            "agent_id": i,
            "agent": name,
            "ratings": len(stars),
            "star_sum": sum(stars),
            "five_count": sum(1 for s in stars if s == 5),
            "resolved_yes": 0,
            "resolved_answered": 0,
            "nps_n": 0,
            "promoters": 0,
            "detractors": 0,
            "closed": len(stars),
            "rated": len(stars),
        }
        for column, per_agent in extra.items():
            if name in per_agent:
                row[column] = per_agent[name]
        rows.append(row)
    return pd.DataFrame(rows, columns=["agent_id", "agent", *ranking.SUM_COLUMNS])


def ranked(stars_by_agent, *, m=10.0, min_ratings=5, prior=None, **extra):
    table = ranking.rank_table(
        sums_for(stars_by_agent, **extra), prior_weight=m, min_ratings=min_ratings, prior=prior
    )
    return {
        row["agent"]: (None if pd.isna(row["rank"]) else int(row["rank"]), round(row["score"], 4))
        for row in table.to_dict("records")
    }


def order(stars_by_agent, **kw) -> list[str]:
    table = ranking.rank_table(sums_for(stars_by_agent), prior_weight=kw.get("m", 10.0), min_ratings=kw.get("min_ratings", 5))
    return list(table["agent"])


STEADY_200 = [5] * 160 + [4] * 40  # 200 ratings averaging 4.8
FLOOR = [4] * 100 + [5] * 100 + [3] * 40 + [5] * 10  # the rest of the floor: 250 ratings, avg 4.28


@pytest.mark.parametrize(
    "name, agents, m, min_ratings, expected",
    [
        # C = (5 + 960) / 201 = 4.8010; Lucky has one rating: provisional, never ranked.
        ("one lucky 5★ is provisional", {"Lucky": [5], "Steady": STEADY_200}, 10, 5,
         {"Lucky": (None, 4.8191), "Steady": (1, 4.8000)}),
        # On a real floor (C = 2035/451 = 4.5122), even ranked at min 1 the prior holds Lucky back:
        # Steady (960 + 45.122)/210 = 4.7863, Lucky (5 + 45.122)/11 = 4.5565, Floor (1070 + 45.122)/260 = 4.2889.
        ("one lucky 5★ never beats 200 × 4.8", {"Lucky": [5], "Steady": STEADY_200, "Floor": FLOOR}, 10, 1,
         {"Steady": (1, 4.7863), "Lucky": (2, 4.5565), "Floor": (3, 4.2889)}),
        # C = 180/40 = 4.5: scores 4.75, 4.5, 4.5, 4.25 → ranks 1, 2, 2, 4.
        ("equal score and n share a rank", {"Ann": [5] * 10, "Bo": [5] * 5 + [4] * 5, "Cy": [4] * 5 + [5] * 5, "Di": [4] * 10}, 10, 5,
         {"Ann": (1, 4.75), "Bo": (2, 4.5), "Cy": (2, 4.5), "Di": (4, 4.25)}),
        # All average exactly C = 4: equal scores, so more ratings first (1), then a shared 2.
        ("equal score, more ratings ranks higher", {"Ann": [4] * 5, "Bo": [4] * 10, "Cy": [4] * 5}, 10, 5,
         {"Bo": (1, 4.0), "Ann": (2, 4.0), "Cy": (2, 4.0)}),
        # min_ratings = 5: four ratings is provisional, five is ranked. C = (20 + 25 + 40)/19 = 4.4737.
        ("provisional below the minimum, ranked at it", {"Four": [5] * 4, "Five": [5] * 5, "Ten": [4] * 10}, 10, 5,
         {"Five": (1, 4.6491), "Ten": (2, 4.2368), "Four": (None, 4.6241)}),
        # m = 0: the plain average decides; C plays no part.
        ("no prior is a plain average", {"Ann": [5, 5, 5, 5, 4], "Bo": [5] * 5}, 0, 5,
         {"Bo": (1, 5.0), "Ann": (2, 4.8)}),
    ],
)
def test_rank_table_cases(name, agents, m, min_ratings, expected):
    assert ranked(agents, m=m, min_ratings=min_ratings) == expected


def test_order_is_score_then_ratings_then_name_and_provisional_last():
    agents = {"zed": [4] * 10, "Amy": [4] * 10, "Pro": [5, 5], "Top": [5] * 10, "New": [5]}
    # Top ranks first; zed and Amy tie (name order, case-insensitive); provisional by ratings desc.
    assert order(agents) == ["Top", "Amy", "zed", "Pro", "New"]


@pytest.mark.parametrize(
    "n, avg, m, c, expected",
    [
        (0, 0.0, 10, 4.5, 4.5),  # no ratings: exactly the prior
        (10, 5.0, 10, 4.0, 4.5),
        (200, 4.8, 10, 4.5, (960 + 45) / 210),
        (1, 5.0, 10, 4.5, (5 + 45) / 11),
    ],
)
def test_fair_score_formula(n, avg, m, c, expected):
    assert ranking.fair_score(n, avg, prior_weight=m, prior_mean=c) == pytest.approx(expected)


def test_measures_percentages_and_empty_denominators():
    frame = sums_for(
        {"Ann": [5, 5, 4, 1], "Bo": [3]},
        resolved_yes={"Ann": 3},
        resolved_answered={"Ann": 4},
        nps_n={"Ann": 4},
        promoters={"Ann": 2},
        detractors={"Ann": 1},
        closed={"Ann": 10, "Bo": 0},
    )
    table = ranking.rank_table(frame, prior_weight=10, min_ratings=1).set_index("agent")
    assert table.loc["Ann", "avg_stars"] == pytest.approx(3.75)
    assert table.loc["Ann", "five_star_pct"] == pytest.approx(50.0)
    assert table.loc["Ann", "response_rate"] == pytest.approx(40.0)
    assert table.loc["Ann", "fcr_pct"] == pytest.approx(75.0)
    assert table.loc["Ann", "nps"] == pytest.approx(25.0)
    # No resolved answers, no nps, no closed interactions: empty, never a division by zero.
    assert math.isnan(table.loc["Bo", "fcr_pct"])
    assert math.isnan(table.loc["Bo", "nps"])
    assert math.isnan(table.loc["Bo", "response_rate"])


@pytest.mark.parametrize(
    "previous, expected",
    [
        ({1: 2, 2: 1, 3: 3}, {"Ann": 1, "Bo": -1, "Cy": 0}),  # Ann up one, Bo down one, Cy unchanged
        ({2: 3}, {"Ann": None, "Bo": 1, "Cy": None}),  # not ranked last period: empty
        ({}, {"Ann": None, "Bo": None, "Cy": None}),
    ],
)
def test_movement(previous, expected):
    table = ranking.rank_table(
        sums_for({"Ann": [5] * 10, "Bo": [5] * 9 + [4], "Cy": [4] * 10}), prior_weight=10, min_ratings=5
    )
    moved = ranking.add_movement(table, previous)
    got = {r["agent"]: (None if pd.isna(r["movement"]) else int(r["movement"])) for r in moved.to_dict("records")}
    assert got == expected


def test_provisional_agent_has_no_movement_even_if_ranked_before():
    table = ranking.rank_table(sums_for({"Ann": [5] * 10, "New": [5, 5]}), prior_weight=10, min_ratings=5)
    moved = ranking.add_movement(table, {2: 1})
    assert pd.isna(moved.set_index("agent").loc["New", "movement"])


@pytest.mark.parametrize(
    "movement, label",
    [(2, "▲ 2"), (-1, "▼ 1"), (0, "="), (None, "new"), (pd.NA, "new")],
)
def test_movement_label(movement, label):
    assert ranking.movement_label(movement) == label


@pytest.mark.parametrize(
    "n, star_sum, target, m, c, expected",
    [
        # (45 + 45)/20 = 4.5; one 5★: (50 + 45)/21 = 4.524 > 4.52
        (10, 45, 4.52, 10, 4.5, 1),
        # already above: none needed
        (10, 50, 4.6, 10, 4.5, 0),
        # two needed: (45+5+45)/21 = 4.5238, (45+10+45)/22 = 4.5454 > 4.54
        (10, 45, 4.54, 10, 4.5, 2),
        # nobody passes a perfect 5.0
        (10, 45, 5.0, 10, 4.5, None),
    ],
)
def test_ratings_to_pass(n, star_sum, target, m, c, expected):
    assert ranking.ratings_to_pass(n=n, star_sum=star_sum, target_score=target, prior_weight=m, prior=c) == expected


def test_empty_table_is_fine():
    empty = sums_for({})
    table = ranking.rank_table(empty, prior_weight=10, min_ratings=5)
    assert table.empty


def test_fair_score_is_one_formula_for_scalars_arrays_and_series():
    assert ranking.fair_score(4, 5.0, prior_weight=10.0, prior_mean=4.0) == pytest.approx((20 + 40) / 14)
    stars, n = pd.Series([20, 0]), pd.Series([4, 0])
    expected = [(20 + 40) / 14, 4.0]
    assert list(ranking.score_from_sums(stars, n, prior_mean=4.0, prior_weight=10.0)) == pytest.approx(expected)
    arr = ranking.score_from_sums(np.array([20, 0]), np.array([4, 0]), prior_mean=4.0, prior_weight=10.0)
    assert list(arr) == pytest.approx(expected)
    assert ranking.tie_key(pd.Series([0.1 + 0.2]))[0] == ranking.tie_key(0.3)


def test_rank_within_groups_matches_rank_table_per_group():
    sums = pd.concat(
        [sums_for({"A": [5] * 6, "B": [4] * 6, "C": [5, 5]}).assign(team_id=1),
         sums_for({"D": [3] * 5, "E": [3] * 5}).assign(team_id=2)],
        ignore_index=True,
    )
    grouped = ranking.rank_within_groups(sums, group_by=["team_id"], prior_weight=10.0, min_ratings=5)
    for team_id, part in sums.groupby("team_id"):
        alone = ranking.rank_table(part, prior_weight=10.0, min_ratings=5).set_index("agent")
        mine = grouped[grouped["team_id"] == team_id].set_index("agent")
        assert mine["rank"].to_dict() == alone["rank"].reindex(mine.index).to_dict()
        assert list(mine["score"].round(9)) == list(alone["score"].reindex(mine.index).round(9))
