"""SQLAlchemy 2.x typed models, one module per domain. The schema itself is created only by the Alembic migrations.

The three release tables follow the seed's DDL column by column (camelCase names, latin1 tables,
`tenantId CHAR(36) latin1_bin`). Deliberate differences: text a person types is utf8mb4, and the
integration tables carry an index for the dropdown query (tenant, active, verified).

Import models from here (`from core.models import Release`): importing the package imports every
module, so `Base.metadata` holds every table whichever model a caller names.
"""
from __future__ import annotations

# isort: off
# The order the tables were declared in when this was one module: the metadata lists them as before.
from core.models.base import (
    NAMING_CONVENTION,
    OUR_TABLE_ARGS,
    SEED_TABLE_ARGS,
    Base,
    EventTimeType,
    IdType,
    NameType,
    ProseType,
    ReleaseRefType,
    TenantIdType,
    Timestamped,
    enum_column,
    new_id,
)
from core.models.tenancy import Account, Tenant
from core.models.integrations import (
    INTEGRATION_MODELS,
    CommunicationIntegration,
    IntegrationColumns,
    PipelineIntegration,
    ScmIntegration,
    TargetIntegration,
    TicketIntegration,
)
from core.models.releases import Release, ReleasePipeline, ReleaseTarget
from core.models.bookkeeping import Notification, PipelineBuild, ReleaseCard, RequestKey
from core.models.life import RegressionCycle, ReleaseEvent, ReleaseTask
from core.models.stores import ReleaseReminder, StoreRequest, TargetStore
from core.models.installations import SlackInstallation, SlackOAuthState
from core.models.admin import AuditEvent, HomeView, IntegrationVerification
# isort: on

__all__ = [
    # base
    "NAMING_CONVENTION", "OUR_TABLE_ARGS", "SEED_TABLE_ARGS", "Base", "EventTimeType", "IdType", "NameType",
    "ProseType", "ReleaseRefType", "TenantIdType", "Timestamped", "enum_column", "new_id",
    # tenancy
    "Account", "Tenant",
    # integrations
    "INTEGRATION_MODELS", "CommunicationIntegration", "IntegrationColumns", "PipelineIntegration", "ScmIntegration",
    "TargetIntegration", "TicketIntegration",
    # releases
    "Release", "ReleasePipeline", "ReleaseTarget",
    # bookkeeping
    "Notification", "PipelineBuild", "ReleaseCard", "RequestKey",
    # life
    "RegressionCycle", "ReleaseEvent", "ReleaseTask",
    # stores
    "ReleaseReminder", "StoreRequest", "TargetStore",
    # installations
    "SlackInstallation", "SlackOAuthState",
    # admin
    "AuditEvent", "HomeView", "IntegrationVerification",
]
