"""A card or a thread reply appears once, even when Slack accepted it and its answer never came back (the
connection dropped, the client timed out) or the worker that posted it lost its claim before storing it: the
retry finds the message by its metadata (conversations.history, conversations.replies) and stores its ts
instead of posting it again. The common path reads no history.

The runner's steps are called directly, with the real SlackAnnouncer and slack_sdk client on a fake Slack."""
from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from slack_sdk.errors import SlackApiError
from sqlalchemy import select

from bot.announcer import SlackAnnouncer
from core.clock import utcnow
from core.enums import NotificationState
from core.integrations.slack_client import slack_client
from core.models import Notification, ReleaseCard
from core.runner import Runner
from core.runner.cards import Cards
from core.runner.notifications import Notifications
from core.runtime import Runtime
from core.services import lifecycle
from core.services.cards import owe_card
from core.services.history import record_event
from tests.bot.helpers import wait_for
from tests.core.runner_world import new_release, runtime_on, world_on
from tests.factories import github_for
from tests.fakes.slack import BOT_SCOPES, FakeSlack

CLIENT_TIMEOUT = 1  # seconds; the fake "times out" by answering later than this


@dataclass
class Stage:
    rt: Runtime
    slack: FakeSlack
    world: object
    release: object
    channel: str

    def runner(self, worker: str = "w1", lease: float = 30, timeout: int = CLIENT_TIMEOUT) -> Runner:
        client = slack_client(self.slack.bot_token, self.slack.url + "/api/", timeout=timeout)
        return Runner(self.rt, SlackAnnouncer(client, self.rt), worker=worker, interval=0.01,
                      lease=timedelta(seconds=lease), concurrency=1)

    def cards(self) -> list[dict]:
        return [m for m in self.slack.messages_in(self.channel) if not m.get("thread_ts")]

    def card(self) -> ReleaseCard:
        with self.rt.reading() as s:
            card = s.get(ReleaseCard, self.release.id)
            s.expunge(card)
            return card

    def owe_line(self) -> str:
        """A change of the release: its thread line is owed; returns the notification's id."""
        with self.rt.unit_of_work() as s:
            record_event(s, tenant_id=self.world.tenant.id, release_id=self.release.id,
                         actor_account_id=self.world.admin.id, action="target-date-changed", to_value="2027-01-15")
        with self.rt.reading() as s:
            return s.scalar(select(Notification.id).where(Notification.releaseId == self.release.id,
                                                          Notification.state == NotificationState.PENDING))

    def line_lost(self) -> tuple[str, Notifications]:
        """The card posted, then a thread line Slack accepts without answering; returns the line's notification id and
        the runner's step that tried it (to try it again)."""
        follower = self.runner()
        follower.work(Cards).run(self.release.id)
        notification_id = self.owe_line()
        self.slack.lose_answers("chat.postMessage")
        notifications = follower.work(Notifications)
        notifications.run(notification_id)
        return notification_id, notifications

    def notification(self, notification_id: str) -> Notification:
        with self.rt.reading() as s:
            row = s.get(Notification, notification_id)
            s.expunge(row)
            return row


@pytest.fixture
def stage(engine, tmp_path):
    slack, github = FakeSlack().start(), github_for()
    try:
        with runtime_on(engine, tmp_path) as rt:
            world = world_on(rt, github.url)
            channel = world.channel.details["channelId"]
            slack.add_channel(channel, "releases")
            release = new_release(rt, world)
            with rt.unit_of_work() as s:
                owe_card(s, tenant_id=world.tenant.id, release_id=release.id, channel_id=channel)
            yield Stage(rt, slack, world, release, channel)
    finally:
        slack.stop()
        github.stop()


def without_history_scope(slack: FakeSlack) -> None:
    """The bot token of a workspace that installed releasebot before it asked for channels:history."""
    slack.add_token(slack.bot_token, user_id=slack.bot_user_id, bot_id=slack.bot_id,
                    scopes=BOT_SCOPES - {"channels:history", "groups:history"})


@pytest.mark.parametrize("lost_after", [0.0, CLIENT_TIMEOUT + 0.5], ids=["connection-dropped", "timed-out"])
def test_a_card_slack_accepted_without_answering_is_found_and_not_posted_again(stage, lost_after):
    stage.slack.lose_answers("chat.postMessage", after=lost_after)
    cards = stage.runner().work(Cards)
    cards.run(stage.release.id)
    assert len(stage.cards()) == 1 and stage.card().messageTs is None  # in Slack; not known to us

    cards.run(stage.release.id)  # the retry
    [card] = stage.cards()
    stored = stage.card()
    assert stored.messageTs == card["ts"] and stored.lastError is None and stored.permalink
    assert card["metadata"] == {"event_type": "releasebot_card", "event_payload": {"release_id": stage.release.id}}
    assert len(stage.slack.calls_to("chat.postMessage")) == 1 and len(stage.slack.calls_to("conversations.history")) == 1


