"""Writing: the one write path for interactions and ratings (upserts in batches).

Every interaction and rating enters the database through ``write_rows`` (seed
data, the simulator and tests call it directly; ``import_file`` hands it the
valid rows of a file). Writes go in batches, each in its own transaction: a
killed import leaves whole batches behind, and running it again finishes the job
(rows are upserted by ``interaction_id``, so nothing is doubled). Every low
rating opens a recovery case in the same transaction that lands it.

Every write takes the viewer it is done for (``SYSTEM_VIEWER`` at the command line,
the signed-in viewer on the Data page): a row outside the viewer's scope is refused
with its reason and changes nothing; a rating changed in place is audited (old -> new).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable, Iterator, Sequence

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection, Dialect, Engine

from db import changes
from db.audit import entry as audit_entry
from db.audit import record_many
from db.ingest.rows import CanonicalRow, ImportReport, RowError
from db.rollups import refresh_rollups
from db.models import MEMBERSHIP_SINCE, Agent, AgentTeam, Interaction, Rating, RatingTag, Site, Team, User, utcnow
from db.insert_new import insert_new
from db.notify_events import queue_celebrations
from db.recovery_store import open_cases
from db.retry import with_retry
from leaderboard.auth import Viewer, may_administer, may_write, require_viewer, visibility
from leaderboard.names import name_key, username_for
from leaderboard.notify_messages import CELEBRATION_STARS, is_fresh
from leaderboard.settings import Settings, get_settings

# Rows per transaction: big enough that commits and per-batch queries are a small share
# of the time (a batch dirties index pages all over the per-agent indexes, whatever its
# size), small enough that a killed import loses a second of work, not minutes.
DEFAULT_BATCH_SIZE = 10_000
MAX_USERNAME_LENGTH = 80
NEW_SITE_TIMEZONE = "UTC"

_SITE = Site.__table__
_TEAM = Team.__table__
_AGENT = Agent.__table__
_USER = User.__table__
_INTERACTION = Interaction.__table__
_RATING = Rating.__table__
_TAG = RatingTag.__table__
_MEMBER = AgentTeam.__table__

Progress = Callable[[ImportReport], None]


def leader_username(name: str) -> str:
    """The account name of a team leader known only by name: "José Núñez" -> "jose.nunez" (as the seed)."""
    try:
        username = username_for(name)
    except IndexError:  # nothing ASCII in the name ("王伟")
        username = ""
    if not username:
        username = "leader." + hashlib.sha1(name.encode("utf-8")).hexdigest()[:10]
    return username[:MAX_USERNAME_LENGTH]


# Up to this many rows given as a list: the write reads the directory of their agents only.
SMALL_WRITE = 50


def write_rows(
    *,
    engine: Engine,
    viewer: Viewer,
    rows: Iterable[CanonicalRow],
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
    allow_moves: bool = False,
    settings: Settings | None = None,
) -> ImportReport:
    """Upsert interactions and their ratings by ``interaction_id``; the one write path.

    Unknown sites, teams and agents are created; an agent named under another
    team of its site moves to it only with ``allow_moves`` (else the rating lands, the
    agent keeps their team and the move is listed in ``report.held_moves``); a row naming a ``leader`` makes that person (an
    account with the leader role, created if needed) the team's leader. A row
    without a rating never erases a stored rating. ``read`` counts the rows given;
    each is inserted, updated, unchanged or rejected: a row outside ``viewer``'s
    scope is refused with its reason (see ``_Directory``). ``progress`` is called
    after every batch. A rating changed in place leaves an audit entry. A row whose
    ``rated_at`` is older than the stored rating's changes nothing (newer-or-equal wins, so
    events arriving out of order never roll an answer back): it counts as unchanged and in
    ``report.stale``. ``settings``: the
    caller's (a server reads them once), else read now.
    """
    report = ImportReport()

    def counted() -> Iterator[CanonicalRow]:
        for row in rows:
            report.read += 1
            report.valid += 1
            yield row

    # A few rows given at once (an API call, a survey answer, a webhook): read only their agents.
    only = rows if isinstance(rows, (list, tuple)) and len(rows) <= SMALL_WRITE else None
    writer = BatchWriter(
        engine=engine, viewer=viewer, report=report, batch_size=batch_size, progress=progress, allow_moves=allow_moves,
        settings=settings, only=only,
    )
    writer.write_all(counted())
    report.moves, report.held_moves = writer.moves(), writer.held()
    return report


def _insert_or_get(conn: Connection, table, values: dict, *, key: tuple[str, ...], columns: tuple[str, ...]) -> tuple:
    """Insert a reference row (site, team, agent, account) unless its unique ``key`` is taken; its ``columns``.

    An idempotent upsert (INSERT ... ON CONFLICT DO NOTHING, then SELECT by the key): two
    imports creating the same new site at once both end with the one site, where a plain
    INSERT stopped the second with a unique-constraint error.
    """
    # Without ON CONFLICT (another database) a clash is retried by the batch writer (with_retry, retry_conflicts).
    stmt, _ = insert_new(conn.dialect.name, table, key=key)
    conn.execute(stmt.values(values))
    where = [table.c[k] == values[k] for k in key]
    return tuple(conn.execute(select(*(table.c[c] for c in columns)).where(*where)).one())


_AGENT_COLUMNS = (_AGENT.c.id, _AGENT.c.name, _AGENT.c.name_key, _AGENT.c.external_id, _AGENT.c.team_id)
_ALL_AGENTS = select(*_AGENT_COLUMNS).order_by(_AGENT.c.id)
# The agents a few rows can name (built once: a statement costs more to build than to run here).
_AGENTS_OF_ROWS = (
    select(*_AGENT_COLUMNS)
    .where(
        _AGENT.c.name_key.in_(bindparam("keys", expanding=True))
        | _AGENT.c.external_id.in_(bindparam("externals", expanding=True))
        | _AGENT.c.id.in_(
            select(_INTERACTION.c.agent_id).where(_INTERACTION.c.interaction_id.in_(bindparam("ids", expanding=True)))
        )
    )
    .order_by(_AGENT.c.id)
)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the viewer may not write a row (a column of the row, its value, the reason)."""

    column: str
    value: str
    reason: str


