"""Micro-coaching: coaching notes, prompts generated from the data, and the leader's helpers.

No Streamlit here: the team leader workspace page calls these functions and
renders what comes back. Every read that returns agent detail takes a
``Viewer`` and returns nothing for agents (or teams) the viewer may not see.
Writes commit their own transaction.

Page-facing API
---------------

Notes and the prompt queue:

- ``log_note(*, session, agent_id, author_id, kind, text, visibility, rating_id=None, now=None) -> CoachingNote``
  — a leader's praise or criticism, public or 1:1 ("private"); criticism is always 1:1.
- ``generate_prompts(*, session, now=None, team_ids=None, rules=None, settings=None) -> list[CoachingPrompt]``
  — run every rule, insert the prompts that are new (idempotent), return them. It costs about
  1 s of CPU for 2,000 agents at 1M ratings (bench/coaching_bench.py), ~0.2 s for one team of 50:
  a page should run it for the viewer's teams when ``db.queries.data_version`` changes (or
  from a background job), not on every rerun. Use ``expire_on_commit=False`` sessions to
  read the returned prompts without a refresh query each.
- ``draft_prompts(...) -> list[dict]`` — the same without writing (what would fire).
- ``open_prompts(*, session, viewer, team_id=None, leader_user_id=None, now=None, settings=None) -> DataFrame``
  — the queue: open, unexpired, highest priority first, an agent's praise prompts merged into one;
  ``PROMPT_COLUMNS`` plus agent_id, team_id, site, why_now, evidence_items (list of dicts),
  hide_from_wall, status, merged_ids and in_budget (the first ``STARBOARD_PROMPT_BUDGET`` (8)
  per 10 active agents of each team; the rest is "more").
- ``mark_done(*, session, prompt_id, by_user_id, now=None, text=None, kind=None, visibility=None)
  -> CoachingNote | None`` — closes the prompt; logs a note only with ``text`` the leader wrote or
  confirmed (``note_suggestion(row)`` offers kind, visibility and an opening written to the agent).
- ``dismiss(*, session, prompt_id, by_user_id, now=None) -> CoachingPrompt``.
- ``load_rules(*, session) -> CoachingRules`` / ``save_rules(*, session, rules, actor)``;
  ``CoachingRules.from_mapping(dict)`` validates a settings form (CoachingError on bad input).
- ``prompt_rows(frame) -> list[dict]`` — ``open_prompts`` rows for CSV/JSON export.

Errors for the person at the keyboard are ``CoachingError`` (a ValueError) with a one-line message.

Modules: ``rules`` (pure: ``CoachingRules`` and the prompt rules over plain frames), ``texts``
(pure: wording and evidence lines), ``prompts`` (use cases: gather, generate, the queue, notes),
``sheets`` (use cases: team table, digest, training topics, GROW sheet) and ``workspace`` (use
cases: the page's small helpers). SQL lives in ``db.coaching_store`` and ``db.coaching_queries``.

Leader helpers (all viewer-filtered):

- ``team_table(*, session, viewer, team_id, now=None, settings=None) -> DataFrame`` — agent, rank,
  score, avg_stars, ratings_this_week, ratio_received, ratio_status, last_coached (+ ids, counts).
- ``digest(*, session, viewer, day, tz, limit=3) -> dict[team, {"best": [...], "worst": [...]}]``.
- ``training_topics(*, session, viewer, now=None, rules=None) -> DataFrame``.
- ``grow_sheet(*, session, viewer, agent_id, now=None, rules=None, settings=None) -> str`` — plain text.
- ``evidence_text(items) -> str`` — ``I-1001 1★ 'rude and slow' [to_improve: patience]``.

Workspace helpers (pages/coaching.py):

- ``notes_history(*, session, viewer, team_id=None, agent_id=None, author_id=None, since=None, limit=50)``
  — notes with their text, newest first (``NOTE_HISTORY_COLUMNS``), viewer-filtered.
- ``given_ratio(*, session, viewer, team_id, author_id, now=None, settings=None) -> dict`` — what a
  leader gave the team this week: praise, criticism, ratio, label, status, target.
- ``stars_trend(*, session, viewer, agent_id, grain="day"|"week", periods=14, now=None)`` — an
  agent's average stars per local day or week against the team average.
- ``filter_feedback(frame, *, stars, tag)`` / ``tag_breakdown(frame)`` — over ``db.queries.feedback`` rows.
- ``note_draft(*, kind, agent, interaction_id, stars, comment) -> str`` — a note's prefilled text.

Rules (defaults in ``CoachingRules``; override any of them with JSON in AppMeta "coaching_rules")
----------------------------------------------------------------------------------------------------

Only non-excluded ratings (``excluded_cause IS NULL``) of active agents feed the rules.

==================  ========  =====================================================================
rule                kind      fires when
==================  ========  =====================================================================
praise-rating       praise    a new rating of ``praise_min_stars``+ (4) with a non-blank comment;
                              in public unless the agent hides from the wall; one prompt per agent
                              per run for all of their new ones (keyed by the newest)
low-rating          develop   a new rating of ``low_max_stars`` or fewer (2): a 1:1 on one
                              improvement tag (the agent's most frequent of its tags; else its
                              comment), opening with the agent's best recent rating. New low
                              ratings of one agent on one focus make one prompt; a tag covered
                              by a repeat-tag prompt is coached there; when every tag is a team
                              training topic the 1:1 is about the comment (none: no prompt)
ratio-below-target  praise    the agent's received ratio this (local) week is "below target"
repeat-tag          develop   one ``to_improve`` tag on ``repeat_tag_min_ratings`` (3)+ of the
                              agent's ratings in the tag window (14 days), with the team's figure
team-training       training  ``training_min_agents`` (4)+ agents of one team share a ``to_improve``
                              tag on ``training_min_ratings`` (10)+ ratings in the tag window: one team prompt, and no individual prompt
                              (repeat-tag, low-rating focus) for that tag in that team
stretch             stretch   ranked in the team's top quartile (rank <= ceil(N × 0.25), N ranked
                              agents on the team board for ``stretch_period``) but not top 3
check-in            check-in  no coaching note for ``checkin_after_days`` (7) × 24 h, or never;
                              skipped while the agent has another open prompt
star-streak         praise    the agent's latest ``streak_length`` (5)+ ratings in the streak
                              window are all 5★ in a row, the latest of them new
==================  ========  =====================================================================

Window edges (all times naive UTC, ``now`` included):

- "new" means ``now - lookback_hours <= rated_at <= now`` (48 h: a rating exactly 48 h old is new,
  48 h + 1 s is not);
- a D-day window means ``now - D days <= rated_at <= now`` (a rating exactly 14 × 24 h old is in
  the 14-day window, one second older is not);
- check-in fires when ``now - last note >= checkin_after_days`` days (exactly 7 × 24 h fires);
- "this week" is the local Monday 00:00 of the agent's site up to ``now``;
- streaks are counted within the streak window (a streak longer than the window still counts,
  its length as seen inside the window).

Dedupe keys (``CoachingPrompt.dedupe_key`` is UNIQUE), so a prompt is never generated twice:

- per rating:   ``praise-rating:r<rating id>``, ``low-rating:r<rating id>``;
- per streak:   ``star-streak:a<agent>:after-r<id of the rating that ended the previous streak, or 0>``;
- per week (local ISO week of the team's site): ``ratio-below-target:a<agent>:<week>``,
  ``repeat-tag:a<agent>:<tag>:<week>``, ``team-training:t<team>:<tag>:<week>``,
  ``stretch:a<agent>:<week>``, ``check-in:a<agent>:<week>``.

Done: marks the prompt done. A note reaches the agent only when the leader writes or confirms one
(the suggested text is written *to* the agent, never the prompt's instruction to the leader); its
kind defaults to *praise* for praise, stretch and check-in prompts (public for praise prompts unless
the agent hides from the wall; 1:1 otherwise) and a 1:1 *criticism* for develop prompts; a team
training prompt takes no note. Done or Dismiss on a merged praise prompt closes the merged ones.

Wording: "just wrote" only about a rating at most ``texts.JUST_HOURS`` (3) old; a quote that ends a
sentence gets no second full stop (``texts.sentence``).
"""

