"""The five integration tables a tenant registers (source control, stores, CI, communication, tickets)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.enums import CommunicationType, PipelineType, ScmType, TargetType, TicketType, VerificationStatus
from core.models.base import (
    OUR_TABLE_ARGS,
    Base,
    IdType,
    NameType,
    ProseType,
    TenantIdType,
    Timestamped,
    enum_column,
    new_id,
)


class IntegrationColumns(Timestamped):
    """What every integration row holds: ownership, state of verification, encrypted credentials."""

    # sort_order puts the shared columns first in the table, where a reader looks for them.
    id: Mapped[str] = mapped_column(IdType, primary_key=True, default=new_id, sort_order=-3)
    tenantId: Mapped[str] = mapped_column(
        TenantIdType, ForeignKey("tenants.id", ondelete="CASCADE"), sort_order=-2
    )
    displayName: Mapped[str] = mapped_column(NameType, sort_order=-1)
    baseUrl: Mapped[str | None] = mapped_column(String(512))
    settings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    encryptedCredentials: Mapped[str | None] = mapped_column(Text)
    isActive: Mapped[bool] = mapped_column(Boolean, server_default=text("1"))
    verificationStatus: Mapped[VerificationStatus] = mapped_column(
        enum_column(VerificationStatus, "verification_status"), server_default=VerificationStatus.PENDING.value
    )
    lastVerifiedAt: Mapped[datetime | None] = mapped_column(DateTime)
    verificationError: Mapped[str | None] = mapped_column(ProseType)
    removedAt: Mapped[datetime | None] = mapped_column(DateTime)  # hidden, kept for the ended releases naming it


def _dropdown_index(table: str) -> Index:
    # The modal lists a tenant's active, verified integrations by name, 100 at most: one index serves that
    # query in order, so the database stops after the first 100 matches (migration 0012).
    return Index(f"ix_{table}_options", "tenantId", "isActive", "verificationStatus", "displayName", "id")


class ScmIntegration(IntegrationColumns, Base):
    """A source repository: GitHub (or Enterprise), GitLab (or self-hosted), Bitbucket Cloud."""

    __tablename__ = "tenant_scm_integrations"
    __table_args__ = (_dropdown_index(__tablename__), OUR_TABLE_ARGS)

    scmType: Mapped[ScmType] = mapped_column(enum_column(ScmType, "scm_type"))
    organization: Mapped[str] = mapped_column(String(255))
    repository: Mapped[str] = mapped_column(String(255))
    defaultBranch: Mapped[str] = mapped_column(String(255), server_default="main")


class TargetIntegration(IntegrationColumns, Base):
    """A store listing: App Store Connect app or Google Play package."""

    __tablename__ = "tenant_target_integrations"
    __table_args__ = (_dropdown_index(__tablename__), OUR_TABLE_ARGS)

    targetType: Mapped[TargetType] = mapped_column(enum_column(TargetType, "target_type"))
    appIdentifier: Mapped[str] = mapped_column(String(255))


class PipelineIntegration(IntegrationColumns, Base):
    """A CI job (Jenkins) or workflow (GitHub Actions); builds one SCM for one target."""

    __tablename__ = "tenant_pipeline_integrations"
    __table_args__ = (_dropdown_index(__tablename__), OUR_TABLE_ARGS)

    pipelineType: Mapped[PipelineType] = mapped_column(enum_column(PipelineType, "pipeline_type"))
    scmIntegrationId: Mapped[str] = mapped_column(
        IdType, ForeignKey("tenant_scm_integrations.id", ondelete="RESTRICT"), index=True
    )
    targetIntegrationId: Mapped[str] = mapped_column(
        IdType, ForeignKey("tenant_target_integrations.id", ondelete="RESTRICT"), index=True
    )
    jobPath: Mapped[str] = mapped_column(String(512))


class CommunicationIntegration(IntegrationColumns, Base):
    """Where a release is announced: a Slack channel, or an email list."""

    __tablename__ = "tenant_communication_integrations"
    __table_args__ = (_dropdown_index(__tablename__), OUR_TABLE_ARGS)

    communicationType: Mapped[CommunicationType] = mapped_column(
        enum_column(CommunicationType, "communication_type")
    )
    channelId: Mapped[str | None] = mapped_column(String(255))
    channelName: Mapped[str | None] = mapped_column(NameType)


class TicketIntegration(IntegrationColumns, Base):
    """Where epics are created: a Jira project or a Linear team."""

    __tablename__ = "tenant_ticket_integrations"
    __table_args__ = (_dropdown_index(__tablename__), OUR_TABLE_ARGS)

    ticketType: Mapped[TicketType] = mapped_column(enum_column(TicketType, "ticket_type"))
    projectKey: Mapped[str] = mapped_column(String(255))


INTEGRATION_MODELS = {
    "scm": ScmIntegration,
    "target": TargetIntegration,
    "pipeline": PipelineIntegration,
    "communication": CommunicationIntegration,
    "ticket": TicketIntegration,
}
