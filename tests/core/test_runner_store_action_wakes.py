"""A target whose App Store webhook said "read the store now" while the runner was doing an action at that store (a
submission) stays due at once: the action's answer, recorded after, does not push the next read back by a poll."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

from core.clock import utcnow
from core.enums import ReleaseStatus as S
from core.integrations.stores import StoreAction, StorePhase, StoreState
from core.models import TargetStore
from core.runner.store_actions import StoreActions
from core.runner.store_states import StoreStates
from core.services import integration_writes, store_actions, store_following, verification, webhooks
from tests.core.lifecycle_world import People, bring_to, new_release, targets
from tests.core.runner_world import held_while_asked, runner
from tests.factories import World
from tests.integrations.test_target_app_store import BUNDLE, ISSUER, KEY_ID

HOOK_SECRET = "asc-hook-secret"
NOT_SUBMITTED = StoreState(StorePhase.NONE, "Not submitted", (StoreAction.SUBMIT,), None)


def submittable(rt, asc) -> tuple:
    """v1.5.0 past regression, its App Store target (on the fake, with its build uploaded and a webhook secret)
    followed: (world, people, release, target id)."""
    with rt.unit_of_work() as s:
        world = World(s, rt.cipher)
        people = People(s, world)
        release = new_release(s, world, people)
        bring_to(s, world, people, release, S.REGRESSION_IN_PROGRESS, passed=True)
        integration_writes.update_integration(s, tenant_id=world.tenant.id, integration_id=world.ios.id, cipher=rt.cipher,
                                              display_name="App Store", base_url=asc.url, fields={"appIdentifier": BUNDLE},
                                              settings={"keyId": KEY_ID, "issuerId": ISSUER},
                                              secrets={"privateKey": asc.p8, "webhookSecret": HOOK_SECRET})
        verification.record_verification(s, tenant_id=world.tenant.id, integration_id=world.ios.id, error=None)
        target = targets(s, world, release)[0]  # the App Store
        asc.add_build(asc.app, "1.5.0", target.buildNumber)
        store_following.apply_state(s, target_id=target.id, state=NOT_SUBMITTED, interval=30)
    return world, people, release, target.id


def state_changed(rt, integration_id: str) -> None:
    """App Store Connect's webhook: a version's state changed."""
    body = json.dumps({"data": {"type": "appStoreVersionAppVersionStateUpdated"}}).encode()
    signature = "hmacsha256=" + hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    with rt.unit_of_work() as s:
        assert webhooks.app_store_notification(s, cipher=rt.cipher, integration_id=integration_id, body=body,
                                               signature=signature) == integration_id


def test_a_webhook_that_arrives_while_the_runner_submits_leaves_the_target_due(rt, asc):
    world, people, release, target_id = submittable(rt, asc)
    states = runner(rt, "reader", interval=30).work(StoreStates)
    actions = runner(rt, "actor", interval=30).work(StoreActions)
    with rt.unit_of_work() as s:
        request_id = store_actions.request_action(
            s, tenant_id=world.tenant.id, release_id=release.id, target_id=target_id, actor_account_id=people.admin.id,
            action=StoreAction.SUBMIT, params={}, request_key="submit-1")
    # The submission's last answer is slow to arrive; App Store Connect's webhook comes meanwhile.
    gate = asc.hold(r"/v1/reviewSubmissions", answered=True, times=1)
    with held_while_asked(gate, gate.holding.is_set, actions.run, request_id, who="App Store Connect"):
        state_changed(rt, world.ios.id)
    with rt.reading() as s:
        store = s.get(TargetStore, target_id)
        assert store.line == "Waiting for review"  # the submission's answer is recorded
        assert store.nextCheckAt <= utcnow()  # and the webhook's "read now" holds
    assert target_id in states.due()


def test_an_action_with_no_webhook_meanwhile_reads_the_store_again_after_its_poll(rt, asc):
    """The other side: without a wake, the action's answer is the newest word, and the next read waits its poll."""
    world, people, release, target_id = submittable(rt, asc)
    actions = runner(rt, "actor", interval=30).work(StoreActions)
    with rt.unit_of_work() as s:
        request_id = store_actions.request_action(
            s, tenant_id=world.tenant.id, release_id=release.id, target_id=target_id, actor_account_id=people.admin.id,
            action=StoreAction.SUBMIT, params={}, request_key="submit-1")
    actions.run(request_id)
    with rt.reading() as s:
        store = s.get(TargetStore, target_id)
        assert store.line == "Waiting for review"
        assert store.nextCheckAt > utcnow() + timedelta(seconds=20)
