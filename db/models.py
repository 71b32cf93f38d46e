"""Every table of Starboard, in one file.

Times are stored in UTC as naive ``datetime`` values (portable across SQLite
and PostgreSQL); "today" and "this week" are computed in Python in the site's
own time zone (see ``leaderboard.periods``).

Constraints live in the schema: stars 1–5, nps 0–10, one rating per
interaction, unique external interaction ids, enumerated kinds and statuses.
"""

# No "from __future__ import annotations": SQLModel relationships need real annotations.

from datetime import date, datetime, timezone
from typing import Optional

from pydantic import NaiveDatetime

from sqlalchemy import DDL, BigInteger, CheckConstraint, Column, ForeignKey, Index, Integer, String, UniqueConstraint, event
from sqlalchemy import false as sa_false
from sqlmodel import Field, Relationship, SQLModel

from leaderboard.names import name_key

ROLES = ("agent", "leader", "manager", "admin")
CHANNELS = ("phone", "chat", "email", "social")
TAG_KINDS = ("went_well", "to_improve")
NOTE_KINDS = ("praise", "criticism")
NOTE_VISIBILITY = ("public", "private")
BADGE_KINDS = ("value", "automatic")
RECOVERY_STATUSES = ("open", "contacted", "resolved", "no_response")
EXCLUSION_CAUSES = ("product", "policy", "system", "other")
PROMPT_KINDS = ("praise", "develop", "training", "stretch", "check-in")
PROMPT_STATUSES = ("open", "done", "dismissed")


def utcnow() -> datetime:
    """Current time as a naive UTC datetime (the storage convention)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def _fk(target: str, *, ondelete: str = "CASCADE", nullable: bool = False, index: bool = True):
    """A foreign-key column with an explicit ON DELETE rule and an index."""
    return Field(
        default=None,
        sa_column=Column(Integer, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index),
    )


class Site(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=120, unique=True)
    timezone: str = Field(default="UTC", max_length=64)

    teams: list["Team"] = Relationship(back_populates="site")


class User(SQLModel, table=True):
    """A person who signs in. An agent's account is linked from ``Agent.user_id``."""

    __tablename__ = "app_user"  # "user" is reserved in PostgreSQL
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="ck_user_role"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    username: str = Field(max_length=80, unique=True)
    display_name: str = Field(max_length=120)
    role: str = Field(default="agent", max_length=16)
    password_hash: str = Field(default="", max_length=255)
    disabled: bool = Field(default=False)
    # A manager's site (None: every site). Leaders' teams come from Team.leader_id.
    site_id: Optional[int] = _fk("site.id", ondelete="SET NULL", nullable=True)
    # Bumped by every change of password, role or enabled state: a signed-in session
    # remembers the value it started with and ends when it differs.
    auth_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # A seeded demo account (db.seed): only these sign in with the demo password, on a demo database.
    demo: bool = Field(default=False, sa_column_kwargs={"server_default": sa_false()})
    last_login_at: Optional[NaiveDatetime] = Field(default=None)
    created_at: NaiveDatetime = Field(default_factory=utcnow)

    agent: Optional["Agent"] = Relationship(back_populates="user")