def test_a_card_posted_by_a_worker_that_lost_its_claim_is_found_by_the_next(stage):
    """The first worker's post is carried out but its answer is slow; its claim lapses meanwhile (as when a process
    dies after Slack accepted the card): the next worker finds the card, although no attempt was recorded as failed."""
    stage.slack.lose_answers("chat.postMessage", after=4)
    slow = stage.runner("slow", lease=0.3, timeout=10).work(Cards)
    first = threading.Thread(target=slow.run, args=(stage.release.id,))
    first.start()
    wait_for(stage.cards)  # carried out by Slack; the answer is still on its way
    wait_for(lambda: stage.card().claimedUntil < utcnow())  # the slow worker's lease is over (whole seconds)
    assert stage.card().attempts == 0 and stage.card().claimedBy == "slow"
    stage.runner("next").work(Cards).run(stage.release.id)
    first.join(10)
    [card] = stage.cards()
    assert stage.card().messageTs == card["ts"]


def test_the_first_attempts_read_no_history_and_name_what_they_post(stage):
    follower = stage.runner()
    follower.work(Cards).run(stage.release.id)
    notification_id = stage.owe_line()
    follower.work(Notifications).run(notification_id)
    [card] = stage.cards()
    [line] = stage.slack.replies(stage.channel, card["ts"])
    assert line["metadata"] == {"event_type": "releasebot_notice", "event_payload": {"notification_id": notification_id}}
    assert stage.notification(notification_id).messageTs == line["ts"]
    assert stage.slack.calls_to("conversations.history") == [] and stage.slack.calls_to("conversations.replies") == []


def test_a_thread_reply_slack_accepted_without_answering_is_found_and_not_posted_again(stage):
    notification_id, notifications = stage.line_lost()
    pending = stage.notification(notification_id)
    assert pending.state == NotificationState.PENDING and pending.attempts == 1

    notifications.run(notification_id)  # the retry
    [card] = stage.cards()
    [line] = stage.slack.replies(stage.channel, card["ts"])
    sent = stage.notification(notification_id)
    assert sent.state == NotificationState.SENT and sent.messageTs == line["ts"] and sent.attempts == 2
    [looked] = stage.slack.calls_to("conversations.replies")
    assert looked.ok and looked.params["ts"] == card["ts"]


def test_a_card_found_by_the_retry_is_drawn_again_with_what_changed_since(stage):
    """The attempt whose answer was lost drew the release as it was then; the retry finds that card and draws it now."""
    stage.slack.lose_answers("chat.postMessage")
    cards = stage.runner().work(Cards)
    cards.run(stage.release.id)  # Slack posts it, the answer is lost
    with stage.rt.unit_of_work() as s:
        lifecycle.mark_delayed(s, tenant_id=stage.world.tenant.id, release_id=stage.release.id,
                               actor_account_id=stage.world.admin.id, reason="QA needs time", target_date=date(2027, 3, 3))
    cards.run(stage.release.id)  # the retry finds it
    [card] = stage.cards()
    assert "QA needs time" in json.dumps(card["blocks"])
    assert stage.card().messageTs == card["ts"] and stage.card().drawnRevision == stage.card().revision


def test_a_reply_lost_after_many_others_in_its_thread_is_still_found(stage):
    """The replies before it fill the first pages of the thread: the lookup pages on (at most 150 messages)."""
    follower = stage.runner()
    follower.work(Cards).run(stage.release.id)
    with stage.rt.unit_of_work() as s:
        for day in range(1, 21):
            record_event(s, tenant_id=stage.world.tenant.id, release_id=stage.release.id,
                         actor_account_id=stage.world.admin.id, action="target-date-changed", to_value=f"2027-01-{day:02d}")
    with stage.rt.reading() as s:
        ids = list(s.scalars(select(Notification.id).where(Notification.releaseId == stage.release.id,
                                                           Notification.state == NotificationState.PENDING)
                             .order_by(Notification.eventId)))
    notifications = follower.work(Notifications)
    for notification_id in ids[:-1]:
        notifications.run(notification_id)
    stage.slack.lose_answers("chat.postMessage")
    notifications.run(ids[-1])
    notifications.run(ids[-1])  # the retry: 20 messages in the thread before it, 15 a page
    [card] = stage.cards()
    assert len(stage.slack.replies(stage.channel, card["ts"])) == 20
    assert stage.notification(ids[-1]).state == NotificationState.SENT
    assert len(stage.slack.calls_to("conversations.replies")) == 2


