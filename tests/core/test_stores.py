"""The store service's rules, on SQLite and MariaDB: who may ask what of a store and when, a repeated
request, a second one while the first is owed, and how the store's state moves the target and the release."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.clock import utcnow
from core.db import retrying, unit_of_work
from core.enums import ReleaseStatus as S
from core.enums import TargetStatus, TaskState
from core.errors import PermissionDeniedError, ValidationError
from core.integrations.stores import StoreAction, StorePhase, StoreState
from core.lifecycle import TransitionRefusedError
from core.models import ReleaseEvent, StoreRequest, TargetStore
from core.services import store_actions, store_following, store_views
from tests.conftest import delete_tenant_rows
from tests.core.lifecycle_world import People, bring_to, new_release, status_of, targets
from tests.factories import World


@pytest.fixture
def ready(session, cipher):
    """v1.5.0 in regression, cycle passed, both targets built; its App Store target (first) is asked of."""
    world = World(session, cipher)
    people = People(session, world)
    release = new_release(session, world, people)
    bring_to(session, world, people, release, S.REGRESSION_IN_PROGRESS, passed=True)
    return session, world, people, release, targets(session, world, release)[0]


def ask(ready, action=StoreAction.SUBMIT, *, by=None, key="k1", params=None):
    session, world, people, release, target = ready
    return store_actions.request_action(session, tenant_id=world.tenant.id, release_id=release.id, target_id=target.id,
                                 actor_account_id=(by or people.admin).id, action=action, params=params or {}, request_key=key)


IN_REVIEW = StoreState(StorePhase.IN_REVIEW, "In review", (), TargetStatus.SUBMITTED)
APPROVED = StoreState(StorePhase.APPROVED, "Approved: waiting for release", (StoreAction.RELEASE,), TargetStatus.APPROVED)
LIVE = StoreState(StorePhase.LIVE, "Live on the App Store to everyone", (), TargetStatus.RELEASED)


def test_a_submission_is_owed_once_and_a_repeated_request_finds_it(ready):
    session, world, people, release, target = ready
    first = ask(ready, params={"whatsNew": "  Faster login "})
    assert ask(ready) == first  # the same request key: a Slack retry
    [row] = session.scalars(select(StoreRequest).where(StoreRequest.releaseId == release.id)).all()
    assert (row.action, row.state, row.params) == ("submit", TaskState.PENDING, {"whatsNew": "Faster login"})
    assert session.scalar(select(ReleaseEvent.action).where(ReleaseEvent.releaseId == release.id)
                          .order_by(ReleaseEvent.id.desc()).limit(1)) == "store-submit"


def test_a_second_click_while_the_first_is_owed_is_refused_and_creates_nothing(ready):
    ask(ready)
    with pytest.raises(TransitionRefusedError, match="App Store is already submitting \\(asked by Ada at .* UTC\\)"):
        ask(ready, key="k2")
    assert len(ready[0].scalars(select(StoreRequest)).all()) == 1


def test_a_member_may_not_submit_and_is_told_who_may(ready):
    people = ready[2]
    with pytest.raises(PermissionDeniedError, match=r"only the release pilot \(Grace\), its creator \(Linus\) or a workspace admin"):
        ask(ready, by=people.member)


def test_submitting_before_regression_passed_is_refused(session, cipher):
    world = World(session, cipher)
    people = People(session, world)
    release = new_release(session, world, people)
    bring_to(session, world, people, release, S.REGRESSION_IN_PROGRESS)
    ready = (session, world, people, release, targets(session, world, release)[0])
    with pytest.raises(TransitionRefusedError, match="has not passed"):
        ask(ready)


def test_an_action_the_store_does_not_allow_now_is_refused_in_words(ready):
    with pytest.raises(TransitionRefusedError, match="App Store is not submitted yet: pause is not possible now"):
        ask(ready, StoreAction.PAUSE)


def test_whats_new_too_long_is_refused_under_its_field(ready):
    with pytest.raises(ValidationError) as caught:
        ask(ready, params={"whatsNew": "x" * 4001})
    assert "whatsNew" in caught.value.by_field()


def test_the_store_state_moves_the_target_step_by_step_and_the_release_follows(ready):
    session, world, people, release, target = ready
    other = targets(session, world, release)[1]
    store_following.apply_state(session, target_id=target.id, state=IN_REVIEW, interval=5)
    assert targets(session, world, release)[0].status == TargetStatus.SUBMITTED
    assert status_of(session, release) == S.REGRESSION_IN_PROGRESS  # Play Store is not submitted yet
    store_following.apply_state(session, target_id=other.id, state=LIVE, interval=5)  # straight to live: three marks
    assert targets(session, world, release)[1].status == TargetStatus.RELEASED
    assert status_of(session, release) == S.BUILD_SUBMITTED
    store_following.apply_state(session, target_id=target.id, state=LIVE, interval=5)
    assert status_of(session, release) == S.RELEASED
    actions = session.scalars(select(ReleaseEvent.action).where(ReleaseEvent.releaseId == release.id)
                              .order_by(ReleaseEvent.id)).all()
    assert actions[-8:] == ["target-submitted", "target-submitted", "all-submitted", "target-approved", "target-released",
                            "target-approved", "target-released", "all-released"]
    assert session.get(TargetStore, target.id).nextCheckAt is None  # live: nothing more to follow


def test_an_unchanged_state_is_read_again_later_and_later_and_a_change_resets_the_wait(ready):
    session, _, _, _, target = ready
    store_following.apply_state(session, target_id=target.id, state=IN_REVIEW, interval=5)
    waits = []
    for _ in range(3):
        store_following.apply_state(session, target_id=target.id, state=IN_REVIEW, interval=5)
        row = session.get(TargetStore, target.id)
        waits.append(row.nextCheckAt - utcnow())
    assert waits[0] < waits[1] < waits[2] and waits[2] >= timedelta(seconds=35)
    events = session.scalars(select(ReleaseEvent.action).where(ReleaseEvent.action == "store-state")).all()
    assert events == []  # unchanged reads tell nobody
    assert store_following.apply_state(session, target_id=target.id, state=APPROVED, interval=5)
    assert session.get(TargetStore, target.id).checks == 0
    assert store_views.store_views(session, release_id=ready[3].id)[target.id].allowed == (StoreAction.RELEASE,)


RACERS = 6


@pytest.fixture
def committed_ready(session_factory, cipher, engine):
    """`ready`, committed: for requests racing on their own connections."""
    with unit_of_work(session_factory) as s:
        world = World(s, cipher)
        people = People(s, world)
        release = new_release(s, world, people)
        bring_to(s, world, people, release, S.REGRESSION_IN_PROGRESS, passed=True)
        target = targets(s, world, release)[0]
    yield world, people, release, target
    delete_tenant_rows(engine, [world.tenant.id])


def test_clicks_racing_on_their_own_connections_owe_one_submission(session_factory, committed_ready):
    world, people, release, target = committed_ready
    barrier, outcomes = threading.Barrier(RACERS), [None] * RACERS

    def click(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = retrying(session_factory, lambda s: store_actions.request_action(
                s, tenant_id=world.tenant.id, release_id=release.id, target_id=target.id, actor_account_id=people.admin.id,
                action=StoreAction.SUBMIT, params={}, request_key=f"race-{i}"))
        except TransitionRefusedError as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=click, args=(i,)) for i in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    winners = [o for o in outcomes if isinstance(o, str)]
    assert len(winners) == 1, outcomes
    assert all("already submitting" in str(o) for o in outcomes if not isinstance(o, str))
    with unit_of_work(session_factory) as s:
        assert s.scalars(select(StoreRequest.id).where(StoreRequest.releaseId == release.id)).all() == winners
