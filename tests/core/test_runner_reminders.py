"""The runner reminds a release's pilot the day before its target date while it is not submitted, and when
its stage has not moved for `stale_hours` — once per date, once per stage and period, however many
workers race — and records each reminder in the history with its owed thread line. SQLite and MariaDB.

Time passes the way the overdue tests make it pass: dates and timestamps are put in the past in the
database (never a patched clock)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core.clock import utcnow
from core.config import Settings
from core.enums import ReleaseStatus as S
from core.models import Notification, Release, ReleaseEvent, ReleaseReminder
from core.runner.reminders import DUE, REMINDED, STAGE_ACTIONS, STALE, Reminders
from core.runtime import Runtime
from core.services import lifecycle
from core.services.history import list_events
from tests.core.lifecycle_world import People, bring_to
from tests.core.runner_world import events, new_release, race, runner, world_on
from tests.factories import github_for


@pytest.fixture
def world(rt):
    github = github_for()  # never called: reminders need no SCM
    yield world_on(rt, github.url)
    github.stop()


def days(n: int):
    return utcnow().date() + timedelta(days=n)


def owed(r) -> list[str]:
    return r.work(Reminders).due()


def remind_all(r) -> int:
    due = owed(r)
    for item in due:
        r.work(Reminders).run(item)
    return len(due)


def reminded(rt, release_id: str) -> list[ReleaseEvent]:
    return events(rt, release_id, REMINDED)


def stage_began(rt, release_id: str, hours_ago: float) -> None:
    """Move the release's history back in time: its stage began `hours_ago` (earlier reminders move with it)."""
    with rt.unit_of_work() as s:
        last = s.scalar(select(ReleaseEvent.at).where(ReleaseEvent.releaseId == release_id, ReleaseEvent.action.in_(STAGE_ACTIONS))
                        .order_by(ReleaseEvent.id.desc()).limit(1))
        release = s.get(Release, release_id)
        shift = utcnow() - timedelta(hours=hours_ago) - (last or release.createdAt)
        release.createdAt += shift
        for row in s.scalars(select(ReleaseEvent).where(ReleaseEvent.releaseId == release_id)):
            row.at += shift
        for row in s.scalars(select(ReleaseReminder).where(ReleaseReminder.releaseId == release_id,
                                                           ReleaseReminder.nextAfter.is_not(None))):
            row.nextAfter += shift


# --- the day before the target date ---------------------------------------------------------------------
def test_a_release_due_tomorrow_reminds_once_with_the_next_step_and_the_history_shows_it(rt, world):
    release = new_release(rt, world, planned_date=days(-3), target_release_date=days(1))
    r = runner(rt)
    assert owed(r) == [f"{DUE}:{release.id}"]
    assert remind_all(r) == 1
    (event,) = reminded(rt, release.id)
    assert (event.actorAccountId, event.fromValue, event.toValue) == (None, DUE, f"{days(1):%Y-%m-%d}")
    assert event.detail == (f"v1.5.0 is due tomorrow ({days(1):%Y-%m-%d}) and not submitted yet: it is waiting for kickoff; "
                            "next, kick it off first")
    with rt.reading() as s:
        history = list_events(s, world.tenant.id, release.id)
        lines = list(s.scalars(select(Notification.eventId).where(Notification.releaseId == release.id)))
    assert history[-1].as_json()["action"] == "reminded" and history[-1].actor is None
    assert event.id in lines  # told in the thread (or by email) like every change
    assert owed(r) == [] and remind_all(r) == 0
    r.work(Reminders).run(f"{DUE}:{release.id}")  # asked again directly: nothing
    assert len(reminded(rt, release.id)) == 1


def test_a_release_due_today_is_reminded_saying_today(rt, world):
    release = new_release(rt, world, target_release_date=days(0))
    remind_all(runner(rt))
    assert "is due today" in reminded(rt, release.id)[0].detail


def test_no_reminder_without_a_target_date_nor_two_days_ahead_nor_once_the_date_has_passed(rt, world):
    undated = new_release(rt, world)
    later = new_release(rt, world, version="1.6.0", target_release_date=days(2))
    passed = new_release(rt, world, version="1.7.0", planned_date=days(-5), target_release_date=days(-1))
    r = runner(rt)
    assert owed(r) == []
    for release in (undated, later, passed):
        r.work(Reminders).run(f"{DUE}:{release.id}")
        assert reminded(rt, release.id) == []


