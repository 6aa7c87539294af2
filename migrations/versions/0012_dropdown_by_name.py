"""the dropdown indexes become `options` indexes ending with (displayName, id): type-ahead reads a tenant's usable integrations in
name order and stops at Slack's 100 options, whatever their number

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 19:40:00
"""
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

TABLES = ("tenant_scm_integrations", "tenant_target_integrations", "tenant_pipeline_integrations",
          "tenant_communication_integrations", "tenant_ticket_integrations")


def _swap(old: str, new: str, columns: list[str]) -> None:
    # The new index first: on MySQL the old one serves the tenantId foreign key until another does.
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f'ix_{table}_{new}', columns, unique=False)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f'ix_{table}_{old}')


def upgrade() -> None:
    _swap('dropdown', 'options', ['tenantId', 'isActive', 'verificationStatus', 'displayName', 'id'])


def downgrade() -> None:
    _swap('options', 'dropdown', ['tenantId', 'isActive', 'verificationStatus'])
