"""Help-desk webhooks: api_key.signing_secret, agent_link, unmatched_rating (issue 14)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: Union[str, Sequence[str], None] = "0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("api_key") as batch_op:
        batch_op.add_column(
            sa.Column("signing_secret", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False, server_default="")
        )
    op.create_table(
        "agent_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "external_id", name="uq_agent_link_source_external"),
    )
    op.create_index(op.f("ix_agent_link_agent_id"), "agent_link", ["agent_id"], unique=False)
    op.create_table(
        "unmatched_rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("external_agent_id", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("external_agent_name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("interaction_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("stars", sa.Integer(), nullable=False),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("to_improve", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("rated_at", sa.DateTime(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("stars BETWEEN 1 AND 5", name="ck_unmatched_rating_stars"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("interaction_id"),
    )
    op.create_index("ix_unmatched_rating_source_agent", "unmatched_rating", ["source", "external_agent_id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_unmatched_rating_source_agent", table_name="unmatched_rating")
    op.drop_table("unmatched_rating")
    op.drop_index(op.f("ix_agent_link_agent_id"), table_name="agent_link")
    op.drop_table("agent_link")
    with op.batch_alter_table("api_key") as batch_op:
        batch_op.drop_column("signing_secret")
