"""A read of a target's store that began before a store action recorded its answer, and ends after it, does not
overwrite the action's newer state with its older one: the card keeps the action's state, no history line goes
back, and the store is read again at once. Nor does such a read that fails say the store could not be read."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.clock import utcnow
from core.enums import TargetStatus
from core.integrations.stores import StorePhase
from core.models import ReleaseEvent, TargetStore
from core.runner.store_actions import StoreActions
from core.runner.store_states import StoreStates
from core.services import store_views
from tests.core.lifecycle_world import targets
from tests.core.runner_world import held_while_asked, runner
from tests.core.store_world import request_submission
from tests.core.store_world import submittable as ready_to_submit


def submittable(rt, asc) -> tuple:
    """v1.5.0 ready to submit (store_world.submittable), its App Store target due a read."""
    world, people, release, target_id = ready_to_submit(rt, asc)
    with rt.unit_of_work() as s:
        s.get(TargetStore, target_id).nextCheckAt = utcnow() - timedelta(minutes=1)
    return world, people, release, target_id


def test_a_store_read_asked_before_a_submission_was_recorded_keeps_the_submissions_state(rt, asc):
    world, people, release, target_id = submittable(rt, asc)
    states = runner(rt, "reader", interval=30).work(StoreStates)
    actions = runner(rt, "actor", interval=30).work(StoreActions)
    # App Store Connect answers the read ("no version 1.5.0 yet"); the answer is slow to arrive.
    with rt.reading() as s:
        told_before = back_to_not_submitted(s, release.id)
    gate = asc.hold(r"/appStoreVersions$", answered=True, times=1)
    with held_while_asked(gate, gate.holding.is_set, states.run, target_id, who="App Store Connect"):
        submit(rt, world, people, release, target_id, actions)
    with rt.reading() as s:
        store = s.get(TargetStore, target_id)
        assert (store.phase, store.line, store.allowed) == (StorePhase.IN_REVIEW.value, "Waiting for review", [])
        view = store_views.store_views(s, release_id=release.id)[target_id]  # what the card draws
        assert (view.line, view.allowed) == ("Waiting for review", ())
        assert targets(s, world, release)[0].status == TargetStatus.SUBMITTED
        assert back_to_not_submitted(s, release.id) == told_before  # no thread line takes the card back
        assert store.nextCheckAt <= utcnow()  # read again at once
    assert target_id in states.due()


def test_a_store_read_that_fails_after_a_submission_was_recorded_does_not_say_the_store_could_not_be_read(rt, asc):
    world, people, release, target_id = submittable(rt, asc)
    states = runner(rt, "reader", interval=30).work(StoreStates)
    actions = runner(rt, "actor", interval=30).work(StoreActions)
    gate = asc.hold(r"/appStoreVersions$", times=1)  # the read waits at App Store Connect...
    with held_while_asked(gate, gate.holding.is_set, states.run, target_id, who="App Store Connect"):
        submit(rt, world, people, release, target_id, actions)
        # ...which then answers it (and its retries) "unavailable".
        asc.fail(503, {"errors": [{"status": "503", "title": "Service Unavailable"}]}, path=r"/appStoreVersions$",
                 method="GET", times=4, headers={"Retry-After": "0"})
    with rt.reading() as s:
        store = s.get(TargetStore, target_id)
        assert (store.line, store.lastError, store.checks) == ("Waiting for review", None, 0)
        view = store_views.store_views(s, release_id=release.id)[target_id]  # what the card draws
        assert (view.line, view.problem) == ("Waiting for review", None)
        assert store.nextCheckAt <= utcnow() and store.claimedUntil is None  # read again at once
    assert target_id in states.due()


def submit(rt, world, people, release, target_id: str, actions: StoreActions) -> None:
    """Submit the target for review, the runner's store action included: the store's state after it is recorded."""
    request_id = request_submission(rt, world, people, release, target_id)
    actions.run(request_id)
    with rt.reading() as s:
        assert s.get(TargetStore, target_id).line == "Waiting for review"


def back_to_not_submitted(s, release_id: str) -> int:
    """How many `store-state` history events (each a thread line) said "Not submitted"."""
    return len(s.scalars(select(ReleaseEvent.id).where(ReleaseEvent.releaseId == release_id, ReleaseEvent.action == "store-state",
                                                       ReleaseEvent.toValue == "Not submitted")).all())
