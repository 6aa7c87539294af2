"""The runner's homes kind: two workers racing for one owed Home publish it once; a publish that failed
stays owed. SQLite and MariaDB."""
from __future__ import annotations

from datetime import timedelta

import pytest

from core.errors import IntegrationError
from core.models import HomeView
from core.runner import Runner
from core.runner.homes import Homes
from core.services.home_views import open_home
from tests.core.runner_world import Recorder, new_release, race, runner, world_on
from tests.factories import github_for


@pytest.fixture
def world(rt):
    github = github_for()  # never called: Homes need no SCM
    yield world_on(rt, github.url)
    github.stop()


def opened(rt, world) -> str:
    with rt.unit_of_work() as s:
        return open_home(s, tenant_id=world.tenant.id, slack_user_id=world.admin.slackUserId).id


def homes_published(*runners) -> list:
    return [call for r in runners for name, call in r.ctx.announcer.calls if name == "home"]


def test_two_workers_racing_for_an_owed_home_publish_it_once(rt, world):
    new_release(rt, world)
    home_id = opened(rt, world)
    one, two = runner(rt, "w1"), runner(rt, "w2")
    assert one.work(Homes).due() == [home_id]
    race(lambda: one.work(Homes).run(home_id), lambda: two.work(Homes).run(home_id))
    (home,) = homes_published(one, two)
    assert home.slack_user_id == world.admin.slackUserId and home.is_admin
    assert [r.releaseKey for r in home.releases] == ["v1.5.0"]
    assert one.work(Homes).due() == []


class Refusing(Recorder):
    def publish_home(self, home) -> None:
        super().publish_home(home)
        raise IntegrationError("Slack refused the message (ratelimited)", status=429, retryable=True, retry_after=60)


def test_a_rate_limited_publish_stays_owed_until_retry_after(rt, world):
    home_id = opened(rt, world)
    r = Runner(rt, Refusing(), worker="w1", interval=0.01, lease=timedelta(seconds=30))
    r.work(Homes).run(home_id)
    with rt.reading() as s:
        row = s.get(HomeView, home_id)
        assert row.publishedRevision == 0 and row.attempts == 1 and "ratelimited" in row.lastError
        assert row.nextAttemptAt is not None and row.claimedUntil is None
    assert r.work(Homes).due() == []  # not before Slack's Retry-After
