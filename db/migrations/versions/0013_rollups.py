"""Rollups: agent_day, per agent per team at the time per local day, the sums a board needs (issue 16)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01

The upgrade builds the rows for the data already stored (``db.rollups.rebuild``, the same code as
``python -m leaderboard db rebuild-rollups``); from then on every write keeps them.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: Union[str, Sequence[str], None] = "0012"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_SUMS = (
    "ratings", "star_sum", "five_count", "resolved_yes", "resolved_answered", "nps_n", "promoters",
    "detractors", "excluded", "closed", "rated", "offered", "offered_rated",
)


def upgrade() -> None:
    op.create_table(
        "agent_day",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in _SUMS),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("agent_id", "day", "team_id"),
    )
    # The rows of the data already stored. Imported here (not at the top): only this step needs
    # the application's code, and it runs against the schema as of this revision.
    from db import rollups

    rollups.rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table("agent_day")
