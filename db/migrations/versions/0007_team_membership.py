"""Team membership as history: agent_team (issue 13); one open row per agent from its current team

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from datetime import datetime
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: Union[str, Sequence[str], None] = "0006"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# db.models.MEMBERSHIP_SINCE, frozen here: a revision never imports the models.
SINCE = datetime(1900, 1, 1)


def upgrade() -> None:
    op.create_table(
        "agent_team",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.DateTime(), nullable=False),
        sa.Column("valid_to", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_agent_team_agent_from", "agent_team", ["agent_id", "valid_from"], unique=False)
    op.create_index(op.f("ix_agent_team_team_id"), "agent_team", ["team_id"], unique=False)
    # Every agent has been in its current team for as long as Starboard knows.
    op.execute(
        sa.text(
            "INSERT INTO agent_team (agent_id, team_id, valid_from, valid_to) "
            "SELECT id, team_id, :since, NULL FROM agent"
        ).bindparams(since=SINCE)
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_agent_team_team_id"), table_name="agent_team")
    op.drop_index("ix_agent_team_agent_from", table_name="agent_team")
    op.drop_table("agent_team")