@dataclass(slots=True)
class Move:
    """An agent a file names under another team of their site, from the date of its earliest such row."""

    agent_id: int
    agent: str
    from_team_id: int
    from_team: str
    to_team: str
    since: datetime
    to_team_id: int | None = None  # None: the team does not exist yet (a held move does not create it)

    def text(self) -> str:
        """ "José Núñez: Sampaguita → Mabuhay from 2026-11-20"."""
        return f"{self.agent}: {self.from_team} → {self.to_team} from {self.since:%Y-%m-%d}"


def _row_time(row: CanonicalRow) -> datetime:
    """When the row's work was done: its rating's time, else its interaction's close."""
    return row.rated_at or row.closed_at


def _ensure_open_membership(conn: Connection, agent_id: int, team_id: int) -> None:
    """An open membership row for a new agent (unless one exists: another import created the agent first)."""
    has_open = conn.execute(
        select(_MEMBER.c.id).where(_MEMBER.c.agent_id == agent_id, _MEMBER.c.valid_to.is_(None)).limit(1)
    ).first()
    if has_open is None:
        conn.execute(insert(_MEMBER).values(agent_id=agent_id, team_id=team_id, valid_from=MEMBERSHIP_SINCE))


def _record_move(conn: Connection, move: Move, *, earlier: datetime | None) -> None:
    """Close the agent's membership of ``from_team`` at ``since`` and open one of ``to_team`` from it.

    ``earlier``: the move was already recorded from that (later) date; a row dated before it moves the date back.
    """
    if earlier is not None:
        conn.execute(
            update(_MEMBER)
            .where(_MEMBER.c.agent_id == move.agent_id, _MEMBER.c.team_id == move.from_team_id,
                   _MEMBER.c.valid_to == earlier)
            .values(valid_to=move.since)
        )
        conn.execute(
            update(_MEMBER)
            .where(_MEMBER.c.agent_id == move.agent_id, _MEMBER.c.team_id == move.to_team_id,
                   _MEMBER.c.valid_to.is_(None))
            .values(valid_from=move.since)
        )
        return
    closed = conn.execute(
        update(_MEMBER)
        .where(_MEMBER.c.agent_id == move.agent_id, _MEMBER.c.valid_to.is_(None))
        .values(valid_to=move.since)
    ).rowcount
    if not closed:  # an agent created before memberships were kept (or without one): its past team until now
        conn.execute(
            insert(_MEMBER).values(
                agent_id=move.agent_id, team_id=move.from_team_id, valid_from=MEMBERSHIP_SINCE, valid_to=move.since
            )
        )
    conn.execute(insert(_MEMBER).values(agent_id=move.agent_id, team_id=move.to_team_id, valid_from=move.since))


@dataclass(slots=True)
class _Known:
    """A stored agent, as the directory knows it."""

    team_id: int
    name: str
    external_id: str | None


