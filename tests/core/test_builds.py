"""Build intents: one build per intent however clicks race, claims that only one worker wins."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.db import unit_of_work
from core.enums import BuildState, BuildStatus, NotificationState, ReleaseStatus, Role, TargetStatus
from core.errors import NotFoundError, PermissionDeniedError
from core.models import Notification, PipelineBuild, ReleasePipeline, ReleaseTarget
from core.services import builds
from core.services.release_creation import create_release
from core.services.releases import set_status
from tests.conftest import delete_tenant_rows
from tests.factories import World


@pytest.fixture
def world(session, cipher):
    return World(session, cipher)


@pytest.fixture
def release(session, world):
    return create_release(session, tenant_id=world.tenant.id, actor_account_id=world.admin.id, draft=world.draft())


def ios_pipeline(release):
    return next(p for p in release.pipelines if p.integration.name == "Jenkins iOS")


def click(session, world, release, account=None, **kw):
    return builds.request_build(session, tenant_id=world.tenant.id, account_id=(account or world.member).id,
                                release_pipeline_id=ios_pipeline(release).id, **kw)


def test_a_click_records_the_intent_before_any_ci_is_called(session, world, release):
    intent = click(session, world, release)
    assert intent.started
    build = session.get(PipelineBuild, intent.build_id)
    assert build.state == BuildState.REQUESTED and build.attempt == 1 and build.idempotencyKey.startswith("rb-")
    rp = session.get(ReleasePipeline, ios_pipeline(release).id)
    assert rp.triggered and rp.triggeredAt is not None and rp.buildStatus == BuildStatus.RUNNING
    target = session.scalar(select(ReleaseTarget).where(ReleaseTarget.releaseId == release.id,
                                                        ReleaseTarget.targetIntegrationId == world.ios.id))
    assert target.targetStatus == TargetStatus.BUILDING
    owed = session.scalars(select(Notification).where(Notification.buildId == build.id)).all()
    assert [(n.kind, n.state) for n in owed] == [("TRIGGERED", NotificationState.PENDING)]


def test_a_second_click_while_running_starts_nothing_and_says_who_started_it(session, world, release):
    first = click(session, world, release)
    second = click(session, world, release, account=world.admin)
    assert not second.started and second.build_id == first.build_id and second.triggered_by == "Grace"


def test_a_repeated_delivery_of_the_same_click_finds_its_build(session, world, release):
    first = click(session, world, release, request_key="1700000000.1:1700000001.2")
    builds.record_progress(session, session.get(PipelineBuild, first.build_id), state=BuildState.SUCCESS)
    again = click(session, world, release, request_key="1700000000.1:1700000001.2")
    assert not again.started and again.build_id == first.build_id


def test_another_workspaces_button_value_is_refused(session, world, release, cipher):
    other = World(session, cipher, name="Globex")
    with pytest.raises(NotFoundError):
        builds.request_build(session, tenant_id=other.tenant.id, account_id=other.admin.id,
                             release_pipeline_id=ios_pipeline(release).id)


def test_a_cancelled_release_builds_nothing(session, world, release):
    set_status(session, tenant_id=world.tenant.id, release_id=release.id, status=ReleaseStatus.CANCELLED)
    with pytest.raises(builds.BuildRefusedError, match="v1.5.0 is cancelled"):
        click(session, world, release)


def test_the_end_of_a_build_is_mirrored_and_owed_once(session, world, release):
    build = session.get(PipelineBuild, click(session, world, release).build_id)
    assert builds.record_progress(session, build, state=BuildState.RUNNING, queue_id="7") is False
    assert builds.record_progress(session, build, state=BuildState.SUCCESS, build_number="42",
                                  url="https://ci/job/x/42/", duration=95) is True
    assert builds.record_progress(session, build, state=BuildState.SUCCESS, build_number="42") is False
    rp = session.get(ReleasePipeline, build.releasePipelineId)
    assert (rp.buildStatus, rp.buildNumber, rp.buildUrl) == (BuildStatus.SUCCESS, "42", "https://ci/job/x/42/")
    target = session.scalar(select(ReleaseTarget).where(ReleaseTarget.releaseId == release.id,
                                                        ReleaseTarget.targetIntegrationId == world.ios.id))
    assert (target.buildNumber, target.targetStatus) == ("42", TargetStatus.PENDING)
    kinds = session.scalars(select(Notification.kind).where(Notification.buildId == build.id)).all()
    assert sorted(kinds) == ["FINISHED", "TRIGGERED"]


def test_a_retry_after_the_end_is_a_new_attempt(session, world, release):
    first = session.get(PipelineBuild, click(session, world, release).build_id)
    builds.record_progress(session, first, state=BuildState.FAILED, error="boom")
    retry = click(session, world, release)
    assert retry.started and session.get(PipelineBuild, retry.build_id).attempt == 2


def test_only_the_starter_or_an_admin_may_abort(session, world, release, cipher):
    from tests import factories

    click(session, world, release, account=world.member)
    bystander = factories.account(session, world.tenant.id, "Linus", role=Role.MEMBER)
    rp_id = ios_pipeline(release).id
    with pytest.raises(PermissionDeniedError):
        builds.request_abort(session, tenant_id=world.tenant.id, release_pipeline_id=rp_id, actor_account_id=bystander.id)
    build_id = builds.request_abort(session, tenant_id=world.tenant.id, release_pipeline_id=rp_id, actor_account_id=world.admin.id)
    assert session.get(PipelineBuild, build_id).abortedByAccountId == world.admin.id


def test_aborting_a_build_no_runner_has_touched_cancels_the_intent_without_the_ci(session, world, release):
    build_id = click(session, world, release, account=world.member).build_id
    builds.request_abort(session, tenant_id=world.tenant.id, release_pipeline_id=ios_pipeline(release).id,
                         actor_account_id=world.member.id)
    build = session.get(PipelineBuild, build_id)
    assert build.state == BuildState.CANCELLED and build.queueId is None
    assert sorted(session.scalars(select(Notification.kind).where(Notification.buildId == build_id))) == ["FINISHED", "TRIGGERED"]


def test_aborting_a_build_a_runner_has_tried_leaves_the_stop_to_the_runner(session, world, release):
    build = session.get(PipelineBuild, click(session, world, release).build_id)
    build.failures = 1  # an earlier attempt may have reached the CI before the connection failed
    session.flush()
    builds.request_abort(session, tenant_id=world.tenant.id, release_pipeline_id=ios_pipeline(release).id,
                         actor_account_id=world.admin.id)
    assert build.state == BuildState.REQUESTED and build.abortRequestedAt is not None


def test_one_claim_wins(session, world, release):
    build_id = click(session, world, release).build_id
    lease = timedelta(seconds=60)
    assert builds.claim(session, PipelineBuild, build_id, worker="a", lease=lease)
    assert not builds.claim(session, PipelineBuild, build_id, worker="b", lease=lease)
    builds.release_claim(session, PipelineBuild, build_id, worker="a")
    assert builds.claim(session, PipelineBuild, build_id, worker="b", lease=lease)


def test_a_claim_restating_a_stale_read_fails_once_another_worker_finished_the_row(session, world, release):
    # Worker b read the notification as PENDING; worker a then sent it and let go of it. b's claim
    # restates PENDING and so cannot take a row that is already SENT (it would post it twice).
    build_id = click(session, world, release).build_id
    owed = session.scalar(select(Notification).where(Notification.buildId == build_id))
    lease = timedelta(seconds=60)
    assert builds.claim(session, Notification, owed.id, Notification.state == NotificationState.PENDING, worker="a", lease=lease)
    owed.state = NotificationState.SENT
    builds.release_claim(session, Notification, owed.id, worker="a")
    session.flush()
    assert not builds.claim(session, Notification, owed.id, Notification.state == NotificationState.PENDING,
                            worker="b", lease=lease)


@pytest.fixture
def committed(session_factory, cipher, engine):
    with unit_of_work(session_factory) as s:
        world = World(s, cipher)
        release = create_release(s, tenant_id=world.tenant.id, actor_account_id=world.admin.id, draft=world.draft())
    yield world, release
    delete_tenant_rows(engine, [world.tenant.id])


def test_twenty_concurrent_clicks_record_one_build(session_factory, committed):
    world, release = committed
    barrier, outcomes = threading.Barrier(20), []

    def one_click():
        barrier.wait()
        with unit_of_work(session_factory) as s:
            outcomes.append(click(s, world, release))

    threads = [threading.Thread(target=one_click) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(o.started for o in outcomes) == 1 and len(outcomes) == 20
    with unit_of_work(session_factory) as s:
        assert s.scalar(select(func.count()).select_from(PipelineBuild).where(
            PipelineBuild.releasePipelineId == ios_pipeline(release).id)) == 1
