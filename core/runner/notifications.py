"""Work: post each owed thread reply once (after its card), or schedule its retry.

The claim counts the attempt, so an attempt whose worker died still counts: a reply claimed before may be in
Slack already (its answer lost), and is looked for in the card's thread, by the metadata naming it, before it is
posted again."""
from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import DateTime, bindparam, case, or_, select, update
from sqlalchemy.orm import aliased

from core.clock import utcnow
from core.db import per_thread, run_prebuilt
from core.enums import BuildState, NotificationState
from core.errors import IntegrationError, NotInstalledError
from core.models import (
    Account,
    Notification,
    PipelineBuild,
    PipelineIntegration,
    Release,
    ReleaseCard,
    ReleaseEvent,
    ReleasePipeline,
)
from core.runner import reminders
from core.runner.context import Announcement, BuildFacts, EventFacts, RunnerContext
from core.services import builds, changelog
from core.services.releases import get_release

log = logging.getLogger("releasebot.runner")
MAX_ATTEMPTS = 20
def _build_rows():
    starter, aborter = aliased(Account), aliased(Account)
    return (select(PipelineBuild, ReleasePipeline, PipelineIntegration, starter, aborter)
            .join(ReleasePipeline, ReleasePipeline.id == PipelineBuild.releasePipelineId)
            .join(PipelineIntegration, PipelineIntegration.id == ReleasePipeline.pipelineIntegrationId)
            .outerjoin(starter, starter.id == PipelineBuild.triggeredByAccountId)
            .outerjoin(aborter, aborter.id == PipelineBuild.abortedByAccountId)
            .where(PipelineBuild.id == bindparam("build_id")))


# Built once per thread (see `per_thread`): building a statement cost more CPU than running it.
_BUILD_ROWS = per_thread(_build_rows)  # a build with who started and who aborted it
# One UPDATE: the outcome, and our claim let go (the claim counted the attempt).
_OUTCOME = (update(Notification).where(Notification.id == bindparam("notification_id"))
            .values(lastError=bindparam("error"), state=bindparam("new_state"), messageTs=bindparam("ts"),
                    claimedUntil=case((Notification.claimedBy == bindparam("worker"), None), else_=Notification.claimedUntil),
                    nextAttemptAt=bindparam("next_at", type_=DateTime)))
_CARD = per_thread(lambda: select(ReleaseCard.channelId, ReleaseCard.messageTs).where(
    ReleaseCard.releaseId == bindparam("release_id"), ReleaseCard.messageTs.is_not(None)))


