"""Slack installations (OAuth mode) with encrypted tokens, and the OAuth flow's states

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 19:20:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

_MY = ("mysql", "mariadb")
TENANT_ID = sa.String(36).with_variant(mysql.CHAR(36, charset="latin1", collation="latin1_bin"), *_MY)
ID = sa.String(255).with_variant(mysql.VARCHAR(255, charset="latin1"), *_MY)
NAME = sa.String(255).with_variant(mysql.VARCHAR(255, charset="utf8mb4", collation="utf8mb4_unicode_ci"), *_MY)
TABLE = dict(mysql_charset='utf8mb4', mysql_collate='utf8mb4_unicode_ci', mysql_engine='InnoDB')


def upgrade() -> None:
    op.create_table('slack_installations',
    sa.Column('id', ID, nullable=False),
    sa.Column('tenantId', TENANT_ID, nullable=True),
    sa.Column('enterpriseId', ID, server_default='', nullable=False),
    sa.Column('teamId', ID, server_default='', nullable=False),
    sa.Column('isEnterpriseInstall', sa.Boolean(), server_default=sa.text('0'), nullable=False),
    sa.Column('appId', ID, nullable=True),
    sa.Column('name', NAME, nullable=True),
    sa.Column('installerUserId', ID, nullable=True),
    sa.Column('botId', ID, nullable=True),
    sa.Column('botUserId', ID, nullable=True),
    sa.Column('botScopes', sa.Text(), nullable=True),
    sa.Column('credentials', sa.Text(), nullable=True),
    sa.Column('botTokenExpiresAt', sa.DateTime(), nullable=True),
    sa.Column('isActive', sa.Boolean(), server_default=sa.text('1'), nullable=False),
    sa.Column('installedAt', sa.DateTime(), nullable=False),
    sa.Column('deactivatedAt', sa.DateTime(), nullable=True),
    sa.Column('deactivatedReason', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['tenantId'], ['tenants.id'], name=op.f('fk_slack_installations_tenantId'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_slack_installations')),
    sa.UniqueConstraint('enterpriseId', 'teamId', name='uq_slack_installations_enterprise_team'),
    **TABLE
    )
    with op.batch_alter_table('slack_installations', schema=None) as batch_op:
        batch_op.create_index('ix_slack_installations_tenantId', ['tenantId'], unique=False)
    op.create_table('slack_oauth_states',
    sa.Column('state', ID, nullable=False),
    sa.Column('expiresAt', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('state', name=op.f('pk_slack_oauth_states')),
    **TABLE
    )
    with op.batch_alter_table('slack_oauth_states', schema=None) as batch_op:
        batch_op.create_index('ix_slack_oauth_states_expiresAt', ['expiresAt'], unique=False)


def downgrade() -> None:
    op.drop_table('slack_oauth_states')
    op.drop_table('slack_installations')
