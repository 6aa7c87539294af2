"""reminders given to a release's pilot (target date near, stage not moving), once each; an index to
find where a release's stage began

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 19:15:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

ID = sa.String(length=255).with_variant(mysql.VARCHAR(length=255, charset='latin1'), 'mysql', 'mariadb')
TENANT_ID = sa.String(length=36).with_variant(mysql.CHAR(length=36, charset='latin1', collation='latin1_bin'), 'mysql', 'mariadb')


def upgrade() -> None:
    op.create_table(
        'release_reminders',
        sa.Column('id', ID, nullable=False),
        sa.Column('tenantId', TENANT_ID, nullable=False),
        sa.Column('releaseId', ID, nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('reminderKey', ID, nullable=False),
        sa.Column('forDate', sa.DateTime(), nullable=True),
        sa.Column('stageEventId', sa.Integer(), nullable=True),
        sa.Column('nextAfter', sa.DateTime(), nullable=True),
        sa.Column('eventId', sa.Integer(), nullable=True),
        sa.Column('createdAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
        sa.ForeignKeyConstraint(['eventId'], ['release_events.id'], name=op.f('fk_release_reminders_eventId'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['releaseId'], ['releases.id'], name=op.f('fk_release_reminders_releaseId'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['stageEventId'], ['release_events.id'], name=op.f('fk_release_reminders_stageEventId'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['tenantId'], ['tenants.id'], name=op.f('fk_release_reminders_tenantId'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_release_reminders')),
        sa.UniqueConstraint('releaseId', 'reminderKey', name='uq_release_reminders_release_key'),
        mysql_charset='utf8mb4', mysql_collate='utf8mb4_unicode_ci', mysql_engine='InnoDB',
    )
    with op.batch_alter_table('release_events', schema=None) as batch_op:
        batch_op.create_index('ix_release_events_release_action', ['releaseId', 'action'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('release_events', schema=None) as batch_op:
        batch_op.drop_index('ix_release_events_release_action')
    op.drop_table('release_reminders')
