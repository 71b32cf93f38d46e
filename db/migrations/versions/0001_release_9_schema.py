"""Release 9 schema: every table as the last release before migrations created it.

A database made by that release (tables, no alembic_version) is stamped with
this revision and upgraded from here. Frozen: never edit it; change the schema
in a new revision.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('app_meta',
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('value', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_audit_log_action', 'audit_log', ['action'], unique=False)
    op.create_index('ix_audit_log_at', 'audit_log', ['at'], unique=False)
    op.create_table('badge',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('description', sa.String(), nullable=False),
    sa.Column('criteria', sa.String(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.CheckConstraint("kind IN ('value', 'automatic')", name='ck_badge_kind'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('site',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('app_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('last_login_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("role IN ('agent', 'leader', 'manager', 'admin')", name='ck_user_role'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_index('ix_app_user_site_id', 'app_user', ['site_id'], unique=False)
    op.create_table('team',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('leader_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['leader_id'], ['app_user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('site_id', 'name', name='uq_team_site_name')
    )
    op.create_index('ix_team_leader_id', 'team', ['leader_id'], unique=False)
    op.create_index('ix_team_site_id', 'team', ['site_id'], unique=False)
    op.create_table('agent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('hide_from_wall', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name'),
    sa.UniqueConstraint('user_id')
    )
    op.create_index('ix_agent_team_id', 'agent', ['team_id'], unique=False)
    op.create_table('display_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name'),
    sa.UniqueConstraint('token_hash')
    )
    op.create_index('ix_display_token_site_id', 'display_token', ['site_id'], unique=False)
    op.create_index('ix_display_token_team_id', 'display_token', ['team_id'], unique=False)
    op.create_table('badge_award',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('badge_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('awarded_by_id', sa.Integer(), nullable=True),
    sa.Column('awarded_by', sa.String(length=120), nullable=False),
    sa.Column('awarded_at', sa.DateTime(), nullable=False),
    sa.Column('reason', sa.String(), nullable=False),
    sa.Column('evidence', sa.String(), nullable=False),
    sa.Column('period_key', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['awarded_by_id'], ['app_user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['badge_id'], ['badge.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('badge_id', 'agent_id', 'period_key', name='uq_badge_award_period')
    )
    op.create_index('ix_badge_award_agent_id', 'badge_award', ['agent_id'], unique=False)
    op.create_index('ix_badge_award_awarded_at', 'badge_award', ['awarded_at'], unique=False)
    op.create_index('ix_badge_award_awarded_by_id', 'badge_award', ['awarded_by_id'], unique=False)
    op.create_index('ix_badge_award_badge_id', 'badge_award', ['badge_id'], unique=False)
    op.create_table('interaction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interaction_id', sa.String(length=100), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('contact_reason', sa.String(length=120), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('interaction_id')
    )
    op.create_index('ix_interaction_agent_closed', 'interaction', ['agent_id', 'closed_at'], unique=False)
    op.create_index('ix_interaction_closed_agent', 'interaction', ['closed_at', 'agent_id'], unique=False)
    op.create_table('rating',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interaction_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('stars', sa.Integer(), nullable=False),
    sa.Column('comment', sa.String(), nullable=False),
    sa.Column('resolved', sa.Boolean(), nullable=True),
    sa.Column('nps', sa.Integer(), nullable=True),
    sa.Column('rated_at', sa.DateTime(), nullable=False),
    sa.Column('excluded_cause', sa.String(length=16), nullable=True),
    sa.Column('excluded_reason', sa.String(), nullable=False),
    sa.CheckConstraint("excluded_cause IS NULL OR excluded_cause IN ('product', 'policy', 'system', 'other')", name='ck_rating_excluded_cause'),
    sa.CheckConstraint('nps IS NULL OR nps BETWEEN 0 AND 10', name='ck_rating_nps'),
    sa.CheckConstraint('stars BETWEEN 1 AND 5', name='ck_rating_stars'),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['interaction_id'], ['interaction.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('interaction_id')
    )
    op.create_index('ix_rating_agent_rated', 'rating', ['agent_id', 'rated_at', 'stars', 'resolved', 'nps', 'excluded_cause'], unique=False)
    op.create_index('ix_rating_rated_agent', 'rating', ['rated_at', 'agent_id', 'stars', 'resolved', 'nps', 'excluded_cause'], unique=False)
    op.create_table('coaching_note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('visibility', sa.String(length=16), nullable=False),
    sa.Column('rating_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.String(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('praise', 'criticism')", name='ck_note_kind'),
    sa.CheckConstraint("visibility IN ('public', 'private')", name='ck_note_visibility'),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['author_id'], ['app_user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rating_id'], ['rating.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_coaching_note_agent_id', 'coaching_note', ['agent_id'], unique=False)
    op.create_index('ix_coaching_note_author_id', 'coaching_note', ['author_id'], unique=False)
    op.create_index('ix_coaching_note_created_at', 'coaching_note', ['created_at'], unique=False)
    op.create_index('ix_coaching_note_rating_id', 'coaching_note', ['rating_id'], unique=False)
    op.create_index('ix_note_agent_created', 'coaching_note', ['agent_id', 'created_at'], unique=False)
    op.create_table('rating_tag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rating_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('tag', sa.String(length=80), nullable=False),
    sa.CheckConstraint("kind IN ('went_well', 'to_improve')", name='ck_rating_tag_kind'),
    sa.ForeignKeyConstraint(['rating_id'], ['rating.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rating_id', 'kind', 'tag', name='uq_rating_tag')
    )
    op.create_index('ix_rating_tag_rating_id', 'rating_tag', ['rating_id'], unique=False)
    op.create_index('ix_rating_tag_tag', 'rating_tag', ['tag'], unique=False)
    op.create_table('recovery_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rating_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('contacted_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('notes', sa.String(), nullable=False),
    sa.Column('followup_stars', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('open', 'contacted', 'resolved', 'no_response')", name='ck_recovery_status'),
    sa.CheckConstraint('followup_stars IS NULL OR followup_stars BETWEEN 1 AND 5', name='ck_recovery_followup_stars'),
    sa.ForeignKeyConstraint(['owner_id'], ['app_user.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rating_id'], ['rating.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('rating_id')
    )
    op.create_index('ix_recovery_case_opened_at', 'recovery_case', ['opened_at'], unique=False)
    op.create_index('ix_recovery_case_owner_id', 'recovery_case', ['owner_id'], unique=False)
    op.create_index('ix_recovery_case_status', 'recovery_case', ['status'], unique=False)
    op.create_table('coaching_prompt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=255), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('rule', sa.String(length=60), nullable=False),
    sa.Column('purpose', sa.String(), nullable=False),
    sa.Column('evidence', sa.String(), nullable=False),
    sa.Column('why_now', sa.String(), nullable=False),
    sa.Column('opening', sa.String(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_by', sa.String(length=120), nullable=False),
    sa.Column('note_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('praise', 'develop', 'training', 'stretch', 'check-in')", name='ck_prompt_kind'),
    sa.CheckConstraint("status IN ('open', 'done', 'dismissed')", name='ck_prompt_status'),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['note_id'], ['coaching_note.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key')
    )
    op.create_index('ix_coaching_prompt_agent_id', 'coaching_prompt', ['agent_id'], unique=False)
    op.create_index('ix_coaching_prompt_created_at', 'coaching_prompt', ['created_at'], unique=False)
    op.create_index('ix_coaching_prompt_note_id', 'coaching_prompt', ['note_id'], unique=False)
    op.create_index('ix_coaching_prompt_team_id', 'coaching_prompt', ['team_id'], unique=False)
    op.create_index('ix_prompt_team_status', 'coaching_prompt', ['team_id', 'status'], unique=False)


def downgrade() -> None:
    # Dropping a table drops its indexes; children before parents.
    op.drop_table('coaching_prompt')
    op.drop_table('recovery_case')
    op.drop_table('rating_tag')
    op.drop_table('coaching_note')
    op.drop_table('rating')
    op.drop_table('interaction')
    op.drop_table('badge_award')
    op.drop_table('display_token')
    op.drop_table('agent')
    op.drop_table('team')
    op.drop_table('app_user')
    op.drop_table('site')
    op.drop_table('badge')
    op.drop_table('audit_log')
    op.drop_table('app_meta')
