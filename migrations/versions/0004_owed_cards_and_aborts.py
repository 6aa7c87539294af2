"""owed cards (posted and redrawn by the runner) and aborts recorded as intent

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 16:20:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

_MY = ("mysql", "mariadb")
ID = sa.String(255).with_variant(mysql.VARCHAR(255, charset="latin1"), *_MY)
PROSE = sa.Text().with_variant(mysql.TEXT(charset="utf8mb4", collation="utf8mb4_unicode_ci"), *_MY)


def upgrade() -> None:
    with op.batch_alter_table('release_cards', schema=None) as batch_op:
        batch_op.alter_column('messageTs', existing_type=ID, nullable=True)
        batch_op.add_column(sa.Column('originChannelId', ID, nullable=True))
        batch_op.add_column(sa.Column('requestedByAccountId', ID, nullable=True))
        # Cards posted before this migration are drawn: revision 1, drawn 1.
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default=sa.text('1'), nullable=False))
        batch_op.add_column(sa.Column('drawnRevision', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('nextAttemptAt', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('lastError', PROSE, nullable=True))
        batch_op.add_column(sa.Column('claimedBy', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('claimedUntil', sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(op.f('fk_release_cards_requestedByAccountId'), 'accounts', ['requestedByAccountId'], ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_release_cards_due', ['nextAttemptAt'], unique=False)
    op.execute("UPDATE release_cards SET drawnRevision = 1 WHERE messageTs IS NOT NULL")

    with op.batch_alter_table('pipeline_builds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('errorDetail', PROSE, nullable=True))
        batch_op.add_column(sa.Column('abortRequestedAt', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('abortedByAccountId', ID, nullable=True))
        batch_op.create_foreign_key(op.f('fk_pipeline_builds_abortedByAccountId'), 'accounts', ['abortedByAccountId'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('pipeline_builds', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_pipeline_builds_abortedByAccountId'), type_='foreignkey')
        batch_op.drop_column('abortedByAccountId')
        batch_op.drop_column('abortRequestedAt')
        batch_op.drop_column('errorDetail')
    op.execute("DELETE FROM release_cards WHERE messageTs IS NULL")
    with op.batch_alter_table('release_cards', schema=None) as batch_op:
        batch_op.drop_index('ix_release_cards_due')
        batch_op.drop_constraint(op.f('fk_release_cards_requestedByAccountId'), type_='foreignkey')
        for column in ('claimedUntil', 'claimedBy', 'lastError', 'nextAttemptAt', 'attempts', 'drawnRevision',
                       'revision', 'requestedByAccountId', 'originChannelId'):
            batch_op.drop_column(column)
        batch_op.alter_column('messageTs', existing_type=ID, nullable=False)
