"""a target's store state carries a revision, moved by every recorded state: a read that began before another
record (an action's answer) sees it moved and does not overwrite the newer state

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 09:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('release_target_stores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default=sa.text('0'), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('release_target_stores', schema=None) as batch_op:
        batch_op.drop_column('revision')
