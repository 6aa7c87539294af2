"""Reminders end to end, through the real server and its own runner: a Slack release due tomorrow gets exactly
one reminder in its card's thread mentioning its pilot and linking the card; a release without a pilot whose
stage has not moved for the stale period reminds its creator, once. SQLite and MariaDB.

Time passes the way the other runner tests make it pass: the release's dates and history are put in the past
in the database."""
from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import update

from bot.blocks.notices import event_text
from core.clock import utcnow
from core.models import Release
from core.runner.context import EventFacts
from core.services import cards
from core.services.release_creation import create_release
from tests.bot.helpers import wait_for


def slack_release(running_bot, world, **draft):
    """A release of the World with its card owed in its channel, in one transaction (as `/release create` does)."""
    channel = world.channel.details["channelId"]
    with running_bot.runtime.unit_of_work() as s:
        release = create_release(s, tenant_id=world.tenant.id, actor_account_id=world.admin.id, draft=world.draft(**draft))
        cards.owe_card(s, tenant_id=world.tenant.id, release_id=release.id, channel_id=channel)
    return release, channel


def card_ts(slack, channel: str) -> str:
    return wait_for(lambda: [m for m in slack.messages_in(channel) if not m.get("thread_ts")])[0]["ts"]


def test_a_slack_release_due_tomorrow_gets_one_reminder_in_its_cards_thread_mentioning_the_pilot(running_bot, world):
    tomorrow = utcnow().date() + timedelta(days=1)
    release, channel = slack_release(running_bot, world, target_release_date=tomorrow)
    ts = card_ts(running_bot.slack, channel)
    [reply] = wait_for(lambda: running_bot.slack.replies(channel, ts))
    link = f"https://acme.slack.com/archives/{channel}/p{ts.replace('.', '')}"
    assert reply["text"] == (f"📆 <@{world.member.slackUserId}>, v1.5.0 is due tomorrow ({tomorrow:%Y-%m-%d}) and not "
                             f"submitted yet: it is waiting for kickoff; next, kick it off first — <{link}|open the card>")
    time.sleep(0.6)  # a few more runner rounds: still one
    assert len(running_bot.slack.replies(channel, ts)) == 1
    assert [c.params.get("thread_ts") for c in running_bot.slack.calls_to("chat.postMessage")] == [None, ts]


def test_a_release_without_a_pilot_stuck_in_its_stage_reminds_its_creator_once(running_bot, world):
    release, channel = slack_release(running_bot, world, release_pilot_id=None)
    ts = card_ts(running_bot.slack, channel)
    time.sleep(0.4)
    assert running_bot.slack.replies(channel, ts) == []  # just created: nothing is stale
    with running_bot.runtime.unit_of_work() as s:  # two days and two hours later
        s.execute(update(Release).where(Release.id == release.id).values(createdAt=utcnow() - timedelta(hours=50)))
    [reply] = wait_for(lambda: running_bot.slack.replies(channel, ts))
    assert reply["text"].startswith(f"💤 v1.5.0 has no pilot: <@{world.admin.slackUserId}>, v1.5.0 has been waiting for "
                                    "kickoff for 50 hours (since ")
    assert reply["text"].endswith("next, kick it off first — <" + f"https://acme.slack.com/archives/{channel}/p"
                                  f"{ts.replace('.', '')}|open the card>")
    time.sleep(0.6)
    assert len(running_bot.slack.replies(channel, ts)) == 1


def test_a_reminders_words_are_escaped_and_cannot_mention_anyone():
    facts = EventFacts("reminded", "stale", "STARTED", "v<!channel> has been building", None, None, "U0GRACE")
    assert event_text(facts, "v<!channel>") == "💤 <@U0GRACE>, v&lt;!channel&gt; has been building"
