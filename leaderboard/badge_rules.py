"""Badge criteria: one frozen definition per badge, read by the catalogue, evaluation, progress and the seed.

Pure rules (no database, no Streamlit). Each automatic badge is a frozen
dataclass holding its numbers (period, minimum count, threshold ...); its
``name``, ``description`` and ``criteria`` text are generated from those
numbers, so the text agents read can never disagree with what
``leaderboard.badges`` evaluates. Change a number here and the text, the
evaluation and the progress bar all follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

__all__ = [
    "AUTOMATIC_BADGES",
    "AWARDING_ROLES",
    "CANDIDATE_MIN_STARS",
    "DEFAULT_CATALOGUE",
    "EVIDENCE_LIMIT",
    "FCR_CHAMPION",
    "FIRST_FIVE_STAR",
    "MOST_IMPROVED",
    "PERFECT_WEEK",
    "RATINGS_100",
    "RATINGS_500",
    "RATINGS_MILESTONES",
    "RECOVERY_HERO",
    "SPECS",
    "STREAK_10",
    "TEAM_EXCLUSIVE",
    "VALUE_BADGES",
    "WEEKLY_TOP",
    "BadgeSpec",
    "FcrChampion",
    "FirstFiveStar",
    "MostImproved",
    "PerfectWeek",
    "RatingsMilestone",
    "RecoveryHero",
    "Streak",
    "ValueBadge",
    "WeeklyTop",
]

# Most ids an automatic award lists as its evidence.
EVIDENCE_LIMIT = 10
# Roles that may award value badges (a manager or admin may stand in for a leader).
AWARDING_ROLES = ("leader", "manager", "admin")
# Stars a rating needs to count as praise for the weekly value review.
CANDIDATE_MIN_STARS = 4

_WORDS = {1: "One", 2: "Two", 3: "Three", 4: "Four", 5: "Five", 6: "Six", 7: "Seven", 8: "Eight", 9: "Nine",
          10: "Ten", 20: "Twenty", 50: "Fifty", 100: "A hundred", 200: "Two hundred", 500: "Five hundred",
          1000: "A thousand"}
# "completed <period>" and "this <period>" wording of the periods a badge can be decided over.
_COMPLETED = {
    "week": "a completed week (Monday to Sunday in your site's time zone)",
    "month": "a completed calendar month",
}
PERIODS = tuple(_COMPLETED)


def _word(n: int) -> str:
    """10 -> "Ten", 100 -> "A hundred"; digits when there is no word."""
    return _WORDS.get(n, str(n))


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _check_period(period: str) -> None:
    if period not in _COMPLETED:
        raise ValueError(f"badge period must be one of {', '.join(PERIODS)}, not {period!r}")


_NOT_EXCLUDED = "Ratings a leader excluded do not count."


@dataclass(frozen=True)
class ValueBadge:
    """A value badge a leader awards; ``keywords`` make a 4–5★ comment or went-well tag a candidate."""

    code: str
    name: str
    description: str
    keywords: tuple[str, ...] = ()
    kind = "value"
    repeatable = False
    criteria = "Awarded by a team leader, with a reason, for an interaction that shows this value."


@dataclass(frozen=True)
class FirstFiveStar:
    code: str = "first_five_star"
    stars: int = 5
    kind = "automatic"
    repeatable = False

    @property
    def name(self) -> str:
        return "First five-star" if self.stars == 5 else f"First {self.stars}★"

    @property
    def description(self) -> str:
        return f"Your first {self.stars}★ rating."

    @property
    def criteria(self) -> str:
        return f"Earned once, with your first {self.stars}★ rating. {_NOT_EXCLUDED}"


@dataclass(frozen=True)
class Streak:
    """``length`` ratings of ``stars`` in a row, once per streak."""

    code: str = "streak_10"
    length: int = 10
    stars: int = 5
    kind = "automatic"
    repeatable = True

    @property
    def name(self) -> str:
        return f"Streak of {self.length}"

    @property
    def description(self) -> str:
        return f"{_word(self.length)} {self.stars}★ ratings in a row."

    @property
    def criteria(self) -> str:
        return (
            f"{self.length} ratings of {self.stars}★ in a row, in the order they arrived; a rating of "
            f"{self.stars - 1}★ or less ends the streak, ratings a leader excluded are skipped. Earned once per streak."
        )


@dataclass(frozen=True)
class RatingsMilestone:
    """Earned once, at the ``count``-th rating."""

    code: str
    count: int
    kind = "automatic"
    repeatable = False

    @property
    def name(self) -> str:
        return f"{self.count} ratings"

    @property
    def description(self) -> str:
        return f"{_word(self.count)} customers rated you."

    @property
    def criteria(self) -> str:
        return f"Earned once, at your {_ordinal(self.count)} rating. {_NOT_EXCLUDED}"


@dataclass(frozen=True)
class WeeklyTop:
    """Rank 1 of the team's fair board for a completed week (the minimum ratings come from the settings)."""

    code: str = "weekly_top"
    kind = "automatic"
    repeatable = True
    period = "week"  # evaluated over weeks only (the previous week, the week's board)

    @property
    def name(self) -> str:
        return f"{self.period.capitalize()}ly #1"

    @property
    def description(self) -> str:
        return f"Top of your team's {self.period}ly leaderboard."

    @property
    def criteria(self) -> str:
        return (
            f"#1 on your team's fair leaderboard for {_COMPLETED[self.period]}, ranked with at least the minimum "
            f"number of ratings. Ties share it. Earned once per {self.period}."
        )