@pytest.mark.parametrize("status", [S.BUILD_SUBMITTED, S.RELEASED, S.CANCELLED, S.ARCHIVED])
def test_a_submitted_released_or_cancelled_release_gets_no_day_before_reminder(rt, world, status):
    release = new_release(rt, world, planned_date=days(-3), target_release_date=days(1))
    with rt.unit_of_work() as s:
        bring_to(s, world, People(s, world), release, status)
    r = runner(rt)
    assert f"{DUE}:{release.id}" not in owed(r)
    r.work(Reminders).run(f"{DUE}:{release.id}")
    assert reminded(rt, release.id) == []


def test_a_release_still_in_regression_is_reminded_with_what_to_do_next(rt, world):
    release = new_release(rt, world, planned_date=days(-3), target_release_date=days(1))
    with rt.unit_of_work() as s:
        bring_to(s, world, People(s, world), release, S.REGRESSION_IN_PROGRESS)
    remind_all(runner(rt))
    assert "it is in regression; next, finish the regression cycle, then submit every target" in reminded(rt, release.id)[0].detail


def test_a_target_date_moved_later_gets_a_new_reminder_and_moving_it_back_none(rt, world):
    release = new_release(rt, world, planned_date=days(-3), target_release_date=days(1))
    r = runner(rt)
    remind_all(r)
    with rt.unit_of_work() as s:
        lifecycle.edit_dates(s, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=world.admin.id,
                             target_date=days(5))
    assert remind_all(r) == 0  # five days ahead: not yet
    with rt.unit_of_work() as s:  # four days later (the way tests let time pass: the date comes closer)
        s.execute(update(Release).where(Release.id == release.id).values(targetReleaseDate=days(1)))
    assert remind_all(r) == 0  # the same date as the first reminder: told already
    with rt.unit_of_work() as s:
        s.execute(update(Release).where(Release.id == release.id).values(targetReleaseDate=days(0)))
    assert remind_all(r) == 1
    assert [e.toValue for e in reminded(rt, release.id)] == [f"{days(1):%Y-%m-%d}", f"{days(0):%Y-%m-%d}"]


def test_two_workers_racing_give_one_reminder_with_one_thread_line(rt, world):
    release = new_release(rt, world, planned_date=days(-3), target_release_date=days(1))
    first, second = runner(rt, "w1"), runner(rt, "w2")
    item = f"{DUE}:{release.id}"
    race(lambda: first.work(Reminders).run(item), lambda: second.work(Reminders).run(item))
    (event,) = reminded(rt, release.id)
    with rt.reading() as s:
        assert s.scalar(select(ReleaseReminder.eventId).where(ReleaseReminder.releaseId == release.id)) == event.id
        assert list(s.scalars(select(Notification.id).where(Notification.eventId == event.id))) != []
        assert len(list(s.scalars(select(ReleaseReminder.id).where(ReleaseReminder.releaseId == release.id)))) == 1


# --- a stage that does not move -----------------------------------------------------------------------
def test_a_stage_unmoved_for_the_stale_period_reminds_once_saying_since_when(rt, world):
    release = new_release(rt, world)  # waiting for kickoff, no planned date: someone has to kick it off
    r = runner(rt)
    stage_began(rt, release.id, hours_ago=47)
    assert owed(r) == []  # the period (48 hours by default) has not passed
    stage_began(rt, release.id, hours_ago=50)
    assert owed(r) == [f"{STALE}:{release.id}"]
    race(lambda: r.work(Reminders).run(f"{STALE}:{release.id}"), lambda: runner(rt, "w2").work(Reminders).run(f"{STALE}:{release.id}"))
    (event,) = reminded(rt, release.id)
    assert (event.fromValue, event.toValue) == (STALE, "KICKOFF_PENDING")
    assert event.detail.startswith("v1.5.0 has been waiting for kickoff for 50 hours (since ")
    assert event.detail.endswith("UTC); next, kick it off first")
    assert owed(r) == [] and remind_all(r) == 0


