"""The seed's three release tables, column by column: releases, release_targets, release_pipelines."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from core.enums import BuildStatus, ReleaseStatus, ReleaseType, TargetStatus
from core.models.base import SEED_TABLE_ARGS, Base, ProseType, TenantIdType, Timestamped, enum_column, new_id


class Release(Timestamped, Base):
    """A release, as the seed's `releases` table."""

    __tablename__ = "releases"
    __table_args__ = (
        UniqueConstraint("tenantId", "releaseKey", name="unique_tenant_release_key"),
        Index("idx_release_tenant", "tenantId", "status"),
        Index("idx_release_version", "tenantId", "version"),
        Index("idx_release_scm", "scmIntegrationId"),
        Index("idx_release_communication", "communicationIntegrationId"),
        Index("idx_release_ticket", "ticketIntegrationId"),
        SEED_TABLE_ARGS,
    )

    id: Mapped[str] = mapped_column(String(255), primary_key=True, default=new_id)
    tenantId: Mapped[str] = mapped_column(TenantIdType, ForeignKey("tenants.id", ondelete="CASCADE"))
    releaseKey: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(255))
    releaseType: Mapped[ReleaseType] = mapped_column(enum_column(ReleaseType, "release_type"))
    status: Mapped[ReleaseStatus] = mapped_column(
        enum_column(ReleaseStatus, "release_status"), server_default=ReleaseStatus.KICKOFF_PENDING.value
    )
    scmIntegrationId: Mapped[str] = mapped_column(
        String(255), ForeignKey("tenant_scm_integrations.id", ondelete="RESTRICT")
    )
    baseVersion: Mapped[str | None] = mapped_column(String(255))
    baseBranch: Mapped[str] = mapped_column(String(255))
    branchRelease: Mapped[str] = mapped_column(String(255))
    branchCodepush: Mapped[str | None] = mapped_column(String(255))
    primaryTargetId: Mapped[str | None] = mapped_column(String(255))
    communicationIntegrationId: Mapped[str | None] = mapped_column(
        String(255), ForeignKey("tenant_communication_integrations.id", ondelete="SET NULL")
    )
    ticketIntegrationId: Mapped[str | None] = mapped_column(
        String(255), ForeignKey("tenant_ticket_integrations.id", ondelete="SET NULL")
    )
    iOSEpicId: Mapped[str | None] = mapped_column(String(255))
    androidEpicId: Mapped[str | None] = mapped_column(String(255))
    webEpicId: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(ProseType)
    plannedDate: Mapped[datetime | None] = mapped_column(DateTime)
    targetReleaseDate: Mapped[datetime | None] = mapped_column(DateTime)
    releaseDate: Mapped[datetime | None] = mapped_column(DateTime)
    isDelayed: Mapped[bool | None] = mapped_column(Boolean, server_default=text("0"))
    delayedReason: Mapped[str | None] = mapped_column(ProseType)
    releasePilotId: Mapped[str | None] = mapped_column(
        String(255), ForeignKey("accounts.id", ondelete="SET NULL")
    )
    createdByAccountId: Mapped[str] = mapped_column(
        String(255), ForeignKey("accounts.id", ondelete="RESTRICT")
    )


class ReleaseTarget(Timestamped, Base):
    """A store target of a release, with its own status (the seed's `release_targets`)."""

    __tablename__ = "release_targets"
    __table_args__ = (
        UniqueConstraint("releaseId", "targetIntegrationId", name="unique_release_target"),
        Index("idx_target_release", "targetIntegrationId"),
        SEED_TABLE_ARGS,
    )

    id: Mapped[str] = mapped_column(String(255), primary_key=True, default=new_id)
    releaseId: Mapped[str] = mapped_column(String(255), ForeignKey("releases.id", ondelete="CASCADE"))
    targetIntegrationId: Mapped[str] = mapped_column(
        String(255), ForeignKey("tenant_target_integrations.id", ondelete="RESTRICT")
    )
    buildNumber: Mapped[str | None] = mapped_column(String(255))
    submittedAt: Mapped[datetime | None] = mapped_column(DateTime)
    approvedAt: Mapped[datetime | None] = mapped_column(DateTime)
    targetStatus: Mapped[TargetStatus | None] = mapped_column(
        enum_column(TargetStatus, "target_status"), server_default=TargetStatus.PENDING.value
    )


class ReleasePipeline(Timestamped, Base):
    """A pipeline of a release and its build (the seed's `release_pipelines`)."""

    __tablename__ = "release_pipelines"
    __table_args__ = (
        UniqueConstraint("releaseId", "pipelineIntegrationId", name="unique_release_pipeline"),
        Index("idx_pipeline_release", "pipelineIntegrationId"),
        Index("idx_build_status", "buildStatus"),
        SEED_TABLE_ARGS,
    )

    id: Mapped[str] = mapped_column(String(255), primary_key=True, default=new_id)
    releaseId: Mapped[str] = mapped_column(String(255), ForeignKey("releases.id", ondelete="CASCADE"))
    pipelineIntegrationId: Mapped[str] = mapped_column(
        String(255), ForeignKey("tenant_pipeline_integrations.id", ondelete="RESTRICT")
    )
    triggered: Mapped[bool | None] = mapped_column(Boolean, server_default=text("0"))
    triggeredAt: Mapped[datetime | None] = mapped_column(DateTime)
    buildUrl: Mapped[str | None] = mapped_column(String(512))
    buildStatus: Mapped[BuildStatus | None] = mapped_column(
        enum_column(BuildStatus, "build_status"), server_default=BuildStatus.PENDING.value
    )
    buildNumber: Mapped[str | None] = mapped_column(String(255))
    artifactUrl: Mapped[str | None] = mapped_column(String(512))
    buildLogUrl: Mapped[str | None] = mapped_column(String(512))
