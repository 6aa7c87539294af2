"""A `releasebot serve` killed (SIGKILL) while it submits to Google Play: after a restart the submission is
finished once — one edit committed with the release on the track — whether or not Play had taken the
commit before the process died."""
from __future__ import annotations

import json
import signal

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from bot.ids import ActionId, BlockId, CallbackId
from core.enums import IntegrationKind, ReleaseStatus, TargetStatus, TaskState
from core.models import StoreRequest
from core.services import lifecycle, regression
from core.services.builds import request_build
from core.services.history import list_events
from core.services.release_creation import create_release
from tests.bot.helpers import wait_for
from tests.bot.test_app_store_crash import _release, _verified
from tests.bot.test_crash_and_replicas import JOB, stage  # noqa: F401 (the fixture)
from tests.fakes.google import FakeGoogle
from tests.integrations.test_target_play_store import EMAIL, PACKAGE, key_json
from tests.slack_requests import SlackClient, text_value

COMMIT = ":commit$"


@pytest.fixture
def google():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fake = FakeGoogle()
    fake.add_account(EMAIL, key.public_key(), packages=(PACKAGE,))
    fake.add_package(PACKAGE)
    fake.key = key
    with fake:
        yield fake


def _regression_passed(stage, google, version: str):  # noqa: F811
    """A release of one Play Store target (on the fake) whose build succeeded and whose regression passed."""
    rt, world = stage.runtime, stage.world
    target = _verified(rt, world, IntegrationKind.TARGET, provider="play_store", display_name="Google Play",
                       base_url=google.url, fields={"appIdentifier": PACKAGE},
                       secrets={"serviceAccountJson": key_json(google.key, google.token_uri)})
    ci = _verified(rt, world, IntegrationKind.PIPELINE, provider="jenkins", display_name="Jenkins Android",
                   base_url=stage.jenkins.url, secrets={"username": "releasebot", "apiToken": "jenkins-api-token"},
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


@pytest.mark.parametrize("store_got_it", [False, True], ids=["before-play-took-it", "after-play-took-it"])
def test_a_bot_killed_while_submitting_to_play_commits_one_edit_after_restart(stage, google, store_got_it):  # noqa: F811
    stage.jenkins.start_after_polls, stage.jenkins.finish_after_polls = 0, 0
    url = stage.serve()
    release = _regression_passed(stage, google, "6.1.0")
    version_code = release.targets[0].buildNumber
    google.upload(PACKAGE, version_code)
    gate = google.hold(COMMIT)  # the edit's commit reaches Play and waits there
    person = SlackClient(url, team_id=stage.slack.team_id, user_id=stage.world.admin.slackUserId, user_name="ada")
    value = f"{release.id}:{release.targets[0].id}"
    assert person.block_action(action_id=f"{ActionId.STORE_PREFIX}submit", value=value, block_id=f"{BlockId.STORE_PREFIX}x",
                               channel_id="CORIGIN", message_ts="1.2", trigger_id="9.9.8").status_code == 200
    form = wait_for(lambda: [c.params["view"] for c in stage.slack.calls_to("views.open")
                             if c.params["view"]["callback_id"] == CallbackId.STORE_ACTION])[-1]
    assert json.loads(form["private_metadata"])["action"] == "submit"
    percent = {BlockId.USER_FRACTION: {ActionId.USER_FRACTION: text_value("5")}}
    assert person.view_submission(form, percent, view_id="V0PCRASH1").status_code == 200
    wait_for(lambda: google.calls("POST", COMMIT), timeout=30)
    stage.processes[0].send_signal(signal.SIGKILL)
    stage.processes[0].wait(10)
    if not store_got_it:  # the request dies with the process: Play never commits the edit
        google.fail(503, {"error": {"code": 503, "message": "The service is currently unavailable.",
                                    "status": "UNAVAILABLE"}}, path=COMMIT, method="POST")
    google.holds.clear()
    gate.set()
    wait_for(lambda: not google.holds and len(google.calls("POST", COMMIT)) == 1 and google.edits == {}
             if store_got_it else google.failures == [])

    stage.serve()  # the restart: the claim lapses, the action is done again from what the track says
    wait_for(lambda: _release(stage.runtime, release).targets[0].status == TargetStatus.SUBMITTED, timeout=40)
    [on_track] = google.track(PACKAGE)
    assert (on_track["versionCodes"], on_track["status"], on_track["userFraction"]) == ([version_code], "inProgress", 0.05)
    assert len(google.commits) == 1
    assert len(google.calls("PUT", "/tracks/production$")) == (1 if store_got_it else 2)  # after restart: only if lost
    with stage.runtime.reading() as s:
        rows = s.execute(select(StoreRequest.state).where(StoreRequest.releaseId == release.id)).scalars().all()
    assert rows == [TaskState.DONE]
    with stage.runtime.reading() as s:
        actions = [e.action for e in list_events(s, stage.world.tenant.id, release.id)]
    assert actions.count("store-submit") == 1 and actions.count("target-submitted") == 1
