"""Release cards in Slack: post one (joining a public channel when needed), redraw it in place, and
tell whoever asked where it is. Called by the runner only: listeners owe cards, they never post them."""
from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.blocks.card import card_fallback_text, release_card
from bot.blocks.messages import card_blocked, release_created
from bot.posted import card_metadata, find_posted
from core.errors import IntegrationError
from core.runner.context import CardJob, PostedCard

log = logging.getLogger("releasebot.cards")


def publish_card(client: WebClient, job: CardJob) -> PostedCard:
    """Redraw the card when it exists, else post it (and ask for its permalink), unless an earlier attempt did;
    returns where it is."""
    blocks, text = release_card(job.view), card_fallback_text(job.release)
    if job.message_ts:
        client.chat_update(channel=job.channel_id, ts=job.message_ts, text=text, blocks=blocks)
        return PostedCard(job.channel_id, job.message_ts)
    metadata = card_metadata(job.release.id)
    if job.maybe_posted_since:  # an earlier attempt may have posted it: posting again would show two cards
        found = find_posted(client, channel=job.channel_id, metadata=metadata, since=job.maybe_posted_since)
        if found:  # drawn now: the release may have changed since that attempt drew it
            client.chat_update(channel=job.channel_id, ts=found, text=text, blocks=blocks)
            return PostedCard(job.channel_id, found, _permalink(client, job.channel_id, found))
    post = dict(channel=job.channel_id, text=text, blocks=blocks, unfurl_links=False, metadata=metadata)
    try:
        posted = client.chat_postMessage(**post)
    except SlackApiError as exc:
        if exc.response.get("error") == "channel_not_found":  # how Slack answers for a private channel without the bot
            raise _invite_me(job.channel_id) from None
        if exc.response.get("error") != "not_in_channel":
            raise
        _join(client, job.channel_id)
        posted = client.chat_postMessage(**post)
    return PostedCard(posted["channel"], posted["ts"], _permalink(client, posted["channel"], posted["ts"]))


def _permalink(client: WebClient, channel_id: str, ts: str) -> str | None:
    """Slack's link to a message; best effort: the card is posted either way (and must not be posted twice)."""
    try:
        return client.chat_getPermalink(channel=channel_id, message_ts=ts).get("permalink")
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.warning("no permalink for the card in %s: %s", channel_id, type(exc).__name__)
        return None


def _join(client: WebClient, channel_id: str) -> None:
    """Join a public channel; a private one needs a person to invite the bot."""
    try:
        client.conversations_join(channel=channel_id)
    except SlackApiError as exc:
        if exc.response.get("error") == "method_not_supported_for_channel_type":
            raise _invite_me(channel_id) from None
        raise


def _invite_me(channel_id: str) -> IntegrationError:
    return IntegrationError(f"I am not a member of <#{channel_id}> (a private channel, or one I cannot see): invite me "
                            "there with `/invite @releasebot`; I keep trying, and the card appears once I am in.",
                            retryable=True)


def tell_requester(client: WebClient, job: CardJob, *, posted: PostedCard | None, error: str | None) -> None:
    """Ephemerally: where the card is, or why it is not there yet. Best effort: the card matters, this does not."""
    if job.requester_slack_id is None:
        return
    try:
        if posted:
            text = release_created(job.release.releaseKey, posted.permalink, posted.channel)
        else:
            text = card_blocked(job.release.releaseKey, error or "Slack refused it")
        client.chat_postEphemeral(channel=job.origin_channel_id or job.requester_slack_id, user=job.requester_slack_id,
                                  text=text)
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.warning("could not tell %s about the card of %s: %s", job.requester_slack_id, job.release.releaseKey,
                    type(exc).__name__)
