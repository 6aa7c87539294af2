"""End-to-end: the real server (waitress + Bolt) on loopback, a fake Slack Web API, a real database.

Runs on SQLite (a fresh file per test) and on MariaDB when TEST_MYSQL_URL is set; each test uses
its own workspace, so committed rows never meet."""
from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass

import pytest

from core.config import Settings
from core.crypto import generate_key
from core.runtime import Runtime
from core.services.tenants import add_tenant
from tests.bot.helpers import database_url, serving
from tests.conftest import delete_tenant_rows, tenant_ids
from tests.factories import World
from tests.fakes.slack import FakeSlack
from tests.slack_requests import SIGNING_SECRET, SlackClient


@dataclass
class RunningBot:
    url: str
    runtime: Runtime
    bot: object
    slack: FakeSlack
    team_id: str
    follower: tuple[threading.Thread, threading.Event] | None = None

    def stop_follower(self) -> None:
        """Stop the bot's follower and wait for its round to end: what the database holds then stays put."""
        if self.follower is not None:
            thread, stop = self.follower
            stop.set()
            self.bot.follower.wake()  # out of its wait between rounds (up to poll_seconds)
            thread.join(timeout=30)
            assert not thread.is_alive(), "the follower did not stop within 30 s"

    def as_user(self, user_id: str = "U0ADA", name: str = "ada") -> SlackClient:
        return SlackClient(self.url, team_id=self.team_id, user_id=user_id, user_name=name)


@pytest.fixture
def slack():
    fake = FakeSlack(team_id="T" + uuid.uuid4().hex[:8].upper()).start()
    fake.add_channel("CORIGIN", "general")
    fake.add_user("U0ADA", name="ada", real_name="Ada Lovelace")
    fake.add_user("U0GRACE", name="grace", real_name="Grace Hopper")
    yield fake
    fake.stop()


@pytest.fixture
def poll_seconds() -> float:
    """The follower's interval; a test that must show webhooks act before polling parametrizes it up."""
    return 0.2


@pytest.fixture
def home_seconds() -> float:
    """At most one Home publish per person per this many seconds (RELEASEBOT_HOME_SECONDS)."""
    return 1.0


@pytest.fixture
def start_follower() -> bool:
    """Whether the bot runs its follower; a test that drives the runner's steps itself overrides it."""
    return True


@pytest.fixture
def named_admins() -> tuple[str, ...]:
    """RELEASEBOT_ADMINS of the bot; a test of the operator's admins overrides it."""
    return ()


@pytest.fixture
def running_bot(engine, tmp_path, slack, poll_seconds, start_follower, named_admins, home_seconds):
    runtime = Runtime(Settings(
        poll_seconds=poll_seconds, claim_seconds=5, admins=named_admins, home_seconds=home_seconds,
        database_url=database_url(engine, tmp_path), secret_keys=(generate_key(),),
        slack_bot_token=slack.bot_token, slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.url + "/api/", allow_private_networks=True))
    runtime.migrate()
    before = tenant_ids(runtime.engine)
    with serving(runtime) as (url, bot):
        follower = bot.follower.start() if start_follower else None
        running = RunningBot(url, runtime, bot, slack, slack.team_id, follower)
        yield running
        running.stop_follower()
    if engine.dialect.name != "sqlite":  # the MariaDB test database is shared: leave it as found
        delete_tenant_rows(runtime.engine, tenant_ids(runtime.engine) - before)
    runtime.engine.dispose()


@pytest.fixture
def world(running_bot, github):
    """The workspace's verified integrations, its Slack channel known to the fake Slack."""
    rt = running_bot.runtime
    with rt.unit_of_work() as s:
        tenant = add_tenant(s, name="Acme", slack_team_id=running_bot.team_id)
        world = World(s, rt.cipher, existing_tenant=tenant, scm_base_url=github.url)
    running_bot.slack.add_channel(world.channel.details["channelId"], "releases")
    return world
