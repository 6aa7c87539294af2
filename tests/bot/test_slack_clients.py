"""Each tenant's Web API client (bot/clients.py) against the fake Slack: single-workspace mode serves every tenant
with SLACK_BOT_TOKEN's client; OAuth mode gives each tenant its installation's token, refreshes it when due, and
when two processes race to refresh it, the loser uses what the winner stored."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient

from bot.clients import SlackClients
from core.config import Settings
from core.crypto import generate_key
from core.errors import NotInstalledError
from core.runtime import Runtime
from core.services import installations
from core.services.installations import InstalledBot
from tests.fakes.slack import FakeSlack


@pytest.fixture
def slack():
    fake = FakeSlack().start()
    fake.add_workspace("T0ACME", "Acme")
    fake.token_rotation = True
    yield fake
    fake.stop()


def runtime(tmp_path, slack, **extra) -> Runtime:
    rt = Runtime(Settings(database_url=f"sqlite:///{tmp_path / 'clients.db'}", secret_keys=(generate_key(),),
                          slack_api_url=slack.url + "/api/", **extra))
    rt.migrate()
    return rt


def install(rt: Runtime, slack, *, expires_in: timedelta) -> tuple[str, dict]:
    """Acme installed through the fake's oauth.v2.access; its stored expiry `expires_in` from now."""
    answer = WebClient(base_url=slack.url + "/api/").oauth_v2_access(
        client_id=slack.client_id, client_secret=slack.client_secret, code=slack.approve("T0ACME", "U0ADA"))
    bot = InstalledBot(None, "T0ACME", False, None, "A0RELEASEBOT", "Acme", "U0ADA", "B0ACME", answer["bot_user_id"],
                       answer["scope"], datetime(2026, 11, 28), answer["access_token"], answer["refresh_token"],
                       datetime.now(UTC).replace(tzinfo=None).replace(microsecond=0) + expires_in)
    with rt.unit_of_work() as s:
        done = installations.record_installation(s, cipher=rt.cipher, bot=bot)
    return done.tenant_id, answer


def test_single_workspace_mode_serves_every_tenant_with_the_configured_client(tmp_path, slack):
    rt = runtime(tmp_path, slack, slack_bot_token=slack.bot_token)
    client = WebClient(token=slack.bot_token, base_url=slack.url + "/api/")
    clients = SlackClients.single_workspace(rt, client)
    assert clients.for_tenant("any-tenant") is client and clients.for_tenant("another") is client


def test_a_tenant_gets_its_installations_token_and_none_once_uninstalled(tmp_path, slack):
    rt = runtime(tmp_path, slack, slack_client_id=slack.client_id, slack_client_secret=slack.client_secret)
    tenant_id, answer = install(rt, slack, expires_in=timedelta(hours=12))
    clients = SlackClients(rt)
    client = clients.for_tenant(tenant_id)
    assert client.token == answer["access_token"] and clients.for_tenant(tenant_id) is client  # one client per token
    assert client.auth_test()["team_id"] == "T0ACME"
    with rt.unit_of_work() as s:
        installations.deactivate(s, enterprise_id=None, team_id="T0ACME", is_enterprise_install=False, reason="app_uninstalled")
    with pytest.raises(NotInstalledError):
        clients.for_tenant(tenant_id)


def test_two_processes_racing_to_refresh_an_expiring_token_end_with_one_working_token(tmp_path, slack):
    rt = runtime(tmp_path, slack, slack_client_id=slack.client_id, slack_client_secret=slack.client_secret)
    tenant_id, answer = install(rt, slack, expires_in=timedelta(minutes=30))  # due: less than two hours left
    with rt.reading() as s:
        stale = installations.tenant_installation(s, cipher=rt.cipher, tenant_id=tenant_id)
    first, second = SlackClients(rt), SlackClients(rt)  # two processes' caches

    winner = first.for_tenant(tenant_id)
    assert winner.token != answer["access_token"] and winner.auth_test()["ok"]
    loser = second.fresh(stale)  # it read the row before the winner stored the new pair
    assert loser.bot_token == winner.token
    refreshes = [c for c in slack.calls_to("oauth.v2.access") if c.params.get("grant_type") == "refresh_token"]
    assert [c.error for c in refreshes] == [None, "invalid_refresh_token"]  # the old refresh token was good once
    with rt.reading() as s:
        stored = installations.tenant_installation(s, cipher=rt.cipher, tenant_id=tenant_id)
    assert stored.bot_token == winner.token and stored.bot_token_expires_at > datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=11)
