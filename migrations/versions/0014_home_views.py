"""home_views: whose App Home is owed a views.publish, and when it may be published again

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 19:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

_MY = ("mysql", "mariadb")
TENANT_ID = sa.String(36).with_variant(mysql.CHAR(36, charset="latin1", collation="latin1_bin"), *_MY)
ID = sa.String(255).with_variant(mysql.VARCHAR(255, charset="latin1"), *_MY)
PROSE = sa.Text().with_variant(mysql.TEXT(charset="utf8mb4", collation="utf8mb4_unicode_ci"), *_MY)


def upgrade() -> None:
    op.create_table('home_views',
    sa.Column('id', ID, nullable=False),
    sa.Column('tenantId', TENANT_ID, nullable=False),
    sa.Column('slackUserId', ID, nullable=False),
    sa.Column('revision', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('publishedRevision', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('nextAttemptAt', sa.DateTime(), nullable=True),
    sa.Column('notBefore', sa.DateTime(), nullable=True),
    sa.Column('publishedAt', sa.DateTime(), nullable=True),
    sa.Column('lastError', PROSE, nullable=True),
    sa.Column('claimedBy', sa.String(length=255), nullable=True),
    sa.Column('claimedUntil', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['tenantId'], ['tenants.id'], name=op.f('fk_home_views_tenantId'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_home_views')),
    sa.UniqueConstraint('tenantId', 'slackUserId', name='uq_home_views_tenant_user'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci',
    mysql_engine='InnoDB'
    )
    with op.batch_alter_table('home_views', schema=None) as batch_op:
        batch_op.create_index('ix_home_views_due', ['nextAttemptAt'], unique=False)


def downgrade() -> None:
    op.drop_table('home_views')
