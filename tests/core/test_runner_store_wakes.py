"""A target whose App Store webhook said "read the store now" while the runner was reading it stays due at once: the
read's outcome, written after, does not push the next read back by its backoff (up to 15 minutes)."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta

import pytest

from core.clock import utcnow
from core.enums import IntegrationKind
from core.integrations.stores import StoreAction, StorePhase, StoreState
from core.models import ReleaseTarget, TargetStore
from core.runner.store_states import StoreStates
from core.services import integration_writes, store_following, verification, webhooks
from tests.core.runner_world import committed_meanwhile, held_while_asked, new_release, runner, runtime_on, world_on
from tests.core.store_world import HOOK_SECRET, state_changed
from tests.integrations.test_target_app_store import BUNDLE, ISSUER, KEY_ID

PREPARING = StoreState(StorePhase.PREPARING, "Prepare for submission", (StoreAction.SUBMIT,), None)


def followed_target(rt, world, asc) -> tuple[str, str]:
    """A release's App Store target (on the fake) whose store state was read five times unchanged: its next read is
    minutes away, and it is due now. Returns the release target's and the integration's ids."""
    with rt.unit_of_work() as s:
        view = integration_writes.add_integration(
            s, tenant_id=world.tenant.id, kind=IntegrationKind.TARGET, provider="app_store", display_name="iOS App Store",
            cipher=rt.cipher, base_url=asc.url, fields={"appIdentifier": BUNDLE},
            settings={"keyId": KEY_ID, "issuerId": ISSUER}, secrets={"privateKey": asc.p8, "webhookSecret": HOOK_SECRET})
        verification.record_verification(s, tenant_id=world.tenant.id, integration_id=view.id, error=None)
    release = new_release(rt, world, target_ids=(view.id,), pipeline_ids=())
    with rt.reading() as s:
        target_id = s.get(ReleaseTarget, release.targets[0].id).id
    with rt.unit_of_work() as s:
        store_following.apply_state(s, target_id=target_id, state=PREPARING, interval=30)
    with rt.unit_of_work() as s:
        store = s.get(TargetStore, target_id)
        store.checks, store.lastCheckedAt, store.nextCheckAt = 5, utcnow() - timedelta(hours=1), utcnow() - timedelta(minutes=1)
    return target_id, view.id


def next_check(rt, target_id: str):
    with rt.reading() as s:
        return s.get(TargetStore, target_id).nextCheckAt


def read_held(rt, github, asc, answer: int) -> tuple:
    """A followed App Store target whose next read will be held at the fake, then answer `answer` (200: a state;
    else an error): (target id, integration id, the runner's store reads, the gate)."""
    world = world_on(rt, github.url)
    target_id, integration_id = followed_target(rt, world, asc)
    gate = asc.hold(r"/v1/apps")
    if answer != 200:
        asc.fail(answer, {"errors": [{"status": str(answer), "title": "Service Unavailable"}]}, path=r"/v1/apps", times=10)
    return target_id, integration_id, runner(rt, interval=30).work(StoreStates), gate


@pytest.mark.parametrize("answer", [200, 503])  # a read that returns a state, a read that fails
def test_a_webhook_that_arrives_while_the_runner_reads_the_store_leaves_the_target_due(rt, github, asc, answer):
    target_id, integration_id, states, gate = read_held(rt, github, asc, answer)
    with held_while_asked(gate, lambda: asc.calls(path_regex=r"/v1/apps"), states.run, target_id, who="App Store Connect"):
        state_changed(rt, integration_id)  # the version moved at the store while the runner's read was under way
    assert next_check(rt, target_id) <= utcnow()  # the webhook's "read now" holds
    assert target_id in states.due()


@pytest.mark.parametrize("answer", [200, 503])
def test_a_second_webhook_while_the_runner_reads_what_the_first_woke_leaves_the_target_due(rt, github, asc, answer):
    """The runner is reading the target because of a first webhook, and a second comes while it asks, in the same
    second: it must not look like the wake-up already read (a wake that was "now" gave both the same value)."""
    target_id, integration_id, states, gate = read_held(rt, github, asc, answer)
    time.sleep(1.05 - datetime.now().microsecond / 1e6)  # early in a second: both webhooks come within it
    state_changed(rt, integration_id)  # the first: the runner's read starts from it
    with held_while_asked(gate, lambda: asc.calls(path_regex=r"/v1/apps"), states.run, target_id, who="App Store Connect"):
        state_changed(rt, integration_id)  # the version moved again while the runner's read was under way
    assert next_check(rt, target_id) <= utcnow()  # the second webhook's "read now" holds
    assert target_id in states.due()


@pytest.mark.mysql_only
@pytest.mark.parametrize("answer", [200, 503])
def test_a_webhook_committed_while_the_runner_records_a_read_leaves_the_target_due(mysql_engine, tmp_path, github, asc,
                                                                                 answer):
    with runtime_on(mysql_engine, tmp_path) as rt:
        world = world_on(rt, github.url)
        target_id, integration_id = followed_target(rt, world, asc)
        states = runner(rt, interval=30).work(StoreStates)
        if answer != 200:
            asc.fail(answer, {"errors": [{"status": str(answer), "title": "Service Unavailable"}]}, path=r"/v1/apps",
                     times=10)
        # The read's outcome ("unchanged, read again in minutes") is being written as the webhook comes in.
        with committed_meanwhile(rt, "lastCheckedAt", lambda other: _webhook_on(other, rt, integration_id)):
            states.run(target_id)
        assert next_check(rt, target_id) <= utcnow()
        assert target_id in states.due()


def _webhook_on(session, rt, integration_id: str) -> None:
    body = json.dumps({"data": {"type": "appStoreVersionAppVersionStateUpdated"}}).encode()
    signature = "hmacsha256=" + hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert webhooks.app_store_notification(session, cipher=rt.cipher, integration_id=integration_id, body=body,
                                           signature=signature) == integration_id
