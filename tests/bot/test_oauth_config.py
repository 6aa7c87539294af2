"""OAuth mode's configuration (half configurations are one clear line), the manifests, and the fake Slack's
OAuth v2 as Slack documents it (errors for bad credentials, codes and refresh tokens; tokens per workspace)."""
from __future__ import annotations

from pathlib import Path

import pytest
import requests
import yaml
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.app import build_bot
from bot.oauth import BOT_SCOPES
from core.config import Settings, SettingsError
from core.crypto import generate_key
from core.errors import ConfigurationError
from core.runtime import Runtime
from tests.fakes.slack import FakeSlack

ROOT = Path(__file__).resolve().parents[2]


def runtime(tmp_path, **settings) -> Runtime:
    return Runtime(Settings(database_url=f"sqlite:///{tmp_path / 'cfg.db'}", secret_keys=(generate_key(),), **settings))


@pytest.mark.parametrize(("settings", "says"), [
    ({"slack_client_id": "1.2", "slack_signing_secret": "s"}, "OAuth mode needs SLACK_CLIENT_SECRET too"),
    ({"slack_client_secret": "x-secret", "slack_signing_secret": "s"}, "OAuth mode needs SLACK_CLIENT_ID too"),
    ({"slack_client_id": "1.2", "slack_client_secret": "x-secret", "slack_signing_secret": "s", "slack_bot_token": "xoxb-1"},
     "SLACK_BOT_TOKEN and SLACK_CLIENT_ID are both set"),
    ({"slack_client_id": "1.2", "slack_client_secret": "x-secret", "slack_signing_secret": "s", "slack_app_token": "xapp-1"},
     "unset SLACK_APP_TOKEN"),
    ({"slack_signing_secret": "s"}, "or set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET"),
])
def test_a_half_oauth_configuration_is_refused_with_what_to_set(tmp_path, settings, says):
    with pytest.raises(ConfigurationError) as refused:
        build_bot(runtime(tmp_path, **settings))
    assert says in str(refused.value) and "\n" not in str(refused.value)
    assert "x-secret" not in str(refused.value)


def test_the_oauth_settings_are_read_from_the_environment_and_the_secret_is_never_shown():
    s = Settings.from_env({"SLACK_CLIENT_ID": "4242.1717", "SLACK_CLIENT_SECRET": "very-secret-value",
                           "SLACK_REDIRECT_URI": "https://bot.example.com/slack/oauth_redirect"})
    assert s.oauth_enabled and s.slack_client_id == "4242.1717" and "very-secret-value" not in repr(s)
    assert not Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1"}).oauth_enabled
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"SLACK_REDIRECT_URI": "bot.example.com/oauth"})
    assert str(refused.value).startswith("SLACK_REDIRECT_URI:") and "/slack/oauth_redirect" in str(refused.value)


def test_the_install_pages_exist_only_in_oauth_mode(running_bot):
    for path in ("/slack/install", "/slack/oauth_redirect"):
        assert requests.get(running_bot.url + path, timeout=10).status_code == 404


