"""A straight implementation of the seed's Step 2 loop, kept only as the benchmark's baseline:
one query per target and per pipeline, one INSERT per junction row."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.enums import BuildStatus, ReleaseStatus, ReleaseType, TargetStatus, VerificationStatus
from core.models import (
    PipelineIntegration,
    Release,
    ReleasePipeline,
    ReleaseTarget,
    ScmIntegration,
    TargetIntegration,
)


def create_release_seed_style(session: Session, *, tenant_id: str, actor_id: str, version: str, scm_id: str,
                              target_ids: list[str], pipeline_ids: list[str]) -> str:
    scm = session.scalar(select(ScmIntegration).where(
        ScmIntegration.id == scm_id, ScmIntegration.tenantId == tenant_id, ScmIntegration.isActive.is_(True),
        ScmIntegration.verificationStatus == VerificationStatus.VALID))
    if scm is None:
        raise ValueError("SCM integration not found or not verified")
    for target_id in target_ids:
        target = session.scalar(select(TargetIntegration).where(
            TargetIntegration.id == target_id, TargetIntegration.tenantId == tenant_id,
            TargetIntegration.isActive.is_(True), TargetIntegration.verificationStatus == VerificationStatus.VALID))
        if target is None:
            raise ValueError(f"Target {target_id} not found or not verified")
    for pipeline_id in pipeline_ids:
        pipeline = session.scalar(select(PipelineIntegration).where(
            PipelineIntegration.id == pipeline_id, PipelineIntegration.tenantId == tenant_id,
            PipelineIntegration.isActive.is_(True)))
        if pipeline is None:
            raise ValueError(f"Pipeline {pipeline_id} not found")
        # the seed's include: [scm, target] loads both associations
        session.get(ScmIntegration, pipeline.scmIntegrationId)
        session.scalar(select(TargetIntegration).where(TargetIntegration.id == pipeline.targetIntegrationId))
        if pipeline.scmIntegrationId != scm_id or pipeline.targetIntegrationId not in target_ids:
            raise ValueError(f"Pipeline {pipeline_id} does not match")
    release = Release(tenantId=tenant_id, releaseKey=f"seed-{version}", version=version,
                      releaseType=ReleaseType.PLANNED, status=ReleaseStatus.KICKOFF_PENDING, scmIntegrationId=scm_id,
                      baseBranch="main", branchRelease=f"release/{version}", createdByAccountId=actor_id)
    session.add(release)
    session.flush()
    for target_id in target_ids:
        session.add(ReleaseTarget(releaseId=release.id, targetIntegrationId=target_id, targetStatus=TargetStatus.PENDING))
        session.flush()
    for pipeline_id in pipeline_ids:
        session.add(ReleasePipeline(releaseId=release.id, pipelineIntegrationId=pipeline_id,
                                    buildStatus=BuildStatus.PENDING))
        session.flush()
    return release.id
