"""A running build someone asked the runner to look at again (a CI webhook, an abort click) while the runner was
polling it stays due at once: the poll's outcome, written after, does not push the look back by its backoff. And an
abort click that comes as the runner records the build's end does not mark the ended build aborted. An abort
wakes its build as a webhook does: the runner stops it before polling the builds merely due a poll."""
from __future__ import annotations

from datetime import timedelta

import pytest

from core.clock import utcnow
from core.enums import BuildState, IntegrationKind
from core.models import PipelineBuild, ReleasePipeline
from core.runner.follow_builds import FollowBuilds
from core.runner.start_builds import StartBuilds
from core.services import builds, integration_writes, verification, wakes, webhooks
from core.services.builds import BuildRefusedError
from tests.core.runner_world import committed_meanwhile, events, held_while_asked, new_release, runner, runtime_on, world_on
from tests.fakes.jenkins import RELEASE_JOB

HOOK_SECRET = "jenkins-hook-secret"


def running_build(rt, world, jenkins) -> tuple[str, str]:
    """A build started on the fake Jenkins (still in its queue), requested 20 minutes ago: its next poll is a
    minute away. Returns the build's id and its release pipeline's id."""
    return running_builds(rt, world, jenkins, 1)[0]


def running_builds(rt, world, jenkins, count: int) -> list[tuple[str, str]]:
    """`count` builds of one release, one on each of its Jenkins pipelines, as running_build leaves one: each build's
    id and its release pipeline's id."""
    with rt.unit_of_work() as s:
        pipeline_ids = tuple(_jenkins(s, rt, world, jenkins, "Jenkins" + (f" {n + 1}" if n else "")) for n in range(count))
    release = new_release(rt, world, target_ids=(world.ios.id,), pipeline_ids=pipeline_ids)
    with rt.unit_of_work() as s:
        started = [(builds.request_build(s, tenant_id=world.tenant.id, account_id=world.admin.id,
                                         release_pipeline_id=rp.id).build_id, rp.id) for rp in release.pipelines]
    follower = runner(rt, interval=30)
    for build_id, _ in started:
        follower.work(StartBuilds).run(build_id)
    with rt.unit_of_work() as s:
        for build_id, _ in started:
            build = s.get(PipelineBuild, build_id)
            assert build.state == BuildState.RUNNING
            build.requestedAt, build.nextCheckAt = utcnow() - timedelta(minutes=20), utcnow() - timedelta(minutes=1)
    return started


def _jenkins(s, rt, world, jenkins, name: str) -> str:
    """A verified Jenkins pipeline (with a webhook secret) on the fake; returns its id."""
    pipeline = integration_writes.add_integration(
        s, tenant_id=world.tenant.id, kind=IntegrationKind.PIPELINE, provider="jenkins", display_name=name,
        cipher=rt.cipher, base_url=jenkins.url,
        fields={"scmIntegrationId": world.scm.id, "targetIntegrationId": world.ios.id, "jobPath": RELEASE_JOB},
        secrets={"username": "releasebot", "apiToken": "jenkins-api-token", "webhookSecret": HOOK_SECRET})
    verification.record_verification(s, tenant_id=world.tenant.id, integration_id=pipeline.id, error=None)
    return pipeline.id


def next_check(rt, build_id: str):
    with rt.reading() as s:
        return s.get(PipelineBuild, build_id).nextCheckAt


@pytest.mark.parametrize("woken_before", [False, True], ids=["due-a-poll", "woken-before"])
def test_a_webhook_that_arrives_while_the_runner_polls_the_build_leaves_it_due(rt, github, jenkins, woken_before):
    """`woken-before`: the runner is polling the build because of an earlier wake-up (a GitHub run's `in_progress`
    delivery, say), and the next one comes while it asks: it must not look like the one already read."""
    world = world_on(rt, github.url)
    build_id, _ = running_build(rt, world, jenkins)
    if woken_before:
        with rt.unit_of_work() as s:
            s.get(PipelineBuild, build_id).nextCheckAt = wakes.AT_ONCE
    with rt.reading() as s:
        key = s.get(PipelineBuild, build_id).idempotencyKey
    follow = runner(rt, interval=30).work(FollowBuilds)
    gate = jenkins.hold(r"/queue/item/\d+/api/json")
    with held_while_asked(gate, lambda: jenkins.calls("GET", r"/queue/item/"), follow.run, build_id, who="Jenkins"):
        # Jenkins answers "still queued"; before the answer is back, the build ends and its webhook comes in.
        with rt.unit_of_work() as s:
            assert webhooks.jenkins_notification(s, cipher=rt.cipher, pipeline_id=_pipeline_of(s, build_id), token=HOOK_SECRET,
                                                 payload={"build": {"phase": "FINALIZED",
                                                                    "parameters": {"RELEASEBOT_KEY": key}}}) == build_id
    assert next_check(rt, build_id) <= utcnow()  # the webhook's "look now" holds
    assert follow.due() == [build_id]


