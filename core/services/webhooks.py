"""CI and store webhooks: they only say "look now" — the follower's next check records the state, so a
forged or replayed webhook can at most cause one extra poll, never a wrong result."""
from __future__ import annotations

import hashlib
import hmac
import json

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.crypto import CredentialCipher
from core.enums import BuildState, PipelineType
from core.errors import PermissionDeniedError
from core.models import (
    PipelineBuild,
    PipelineIntegration,
    ReleasePipeline,
    ReleaseTarget,
    RequestKey,
    TargetIntegration,
    TargetStore,
)
from core.services.integrations import load_secrets
from core.services.wakes import wake


def _wake(session: Session, build_id: str) -> None:
    """Make the build due at once (core.services.wakes). Read locked, as committed: from an older snapshot the new
    value could repeat one the runner read."""
    build = session.get(PipelineBuild, build_id, with_for_update=True, populate_existing=True)
    build.nextCheckAt = wake(build.nextCheckAt)


def _builds_of(session: Session, pipeline_type: PipelineType, *conditions):
    return session.execute(
        select(PipelineBuild, PipelineIntegration)
        .join(ReleasePipeline, ReleasePipeline.id == PipelineBuild.releasePipelineId)
        .join(PipelineIntegration, PipelineIntegration.id == ReleasePipeline.pipelineIntegrationId)
        .where(PipelineIntegration.pipelineType == pipeline_type, PipelineBuild.state == BuildState.RUNNING, *conditions)
    ).all()


def _secret(pipeline: PipelineIntegration, cipher: CredentialCipher) -> bytes | None:
    secret = load_secrets(pipeline, cipher).get("webhookSecret")
    return secret.encode() if secret else None


def _signed_by(pipeline: PipelineIntegration, cipher: CredentialCipher, body: bytes, signature: str | None) -> bool:
    secret = _secret(pipeline, cipher)
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest() if secret else None
    return expected is not None and hmac.compare_digest(expected, signature or "")


def github_workflow_run(session: Session, *, cipher: CredentialCipher, run_id: str, delivery_id: str, body: bytes,
                        signature: str | None) -> str | None:
    """A `workflow_run` delivery: check X-Hub-Signature-256 (constant time, over the raw body)
    against the secret of the pipeline that owns the run; returns the build to look at, or None for
    a repeated delivery or a run that is not ours."""
    matches = _builds_of(session, PipelineType.GITHUB_ACTIONS, PipelineBuild.queueId == run_id)
    if not matches:
        return None
    # Run ids are unique per GitHub server, not across the servers of every tenant: the build is the
    # one whose pipeline's secret signed the body.
    build = next((b for b, pipeline in matches if _signed_by(pipeline, cipher, body, signature)), None)
    if build is None:
        raise PermissionDeniedError("bad webhook signature")
    try:
        with session.begin_nested():
            session.add(RequestKey(tenantId=build.tenantId, scope="github.delivery", requestKey=delivery_id,
                                   resultId=build.id))
    except IntegrityError:
        return None  # GitHub redelivered it: already acted on
    _wake(session, build.id)
    return build.id


def jenkins_notification(session: Session, *, cipher: CredentialCipher, pipeline_id: str, token: str | None,
                         payload: dict) -> str | None:
    """A Notification plugin message for one pipeline: authenticated by the pipeline's secret, acted
    on only when the build is FINALIZED; returns the build to look at."""
    pipeline = session.get(PipelineIntegration, pipeline_id)
    secret = _secret(pipeline, cipher) if pipeline is not None else None
    if secret is None or not hmac.compare_digest(secret, (token or "").encode()):
        raise PermissionDeniedError("bad webhook token")
    build_info = payload.get("build") or {}
    if build_info.get("phase") != "FINALIZED":
        return None
    key = (build_info.get("parameters") or {}).get("RELEASEBOT_KEY")
    matches = _builds_of(session, PipelineType.JENKINS, PipelineIntegration.id == pipeline_id,
                         PipelineBuild.idempotencyKey == key) if key else []
    if not matches:
        return None
    build = matches[0][0]
    _wake(session, build.id)
    return build.id


APP_STORE_EVENTS = ("appStoreVersionAppVersionStateUpdated", "appStoreVersionStateUpdated")


def app_store_notification(session: Session, *, cipher: CredentialCipher, integration_id: str, body: bytes,
                           signature: str | None) -> str | None:
    """An App Store Connect webhook for one App Store target: `x-apple-signature` (hmacsha256=<hex> of the raw
    body with the target's `webhookSecret`, checked in constant time) first; a version's state change then
    makes the runner read that target's store state now. Returns the integration to look at, or None."""
    target = session.get(TargetIntegration, integration_id)
    secret = load_secrets(target, cipher).get("webhookSecret") if target is not None else None
    given = (signature or "").strip()
    given = given[len("hmacsha256="):] if given.lower().startswith("hmacsha256=") else given
    if not secret or not hmac.compare_digest(hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(), given.lower()):
        raise PermissionDeniedError("bad webhook signature")
    event = (json.loads(body).get("data") or {}).get("type")  # only an authenticated body is parsed
    if event not in APP_STORE_EVENTS:
        return None  # a ping, a build or TestFlight event: nothing the card follows
    # The keys first, then the rows locked by them: on MariaDB a statement that finds them through a join locks the
    # range of the nextCheckAt index it scans, and deadlocks with a runner recording a read of one of them.
    keys = session.scalars(select(TargetStore.releaseTargetId).join(ReleaseTarget, ReleaseTarget.id == TargetStore.releaseTargetId)
                           .where(ReleaseTarget.targetIntegrationId == integration_id, TargetStore.nextCheckAt.is_not(None))).all()
    # Woken as a build is (core.services.wakes): read locked, as committed, in one order, each due at once with a
    # value the runner has never read, so a second webhook while the target is read is not taken for the first.
    woken = session.scalars(select(TargetStore).where(TargetStore.releaseTargetId.in_(keys), TargetStore.nextCheckAt.is_not(None))
                            .order_by(TargetStore.releaseTargetId).with_for_update()
                            .execution_options(populate_existing=True)).all() if keys else []
    for store in woken:
        store.nextCheckAt = wake(store.nextCheckAt)
    return integration_id if woken else None
