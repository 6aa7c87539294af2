"""A Slack request being answered goes first: the runner's steps in the same process wait for it (at most
YIELD_SECONDS), so an ack is not starved of the interpreter by a round in progress."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from core.enums import NotificationState
from core.in_flight import InFlight
from core.models import Notification
from core.runner import loop
from core.services.history import record_event
from tests.core.runner_world import new_release, runner, world_on
from tests.factories import github_for


def test_idle_until_a_request_is_in_flight_and_again_after_it():
    in_flight = InFlight()
    assert in_flight.wait_idle(0)
    with in_flight.request(), in_flight.request():
        assert not in_flight.wait_idle(0.05)
    assert in_flight.wait_idle(0)


@pytest.fixture
def world(rt):
    fake = github_for()
    yield world_on(rt, fake.url)
    fake.stop()


def test_a_step_starts_only_once_the_request_in_flight_is_answered(rt, world):
    release = new_release(rt, world)
    with rt.unit_of_work() as s:
        record_event(s, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=world.admin.id,
                     action="target-date-changed", to_value="2027-01-15")
    follower = runner(rt)
    announced = lambda: [a for what, a in follower.ctx.announcer.calls if what == "announce"]  # noqa: E731
    round_ = threading.Thread(target=follower.tick)
    with rt.in_flight.request():
        round_.start()
        time.sleep(loop.YIELD_SECONDS / 5)
        assert announced() == []  # the thread line waits while the request is answered
    round_.join(30)
    assert len(announced()) == 1
    with rt.reading() as s:
        assert s.scalar(select(Notification.state).where(Notification.releaseId == release.id)) == NotificationState.SENT
