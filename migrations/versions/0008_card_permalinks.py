"""release cards remember their permalink (the epics' description and the App Home link to the card)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 19:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('release_cards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('permalink', sa.String(length=512).with_variant(
            mysql.VARCHAR(length=512, charset='latin1'), 'mysql', 'mariadb'), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('release_cards', schema=None) as batch_op:
        batch_op.drop_column('permalink')
