"""Every change of a release owes one thread line under its card (an EVENT notification), in the
transaction of the change; a build's own notifications tell its trigger, retry and abort."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.enums import BuildState, NotificationState
from core.enums import ReleaseStatus as S
from core.lifecycle import Action, TransitionRefusedError
from core.models import Notification, PipelineBuild, ReleaseEvent
from core.services import builds, lifecycle
from core.services.history import SILENT_ACTIONS
from tests.core.lifecycle_world import CALLED, People, act, bring_to, new_release
from tests.factories import World

BUILD_ACTIONS = ("build-triggered", "build-retried", "build-aborted")


@pytest.fixture
def world(session, cipher):
    return World(session, cipher)


@pytest.fixture
def people(session, world):
    return People(session, world)


@pytest.fixture
def release(session, world, people):
    return new_release(session, world, people)


def lines(session, release) -> list[tuple[str, str, NotificationState]]:
    """(event action, dedupe key, state) of each EVENT notification of the release, in event order."""
    return [(action, key, state) for action, key, state in session.execute(
        select(ReleaseEvent.action, Notification.dedupeKey, Notification.state).join(ReleaseEvent, ReleaseEvent.id == Notification.eventId)
        .where(Notification.releaseId == release.id, Notification.kind == "EVENT").order_by(ReleaseEvent.id))]


START = {Action.KICKOFF: S.KICKOFF_PENDING, Action.KICKOFF_DONE: S.PENDING, Action.START_REGRESSION: S.STARTED,
         Action.REGRESSION_PASSED: S.REGRESSION_IN_PROGRESS, Action.REGRESSION_FAILED: S.REGRESSION_IN_PROGRESS,
         Action.MARK_SUBMITTED: S.REGRESSION_IN_PROGRESS, Action.MARK_APPROVED: S.BUILD_SUBMITTED,
         Action.MARK_RELEASED: S.BUILD_SUBMITTED, Action.MARK_DELAYED: S.STARTED, Action.EDIT_DATES: S.STARTED,
         Action.CHANGE_PILOT: S.STARTED, Action.CANCEL: S.KICKOFF_PENDING, Action.ARCHIVE: S.RELEASED}


@pytest.mark.parametrize("action", CALLED)
def test_each_lifecycle_action_owes_exactly_one_thread_line_for_its_event(session, world, people, release, action):
    bring_to(session, world, people, release, START[action], passed=action == Action.MARK_SUBMITTED)
    if action == Action.MARK_RELEASED:  # a target is released once approved
        act(session, world, people, release, Action.MARK_APPROVED, people.admin)
    before = len(lines(session, release))
    act(session, world, people, release, action, None if action == Action.KICKOFF_DONE else people.admin)
    owed = lines(session, release)[before:]
    assert [a for a, _, _ in owed] == [action]
    event_id = session.scalar(select(ReleaseEvent.id).where(ReleaseEvent.releaseId == release.id, ReleaseEvent.action == action)
                              .order_by(ReleaseEvent.id.desc()).limit(1))
    assert owed[0][1:] == (f"event:{event_id}", NotificationState.PENDING)


def test_a_change_that_follows_the_targets_owes_its_own_line(session, world, people, release):
    bring_to(session, world, people, release, S.BUILD_SUBMITTED)
    assert [a for a, _, _ in lines(session, release)][-3:] == ["target-submitted", "target-submitted", "all-submitted"]


def test_build_triggers_retries_and_aborts_owe_no_event_line_the_builds_own_lines_tell_them(session, world, people, release):
    rp = release.pipelines[0].id
    for _ in range(2):  # a trigger, then a retry of the same pipeline
        intent = builds.request_build(session, tenant_id=world.tenant.id, account_id=people.member.id, release_pipeline_id=rp)
        builds.record_progress(session, session.get(PipelineBuild, intent.build_id), state=BuildState.FAILED)
    builds.request_build(session, tenant_id=world.tenant.id, account_id=people.member.id, release_pipeline_id=rp)
    lifecycle.cancel(session, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=people.admin.id,
                     reason="the feature was dropped")  # stops the third build: build-aborted
    recorded = session.scalars(select(ReleaseEvent.action).where(ReleaseEvent.releaseId == release.id).order_by(ReleaseEvent.id)).all()
    assert set(BUILD_ACTIONS) <= set(recorded) and set(BUILD_ACTIONS) == SILENT_ACTIONS
    assert [a for a, _, _ in lines(session, release)] == ["cancel"]
    build_kinds = session.scalars(select(Notification.kind).where(Notification.releaseId == release.id, Notification.buildId.is_not(None)))
    assert sorted(build_kinds) == ["FINISHED"] * 3 + ["TRIGGERED"] * 3  # the thread still hears of every build


def test_a_refused_change_owes_nothing(session, world, people, release):
    with pytest.raises(TransitionRefusedError):
        lifecycle.archive(session, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=people.admin.id)
    assert lines(session, release) == []
