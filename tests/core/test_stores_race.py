"""A click on a store action decides on the release and its store's state as committed once it holds the release's
lock, not on a snapshot its first read took before (MariaDB's REPEATABLE READ): a state a runner recorded, or a cancel
committed, while it waited is seen."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.enums import ReleaseStatus as S
from core.enums import TargetStatus
from core.integrations.stores import StoreAction, StorePhase, StoreState
from core.lifecycle import TransitionRefusedError
from core.models import Release, StoreRequest
from core.services import lifecycle, store_actions, store_following
from tests.core.lifecycle_world import People, bring_to, new_release, targets
from tests.core.runner_world import committed_meanwhile, runtime_on
from tests.factories import World

APPROVED = StoreState(StorePhase.APPROVED, "Approved: waiting for release", (StoreAction.RELEASE,), TargetStatus.APPROVED)
LIVE = StoreState(StorePhase.LIVE, "Live on the App Store to everyone", (), TargetStatus.RELEASED)


def approved_on_the_app_store(rt) -> tuple:
    """A release past regression whose App Store target is approved, waiting for release: (world, people,
    release, target)."""
    with rt.unit_of_work() as s:
        world = World(s, rt.cipher)
        people = People(s, world)
        release = new_release(s, world, people)
        bring_to(s, world, people, release, S.REGRESSION_IN_PROGRESS, passed=True)
        target = targets(s, world, release)[0]  # the App Store
        store_following.apply_state(s, target_id=target.id, state=APPROVED, interval=30)
    return world, people, release, target


@pytest.mark.mysql_only
def test_a_release_click_is_refused_when_the_runner_recorded_the_version_live_meanwhile(mysql_engine, tmp_path):
    with runtime_on(mysql_engine, tmp_path) as rt:
        world, people, release, target = approved_on_the_app_store(rt)

        def released_by_hand(other):  # someone released it in App Store Connect; the runner's read records it
            store_following.apply_state(other, target_id=target.id, state=LIVE, interval=30)

        # The click has read (its snapshot) when the runner's record commits, just before it takes the release's lock.
        with committed_meanwhile(rt, "FOR UPDATE", released_by_hand, verb="SELECT"), \
                pytest.raises(TransitionRefusedError, match="App Store is live on the App Store to everyone: release is not possible now"):
            with rt.unit_of_work() as s:
                store_actions.request_action(s, tenant_id=world.tenant.id, release_id=release.id, target_id=target.id,
                                      actor_account_id=people.admin.id, action=StoreAction.RELEASE, params={},
                                      request_key="release-1")
        with rt.reading() as s:
            assert s.scalars(select(StoreRequest.id).where(StoreRequest.releaseId == release.id)).all() == []


@pytest.mark.mysql_only
@pytest.mark.parametrize("read_first", [False, True])  # True: the caller read the release first, as the CLI does
def test_a_click_that_waited_for_a_cancel_is_refused_and_owes_nothing(mysql_engine, tmp_path, read_first):
    with runtime_on(mysql_engine, tmp_path) as rt:
        world, people, release, target = approved_on_the_app_store(rt)

        def cancelled(other):
            lifecycle.cancel(other, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=people.admin.id,
                             reason="the feature was dropped")

        # The cancel commits as the click takes the release's lock (as if the click had waited for the cancel's).
        with committed_meanwhile(rt, "FOR UPDATE", cancelled, verb="SELECT"), \
                pytest.raises(TransitionRefusedError, match="is cancelled: nothing can be asked of its stores now"):
            with rt.unit_of_work() as s:
                if read_first:
                    s.scalar(select(Release.status).where(Release.id == release.id))
                store_actions.request_action(s, tenant_id=world.tenant.id, release_id=release.id, target_id=target.id,
                                      actor_account_id=people.admin.id, action=StoreAction.RELEASE, params={},
                                      request_key="release-1")
        with rt.reading() as s:
            assert s.scalars(select(StoreRequest.id).where(StoreRequest.releaseId == release.id)).all() == []
