"""the stores: actions asked of a target's store, and each target's state at its store

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 19:10:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_MY = ("mysql", "mariadb")
TENANT_ID = sa.String(36).with_variant(mysql.CHAR(36, charset="latin1", collation="latin1_bin"), *_MY)
ID = sa.String(255).with_variant(mysql.VARCHAR(255, charset="latin1"), *_MY)
PROSE = sa.Text().with_variant(mysql.TEXT(charset="utf8mb4", collation="utf8mb4_unicode_ci"), *_MY)
OURS = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci", "mysql_engine": "InnoDB"}


def upgrade() -> None:
    op.create_table('store_actions',
    sa.Column('id', ID, nullable=False),
    sa.Column('tenantId', TENANT_ID, nullable=False),
    sa.Column('releaseId', ID, nullable=False),
    sa.Column('releaseTargetId', ID, nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('params', sa.JSON(), nullable=True),
    sa.Column('requestKey', ID, nullable=False),
    sa.Column('requestedByAccountId', ID, nullable=True),
    sa.Column('state', sa.Enum('PENDING', 'DONE', 'FAILED', 'SKIPPED', name='store_action_state'), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('nextAttemptAt', sa.DateTime(), nullable=True),
    sa.Column('lastError', PROSE, nullable=True),
    sa.Column('errorDetail', PROSE, nullable=True),
    sa.Column('claimedBy', sa.String(length=255), nullable=True),
    sa.Column('claimedUntil', sa.DateTime(), nullable=True),
    sa.Column('createdAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.Column('finishedAt', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['releaseId'], ['releases.id'], name=op.f('fk_store_actions_releaseId'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['releaseTargetId'], ['release_targets.id'], name=op.f('fk_store_actions_releaseTargetId'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requestedByAccountId'], ['accounts.id'], name=op.f('fk_store_actions_requestedByAccountId'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenantId'], ['tenants.id'], name=op.f('fk_store_actions_tenantId'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_store_actions')),
    sa.UniqueConstraint('tenantId', 'requestKey', name='uq_store_actions_tenant_request'),
    **OURS
    )
    with op.batch_alter_table('store_actions', schema=None) as batch_op:
        batch_op.create_index('ix_store_actions_due', ['state', 'nextAttemptAt'], unique=False)
        batch_op.create_index('ix_store_actions_target', ['releaseTargetId', 'state'], unique=False)

    op.create_table('release_target_stores',
    sa.Column('releaseTargetId', ID, nullable=False),
    sa.Column('tenantId', TENANT_ID, nullable=False),
    sa.Column('releaseId', ID, nullable=False),
    sa.Column('phase', sa.String(length=16), nullable=False),
    sa.Column('line', PROSE, nullable=True),
    sa.Column('allowed', sa.JSON(), nullable=True),
    sa.Column('hints', sa.JSON(), nullable=True),
    sa.Column('rolloutPercent', sa.Float(), nullable=True),
    sa.Column('phasedDay', sa.Integer(), nullable=True),
    sa.Column('paused', sa.Boolean(), server_default=sa.text('0'), nullable=False),
    sa.Column('reason', PROSE, nullable=True),
    sa.Column('storeIds', sa.JSON(), nullable=True),
    sa.Column('checks', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('lastCheckedAt', sa.DateTime(), nullable=True),
    sa.Column('nextCheckAt', sa.DateTime(), nullable=True),
    sa.Column('lastError', PROSE, nullable=True),
    sa.Column('claimedBy', sa.String(length=255), nullable=True),
    sa.Column('claimedUntil', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['releaseId'], ['releases.id'], name=op.f('fk_release_target_stores_releaseId'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['releaseTargetId'], ['release_targets.id'], name=op.f('fk_release_target_stores_releaseTargetId'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenantId'], ['tenants.id'], name=op.f('fk_release_target_stores_tenantId'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('releaseTargetId', name=op.f('pk_release_target_stores')),
    **OURS
    )
    with op.batch_alter_table('release_target_stores', schema=None) as batch_op:
        batch_op.create_index('ix_release_target_stores_due', ['nextCheckAt'], unique=False)
        batch_op.create_index('ix_release_target_stores_release', ['releaseId'], unique=False)


def downgrade() -> None:
    op.drop_table('release_target_stores')
    op.drop_table('store_actions')
