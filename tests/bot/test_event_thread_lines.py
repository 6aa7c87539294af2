"""End-to-end: a change of a release made outside Slack (a service call, as the CLI and the runner
make them) posts exactly one line in its card's thread, and the card is redrawn with the new stage."""
from __future__ import annotations

import time
from datetime import date, timedelta

import pytest

from bot.announcer import SlackAnnouncer
from core.runner import Runner
from core.runner.notifications import Notifications
from core.services import lifecycle
from core.services.release_creation import create_release
from tests.bot.helpers import post_card_now, wait_for


def released_with_card(running_bot, world):
    rt = running_bot.runtime
    with rt.unit_of_work() as s:
        created = create_release(s, tenant_id=world.tenant.id, actor_account_id=world.admin.id, draft=world.draft())
    channel = world.channel.details["channelId"]
    return created, channel, post_card_now(rt, running_bot.bot.client, created, channel)


def redraws(slack, ts: str) -> list[str]:
    return [c.params["text"] for c in slack.calls_to("chat.update") if c.params.get("ts") == ts]


def test_a_cancel_made_outside_slack_posts_one_thread_line_and_redraws_the_card(running_bot, world):
    release, channel, ts = released_with_card(running_bot, world)
    with running_bot.runtime.unit_of_work() as s:
        lifecycle.cancel(s, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=world.admin.id,
                         reason="the <!channel> feature was dropped")
    replies = wait_for(lambda: running_bot.slack.replies(channel, ts))
    assert wait_for(lambda: [t for t in redraws(running_bot.slack, ts) if t.endswith(": cancelled")])
    time.sleep(0.6)  # a few more runner rounds: no second line
    replies = running_bot.slack.replies(channel, ts)
    assert [r["text"] for r in replies] == [
        f"🚫 <@{world.admin.slackUserId}> cancelled v1.5.0: the &lt;!channel&gt; feature was dropped"]


@pytest.mark.parametrize("start_follower", [False])  # this test runs the runner's rounds itself
def test_lines_of_several_changes_are_posted_one_at_a_time_in_the_order_of_the_history(running_bot, world):
    release, channel, ts = released_with_card(running_bot, world)
    ids = dict(tenant_id=world.tenant.id, release_id=release.id, actor_account_id=world.member.id)  # Grace, the pilot
    with running_bot.runtime.unit_of_work() as s:
        lifecycle.edit_dates(s, **ids, target_date=date(2031, 1, 10))
        lifecycle.mark_delayed(s, **ids, reason="store review is slow")
        lifecycle.kickoff(s, **ids)
    runner = Runner(running_bot.runtime, SlackAnnouncer(running_bot.bot.client, running_bot.runtime), worker="test",
                    lease=timedelta(seconds=30), interval=1, concurrency=8)
    notifications = runner.work(Notifications)
    for _ in range(3):  # each round may post only the oldest line of the release
        due = notifications.due()
        assert len(due) == 1
        for notification_id in due:
            notifications.run(notification_id)
    assert notifications.due() == []
    grace = f"<@{world.member.slackUserId}>"
    assert [r["text"] for r in running_bot.slack.replies(channel, ts)] == [
        f"📅 {grace} changed the dates of v1.5.0: no dates → target 2031-01-10",
        f"⏳ {grace} marked v1.5.0 delayed (new target date 2031-01-10): store review is slow",
        f"🚀 {grace} kicked off v1.5.0"]