class Team(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("site_id", "name", name="uq_team_site_name"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    site_id: int = _fk("site.id")
    leader_id: Optional[int] = _fk("app_user.id", ondelete="SET NULL", nullable=True)

    site: Optional[Site] = Relationship(back_populates="teams")
    leader: Optional[User] = Relationship()
    agents: list["Agent"] = Relationship(back_populates="team")


def _name_key_default(context) -> str:
    """``agent.name_key`` from the inserted name when the insert does not give one."""
    return name_key(context.get_current_parameters()["name"])


class Agent(SQLModel, table=True):
    """One agent, known to imports by ``external_id`` when the export has one, else by name within a site.

    An agent's site is its team's, so the schema can only hold "one name per team"
    (``uq_agent_team_name_key``); an import matches ``name_key`` within the whole site.
    """

    __table_args__ = (UniqueConstraint("team_id", "name_key", name="uq_agent_team_name_key"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    # The name as it appears in exports.
    name: str = Field(max_length=120)
    # The name without case, accents or extra spaces (leaderboard.names.name_key): what imports match.
    name_key: str = Field(
        default=None,
        sa_column=Column(String(120), nullable=False, index=True, default=_name_key_default),
    )
    # The agent's id in the contact center's own systems (an export's agent_external_id column).
    external_id: Optional[str] = Field(default=None, max_length=120, unique=True)
    # The name public screens show (first name and last initial by default).
    display_name: str = Field(max_length=120)
    team_id: int = _fk("team.id")
    user_id: Optional[int] = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("app_user.id", ondelete="SET NULL"), nullable=True, unique=True),
    )
    active: bool = Field(default=True)
    hide_from_wall: bool = Field(default=False)

    team: Optional[Team] = Relationship(back_populates="agents")
    user: Optional[User] = Relationship(back_populates="agent")


class Interaction(SQLModel, table=True):
    """One closed customer contact handled by one agent."""

    __table_args__ = (
        Index("ix_interaction_agent_closed", "agent_id", "closed_at"),
        # Covering index for response rate: interactions closed in a period, per agent.
        Index("ix_interaction_closed_agent", "closed_at", "agent_id"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    interaction_id: str = Field(max_length=100, unique=True)  # the external id
    agent_id: int = _fk("agent.id", index=False)  # ix_interaction_agent_closed leads with it
    channel: str = Field(max_length=40)
    contact_reason: str = Field(default="", max_length=120)
    closed_at: NaiveDatetime


class Rating(SQLModel, table=True):
    """The customer's answer about one interaction (at most one per interaction).

    ``agent_id`` repeats the interaction's agent so that leaderboards read one
    table through one covering index.
    """

    __table_args__ = (
        CheckConstraint("stars BETWEEN 1 AND 5", name="ck_rating_stars"),
        CheckConstraint("nps IS NULL OR nps BETWEEN 0 AND 10", name="ck_rating_nps"),
        CheckConstraint(
            "excluded_cause IS NULL OR " + _in("excluded_cause", EXCLUSION_CAUSES),
            name="ck_rating_excluded_cause",
        ),
        # Covering indexes for the leaderboard sums: a period for everyone reads a rated_at
        # range; a site, a team or all time walks agent by agent. excluded_cause is in both so
        # the sums never touch the table; the second also serves agent_id (foreign key) lookups.
        Index("ix_rating_rated_agent", "rated_at", "agent_id", "stars", "resolved", "nps", "excluded_cause"),
        Index("ix_rating_agent_rated", "agent_id", "rated_at", "stars", "resolved", "nps", "excluded_cause"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    interaction_id: int = Field(
        sa_column=Column(Integer, ForeignKey("interaction.id", ondelete="CASCADE"), nullable=False, unique=True)
    )
    agent_id: int = _fk("agent.id", index=False)  # ix_rating_agent_rated leads with it
    stars: int
    comment: str = Field(default="")
    resolved: Optional[bool] = Field(default=None)
    nps: Optional[int] = Field(default=None)
    rated_at: NaiveDatetime
    # Set when a leader marks the rating as outside the agent's control.
    excluded_cause: Optional[str] = Field(default=None, max_length=16)
    excluded_reason: str = Field(default="")

    tags: list["RatingTag"] = Relationship(
        back_populates="rating", sa_relationship_kwargs={"cascade": "all, delete-orphan"}
    )


class RatingTag(SQLModel, table=True):
    __tablename__ = "rating_tag"
    __table_args__ = (
        CheckConstraint(_in("kind", TAG_KINDS), name="ck_rating_tag_kind"),
        UniqueConstraint("rating_id", "kind", "tag", name="uq_rating_tag"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    rating_id: int = _fk("rating.id")
    kind: str = Field(max_length=16)
    tag: str = Field(max_length=80, index=True)

    rating: Optional[Rating] = Relationship(back_populates="tags")


class CoachingNote(SQLModel, table=True):
    __tablename__ = "coaching_note"
    __table_args__ = (
        CheckConstraint(_in("kind", NOTE_KINDS), name="ck_note_kind"),
        CheckConstraint(_in("visibility", NOTE_VISIBILITY), name="ck_note_visibility"),
        Index("ix_note_agent_created", "agent_id", "created_at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    agent_id: int = _fk("agent.id")
    author_id: Optional[int] = _fk("app_user.id", ondelete="SET NULL", nullable=True)
    kind: str = Field(max_length=16)
    visibility: str = Field(default="private", max_length=16)
    rating_id: Optional[int] = _fk("rating.id", ondelete="SET NULL", nullable=True)
    text: str = Field(default="")
    created_at: NaiveDatetime = Field(default_factory=utcnow, index=True)


class CoachingPrompt(SQLModel, table=True):
    """A micro-coaching nudge for a team leader, generated from the data.

    ``dedupe_key`` (rule + agent or team + evidence) makes "never generated
    twice for the same rule, agent and evidence" a schema rule.
    """

    __tablename__ = "coaching_prompt"
    __table_args__ = (
        CheckConstraint(_in("kind", PROMPT_KINDS), name="ck_prompt_kind"),
        CheckConstraint(_in("status", PROMPT_STATUSES), name="ck_prompt_status"),
        Index("ix_prompt_team_status", "team_id", "status"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=255, unique=True)
    agent_id: Optional[int] = _fk("agent.id", nullable=True)  # None for a team training prompt
    team_id: int = _fk("team.id")
    kind: str = Field(max_length=16)
    rule: str = Field(max_length=60)
    purpose: str = Field(default="")
    evidence: str = Field(default="")  # JSON: [{interaction_id, stars, comment, tags}, ...]
    why_now: str = Field(default="")
    opening: str = Field(default="")
    priority: int = Field(default=50)
    status: str = Field(default="open", max_length=16)
    created_at: NaiveDatetime = Field(default_factory=utcnow, index=True)
    expires_at: NaiveDatetime
    resolved_at: Optional[NaiveDatetime] = Field(default=None)
    resolved_by: str = Field(default="", max_length=120)
    note_id: Optional[int] = _fk("coaching_note.id", ondelete="SET NULL", nullable=True)


class Badge(SQLModel, table=True):
    __table_args__ = (CheckConstraint(_in("kind", BADGE_KINDS), name="ck_badge_kind"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=80)
    kind: str = Field(max_length=16)
    description: str = Field(default="")
    criteria: str = Field(default="")
    active: bool = Field(default=True)


class BadgeAward(SQLModel, table=True):
    __tablename__ = "badge_award"
    # period_key makes "once per period" a schema rule: '' for once ever, '2026-W47' for weekly.
    __table_args__ = (UniqueConstraint("badge_id", "agent_id", "period_key", name="uq_badge_award_period"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    badge_id: int = _fk("badge.id")
    agent_id: int = _fk("agent.id")
    awarded_by_id: Optional[int] = _fk("app_user.id", ondelete="SET NULL", nullable=True)
    awarded_by: str = Field(default="system", max_length=120)
    awarded_at: NaiveDatetime = Field(default_factory=utcnow, index=True)
    reason: str = Field(default="")
    evidence: str = Field(default="")  # interaction ids, ';'-separated
    period_key: str = Field(default="", max_length=20)


class RecoveryCase(SQLModel, table=True):
    __tablename__ = "recovery_case"
    __table_args__ = (
        CheckConstraint(_in("status", RECOVERY_STATUSES), name="ck_recovery_status"),
        CheckConstraint(
            "followup_stars IS NULL OR followup_stars BETWEEN 1 AND 5", name="ck_recovery_followup_stars"
        ),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    rating_id: int = Field(
        sa_column=Column(Integer, ForeignKey("rating.id", ondelete="CASCADE"), nullable=False, unique=True)
    )
    status: str = Field(default="open", max_length=16, index=True)
    owner_id: Optional[int] = _fk("app_user.id", ondelete="SET NULL", nullable=True)
    opened_at: NaiveDatetime = Field(default_factory=utcnow, index=True)
    due_at: NaiveDatetime
    contacted_at: Optional[NaiveDatetime] = Field(default=None)
    closed_at: Optional[NaiveDatetime] = Field(default=None)
    notes: str = Field(default="")
    followup_stars: Optional[int] = Field(default=None)


class DisplayToken(SQLModel, table=True):
    """A wall TV's credential: opens /wall within its scope, nothing else."""

    __tablename__ = "display_token"

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, unique=True)
    # Only a SHA-256 of the token is kept; the token itself is shown once.
    token_hash: str = Field(max_length=64, unique=True)
    site_id: Optional[int] = _fk("site.id", nullable=True)
    team_id: Optional[int] = _fk("team.id", nullable=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    created_by: str = Field(default="", max_length=120)
    revoked_at: Optional[NaiveDatetime] = Field(default=None)


class SignInThrottle(SQLModel, table=True):
    """Recent failed sign-ins per account name or client address, counted atomically.

    ``key`` is ``account:<username, lower-cased>`` (for any name typed, known or
    not) or ``address:<client address>``. Rows whose last failure is older than
    the quiet period are forgotten (leaderboard.auth has the delays).
    """

    __tablename__ = "sign_in_throttle"

    key: str = Field(primary_key=True, max_length=200)
    failures: int = Field(default=0)
    last_failure_at: NaiveDatetime = Field(default_factory=utcnow, index=True)


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: Optional[int] = Field(default=None, primary_key=True)
    at: NaiveDatetime = Field(default_factory=utcnow, index=True)
    actor: str = Field(default="system", max_length=120)
    action: str = Field(max_length=60, index=True)
    target: str = Field(default="", max_length=200)
    detail: str = Field(default="")


class AppMeta(SQLModel, table=True):
    """Key/value facts about this database (for example that it holds demo data)."""

    __tablename__ = "app_meta"

    key: str = Field(primary_key=True, max_length=60)
    value: str = Field(default="")


class ChangeCounter(SQLModel, table=True):
    """One row (id 1) whose value every write moves, in the writing transaction (``db.changes``).

    Caches key on it: reading one row by its primary key costs the same at any size.
    """

    __tablename__ = "change_counter"

    id: Optional[int] = Field(default=None, primary_key=True)
    value: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


# A schema made by create_all (a new database) gets its one row as the revision inserts it.
event.listen(
    ChangeCounter.__table__, "after_create", DDL("INSERT INTO change_counter (id, value) VALUES (1, 0)")
)


# --------------------------------------------------------------------------- survey and API (issue 14)


class SurveyResponse(SQLModel, table=True):
    """When the customer answered an interaction's survey (the answer itself is its Rating).

    ``first_at`` starts the window in which a second submit replaces the answer.
    """

    __tablename__ = "survey_response"

    id: Optional[int] = Field(default=None, primary_key=True)
    interaction_id: int = Field(
        sa_column=Column(Integer, ForeignKey("interaction.id", ondelete="CASCADE"), nullable=False, unique=True)
    )
    first_at: NaiveDatetime = Field(default_factory=utcnow)
    last_at: NaiveDatetime = Field(default_factory=utcnow)
    submissions: int = Field(default=1)


class ApiKey(SQLModel, table=True):
    """A machine's credential for /api/v1 (a help desk, a script): ``Authorization: Bearer KEY``."""

    __tablename__ = "api_key"

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, unique=True)
    # Only a SHA-256 of the key is kept; the key itself is shown once.
    key_hash: str = Field(max_length=64, unique=True)
    source: str = Field(default="", max_length=40)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    created_by: str = Field(default="", max_length=120)
    revoked_at: Optional[NaiveDatetime] = Field(default=None)
    # The help desk's webhook signing secret (kept as given: an HMAC needs it); '' = none set.
    signing_secret: str = Field(default="", max_length=200)


class ApiRequest(SQLModel, table=True):
    """One request to /api/v1: who, where, the answer and the counts (never the payload)."""

    __tablename__ = "api_request"

    id: Optional[int] = Field(default=None, primary_key=True)
    at: NaiveDatetime = Field(default_factory=utcnow, index=True)
    key_name: str = Field(default="", max_length=80)
    path: str = Field(default="", max_length=120)
    status: int = Field(default=0)
    received: int = Field(default=0)
    inserted: int = Field(default=0)
    updated: int = Field(default=0)
    unchanged: int = Field(default=0)
    rejected: int = Field(default=0)


# Since when an agent with no earlier membership has been in their team (the migration's backfill).
MEMBERSHIP_SINCE = datetime(1900, 1, 1)


class AgentTeam(SQLModel, table=True):
    """Team membership as history: the agent was in ``team_id`` from ``valid_from`` until ``valid_to``.

    The open row (``valid_to`` None) is the agent's current team (``Agent.team_id`` says the
    same, for the screens that show today's team). A rating counts for the team whose row
    covers its ``rated_at``; a rating no closed row covers counts for the current team.
    """

    __tablename__ = "agent_team"
    __table_args__ = (Index("ix_agent_team_agent_from", "agent_id", "valid_from"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    agent_id: int = _fk("agent.id", index=False)
    team_id: int = _fk("team.id")
    valid_from: NaiveDatetime = Field(default=MEMBERSHIP_SINCE)
    valid_to: Optional[NaiveDatetime] = Field(default=None)


# --------------------------------------------------------------------------- browser sign-in sessions (issue 13)


class SignInSession(SQLModel, table=True):
    """One signed-in browser: its HttpOnly cookie holds a random token whose SHA-256 is ``id``.

    The sign-in form makes the row with a one-time ``handoff`` token (its digest in
    ``handoff_hash``, usable until ``handoff_until``); GET /auth/session exchanges it
    for the cookie's token (``id`` is replaced, ``handoff_until`` cleared). The app's
    own state names the row by ``handoff_hash``. A row counts while it is not revoked,
    its ``auth_version`` is its account's and it was seen within the idle timeout.
    """

    __tablename__ = "sign_in_session"

    id: str = Field(primary_key=True, max_length=64)
    handoff_hash: str = Field(max_length=64, unique=True)
    handoff_until: Optional[NaiveDatetime] = Field(default=None)
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("app_user.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    auth_version: int = Field(default=0)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    last_seen_at: NaiveDatetime = Field(default_factory=utcnow)
    revoked_at: Optional[NaiveDatetime] = Field(default=None)


# --------------------------------------------------------------------------- help-desk webhooks (issue 14)


class AgentLink(SQLModel, table=True):
    """A help desk's agent id (``source``, ``external_id``) is this Starboard agent (``agents link``)."""

    __tablename__ = "agent_link"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_agent_link_source_external"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    source: str = Field(max_length=40)
    external_id: str = Field(max_length=120)
    agent_id: int = _fk("agent.id")
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    created_by: str = Field(default="", max_length=120)


class UnmatchedRating(SQLModel, table=True):
    """A webhook rating whose agent id has no link yet: kept (the canonical fields only) until one is made.

    One per interaction (a newer event replaces an older one); linking the agent id replays
    them through the one write path and deletes them.
    """

    __tablename__ = "unmatched_rating"
    __table_args__ = (
        CheckConstraint("stars BETWEEN 1 AND 5", name="ck_unmatched_rating_stars"),
        Index("ix_unmatched_rating_source_agent", "source", "external_agent_id"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    source: str = Field(max_length=40)
    external_agent_id: str = Field(max_length=120)
    external_agent_name: str = Field(default="", max_length=120)
    interaction_id: str = Field(max_length=100, unique=True)
    channel: str = Field(max_length=40)
    stars: int
    comment: str = Field(default="")
    to_improve: str = Field(default="")  # tags joined by ";" (as a canonical file's cell)
    rated_at: NaiveDatetime
    received_at: NaiveDatetime = Field(default_factory=utcnow)


# --------------------------------------------------------------------------- outbox, survey offers, unsubscribes (issue 14)

OUTBOX_STATUSES = ("queued", "sent", "failed", "skipped")
OFFER_CHANNELS = ("link", "email", "api")


class Outbox(SQLModel, table=True):
    """One message to deliver (a survey e-mail today; Slack, Teams and e-mail notifications later).

    Written in the transaction of what caused it; a sender claims due rows with a lease
    (``claimed_until``, ``claimed_by``), delivers, and marks them sent, or due again later
    (``next_attempt_at``, exponential backoff), or failed after the last try (``last_error``).
    ``dedupe_key`` makes queueing idempotent (one survey e-mail per interaction). The
    recipient is erased once a message is sent or skipped (a failed one keeps it for a retry).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(_in("status", OUTBOX_STATUSES), name="ck_outbox_status"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)  # "survey_request", ...
    dedupe_key: Optional[str] = Field(default=None, max_length=200, unique=True)
    ref: str = Field(default="", max_length=200)  # what it is about (survey_request: the interaction id)
    recipient: str = Field(default="", max_length=320)
    subject: str = Field(default="", max_length=300)
    text: str = Field(default="")
    html: str = Field(default="")
    headers: str = Field(default="")  # JSON object of extra headers (List-Unsubscribe, ...)
    status: str = Field(default="queued", max_length=16)
    attempts: int = Field(default=0)
    next_attempt_at: NaiveDatetime = Field(default_factory=utcnow)
    claimed_until: Optional[NaiveDatetime] = Field(default=None)
    claimed_by: str = Field(default="", max_length=40)
    last_error: str = Field(default="")
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    sent_at: Optional[NaiveDatetime] = Field(default=None)


class SurveyOffer(SQLModel, table=True):
    """That an interaction's customer was offered the survey, and how (link, email, api)."""

    __tablename__ = "survey_offer"
    __table_args__ = (
        CheckConstraint(_in("channel", OFFER_CHANNELS), name="ck_survey_offer_channel"),
        UniqueConstraint("interaction_id", "channel", name="uq_survey_offer_channel"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    interaction_id: int = _fk("interaction.id", index=False)  # uq_survey_offer_channel leads with it
    channel: str = Field(max_length=16)
    offered_at: NaiveDatetime = Field(default_factory=utcnow)


class MailUnsubscribe(SQLModel, table=True):
    """An address that asked for no more survey e-mails, kept only as a SHA-256 (never the address)."""

    __tablename__ = "mail_unsubscribe"

    id: Optional[int] = Field(default=None, primary_key=True)
    address_hash: str = Field(max_length=64, unique=True)
    created_at: NaiveDatetime = Field(default_factory=utcnow)


# --------------------------------------------------------------------------- site-scoped API keys (issue 14)


class ApiKeySite(SQLModel, table=True):
    """A site an API key may write to. A key with no rows here writes everywhere (as an admin).

    A site in use by a key cannot be deleted (RESTRICT): deleting it would widen the key's scope.
    """

    __tablename__ = "api_key_site"

    api_key_id: int = Field(
        sa_column=Column(Integer, ForeignKey("api_key.id", ondelete="CASCADE"), primary_key=True)
    )
    site_id: int = Field(
        sa_column=Column(Integer, ForeignKey("site.id", ondelete="RESTRICT"), primary_key=True, index=True)
    )


# --------------------------------------------------------------------------- notification destinations (issue 15)

NOTIFY_TYPES = ("slack", "teams", "webhook", "email")


class NotifyDestination(SQLModel, table=True):
    """Where notifications go: a Slack, Teams or generic webhook URL, or a ``mailto:`` address.

    ``url`` is a secret (shown masked, never logged). The scope is exactly one of a site, a
    team or a person; ``kinds`` is a comma-separated list of notification kinds, all private
    or all public (praise in public, criticism 1:1). ``quiet`` is "HH:MM-HH:MM" in the scope's
    site time zone ("" for none); ``per_minute`` caps messages per minute (beyond: one
    "and N more" message).
    """

    __tablename__ = "notify_destination"
    __table_args__ = (
        CheckConstraint(_in("type", NOTIFY_TYPES), name="ck_notify_destination_type"),
        CheckConstraint(
            "(CASE WHEN site_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN team_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN user_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="ck_notify_destination_scope",
        ),
        CheckConstraint("per_minute > 0", name="ck_notify_destination_per_minute"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=80, unique=True)
    url: str = Field(max_length=2000)
    type: str = Field(max_length=16)
    site_id: Optional[int] = _fk("site.id", nullable=True)
    team_id: Optional[int] = _fk("team.id", nullable=True)
    user_id: Optional[int] = _fk("app_user.id", nullable=True)
    kinds: str = Field(max_length=200)
    quiet: str = Field(default="", max_length=11)
    per_minute: int = Field(default=20)
    created_at: NaiveDatetime = Field(default_factory=utcnow)


class NotifyDelivery(SQLModel, table=True):
    """Which destination an ``outbox`` notification row goes to (one row per queued notification)."""

    __tablename__ = "notify_delivery"

    outbox_id: int = Field(
        sa_column=Column(Integer, ForeignKey("outbox.id", ondelete="CASCADE"), primary_key=True)
    )
    destination_id: int = _fk("notify_destination.id")


# --------------------------------------------------------------------------- recovery follow-up (issue 15)


class FollowupAddress(SQLModel, table=True):
    """A customer's address kept for a possible recovery follow-up e-mail (STARBOARD_RECOVERY_FOLLOWUP).

    Written with the survey e-mail; erased when the interaction's rating opens no case, when its
    case closes (a resolved case's follow-up e-mail takes the address to the outbox, which erases
    it once sent), and at ``keep_until`` in any case (STARBOARD_FOLLOWUP_ADDRESS_DAYS).
    """

    __tablename__ = "followup_address"

    id: Optional[int] = Field(default=None, primary_key=True)
    interaction_id: int = Field(
        sa_column=Column(Integer, ForeignKey("interaction.id", ondelete="CASCADE"), nullable=False, unique=True)
    )
    address: str = Field(max_length=320)
    customer_name: str = Field(default="", max_length=120)
    created_at: NaiveDatetime = Field(default_factory=utcnow)
    keep_until: NaiveDatetime = Field(index=True)


# --------------------------------------------------------------------------- rollups (issue 16)


class AgentDay(SQLModel, table=True):
    """Per agent, per team at the time, per local day: the sums a board needs (``db.rollups``).

    ``day`` is the local date in the time zone of ``team_id``'s site; ``team_id`` is the team the
    agent was in when the rating was earned (the interaction closed), as ``queries.sums_by_team``
    attributes it. Rating sums leave excluded ratings out (``excluded`` counts them); ``closed``
    and ``rated`` count interactions closed that day (an interaction joined to its rating, as
    ``queries.interaction_sums``), ``offered``/``offered_rated`` those with a survey offer.
    Maintained in the transaction of every write (``db.rollups.refresh_rollups``).
    """

    __tablename__ = "agent_day"

    agent_id: int = Field(sa_column=Column(Integer, ForeignKey("agent.id", ondelete="CASCADE"), primary_key=True))
    day: date = Field(primary_key=True)
    team_id: int = Field(sa_column=Column(Integer, ForeignKey("team.id", ondelete="CASCADE"), primary_key=True))
    ratings: int = Field(default=0)
    star_sum: int = Field(default=0)
    five_count: int = Field(default=0)
    resolved_yes: int = Field(default=0)
    resolved_answered: int = Field(default=0)
    nps_n: int = Field(default=0)
    promoters: int = Field(default=0)
    detractors: int = Field(default=0)
    excluded: int = Field(default=0)
    closed: int = Field(default=0)
    rated: int = Field(default=0)
    offered: int = Field(default=0)
    offered_rated: int = Field(default=0)