def test_a_lookup_slack_rate_limits_posts_rather_than_failing_the_message(stage):
    """Reading history is rate-limited hard for some apps: a message posted twice is better than one abandoned."""
    follower = stage.runner()
    stage.slack.lose_answers("chat.postMessage")
    cards = follower.work(Cards)
    cards.run(stage.release.id)
    stage.slack.rate_limit("conversations.history", retry_after=0.1, times=3)  # past the client's two retries
    cards.run(stage.release.id)
    assert [c.error for c in stage.slack.calls_to("conversations.history")] == ["ratelimited"] * 3
    assert len(stage.cards()) == 2 and stage.card().messageTs == stage.cards()[-1]["ts"]


def test_a_reply_whose_card_was_deleted_is_posted_not_retried_until_abandoned(stage):
    notification_id, notifications = stage.line_lost()
    [card] = stage.cards()
    stage.slack.messages.remove(next(m for m in stage.slack.messages if m["ts"] == card["ts"]))  # someone deleted the card
    notifications.run(notification_id)
    assert [c.error for c in stage.slack.calls_to("conversations.replies")] == ["thread_not_found"]
    assert stage.notification(notification_id).state == NotificationState.SENT


def test_without_the_history_scope_a_retry_posts_as_before_and_says_so_once(stage, caplog):
    without_history_scope(stage.slack)
    follower = stage.runner()
    stage.slack.lose_answers("chat.postMessage")
    cards = follower.work(Cards)
    caplog.set_level(logging.INFO)
    cards.run(stage.release.id)
    cards.run(stage.release.id)
    posted = stage.cards()
    assert len(posted) == 2  # nothing to find it with: posted again, as before the scope existed
    assert stage.card().messageTs == posted[-1]["ts"] and stage.card().lastError is None

    notification_id = stage.owe_line()
    stage.slack.lose_answers("chat.postMessage")
    notifications = follower.work(Notifications)
    notifications.run(notification_id)
    notifications.run(notification_id)
    assert stage.notification(notification_id).state == NotificationState.SENT
    assert [c.error for c in stage.slack.calls_to("conversations.history")] == ["missing_scope"]
    assert [c.error for c in stage.slack.calls_to("conversations.replies")] == ["missing_scope"]
    told = [r for r in caplog.records if "channels:history" in r.getMessage()]
    assert len(told) == 1 and told[0].levelno == logging.INFO


def test_a_retry_into_a_channel_the_bot_left_posts_as_before(stage):
    """History the bot may not read (not_in_channel) is no reason to hold the card back: it joins and posts."""
    stage.slack.lose_answers("chat.postMessage")
    cards = stage.runner().work(Cards)
    cards.run(stage.release.id)
    stage.slack.channels[stage.channel].is_member = False  # someone removed the bot meanwhile
    cards.run(stage.release.id)
    assert [c.error for c in stage.slack.calls_to("conversations.history")] == ["not_in_channel"]
    assert len(stage.cards()) == 2 and stage.card().messageTs == stage.cards()[-1]["ts"]


def test_the_fake_reads_history_and_threads_as_slack_documents():
    """Newest first in a channel, the parent first in a thread, metadata only with include_all_metadata, `oldest`
    exclusive, `limit` honoured, and missing_scope naming the scope (what the lookup above relies on)."""
    with FakeSlack() as slack:
        slack.add_channel("C1", "releases")
        client = slack_client(slack.bot_token, slack.url + "/api/")
        tagged = {"event_type": "releasebot_card", "event_payload": {"release_id": "r1"}}
        first = client.chat_postMessage(channel="C1", text="one", metadata=tagged)["ts"]
        second = client.chat_postMessage(channel="C1", text="two")["ts"]
        reply = client.chat_postMessage(channel="C1", text="re", thread_ts=first)["ts"]
        history = client.conversations_history(channel="C1", include_all_metadata=True)
        assert [m["ts"] for m in history["messages"]] == [second, first] and history["messages"][1]["metadata"] == tagged
        assert "metadata" not in client.conversations_history(channel="C1")["messages"][1]
        assert [m["ts"] for m in client.conversations_history(channel="C1", oldest=first)["messages"]] == [second]
        assert client.conversations_history(channel="C1", limit=1)["has_more"] is True
        assert [m["ts"] for m in client.conversations_replies(channel="C1", ts=first)["messages"]] == [first, reply]
        without_history_scope(slack)
        with pytest.raises(SlackApiError) as refused:
            client.conversations_history(channel="C1")
        assert refused.value.response["error"] == "missing_scope" and refused.value.response["needed"] == "channels:history"
