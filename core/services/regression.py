"""Regression cycles and the targets' road to the stores: start, pass or fail a numbered cycle; mark a
target submitted, approved, released — and the release follows its targets.

Same contract as core.services.lifecycle: keyword-only, never commits, guards checked in the
transaction of the change with conditional updates.
"""
from __future__ import annotations

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.enums import BuildStatus, ReleaseStatus, TargetStatus
from core.errors import NotFoundError, Problem, ValidationError
from core.lifecycle import Action, TransitionRefusedError, next_status
from core.models import PipelineIntegration, RegressionCycle, ReleasePipeline, ReleaseTarget, TargetIntegration
from core.services.history import last_event
from core.services.transitions import Context, Outcome, begin, described_by, finish, follow, hold, load, move

PASSED, FAILED = "PASSED", "FAILED"
BUILD_WORDS = {BuildStatus.PENDING: "has not run", BuildStatus.FAILED: "failed", BuildStatus.CANCELLED: "was cancelled",
               BuildStatus.SUCCESS: "gave no build number", BuildStatus.RUNNING: "is running", None: "has not run"}
MARKS = {TargetStatus.SUBMITTED: Action.MARK_SUBMITTED, TargetStatus.APPROVED: Action.MARK_APPROVED,
         TargetStatus.RELEASED: Action.MARK_RELEASED}
# A target reaches each mark from the one before it; submitting needs a build.
BEFORE = {TargetStatus.SUBMITTED: TargetStatus.PENDING, TargetStatus.APPROVED: TargetStatus.SUBMITTED,
          TargetStatus.RELEASED: TargetStatus.APPROVED}
AT_STORE = (TargetStatus.SUBMITTED, TargetStatus.APPROVED, TargetStatus.RELEASED)


# --- start regression ------------------------------------------------------------------------


def regression_blockers(session: Session, *, release_id: str, locking: bool = False) -> list[str]:
    """Why each target cannot enter regression: no successful build yet, or a build still running."""
    targets = session.execute(_locked(select(ReleaseTarget.targetIntegrationId, TargetIntegration.displayName,
                                             ReleaseTarget.buildNumber, ReleaseTarget.targetStatus)
                                      .join(TargetIntegration, TargetIntegration.id == ReleaseTarget.targetIntegrationId)
                                      .where(ReleaseTarget.releaseId == release_id)
                                      .order_by(TargetIntegration.displayName), locking)).all()
    pipelines = session.execute(_locked(select(PipelineIntegration.targetIntegrationId, PipelineIntegration.displayName,
                                               ReleasePipeline.buildStatus)
                                        .join(PipelineIntegration, PipelineIntegration.id == ReleasePipeline.pipelineIntegrationId)
                                        .where(ReleasePipeline.releaseId == release_id)
                                        .order_by(PipelineIntegration.displayName), locking)).all()
    problems = []
    for target_id, name, build_number, status in targets:
        mine = [(p, s) for t, p, s in pipelines if t == target_id]
        running = [p for p, s in mine if s == BuildStatus.RUNNING]
        if running or status == TargetStatus.BUILDING:
            problems.append(f"{name}: {running[0] if running else 'its build'} is running")
        elif build_number is None:
            problems.append(f"{name}: " + (", ".join(f"{p} {BUILD_WORDS[s]}" for p, s in mine) or "no pipeline of this release builds it"))
    return problems


def _locked(query, locking: bool):
    # A loser re-reads what the winner committed: a locking read sees past the transaction's snapshot.
    return query.with_for_update(read=True) if locking else query


def _blocked(problems: list[str]) -> TransitionRefusedError:
    return TransitionRefusedError("Start regression needs a finished successful build for " + "; ".join(problems))


def start_regression(session: Session, *, tenant_id: str, release_id: str, actor_account_id: str,
                     request_key: str | None = None) -> Outcome:
    """STARTED → REGRESSION_IN_PROGRESS, opening cycle n+1, once every target has a successful build and none runs."""
    ctx = begin(session, action=Action.START_REGRESSION, tenant_id=tenant_id, release_id=release_id,
                 actor_account_id=actor_account_id, request_key=request_key)
    if isinstance(ctx, Outcome):
        return ctx
    problems = regression_blockers(session, release_id=release_id)
    if problems:
        raise _blocked(problems)
    # The guard is restated in the update: a build started since the read above makes it match nothing.
    unbuilt = select(ReleaseTarget.id).where(ReleaseTarget.releaseId == release_id, or_(
        ReleaseTarget.buildNumber.is_(None), ReleaseTarget.targetStatus == TargetStatus.BUILDING)).exists()
    running = select(ReleasePipeline.id).where(ReleasePipeline.releaseId == release_id,
                                               ReleasePipeline.buildStatus == BuildStatus.RUNNING).exists()
    try:
        move(session, ctx, ReleaseStatus.REGRESSION_IN_PROGRESS, ~unbuilt, ~running)
    except TransitionRefusedError:
        problems = regression_blockers(session, release_id=release_id, locking=True)
        if problems:
            raise _blocked(problems) from None
        raise
    cycle = _open_cycle(session, ctx)
    return finish(session, ctx, Action.START_REGRESSION, to=ReleaseStatus.REGRESSION_IN_PROGRESS,
                  detail=f"cycle {cycle.number} on {cycle.builds}", request_key=request_key)


