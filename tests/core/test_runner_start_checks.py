"""Starting a build checks, itself, that its release and its pipeline still allow it: a requested build of an
ended release, or of a pipeline disabled since, is ended without calling the CI, whatever path left it requested."""
from __future__ import annotations

import pytest
from sqlalchemy import update

from core.clock import utcnow
from core.enums import BuildState, BuildStatus, IntegrationKind, ReleaseStatus
from core.models import PipelineBuild, Release, ReleasePipeline
from core.runner.follow_builds import FollowBuilds
from core.runner.start_builds import StartBuilds
from core.services import builds, integration_writes, verification
from tests.core.runner_world import new_release, runner, world_on
from tests.fakes.jenkins import RELEASE_JOB


def requested_build(rt, world, jenkins) -> tuple[str, str, str]:
    """A release on one verified Jenkins pipeline with a build requested; returns the release's, the pipeline's
    and the build's ids."""
    with rt.unit_of_work() as s:
        pipeline = integration_writes.add_integration(
            s, tenant_id=world.tenant.id, kind=IntegrationKind.PIPELINE, provider="jenkins", display_name="Jenkins iOS",
            cipher=rt.cipher, base_url=jenkins.url, secrets={"username": "releasebot", "apiToken": "jenkins-api-token"},
            fields={"scmIntegrationId": world.scm.id, "targetIntegrationId": world.ios.id, "jobPath": RELEASE_JOB})
        verification.record_verification(s, tenant_id=world.tenant.id, integration_id=pipeline.id, error=None)
    release = new_release(rt, world, target_ids=(world.ios.id,), pipeline_ids=(pipeline.id,))
    with rt.unit_of_work() as s:
        build_id = builds.request_build(s, tenant_id=world.tenant.id, account_id=world.admin.id,
                                        release_pipeline_id=release.pipelines[0].id).build_id
    return release.id, pipeline.id, build_id


def started(rt, jenkins, build_id: str) -> PipelineBuild:
    """Run the runner's start step as it runs it (what is due, then each), and read the build as committed."""
    start = runner(rt).work(StartBuilds)
    for due in start.due():
        start.run(due)
    with rt.reading() as s:
        build = s.get(PipelineBuild, build_id)
        s.expunge(build)
        return build


@pytest.mark.parametrize("ended", [ReleaseStatus.CANCELLED, ReleaseStatus.ARCHIVED])
def test_a_requested_build_of_an_ended_release_is_cancelled_without_calling_the_ci(rt, github, jenkins, ended):
    world = world_on(rt, github.url)
    release_id, _, build_id = requested_build(rt, world, jenkins)
    with rt.unit_of_work() as s:  # ended by a path that left its build requested (none does today: a future one may)
        s.execute(update(Release).where(Release.id == release_id).values(status=ended))
    build = started(rt, jenkins, build_id)
    assert jenkins.calls("POST", r"/buildWithParameters$") == []
    assert build.state == BuildState.CANCELLED and build.nextCheckAt is None and build.finishedAt is not None
    assert build.error == f"release v1.5.0 is {ended.value.lower()}: no new builds (it is over: create a new release" + (
        " of this version)" if ended == ReleaseStatus.CANCELLED else ")")
    with rt.reading() as s:
        assert s.get(ReleasePipeline, build.releasePipelineId).buildStatus == BuildStatus.CANCELLED


def test_a_requested_build_of_a_pipeline_disabled_since_is_cancelled_without_calling_the_ci(rt, github, jenkins):
    world = world_on(rt, github.url)
    _, pipeline_id, build_id = requested_build(rt, world, jenkins)
    with rt.unit_of_work() as s:
        integration_writes.set_active(s, tenant_id=world.tenant.id, integration_id=pipeline_id, active=False)
    build = started(rt, jenkins, build_id)
    assert jenkins.calls("POST", r"/buildWithParameters$") == []
    assert build.state == BuildState.CANCELLED
    assert build.error == "pipeline “Jenkins iOS” is disabled or not verified: ask an admin"


def test_a_requested_build_of_a_live_release_on_a_usable_pipeline_is_still_started(rt, github, jenkins):
    world = world_on(rt, github.url)
    _, _, build_id = requested_build(rt, world, jenkins)
    build = started(rt, jenkins, build_id)
    assert len(jenkins.calls("POST", r"/buildWithParameters$")) == 1
    assert build.state == BuildState.RUNNING and build.error is None


def test_a_build_tried_before_is_looked_for_on_the_ci_but_never_triggered_once_its_release_ended(rt, github, jenkins):
    world = world_on(rt, github.url)
    release_id, _, build_id = requested_build(rt, world, jenkins)
    with rt.unit_of_work() as s:  # a first attempt found the CI unreachable; the release was cancelled since
        s.execute(update(PipelineBuild).where(PipelineBuild.id == build_id).values(failures=1, claimedBy="w0"))
        s.execute(update(Release).where(Release.id == release_id).values(status=ReleaseStatus.CANCELLED))
    build = started(rt, jenkins, build_id)
    assert jenkins.calls("POST", r"/buildWithParameters$") == []
    assert jenkins.calls("GET")  # it may have reached the CI: looked for by its key first
    assert build.state == BuildState.CANCELLED and build.error.startswith("release v1.5.0 is cancelled: no new builds")


def test_a_build_a_crashed_runner_had_started_on_the_ci_is_stopped_there_once_its_release_ended(rt, github, jenkins):
    world = world_on(rt, github.url)
    release_id, _, build_id = requested_build(rt, world, jenkins)
    assert started(rt, jenkins, build_id).state == BuildState.RUNNING  # Jenkins has it (in its queue)
    with rt.unit_of_work() as s:  # as if the runner had died before recording it; the release ended since (by a path
        # that asked no abort)
        s.execute(update(PipelineBuild).where(PipelineBuild.id == build_id).values(
            state=BuildState.REQUESTED, claimedBy="w0", claimedUntil=None, nextCheckAt=utcnow()))
        s.execute(update(Release).where(Release.id == release_id).values(status=ReleaseStatus.CANCELLED))
    build = started(rt, jenkins, build_id)
    assert len(jenkins.calls("POST", r"/buildWithParameters$")) == 1  # found by its key, not triggered again
    assert build.state == BuildState.RUNNING and build.abortRequestedAt is not None and build.nextCheckAt <= utcnow()
    follow = runner(rt).work(FollowBuilds)
    follow.run(build_id)
    assert jenkins.calls("POST", r"/queue/cancelItem")  # taken off Jenkins' queue
