"""Release cards as owed deliveries: where each card goes, whether it is posted, whether it is stale.

A card is one row per release. Posting and redrawing it are done by the runner, never only inline:
whoever changes a release calls `mark_stale` in the same transaction, and the runner redraws it.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import DateTime, bindparam, case, or_, select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.db import run_prebuilt
from core.models import Release, ReleaseCard
from core.services.home_views import owe_homes, owe_homes_of_release

MAX_BACKOFF_SECONDS = 600


def card_channel(release, fallback: str | None) -> str | None:
    """Where a release's card goes: its linked Slack channel, else `fallback` (where it was asked for)."""
    if release.communication and release.communication.type == "SLACK" and release.channelId:
        return release.channelId
    return fallback


def owe_card(session: Session, *, tenant_id: str, release_id: str, channel_id: str, origin_channel_id: str | None = None,
             requested_by: str | None = None) -> ReleaseCard | None:
    """Owe the card of a release of this tenant in `channel_id` (nothing changes if it is owed or posted)."""
    if session.scalar(select(Release.id).where(Release.id == release_id, Release.tenantId == tenant_id)) is None:
        return None
    card = session.get(ReleaseCard, release_id)
    if card is None:
        card = ReleaseCard(releaseId=release_id, channelId=channel_id, originChannelId=origin_channel_id,
                           requestedByAccountId=requested_by, revision=1, drawnRevision=0, attempts=0,
                           nextAttemptAt=utcnow())
        session.add(card)
        session.flush()
        owe_homes(session, tenant_id=tenant_id)  # a new release (from Slack or the CLI): the Homes list it
    return card


def repost_here(session: Session, *, tenant_id: str, release_id: str, channel_id: str, requested_by: str) -> ReleaseCard:
    """A card that could never be posted is owed again, in this channel, at once."""
    card = owe_card(session, tenant_id=tenant_id, release_id=release_id, channel_id=channel_id,
                    origin_channel_id=channel_id, requested_by=requested_by)
    if card is not None and card.messageTs is None:
        card.channelId, card.originChannelId, card.requestedByAccountId = channel_id, channel_id, requested_by
        card.attempts, card.nextAttemptAt, card.lastError = 0, utcnow(), None
        session.flush()
    return card


# Built once (the runner marks a card stale at every change a build makes): only the values vary.
_STALE = (update(ReleaseCard).where(ReleaseCard.releaseId == bindparam("release_id"))
          .values(revision=ReleaseCard.revision + 1,
                  nextAttemptAt=case((ReleaseCard.nextAttemptAt.is_(None), bindparam("now", type_=DateTime)), else_=ReleaseCard.nextAttemptAt))
          .execution_options(synchronize_session=False))


def mark_stale(session: Session, *, release_id: str) -> None:
    """The release changed: its card owes a redraw (several changes coalesce into one)."""
    run_prebuilt(session, _STALE, {"release_id": release_id, "now": utcnow()})  # a card waiting out a backoff keeps it
    owe_homes_of_release(session, release_id=release_id)  # the Homes that list it show the change too


def record_card(session: Session, *, tenant_id: str, release_id: str, channel_id: str, message_ts: str) -> None:
    """Remember where the card of a release of this tenant was posted."""
    card = owe_card(session, tenant_id=tenant_id, release_id=release_id, channel_id=channel_id)
    if card is not None:
        card.channelId, card.messageTs = channel_id, message_ts
        session.flush()


def get_card(session: Session, *, tenant_id: str, release_id: str) -> ReleaseCard | None:
    """The posted card of a release of this tenant, if there is one."""
    return session.scalar(select(ReleaseCard).join(Release, Release.id == ReleaseCard.releaseId).where(
        ReleaseCard.releaseId == release_id, Release.tenantId == tenant_id, ReleaseCard.messageTs.is_not(None)))


def due_cards(session: Session, *, limit: int = 100) -> list[str]:
    """Release ids whose card is owed (not posted, or stale) and due."""
    now = utcnow()
    return list(session.scalars(select(ReleaseCard.releaseId).where(
        ReleaseCard.nextAttemptAt <= now, or_(ReleaseCard.claimedUntil.is_(None), ReleaseCard.claimedUntil < now))
        .order_by(ReleaseCard.nextAttemptAt).limit(limit)))


def card_done(session: Session, card: ReleaseCard, *, drawn_revision: int, channel_id: str, message_ts: str,
              permalink: str | None = None) -> None:
    """The card shows `drawn_revision`: due again only if the release changed meanwhile."""
    first_post = card.messageTs is None
    card.channelId, card.messageTs, card.lastError, card.attempts = channel_id, message_ts, None, 0
    if permalink:  # known once the card is first posted; a redraw keeps it
        card.permalink = permalink
    card.drawnRevision = max(card.drawnRevision, drawn_revision)
    card.nextAttemptAt = utcnow() if card.revision > card.drawnRevision else None
    session.flush()
    if first_post:  # the Homes can link it now (after the card's row, the order mark_stale locks them in)
        owe_homes_of_release(session, release_id=card.releaseId)


def card_held(session: Session, card: ReleaseCard, *, error: str) -> None:
    """The workspace uninstalled releasebot: no more attempts; a re-install owes the card again."""
    card.attempts += 1
    card.lastError = error
    card.nextAttemptAt = None
    session.flush()


def card_failed(session: Session, card: ReleaseCard, *, error: str, retry_after: float | None, interval: float) -> None:
    """Posting or redrawing failed: try again later, backing off, never giving up on an unposted card."""
    card.attempts += 1
    card.lastError = error
    delay = max(retry_after or 0, min(interval * 2 ** min(card.attempts, 10), MAX_BACKOFF_SECONDS))
    card.nextAttemptAt = utcnow() + timedelta(seconds=delay)
    session.flush()
