"""release_events: one row per change (transitions, target marks, builds, edits), read back in order, in UTC."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from core.enums import BuildState, TargetStatus
from core.enums import ReleaseStatus as S
from core.errors import NotFoundError
from core.lifecycle import TransitionRefusedError
from core.models import PipelineBuild, ReleaseEvent
from core.services import builds, lifecycle, regression
from core.services.history import list_events
from core.services.releases import get_release
from tests.core.lifecycle_world import People, bring_to, new_release, targets
from tests.factories import World


@pytest.fixture
def world(session, cipher):
    return World(session, cipher)


@pytest.fixture
def people(session, world):
    return People(session, world)


@pytest.fixture
def release(session, world, people):
    return new_release(session, world, people)


def history(session, world, release):
    return [(e.actor, e.action, e.from_value, e.to_value, e.detail) for e in list_events(session, world.tenant.id, release.id)]


def test_the_road_to_archived_is_written_line_by_line_with_who_from_and_to(session, world, people, release):
    bring_to(session, world, people, release, S.ARCHIVED)
    lines = [line for line in history(session, world, release) if not line[1].startswith("build-")]
    assert lines == [
        ("Ada", "kickoff", "KICKOFF_PENDING", "PENDING", None),
        (None, "kickoff-done", "PENDING", "STARTED", None),
        ("Ada", "start-regression", "STARTED", "REGRESSION_IN_PROGRESS", "cycle 1 on App Store #41, Play Store #40"),
        ("Ada", "regression-passed", "cycle 1", "PASSED", None),
        ("Ada", "target-submitted", "PENDING", "SUBMITTED", "App Store #41"),
        ("Ada", "target-submitted", "PENDING", "SUBMITTED", "Play Store #40"),
        (None, "all-submitted", "REGRESSION_IN_PROGRESS", "BUILD_SUBMITTED", "every target is submitted"),
        ("Ada", "target-approved", "SUBMITTED", "APPROVED", "App Store #41"),
        ("Ada", "target-approved", "SUBMITTED", "APPROVED", "Play Store #40"),
        ("Ada", "target-released", "APPROVED", "RELEASED", "App Store #41"),
        ("Ada", "target-released", "APPROVED", "RELEASED", "Play Store #40"),
        (None, "all-released", "BUILD_SUBMITTED", "RELEASED", "every target is released"),
        ("Ada", "archive", "RELEASED", "ARCHIVED", None),
    ]


def test_build_triggers_retries_and_aborts_are_in_the_history(session, world, people, release):
    pipe = get_release(session, tenant_id=world.tenant.id, release_id=release.id).pipelines[1]  # Jenkins iOS
    first = builds.request_build(session, tenant_id=world.tenant.id, account_id=people.member.id, release_pipeline_id=pipe.id)
    builds.record_progress(session, session.get(PipelineBuild, first.build_id), state=BuildState.FAILED, error="boom")
    builds.request_build(session, tenant_id=world.tenant.id, account_id=people.member.id, release_pipeline_id=pipe.id)
    builds.request_abort(session, tenant_id=world.tenant.id, release_pipeline_id=pipe.id, actor_account_id=people.member.id)
    assert history(session, world, release) == [
        ("Margaret", "build-triggered", None, "REQUESTED", "Jenkins iOS, attempt 1"),
        ("Margaret", "build-retried", None, "REQUESTED", "Jenkins iOS, attempt 2"),
        ("Margaret", "build-aborted", "REQUESTED", "CANCELLED", "Jenkins iOS, attempt 2"),
    ]


def test_a_repeated_abort_is_recorded_once(session, world, people, release):
    pipe = get_release(session, tenant_id=world.tenant.id, release_id=release.id).pipelines[0]
    build = builds.request_build(session, tenant_id=world.tenant.id, account_id=people.member.id, release_pipeline_id=pipe.id)
    builds.record_progress(session, session.get(PipelineBuild, build.build_id), state=BuildState.RUNNING, queue_id="3")
    for _ in range(2):
        builds.request_abort(session, tenant_id=world.tenant.id, release_pipeline_id=pipe.id, actor_account_id=people.member.id)
    assert [line[1] for line in history(session, world, release)] == ["build-triggered", "build-aborted"]


def test_edits_delays_and_pilot_changes_say_what_they_were_and_became(session, world, people, release):
    ids = dict(tenant_id=world.tenant.id, release_id=release.id, actor_account_id=people.pilot.id)
    lifecycle.edit_dates(session, **ids, target_date=date(2031, 3, 1))
    lifecycle.mark_delayed(session, **ids, reason="Store review 🐢 is slow", target_date=date(2031, 3, 8))
    lifecycle.change_pilot(session, **ids, pilot_account_id=people.spare.id)
    assert history(session, world, release) == [
        ("Grace", "edit-dates", "no dates", "target 2031-03-01", None),
        ("Grace", "delay", "target 2031-03-01", "target 2031-03-08", "Store review 🐢 is slow"),
        ("Grace", "change-pilot", "Grace", "Hedy", None),
    ]


def test_times_are_timezone_aware_utc_and_the_json_shape_is_the_contracts(session, world, people, release):
    before = datetime.now(UTC) - timedelta(seconds=1)
    lifecycle.cancel(session, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=people.creator.id,
                     reason="no longer needed")
    event = list_events(session, world.tenant.id, release.id)[0]
    assert event.at.tzinfo is UTC and before <= event.at <= datetime.now(UTC) + timedelta(seconds=1)
    shown = json.loads(json.dumps(event.as_json()))
    assert shown == {"at": event.at.isoformat(), "actor": "Linus", "action": "cancel", "from": "KICKOFF_PENDING",
                     "to": "CANCELLED", "detail": "no longer needed"}
    assert datetime.fromisoformat(shown["at"]).utcoffset() == timedelta(0)


def test_a_refused_change_writes_nothing(session, world, people, release):
    with pytest.raises(TransitionRefusedError, match="kick it off first"):
        regression.start_regression(session, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=people.admin.id)
    assert history(session, world, release) == []


def test_earlier_lines_never_change_when_later_ones_are_written(session, world, people, release):
    bring_to(session, world, people, release, S.REGRESSION_IN_PROGRESS, passed=True)
    snapshot = [tuple(r) for r in session.execute(select(ReleaseEvent.id, ReleaseEvent.at, ReleaseEvent.action,
                                                          ReleaseEvent.fromValue, ReleaseEvent.toValue, ReleaseEvent.detail)
                                                   .where(ReleaseEvent.releaseId == release.id).order_by(ReleaseEvent.id))]
    regression.set_target_status(session, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=people.admin.id,
                                 target_id=targets(session, world, release)[0].id, status=TargetStatus.SUBMITTED)
    after = [tuple(r) for r in session.execute(select(ReleaseEvent.id, ReleaseEvent.at, ReleaseEvent.action,
                                                       ReleaseEvent.fromValue, ReleaseEvent.toValue, ReleaseEvent.detail)
                                                .where(ReleaseEvent.releaseId == release.id).order_by(ReleaseEvent.id))]
    assert after[:len(snapshot)] == snapshot and len(after) == len(snapshot) + 1


def test_another_workspace_reads_no_history(session, world, people, release, cipher):
    lifecycle.kickoff(session, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=people.admin.id)
    other = World(session, cipher, name="Globex")
    with pytest.raises(NotFoundError):
        list_events(session, other.tenant.id, release.id)
