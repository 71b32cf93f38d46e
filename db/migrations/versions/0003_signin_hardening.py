"""Sign-in hardening: failures counted per account name and client address, sessions end on account changes.

- ``sign_in_throttle``: recent failed sign-ins per ``account:<name>`` and
  ``address:<ip>``, counted in one atomic statement (growing delays replace the lock);
- ``app_user.auth_version``: bumped by a change of password, role or enabled state;
  a signed-in session that started under another value ends;
- ``app_user.demo``: the seeded demo accounts (only they may use the demo password);
  on a database seeded before this revision (``app_meta.demo = 1``) those are the
  accounts created up to the seed's ``seeded_at``;
- ``app_user.failed_logins`` and ``locked_until`` go: nothing locks an account any more.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from datetime import datetime
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: Union[str, Sequence[str], None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        "sign_in_throttle",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_sign_in_throttle_last_failure_at", "sign_in_throttle", ["last_failure_at"], unique=False)
    # Plain ALTER TABLE (no batch copy): SQLite >= 3.35 adds and drops these columns in place,
    # and a copied app_user would fire the ON DELETE rules of every table that points at it.
    op.add_column("app_user", sa.Column("auth_version", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("app_user", sa.Column("demo", sa.Boolean(), nullable=False, server_default=sa.false()))
    _mark_seeded_accounts()
    op.drop_column("app_user", "failed_logins")
    op.drop_column("app_user", "locked_until")


def _mark_seeded_accounts() -> None:
    """On a database the seed made, its accounts are the ones created up to the seed's time."""
    conn = op.get_bind()
    meta = dict(conn.execute(sa.text("SELECT key, value FROM app_meta WHERE key IN ('demo', 'seeded_at')")).all())
    if meta.get("demo") != "1" or not meta.get("seeded_at"):
        return
    seeded_at = datetime.fromisoformat(meta["seeded_at"]).replace(tzinfo=None)
    conn.execute(
        sa.text("UPDATE app_user SET demo = :yes WHERE created_at <= :seeded_at"),
        {"yes": True, "seeded_at": seeded_at},
    )


def downgrade() -> None:
    op.add_column("app_user", sa.Column("locked_until", sa.DateTime(), nullable=True))
    op.add_column("app_user", sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"))
    op.drop_column("app_user", "demo")
    op.drop_column("app_user", "auth_version")
    op.drop_index("ix_sign_in_throttle_last_failure_at", table_name="sign_in_throttle")
    op.drop_table("sign_in_throttle")
