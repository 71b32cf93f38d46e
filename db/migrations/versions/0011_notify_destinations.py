"""Notification destinations: notify_destination, notify_delivery (issue 15)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: Union[str, Sequence[str], None] = "0010"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "notify_destination",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("kinds", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("quiet", sqlmodel.sql.sqltypes.AutoString(length=11), nullable=False),
        sa.Column("per_minute", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("type IN ('slack', 'teams', 'webhook', 'email')", name="ck_notify_destination_type"),
        sa.CheckConstraint(
            "(CASE WHEN site_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN team_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN user_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="ck_notify_destination_scope",
        ),
        sa.CheckConstraint("per_minute > 0", name="ck_notify_destination_per_minute"),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_index(op.f("ix_notify_destination_site_id"), "notify_destination", ["site_id"], unique=False)
    op.create_index(op.f("ix_notify_destination_team_id"), "notify_destination", ["team_id"], unique=False)
    op.create_index(op.f("ix_notify_destination_user_id"), "notify_destination", ["user_id"], unique=False)
    op.create_table(
        "notify_delivery",
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("destination_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["destination_id"], ["notify_destination.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("outbox_id"),
    )
    op.create_index(op.f("ix_notify_delivery_destination_id"), "notify_delivery", ["destination_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_notify_delivery_destination_id"), table_name="notify_delivery")
    op.drop_table("notify_delivery")
    op.drop_index(op.f("ix_notify_destination_user_id"), table_name="notify_destination")
    op.drop_index(op.f("ix_notify_destination_team_id"), table_name="notify_destination")
    op.drop_index(op.f("ix_notify_destination_site_id"), table_name="notify_destination")
    op.drop_table("notify_destination")
