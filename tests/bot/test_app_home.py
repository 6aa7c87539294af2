"""End-to-end: a signed `app_home_opened` reaches the real server; the runner publishes the person's Home
tab at the fake Slack (views.publish) with the workspace's releases and, for an admin, the integrations'
health; a change re-publishes it once, a burst of changes is coalesced, a 429 is retried after Retry-After."""
from __future__ import annotations

import json
import time

import pytest

from core.services import cards, lifecycle
from core.services.home_views import owe_homes
from core.services.release_creation import create_release
from tests.bot.helpers import post_card_now, wait_for
from tests.factories import SCM_TOKEN


def publishes(slack, user_id: str) -> list:
    return [c for c in slack.calls_to("views.publish") if c.params.get("user_id") == user_id]


def home_text(slack, user_id: str) -> str:
    view = slack.home_of(user_id)
    return json.dumps(view["blocks"], ensure_ascii=False) if view else ""


def settle(running_bot, seconds: float = 2.5) -> None:
    """Leave the runner time to publish anything still owed (interval + a few rounds)."""
    time.sleep(seconds)


@pytest.fixture
def people(running_bot, world):
    """Ada (admin) and Grace (member, the release's pilot) as the fake Slack knows them."""
    running_bot.slack.add_user(world.admin.slackUserId, name="ada")
    running_bot.slack.add_user(world.member.slackUserId, name="grace")
    return running_bot.as_user(world.admin.slackUserId, "ada"), running_bot.as_user(world.member.slackUserId, "grace")


@pytest.fixture
def release(running_bot, world):
    with running_bot.runtime.unit_of_work() as s:
        return create_release(s, tenant_id=world.tenant.id, actor_account_id=world.admin.id, draft=world.draft())


def test_an_admin_opening_the_home_tab_sees_the_releases_and_the_integrations_health(running_bot, world, people, release):
    ada, _ = people
    assert ada.home_opened().status_code == 200
    text = wait_for(lambda: home_text(running_bot.slack, world.admin.slackUserId))
    assert "v1.5.0" in text and "waiting for kickoff" in text and "App Store pending" in text
    assert "*Your next step:* kick off" in text  # Ada created it
    assert "Workspace setup (admins)" in text and "Everything a release needs is set up" in text
    assert "✅ *iOS app repo* (source control, github) — valid · last checked" in text
    assert "✅ *Jenkins iOS* (pipeline, jenkins)" in text
    assert SCM_TOKEN not in text and "jenkins-api-token" not in text
    assert len(publishes(running_bot.slack, world.admin.slackUserId)) == 1
    assert running_bot.slack.home_of(world.admin.slackUserId)["type"] == "home"


def test_a_member_sees_the_releases_without_the_admin_section(running_bot, world, people, release):
    _, grace = people  # a member, and the release's pilot
    grace.home_opened()
    text = wait_for(lambda: home_text(running_bot.slack, world.member.slackUserId))
    assert "v1.5.0" in text and "*Your next step:* kick off" in text
    assert "Workspace setup" not in text and "iOS app repo" not in text


def test_the_messages_tab_publishes_nothing(running_bot, world, people, release):
    ada, _ = people
    assert ada.home_opened(tab="messages").status_code == 200
    settle(running_bot, 1.5)
    assert publishes(running_bot.slack, world.admin.slackUserId) == []


def test_a_change_republishes_the_home_once(running_bot, world, people, release):
    ada, _ = people
    ada.home_opened()
    wait_for(lambda: publishes(running_bot.slack, world.admin.slackUserId))
    with running_bot.runtime.unit_of_work() as s:
        lifecycle.mark_delayed(s, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=world.admin.id,
                               reason="waiting for legal")
    wait_for(lambda: "delayed*: waiting for legal" in home_text(running_bot.slack, world.admin.slackUserId))
    settle(running_bot)
    assert len(publishes(running_bot.slack, world.admin.slackUserId)) == 2


