"""GitHub's workflow_run deliveries are matched to the build whose pipeline's secret signed them."""
from __future__ import annotations

import hashlib
import hmac

import pytest

from core.enums import BuildState, IntegrationKind
from core.errors import PermissionDeniedError
from core.models import PipelineBuild
from core.services import integration_writes, verification, webhooks
from core.services.builds import record_progress, request_build
from core.services.release_creation import create_release
from tests.factories import World


def running_actions_build(session, cipher, name: str, secret: str, run_id: str) -> str:
    world = World(session, cipher, name=name)
    pipeline = integration_writes.add_integration(
        session, tenant_id=world.tenant.id, kind=IntegrationKind.PIPELINE, provider="github_actions", display_name="Actions",
        cipher=cipher, secrets={"token": "ghp_x", "webhookSecret": secret},
        fields={"scmIntegrationId": world.scm.id, "targetIntegrationId": world.ios.id, "jobPath": "release.yml"})
    verification.record_verification(session, tenant_id=world.tenant.id, integration_id=pipeline.id, error=None)
    release = create_release(session, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                             draft=world.draft(target_ids=(world.ios.id,), pipeline_ids=(pipeline.id,)))
    intent = request_build(session, tenant_id=world.tenant.id, account_id=world.admin.id,
                           release_pipeline_id=release.pipelines[0].id)
    record_progress(session, session.get(PipelineBuild, intent.build_id), state=BuildState.RUNNING, queue_id=run_id)
    return intent.build_id


def signed(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_two_workspaces_whose_github_servers_share_a_run_id_each_get_their_own_delivery(session, cipher):
    first = running_actions_build(session, cipher, "Acme", "acme-secret", "4242")
    second = running_actions_build(session, cipher, "Globex", "globex-secret", "4242")
    body = b'{"action": "completed", "workflow_run": {"id": 4242}}'
    for build_id, secret, delivery in ((first, "acme-secret", "d1"), (second, "globex-secret", "d2")):
        assert webhooks.github_workflow_run(session, cipher=cipher, run_id="4242", delivery_id=delivery, body=body,
                                            signature=signed(body, secret)) == build_id
    with pytest.raises(PermissionDeniedError):
        webhooks.github_workflow_run(session, cipher=cipher, run_id="4242", delivery_id="d3", body=body,
                                     signature=signed(body, "neither"))