def test_the_manifests_ask_for_the_install_flows_scopes_redirect_and_events():
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == set(BOT_SCOPES)
    assert [u.split("/", 3)[3] for u in manifest["oauth_config"]["redirect_urls"]] == ["slack/oauth_redirect"]
    events = manifest["settings"]["event_subscriptions"]
    assert events["request_url"].endswith("/slack/events") and {"app_uninstalled", "tokens_revoked"} <= set(events["bot_events"])
    socket = yaml.safe_load((ROOT / "manifest.socket.yml").read_text())
    assert socket["settings"]["socket_mode_enabled"] is True and "redirect_urls" not in socket["oauth_config"]
    assert socket["oauth_config"]["scopes"] == manifest["oauth_config"]["scopes"]
    assert "url" not in socket["features"]["slash_commands"][0] and "request_url" not in socket["settings"]["interactivity"]
    assert set(socket["settings"]["event_subscriptions"]["bot_events"]) == set(events["bot_events"])
    example = (ROOT / ".env.example").read_text()
    assert all(name in example for name in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_BOT_TOKEN", "RELEASEBOT_SECRET_KEYS"))


@pytest.fixture
def fake():
    slack = FakeSlack().start()
    slack.add_workspace("T0OTHER", "Other")
    yield slack
    slack.stop()


def access(fake, **kwargs):
    client = WebClient(base_url=fake.url + "/api/")
    return client.oauth_v2_access(client_id=kwargs.pop("client_id", fake.client_id),
                                  client_secret=kwargs.pop("client_secret", fake.client_secret), **kwargs)


@pytest.mark.parametrize(("change", "error"), [
    ({"client_id": "999.999"}, "invalid_client_id"), ({"client_secret": "wrong"}, "bad_client_secret"),
    ({"code": "made-up"}, "invalid_code"), ({"redirect_uri": "https://evil.example.com/cb"}, "bad_redirect_uri"),
    ({"grant_type": "password"}, "invalid_grant_type"),
])
def test_the_fake_refuses_what_slack_refuses_in_oauth_v2_access(fake, change, error):
    code = fake.approve("T0OTHER", "U0ADA", redirect_uri="https://bot.example.com/slack/oauth_redirect")
    with pytest.raises(SlackApiError) as refused:
        access(fake, **{"code": code, "redirect_uri": "https://bot.example.com/slack/oauth_redirect", **change})
    assert refused.value.response.status_code == 200 and refused.value.response["error"] == error


def test_the_fake_gives_each_workspace_its_own_token_and_a_code_is_good_once(fake):
    code = fake.approve("T0OTHER", "U0ADA")
    answer = access(fake, code=code)
    assert answer["team"] == {"id": "T0OTHER", "name": "Other"} and answer["token_type"] == "bot"
    assert answer["authed_user"] == {"id": "U0ADA"} and "refresh_token" not in answer
    who = WebClient(token=answer["access_token"], base_url=fake.url + "/api/").auth_test()
    assert who["team_id"] == "T0OTHER" and who["bot_id"] and who["user_id"] == answer["bot_user_id"]
    with pytest.raises(SlackApiError) as again:
        access(fake, code=code)
    assert again.value.response["error"] == "invalid_code"
    fake.add_channel("C0THEIRS", "releases", team_id="T0OTHER")
    with pytest.raises(SlackApiError) as elsewhere:  # the first workspace's token cannot see the other's channel
        WebClient(token=fake.bot_token, base_url=fake.url + "/api/").chat_postMessage(channel="C0THEIRS", text="hi")
    assert elsewhere.value.response["error"] == "channel_not_found"


def test_the_fake_rotates_a_refresh_token_once_and_answers_token_expired_after_twelve_hours(fake):
    fake.token_rotation = True
    first = access(fake, code=fake.approve("T0OTHER", "U0ADA"))
    assert first["expires_in"] == 43200 and first["refresh_token"].startswith("xoxe-1-")
    fake.expire(first["access_token"])
    with pytest.raises(SlackApiError) as expired:
        WebClient(token=first["access_token"], base_url=fake.url + "/api/").auth_test()
    assert expired.value.response["error"] == "token_expired"
    second = access(fake, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert second["access_token"] != first["access_token"] and second["refresh_token"] != first["refresh_token"]
    assert WebClient(token=second["access_token"], base_url=fake.url + "/api/").auth_test()["team_id"] == "T0OTHER"
    with pytest.raises(SlackApiError) as reused:
        access(fake, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert reused.value.response["error"] == "invalid_refresh_token"


def test_the_fake_answers_an_org_wide_install_for_the_org(fake):
    fake.add_workspace("T0EAST", "East", enterprise_id="E0STARK", enterprise_name="Stark")
    answer = access(fake, code=fake.approve(None, "W0ADMIN", enterprise_id="E0STARK"))
    assert answer["team"] is None and answer["enterprise"] == {"id": "E0STARK", "name": "Stark"}
    assert answer["is_enterprise_install"] is True
    who = WebClient(token=answer["access_token"], base_url=fake.url + "/api/").auth_test()
    assert who["enterprise_id"] == "E0STARK" and who["is_enterprise_install"] is True and who["team_id"] is None
