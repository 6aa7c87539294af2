"""release history (append-only release_events) and numbered regression cycles

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 16:40:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_MY = ("mysql", "mariadb")
TENANT_ID = sa.String(36).with_variant(mysql.CHAR(36, charset="latin1", collation="latin1_bin"), *_MY)
ID = sa.String(255).with_variant(mysql.VARCHAR(255, charset="latin1"), *_MY)
NAME = sa.String(255).with_variant(mysql.VARCHAR(255, charset="utf8mb4", collation="utf8mb4_unicode_ci"), *_MY)
PROSE = sa.Text().with_variant(mysql.TEXT(charset="utf8mb4", collation="utf8mb4_unicode_ci"), *_MY)
EVENT_TIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), *_MY)
TABLE_ARGS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


def upgrade() -> None:
    op.create_table('release_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('tenantId', TENANT_ID, nullable=False),
    sa.Column('releaseId', ID, nullable=False),
    sa.Column('at', EVENT_TIME, nullable=False),
    sa.Column('actorAccountId', ID, nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('fromValue', NAME, nullable=True),
    sa.Column('toValue', NAME, nullable=True),
    sa.Column('detail', PROSE, nullable=True),
    sa.ForeignKeyConstraint(['actorAccountId'], ['accounts.id'], name=op.f('fk_release_events_actorAccountId'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['releaseId'], ['releases.id'], name=op.f('fk_release_events_releaseId'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenantId'], ['tenants.id'], name=op.f('fk_release_events_tenantId'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_release_events')),
    **TABLE_ARGS,
    )
    op.create_index('ix_release_events_release', 'release_events', ['releaseId', 'id'], unique=False)
    op.create_table('regression_cycles',
    sa.Column('id', ID, nullable=False),
    sa.Column('tenantId', TENANT_ID, nullable=False),
    sa.Column('releaseId', ID, nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('builds', PROSE, nullable=True),
    sa.Column('startedAt', sa.DateTime(), nullable=False),
    sa.Column('startedByAccountId', ID, nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('endedAt', sa.DateTime(), nullable=True),
    sa.Column('endedByAccountId', ID, nullable=True),
    sa.ForeignKeyConstraint(['endedByAccountId'], ['accounts.id'], name=op.f('fk_regression_cycles_endedByAccountId'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['releaseId'], ['releases.id'], name=op.f('fk_regression_cycles_releaseId'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['startedByAccountId'], ['accounts.id'], name=op.f('fk_regression_cycles_startedByAccountId'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenantId'], ['tenants.id'], name=op.f('fk_regression_cycles_tenantId'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_regression_cycles')),
    sa.UniqueConstraint('releaseId', 'number', name='uq_regression_cycles_release_number'),
    **TABLE_ARGS,
    )


def downgrade() -> None:
    op.drop_table('regression_cycles')
    op.drop_index('ix_release_events_release', table_name='release_events')
    op.drop_table('release_events')
