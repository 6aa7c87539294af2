"""The release card is a delivery that is owed: posted once by the runner however deliveries race,
into a public channel the bot joins by itself, and retried until a private channel lets it in."""
from __future__ import annotations

import threading
import time

from tests.bot.helpers import wait_for
from tests.bot.test_create_flow import modal_of, releases_of, values


def card_messages(slack, channel: str) -> list[dict]:
    return [m for m in slack.messages_in(channel) if not m.get("thread_ts")]


def submit(running_bot, world, **overrides):
    user = running_bot.as_user()
    user.command("create")
    modal = modal_of(running_bot.slack)
    return user, modal, user.view_submission(modal, values(world, **overrides))


def test_a_public_channel_the_bot_has_not_joined_is_joined_and_gets_the_card(running_bot, world):
    channel = world.channel.details["channelId"]
    running_bot.slack.channels[channel].is_member = False
    _, _, answer = submit(running_bot, world)
    assert answer.status_code == 200 and answer.text == ""
    card = wait_for(lambda: card_messages(running_bot.slack, channel))
    assert len(card) == 1 and "Release v1.5.0" in card[0]["text"]
    assert [c.params["channel"] for c in running_bot.slack.calls_to("conversations.join")] == [channel]
    told = wait_for(lambda: [e for e in running_bot.slack.ephemerals if "created" in e["text"]])
    assert told[0]["user"] == "U0ADA" and "see its card" in told[0]["text"]


def test_a_private_channel_gets_the_card_once_the_bot_is_invited_and_the_creator_is_told_how(running_bot, world):
    channel = world.channel.details["channelId"]
    slack = running_bot.slack
    slack.channels[channel].is_private, slack.channels[channel].is_member = True, False
    submit(running_bot, world)
    told = wait_for(lambda: [e for e in slack.ephemerals if "not posted yet" in e["text"]])
    assert told[0]["user"] == "U0ADA" and "/invite @releasebot" in told[0]["text"] and told[0]["channel"] == "CORIGIN"
    assert card_messages(slack, channel) == [] and len(releases_of(running_bot, world)) == 1
    attempts = len(slack.calls_to("chat.postMessage"))
    wait_for(lambda: len(slack.calls_to("chat.postMessage")) > attempts)  # it keeps trying
    slack.channels[channel].is_member = True  # someone invited the bot
    card = wait_for(lambda: card_messages(slack, channel), timeout=30)
    assert len(card) == 1
    wait_for(lambda: [e for e in slack.ephemerals if "see its card" in e["text"]])
    assert len([e for e in slack.ephemerals if "not posted yet" in e["text"]]) == 1  # told once, not per retry


def test_three_deliveries_of_one_submission_at_once_make_one_release_and_one_card(running_bot, world):
    user = running_bot.as_user()
    user.command("create")
    modal = modal_of(running_bot.slack)
    barrier, answers = threading.Barrier(3), []

    def deliver():
        barrier.wait()
        answers.append(user.view_submission(modal, values(world)))

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [a.status_code for a in answers] == [200] * 3
    assert all(a.text == "" for a in answers)  # none of them shows "version taken" to the person
    channel = world.channel.details["channelId"]
    wait_for(lambda: card_messages(running_bot.slack, channel))
    time.sleep(0.6)  # a few more runner rounds: no second card
    assert len(card_messages(running_bot.slack, channel)) == 1 and len(releases_of(running_bot, world)) == 1


def test_a_card_slack_refuses_for_a_while_is_posted_when_slack_recovers(running_bot, world):
    running_bot.slack.error("chat.postMessage", "internal_error", times=2)
    submit(running_bot, world)
    channel = world.channel.details["channelId"]
    card = wait_for(lambda: card_messages(running_bot.slack, channel), timeout=30)
    assert len(card) == 1


def test_release_show_posts_the_card_of_a_release_that_has_none_and_points_to_an_existing_one(running_bot, world):
    from core.services.release_creation import create_release

    with running_bot.runtime.unit_of_work() as s:  # created without a card (from the CLI, with no channel)
        create_release(s, tenant_id=world.tenant.id, actor_account_id=world.admin.id, draft=world.draft())
    user = running_bot.as_user()
    answer = user.command("show 1.5.0").json()
    assert answer["response_type"] == "ephemeral" and "*v1.5.0*" in answer["text"] and "being posted here" in answer["text"]
    card = wait_for(lambda: card_messages(running_bot.slack, "CORIGIN"))
    assert len(card) == 1 and "Release v1.5.0" in card[0]["text"]
    wait_for(lambda: _recorded(running_bot, world))  # Slack has it; the runner stores its ts (and permalink) next
    again = user.command("show v1.5.0").json()
    assert "Its card is in <#CORIGIN>" in again["text"]
    time.sleep(0.5)
    assert len(card_messages(running_bot.slack, "CORIGIN")) == 1  # shown twice, posted once
    assert "no release" in user.command("show 9.9.9").json()["text"]


def _recorded(running_bot, world) -> bool:
    from core.models import Release, ReleaseCard

    with running_bot.runtime.reading() as s:
        return s.query(ReleaseCard.messageTs).join(Release, Release.id == ReleaseCard.releaseId).filter(
            Release.tenantId == world.tenant.id, ReleaseCard.messageTs.is_not(None)).first() is not None


def test_a_posted_card_remembers_its_permalink_and_the_creator_is_pointed_to_it(running_bot, world):
    from core.models import ReleaseCard

    submit(running_bot, world)
    channel = world.channel.details["channelId"]
    card = wait_for(lambda: card_messages(running_bot.slack, channel))[0]
    told = wait_for(lambda: [e for e in running_bot.slack.ephemerals if "see its card" in e["text"]])
    link = f"https://acme.slack.com/archives/{channel}/p{card['ts'].replace('.', '')}"
    with running_bot.runtime.reading() as s:
        stored = s.query(ReleaseCard.permalink).one()[0]
    assert stored == link and link in told[0]["text"]
    assert len(running_bot.slack.calls_to("chat.getPermalink")) == 1  # asked once, for the card and the creator
