"""integrations managed from Slack: an audit table, owed verifications, removed (hidden) integrations

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28 19:15:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

_MY = ("mysql", "mariadb")
TENANT_ID = sa.String(36).with_variant(mysql.CHAR(36, charset="latin1", collation="latin1_bin"), *_MY)
ID = sa.String(255).with_variant(mysql.VARCHAR(255, charset="latin1"), *_MY)
NAME = sa.String(255).with_variant(mysql.VARCHAR(255, charset="utf8mb4", collation="utf8mb4_unicode_ci"), *_MY)
PROSE = sa.Text().with_variant(mysql.TEXT(charset="utf8mb4", collation="utf8mb4_unicode_ci"), *_MY)
EVENT_TIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), *_MY)
INTEGRATION_TABLES = ('tenant_scm_integrations', 'tenant_target_integrations', 'tenant_pipeline_integrations',
                      'tenant_communication_integrations', 'tenant_ticket_integrations')
OURS = dict(mysql_charset='utf8mb4', mysql_collate='utf8mb4_unicode_ci', mysql_engine='InnoDB')


def upgrade() -> None:
    for table in INTEGRATION_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('removedAt', sa.DateTime(), nullable=True))

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('tenantId', TENANT_ID, nullable=False),
    sa.Column('at', EVENT_TIME, nullable=False),
    sa.Column('actorAccountId', ID, nullable=True),
    sa.Column('actorName', NAME, nullable=False),
    sa.Column('subjectKind', sa.String(length=32), nullable=False),
    sa.Column('subjectId', ID, nullable=False),
    sa.Column('subjectName', NAME, nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('detail', PROSE, nullable=True),
    sa.ForeignKeyConstraint(['actorAccountId'], ['accounts.id'], name=op.f('fk_audit_events_actorAccountId'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenantId'], ['tenants.id'], name=op.f('fk_audit_events_tenantId'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events')),
    **OURS
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_tenant', ['tenantId', 'id'], unique=False)

    op.create_table('integration_verifications',
    sa.Column('id', ID, nullable=False),
    sa.Column('tenantId', TENANT_ID, nullable=False),
    sa.Column('integrationId', ID, nullable=False),
    sa.Column('requestedByAccountId', ID, nullable=True),
    sa.Column('notifySlackUserId', ID, nullable=True),
    sa.Column('viewId', ID, nullable=True),
    sa.Column('state', sa.Enum('PENDING', 'DONE', 'FAILED', 'SKIPPED', name='task_state'), nullable=False),
    sa.Column('outcome', PROSE, nullable=True),
    sa.Column('requestedAt', sa.DateTime(), nullable=False),
    sa.Column('finishedAt', sa.DateTime(), nullable=True),
    sa.Column('claimedBy', sa.String(length=255), nullable=True),
    sa.Column('claimedUntil', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['requestedByAccountId'], ['accounts.id'], name=op.f('fk_integration_verifications_requestedByAccountId'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenantId'], ['tenants.id'], name=op.f('fk_integration_verifications_tenantId'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_verifications')),
    **OURS
    )
    with op.batch_alter_table('integration_verifications', schema=None) as batch_op:
        batch_op.create_index('ix_integration_verifications_due', ['state', 'requestedAt'], unique=False)


def downgrade() -> None:
    op.drop_table('integration_verifications')
    op.drop_table('audit_events')
    for table in INTEGRATION_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('removedAt')