def test_an_abort_is_the_runners_next_look_ahead_of_the_builds_merely_due_a_poll(rt, github, jenkins):
    world = world_on(rt, github.url)
    (first, _), (second, _), (aborted, release_pipeline_id) = running_builds(rt, world, jenkins, 3)
    with rt.unit_of_work() as s:  # all three overdue a poll, the one to abort last in line
        for minutes, build_id in ((3, first), (2, second), (1, aborted)):
            s.get(PipelineBuild, build_id).nextCheckAt = utcnow() - timedelta(minutes=minutes)
    with rt.unit_of_work() as s:
        builds.request_abort(s, tenant_id=world.tenant.id, release_pipeline_id=release_pipeline_id,
                             actor_account_id=world.admin.id)
    polls = {build_id: next_check(rt, build_id) for build_id in (first, second)}
    follower = runner(rt, interval=30)
    follower.tick(batch=1)  # one build followed this round: the aborted one
    assert follower.more
    assert {build_id: next_check(rt, build_id) for build_id in polls} == polls  # the others not polled yet
    assert len(jenkins.calls("POST", r"/queue/cancelItem$")) == 1  # taken off Jenkins' queue
    with rt.reading() as s:
        assert s.get(PipelineBuild, aborted).state == BuildState.CANCELLED


@pytest.mark.mysql_only
def test_an_abort_committed_while_the_runner_records_a_poll_leaves_the_build_due(mysql_engine, tmp_path, github, jenkins):
    with runtime_on(mysql_engine, tmp_path) as rt:
        world = world_on(rt, github.url)
        build_id, release_pipeline_id = running_build(rt, world, jenkins)
        follow = runner(rt, interval=30).work(FollowBuilds)

        def abort(other):
            builds.request_abort(other, tenant_id=world.tenant.id, release_pipeline_id=release_pipeline_id,
                                 actor_account_id=world.admin.id)

        # The poll's outcome ("still queued, look in a minute") is being written as someone clicks Abort.
        with committed_meanwhile(rt, "nextCheckAt", abort):
            follow.run(build_id)
        with rt.reading() as s:
            assert s.get(PipelineBuild, build_id).abortRequestedAt is not None
        assert next_check(rt, build_id) <= utcnow()  # the abort's "stop it now" holds
        assert follow.due() == [build_id]


@pytest.mark.mysql_only
def test_an_abort_clicked_as_the_runner_records_the_builds_end_is_refused(mysql_engine, tmp_path, github, jenkins):
    with runtime_on(mysql_engine, tmp_path) as rt:
        world = world_on(rt, github.url)
        build_id, release_pipeline_id = running_build(rt, world, jenkins)

        def ended(other):  # what the runner records when the CI says the build passed
            builds.record_progress(other, other.get(PipelineBuild, build_id), state=BuildState.SUCCESS, build_number="7")

        # The click read the build running; the runner's record of its end commits before the click writes.
        with committed_meanwhile(rt, "abortRequestedAt", ended), pytest.raises(BuildRefusedError):
            with rt.unit_of_work() as s:
                builds.request_abort(s, tenant_id=world.tenant.id, release_pipeline_id=release_pipeline_id,
                                     actor_account_id=world.admin.id)
        with rt.reading() as s:
            build = s.get(PipelineBuild, build_id)
            assert (build.state, build.abortRequestedAt, build.nextCheckAt) == (BuildState.SUCCESS, None, None)
        assert events(rt, _release_of(rt, build_id), "build-aborted") == []


def _release_of(rt, build_id: str) -> str:
    with rt.reading() as s:
        return s.get(ReleasePipeline, s.get(PipelineBuild, build_id).releasePipelineId).releaseId


def _pipeline_of(s, build_id: str) -> str:
    return s.get(ReleasePipeline, s.get(PipelineBuild, build_id).releasePipelineId).pipelineIntegrationId
