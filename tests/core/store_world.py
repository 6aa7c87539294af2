"""A release whose App Store target is on the fake App Store Connect, ready to submit, and the store's webhook."""
from __future__ import annotations

import hashlib
import hmac
import json

from core.enums import ReleaseStatus as S
from core.integrations.stores import StoreAction, StorePhase, StoreState
from core.services import integration_writes, store_actions, store_following, verification, webhooks
from tests.core.lifecycle_world import People, bring_to, new_release, targets
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


def request_submission(rt, world, people, release, target_id: str) -> str:
    """The admin asks to submit the target for review (the runner's StoreActions does it): the request's id."""
    with rt.unit_of_work() as s:
        return store_actions.request_action(
            s, tenant_id=world.tenant.id, release_id=release.id, target_id=target_id, actor_account_id=people.admin.id,
            action=StoreAction.SUBMIT, params={}, request_key="submit-1")
