"""Work: carry out a release's kickoff tasks (today: cut its release branch); the last one done starts
the release (PENDING → STARTED) in the same transaction.

Each task is claimed with a conditional update, so two workers never call the SCM for one task, and
each is idempotent (an existing release branch is used as it is), so a worker dying mid-call only
means the next one looks first. A new kind of task is one more entry in CHORES."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from sqlalchemy.orm import Session

from core.enums import IntegrationKind, ReleaseStatus, TaskState
from core.errors import IntegrationError, ReleasebotError
from core.integrations.base import ensure_branch
from core.models import Release, ReleaseTask, ScmIntegration
from core.runner import changelog, epics
from core.runner.build_steps import CLIENT_ERRORS, retry_at
from core.runner.context import RunnerContext
from core.services import builds, tasks
from core.services.verification import config_of

log = logging.getLogger("releasebot.runner")


@dataclass(frozen=True)
class Chore:
    """One task, ready to run outside the database: what it does and where, in a member's words."""

    what: str
    where: str
    call: Callable[[], str | None]
    record: Callable[[Session, Release, str | None], None] | None = None  # writes the result on the release, in the task's transaction


def release_branch(ctx: RunnerContext, s, release: Release) -> Chore:
    """Cut release/<version> from the base branch on the release's SCM (or use the branch that exists)."""
    row = s.get(ScmIntegration, release.scmIntegrationId)
    branch, base = release.branchRelease, release.baseBranch
    try:
        scm = ctx.clients.get(IntegrationKind.SCM, config_of(s, IntegrationKind.SCM, row, ctx.runtime.cipher))
        call = partial(ensure_branch, scm, branch, base)
    except CLIENT_ERRORS as exc:  # a key that decrypts nothing, an address the guard refuses
        call = partial(_raise, exc)
    return Chore(f"cut {branch} from {base}", row.displayName, call)


CHORES: dict[str, Callable[[RunnerContext, object, Release], Chore]] = {tasks.RELEASE_BRANCH: release_branch,
                                                                       tasks.CHANGELOG: changelog.changelog, tasks.EPICS: epics.epics}


class Kickoff:
    LOG_AS = "task"  # what its row ids are, in log lines

    def __init__(self, ctx: RunnerContext):
        self.ctx = ctx

    def due(self) -> list[str]:
        """Owed kickoff tasks past any backoff and not claimed by another worker."""
        with self.ctx.runtime.reading() as s:
            return tasks.due_tasks(s)

    def run(self, task_id: str) -> None:
        """Carry out one kickoff task, or schedule its retry, or fail it with advice."""
        chore = self._claim(task_id)
        if chore is None:
            return
        try:
            result, exc = chore.call(), None
        except CLIENT_ERRORS as error:
            result, exc = None, error
        with self.ctx.runtime.unit_of_work() as s:
            if exc is None:
                if tasks.task_done(s, task_id=task_id, worker=self.ctx.worker, result=result) and chore.record:
                    chore.record(s, s.get(Release, s.get(ReleaseTask, task_id).releaseId), result)
            else:
                fail_task(self.ctx, s, task_id, chore, exc)

    def _claim(self, task_id: str) -> Chore | None:
        # The claim alone first; then the task and its release are read in a snapshot taken after it. (Read before
        # the claim, MySQL gave them as of the transaction's first read: a release cancelled in between still got its
        # branch cut.) A cancel committed after this read cannot stop a call already under way.
        with self.ctx.runtime.unit_of_work() as s:
            if not builds.claim(s, ReleaseTask, task_id, ReleaseTask.state == TaskState.PENDING,
                                worker=self.ctx.worker, lease=self.ctx.lease):
                return None
        with self.ctx.runtime.reading() as s:
            task = s.get(ReleaseTask, task_id)
            release = s.get(Release, task.releaseId) if task is not None else None
            if task is not None and task.state == TaskState.PENDING and task.task in CHORES \
                    and release.status == ReleaseStatus.PENDING:
                return CHORES[task.task](self.ctx, s, release)
        with self.ctx.runtime.unit_of_work() as s:  # skipped, cancelled (nothing to cut) or deleted meanwhile: let go
            builds.release_claim(s, ReleaseTask, task_id, worker=self.ctx.worker)
        return None


def fail_task(ctx: RunnerContext, s, task_id: str, chore: Chore, exc: Exception) -> None:
    """Record a failed attempt of a claimed task: retried with backoff while the error is passing, else
    FAILED with advice for members (the detail kept for admins and the log)."""
    attempt = tasks.attempts_of(s, task_id) + 1
    detail = str(exc) if isinstance(exc, ReleasebotError) else f"{type(exc).__name__}: {exc}"
    again = getattr(exc, "retryable", False) and attempt < ctx.max_failures
    log.warning("task %s (%s on %s) failed, attempt %s of %s: %s", task_id, chore.what, chore.where, attempt,
                ctx.max_failures, detail)
    if again:
        error = f"{chore.where} did not answer; trying again (attempt {attempt} of {ctx.max_failures})"
        tasks.task_failed(s, task_id=task_id, worker=ctx.worker, error=error, detail=detail,
                          retry_at=retry_at(ctx.interval * attempt, exc))
    else:
        tasks.task_failed(s, task_id=task_id, worker=ctx.worker, error=advice(chore, exc), detail=detail, retry_at=None)


def advice(chore: Chore, exc: Exception) -> str:
    """What a member reads on the card: what failed and who can fix it, never an address or a setting."""
    status = getattr(exc, "status", None) if isinstance(exc, IntegrationError) else None
    if status in (401, 403):
        fix = f"{chore.where} refused it: ask an admin to give its token write access, then retry"
    elif status == 404:
        fix = f"{chore.where} could not find the repository or the base branch: ask an admin to check them, then retry"
    else:
        fix = f"ask an admin to re-verify {chore.where}, then retry (or skip this task)"
    return f"could not {chore.what}: {fix}"


def _raise(exc: Exception) -> None:
    # A client that cannot be built fails like a call would, outside the transaction, with the same advice.
    raise exc
