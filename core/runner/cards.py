"""Work: post each owed card once, redraw stale ones, retry what Slack refused.

Each step claims the card's row with a conditional update, so however many deliveries race (three
deliveries of one submission, two workers) a release gets one card. chat.postMessage takes no idempotency
key, so a card carries metadata naming its release: when an earlier attempt may have posted it (Slack
accepted it but the answer was lost, or the worker died before storing its ts), the channel's recent
history is read first and a card found there is stored instead of posted again. Without the history
scopes (a workspace installed before releasebot asked for them) it is posted again, as before."""
from __future__ import annotations

import logging

from sqlalchemy import or_

from core.errors import IntegrationError, NotInstalledError
from core.models import Account, Release, ReleaseCard
from core.runner.context import CardJob, RunnerContext
from core.services import builds, cards
from core.services.card_view import card_view

log = logging.getLogger("releasebot.runner")


class Cards:
    LOG_AS = "release"  # what its row ids are, in log lines

    def __init__(self, ctx: RunnerContext):
        self.ctx = ctx

    def due(self) -> list[str]:
        """Release ids whose card is owed (not posted, or stale) and due."""
        with self.ctx.runtime.reading() as s:
            return cards.due_cards(s)

    def run(self, release_id: str) -> None:
        """Post or redraw one release's card, or schedule its retry."""
        job, revision = self._claim(release_id)
        if job is None:
            return
        held = False
        try:
            posted, error, retry_after = self.ctx.announcer.publish(job), None, None
        except IntegrationError as exc:
            posted, error, retry_after = None, str(exc), exc.retry_after
            held = isinstance(exc, NotInstalledError)
        with self.ctx.runtime.unit_of_work() as s:
            # Locked: a change committed between this read and the write below would be marked drawn (on MySQL; on
            # SQLite the one writer already excludes it) and the card never redrawn.
            card = s.get(ReleaseCard, release_id, with_for_update=True)
            if posted:
                cards.card_done(s, card, drawn_revision=revision, channel_id=posted.channel, message_ts=posted.ts,
                                permalink=posted.permalink)
            elif held:  # uninstalled: nothing to retry until the workspace installs releasebot again
                log.info("card of %s held back: %s", job.release.releaseKey, error)
                cards.card_held(s, card, error=error)
            else:
                log.info("card of %s not delivered (attempt %s): %s", job.release.releaseKey, card.attempts + 1, error)
                cards.card_failed(s, card, error=error, retry_after=retry_after, interval=self.ctx.interval)
            builds.release_claim(s, ReleaseCard, release_id, worker=self.ctx.worker)
        if job.message_ts is None and (posted or job.first_attempt) and not held:  # told once: where it is, or why not yet
            self.ctx.announcer.tell_requester(job, posted=posted, error=error)

    def _claim(self, release_id: str) -> tuple[CardJob | None, int]:
        # The claim alone first; then the card's revision and the release are read in one snapshot taken after it.
        # (Read in the claim's transaction, MySQL gave the release as of the transaction's first read but the
        # revision as of the claim: a change committed in between was marked drawn without being drawn.)
        with self.ctx.runtime.unit_of_work() as s:
            maybe_posted = not self._take(s, release_id, untouched=True)
            if maybe_posted and not self._take(s, release_id, untouched=False):
                return None, 0
        with self.ctx.runtime.reading() as s:
            card = s.get(ReleaseCard, release_id)
            if card is None:  # its release was deleted meanwhile
                return None, 0
            requester = s.get(Account, card.requestedByAccountId) if card.requestedByAccountId else None
            view = card_view(s, tenant_id=s.get(Release, release_id).tenantId, release_id=release_id)
            job = CardJob(view, card.channelId, card.messageTs, requester.slackUserId if requester else None,
                          card.originChannelId, first_attempt=card.attempts == 0,
                          maybe_posted_since=card.createdAt if maybe_posted and card.messageTs is None else None)
            return job, card.revision

    def _take(self, s, release_id: str, *, untouched: bool) -> bool:
        """Claim the card; `untouched`: only if no runner has taken it before, or it is posted (a redraw). claimedBy
        stays after a claim ends, so a card taken before and still unposted may be in Slack already; the common
        path stays one UPDATE, and only such a card costs a second one."""
        fresh = (or_(ReleaseCard.messageTs.is_not(None), ReleaseCard.claimedBy.is_(None)),) if untouched else ()
        return builds.claim(s, ReleaseCard, release_id, ReleaseCard.nextAttemptAt.is_not(None), *fresh,
                            worker=self.ctx.worker, lease=self.ctx.lease)
