"""A release with four kinds of people, walked to any status through the real services, and one way to
call each lifecycle action (shared by the lifecycle, role and history tests)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from core.enums import BuildState, Role, TargetStatus
from core.enums import ReleaseStatus as S
from core.lifecycle import Action
from core.models import PipelineBuild, Release
from core.services import builds, lifecycle, regression
from core.services.release_creation import create_release
from core.services.releases import get_release
from tests.factories import World, account


class People:
    """Ada is a workspace admin, Grace the pilot, Linus the creator, Margaret a plain member; Hedy a spare pilot."""

    def __init__(self, session, world: World):
        self.admin = world.admin
        self.pilot = world.member
        self.creator = account(session, world.tenant.id, "Linus", role=Role.MEMBER)
        self.member = account(session, world.tenant.id, "Margaret", role=Role.MEMBER)
        self.spare = account(session, world.tenant.id, "Hedy", role=Role.MEMBER)

    def by_kind(self, kind: str):
        return {"admin": self.admin, "pilot": self.pilot, "creator": self.creator, "member": self.member}[kind]


def new_release(session, world: World, people: People, **draft):
    """v1.5.0 (or as told) created by Linus with Grace as pilot: App Store and Play Store, one Jenkins each."""
    return create_release(session, tenant_id=world.tenant.id, actor_account_id=people.creator.id, draft=world.draft(**draft))


def status_of(session, release) -> S:
    return session.scalar(select(Release.status).where(Release.id == release.id))


def build_all(session, world, release, *, outcome=BuildState.SUCCESS, only: str | None = None) -> None:
    """Run each pipeline's build (or only the one named) to `outcome`, as the runner would record it."""
    pipelines = get_release(session, tenant_id=world.tenant.id, release_id=release.id).pipelines  # Jenkins Android, Jenkins iOS
    for n, pipe in enumerate(pipelines, start=40):
        if only and pipe.integration.name != only:
            continue
        intent = builds.request_build(session, tenant_id=world.tenant.id, account_id=world.member.id, release_pipeline_id=pipe.id)
        build = session.get(PipelineBuild, intent.build_id)
        number = str(n + 10 * (build.attempt - 1)) if outcome == BuildState.SUCCESS else None  # Jenkins iOS: 41, then 51
        builds.record_progress(session, build, state=outcome, build_number=number)


def targets(session, world, release):
    return get_release(session, tenant_id=world.tenant.id, release_id=release.id).targets  # App Store, then Play Store


def mark_all(session, world, release, status: TargetStatus, by) -> None:
    for target in targets(session, world, release):
        regression.set_target_status(session, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=by.id,
                                     target_id=target.id, status=status)


PATH = [S.KICKOFF_PENDING, S.PENDING, S.STARTED, S.REGRESSION_IN_PROGRESS, S.BUILD_SUBMITTED, S.RELEASED]


def bring_to(session, world, people, release, status: S, *, passed: bool = False) -> None:
    """Walk the release to `status` the way people would (Ada acting); in regression the cycle stays
    open unless `passed`. Builds succeed on both targets on the way."""
    ids = dict(tenant_id=world.tenant.id, release_id=release.id)
    ada = dict(ids, actor_account_id=people.admin.id)
    if status == S.CANCELLED:
        lifecycle.cancel(session, **ada, reason="the feature was dropped")
        return
    if status == S.ARCHIVED:
        bring_to(session, world, people, release, S.RELEASED)
        lifecycle.archive(session, **ada)
        return
    steps = {
        S.PENDING: lambda: lifecycle.kickoff(session, **ada),
        S.STARTED: lambda: (lifecycle.finish_kickoff(session, **ids), build_all(session, world, release)),
        S.REGRESSION_IN_PROGRESS: lambda: regression.start_regression(session, **ada),
        S.BUILD_SUBMITTED: lambda: (regression.regression_passed(session, **ada),
                                    mark_all(session, world, release, TargetStatus.SUBMITTED, people.admin)),
        S.RELEASED: lambda: (mark_all(session, world, release, TargetStatus.APPROVED, people.admin),
                             mark_all(session, world, release, TargetStatus.RELEASED, people.admin)),
    }
    for step in PATH[1:PATH.index(status) + 1]:
        steps[step]()
    if passed:
        regression.regression_passed(session, **ada)
    assert status_of(session, release) == status


def act(session, world, people, release, action: Action, by, **extra):
    """Take `action` on the release as `by` (None: the bot), with what the action needs."""
    ids = dict(tenant_id=world.tenant.id, release_id=release.id)
    who = dict(ids, actor_account_id=by.id if by is not None else None)
    first_target = targets(session, world, release)[0].id
    calls = {
        Action.KICKOFF: lambda: lifecycle.kickoff(session, **who, **extra),
        Action.KICKOFF_DONE: lambda: lifecycle.finish_kickoff(session, **ids),
        Action.START_REGRESSION: lambda: regression.start_regression(session, **who, **extra),
        Action.REGRESSION_PASSED: lambda: regression.regression_passed(session, **who, **extra),
        Action.REGRESSION_FAILED: lambda: regression.regression_failed(session, **who, reason="crash on login", **extra),
        Action.MARK_SUBMITTED: lambda: regression.set_target_status(session, **who, target_id=first_target,
                                                                     status=TargetStatus.SUBMITTED, **extra),
        Action.MARK_APPROVED: lambda: regression.set_target_status(session, **who, target_id=first_target,
                                                                    status=TargetStatus.APPROVED, **extra),
        Action.MARK_RELEASED: lambda: regression.set_target_status(session, **who, target_id=first_target,
                                                                    status=TargetStatus.RELEASED, **extra),
        Action.MARK_DELAYED: lambda: lifecycle.mark_delayed(session, **who, reason="store review is slow",
                                                             target_date=date(2031, 1, 20), **extra),
        Action.EDIT_DATES: lambda: lifecycle.edit_dates(session, **who, target_date=date(2031, 1, 10), **extra),
        Action.CHANGE_PILOT: lambda: lifecycle.change_pilot(session, **who, pilot_account_id=people.spare.id, **extra),
        Action.CANCEL: lambda: lifecycle.cancel(session, **who, reason="the feature was dropped", **extra),
        Action.ARCHIVE: lambda: lifecycle.archive(session, **who, **extra),
    }
    return calls[action]()


# The actions a person or the runner calls (the automatic all-submitted / all-released follow a target mark).
CALLED = [a for a in Action if a not in (Action.ALL_SUBMITTED, Action.ALL_RELEASED)]