from __future__ import annotations

from db.models import utcnow  # re-exported: tests and pages read coaching.utcnow
from leaderboard.coaching.prompts import (
    dismiss,
    draft_prompts,
    generate_prompts,
    load_rules,
    log_note,
    mark_done,
    note_suggestion,
    open_prompts,
    prompt_rows,
    save_rules,
)
from leaderboard.coaching.rules import (
    COACH_ROLES,
    DEFAULT_EXPIRY_HOURS,
    DEFAULT_PRIORITIES,
    MAX_NOTE_LENGTH,
    NOTE_FOR_KIND,
    PROMPT_COLUMNS,
    RULES,
    RULE_CHECKIN,
    RULE_KINDS,
    RULE_LOW,
    RULE_PRAISE,
    RULE_RATIO,
    RULE_REPEAT,
    RULE_STREAK,
    RULE_STRETCH,
    RULE_TRAINING,
    TEAM_TABLE_COLUMNS,
    TRAINING_COLUMNS,
    CoachingError,
    CoachingRules,
    team_ranks,
)
from leaderboard.coaching.sheets import (
    digest,
    grow_sheet,
    team_table,
    training_topics,
)
from leaderboard.coaching.texts import (
    evidence_item,
    evidence_text,
    note_draft,
    parse_evidence,
)
from leaderboard.coaching.workspace import (
    GRAINS,
    NOTE_HISTORY_COLUMNS,
    STARS_TREND_COLUMNS,
    TAG_COLUMNS,
    TEAM_AVERAGE,
    filter_feedback,
    given_ratio,
    notes_history,
    stars_trend,
    tag_breakdown,
)

__all__ = [
    "COACH_ROLES",
    "CoachingError",
    "CoachingRules",
    "DEFAULT_EXPIRY_HOURS",
    "DEFAULT_PRIORITIES",
    "GRAINS",
    "MAX_NOTE_LENGTH",
    "NOTE_FOR_KIND",
    "NOTE_HISTORY_COLUMNS",
    "PROMPT_COLUMNS",
    "RULES",
    "RULE_CHECKIN",
    "RULE_KINDS",
    "RULE_LOW",
    "RULE_PRAISE",
    "RULE_RATIO",
    "RULE_REPEAT",
    "RULE_STREAK",
    "RULE_STRETCH",
    "RULE_TRAINING",
    "STARS_TREND_COLUMNS",
    "TAG_COLUMNS",
    "TEAM_AVERAGE",
    "TEAM_TABLE_COLUMNS",
    "TRAINING_COLUMNS",
    "digest",
    "dismiss",
    "draft_prompts",
    "evidence_item",
    "evidence_text",
    "filter_feedback",
    "generate_prompts",
    "given_ratio",
    "grow_sheet",
    "load_rules",
    "log_note",
    "mark_done",
    "note_draft",
    "note_suggestion",
    "notes_history",
    "open_prompts",
    "parse_evidence",
    "prompt_rows",
    "save_rules",
    "stars_trend",
    "tag_breakdown",
    "team_ranks",
    "team_table",
    "training_topics",
    "utcnow",
]