@dataclass
class _Directory:
    """Sites, teams, agents and leaders, loaded once per import and extended as rows create them.

    It decides, per row and before writing anything of it, whether the viewer may
    write it (``leaderboard.auth.may_write``: the viewer's scope, read from the one
    visibility policy) and which agent it names: the agent with the row's
    ``agent_external_id``, else the one whose name matches without case or accents
    (``leaderboard.names.name_key``) in the row's site. A file never moves an agent to
    another site (``agents move`` does, audited).
    """

    viewer: Viewer
    sites: dict[str, int]  # lower(name) -> id
    site_names: dict[int, str]
    teams: dict[tuple[int, str], int]  # (site id, lower(name)) -> id
    team_info: dict[int, tuple[int, str]]  # team id -> (site id, name)
    leaders: dict[int, int | None]  # team id -> leader's user id
    agents: dict[int, _Known]  # agent id -> what is stored
    by_key: dict[tuple[int, str], int]  # (site id, name_key) -> agent id
    by_external: dict[str, int]  # external id -> agent id
    users: dict[str, tuple[int, str, str]] | None = None  # username -> (id, role, folded display name)
    leader_ids: dict[str, int] = field(default_factory=dict)  # leader's name -> user id
    new_site_timezone: str = NEW_SITE_TIMEZONE
    # Moves to another team of the site, by agent id: made (``allow_moves``) or held back.
    allow_moves: bool = False
    moves: dict[int, Move] = field(default_factory=dict)
    held: dict[int, Move] = field(default_factory=dict)
    # Nothing is written (a dry run): moves are only listed, as held back.
    preview: bool = False
    keys: dict[str, str] = field(default_factory=dict)  # name -> name_key (a cache)
    # The viewer writes everywhere (an admin, the system): only the identity rules apply.
    everywhere: bool = False

    @classmethod
    def load(cls, conn: Connection, viewer: Viewer, *, only: Sequence[CanonicalRow] | None = None) -> "_Directory":
        """Every site, team and agent; with ``only`` (all the rows a small write will ever see), the
        agents those rows can name: by name or external id, or as the stored agent of their
        interaction (a single API or survey write reads a handful of agents, not the whole center).
        """
        site_names = {id_: name for id_, name in conn.execute(select(_SITE.c.id, _SITE.c.name))}
        teams, team_info, leaders = {}, {}, {}
        for id_, site_id, name, leader_id in conn.execute(
            select(_TEAM.c.id, _TEAM.c.site_id, _TEAM.c.name, _TEAM.c.leader_id)
        ):
            teams[(site_id, name.lower())] = id_
            team_info[id_] = (site_id, name)
            leaders[id_] = leader_id
        agents, by_key, by_external = {}, {}, {}
        if only is None:
            found = conn.execute(_ALL_AGENTS)
        else:
            found = conn.execute(_AGENTS_OF_ROWS, {
                "keys": sorted({name_key(r.agent)[:120] for r in only}),
                "externals": sorted({r.agent_external_id for r in only if r.agent_external_id}),
                "ids": sorted({r.interaction_id for r in only}),
            })
        for id_, name, key, external_id, team_id in found:
            agents[id_] = _Known(team_id=team_id, name=name, external_id=external_id)
            by_key.setdefault((team_info[team_id][0], key), id_)
            if external_id is not None:
                by_external[external_id] = id_
        return cls(
            viewer=require_viewer(viewer),
            sites={name.lower(): id_ for id_, name in site_names.items()},
            site_names=site_names,
            teams=teams,
            team_info=team_info,
            leaders=leaders,
            agents=agents,
            by_key=by_key,
            by_external=by_external,
            everywhere=may_administer(viewer),
        )

    # --- the viewer's scope


    def scope_label(self) -> str:
        ids = visibility(self.viewer).site_ids
        return ", ".join(sorted(self.site_names.get(i, f"site {i}") for i in ids)) or "no site"

    def outside(self, *, site_id: int, team_id: int | None = None) -> bool:
        return not self.everywhere and not may_write(self.viewer, site_id=site_id, team_id=team_id)

    def where(self, agent_id: int) -> str:
        """ "Manila/Blue": the agent's site and team."""
        site_id, team = self.team_info[self.agents[agent_id].team_id]
        return f"{self.site_names[site_id]}/{team}"

    def site_refusal(self, row: CanonicalRow) -> Refusal | None:
        """Why the viewer may not write at the row's site (None: they may)."""
        if self.everywhere:
            return None
        site_id = self.sites.get(row.site.lower())
        if site_id is None:
            return Refusal("site", row.site, f"site {row.site} does not exist; only an admin may create a site")
        if self.outside(site_id=site_id):
            return Refusal(
                "site", row.site, f"site {self.site_names[site_id]} is outside your scope ({self.scope_label()})"
            )
        return None

    def stored_refusal(self, conn: Connection, interaction_id: str, agent_id: int) -> Refusal | None:
        """A stored interaction may be rewritten only by a viewer whose scope holds its agent."""
        if self.everywhere:
            return None
        if agent_id not in self.agents:  # written by someone else since this import began
            self._load_agent(conn, agent_id)
        team_id = self.agents[agent_id].team_id
        site_id = self.team_info[team_id][0]
        if not self.outside(site_id=site_id, team_id=team_id):
            return None
        return Refusal(
            "interaction_id",
            interaction_id,
            f"interaction {interaction_id} belongs to site {self.site_names[site_id]}, "
            f"outside your scope ({self.scope_label()})",
        )

    # --- one row

    def agent_id(self, conn: Connection, row: CanonicalRow) -> int | Refusal:
        """The row's agent id, creating its site, team and agent as needed; or why the viewer may not write it.

        Everything is checked before anything of the row is written: a refused row changes nothing.
        """
        refusal = self.site_refusal(row)
        if refusal is not None:
            return refusal
        site_id = self.sites.get(row.site.lower())
        team_id = None if site_id is None else self.teams.get((site_id, row.team.lower()))
        if team_id is not None and self.outside(site_id=site_id, team_id=team_id):
            return Refusal("team", row.team, f"team {row.team} is outside your scope ({self.scope_label()})")
        found = self._identify(site_id, row)
        if isinstance(found, Refusal):
            return found
        if found is not None:
            current = self.agents[found].team_id
            if self.outside(site_id=self.team_info[current][0], team_id=current):
                return Refusal("agent", row.agent, f"agent {row.agent} is outside your scope ({self.scope_label()})")
        leader = None
        if row.leader:
            leader = self._leader_account(conn, row.leader)
            if (leader[1] is None or leader[1][1] == "agent") and not may_administer(self.viewer):
                what = (
                    f"create a leader account for {row.leader}"
                    if leader[1] is None
                    else f"promote the agent account of {row.leader} to team leader"
                )
                return Refusal("leader", row.leader, f"only an admin may {what} through an import")

        if found is not None and self.agents[found].team_id != team_id:
            held = self._held_move(found, row, site_id, team_id)
            if held:
                team_id = self.agents[found].team_id  # the agent keeps their team; the rating still lands
                if self.teams.get((site_id, row.team.lower())) is None:
                    leader = None  # the row's team is not created for a move held back: nor its leader

        if self.preview:
            return found if found is not None else 0
        # Allowed: write it. New sites, teams and agents are upserts: another import may create the same one at once.
        if site_id is None:
            (site_id,) = _insert_or_get(
                conn, _SITE, {"name": row.site, "timezone": self.new_site_timezone}, key=("name",), columns=("id",)
            )
            self.sites[row.site.lower()] = site_id
            self.site_names[site_id] = row.site
        if team_id is None:
            team_id, leader_id = _insert_or_get(
                conn, _TEAM, {"name": row.team, "site_id": site_id}, key=("site_id", "name"), columns=("id", "leader_id")
            )
            self.teams[(site_id, row.team.lower())] = team_id
            self.team_info[team_id] = (site_id, row.team)
            self.leaders[team_id] = leader_id
        if leader is not None:
            self._lead(conn, team_id, row.leader, leader)
        external_id = row.agent_external_id or None
        if found is None:
            key = self._key(row.agent)
            values = {
                "name": row.agent,
                "name_key": key,
                "external_id": external_id,
                # Stored in full: public screens shorten it when they show it (leaderboard.names).
                "display_name": row.agent,
                "team_id": team_id,
                "active": True,
                "hide_from_wall": False,
            }
            (found,) = _insert_or_get(conn, _AGENT, values, key=("team_id", "name_key"), columns=("id",))
            _ensure_open_membership(conn, found, team_id)
            self.agents[found] = _Known(team_id=team_id, name=row.agent, external_id=external_id)
            self.by_key[(site_id, key)] = found
            if external_id:
                self.by_external[external_id] = found
            return found
        known = self.agents[found]
        updates = {}
        when = _row_time(row)
        moved = False
        if known.team_id != team_id:
            move = Move(
                agent_id=found, agent=known.name, from_team_id=known.team_id,
                from_team=self.team_info[known.team_id][1], to_team=row.team, to_team_id=team_id, since=when,
            )
            updates["team_id"] = known.team_id = team_id
            _record_move(conn, move, earlier=None)
            self.moves[found] = move
            moved = True
        elif found in self.moves and when < self.moves[found].since and self.moves[found].to_team_id == team_id:
            # A later row of the file named the new team first: the move dates from this earlier row.
            move = self.moves[found]
            earlier, move.since = move.since, when
            _record_move(conn, move, earlier=earlier)
            moved = True
        if external_id and known.external_id is None:
            updates["external_id"] = known.external_id = external_id
            self.by_external[external_id] = found
        if updates:
            conn.execute(update(_AGENT).where(_AGENT.c.id == found).values(**updates))
        if moved:
            # A move (or its date moved back) re-dates memberships: every day of the agent follows.
            refresh_rollups(conn, [(found, None)])
        return found

    def _held_move(self, agent_id: int, row: CanonicalRow, site_id: int, team_id: int | None) -> bool:
        """Hold back the move this row asks for unless moves are allowed; True when held."""
        if self.allow_moves and not self.preview:
            return False
        when = _row_time(row)
        move = self.held.get(agent_id)
        if move is None or move.to_team.lower() != row.team.lower():
            known = self.agents[agent_id]
            self.held[agent_id] = Move(
                agent_id=agent_id, agent=known.name, from_team_id=known.team_id,
                from_team=self.team_info[known.team_id][1], to_team=row.team, to_team_id=team_id, since=when,
            )
        elif when < move.since:
            move.since = when
        return True

    def _load_agent(self, conn: Connection, agent_id: int) -> None:
        """Learn an agent (with its team and site) that appeared after ``load``."""
        found = conn.execute(
            select(_AGENT.c.name, _AGENT.c.external_id, _TEAM.c.id, _TEAM.c.name, _SITE.c.id, _SITE.c.name)
            .join(_TEAM, _TEAM.c.id == _AGENT.c.team_id)
            .join(_SITE, _SITE.c.id == _TEAM.c.site_id)
            .where(_AGENT.c.id == agent_id)
        ).one()
        name, external_id, team_id, team, site_id, site = found
        self.agents[agent_id] = _Known(team_id=team_id, name=name, external_id=external_id)
        self.team_info.setdefault(team_id, (site_id, team))
        self.site_names.setdefault(site_id, site)

    def _key(self, name: str) -> str:
        key = self.keys.get(name)
        if key is None:
            key = self.keys[name] = name_key(name)[:120]
        return key

    def _identify(self, site_id: int | None, row: CanonicalRow) -> int | None | Refusal:
        """The stored agent the row names (None: a new agent), or why the row cannot name one."""
        external_id = row.agent_external_id
        if external_id:
            found = self.by_external.get(external_id)
            if found is not None:
                known = self.agents[found]
                home = self.team_info[known.team_id][0]
                if home != site_id:
                    return Refusal(
                        "agent_external_id",
                        external_id,
                        f"agent {known.name} ({external_id}) works at site {self.site_names[home]}: a file never "
                        "moves an agent to another site (an admin can: python -m leaderboard agents move)",
                    )
                return found
        if site_id is None:
            return None
        found = self.by_key.get((site_id, self._key(row.agent)))
        if found is not None and external_id and self.agents[found].external_id not in (None, external_id):
            other = self.agents[found].external_id
            return Refusal(
                "agent_external_id",
                external_id,
                f"{self.agents[found].name} at site {self.site_names[site_id]} is agent {other}, not {external_id}",
            )
        return found

    def _lead(self, conn: Connection, team_id: int, name: str, account: tuple[str, tuple | None]) -> None:
        """Make ``name`` the team's leader (the latest row naming a leader wins)."""
        user_id = self.leader_ids.get(name)
        if user_id is None:
            user_id = self.leader_ids[name] = self._leader_user(conn, name, account)
        if self.leaders.get(team_id) != user_id:
            conn.execute(update(_TEAM).where(_TEAM.c.id == team_id).values(leader_id=user_id))
            self.leaders[team_id] = user_id

    def _leader_account(self, conn: Connection, name: str) -> tuple[str, tuple[int, str, str] | None]:
        """The username for the leader called ``name`` and their account (None: none yet).

        Found by username (``leader_username``) when its display name is this name; two
        people whose names give the same username get ``name.2``, ``name.3``...
        """
        if name in self.leader_ids:
            user_id = self.leader_ids[name]
            return next((u, k) for u, k in self.users.items() if k[0] == user_id)
        if self.users is None:
            self.users = {
                username: (id_, role, " ".join(display.split()).casefold())
                for id_, username, role, display in conn.execute(
                    select(_USER.c.id, _USER.c.username, _USER.c.role, _USER.c.display_name)
                )
            }
        base = leader_username(name)
        wanted = " ".join(name.split()).casefold()
        username, n = base, 1
        while (known := self.users.get(username)) is not None and known[2] != wanted and known[2] != username:
            n += 1
            suffix = f".{n}"
            username = base[: MAX_USERNAME_LENGTH - len(suffix)] + suffix
        return username, known

    def _leader_user(self, conn: Connection, name: str, account: tuple[str, tuple | None]) -> int:
        """The leader's account id: created with the leader role, or an agent's account promoted."""
        username, known = account
        if known is None:
            values = {
                "username": username,
                "display_name": name,
                "role": "leader",
                "password_hash": "",  # no password yet: an admin sets one before the leader can sign in
                "disabled": False,
                "created_at": utcnow(),
            }
            user_id, role, display = _insert_or_get(
                conn, _USER, values, key=("username",), columns=("id", "role", "display_name")
            )
            known = self.users[username] = (user_id, role, " ".join(display.split()).casefold())
        user_id, role, display = known
        if role == "agent":  # an agent promoted to team leader
            conn.execute(update(_USER).where(_USER.c.id == user_id).values(role="leader"))
            self.users[username] = (user_id, "leader", display)
        return user_id


