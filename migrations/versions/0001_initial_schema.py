"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 02:31:03.784426
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None

_MY = ("mysql", "mariadb")
# Frozen copies of core.models' column types: a migration must not change when the models do.
TENANT_ID = sa.String(36).with_variant(mysql.CHAR(36, charset="latin1", collation="latin1_bin"), *_MY)
ID = sa.String(255).with_variant(mysql.VARCHAR(255, charset="latin1"), *_MY)
NAME = sa.String(255).with_variant(mysql.VARCHAR(255, charset="utf8mb4", collation="utf8mb4_unicode_ci"), *_MY)
PROSE = sa.Text().with_variant(mysql.TEXT(charset="utf8mb4", collation="utf8mb4_unicode_ci"), *_MY)

TABLES = (
    "tenants",
    "accounts",
    "tenant_scm_integrations",
    "tenant_target_integrations",
    "tenant_pipeline_integrations",
    "tenant_communication_integrations",
    "tenant_ticket_integrations",
    "releases",
    "release_targets",
    "release_pipelines",
)


def upgrade() -> None:
    op.create_table('tenants',
    sa.Column('id', TENANT_ID, nullable=False),
    sa.Column('slackTeamId', ID, nullable=False),
    sa.Column('slackEnterpriseId', ID, nullable=True),
    sa.Column('name', NAME, nullable=False),
    sa.Column('createdAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.Column('updatedAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenants')),
    sa.UniqueConstraint('slackTeamId', name='uq_tenants_slackTeamId'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci',
    mysql_engine='InnoDB'
    )
    op.create_table('accounts',
    sa.Column('id', ID, nullable=False),
    sa.Column('tenantId', TENANT_ID, nullable=False),
    sa.Column('slackUserId', ID, nullable=False),
    sa.Column('displayName', NAME, nullable=False),
    sa.Column('role', sa.Enum('ADMIN', 'MEMBER', name='account_role'), server_default='MEMBER', nullable=False),
    sa.Column('createdAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.Column('updatedAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.ForeignKeyConstraint(['tenantId'], ['tenants.id'], name=op.f('fk_accounts_tenantId'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('tenantId', 'slackUserId', name='uq_accounts_tenant_user'),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci',
    mysql_engine='InnoDB'
    )
    op.create_table('tenant_communication_integrations',
    sa.Column('id', ID, nullable=False),
    sa.Column('tenantId', TENANT_ID, nullable=False),
    sa.Column('displayName', NAME, nullable=False),
    sa.Column('communicationType', sa.Enum('SLACK', 'EMAIL', name='communication_type'), nullable=False),
    sa.Column('channelId', sa.String(length=255), nullable=True),
    sa.Column('channelName', NAME, nullable=True),
    sa.Column('baseUrl', sa.String(length=512), nullable=True),
    sa.Column('settings', sa.JSON(), nullable=True),
    sa.Column('encryptedCredentials', sa.Text(), nullable=True),
    sa.Column('isActive', sa.Boolean(), server_default=sa.text('1'), nullable=False),
    sa.Column('verificationStatus', sa.Enum('PENDING', 'VALID', 'INVALID', name='verification_status'), server_default='PENDING', nullable=False),
    sa.Column('lastVerifiedAt', sa.DateTime(), nullable=True),
    sa.Column('verificationError', PROSE, nullable=True),
    sa.Column('createdAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.Column('updatedAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.ForeignKeyConstraint(['tenantId'], ['tenants.id'], name=op.f('fk_tenant_communication_integrations_tenantId'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant_communication_integrations')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci',
    mysql_engine='InnoDB'
    )
    with op.batch_alter_table('tenant_communication_integrations', schema=None) as batch_op:
        batch_op.create_index('ix_tenant_communication_integrations_dropdown', ['tenantId', 'isActive', 'verificationStatus'], unique=False)

    op.create_table('tenant_scm_integrations',
    sa.Column('id', ID, nullable=False),
    sa.Column('tenantId', TENANT_ID, nullable=False),
    sa.Column('displayName', NAME, nullable=False),
    sa.Column('scmType', sa.Enum('GITHUB', 'GITLAB', 'BITBUCKET', name='scm_type'), nullable=False),
    sa.Column('organization', sa.String(length=255), nullable=False),
    sa.Column('repository', sa.String(length=255), nullable=False),
    sa.Column('defaultBranch', sa.String(length=255), server_default='main', nullable=False),
    sa.Column('baseUrl', sa.String(length=512), nullable=True),
    sa.Column('settings', sa.JSON(), nullable=True),
    sa.Column('encryptedCredentials', sa.Text(), nullable=True),
    sa.Column('isActive', sa.Boolean(), server_default=sa.text('1'), nullable=False),
    sa.Column('verificationStatus', sa.Enum('PENDING', 'VALID', 'INVALID', name='verification_status'), server_default='PENDING', nullable=False),
    sa.Column('lastVerifiedAt', sa.DateTime(), nullable=True),
    sa.Column('verificationError', PROSE, nullable=True),
    sa.Column('createdAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.Column('updatedAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.ForeignKeyConstraint(['tenantId'], ['tenants.id'], name=op.f('fk_tenant_scm_integrations_tenantId'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant_scm_integrations')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci',
    mysql_engine='InnoDB'
    )
    with op.batch_alter_table('tenant_scm_integrations', schema=None) as batch_op:
        batch_op.create_index('ix_tenant_scm_integrations_dropdown', ['tenantId', 'isActive', 'verificationStatus'], unique=False)

    op.create_table('tenant_target_integrations',
    sa.Column('id', ID, nullable=False),
    sa.Column('tenantId', TENANT_ID, nullable=False),
    sa.Column('displayName', NAME, nullable=False),
    sa.Column('targetType', sa.Enum('APP_STORE', 'PLAY_STORE', name='target_type'), nullable=False),
    sa.Column('appIdentifier', sa.String(length=255), nullable=False),
    sa.Column('baseUrl', sa.String(length=512), nullable=True),
    sa.Column('settings', sa.JSON(), nullable=True),
    sa.Column('encryptedCredentials', sa.Text(), nullable=True),
    sa.Column('isActive', sa.Boolean(), server_default=sa.text('1'), nullable=False),
    sa.Column('verificationStatus', sa.Enum('PENDING', 'VALID', 'INVALID', name='verification_status'), server_default='PENDING', nullable=False),
    sa.Column('lastVerifiedAt', sa.DateTime(), nullable=True),
    sa.Column('verificationError', PROSE, nullable=True),
    sa.Column('createdAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.Column('updatedAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.ForeignKeyConstraint(['tenantId'], ['tenants.id'], name=op.f('fk_tenant_target_integrations_tenantId'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant_target_integrations')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci',
    mysql_engine='InnoDB'
    )
    with op.batch_alter_table('tenant_target_integrations', schema=None) as batch_op:
        batch_op.create_index('ix_tenant_target_integrations_dropdown', ['tenantId', 'isActive', 'verificationStatus'], unique=False)

    op.create_table('tenant_ticket_integrations',
    sa.Column('id', ID, nullable=False),
    sa.Column('tenantId', TENANT_ID, nullable=False),
    sa.Column('displayName', NAME, nullable=False),
    sa.Column('ticketType', sa.Enum('JIRA', 'LINEAR', name='ticket_type'), nullable=False),
    sa.Column('projectKey', sa.String(length=255), nullable=False),
    sa.Column('baseUrl', sa.String(length=512), nullable=True),
    sa.Column('settings', sa.JSON(), nullable=True),
    sa.Column('encryptedCredentials', sa.Text(), nullable=True),
    sa.Column('isActive', sa.Boolean(), server_default=sa.text('1'), nullable=False),
    sa.Column('verificationStatus', sa.Enum('PENDING', 'VALID', 'INVALID', name='verification_status'), server_default='PENDING', nullable=False),
    sa.Column('lastVerifiedAt', sa.DateTime(), nullable=True),
    sa.Column('verificationError', PROSE, nullable=True),
    sa.Column('createdAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.Column('updatedAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.ForeignKeyConstraint(['tenantId'], ['tenants.id'], name=op.f('fk_tenant_ticket_integrations_tenantId'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant_ticket_integrations')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci',
    mysql_engine='InnoDB'
    )
    with op.batch_alter_table('tenant_ticket_integrations', schema=None) as batch_op:
        batch_op.create_index('ix_tenant_ticket_integrations_dropdown', ['tenantId', 'isActive', 'verificationStatus'], unique=False)

    op.create_table('releases',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('tenantId', TENANT_ID, nullable=False),
    sa.Column('releaseKey', sa.String(length=255), nullable=False),
    sa.Column('version', sa.String(length=255), nullable=False),
    sa.Column('releaseType', sa.Enum('PLANNED', 'HOTFIX', 'MAJOR', name='release_type'), nullable=False),
    sa.Column('status', sa.Enum('KICKOFF_PENDING', 'PENDING', 'STARTED', 'REGRESSION_IN_PROGRESS', 'BUILD_SUBMITTED', 'RELEASED', 'CANCELLED', 'ARCHIVED', name='release_status'), server_default='KICKOFF_PENDING', nullable=False),
    sa.Column('scmIntegrationId', sa.String(length=255), nullable=False),
    sa.Column('baseVersion', sa.String(length=255), nullable=True),
    sa.Column('baseBranch', sa.String(length=255), nullable=False),
    sa.Column('branchRelease', sa.String(length=255), nullable=False),
    sa.Column('branchCodepush', sa.String(length=255), nullable=True),
    sa.Column('primaryTargetId', sa.String(length=255), nullable=True),
    sa.Column('communicationIntegrationId', sa.String(length=255), nullable=True),
    sa.Column('ticketIntegrationId', sa.String(length=255), nullable=True),
    sa.Column('iOSEpicId', sa.String(length=255), nullable=True),
    sa.Column('androidEpicId', sa.String(length=255), nullable=True),
    sa.Column('webEpicId', sa.String(length=255), nullable=True),
    sa.Column('description', PROSE, nullable=True),
    sa.Column('plannedDate', sa.DateTime(), nullable=True),
    sa.Column('targetReleaseDate', sa.DateTime(), nullable=True),
    sa.Column('releaseDate', sa.DateTime(), nullable=True),
    sa.Column('isDelayed', sa.Boolean(), server_default=sa.text('0'), nullable=True),
    sa.Column('delayedReason', PROSE, nullable=True),
    sa.Column('releasePilotId', sa.String(length=255), nullable=True),
    sa.Column('createdByAccountId', sa.String(length=255), nullable=False),
    sa.Column('createdAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.Column('updatedAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.ForeignKeyConstraint(['communicationIntegrationId'], ['tenant_communication_integrations.id'], name=op.f('fk_releases_communicationIntegrationId'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['createdByAccountId'], ['accounts.id'], name=op.f('fk_releases_createdByAccountId'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['releasePilotId'], ['accounts.id'], name=op.f('fk_releases_releasePilotId'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['scmIntegrationId'], ['tenant_scm_integrations.id'], name=op.f('fk_releases_scmIntegrationId'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenantId'], ['tenants.id'], name=op.f('fk_releases_tenantId'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticketIntegrationId'], ['tenant_ticket_integrations.id'], name=op.f('fk_releases_ticketIntegrationId'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_releases')),
    sa.UniqueConstraint('tenantId', 'releaseKey', name='unique_tenant_release_key'),
    mysql_charset='latin1',
    mysql_engine='InnoDB'
    )
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.create_index('idx_release_communication', ['communicationIntegrationId'], unique=False)
        batch_op.create_index('idx_release_scm', ['scmIntegrationId'], unique=False)
        batch_op.create_index('idx_release_tenant', ['tenantId', 'status'], unique=False)
        batch_op.create_index('idx_release_ticket', ['ticketIntegrationId'], unique=False)
        batch_op.create_index('idx_release_version', ['tenantId', 'version'], unique=False)

    op.create_table('tenant_pipeline_integrations',
    sa.Column('id', ID, nullable=False),
    sa.Column('tenantId', TENANT_ID, nullable=False),
    sa.Column('displayName', NAME, nullable=False),
    sa.Column('pipelineType', sa.Enum('JENKINS', 'GITHUB_ACTIONS', name='pipeline_type'), nullable=False),
    sa.Column('scmIntegrationId', ID, nullable=False),
    sa.Column('targetIntegrationId', ID, nullable=False),
    sa.Column('jobPath', sa.String(length=512), nullable=False),
    sa.Column('baseUrl', sa.String(length=512), nullable=True),
    sa.Column('settings', sa.JSON(), nullable=True),
    sa.Column('encryptedCredentials', sa.Text(), nullable=True),
    sa.Column('isActive', sa.Boolean(), server_default=sa.text('1'), nullable=False),
    sa.Column('verificationStatus', sa.Enum('PENDING', 'VALID', 'INVALID', name='verification_status'), server_default='PENDING', nullable=False),
    sa.Column('lastVerifiedAt', sa.DateTime(), nullable=True),
    sa.Column('verificationError', PROSE, nullable=True),
    sa.Column('createdAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.Column('updatedAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.ForeignKeyConstraint(['scmIntegrationId'], ['tenant_scm_integrations.id'], name=op.f('fk_tenant_pipeline_integrations_scmIntegrationId'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['targetIntegrationId'], ['tenant_target_integrations.id'], name=op.f('fk_tenant_pipeline_integrations_targetIntegrationId'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenantId'], ['tenants.id'], name=op.f('fk_tenant_pipeline_integrations_tenantId'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant_pipeline_integrations')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci',
    mysql_engine='InnoDB'
    )
    with op.batch_alter_table('tenant_pipeline_integrations', schema=None) as batch_op:
        batch_op.create_index('ix_tenant_pipeline_integrations_dropdown', ['tenantId', 'isActive', 'verificationStatus'], unique=False)
        batch_op.create_index(batch_op.f('ix_tenant_pipeline_integrations_scmIntegrationId'), ['scmIntegrationId'], unique=False)
        batch_op.create_index(batch_op.f('ix_tenant_pipeline_integrations_targetIntegrationId'), ['targetIntegrationId'], unique=False)

    op.create_table('release_pipelines',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('releaseId', sa.String(length=255), nullable=False),
    sa.Column('pipelineIntegrationId', sa.String(length=255), nullable=False),
    sa.Column('triggered', sa.Boolean(), server_default=sa.text('0'), nullable=True),
    sa.Column('triggeredAt', sa.DateTime(), nullable=True),
    sa.Column('buildUrl', sa.String(length=512), nullable=True),
    sa.Column('buildStatus', sa.Enum('PENDING', 'RUNNING', 'SUCCESS', 'FAILED', 'CANCELLED', name='build_status'), server_default='PENDING', nullable=True),
    sa.Column('buildNumber', sa.String(length=255), nullable=True),
    sa.Column('artifactUrl', sa.String(length=512), nullable=True),
    sa.Column('buildLogUrl', sa.String(length=512), nullable=True),
    sa.Column('createdAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.Column('updatedAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.ForeignKeyConstraint(['pipelineIntegrationId'], ['tenant_pipeline_integrations.id'], name=op.f('fk_release_pipelines_pipelineIntegrationId'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['releaseId'], ['releases.id'], name=op.f('fk_release_pipelines_releaseId'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_release_pipelines')),
    sa.UniqueConstraint('releaseId', 'pipelineIntegrationId', name='unique_release_pipeline'),
    mysql_charset='latin1',
    mysql_engine='InnoDB'
    )
    with op.batch_alter_table('release_pipelines', schema=None) as batch_op:
        batch_op.create_index('idx_build_status', ['buildStatus'], unique=False)
        batch_op.create_index('idx_pipeline_release', ['pipelineIntegrationId'], unique=False)

    op.create_table('release_targets',
    sa.Column('id', sa.String(length=255), nullable=False),
    sa.Column('releaseId', sa.String(length=255), nullable=False),
    sa.Column('targetIntegrationId', sa.String(length=255), nullable=False),
    sa.Column('buildNumber', sa.String(length=255), nullable=True),
    sa.Column('submittedAt', sa.DateTime(), nullable=True),
    sa.Column('approvedAt', sa.DateTime(), nullable=True),
    sa.Column('targetStatus', sa.Enum('PENDING', 'BUILDING', 'SUBMITTED', 'APPROVED', 'RELEASED', name='target_status'), server_default='PENDING', nullable=True),
    sa.Column('createdAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.Column('updatedAt', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=True),
    sa.ForeignKeyConstraint(['releaseId'], ['releases.id'], name=op.f('fk_release_targets_releaseId'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['targetIntegrationId'], ['tenant_target_integrations.id'], name=op.f('fk_release_targets_targetIntegrationId'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_release_targets')),
    sa.UniqueConstraint('releaseId', 'targetIntegrationId', name='unique_release_target'),
    mysql_charset='latin1',
    mysql_engine='InnoDB'
    )
    with op.batch_alter_table('release_targets', schema=None) as batch_op:
        batch_op.create_index('idx_target_release', ['targetIntegrationId'], unique=False)


    if op.get_bind().dialect.name in _MY:
        # The seed's `updatedAt ... ON UPDATE CURRENT_TIMESTAMP` has no portable spelling.
        for table in TABLES:
            op.execute(
                f"ALTER TABLE `{table}` MODIFY `updatedAt` DATETIME NULL "
                "DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP"
            )


def downgrade() -> None:
    with op.batch_alter_table('release_targets', schema=None) as batch_op:
        batch_op.drop_index('idx_target_release')

    op.drop_table('release_targets')
    with op.batch_alter_table('release_pipelines', schema=None) as batch_op:
        batch_op.drop_index('idx_pipeline_release')
        batch_op.drop_index('idx_build_status')

    op.drop_table('release_pipelines')
    with op.batch_alter_table('tenant_pipeline_integrations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tenant_pipeline_integrations_targetIntegrationId'))
        batch_op.drop_index(batch_op.f('ix_tenant_pipeline_integrations_scmIntegrationId'))
        batch_op.drop_index('ix_tenant_pipeline_integrations_dropdown')

    op.drop_table('tenant_pipeline_integrations')
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.drop_index('idx_release_version')
        batch_op.drop_index('idx_release_ticket')
        batch_op.drop_index('idx_release_tenant')
        batch_op.drop_index('idx_release_scm')
        batch_op.drop_index('idx_release_communication')

    op.drop_table('releases')
    with op.batch_alter_table('tenant_ticket_integrations', schema=None) as batch_op:
        batch_op.drop_index('ix_tenant_ticket_integrations_dropdown')

    op.drop_table('tenant_ticket_integrations')
    with op.batch_alter_table('tenant_target_integrations', schema=None) as batch_op:
        batch_op.drop_index('ix_tenant_target_integrations_dropdown')

    op.drop_table('tenant_target_integrations')
    with op.batch_alter_table('tenant_scm_integrations', schema=None) as batch_op:
        batch_op.drop_index('ix_tenant_scm_integrations_dropdown')

    op.drop_table('tenant_scm_integrations')
    with op.batch_alter_table('tenant_communication_integrations', schema=None) as batch_op:
        batch_op.drop_index('ix_tenant_communication_integrations_dropdown')

    op.drop_table('tenant_communication_integrations')
    op.drop_table('accounts')
    op.drop_table('tenants')
