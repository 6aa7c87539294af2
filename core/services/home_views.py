"""App Homes as owed deliveries: whose Home tab is owed a publish, and when it may be published.

A person's row exists once they opened their Home. Whatever changes what a Home shows (a release
changed or created, an integration verified, enabled, added or removed) owes the Homes of that tenant
in the same transaction; the runner publishes each one once, however many changes came in meanwhile,
and never sooner than the per-person interval after the last publish (Slack rate-limits views.publish).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import DateTime, bindparam, case, or_, select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.db import run_prebuilt
from core.models import HomeView, Release

MAX_BACKOFF_SECONDS = 600


def _owed(now: datetime) -> dict:
    # One more revision to show; an owed Home keeps its due time, another is due now or once its interval is over.
    return dict(revision=HomeView.revision + 1,
                nextAttemptAt=case((HomeView.nextAttemptAt.is_not(None), HomeView.nextAttemptAt),
                                   (HomeView.notBefore > now, HomeView.notBefore), else_=now))


def open_home(session: Session, *, tenant_id: str, slack_user_id: str) -> HomeView:
    """The person opened their Home: it is owed a publish (run under `retrying`: two first opens may race)."""
    home = session.scalar(select(HomeView).where(HomeView.tenantId == tenant_id, HomeView.slackUserId == slack_user_id))
    if home is None:
        home = HomeView(tenantId=tenant_id, slackUserId=slack_user_id, revision=1, publishedRevision=0, attempts=0,
                        nextAttemptAt=utcnow())
        session.add(home)
        session.flush()  # a racing twin fails here on the unique key; the caller retries and finds it
        return home
    session.execute(update(HomeView).where(HomeView.id == home.id).values(**_owed(utcnow()))
                    .execution_options(synchronize_session=False))
    return home


# Built once (every change of a release runs them): only the values vary.
_OWED_OF_TENANT = (update(HomeView).where(HomeView.tenantId == bindparam("tenant_id"))
                   .values(**_owed(bindparam("now", type_=DateTime))).execution_options(synchronize_session=False))
_TENANT_OF_RELEASE = select(Release.tenantId).where(Release.id == bindparam("release_id"))


def owe_homes(session: Session, *, tenant_id: str) -> None:
    """Something every Home of this tenant shows changed: each Home opened there owes a publish."""
    run_prebuilt(session, _OWED_OF_TENANT, {"tenant_id": tenant_id, "now": utcnow()})


def owe_homes_of_release(session: Session, *, release_id: str) -> None:
    """A release changed: the Homes of its tenant owe a publish."""
    # The tenant by a plain read first: as a subquery of the UPDATE, MySQL would share-lock the release's row, and a
    # runner step marking a card stale (its row, then the release's) would deadlock with a transition (the other way).
    tenant_id = run_prebuilt(session, _TENANT_OF_RELEASE, {"release_id": release_id}).scalar()
    if tenant_id is not None:
        owe_homes(session, tenant_id=tenant_id)


def due_homes(session: Session, *, limit: int = 100) -> list[str]:
    """Ids of the Homes owed a publish and due now."""
    now = utcnow()
    return list(session.scalars(select(HomeView.id).where(
        HomeView.nextAttemptAt <= now, or_(HomeView.claimedUntil.is_(None), HomeView.claimedUntil < now))
        .order_by(HomeView.nextAttemptAt).limit(limit)))


def home_published(session: Session, home: HomeView, *, revision: int, interval: float) -> None:
    """The Home shows `revision`: due again only if something changed meanwhile, and not before `interval`."""
    now = utcnow()
    home.publishedRevision = max(home.publishedRevision, revision)
    home.publishedAt, home.attempts, home.lastError = now, 0, None
    home.notBefore = now + timedelta(seconds=interval)
    home.nextAttemptAt = home.notBefore if home.revision > home.publishedRevision else None
    session.flush()


def home_failed(session: Session, home: HomeView, *, error: str, retryable: bool, retry_after: float | None,
                interval: float) -> None:
    """Publishing failed: try again later (backing off, or after Slack's Retry-After); a refusal that
    retrying cannot fix waits for the next change or the next time the person opens their Home."""
    home.attempts += 1
    home.lastError = error
    delay = max(retry_after or 0, min(interval * 2 ** min(home.attempts, 10), MAX_BACKOFF_SECONDS))
    home.nextAttemptAt = utcnow() + timedelta(seconds=delay) if retryable else None
    session.flush()