def _open_cycle(session: Session, ctx: Context) -> RegressionCycle:
    number = (session.scalar(select(func.max(RegressionCycle.number)).where(RegressionCycle.releaseId == ctx.release_id)) or 0) + 1
    builds = session.execute(select(TargetIntegration.displayName, ReleaseTarget.buildNumber)
                             .join(TargetIntegration, TargetIntegration.id == ReleaseTarget.targetIntegrationId)
                             .where(ReleaseTarget.releaseId == ctx.release_id).order_by(TargetIntegration.displayName)).all()
    cycle = RegressionCycle(tenantId=ctx.tenant_id, releaseId=ctx.release_id, number=number, startedAt=utcnow(),
                            startedByAccountId=ctx.actor.account_id, builds=", ".join(f"{n} #{b}" for n, b in builds))
    session.add(cycle)
    session.flush()
    return cycle


def current_cycle(session: Session, *, release_id: str, locking: bool = False) -> RegressionCycle | None:
    """The newest regression cycle of a release (open, passed or failed), if any."""
    return session.scalar(_locked(select(RegressionCycle).where(RegressionCycle.releaseId == release_id)
                                  .order_by(RegressionCycle.number.desc()).limit(1), locking)
                          .execution_options(populate_existing=True))


# --- pass or fail ----------------------------------------------------------------------------


def regression_passed(session: Session, *, tenant_id: str, release_id: str, actor_account_id: str,
                      request_key: str | None = None) -> Outcome:
    """Close the open cycle as passed: the targets may now be submitted (the status stays)."""
    ctx = begin(session, action=Action.REGRESSION_PASSED, tenant_id=tenant_id, release_id=release_id,
                 actor_account_id=actor_account_id, request_key=request_key)
    if isinstance(ctx, Outcome):
        return ctx
    hold(session, ctx)
    cycle = _end_cycle(session, ctx, PASSED, RegressionCycle.outcome.is_(None))
    return finish(session, ctx, Action.REGRESSION_PASSED, to=ctx.status, from_value=f"cycle {cycle.number}",
                  to_value=PASSED, request_key=request_key)


def regression_failed(session: Session, *, tenant_id: str, release_id: str, actor_account_id: str, reason: str | None = None,
                      request_key: str | None = None) -> Outcome:
    """Close the cycle as failed (even a passed one, while no target is submitted): back to builds, next cycle."""
    ctx = begin(session, action=Action.REGRESSION_FAILED, tenant_id=tenant_id, release_id=release_id,
                 actor_account_id=actor_account_id, request_key=request_key)
    if isinstance(ctx, Outcome):
        return ctx
    hold(session, ctx)  # the release row first, as every change takes it: no deadlock with a target mark
    at_store = select(ReleaseTarget.id).where(ReleaseTarget.releaseId == release_id, ReleaseTarget.targetStatus.in_(AT_STORE)).exists()
    cycle = _end_cycle(session, ctx, FAILED, or_(RegressionCycle.outcome.is_(None), and_(RegressionCycle.outcome == PASSED, ~at_store)))
    move(session, ctx, ReleaseStatus.STARTED)
    return finish(session, ctx, Action.REGRESSION_FAILED, to=ReleaseStatus.STARTED, from_value=f"cycle {cycle.number}",
                  to_value=FAILED, detail=(reason or "").strip() or None, request_key=request_key)


def _end_cycle(session: Session, ctx: Context, outcome: str, condition) -> RegressionCycle:
    cycle = current_cycle(session, release_id=ctx.release_id)
    ended = cycle is not None and session.execute(
        update(RegressionCycle).where(RegressionCycle.id == cycle.id, condition)
        .values(outcome=outcome, endedAt=utcnow(), endedByAccountId=ctx.actor.account_id)
        .execution_options(synchronize_session=False)).rowcount == 1
    if not ended:
        cycle = current_cycle(session, release_id=ctx.release_id, locking=True)
        event = last_event(session, release_id=ctx.release_id, actions=(Action.REGRESSION_PASSED, Action.MARK_SUBMITTED))
        raise TransitionRefusedError(f"regression cycle {cycle.number} of {ctx.release_key} is already "
                                     f"{'passed' if cycle.outcome == PASSED else 'over'}{described_by(event)}"
                                     + ("" if outcome == PASSED else ": a submitted target cannot go back to regression"))
    return cycle


# --- targets ---------------------------------------------------------------------------------


