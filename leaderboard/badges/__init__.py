"""Badges: the catalogue, value badges leaders award, automatic badges the data earns.

Two kinds of badge (``Badge.kind``):

- **value** badges (by default the six C-E-N-T-E-R values) are awarded by a
  team leader, manager or admin with a reason, optionally about one rating:
  :func:`award`. A weekly review proposes candidates from the week's 4–5★
  comments and went-well tags: :func:`value_candidates`.
- **automatic** badges are earned from the ratings: :func:`evaluate` awards
  every one not yet awarded (idempotent; ``python -m leaderboard badges
  evaluate``). Each one's ``criteria`` text is what agents are shown.

The catalogue is a setting kept in the ``badge`` table (name, description,
criteria and ``active`` may be edited there); :data:`DEFAULT_CATALOGUE` seeds
it through :func:`ensure_catalogue`. Each badge's criteria (its numbers, and the
text generated from them) live in :mod:`leaderboard.badge_rules`.

Modules: ``catalogue`` (the badge table, :class:`BadgeError`), ``value_awards``
(a leader's award and the weekly value review), ``evaluation`` (automatic
badges), ``progress`` (the agent's page), ``feed`` (reading awards). All are
use cases: SQL lives in ``db.badge_store``.

``BadgeAward.period_key`` makes "once per period" a schema rule
(UNIQUE(badge_id, agent_id, period_key)):

======================  =========================================================
badge                   period_key
======================  =========================================================
first_five_star,        ``''`` (once ever)
ratings_100/500,
recovery_hero
streak_10               ``i<Interaction.id>`` of the streak's first rating
                        (once per streak; a 4★ or lower ends a streak)
weekly_top,             ISO week of the site's local Monday, ``2026-W47``
most_improved,
perfect_week
fcr_champion            local calendar month, ``2026-11``
value badges            ``i<Interaction.id>`` when about a rating (that rating
                        earns a given value badge once), else the UTC award date
                        and a counter, ``2026-11-23#2``
======================  =========================================================

``awarded_at`` of an automatic award is when it was earned: the rated_at of
the rating that met the criterion, the end of the week or month (local
midnight, in UTC), or when the recovery case closed. Evidence is the external
interaction ids (``Interaction.interaction_id``), ';'-separated, at most
:data:`EVIDENCE_LIMIT` of them.

Pages: every function here is keyword-only and returns plain values, lists of
dicts or DataFrames; nothing is cached or mutated after return. Customer text
(``value_candidates()['quote']``, reasons) must be shown as text, never as
Markdown.
"""

from __future__ import annotations

from db.badge_store import AWARD_COLUMNS, AWARD_EXTRA_COLUMNS
from leaderboard.badge_rules import DEFAULT_CATALOGUE, BadgeSpec
from leaderboard.badges.catalogue import BadgeError, catalogue, ensure_catalogue
from leaderboard.badges.evaluation import evaluate
from leaderboard.badges.feed import agent_badges, list_awards, recognition_feed
from leaderboard.badges.progress import progress
from leaderboard.badges.value_awards import CANDIDATE_COLUMNS, award, value_candidates

__all__ = [
    "AWARD_COLUMNS",
    "AWARD_EXTRA_COLUMNS",
    "CANDIDATE_COLUMNS",
    "DEFAULT_CATALOGUE",
    "BadgeError",
    "BadgeSpec",
    "agent_badges",
    "award",
    "catalogue",
    "ensure_catalogue",
    "evaluate",
    "list_awards",
    "progress",
    "recognition_feed",
    "value_candidates",
]
