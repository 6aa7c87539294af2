"""A `releasebot serve` killed (SIGKILL) while it submits to the App Store: after a restart the submission is
finished once — one version, one review submission, one item — whether or not the store had taken the last
call before the process died."""
from __future__ import annotations

import json
import signal

import pytest
from sqlalchemy import select

from bot.ids import ActionId, BlockId, CallbackId
from core.enums import IntegrationKind, ReleaseStatus, TargetStatus, TaskState
from core.models import StoreRequest
from core.services import integration_writes, lifecycle, regression
from core.services.builds import request_build
from core.services.history import list_events
from core.services.release_creation import create_release
from core.services.releases import get_release
from core.services.verification import verify_integration
from tests.bot.helpers import wait_for
from tests.bot.test_crash_and_replicas import JOB, stage  # noqa: F401 (the fixture)
from tests.integrations.test_target_app_store import BUNDLE, ISSUER, KEY_ID
from tests.slack_requests import SlackClient

SUBMIT_CALL = r"^/v1/reviewSubmissions/[^/]+$"


def _verified(rt, world, kind, **kwargs):
    with rt.unit_of_work() as s:
        view = integration_writes.add_integration(s, tenant_id=world.tenant.id, kind=kind, cipher=rt.cipher, **kwargs)
    with rt.unit_of_work() as s:
        assert verify_integration(s, tenant_id=world.tenant.id, integration_id=view.id, cipher=rt.cipher,
                                  ctx=rt.provider_context).usable
    return view


def _regression_passed(stage, asc, version: str):  # noqa: F811
    """A release of one App Store target (on the fake) whose build succeeded and whose regression passed."""
    rt, world = stage.runtime, stage.world
    target = _verified(rt, world, IntegrationKind.TARGET, provider="app_store", display_name="iOS App Store", base_url=asc.url,
                       fields={"appIdentifier": BUNDLE}, settings={"keyId": KEY_ID, "issuerId": ISSUER},
                       secrets={"privateKey": asc.p8})
    ci = _verified(rt, world, IntegrationKind.PIPELINE, provider="jenkins", display_name="Jenkins iOS", base_url=stage.jenkins.url,
                   secrets={"username": "releasebot", "apiToken": "jenkins-api-token"},
                   fields={"scmIntegrationId": world.scm.id, "targetIntegrationId": target.id, "jobPath": JOB})
    with rt.unit_of_work() as s:
        created = create_release(s, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                                 draft=world.draft(version=version, target_ids=(target.id,), pipeline_ids=(ci.id,)))
    admin = dict(tenant_id=world.tenant.id, release_id=created.id, actor_account_id=world.admin.id)
    with rt.unit_of_work() as s:
        lifecycle.kickoff(s, **admin)
    read = lambda: _release(rt, created)  # noqa: E731
    wait_for(lambda: read().status == ReleaseStatus.STARTED, timeout=30)
    with rt.unit_of_work() as s:
        request_build(s, tenant_id=world.tenant.id, account_id=world.admin.id, release_pipeline_id=created.pipelines[0].id)
    built = wait_for(lambda: (r := read()).targets[0].buildNumber and r, timeout=30)
    with rt.unit_of_work() as s:
        regression.start_regression(s, **admin)
    with rt.unit_of_work() as s:
        regression.regression_passed(s, **admin)
    return built


def _release(rt, created):
    with rt.reading() as s:
        return get_release(s, tenant_id=created.tenantId, release_id=created.id)


@pytest.mark.parametrize("store_got_it", [False, True], ids=["before-the-store-took-it", "after-the-store-took-it"])
def test_a_bot_killed_while_submitting_finishes_the_submission_once_after_restart(stage, asc, store_got_it):  # noqa: F811
    stage.jenkins.start_after_polls, stage.jenkins.finish_after_polls = 0, 0
    url = stage.serve()
    release = _regression_passed(stage, asc, "6.0.0")
    asc.add_build(asc.app, "6.0.0", release.targets[0].buildNumber)
    gate = asc.hold(SUBMIT_CALL)  # the last call of the submission reaches the store and waits there
    person = SlackClient(url, team_id=stage.slack.team_id, user_id=stage.world.admin.slackUserId, user_name="ada")
    value = f"{release.id}:{release.targets[0].id}"
    assert person.block_action(action_id=f"{ActionId.STORE_PREFIX}submit", value=value, block_id=f"{BlockId.STORE_PREFIX}x",
                               channel_id="CORIGIN", message_ts="1.2", trigger_id="9.9.9").status_code == 200
    form = wait_for(lambda: [c.params["view"] for c in stage.slack.calls_to("views.open")
                             if c.params["view"]["callback_id"] == CallbackId.STORE_ACTION])[-1]
    assert json.loads(form["private_metadata"])["action"] == "submit"
    assert person.view_submission(form, {}, view_id="V0CRASH1").status_code == 200
    wait_for(lambda: asc.calls("PATCH", SUBMIT_CALL), timeout=30)
    stage.processes[0].send_signal(signal.SIGKILL)
    stage.processes[0].wait(10)
    if not store_got_it:  # the request dies with the process: the store never submits it
        asc.fail(503, {"errors": [{"status": "503", "code": "UNAVAILABLE", "title": "Unavailable", "detail": "gone"}]},
                 path=SUBMIT_CALL, method="PATCH")
    asc.holds.clear()
    gate.set()
    wait_for(lambda: asc.version("6.0.0")["state"] == ("WAITING_FOR_REVIEW" if store_got_it else "PREPARE_FOR_SUBMISSION"))

    stage.serve()  # the restart: the claim lapses, the action is done again from what the store says
    wait_for(lambda: _release(stage.runtime, release).targets[0].status == TargetStatus.SUBMITTED, timeout=40)
    assert asc.version("6.0.0")["state"] == "WAITING_FOR_REVIEW"
    assert len(asc.calls("POST", "^/v1/appStoreVersions$")) == 1
    assert len(asc.calls("POST", "^/v1/reviewSubmissions$")) == 1 and len(asc.submissions) == 1
    assert len(asc.calls("POST", "^/v1/reviewSubmissionItems$")) == 1 and len(asc.items) == 1
    assert len(asc.calls("PATCH", SUBMIT_CALL)) == (1 if store_got_it else 2)  # the lost call, then the one after restart
    with stage.runtime.reading() as s:
        rows = s.execute(select(StoreRequest.state, StoreRequest.attempts).where(StoreRequest.releaseId == release.id)).all()
    assert [state for state, _ in rows] == [TaskState.DONE]
    with stage.runtime.reading() as s:
        actions = [e.action for e in list_events(s, stage.world.tenant.id, release.id)]
    assert actions.count("store-submit") == 1 and actions.count("target-submitted") == 1 and actions.count("all-submitted") == 1