def set_target_status(session: Session, *, tenant_id: str, release_id: str, actor_account_id: str, target_id: str,
                      status: TargetStatus | str, request_key: str | None = None) -> Outcome:
    """Mark a target of the release SUBMITTED, APPROVED or RELEASED (by hand until store automation);
    the release becomes BUILD_SUBMITTED when all are submitted and RELEASED (releaseDate set) when all are released."""
    action = MARKS.get(TargetStatus(status) if status in TargetStatus.__members__ else None)
    if action is None:
        raise ValidationError([Problem("targetStatus", f"{status!s} cannot be set by hand: use SUBMITTED, APPROVED or RELEASED "
                                                       "(PENDING and BUILDING follow the builds)")])
    ctx = begin(session, action=action, tenant_id=tenant_id, release_id=release_id, actor_account_id=actor_account_id,
                 request_key=request_key)
    if isinstance(ctx, Outcome):
        return ctx
    name, number = _target(session, release_id, target_id)
    hold(session, ctx)
    if ctx.status == ReleaseStatus.REGRESSION_IN_PROGRESS:
        require_passed(session, ctx)
    _mark(session, ctx, target_id, name, TargetStatus(status))
    outcome = finish(session, ctx, action, to=ctx.status, from_value=BEFORE[TargetStatus(status)], to_value=status,
                     detail=f"{name} #{number}", request_key=request_key)
    followed = _follow_targets(session, ctx, TargetStatus(status))
    return outcome if followed is None else Outcome(ctx.release_id, ctx.release_key, action, ctx.status, followed.to_status)


def _target(session: Session, release_id: str, target_id: str) -> tuple[str, str | None]:
    row = session.execute(select(TargetIntegration.displayName, ReleaseTarget.buildNumber)
                          .join(TargetIntegration, TargetIntegration.id == ReleaseTarget.targetIntegrationId)
                          .where(ReleaseTarget.id == target_id, ReleaseTarget.releaseId == release_id)).first()
    if row is None:
        raise NotFoundError("this target belongs to no release of this workspace")
    return row[0], row[1]


def require_passed(session: Session, ctx: Context) -> None:
    """Refuse unless the release's current regression cycle passed (before its targets go to the stores)."""
    cycle = current_cycle(session, release_id=ctx.release_id, locking=True)
    if cycle is None or cycle.outcome != PASSED:
        number = cycle.number if cycle else 1
        raise TransitionRefusedError(f"regression cycle {number} of {ctx.release_key} has not passed: mark it passed before submitting")


def _mark(session: Session, ctx: Context, target_id: str, name: str, status: TargetStatus) -> None:
    """Move one target forward from the mark before, or say where it stands."""
    values = {"targetStatus": status, **({"submittedAt": utcnow()} if status == TargetStatus.SUBMITTED else {}),
              **({"approvedAt": utcnow()} if status == TargetStatus.APPROVED else {})}
    built = (ReleaseTarget.buildNumber.is_not(None),) if status == TargetStatus.SUBMITTED else ()
    if session.execute(update(ReleaseTarget).where(ReleaseTarget.id == target_id, ReleaseTarget.targetStatus == BEFORE[status], *built)
                       .values(**values).execution_options(synchronize_session=False)).rowcount == 1:
        return
    now = session.scalar(select(ReleaseTarget.targetStatus).where(ReleaseTarget.id == target_id).with_for_update(read=True))
    order = list(TargetStatus)
    if now in AT_STORE and order.index(now) >= order.index(status):
        event = last_event(session, release_id=ctx.release_id, actions=(MARKS[now],))
        raise TransitionRefusedError(f"{name} is already {now.value.lower()}{described_by(event)}")
    if status == TargetStatus.SUBMITTED:
        raise TransitionRefusedError(f"{name} has no finished build to submit: wait for its build, or build it again")
    raise TransitionRefusedError(f"{name} is {now.value.lower()}: mark it {BEFORE[status].value.lower()} first")


def _follow_targets(session: Session, ctx: Context, status: TargetStatus) -> Outcome | None:
    if status == TargetStatus.SUBMITTED:
        behind = select(ReleaseTarget.id).where(ReleaseTarget.releaseId == ctx.release_id,
                                                or_(ReleaseTarget.targetStatus.is_(None), ReleaseTarget.targetStatus.not_in(AT_STORE))).exists()
        return follow(session, ctx, Action.ALL_SUBMITTED, ~behind, detail="every target is submitted")
    if status == TargetStatus.RELEASED:
        behind = select(ReleaseTarget.id).where(ReleaseTarget.releaseId == ctx.release_id, or_(
            ReleaseTarget.targetStatus.is_(None), ReleaseTarget.targetStatus != TargetStatus.RELEASED)).exists()
        return follow(session, ctx, Action.ALL_RELEASED, ~behind, detail="every target is released", releaseDate=utcnow())
    return None



def follow_store(session: Session, *, tenant_id: str, release_id: str, target_id: str, status: TargetStatus) -> bool:
    """The bot marks a target as its store says (SUBMITTED, APPROVED, RELEASED: one step) and the release
    follows its targets; False when the release's status takes no target marks now (nothing recorded)."""
    action = MARKS[status]
    ctx = load(session, tenant_id=tenant_id, release_id=release_id, actor_account_id=None)
    if next_status(ctx.status, action) is None:
        return False
    name, number = _target(session, release_id, target_id)
    hold(session, ctx)
    _mark(session, ctx, target_id, name, status)
    finish(session, ctx, action, to=ctx.status, from_value=BEFORE[status], to_value=status, detail=f"{name} #{number}")
    _follow_targets(session, ctx, status)
    return True
