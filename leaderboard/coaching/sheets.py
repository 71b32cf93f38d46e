"""The leader's sheets: the team table, the daily digest, training topics and the GROW 1:1 prep."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
from sqlmodel import Session

from db import coaching_store as store
from db.coaching_queries import may_coach_team, team_scope
from db.models import utcnow
from db.queries import feedback
from leaderboard import ratios
from leaderboard.board import build_board
from leaderboard.coaching.prompts import _gather, load_rules
from leaderboard.coaching.rules import TEAM_TABLE_COLUMNS, TRAINING_COLUMNS, CoachingRules, _training_table
from leaderboard.coaching.texts import _ago, _first_name, _pct, _pydt, evidence_item, evidence_text
from leaderboard.periods import local_date, local_midnight_utc, week_key, zone
from leaderboard.settings import Settings, get_settings


def team_table(
    *,
    session: Session,
    viewer,
    team_id: int,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """The team at a glance for its leader: ``TEAM_TABLE_COLUMNS``, ranked agents first.

    rank/score/avg_stars/ratings_this_week come from the team's own board for
    this (local) week; praise/criticism/ratio are notes received this week;
    last_coached is the latest note (None: never). Only agents the viewer may
    see; an empty frame for a team outside the viewer's reach.
    """
    now = now or utcnow()
    settings = settings or get_settings()
    empty = pd.DataFrame(columns=list(TEAM_TABLE_COLUMNS))
    scope = team_scope(session=session, team_id=team_id)
    if scope is None or viewer is None or not may_coach_team(session=session, viewer=viewer, team_id=team_id):
        return empty  # the team's board is not filtered by viewer: nothing of it for a team outside their reach
    agents = store.agent_frame(session=session, team_ids=[team_id], viewer=viewer)
    board = build_board(session=session, period="week", scope=scope, now=now, settings=settings, with_movement=False)
    ranked = board.agents[["agent_id", "rank", "score", "avg_stars", "ratings", "provisional"]]
    # The team's board this week, whoever is on it: an agent deactivated mid-week keeps the ratings
    # they earned (the Leaderboard, My page and `rank` count them), so the table lists them too.
    agents = agents[agents["active"] | agents["agent_id"].isin(ranked["agent_id"])]
    # A former member keeps the row of the ratings they earned in this team this week (as on the Leaderboard).
    former = board.agents[~board.agents["agent_id"].isin(agents["agent_id"])][["agent_id", "agent", "timezone"]]
    if len(former):
        agents = pd.concat([agents, former], ignore_index=True)
    if agents.empty:
        return empty
    frame = agents[["agent_id", "agent", "timezone"]].merge(ranked, on="agent_id", how="left")
    frame["ratings_this_week"] = frame["ratings"].fillna(0).astype("int64")
    frame["provisional"] = frame["provisional"].astype("boolean").fillna(True).astype(bool)
    ids = frame["agent_id"].astype(int).tolist()
    received = ratios.received_this_week(
        session=session, agent_ids=ids, team_ids=[team_id], now=now,
        tz_by_agent=dict(zip(ids, frame["timezone"])), viewer=viewer,
    )
    frame = frame.merge(received, on="agent_id", how="left")
    frame = ratios.add_ratio_columns(frame, target=settings.ratio_target)
    frame["ratio_received"] = frame["ratio_label"]
    frame["ratio_status"] = frame["status"]
    last = store.last_note_at(session=session, until=now, team_ids=[team_id], viewer=viewer)
    last_at = dict(zip(last["agent_id"].astype(int), last["last_note_at"]))
    # object dtype keeps "never" as None rather than NaT.
    frame["last_coached"] = pd.Series([_pydt(last_at.get(int(a))) for a in frame["agent_id"]], index=frame.index, dtype="object")
    frame["rank"] = frame["rank"].astype("Int64")
    frame = frame.assign(_unranked=frame["rank"].isna(), _key=frame["agent"].str.casefold())
    frame = frame.sort_values(["_unranked", "rank", "ratings_this_week", "_key"], ascending=[True, True, False, True])
    return frame[list(TEAM_TABLE_COLUMNS)].reset_index(drop=True)


def digest(
    *,
    session: Session,
    viewer,
    day: date,
    tz: str | ZoneInfo | None,
    limit: int = 3,
) -> dict[str, dict[str, list[dict]]]:
    """The day's best (4–5★) and worst (1–3★) interactions per team: {team: {"best": [...], "worst": [...]}}.

    ``day`` is a local date in ``tz``. Best: most stars, commented first, latest
    first; worst: fewest stars, commented first. Excluded ratings are left out.
    Each item: interaction_id, rating_id, agent, channel, stars, comment,
    went_well, to_improve, rated_at. Only agents the viewer may see.
    """
    tzinfo = tz if isinstance(tz, ZoneInfo) else zone(tz)
    start = local_midnight_utc(day, tzinfo)
    end = local_midnight_utc(day + timedelta(days=1), tzinfo)
    rows = feedback(session=session, viewer=viewer, start=start, end=end, limit=100_000)
    rows = rows[rows["excluded_cause"].isna()]
    result: dict[str, dict[str, list[dict]]] = {}
    if rows.empty:
        return result
    rows = rows.assign(_has=(rows["comment"].fillna("").str.strip() != "").astype(int))
    keys = ["interaction_id", "rating_id", "agent", "channel", "stars", "comment", "went_well", "to_improve", "rated_at"]

    def items(frame: pd.DataFrame) -> list[dict]:
        out = []
        for rec in frame.head(limit).to_dict("records"):
            item = {k: rec[k] for k in keys}
            item["rating_id"], item["stars"] = int(item["rating_id"]), int(item["stars"])
            item["rated_at"] = _pydt(item["rated_at"])
            out.append(item)
        return out

    for team, group in rows.groupby("team", sort=True):
        best = group[group["stars"] >= 4].sort_values(["stars", "_has", "rated_at"], ascending=[False, False, False])
        worst = group[group["stars"] <= 3].sort_values(["stars", "_has", "rated_at"], ascending=[True, False, False])
        result[str(team)] = {"best": items(best), "worst": items(worst)}
    return result


def training_topics(
    *, session: Session, viewer, now: datetime | None = None, rules: CoachingRules | None = None
) -> pd.DataFrame:
    """Improvement tags shared by ``training_min_agents``+ agents of a team on ``training_min_ratings``+ ratings
    in the tag window (a real group).

    ``TRAINING_COLUMNS``, most agents first. Only teams the viewer coaches
    (agents and wall displays see none).
    """
    now = now or utcnow()
    rules = rules or load_rules(session=session)
    teams = store.team_frame(session=session, viewer=viewer) if viewer is not None else pd.DataFrame()
    empty = pd.DataFrame(columns=list(TRAINING_COLUMNS))
    if teams.empty:
        return empty
    team_ids = teams["team_id"].astype(int).tolist()
    inp = _gather(session, now=now, team_ids=team_ids, rules=rules, settings=get_settings())
    if inp is None:
        return empty
    topics = _training_table(inp.improve, min_agents=rules.training_min_agents, min_ratings=rules.training_min_ratings)
    if topics.empty:
        return empty
    topics["team"] = topics["team_id"].map(inp.team_names)
    topics["agent_names"] = [", ".join(sorted(inp.info[a]["agent"] for a in ids)) for ids in topics["agent_ids"]]
    topics["last_seen"] = [_pydt(t) for t in topics["last_seen"]]
    topics = topics.sort_values(["agents", "ratings", "team", "tag"], ascending=[False, False, True, True])
    return topics[list(TRAINING_COLUMNS)].reset_index(drop=True)


def grow_sheet(
    *,
    session: Session,
    viewer,
    agent_id: int,
    now: datetime | None = None,
    rules: CoachingRules | None = None,
    settings: Settings | None = None,
) -> str:
    """A 1:1 prep sheet in plain text (no Markdown), GROW sections filled with the agent's data.

    "" when the viewer may not see the agent. Compares the agent with their
    team over this week's board and the tag window; suitable for a .txt download.
    """
    now = now or utcnow()
    rules = rules or load_rules(session=session)
    settings = settings or get_settings()
    if viewer is None:
        return ""
    mine = store.agent_frame(session=session, agent_ids=[agent_id], viewer=viewer)
    if mine.empty:
        return ""
    me = mine.iloc[0]
    team_id, tz = int(me["team_id"]), zone(me["timezone"])
    first = _first_name(me["agent"])
    inp = _gather(session, now=now, team_ids=[team_id], rules=rules, settings=settings)
    scope = team_scope(session=session, team_id=team_id)
    board = build_board(session=session, period="week", scope=scope, now=now, settings=settings, with_movement=False)
    row = board.agents[board.agents["agent_id"] == agent_id]
    ranked_n = int(board.agents["rank"].notna().sum())

    days = f"{rules.tag_window_days:g} days"
    window = inp.ratings[inp.ratings["rated_at"] >= now - timedelta(days=rules.tag_window_days)] if inp else pd.DataFrame()
    my_window = window[window["agent_id"] == agent_id] if len(window) else window
    improve = inp.improve if inp else pd.DataFrame(columns=["agent_id", "tag", "rating_id", "team_id"])
    my_tags = improve[improve["agent_id"] == agent_id].groupby("tag")["rating_id"].nunique().sort_values(ascending=False)
    team_tags = improve.groupby("tag")["rating_id"].nunique()
    topics = _training_table(improve, min_agents=rules.training_min_agents, min_ratings=rules.training_min_ratings)
    training = set(topics["tag"]) if len(topics) else set()
    focus = next((t for t in my_tags.index if t not in training), None)

    def avg(frame: pd.DataFrame) -> str:
        return f"{frame['stars'].mean():.2f}★" if len(frame) else "–"

    def five(frame: pd.DataFrame) -> str:
        return _pct(int((frame["stars"] == 5).sum()), len(frame)) if len(frame) else "–"

    lines = [
        f"1:1 PREP: {me['agent']} ({me['team']}, {me['site']})",
        f"Prepared {local_date(now, tz).isoformat()} for the week {week_key(local_date(now, tz))}.",
        "Coach one thing, from a specific recent contact; start with the positive.",
        "",
        "GOAL",
    ]
    if focus:
        lines.append(f"  - Focus: '{focus}' (named in {int(my_tags[focus])} of {len(my_window)} ratings in {days}).")
        lines.append(f"  - Aim: no '{focus}' mentions over the next two weeks.")
    else:
        lines.append("  - Focus: keep what works; pick one stretch goal together.")
    lines.append(
        f"  - Team target: praise-to-criticism {ratios.target_label(settings.ratio_target)}; "
        f"team average this week {board.prior:.2f}★." if not math.isnan(board.prior) else
        f"  - Team target: praise-to-criticism {ratios.target_label(settings.ratio_target)}."
    )
    lines += ["", "REALITY"]
    if len(row) and pd.notna(row.iloc[0]["rank"]):
        r = row.iloc[0]
        lines.append(
            f"  - This week: #{int(r['rank'])} of {ranked_n} ranked, {r['avg_stars']:.2f}★ over "
            f"{int(r['ratings'])} ratings (fair score {r['score']:.2f})."
        )
    elif len(row):
        r = row.iloc[0]
        lines.append(f"  - This week: {int(r['ratings'])} ratings so far (provisional, not ranked yet).")
    else:
        lines.append("  - This week: no ratings yet.")
    lines.append(
        f"  - Last {days}: {len(my_window)} ratings, {avg(my_window)}, {five(my_window)} 5★; "
        f"team {len(window)} ratings, {avg(window)}, {five(window)} 5★."
    )
    best = inp.best.get(agent_id) if inp else None
    if best is not None:
        lines.append(f"  - Strength: {evidence_text([evidence_item(best)], comment_chars=100)}.")
    lows = my_window[my_window["stars"] <= rules.low_max_stars].sort_values("rated_at", ascending=False) if len(my_window) else my_window
    if len(lows):
        lines.append(f"  - Recent low rating: {evidence_text([evidence_item(lows.iloc[0].to_dict())], comment_chars=100)}.")
    for tag, count in list(my_tags.items())[:3]:
        team_count = int(team_tags.get(tag, 0))
        lines.append(
            f"  - To improve: '{tag}' in {int(count)} of {len(my_window)} ratings ({_pct(count, len(my_window))}); "
            f"team {team_count} of {len(window)} ({_pct(team_count, len(window))})."
            + (" Team training topic." if tag in training else "")
        )
    received = ratios.received_this_week(
        session=session, agent_ids=[agent_id], team_ids=[team_id], now=now, tz_by_agent={agent_id: me["timezone"]},
        viewer=viewer,
    )
    p = int(received["praise"].sum()) if len(received) else 0
    c = int(received["criticism"].sum()) if len(received) else 0
    label = ratios.ratio_label(p, c)
    lines.append(
        f"  - Notes received this week: {p} praise, {c} criticism"
        + (f" ({label}, {ratios.ratio_status(p, c, settings.ratio_target)})." if label else f" ({ratios.ratio_status(p, c, settings.ratio_target)}).")
    )
    last = store.last_note_at(session=session, until=now, team_ids=[team_id], viewer=viewer)
    last_at = _pydt(dict(zip(last["agent_id"].astype(int), last["last_note_at"])).get(agent_id))
    lines.append(f"  - Last coached: {local_date(last_at, tz).isoformat()} ({_ago(last_at, now)})." if last_at else "  - Last coached: never.")
    lines += ["", "OPTIONS"]
    if len(lows):
        lines.append(f"  - Listen to {lows.iloc[0]['interaction_id']} together: what would {first} do differently?")
    if focus and inp is not None:
        went = inp.ratings[(inp.ratings["agent_id"] != agent_id) & inp.ratings["went_well"].map(lambda tags: focus in tags)]
        if len(went):
            peer_id = int(went.groupby("agent_id")["rating_id"].nunique().sort_values(ascending=False).index[0])
            peer = inp.info.get(peer_id, {}).get("agent")
            if peer:
                lines.append(f"  - Ask {peer} (most praised for '{focus}' on the team) to share what works.")
        lines.append(f"  - One micro-habit for '{focus}' on every contact this week.")
    lines.append("  - What does " + first + " suggest? Write down two or three options before choosing.")
    lines += [
        "",
        "WILL",
        "  - One action " + first + " commits to: ..................................",
        "  - By when: ..............    Check-in date: ..............",
        "  - How we'll know: " + (f"fewer '{focus}' mentions and stars on the next ratings." if focus else "stars and comments on the next ratings."),
        "",
    ]
    return "\n".join(lines)
