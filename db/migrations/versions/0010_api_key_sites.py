"""Site-scoped API keys: api_key_site (issue 14); a key without rows writes everywhere

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: Union[str, Sequence[str], None] = "0009"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "api_key_site",
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["api_key_id"], ["api_key.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("api_key_id", "site_id"),
    )
    op.create_index(op.f("ix_api_key_site_site_id"), "api_key_site", ["site_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_api_key_site_site_id"), table_name="api_key_site")
    op.drop_table("api_key_site")