def test_a_stage_still_stuck_is_reminded_again_once_per_period_never_more(rt, world):
    release = new_release(rt, world)
    r = runner(rt)
    stage_began(rt, release.id, hours_ago=50)
    remind_all(r)
    stage_began(rt, release.id, hours_ago=95)  # 45 hours later: the same period
    assert remind_all(r) == 0
    stage_began(rt, release.id, hours_ago=97)  # the second period has begun
    assert remind_all(r) == 1 and remind_all(r) == 0
    stage_began(rt, release.id, hours_ago=500)  # the bot was away for days: one reminder, not one per missed period
    assert remind_all(r) == 1
    assert [e.detail.split(" (")[0] for e in reminded(rt, release.id)] == [
        "v1.5.0 has been waiting for kickoff for 50 hours", "v1.5.0 has been waiting for kickoff for 4 days",
        "v1.5.0 has been waiting for kickoff for 20 days"]


def test_each_stage_has_its_own_stale_reminder_and_a_change_of_stage_restarts_the_clock(rt, world):
    release = new_release(rt, world)
    r = runner(rt)
    stage_began(rt, release.id, hours_ago=50)
    remind_all(r)
    with rt.unit_of_work() as s:
        lifecycle.kickoff(s, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=world.admin.id)
    assert owed(r) == []  # the stage just moved
    stage_began(rt, release.id, hours_ago=49)
    assert remind_all(r) == 1
    assert [e.toValue for e in reminded(rt, release.id)] == ["KICKOFF_PENDING", "PENDING"]
    assert "kicking off for 49 hours" in reminded(rt, release.id)[1].detail
    assert "retry the one that failed, or ask an admin to skip it" in reminded(rt, release.id)[1].detail


def test_changes_that_keep_the_stage_do_not_restart_the_clock(rt, world):
    release = new_release(rt, world, target_release_date=days(20))
    stage_began(rt, release.id, hours_ago=50)
    with rt.unit_of_work() as s:
        lifecycle.edit_dates(s, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=world.admin.id,
                             target_date=days(21))
    assert runner(rt).work(Reminders).due() == [f"{STALE}:{release.id}"]


def test_a_release_waiting_for_its_planned_date_is_not_stale(rt, world):
    waiting = new_release(rt, world, planned_date=days(3), target_release_date=days(9))
    stage_began(rt, waiting.id, hours_ago=100)
    r = runner(rt)
    assert owed(r) == []
    r.work(Reminders).run(f"{STALE}:{waiting.id}")
    assert reminded(rt, waiting.id) == []


@pytest.mark.parametrize("status", [S.RELEASED, S.CANCELLED, S.ARCHIVED])
def test_a_released_or_ended_release_is_never_stale(rt, world, status):
    release = new_release(rt, world)
    with rt.unit_of_work() as s:
        bring_to(s, world, People(s, world), release, status)
    stage_began(rt, release.id, hours_ago=100)
    r = runner(rt)
    assert owed(r) == []
    r.work(Reminders).run(f"{STALE}:{release.id}")
    assert reminded(rt, release.id) == []


def test_the_stale_period_is_the_setting(rt, world):
    release = new_release(rt, world)
    stage_began(rt, release.id, hours_ago=3)
    assert owed(runner(rt)) == []
    impatient = Runtime(Settings(database_url=rt.settings.database_url, secret_keys=rt.settings.secret_keys, stale_hours=2.5))
    try:
        r = runner(impatient)
        assert owed(r) == [f"{STALE}:{release.id}"]
        remind_all(r)
    finally:
        impatient.engine.dispose()
    assert "for 3 hours" in reminded(rt, release.id)[0].detail


def test_finding_owed_reminders_takes_two_queries_however_many_releases(rt, world, statements):
    one = new_release(rt, world, target_release_date=days(1))
    stuck = [new_release(rt, world, version=f"2.{n}.0") for n in range(3)]
    for release in stuck:
        stage_began(rt, release.id, hours_ago=60)
    r = runner(rt)
    with statements.counting(rt.engine):
        found = owed(r)
    assert sorted(found) == sorted([f"{DUE}:{one.id}"] + [f"{STALE}:{release.id}" for release in stuck])
    assert [s.lstrip().split()[0].upper() for s in statements.statements] == ["SELECT", "SELECT"]
    with statements.counting(rt.engine):
        r.work(Reminders).run(f"{STALE}:{stuck[0].id}")
    writes = [s.lstrip().split()[0].upper() for s in statements.statements]
    # Read it again; write the reminder, its event, its thread line; link the reminder to its event.
    assert writes == ["SELECT", "INSERT", "INSERT", "INSERT", "UPDATE"]