_INTERACTION_FIELDS = ("agent_id", "channel", "contact_reason", "closed_at")
_RATING_FIELDS = ("agent_id", "stars", "comment", "resolved", "nps", "rated_at")

_UPDATE_INTERACTION = (
    update(_INTERACTION)
    .where(_INTERACTION.c.id == bindparam("b_id"))
    .values({f: bindparam(f"b_{f}") for f in _INTERACTION_FIELDS})
)
_UPDATE_RATING = (
    update(_RATING).where(_RATING.c.id == bindparam("b_id")).values({f: bindparam(f"b_{f}") for f in _RATING_FIELDS})
)
_SELECT_EXISTING = select(
    _INTERACTION.c.interaction_id,
    _INTERACTION.c.id,
    *(_INTERACTION.c[f] for f in _INTERACTION_FIELDS),
    _RATING.c.id,
    *(_RATING.c[f] for f in _RATING_FIELDS),
).select_from(_INTERACTION.outerjoin(_RATING, _RATING.c.interaction_id == _INTERACTION.c.id))


class _BulkInsert:
    """An INSERT compiled once for the engine's dialect and run with the driver's executemany.

    Core's executemany converts and copies every parameter set in Python, which cost more
    than SQLite's own inserting; here the dialect's type conversions (SQLite stores
    datetimes as text) run column by column, only on the columns that need one. The SQL
    is still SQLAlchemy's, so the statement is the dialect's own (SQLite, PostgreSQL).
    """

    def __init__(self, dialect: Dialect, table, columns: tuple[str, ...]) -> None:
        compiled = insert(table).inline().values({c: bindparam(c) for c in columns}).compile(dialect=dialect)
        self.sql = str(compiled)
        # Columns left out get their schema defaults (excluded_reason=''), rendered as parameters too.
        names = tuple(compiled.positiontup) if dialect.positional else tuple(compiled.binds)
        extra = tuple(n for n in names if n not in columns)
        for name in extra:
            default = table.c[name].default
            if default is None or not default.is_scalar:
                raise RuntimeError(f"{table.name}.{name} needs a value in bulk inserts")
        self.columns = columns + extra
        self.constants = tuple(table.c[name].default.arg for name in extra)
        self.positional = bool(dialect.positional)
        if self.positional and names != self.columns:
            raise RuntimeError(f"unexpected parameter order in {self.sql}")
        self.processors = tuple(
            (i, _fast_processor(p))
            for i, c in enumerate(self.columns)
            if (p := table.c[c].type.dialect_impl(dialect).bind_processor(dialect)) is not None
        )

    def run(self, conn: Connection, rows: list[tuple]) -> None:
        if not rows:
            return
        if self.constants:
            constants = self.constants
            rows = [r + constants for r in rows]
        if self.processors:
            # Column by column: one C-level map per converted column instead of a Python call per row.
            columns = list(zip(*rows))
            for i, process in self.processors:
                columns[i] = map(process, columns[i])
            rows = list(zip(*columns))
        if self.positional:
            conn.exec_driver_sql(self.sql, rows)
        else:
            names = self.columns
            conn.exec_driver_sql(self.sql, [dict(zip(names, r)) for r in rows])