@dataclass(frozen=True)
class MostImproved:
    """The largest rise in fair score in the team from one completed week to the next, above ``min_gain``."""

    code: str = "most_improved"
    min_gain: float = 0.0
    kind = "automatic"
    repeatable = True
    period = "week"  # evaluated over weeks only (the previous week, the week's board)

    @property
    def name(self) -> str:
        return "Most improved"

    @property
    def description(self) -> str:
        return f"The biggest step up in your team this {self.period}."

    @property
    def criteria(self) -> str:
        above = "zero" if self.min_gain == 0 else f"{self.min_gain:g}"
        return (
            f"The largest rise in fair score from one completed {self.period} to the next in your team, among agents "
            f"ranked (not provisional) both {self.period}s; the rise must be above {above}. "
            f"Earned once per {self.period}."
        )


@dataclass(frozen=True)
class PerfectWeek:
    """Every rating 5★ in a completed week, with at least ``min_ratings`` ratings."""

    code: str = "perfect_week"
    min_ratings: int = 5
    kind = "automatic"
    repeatable = True
    period = "week"  # evaluated over weeks only (the previous week, the week's board)

    @property
    def name(self) -> str:
        return f"Perfect {self.period}"

    @property
    def description(self) -> str:
        return f"Every customer gave you 5★ all {self.period}."

    @property
    def criteria(self) -> str:
        return (
            f"Every rating 5★ in {_COMPLETED[self.period]}, with at least {self.min_ratings} ratings. "
            f"Earned once per {self.period}."
        )


@dataclass(frozen=True)
class FcrChampion:
    """The best first-contact resolution in the team for a completed period, with ``min_answers`` answers."""

    code: str = "fcr_champion"
    period: str = "month"
    min_answers: int = 20
    kind = "automatic"
    repeatable = True

    def __post_init__(self) -> None:
        _check_period(self.period)

    @property
    def name(self) -> str:
        return "FCR champion"

    @property
    def description(self) -> str:
        return f"The best first-contact resolution in your team this {self.period}."

    @property
    def criteria(self) -> str:
        return (
            "The highest first-contact resolution (share of 'Was your issue resolved?' answered yes) in your team "
            f"for {_COMPLETED[self.period]}, with at least {self.min_answers} answers. Ties share it. "
            f"Earned once per {self.period}."
        )


