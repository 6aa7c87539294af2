"""A target whose App Store webhook said "read the store now" while the runner was doing an action at that store (a
submission) stays due at once: the action's answer, recorded after, does not push the next read back by a poll."""
from __future__ import annotations

from datetime import timedelta

from core.clock import utcnow
from core.models import TargetStore
from core.runner.store_actions import StoreActions
from core.runner.store_states import StoreStates
from tests.core.runner_world import held_while_asked, runner
from tests.core.store_world import request_submission, state_changed, submittable


def test_a_webhook_that_arrives_while_the_runner_submits_leaves_the_target_due(rt, asc):
    world, people, release, target_id = submittable(rt, asc)
    states = runner(rt, "reader", interval=30).work(StoreStates)
    actions = runner(rt, "actor", interval=30).work(StoreActions)
    request_id = request_submission(rt, world, people, release, target_id)
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
    request_id = request_submission(rt, world, people, release, target_id)
    actions.run(request_id)
    with rt.reading() as s:
        store = s.get(TargetStore, target_id)
        assert store.line == "Waiting for review"
        assert store.nextCheckAt > utcnow() + timedelta(seconds=20)
