"""pipeline builds and notifications

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 02:46:08.108800
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

_MY = ("mysql", "mariadb")
TENANT_ID = sa.String(36).with_variant(mysql.CHAR(36, charset="latin1", collation="latin1_bin"), *_MY)
ID = sa.String(255).with_variant(mysql.VARCHAR(255, charset="latin1"), *_MY)
PROSE = sa.Text().with_variant(mysql.TEXT(charset="utf8mb4", collation="utf8mb4_unicode_ci"), *_MY)


def upgrade() -> None:
    op.create_table('pipeline_builds',
    sa.Column('id', ID, nullable=False),
    sa.Column('tenantId', TENANT_ID, nullable=False),
    sa.Column('releasePipelineId', ID, nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('idempotencyKey', ID, nullable=False),
    sa.Column('triggeredByAccountId', ID, nullable=True),
    sa.Column('state', sa.Enum('REQUESTED', 'RUNNING', 'SUCCESS', 'FAILED', 'CANCELLED', 'LOST', name='build_state'), nullable=False),
    sa.Column('queueId', sa.String(length=255), nullable=True),
    sa.Column('buildNumber', sa.String(length=255), nullable=True),
    sa.Column('buildUrl', sa.String(length=512), nullable=True),
    sa.Column('buildLogUrl', sa.String(length=512), nullable=True),
    sa.Column('artifactUrl', sa.String(length=512), nullable=True),
    sa.Column('durationSeconds', sa.Integer(), nullable=True),
    sa.Column('error', PROSE, nullable=True),
    sa.Column('failures', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('requestedAt', sa.DateTime(), nullable=False),
    sa.Column('finishedAt', sa.DateTime(), nullable=True),
    sa.Column('nextCheckAt', sa.DateTime(), nullable=True),
    sa.Column('claimedBy', sa.String(length=255), nullable=True),
    sa.Column('claimedUntil', sa.DateTime(), nullable=True),
    sa.Column('createdAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.Column('updatedAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.ForeignKeyConstraint(['releasePipelineId'], ['release_pipelines.id'], name=op.f('fk_pipeline_builds_releasePipelineId'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenantId'], ['tenants.id'], name=op.f('fk_pipeline_builds_tenantId'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['triggeredByAccountId'], ['accounts.id'], name=op.f('fk_pipeline_builds_triggeredByAccountId'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pipeline_builds')),
    sa.UniqueConstraint('idempotencyKey', name='uq_pipeline_builds_idempotencyKey'),
    sa.UniqueConstraint('releasePipelineId', 'attempt', name='uq_pipeline_builds_attempt'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci',
    mysql_engine='InnoDB'
    )
    with op.batch_alter_table('pipeline_builds', schema=None) as batch_op:
        batch_op.create_index('ix_pipeline_builds_due', ['state', 'nextCheckAt'], unique=False)

    op.create_table('notifications',
    sa.Column('id', ID, nullable=False),
    sa.Column('tenantId', TENANT_ID, nullable=False),
    sa.Column('releaseId', ID, nullable=False),
    sa.Column('buildId', ID, nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('dedupeKey', ID, nullable=False),
    sa.Column('state', sa.Enum('PENDING', 'SENT', 'ABANDONED', name='notification_state'), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('nextAttemptAt', sa.DateTime(), nullable=True),
    sa.Column('lastError', PROSE, nullable=True),
    sa.Column('messageTs', sa.String(length=64), nullable=True),
    sa.Column('claimedBy', sa.String(length=255), nullable=True),
    sa.Column('claimedUntil', sa.DateTime(), nullable=True),
    sa.Column('createdAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.Column('updatedAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.ForeignKeyConstraint(['buildId'], ['pipeline_builds.id'], name=op.f('fk_notifications_buildId'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['releaseId'], ['releases.id'], name=op.f('fk_notifications_releaseId'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenantId'], ['tenants.id'], name=op.f('fk_notifications_tenantId'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('dedupeKey', name='uq_notifications_dedupeKey'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci',
    mysql_engine='InnoDB'
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_due', ['state', 'nextAttemptAt'], unique=False)


    if op.get_bind().dialect.name in _MY:
        for table in ("pipeline_builds", "notifications"):
            op.execute(f"ALTER TABLE `{table}` MODIFY `updatedAt` DATETIME NULL "
                       "DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP")

def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_due')

    op.drop_table('notifications')
    with op.batch_alter_table('pipeline_builds', schema=None) as batch_op:
        batch_op.drop_index('ix_pipeline_builds_due')

    op.drop_table('pipeline_builds')