@dataclass(frozen=True)
class RecoveryHero:
    """Earned once, at the ``cases``-th recovery case resolved with a follow-up of ``min_followup_stars`` or more."""

    code: str = "recovery_hero"
    cases: int = 3
    min_followup_stars: int = 4
    kind = "automatic"
    repeatable = False

    @property
    def name(self) -> str:
        return "Recovery hero"

    @property
    def description(self) -> str:
        return "You turned unhappy customers around." if self.cases > 1 else "You turned an unhappy customer around."

    @property
    def criteria(self) -> str:
        cases = f"{self.cases} service recovery cases you owned are" if self.cases != 1 else (
            "a service recovery case you owned is"
        )
        return (
            f"Earned once, when {cases} resolved with a follow-up rating of {self.min_followup_stars}★ or more."
        )


BadgeSpec = Union[ValueBadge, FirstFiveStar, Streak, RatingsMilestone, WeeklyTop, MostImproved, PerfectWeek,
                  FcrChampion, RecoveryHero]

VALUE_BADGES: tuple[ValueBadge, ...] = (
    ValueBadge(
        "creative",
        "Creative",
        "Finds a new way when the usual one does not work.",
        ("creative", "creativity", "found a way", "workaround", "work around", "outside the box", "clever",
         "inventive", "solution"),
    ),
    ValueBadge(
        "empowering",
        "Empowering",
        "Leaves customers able to help themselves: explains, teaches, shows how.",
        ("explained", "explains", "explaining", "taught", "showed me how", "walked me through", "now i know",
         "learned", "empowering"),
    ),
    ValueBadge(
        "nimble",
        "Nimble",
        "Adapts on the spot to the customer and to change.",
        ("flexible", "adapted", "adaptable", "adjusted", "accommodating", "nimble", "on the fly"),
    ),
    ValueBadge(
        "trustful",
        "Trustful",
        "Does what they say: honest, keeps promises, follows up.",
        ("honest", "kept promise", "kept her promise", "kept his promise", "kept their promise", "kept her word",
         "kept his word", "kept their word", "followed up", "follow up", "follow-up", "reliable", "trustworthy"),
    ),
    ValueBadge(
        "empathetic",
        "Empathetic",
        "Listens and understands: patient and kind with every customer.",
        ("patient", "patience", "listened", "listening", "understood", "understanding", "kind", "caring",
         "empathy", "empathetic", "compassionate"),
    ),
    ValueBadge(
        "responsive",
        "Responsive",
        "Quick and prompt: the customer never waits.",
        ("quick", "quickly", "fast", "prompt", "promptly", "responsive", "right away", "immediately", "no wait",
         "in no time"),
    ),
)

FIRST_FIVE_STAR = FirstFiveStar()
STREAK_10 = Streak()
RATINGS_100 = RatingsMilestone("ratings_100", 100)
RATINGS_500 = RatingsMilestone("ratings_500", 500)
WEEKLY_TOP = WeeklyTop()
MOST_IMPROVED = MostImproved()
PERFECT_WEEK = PerfectWeek()
FCR_CHAMPION = FcrChampion()
RECOVERY_HERO = RecoveryHero()

RATINGS_MILESTONES: tuple[RatingsMilestone, ...] = (RATINGS_100, RATINGS_500)
AUTOMATIC_BADGES = (
    FIRST_FIVE_STAR, STREAK_10, RATINGS_100, RATINGS_500, WEEKLY_TOP, MOST_IMPROVED, PERFECT_WEEK, FCR_CHAMPION,
    RECOVERY_HERO,
)
DEFAULT_CATALOGUE: tuple[BadgeSpec, ...] = (*VALUE_BADGES, *AUTOMATIC_BADGES)
SPECS: dict[str, BadgeSpec] = {spec.code: spec for spec in DEFAULT_CATALOGUE}
# One winner per team and period: once decided, a later change in the data never adds a second one.
TEAM_EXCLUSIVE = frozenset({WEEKLY_TOP.code, MOST_IMPROVED.code, FCR_CHAMPION.code})
