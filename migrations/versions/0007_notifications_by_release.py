"""an index for a release's pending thread lines (they are posted in the order of the history)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 17:25:00
"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_release', ['releaseId', 'state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_release')
