"""Agent keys: an external id, names unique per team (matched per site) instead of globally.

An import used to find an agent by exact name across every site. It now finds one by
``external_id`` (an export's ``agent_external_id`` column) or, without one, by
``name_key`` (the name without case, accents or extra spaces) within the row's site.
Every row is kept: existing names get their key; two names of one team that only
differ by case or accents keep distinct keys (the later one gets " #<id>").

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from leaderboard.names import name_key

revision: str = "0002"
down_revision: Union[str, Sequence[str], None] = "0001"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# SQLite's reflected unique constraints have no names: this names them so one can be dropped.
_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _name_unique(bind) -> str:
    """The name of release 9's UNIQUE (agent.name)."""
    if bind.dialect.name == "sqlite":
        return "uq_agent_name"
    for constraint in sa.inspect(bind).get_unique_constraints("agent"):
        if constraint["column_names"] == ["name"]:
            return constraint["name"]
    raise RuntimeError("agent has no unique constraint on name")


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("agent") as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("external_id", sa.String(length=120), nullable=True))

    agent = sa.table("agent", sa.column("id", sa.Integer), sa.column("team_id", sa.Integer),
                     sa.column("name", sa.String), sa.column("name_key", sa.String))
    seen: set[tuple[int, str]] = set()
    updates = []
    for id_, team_id, name in bind.execute(sa.select(agent.c.id, agent.c.team_id, agent.c.name).order_by(agent.c.id)):
        key = name_key(name)[:120]
        if (team_id, key) in seen:
            key = f"{key[:100]} #{id_}"
        seen.add((team_id, key))
        updates.append({"b_id": id_, "b_key": key})
    if updates:
        bind.execute(
            sa.update(agent).where(agent.c.id == sa.bindparam("b_id")).values(name_key=sa.bindparam("b_key")),
            updates,
        )

    with op.batch_alter_table("agent", naming_convention=_NAMING) as batch_op:
        batch_op.alter_column("name_key", existing_type=sa.String(length=120), nullable=False)
        batch_op.drop_constraint(_name_unique(bind), type_="unique")
        batch_op.create_unique_constraint("uq_agent_team_name_key", ["team_id", "name_key"])
        batch_op.create_unique_constraint("uq_agent_external_id", ["external_id"])
        batch_op.create_index("ix_agent_name_key", ["name_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("agent", naming_convention=_NAMING) as batch_op:
        batch_op.drop_index("ix_agent_name_key")
        batch_op.drop_constraint("uq_agent_external_id", type_="unique")
        batch_op.drop_constraint("uq_agent_team_name_key", type_="unique")
        batch_op.create_unique_constraint("uq_agent_name", ["name"])
        batch_op.drop_column("external_id")
        batch_op.drop_column("name_key")
