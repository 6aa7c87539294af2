"""Kickoff tasks: the chores a release owes once kicked off (today the release branch), done by the
runner (core.runner.kickoff), shown on the card, retried by anyone, skipped by an admin.

When the last task of a release is done or skipped, the release moves PENDING → STARTED in the same
transaction. None of these functions commits.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.enums import ReleaseStatus, Role, TaskState
from core.errors import NotFoundError, PermissionDeniedError
from core.lifecycle import TransitionRefusedError
from core.models import Account, Release, ReleaseCard, ReleaseTask

# lifecycle.kickoff owes the tasks and a finished kickoff moves the release: each module needs the
# other, so both import the module (not its names), which Python resolves in either import order.
from core.services import changelog, lifecycle
from core.services.cards import mark_stale
from core.services.history import record_event

RELEASE_BRANCH = "release-branch"
EPICS = "epics"  # owed only when the release has a ticket tracker
CHANGELOG = changelog.CHANGELOG  # posted once in the card's thread when done
KICKOFF_TASKS = (RELEASE_BRANCH, EPICS, CHANGELOG)  # in the order the card shows them (the order)
FINISHED = (TaskState.DONE, TaskState.SKIPPED)
TASK_NAMES = {RELEASE_BRANCH: "the release branch", CHANGELOG: "the changelog", EPICS: "the epics"}


@dataclass(frozen=True)
class TaskView:
    """One kickoff task as the card shows it: `lastError` says what to do, `result` what was made (a sha)."""

    task: str
    state: TaskState
    lastError: str | None
    result: str | None


def owe_kickoff_tasks(session: Session, *, tenant_id: str, release_id: str) -> None:
    """Owe every kickoff task of a release that was just kicked off (due now)."""
    existing = set(session.scalars(select(ReleaseTask.task).where(ReleaseTask.releaseId == release_id)))
    if session.scalar(select(Release.ticketIntegrationId).where(Release.id == release_id)) is None:
        existing.add(EPICS)  # no tracker, no epics to open
    now = utcnow()
    session.add_all([ReleaseTask(tenantId=tenant_id, releaseId=release_id, task=task, state=TaskState.PENDING,
                                 attempts=0, nextAttemptAt=now) for task in KICKOFF_TASKS if task not in existing])
    session.flush()


def list_tasks(session: Session, *, tenant_id: str, release_id: str) -> list[TaskView]:
    """The kickoff tasks of a release of this tenant, in the card's order."""
    rows = session.scalars(select(ReleaseTask).where(ReleaseTask.releaseId == release_id, ReleaseTask.tenantId == tenant_id,
                                                     ReleaseTask.task.in_(KICKOFF_TASKS)))  # not the work after release
    order = {task: n for n, task in enumerate(KICKOFF_TASKS)}
    views = [TaskView(r.task, r.state, r.lastError, r.result) for r in rows]
    return sorted(views, key=lambda v: (order.get(v.task, len(order)), v.task))


def due_tasks(session: Session, limit: int = 100) -> list[str]:
    """Owed tasks past any backoff, unclaimed, of releases still kicking off (a cancelled release owes nothing)."""
    now = utcnow()
    # The epics link the card: they wait while it is owed and not tried yet (a release kicked off by
    # itself in the round it was created); a card Slack keeps refusing does not hold the kickoff.
    card_first_post = select(ReleaseCard.releaseId).where(ReleaseCard.releaseId == ReleaseTask.releaseId,
                                                          ReleaseCard.messageTs.is_(None), ReleaseCard.attempts == 0).exists()
    return list(session.scalars(
        select(ReleaseTask.id).join(Release, Release.id == ReleaseTask.releaseId)
        .where(ReleaseTask.state == TaskState.PENDING, ReleaseTask.nextAttemptAt <= now, Release.status == ReleaseStatus.PENDING,
               or_(ReleaseTask.claimedUntil.is_(None), ReleaseTask.claimedUntil < now),
               or_(ReleaseTask.task != EPICS, ~card_first_post))
        .order_by(ReleaseTask.nextAttemptAt).limit(limit)))


def task_done(session: Session, *, task_id: str, worker: str, result: str | None) -> bool:
    """Record the claimed task done and, if it was the last one, start the release; False if the
    task was skipped or taken over meanwhile (its result is dropped)."""
    task = session.get(ReleaseTask, task_id)
    status = _lock_release(session, task.releaseId)
    if not _settle(session, task_id, worker, state=TaskState.DONE, result=result, lastError=None, errorDetail=None,
                   nextAttemptAt=None):
        return False
    if task.task == CHANGELOG:
        changelog.owe_message(session, tenant_id=task.tenantId, release_id=task.releaseId, kind=changelog.CHANGELOG_KIND)
    _finish_if_done(session, tenant_id=task.tenantId, release_id=task.releaseId, status=status)
    return True


def task_failed(session: Session, *, task_id: str, worker: str, error: str, detail: str, retry_at: datetime | None) -> bool:
    """Record a failed attempt of the claimed task: PENDING again at `retry_at`, or FAILED for good when None."""
    state = TaskState.PENDING if retry_at else TaskState.FAILED
    return _settle(session, task_id, worker, state=state, lastError=error, errorDetail=detail, nextAttemptAt=retry_at)