class Notifications:
    LOG_AS = "notification"  # what its row ids are, in log lines

    def __init__(self, ctx: RunnerContext):
        self.ctx = ctx

    def due(self, limit: int = 100) -> list[str]:
        """Owed and due notifications; a thread reply waits for its card to be posted first."""
        now = utcnow()
        card_owed = select(ReleaseCard.releaseId).where(ReleaseCard.releaseId == Notification.releaseId,
                                                        ReleaseCard.messageTs.is_(None)).exists()
        # A release's change lines are told in the order of its history: one waits for those before it
        # (steps of a round run in parallel, and a line being retried keeps its place).
        earlier = aliased(Notification)
        line_before = select(earlier.id).where(earlier.releaseId == Notification.releaseId, earlier.state == NotificationState.PENDING,
                                               earlier.eventId < Notification.eventId).exists()
        # The kickoff message links the changelog: it follows it in the thread.
        changelog_owed = select(earlier.id).where(earlier.releaseId == Notification.releaseId, earlier.state == NotificationState.PENDING,
                                                  earlier.kind == changelog.CHANGELOG_KIND).exists()
        with self.ctx.runtime.reading() as s:
            return list(s.scalars(select(Notification.id).where(
                Notification.state == NotificationState.PENDING, Notification.nextAttemptAt <= now, ~card_owed, ~line_before,
                or_(Notification.kind != changelog.KICKOFF_KIND, ~changelog_owed),
                or_(Notification.claimedUntil.is_(None), Notification.claimedUntil < now))
                .order_by(Notification.nextAttemptAt).limit(limit)))

    def claim(self, notification_ids: list[str]) -> list[str]:
        """Take these notifications (still owed, not held by another worker) in one short write; returns those taken."""
        with self.ctx.runtime.unit_of_work() as s:
            return builds.claim_each(s, Notification, notification_ids, Notification.state == NotificationState.PENDING,
                                     worker=self.ctx.worker, lease=self.ctx.lease,
                                     values={"attempts": Notification.attempts + 1})

    def run(self, notification_id: str, *, claimed: bool = False) -> None:
        """Post one owed notification, or schedule its retry (`claimed`: the round has taken it already)."""
        if not claimed and not self.claim([notification_id]):
            return
        with self.ctx.runtime.reading() as s:
            n = s.get(Notification, notification_id)
            if n is None:  # its release was deleted meanwhile
                return
            card = s.execute(_CARD(), {"release_id": n.releaseId}).first()
            attempts = n.attempts  # ours included: the claim counted it
            announcement = replace(_announcement(s, n), card=tuple(card) if card else None, notice_id=n.id,
                                   maybe_posted_since=n.createdAt if attempts > 1 else None)
        ts = None
        try:
            ts = self.ctx.announcer.announce(announcement)
            state, error, delay = NotificationState.SENT, None, None
        except NotInstalledError as exc:  # the workspace uninstalled releasebot: dropped with the reason, not retried
            state, error, delay = NotificationState.ABANDONED, str(exc), None
            log.info("notification %s dropped: %s", notification_id, exc)
        except IntegrationError as exc:
            state, error = NotificationState.PENDING, str(exc)
            delay = getattr(exc, "retry_after", None) or self.ctx.interval
        if state == NotificationState.PENDING and attempts >= MAX_ATTEMPTS:
            state = NotificationState.ABANDONED
            log.error("notification %s abandoned after %s attempts: %s", notification_id, attempts, error)
        with self.ctx.runtime.unit_of_work() as s:
            run_prebuilt(s, _OUTCOME, {
                "notification_id": notification_id, "error": error, "new_state": state, "ts": ts,
                "worker": self.ctx.worker,
                "next_at": utcnow() + timedelta(seconds=delay * min(attempts, 10)) if delay else None})
        if state == NotificationState.SENT and announcement.event is not None:
            self.ctx.wake()  # the release's next line, if any, is due now


def _announcement(s, n: Notification) -> Announcement:
    if n.kind in (changelog.CHANGELOG_KIND, changelog.KICKOFF_KIND):
        facts = changelog.changelog_facts(s, n.releaseId) if n.kind == changelog.CHANGELOG_KIND else changelog.kickoff_facts(s, n.releaseId)
        return Announcement(n.kind, get_release(s, tenant_id=n.tenantId, release_id=n.releaseId), kickoff=facts)
    if n.eventId is not None:
        return _event_announcement(s, n)
    build, rp, pipeline, who, aborter = s.execute(_BUILD_ROWS(), {"build_id": n.buildId}).one()
    return Announcement(n.kind, get_release(s, tenant_id=n.tenantId, release_id=n.releaseId), BuildFacts(
        build.id, build.attempt, pipeline.displayName, rp.id, build.state, build.buildNumber, build.buildUrl,
        build.buildLogUrl, build.artifactUrl, build.durationSeconds, build.error,
        who.slackUserId if who else None, who.displayName if who else None,
        aborter.displayName if aborter and build.state == BuildState.CANCELLED else None))


def _event_announcement(s, n: Notification) -> Announcement:
    """A change of the release, with the Slack ids of who made it and of the pilot (to mention them)."""
    event = s.get(ReleaseEvent, n.eventId)
    actor = s.get(Account, event.actorAccountId) if event.actorAccountId else None
    pilot_id = s.scalar(select(Release.releasePilotId).where(Release.id == n.releaseId))
    pilot = s.get(Account, pilot_id) if pilot_id else None
    facts = EventFacts(event.action, event.fromValue, event.toValue, event.detail, actor.slackUserId if actor else None,
                       actor.displayName if actor else None, pilot.slackUserId if pilot else None)
    if event.action == reminders.REMINDED:  # addressed to a person, with the card's link
        creator = s.get(Account, s.scalar(select(Release.createdByAccountId).where(Release.id == n.releaseId)))
        card = s.get(ReleaseCard, n.releaseId)
        facts = replace(facts, pilot_name=pilot.displayName if pilot else None, creator_slack_user=creator.slackUserId,
                        creator_name=creator.displayName, card_link=card.permalink if card else None)
    return Announcement(n.kind, get_release(s, tenant_id=n.tenantId, release_id=n.releaseId), event=facts)
