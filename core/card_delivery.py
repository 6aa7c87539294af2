"""The runner's card work: post each owed card once, redraw stale ones, retry what Slack refused.

Each step claims the card's row with a conditional update, so however many deliveries race (three
deliveries of one submission, two workers) a release gets one card. The one window where a card can
repeat is a crash after Slack accepted it and before its ts was stored (chat.postMessage takes no
idempotency key)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from core.errors import IntegrationError
from core.models import Account, Release, ReleaseCard
from core.runtime import Runtime
from core.services import builds, cards
from core.services.releases import ReleaseView, get_release

log = logging.getLogger("releasebot.cards")


@dataclass(frozen=True)
class CardJob:
    """One card to post or redraw, as the Slack side needs it."""

    release: ReleaseView
    channel_id: str
    message_ts: str | None
    requester_slack_id: str | None
    origin_channel_id: str | None
    first_attempt: bool


class CardPublisher(Protocol):
    """Where cards are shown (Slack, implemented by the bot)."""

    def publish(self, job: CardJob) -> tuple[str, str]:
        """Post the card (or redraw it when `message_ts` is set); returns (channel, ts). Raises IntegrationError."""

    def tell_requester(self, job: CardJob, *, posted: tuple[str, str] | None, error: str | None) -> None:
        """Tell whoever asked for the card where it is, or why it is not there yet (best effort)."""


class CardDelivery:
    def __init__(self, runtime: Runtime, publisher: CardPublisher, *, worker: str, lease: timedelta, interval: float):
        self.runtime, self.publisher, self.worker = runtime, publisher, worker
        self.lease, self.interval = lease, interval

    def due(self) -> list[str]:
        with self.runtime.reading() as s:
            return cards.due_cards(s)

    def deliver(self, release_id: str) -> None:
        """Post or redraw one release's card, or schedule its retry."""
        job, revision = self._claim(release_id)
        if job is None:
            return
        try:
            posted, error, retry_after = self.publisher.publish(job), None, None
        except IntegrationError as exc:
            posted, error, retry_after = None, str(exc), exc.retry_after
        with self.runtime.unit_of_work() as s:
            card = s.get(ReleaseCard, release_id)
            if posted:
                cards.card_done(s, card, drawn_revision=revision, channel_id=posted[0], message_ts=posted[1])
            else:
                log.info("card of %s not delivered (attempt %s): %s", job.release.releaseKey, card.attempts + 1, error)
                cards.card_failed(s, card, error=error, retry_after=retry_after, interval=self.interval)
            builds.release_claim(s, ReleaseCard, release_id, worker=self.worker)
        if job.message_ts is None and (posted or job.first_attempt):  # told once: where it is, or why not yet
            self.publisher.tell_requester(job, posted=posted, error=error)

    def _claim(self, release_id: str) -> tuple[CardJob | None, int]:
        with self.runtime.unit_of_work() as s:
            card = s.get(ReleaseCard, release_id)
            if card is None or card.nextAttemptAt is None:
                return None, 0
            if not builds.claim(s, ReleaseCard, release_id, ReleaseCard.nextAttemptAt.is_not(None), worker=self.worker,
                                lease=self.lease):
                return None, 0
            s.refresh(card)
            requester = s.get(Account, card.requestedByAccountId) if card.requestedByAccountId else None
            release = get_release(s, tenant_id=s.get(Release, release_id).tenantId, release_id=release_id)
            job = CardJob(release, card.channelId, card.messageTs, requester.slackUserId if requester else None,
                          card.originChannelId, first_attempt=card.attempts == 0)
            return job, card.revision