def _settle(session: Session, task_id: str, worker: str, **values) -> bool:
    # Conditional on the claim: an admin may have skipped the task while the remote call ran.
    changed = session.execute(
        update(ReleaseTask).where(ReleaseTask.id == task_id, ReleaseTask.state == TaskState.PENDING,
                                  ReleaseTask.claimedBy == worker)
        .values(attempts=ReleaseTask.attempts + 1, claimedUntil=None, updatedAt=func.current_timestamp(), **values)
        .execution_options(synchronize_session=False)).rowcount == 1
    if changed:
        mark_stale(session, release_id=session.get(ReleaseTask, task_id).releaseId)
    return changed


def attempts_of(session: Session, task_id: str) -> int:
    """How many attempts of a task were recorded."""
    return session.scalar(select(ReleaseTask.attempts).where(ReleaseTask.id == task_id)) or 0


def retry_task(session: Session, *, tenant_id: str, release_id: str, task: str, actor_account_id: str) -> TaskView:
    """A failed task is owed again, now (anyone of the workspace may retry, as with builds); a repeated click changes nothing."""
    row, actor = _task(session, tenant_id, release_id, task, actor_account_id)
    if row.state != TaskState.FAILED:
        return _view(row)
    _live(session, release_id, task)
    if _change(session, row, TaskState.FAILED, state=TaskState.PENDING, attempts=0, nextAttemptAt=utcnow()):
        record_event(session, tenant_id=tenant_id, release_id=release_id, actor_account_id=actor.id, action="task-retried",
                     from_value=TaskState.FAILED, to_value=TaskState.PENDING, detail=TASK_NAMES.get(task, task))
    return _view(row)


def skip_task(session: Session, *, tenant_id: str, release_id: str, task: str, actor_account_id: str) -> TaskView:
    """An admin lets the release go on without this task (recorded in the history); the last one starts the release."""
    row, actor = _task(session, tenant_id, release_id, task, actor_account_id)
    if actor.role != Role.ADMIN:
        raise PermissionDeniedError(f"only a workspace admin can skip {TASK_NAMES.get(task, task)}: ask one, or retry it")
    if row.state in FINISHED:
        return _view(row)
    status = _live(session, release_id, task)
    before = row.state
    if _change(session, row, before, state=TaskState.SKIPPED, nextAttemptAt=None, claimedUntil=None):
        record_event(session, tenant_id=tenant_id, release_id=release_id, actor_account_id=actor.id, action="task-skipped",
                     from_value=before, to_value=TaskState.SKIPPED, detail=TASK_NAMES.get(task, task))
        _finish_if_done(session, tenant_id=tenant_id, release_id=release_id, status=status)
    return _view(row)


def _task(session: Session, tenant_id: str, release_id: str, task: str, actor_account_id: str) -> tuple[ReleaseTask, Account]:
    actor = session.scalar(select(Account).where(Account.id == actor_account_id, Account.tenantId == tenant_id))
    if actor is None:
        raise NotFoundError("the person acting is not a member of this workspace")
    row = session.scalar(select(ReleaseTask).where(ReleaseTask.releaseId == release_id, ReleaseTask.tenantId == tenant_id,
                                                   ReleaseTask.task == task))
    if row is None:  # another workspace's release is as unknown as a made-up task
        raise NotFoundError(f"this release has no kickoff task {task!r}")
    return row, actor


def _live(session: Session, release_id: str, task: str) -> ReleaseStatus:
    status = _lock_release(session, release_id)
    if status != ReleaseStatus.PENDING:
        raise TransitionRefusedError(f"{TASK_NAMES.get(task, task)} is a kickoff task, and this release is no longer "
                                     f"kicking off ({status.value}): there is nothing to retry or skip")
    return status


def _lock_release(session: Session, release_id: str) -> ReleaseStatus:
    """The release's status, read and locked before its tasks and card are touched: lifecycle changes lock
    the release first too, so on MariaDB the two never wait for each other crosswise (a deadlock)."""
    return session.scalar(select(Release.status).where(Release.id == release_id).with_for_update())


def _change(session: Session, row: ReleaseTask, was: TaskState, **values) -> bool:
    # Conditional on the state read: of two clicks (or a click and the runner) one changes the task.
    changed = session.execute(
        update(ReleaseTask).where(ReleaseTask.id == row.id, ReleaseTask.state == was)
        .values(lastError=None, errorDetail=None, updatedAt=func.current_timestamp(), **values)
        .execution_options(synchronize_session=False)).rowcount == 1
    session.refresh(row)
    if changed:
        mark_stale(session, release_id=row.releaseId)
    return changed


def _view(row: ReleaseTask) -> TaskView:
    return TaskView(row.task, row.state, row.lastError, row.result)


def _finish_if_done(session: Session, *, tenant_id: str, release_id: str, status: ReleaseStatus) -> bool:
    """Start the release if every kickoff task is done or skipped. The caller locked the release row
    (`status` read then), and the tasks are read with a locking read: two workers finishing its last two
    tasks at once cannot both miss the other's (on MariaDB a plain read sees the transaction's older snapshot)."""
    open_tasks = session.scalars(select(ReleaseTask.id).where(ReleaseTask.releaseId == release_id,
                                                              ReleaseTask.state.not_in(FINISHED)).with_for_update()).all()
    if status != ReleaseStatus.PENDING or open_tasks:
        return False
    try:
        lifecycle.finish_kickoff(session, tenant_id=tenant_id, release_id=release_id)
    except TransitionRefusedError:  # cancelled or finished by someone else meanwhile: the task stays recorded
        return False
    changelog.owe_message(session, tenant_id=tenant_id, release_id=release_id, kind=changelog.KICKOFF_KIND)
    return True
