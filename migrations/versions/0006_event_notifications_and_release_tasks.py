"""thread lines for release events; release tasks run by the runner

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 17:05:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_MY = ("mysql", "mariadb")
TENANT_ID = sa.String(36).with_variant(mysql.CHAR(36, charset="latin1", collation="latin1_bin"), *_MY)
ID = sa.String(255).with_variant(mysql.VARCHAR(255, charset="latin1"), *_MY)
PROSE = sa.Text().with_variant(mysql.TEXT(charset="utf8mb4", collation="utf8mb4_unicode_ci"), *_MY)


def upgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('eventId', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_notifications_eventId'), 'release_events', ['eventId'], ['id'], ondelete='CASCADE')

    op.create_table('release_tasks',
    sa.Column('id', ID, nullable=False),
    sa.Column('tenantId', TENANT_ID, nullable=False),
    sa.Column('releaseId', ID, nullable=False),
    sa.Column('task', sa.String(length=32), nullable=False),
    sa.Column('state', sa.Enum('PENDING', 'DONE', 'FAILED', 'SKIPPED', name='task_state'), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('nextAttemptAt', sa.DateTime(), nullable=True),
    sa.Column('lastError', PROSE, nullable=True),
    sa.Column('errorDetail', PROSE, nullable=True),
    sa.Column('result', PROSE, nullable=True),
    sa.Column('claimedBy', sa.String(length=255), nullable=True),
    sa.Column('claimedUntil', sa.DateTime(), nullable=True),
    sa.Column('createdAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.Column('updatedAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.ForeignKeyConstraint(['releaseId'], ['releases.id'], name=op.f('fk_release_tasks_releaseId'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenantId'], ['tenants.id'], name=op.f('fk_release_tasks_tenantId'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_release_tasks')),
    sa.UniqueConstraint('releaseId', 'task', name='uq_release_tasks_release_task'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci',
    mysql_engine='InnoDB'
    )
    with op.batch_alter_table('release_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_release_tasks_due', ['state', 'nextAttemptAt'], unique=False)
    if op.get_bind().dialect.name in _MY:
        op.execute("ALTER TABLE `release_tasks` MODIFY `updatedAt` DATETIME NULL "
                   "DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP")


def downgrade() -> None:
    op.drop_table('release_tasks')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_notifications_eventId'), type_='foreignkey')
        batch_op.drop_column('eventId')
