"""A round takes the rows it is about to work on (thread lines, builds to poll) in one short write, not one write
each, and still never works on a row another worker holds (SQLite and MariaDB)."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from core.enums import NotificationState
from core.models import Notification
from core.runner.follow_builds import FollowBuilds
from core.runner.notifications import Notifications
from core.services import builds
from core.services.history import record_event
from tests.core.runner_world import new_release, runner, world_on
from tests.factories import github_for


@pytest.fixture
def world(rt):
    fake = github_for()
    yield world_on(rt, fake.url)
    fake.stop()


def _owed_lines(rt, world, n: int) -> list[str]:
    """`n` releases, each owing one thread line (a change of its target date)."""
    ids = []
    for i in range(n):
        release = new_release(rt, world, version=f"2.{i}.0")
        with rt.unit_of_work() as s:
            record_event(s, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=world.admin.id,
                         action="target-date-changed", to_value="2027-01-15")
        with rt.reading() as s:
            ids.append(s.scalar(select(Notification.id).where(Notification.releaseId == release.id,
                                                              Notification.state == NotificationState.PENDING)))
    return ids


def _commits(rt):
    """Counts the engine's committed transactions while it is open."""
    seen = []
    listener = lambda conn: seen.append(1)  # noqa: E731
    event.listen(rt.engine, "commit", listener)
    return seen, lambda: event.remove(rt.engine, "commit", listener)


def _statements(rt):
    """The SQL statements the engine runs while it is open (the first word of each)."""
    seen = []
    listener = lambda conn, cursor, statement, *rest: seen.append(statement.split()[0].upper())  # noqa: E731
    event.listen(rt.engine, "before_cursor_execute", listener)
    return seen, lambda: event.remove(rt.engine, "before_cursor_execute", listener)


def test_a_rounds_lines_are_claimed_in_one_write_and_sent_once_each(rt, world):
    ids = _owed_lines(rt, world, 5)
    follower = runner(rt)
    notifications = follower.work(Notifications)
    assert sorted(notifications.due()) == sorted(ids)

    seen, stop = _commits(rt)
    statements, stop_counting = _statements(rt)
    taken = notifications.claim(ids)
    stop(), stop_counting()
    assert sorted(taken) == sorted(ids) and len(seen) == 1  # five claims, one transaction
    assert [s for s in statements if s in ("SELECT", "UPDATE")] == ["SELECT", "UPDATE"]  # of two statements

    assert notifications.claim(ids) == []  # held now: a second claim (another thread, another worker) gets none
    for notification_id in taken:
        notifications.run(notification_id, claimed=True)
    announced = [a for what, a in follower.ctx.announcer.calls if what == "announce"]
    assert len(announced) == 5
    with rt.reading() as s:
        rows = s.scalars(select(Notification).where(Notification.id.in_(ids))).all()
        assert {(n.state, n.attempts, n.claimedUntil) for n in rows} == {(NotificationState.SENT, 1, None)}


def test_a_round_skips_what_another_worker_holds_and_leaves_its_claim_alone(rt, world):
    ids = _owed_lines(rt, world, 3)
    with rt.unit_of_work() as s:
        assert builds.claim(s, Notification, ids[1], worker="other", lease=timedelta(minutes=10))
    follower = runner(rt)

    assert follower.tick() >= 2
    announced = [a.release.id for what, a in follower.ctx.announcer.calls if what == "announce"]
    with rt.reading() as s:
        held = s.get(Notification, ids[1])
        assert held.state == NotificationState.PENDING and held.claimedBy == "other" and held.claimedUntil is not None
        assert held.releaseId not in announced and len(announced) == 2


def test_a_step_called_on_its_own_claims_for_itself(rt, world):
    """A direct call (not from a round) takes its row first, so it never works on one another worker holds."""
    ids = _owed_lines(rt, world, 1)
    with rt.unit_of_work() as s:
        assert builds.claim(s, Notification, ids[0], worker="other", lease=timedelta(minutes=10))
    follower = runner(rt)
    follower.work(Notifications).run(ids[0])
    assert not [a for what, a in follower.ctx.announcer.calls if what == "announce"]

    seen, stop = _commits(rt)
    assert follower.work(FollowBuilds).claim([]) == []
    stop()
    assert seen == []  # nothing to take: no write at all


def test_workers_claiming_the_same_lines_at_once_take_each_exactly_once(rt, world):
    ids = _owed_lines(rt, world, 6)
    barrier, taken, errors = threading.Barrier(4), {}, []

    def worker(name: str) -> None:
        try:
            barrier.wait(10)
            with rt.unit_of_work() as s:
                taken[name] = builds.claim_each(s, Notification, list(reversed(ids)) if name in "bd" else ids,
                                                Notification.state == NotificationState.PENDING, worker=name,
                                                lease=timedelta(minutes=10))
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(name,)) for name in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    claimed = [row_id for name in taken for row_id in taken[name]]
    assert sorted(claimed) == sorted(ids)  # every line taken, none by two workers
    with rt.reading() as s:
        holders = dict(s.execute(select(Notification.id, Notification.claimedBy).where(Notification.id.in_(ids))).all())
    assert holders == {row_id: name for name in taken for row_id in taken[name]}
