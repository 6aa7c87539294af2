"""release cards and request keys

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 02:41:51.303503
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

_MY = ("mysql", "mariadb")
TENANT_ID = sa.String(36).with_variant(mysql.CHAR(36, charset="latin1", collation="latin1_bin"), *_MY)
ID = sa.String(255).with_variant(mysql.VARCHAR(255, charset="latin1"), *_MY)


def upgrade() -> None:
    op.create_table('request_keys',
    sa.Column('id', ID, nullable=False),
    sa.Column('tenantId', TENANT_ID, nullable=False),
    sa.Column('scope', sa.String(length=64), nullable=False),
    sa.Column('requestKey', ID, nullable=False),
    sa.Column('resultId', ID, nullable=False),
    sa.Column('createdAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.ForeignKeyConstraint(['tenantId'], ['tenants.id'], name=op.f('fk_request_keys_tenantId'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_request_keys')),
    sa.UniqueConstraint('tenantId', 'scope', 'requestKey', name='uq_request_keys_scope_key'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci',
    mysql_engine='InnoDB'
    )
    op.create_table('release_cards',
    sa.Column('releaseId', ID, nullable=False),
    sa.Column('channelId', ID, nullable=False),
    sa.Column('messageTs', ID, nullable=False),
    sa.Column('createdAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.Column('updatedAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.ForeignKeyConstraint(['releaseId'], ['releases.id'], name=op.f('fk_release_cards_releaseId'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('releaseId', name=op.f('pk_release_cards')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci',
    mysql_engine='InnoDB'
    )
    if op.get_bind().dialect.name in _MY:
        op.execute("ALTER TABLE `release_cards` MODIFY `updatedAt` DATETIME NULL "
                   "DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP")


def downgrade() -> None:
    op.drop_table('release_cards')
    op.drop_table('request_keys')
