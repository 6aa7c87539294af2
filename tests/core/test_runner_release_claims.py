"""A runner that stops gracefully ends the leases it still holds, so another worker takes the work at once
instead of waiting for them to lapse; what it did not hold is left alone (SQLite and MariaDB)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from core.models import ReleaseTask
from core.services import builds, lifecycle
from tests.core.runner_world import new_release, runner, world_on
from tests.factories import github_for


@pytest.fixture
def world(rt):
    fake = github_for()
    yield world_on(rt, fake.url)
    fake.stop()


def _claim(rt, model, row_id: str, worker: str) -> bool:
    with rt.unit_of_work() as s:
        return builds.claim(s, model, row_id, worker=worker, lease=timedelta(minutes=10))


def test_release_claims_ends_only_this_workers_leases_and_keeps_the_mark_that_it_touched_them(rt, world):
    release = new_release(rt, world)
    with rt.unit_of_work() as s:
        lifecycle.kickoff(s, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=world.admin.id)
    with rt.reading() as s:
        task_ids = [t for (t,) in s.query(ReleaseTask.id).filter_by(releaseId=release.id).order_by(ReleaseTask.id)]
    stopping, other = runner(rt, worker="stopping"), runner(rt, worker="other")
    assert _claim(rt, ReleaseTask, task_ids[0], "stopping") and _claim(rt, ReleaseTask, task_ids[1], "other")

    assert stopping.release_claims() == 1
    assert stopping.release_claims() == 0  # nothing left to give back

    with rt.reading() as s:
        mine, theirs = s.get(ReleaseTask, task_ids[0]), s.get(ReleaseTask, task_ids[1])
        assert (mine.claimedBy, mine.claimedUntil) == ("stopping", None)
        assert theirs.claimedBy == "other" and theirs.claimedUntil is not None
    assert _claim(rt, ReleaseTask, task_ids[0], "other")  # at once, not after the ten-minute lease
    assert not _claim(rt, ReleaseTask, task_ids[1], "stopping")
    assert other.release_claims() == 2
