"""Posting and refreshing release cards in Slack (delivery: Web API calls plus core bookkeeping)."""
from __future__ import annotations

from slack_sdk import WebClient

from bot.blocks.card import card_fallback_text, release_card
from core.runtime import Runtime
from core.services.cards import get_card, record_card
from core.services.releases import ReleaseView


def card_channel(release: ReleaseView, origin_channel: str | None) -> str | None:
    """The linked Slack channel, else the channel the release was created from."""
    if release.communication and release.communication.type == "SLACK" and release.channelId:
        return release.channelId
    return origin_channel


def post_card(client: WebClient, runtime: Runtime, release: ReleaseView, channel: str) -> tuple[str, str]:
    """Post the card once (a repeat finds the recorded one); returns its channel and message ts."""
    with runtime.unit_of_work() as session:
        card = get_card(session, tenant_id=release.tenantId, release_id=release.id)
    if card is not None:
        return card.channelId, card.messageTs
    posted = client.chat_postMessage(channel=channel, text=card_fallback_text(release), blocks=release_card(release),
                                     unfurl_links=False)
    with runtime.unit_of_work() as session:
        record_card(session, tenant_id=release.tenantId, release_id=release.id, channel_id=posted["channel"],
                    message_ts=posted["ts"])
    return posted["channel"], posted["ts"]


def refresh_card(client: WebClient, runtime: Runtime, release: ReleaseView) -> bool:
    """Redraw the card in place; False when the release has no card."""
    with runtime.unit_of_work() as session:
        card = get_card(session, tenant_id=release.tenantId, release_id=release.id)
    if card is None:
        return False
    client.chat_update(channel=card.channelId, ts=card.messageTs, text=card_fallback_text(release),
                       blocks=release_card(release))
    return True
