"""The changelog kickoff task's data: which branch the previous release cut, the comparison stored as the
task's result (compact JSON, within a TEXT column), and the thread messages it owes (the changelog, then
the kickoff message once every task is done). None of these functions commits."""
from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.enums import NotificationState, ReleaseStatus, TaskState, TicketType
from core.integrations.base import Comparison
from core.lifecycle import Action
from core.models import Account, Notification, Release, ReleaseEvent, ReleaseTask, TicketIntegration, new_id

CHANGELOG = "changelog"
CHANGELOG_KIND = "CHANGELOG"
KICKOFF_KIND = "KICKOFF"
FETCH_LIMIT = 500  # commits asked of the SCM: at most 5 GitHub pages, 5 Bitbucket pages, one GitLab answer
FIRST_RELEASE_LIMIT = 50  # without a previous release: the base branch's newest commits
STORED_BYTES = 60_000  # MariaDB's TEXT holds 65,535 bytes; what does not fit is counted, not listed
TITLE_LIMIT = 200
# A release past these has cut its branch and was not cancelled before: a changelog starts from it.
PAST_KICKOFF = (ReleaseStatus.STARTED, ReleaseStatus.REGRESSION_IN_PROGRESS, ReleaseStatus.BUILD_SUBMITTED,
                ReleaseStatus.RELEASED, ReleaseStatus.ARCHIVED)


@dataclass(frozen=True)
class Changelog:
    """A stored changelog: `since` is the previous release's branch (None: the base branch's newest commits)."""

    base: str
    since: str | None
    total: int | None
    url: str | None
    commits: tuple[tuple[str, str, str, str | None], ...]  # (sha, title, author, url), newest first
    gone: str | None = None  # the previous release's branch, when it no longer exists
    tickets: str | None = None  # where a Linear workspace shows its issues (https://linear.app/<urlKey>), asked at kickoff


def previous_branch(session: Session, release: Release) -> str | None:
    """The release branch of the newest other release of the same repository that got past kickoff."""
    # createdAt has whole seconds on some databases: of releases created in one second, the last kicked off
    # (its history's ids only grow) is the newest.
    kicked = (select(func.max(ReleaseEvent.id)).where(ReleaseEvent.releaseId == Release.id, ReleaseEvent.action == Action.KICKOFF_DONE)
              .correlate(Release).scalar_subquery())
    return session.scalar(
        select(Release.branchRelease).where(Release.tenantId == release.tenantId, Release.id != release.id,
                                            Release.scmIntegrationId == release.scmIntegrationId,
                                            Release.status.in_(PAST_KICKOFF))
        .order_by(Release.createdAt.desc(), func.coalesce(kicked, 0).desc(), Release.id.desc()).limit(1))


def to_json(comparison: Comparison, *, base: str, since: str | None, gone: str | None = None,
            tickets: str | None = None) -> str:
    """The comparison as the task's result: the newest commits that fit in STORED_BYTES, and how many there are."""
    commits = [[c.sha, c.title[:TITLE_LIMIT], c.author[:100], c.url] for c in comparison.commits]
    while True:  # the oldest go first: they are counted in `total`, the renderer says "…and N more"
        text = json.dumps({"base": base, "since": since, "total": comparison.total, "url": comparison.url, "commits": commits,
                           "gone": gone, "tickets": tickets}, ensure_ascii=False, separators=(",", ":"))
        if len(text.encode()) <= STORED_BYTES:
            return text
        del commits[len(commits) * 9 // 10:]


def from_json(text: str | None) -> Changelog | None:
    """A stored changelog, or None when the task left none (skipped, or from another version of the bot)."""
    try:
        data = json.loads(text or "")
        return Changelog(data["base"], data.get("since"), data.get("total"), data.get("url"),
                         tuple(tuple(c) for c in data["commits"]), data.get("gone"), data.get("tickets"))
    except (ValueError, KeyError, TypeError):
        return None


def stored(session: Session, release_id: str) -> Changelog | None:
    """The changelog the release's task stored, if it ran."""
    return from_json(session.scalar(select(ReleaseTask.result).where(ReleaseTask.releaseId == release_id,
                                                                     ReleaseTask.task == CHANGELOG)))


def owe_message(session: Session, *, tenant_id: str, release_id: str, kind: str) -> None:
    """Owe one thread message of this kind for the release (its dedupe key makes a second one a no-op)."""
    key = f"{kind.lower()}:{release_id}"
    if session.scalar(select(Notification.id).where(Notification.dedupeKey == key)) is None:
        session.add(Notification(id=new_id(), tenantId=tenant_id, releaseId=release_id, kind=kind, dedupeKey=key,
                                 state=NotificationState.PENDING, nextAttemptAt=utcnow()))
        session.flush()


@dataclass(frozen=True)
class Tracker:
    """Where the release's tracker shows a ticket (`<base_url>/<path>/KEY`: Jira's browse page, Linear's issue
    page) and which keys are its project's (or Linear team's)."""

    base_url: str
    project: str
    path: str = "browse"

    def url(self, key: str) -> str:
        return f"{self.base_url.rstrip('/')}/{self.path}/{key}"


@dataclass(frozen=True)
class ChangelogFacts:
    log: Changelog
    tracker: Tracker | None


@dataclass(frozen=True)
class KickoffFacts:
    """What the kickoff message tells beyond the release itself."""

    changelog_url: str | None
    changelog_count: int | None
    pilot_slack_user: str | None
    tracker: Tracker | None
    skipped: tuple[str, ...]  # the kickoff tasks an admin skipped


def tracker_of(session: Session, release: Release, log: Changelog | None = None) -> Tracker | None:
    """The release's Jira project or Linear team, whose ticket keys a changelog links (Linear's issue pages
    are under the workspace's URL key, which the changelog task asked Linear for)."""
    row = session.get(TicketIntegration, release.ticketIntegrationId) if release.ticketIntegrationId else None
    if row is None or not row.projectKey:
        return None
    if row.ticketType == TicketType.JIRA and row.baseUrl:
        return Tracker(row.baseUrl, row.projectKey)
    if row.ticketType == TicketType.LINEAR and log is not None and log.tickets:
        return Tracker(log.tickets, row.projectKey.upper(), "issue")
    return None


def changelog_facts(session: Session, release_id: str) -> ChangelogFacts | None:
    """The stored changelog of a release and its tracker, for its thread message."""
    log = stored(session, release_id)
    return ChangelogFacts(log, tracker_of(session, session.get(Release, release_id), log)) if log else None


def kickoff_facts(session: Session, release_id: str) -> KickoffFacts:
    """The changelog's link and size, the pilot to mention, the tracker and what was skipped."""
    release = session.get(Release, release_id)
    log = stored(session, release_id)
    pilot = session.get(Account, release.releasePilotId) if release.releasePilotId else None
    skipped = session.scalars(select(ReleaseTask.task).where(ReleaseTask.releaseId == release_id,
                                                             ReleaseTask.state == TaskState.SKIPPED)).all()
    count = (log.total if log.total is not None else len(log.commits)) if log else None
    return KickoffFacts(log.url if log else None, count, pilot.slackUserId if pilot else None, tracker_of(session, release, log),
                        tuple(sorted(skipped)))