@pytest.mark.parametrize("home_seconds", [6.0])
def test_a_burst_of_changes_is_published_once_after_the_interval(running_bot, world, people, release):
    ada, _ = people
    ada.home_opened()
    wait_for(lambda: publishes(running_bot.slack, world.admin.slackUserId))
    for n in range(10):  # ten releases created within the interval, each with its card owed (as from Slack)
        with running_bot.runtime.unit_of_work() as s:
            created = create_release(s, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                                     draft=world.draft(version=f"2.{n}.0"))
            cards.owe_card(s, tenant_id=world.tenant.id, release_id=created.id, channel_id="CNOWHERE")
    assert len(publishes(running_bot.slack, world.admin.slackUserId)) == 1  # not yet: the interval is not over
    wait_for(lambda: "v2.9.0" in home_text(running_bot.slack, world.admin.slackUserId), timeout=20)
    text = home_text(running_bot.slack, world.admin.slackUserId)
    assert all(f"v2.{n}.0" in text for n in range(10))
    settle(running_bot, 3)
    assert len(publishes(running_bot.slack, world.admin.slackUserId)) == 2


def test_a_rate_limited_publish_is_retried_after_retry_after_not_dropped(running_bot, world, people, release):
    ada, _ = people
    # Three 429s: the Web API client rides out two (sleeping Retry-After), the runner the third.
    running_bot.slack.rate_limit("views.publish", retry_after=1, times=3)
    ada.home_opened()
    text = wait_for(lambda: home_text(running_bot.slack, world.admin.slackUserId), timeout=20)
    assert "v1.5.0" in text
    calls = publishes(running_bot.slack, world.admin.slackUserId)
    assert [c.status for c in calls] == [429, 429, 429, 200]


def test_a_home_tab_the_app_has_not_enabled_is_not_hammered(running_bot, world, people, release):
    ada, _ = people
    running_bot.slack.home_tab_enabled = False
    ada.home_opened()
    wait_for(lambda: publishes(running_bot.slack, world.admin.slackUserId))
    settle(running_bot)
    calls = publishes(running_bot.slack, world.admin.slackUserId)
    assert [c.error for c in calls] == ["not_enabled"]
    running_bot.slack.home_tab_enabled = True  # the admin enables it; the next change publishes
    with running_bot.runtime.unit_of_work() as s:
        owe_homes(s, tenant_id=world.tenant.id)
    running_bot.bot.follower.wake()
    wait_for(lambda: "v1.5.0" in home_text(running_bot.slack, world.admin.slackUserId))


def test_an_app_home_opened_event_without_a_user_is_refused_with_the_reason(running_bot, world):
    client = running_bot.as_user("U0ADA")
    answer = client.event({"type": "app_home_opened", "channel": "D0ADA", "tab": "home"})
    assert answer.status_code == 400 and "`event.user` must be a Slack user id" in answer.text
    answer = client.event({"type": "app_home_opened", "user": "U0ADA", "channel": "D0ADA", "tab": "home", "view": "V1"})
    assert answer.status_code == 400 and "`event.view` must be an object" in answer.text
    assert running_bot.slack.calls_to("views.publish") == []


def test_once_the_card_is_posted_the_home_links_it(running_bot, world, people, release):
    ada, _ = people
    ada.home_opened()
    wait_for(lambda: "card not posted yet" in home_text(running_bot.slack, world.admin.slackUserId))
    channel = world.channel.details["channelId"]
    ts = post_card_now(running_bot.runtime, running_bot.bot.client, release, channel)
    running_bot.bot.follower.wake()
    link = f"/archives/{channel}/p{ts.replace('.', '')}|open its card>"
    assert wait_for(lambda: link in home_text(running_bot.slack, world.admin.slackUserId))


def test_both_manifests_enable_the_home_tab_and_subscribe_to_app_home_opened():
    import yaml

    from tests.test_architecture import ROOT
    for name in ("manifest.yml", "manifest.socket.yml"):
        manifest = yaml.safe_load((ROOT / name).read_text())
        assert manifest["features"]["app_home"]["home_tab_enabled"] is True, name
        assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"], name


def test_slacks_per_user_limit_is_waited_out_and_the_change_still_shown(running_bot, world, people, release):
    ada, _ = people
    running_bot.slack.limit_home_publishes(2.5)  # Slack allows less than the bot's 1 s interval here
    ada.home_opened()
    wait_for(lambda: publishes(running_bot.slack, world.admin.slackUserId))
    with running_bot.runtime.unit_of_work() as s:
        lifecycle.mark_delayed(s, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=world.admin.id,
                               reason="waiting for legal")
    wait_for(lambda: "waiting for legal" in home_text(running_bot.slack, world.admin.slackUserId), timeout=20)
    calls = publishes(running_bot.slack, world.admin.slackUserId)
    assert [c.status for c in calls if c.ok] == [200, 200]  # each 429 was retried after Retry-After, none dropped
    assert all(c.status in (200, 429) for c in calls)