_BULK_INSERTS: dict[tuple, _BulkInsert] = {}


def _bulk_insert(dialect: Dialect, table, columns: tuple[str, ...]) -> _BulkInsert:
    """The ``_BulkInsert`` for this kind of dialect, table and columns, compiled once per process.

    Compiling costs about a millisecond each: a one-row write (the API's single rating)
    spent more on it than on its SQL. A ``_BulkInsert`` is never changed after it is made.
    """
    key = (dialect.name, dialect.driver, dialect.paramstyle, table.name, columns)
    found = _BULK_INSERTS.get(key)
    if found is None:
        found = _BULK_INSERTS[key] = _BulkInsert(dialect, table, columns)
    return found


_PROBES = (datetime(2026, 11, 20, 14, 3), datetime(2026, 1, 2, 3, 4, 5, 60), datetime(999, 12, 31, 23, 59, 59, 999999))


def _iso_microseconds(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(" ", "microseconds")


def _fast_processor(process: Callable) -> Callable:
    """``process``, or ``datetime.isoformat`` where that writes exactly the same text (SQLite's DATETIME)."""
    try:
        same = all(process(p) == _iso_microseconds(p) for p in _PROBES) and process(None) is None
    except Exception:  # noqa: BLE001 - not a datetime column
        return process
    return _iso_microseconds if same else process


class _Lookup:
    """``SELECT key, value... FROM table WHERE key IN (...)`` run by the driver, without result conversion.

    For text and integer columns only (what the write path looks up: external ids and
    primary keys). Core's expanding IN renders and names every parameter in Python on
    each call; this builds the placeholder list once per length.
    """

    CHUNK = 5000  # placeholders per query: far below SQLite's and PostgreSQL's limits

    def __init__(self, dialect: Dialect, table, key: str, values: tuple[str, ...] = ()) -> None:
        marks = {"qmark": "?", "format": "%s", "pyformat": "%s"}
        self.mark = marks.get(dialect.paramstyle)
        self.columns = (table.c[key], *(table.c[v] for v in values))
        prepare = dialect.identifier_preparer
        self.head = (
            f"SELECT {', '.join(prepare.format_column(c) for c in self.columns)} "
            f"FROM {prepare.format_table(table)} WHERE {prepare.format_column(table.c[key])} IN "
        )

    def __call__(self, conn: Connection, keys: list) -> list[tuple]:
        if self.mark is None:  # another parameter style: the portable Core query
            stmt = select(*self.columns).where(self.columns[0].in_(keys))
            return [tuple(r) for r in conn.execute(stmt)]
        found: list[tuple] = []
        for start in range(0, len(keys), self.CHUNK):
            chunk = tuple(keys[start : start + self.CHUNK])
            sql = self.head + "(" + ", ".join([self.mark] * len(chunk)) + ")"
            found.extend(conn.exec_driver_sql(sql, chunk).fetchall())
        return found


@dataclass(frozen=True, slots=True)
class _Stored:
    """An interaction already in the database, as plain tuples in ``*_FIELDS`` order."""

    id: int
    values: tuple
    rating_id: int | None
    rating: tuple | None


def _touched(batch: list[CanonicalRow], agent_ids: list[int], existing: dict[str, _Stored]) -> list[tuple]:
    """(agent, moment) of every row the batch wrote, before and after: the rollups to recompute."""
    pairs: list[tuple] = []
    at = _INTERACTION_FIELDS.index("closed_at")
    rated = _RATING_FIELDS.index("rated_at")
    for row, agent_id in zip(batch, agent_ids):
        pairs.append((agent_id, row.closed_at))
        if row.rated_at is not None:
            pairs.append((agent_id, row.rated_at))
        stored = existing.get(row.interaction_id)
        if stored is not None:
            pairs.append((stored.values[0], stored.values[at]))
            if stored.rating is not None:
                pairs.append((stored.rating[0], stored.rating[rated]))
                pairs.append((agent_id, stored.rating[rated]))  # a kept rating follows its interaction's agent
    return pairs


def _older(row: CanonicalRow, stored: _Stored) -> bool:
    """Whether the row's answer was given before the stored answer (newer-or-equal wins)."""
    if row.stars is None or row.rated_at is None or stored.rating is None:
        return False
    stored_at = stored.rating[_RATING_FIELDS.index("rated_at")]
    return stored_at is not None and row.rated_at < stored_at


def _interaction_tuple(row: CanonicalRow, agent_id: int) -> tuple:
    return (agent_id, row.channel, row.contact_reason, row.closed_at)


def _rating_tuple(row: CanonicalRow, agent_id: int) -> tuple:
    return (agent_id, row.stars, row.comment, row.resolved, row.nps, row.rated_at)


def _tag_set(row: CanonicalRow) -> set[tuple[str, str]]:
    return {("went_well", t) for t in row.went_well} | {("to_improve", t) for t in row.to_improve}


def _tag_rows(rating_id: int, row: CanonicalRow) -> list[tuple]:
    """(rating_id, kind, tag) in ``_TAG_COLUMNS`` order."""
    return [(rating_id, kind, tag) for kind, tag in sorted(_tag_set(row))]


_INTERACTION_COLUMNS = ("interaction_id", "agent_id", "channel", "contact_reason", "closed_at")
_RATING_COLUMNS = ("interaction_id", "agent_id", "stars", "comment", "resolved", "nps", "rated_at")
_TAG_COLUMNS = ("rating_id", "kind", "tag")


@dataclass
class _BatchPlan:
    """What one batch changes, worked out from the rows and what is stored, before any write."""

    new_interactions: list[tuple] = field(default_factory=list)  # in _INTERACTION_COLUMNS order
    new_rated: list[tuple[CanonicalRow, int]] = field(default_factory=list)  # (row, agent id) of new interactions
    interaction_updates: list[dict] = field(default_factory=list)
    rating_inserts: list[tuple[CanonicalRow, int, int]] = field(default_factory=list)  # (row, agent id, interaction pk)
    rating_updates: list[dict] = field(default_factory=list)
    tag_replacements: dict[int, CanonicalRow] = field(default_factory=dict)  # rating id -> row with its new tags
    edits: list[tuple[str, tuple, tuple]] = field(default_factory=list)  # (interaction id, old, new) ratings

    def add(
        self, row: CanonicalRow, agent_id: int, stored: _Stored | None, stored_tags: dict[int, set[tuple[str, str]]]
    ) -> str:
        """Plan one row; returns the report counter it belongs to: inserted, updated, unchanged or stale."""
        if stored is None:
            self.new_interactions.append(
                (row.interaction_id, agent_id, row.channel, row.contact_reason, row.closed_at)
            )
            if row.stars is not None:
                self.new_rated.append((row, agent_id))
            return "inserted"
        if _older(row, stored):
            # An answer older than the stored one (an event that arrived late, an old file) never
            # rolls a newer answer back: the whole row is left out, the stored interaction too.
            return "stale"
        changed = False
        values = _interaction_tuple(row, agent_id)
        if values != stored.values:
            self.interaction_updates.append(_bind(stored.id, _INTERACTION_FIELDS, values))
            changed = True
        if row.stars is not None and stored.rating_id is None:
            self.rating_inserts.append((row, agent_id, stored.id))
            changed = True
        elif row.stars is not None:
            wanted = _rating_tuple(row, agent_id)
            if wanted != stored.rating:
                self.rating_updates.append(_bind(stored.rating_id, _RATING_FIELDS, wanted))
                self.edits.append((row.interaction_id, stored.rating, wanted))
                changed = True
            if stored_tags.get(stored.rating_id, set()) != _tag_set(row):
                self.tag_replacements[stored.rating_id] = row
                changed = True
        elif stored.rating_id is not None and stored.rating[0] != agent_id:
            # No answer in this row: keep the stored rating, but it follows its interaction's agent.
            self.rating_updates.append(_bind(stored.rating_id, _RATING_FIELDS, (agent_id, *stored.rating[1:])))
            changed = True
        return "updated" if changed else "unchanged"


class BatchWriter:
    """Collects rows into batches and writes each batch in one transaction."""

    def __init__(
        self,
        *,
        engine: Engine,
        viewer: Viewer,
        report: ImportReport,
        batch_size: int,
        progress: Progress | None = None,
        new_site_timezone: str = NEW_SITE_TIMEZONE,
        refused: Refused | None = None,
        allow_moves: bool = False,
        settings: Settings | None = None,
        only: Sequence[CanonicalRow] | None = None,
    ) -> None:
        self.engine = engine
        # Every row this writer will see, when it is known and small: the directory reads only their agents.
        self.only = only
        # Team moves asked for by the rows: made only when allowed (kept here: a retried batch reloads the directory).
        self.allow_moves = allow_moves
        self.made_moves: dict[int, Move] = {}
        self.held_moves: dict[int, Move] = {}
        self.viewer = require_viewer(viewer)
        self.refused = refused or _count_refusal(report)
        self.refusals = 0
        self.edited = 0
        self.new_site_timezone = new_site_timezone
        self.report = report
        self.batch_size = max(1, batch_size)
        self.progress = progress
        self.directory: _Directory | None = None
        self.settings = settings or get_settings()
        self.recovery_threshold = self.settings.recovery_threshold
        dialect = engine.dialect
        self.insert_interactions = _bulk_insert(dialect, _INTERACTION, _INTERACTION_COLUMNS)
        self.insert_ratings = _bulk_insert(dialect, _RATING, _RATING_COLUMNS)
        self.insert_tags = _bulk_insert(dialect, _TAG, _TAG_COLUMNS)
        self.stored_ids = _Lookup(dialect, _INTERACTION, "interaction_id")
        self.interaction_pks = _Lookup(dialect, _INTERACTION, "interaction_id", ("id",))
        self.rating_pks = _Lookup(dialect, _RATING, "interaction_id", ("id",))

    def write_all(self, rows: Iterable[CanonicalRow]) -> None:
        batch: list[CanonicalRow] = []
        ids: set[str] = set()
        size = self.batch_size
        for row in rows:
            # A repeated id inside one batch would be inserted twice: write what came before it first,
            # so the second occurrence is an update of the first, as in a re-import.
            if row.interaction_id in ids:
                self._flush(batch)
                batch, ids = [], set()
            batch.append(row)
            ids.add(row.interaction_id)
            if len(batch) >= size:
                self._flush(batch)
                batch, ids = [], set()
        self._flush(batch)

    def _flush(self, batch: list[CanonicalRow]) -> None:
        """Write ``batch`` in one transaction, run again when another writer was in the way.

        A locked SQLite file, a PostgreSQL serialization failure or deadlock, or a key another
        import landed first (the same file twice at once) rolls the batch back; it is then
        planned and written afresh (``db.retry.with_retry``), from a directory read anew.
        """
        if not batch:
            return
        report = self.report
        counted = (report.inserted, report.updated, report.unchanged, report.stale)

        def write() -> None:
            with self.engine.begin() as conn:
                if self.directory is None:
                    self.directory = _Directory.load(conn, self.viewer, only=self.only)
                    self.directory.new_site_timezone = self.new_site_timezone
                    self.directory.allow_moves = self.allow_moves
                    self.directory.moves = self.made_moves
                    self.directory.held = self.held_moves
                self._write_batch(conn, batch)
                changes.bump(conn)  # caches key on the counter: the batch and its bump commit together

        def forget(_exc: BaseException | None = None) -> None:
            # The rolled-back transaction's new ids and counts never happened.
            self.directory = None
            report.inserted, report.updated, report.unchanged, report.stale = counted

        try:
            with_retry(write, retry_conflicts=True, on_retry=forget)
        except BaseException:
            forget()
            raise
        if self.progress is not None:
            self.progress(self.report)

    def _write_batch(self, conn: Connection, batch: list[CanonicalRow]) -> None:
        # Which ids are stored, first, by the cheap query: a first import finds none and skips the full lookup.
        stored = [r[0] for r in self.stored_ids(conn, [row.interaction_id for row in batch])]
        existing = self._existing(conn, stored) if stored else {}
        batch, agent_ids = self._admit(conn, batch, existing)
        if not batch:
            return
        stored_tags = self._tags(conn, [s.rating_id for s in existing.values() if s.rating_id is not None])
        plan = _BatchPlan()
        counts = {"inserted": 0, "updated": 0, "unchanged": 0, "stale": 0}
        written = batch  # the rows that change something: only they move rollups or may be celebrated
        if existing:
            written = []
            for row, aid in zip(batch, agent_ids):
                outcome = plan.add(row, aid, existing.get(row.interaction_id), stored_tags)
                counts[outcome] += 1
                if outcome in ("inserted", "updated"):
                    written.append(row)
        else:
            # A batch of new interactions only (a first import): the plan without the lookups.
            plan.new_interactions = [
                (row.interaction_id, aid, row.channel, row.contact_reason, row.closed_at)
                for row, aid in zip(batch, agent_ids)
            ]
            plan.new_rated = [(row, aid) for row, aid in zip(batch, agent_ids) if row.stars is not None]
            counts["inserted"] = len(batch)
        counts["unchanged"] += counts["stale"]  # a stale row changed nothing; ``stale`` says why
        for outcome, n in counts.items():
            setattr(self.report, outcome, getattr(self.report, outcome) + n)
        self._apply(conn, plan)
        # A re-run of the same file changes nothing: its unchanged and stale rows recompute nothing.
        agent_of = dict(zip((row.interaction_id for row in batch), agent_ids))
        refresh_rollups(conn, _touched(written, [agent_of[row.interaction_id] for row in written], existing))
        if plan.edits:
            self.edited += len(plan.edits)
            record_many(conn, (self._edit_entry(*edit) for edit in plan.edits))
        # Every low rating opens a recovery case in the same transaction that lands it,
        # whichever way it came in (import, simulator, seed).
        low = [row.interaction_id for row in batch if row.stars is not None and row.stars <= self.recovery_threshold]
        if low:
            open_cases(conn, interaction_ids=low, settings=self.settings)
        # Praise the moment it happens, in the same transaction: the rows that may qualify are
        # checked here cheaply (a history import has none fresh); the stored rating decides.
        now = utcnow()
        praise = [
            row.interaction_id for row in written
            if row.stars == CELEBRATION_STARS and row.comment.strip() and not row.to_improve
            and is_fresh(row.rated_at, now, max_age_hours=self.settings.notify_max_age_hours)
        ]
        if praise:
            queue_celebrations(conn, interaction_ids=praise, now=now, settings=self.settings)

    def _admit(
        self, conn: Connection, batch: list[CanonicalRow], existing: dict[str, "_Stored"]
    ) -> tuple[list[CanonicalRow], list[int]]:
        """The rows the viewer may write, with their agents' ids; every other row is refused with its reason."""
        directory = self.directory
        kept, agent_ids = [], []
        for row in batch:
            stored = existing.get(row.interaction_id)
            found = directory.site_refusal(row)
            if found is None and stored is not None:
                found = directory.stored_refusal(conn, row.interaction_id, stored.values[0])
            if found is None:
                found = directory.agent_id(conn, row)
            if type(found) is Refusal:
                self.refusals += 1
                self.report.valid -= 1
                self.refused(row, found)
            else:
                kept.append(row)
                agent_ids.append(found)
        return kept, agent_ids

    def _edit_entry(self, interaction_id: str, old: tuple, new: tuple) -> dict:
        """The audit entry of a rating changed in place: each changed field, old -> new."""
        edits = []
        for name, before, after in zip(_RATING_FIELDS, old, new):
            if before == after:
                continue
            if name == "agent_id":
                known = self.directory.agents
                name = "agent"
                before, after = (known[i].name if i in known else f"agent {i}" for i in (before, after))
            edits.append(f"{name} {_shown(before)} -> {_shown(after)}")
        return audit_entry(
            actor=self.viewer.username, kind="rating_edited", target=f"interaction {interaction_id}",
            detail="; ".join(edits),
        )

    def moves(self) -> list[str]:
        """Agents this import moved to another team of their site: "Ann Good: Blue → Red from 2026-11-20"."""
        return [m.text() for m in self.made_moves.values()]

    def held(self) -> list[str]:
        """Moves the rows asked for and this import held back (moves were not allowed): the agents kept their team."""
        return [m.text() for m in self.held_moves.values() if m.agent_id not in self.made_moves]

    def _apply(self, conn: Connection, plan: "_BatchPlan") -> None:
        """Run the plan's statements: bulk inserts and executemany updates, no per-row round trips."""
        rating_inserts = list(plan.rating_inserts)
        if plan.new_interactions:
            self.insert_interactions.run(conn, plan.new_interactions)
            if plan.new_rated:
                # Only rated rows need their new interaction's id (for the rating's foreign key).
                pks = dict(self.interaction_pks(conn, [row.interaction_id for row, _ in plan.new_rated]))
                rating_inserts.extend((row, agent_id, pks[row.interaction_id]) for row, agent_id in plan.new_rated)
        if plan.interaction_updates:
            conn.execute(_UPDATE_INTERACTION, plan.interaction_updates)
        if plan.rating_updates:
            conn.execute(_UPDATE_RATING, plan.rating_updates)
        new_tags: list[tuple] = []
        if plan.tag_replacements:
            conn.execute(delete(_TAG).where(_TAG.c.rating_id.in_(list(plan.tag_replacements))))
            for rating_id, row in plan.tag_replacements.items():
                new_tags.extend(_tag_rows(rating_id, row))
        if rating_inserts:
            self.insert_ratings.run(
                conn,
                [
                    (pk, agent_id, row.stars, row.comment, row.resolved, row.nps, row.rated_at)
                    for row, agent_id, pk in rating_inserts
                ],
            )
            tagged = [(row, pk) for row, _, pk in rating_inserts if row.went_well or row.to_improve]
            if tagged:
                rating_ids = dict(self.rating_pks(conn, [pk for _, pk in tagged]))
                for row, pk in tagged:
                    new_tags.extend(_tag_rows(rating_ids[pk], row))
        if new_tags:
            self.insert_tags.run(conn, new_tags)

    @staticmethod
    def _existing(conn: Connection, interaction_ids: list[str]) -> dict[str, _Stored]:
        """Stored interactions (and their ratings) among ``interaction_ids``, by external id."""
        found: dict[str, _Stored] = {}
        n = len(_INTERACTION_FIELDS)
        for row in conn.execute(_SELECT_EXISTING.where(_INTERACTION.c.interaction_id.in_(interaction_ids))):
            row = tuple(row)
            rating_id = row[2 + n]
            found[row[0]] = _Stored(
                id=row[1],
                values=row[2 : 2 + n],
                rating_id=rating_id,
                rating=None if rating_id is None else row[3 + n :],
            )
        return found

    @staticmethod
    def _tags(conn: Connection, rating_ids: list[int]) -> dict[int, set[tuple[str, str]]]:
        found: dict[int, set[tuple[str, str]]] = defaultdict(set)
        if rating_ids:
            stmt = select(_TAG.c.rating_id, _TAG.c.kind, _TAG.c.tag).where(_TAG.c.rating_id.in_(rating_ids))
            for rating_id, kind, tag in conn.execute(stmt):
                found[rating_id].add((kind, tag))
        return found


Refused = Callable[[CanonicalRow, Refusal], None]


class MovePreview:
    """The team moves a file's rows would ask for, found without writing anything (a dry run)."""

    def __init__(self, engine: Engine, viewer: Viewer) -> None:
        with engine.connect() as conn:
            self.directory = _Directory.load(conn, viewer)
        self.directory.preview = True

    def see(self, row: CanonicalRow) -> None:
        directory = self.directory
        site_id = directory.sites.get(row.site.lower())
        if site_id is None:
            return
        found = directory._identify(site_id, row)
        if isinstance(found, Refusal) or found is None:
            return
        if directory.agents[found].team_id != directory.teams.get((site_id, row.team.lower())):
            directory._held_move(found, row, site_id, directory.teams.get((site_id, row.team.lower())))

    def moves(self) -> list[str]:
        return [m.text() for m in self.directory.held.values()]


def _count_refusal(report: ImportReport) -> Refused:
    """Refusals of rows given without a file: counted, reported without a line."""

    def refused(row: CanonicalRow, why: Refusal) -> None:
        report.reject([RowError(file="", line=0, column=why.column, value=why.value, reason=why.reason)])

    return refused


def _shown(value) -> str:
    """A value in an audit detail: short, quoted when text."""
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:59] + "…")
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)


def _bind(pk: int, fields: tuple[str, ...], values: tuple) -> dict:
    """Parameters for the ``_UPDATE_*`` statements (bind names must differ from column names)."""
    return {"b_id": pk, **{f"b_{f}": v for f, v in zip(fields, values)}}
