"""The runner marks a live release whose target date has passed delayed, as the bot, once; never a
released or cancelled one, nor one whose target day is today. SQLite and MariaDB."""
from __future__ import annotations

from datetime import timedelta

import pytest

from core.clock import utcnow
from core.enums import ReleaseStatus as S
from core.runner.overdue import Overdue
from core.services import lifecycle
from tests.core.lifecycle_world import People, bring_to
from tests.core.runner_world import events, new_release, race, release_row, runner, world_on
from tests.factories import github_for


@pytest.fixture
def world(rt):
    github = github_for()  # never called: overdue releases need no SCM
    yield world_on(rt, github.url)
    github.stop()


def days(n: int):
    return utcnow().date() + timedelta(days=n)


def overdue_now(r) -> list[str]:
    return r.work(Overdue).due()


def test_a_release_past_its_target_date_is_marked_delayed_by_the_bot_once(rt, world):
    release = new_release(rt, world, planned_date=days(-10), target_release_date=days(-1))
    first, second = runner(rt, "w1"), runner(rt, "w2")
    assert release.id in overdue_now(first)
    race(lambda: first.work(Overdue).run(release.id), lambda: second.work(Overdue).run(release.id))
    row = release_row(rt, release.id)
    assert (row.isDelayed, row.delayedReason, row.status) == (True, None, S.KICKOFF_PENDING)
    assert row.targetReleaseDate.date() == days(-1)  # the bot moves no date: the pilot is asked for a reason
    delays = events(rt, release.id, "delay")
    assert [(e.actorAccountId, e.detail) for e in delays] == [(None, "the target date has passed")]
    assert release.id not in overdue_now(first)  # the next round leaves it alone
    first.work(Overdue).run(release.id)
    assert len(events(rt, release.id, "delay")) == 1


def test_a_release_whose_target_day_is_today_or_later_is_not_overdue(rt, world):
    today = new_release(rt, world, target_release_date=days(0))
    later = new_release(rt, world, version="1.6.0", target_release_date=days(3))
    undated = new_release(rt, world, version="1.7.0")
    r = runner(rt)
    assert not {today.id, later.id, undated.id} & set(overdue_now(r))
    r.work(Overdue).run(today.id)  # even when asked directly
    assert release_row(rt, today.id).isDelayed is False and events(rt, today.id, "delay") == []


@pytest.mark.parametrize("status", [S.RELEASED, S.CANCELLED, S.ARCHIVED])
def test_a_released_or_cancelled_release_past_its_target_date_is_never_marked_delayed(rt, world, status):
    release = new_release(rt, world, planned_date=days(-10), target_release_date=days(-2))
    with rt.unit_of_work() as s:
        bring_to(s, world, People(s, world), release, status)
    r = runner(rt)
    assert release.id not in overdue_now(r)
    r.work(Overdue).run(release.id)
    assert release_row(rt, release.id).isDelayed is False and events(rt, release.id, "delay") == []


def test_a_release_a_person_already_marked_delayed_keeps_its_reason_and_is_not_marked_again(rt, world):
    release = new_release(rt, world, planned_date=days(-10), target_release_date=days(-2))
    with rt.unit_of_work() as s:
        lifecycle.mark_delayed(s, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=world.admin.id,
                               reason="store review is slow")
    r = runner(rt)
    assert release.id not in overdue_now(r)
    r.work(Overdue).run(release.id)
    assert [e.actorAccountId for e in events(rt, release.id, "delay")] == [world.admin.id]
    assert release_row(rt, release.id).delayedReason == "store review is slow"


def test_every_live_stage_is_marked_delayed_when_overdue(rt, world):
    ids = []
    for n, status in enumerate([S.PENDING, S.STARTED, S.REGRESSION_IN_PROGRESS, S.BUILD_SUBMITTED]):
        release = new_release(rt, world, version=f"2.{n}.0", planned_date=days(-10), target_release_date=days(-2))
        with rt.unit_of_work() as s:
            bring_to(s, world, People(s, world), release, status)
        ids.append(release.id)
    r = runner(rt)
    assert set(ids) <= set(overdue_now(r))
    for release_id in ids:
        r.work(Overdue).run(release_id)
    assert [release_row(rt, i).isDelayed for i in ids] == [True] * 4
    assert [len(events(rt, i, "delay")) for i in ids] == [1] * 4
