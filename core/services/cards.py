"""Where each release's card lives in Slack (channel and message ts)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Release, ReleaseCard


def record_card(session: Session, *, tenant_id: str, release_id: str, channel_id: str, message_ts: str) -> None:
    """Remember the card of a release of this tenant."""
    if session.scalar(select(Release.id).where(Release.id == release_id, Release.tenantId == tenant_id)) is None:
        return
    card = session.get(ReleaseCard, release_id)
    if card is None:
        session.add(ReleaseCard(releaseId=release_id, channelId=channel_id, messageTs=message_ts))
    else:
        card.channelId, card.messageTs = channel_id, message_ts
    session.flush()


def get_card(session: Session, *, tenant_id: str, release_id: str) -> ReleaseCard | None:
    """The card of a release of this tenant, if one was posted."""
    return session.scalar(select(ReleaseCard).join(Release, Release.id == ReleaseCard.releaseId).where(
        ReleaseCard.releaseId == release_id, Release.tenantId == tenant_id))
