"""A Trigger build click and a cancel racing on MariaDB: whichever commits first, no build of the cancelled release is
left for the runner to start on the CI (the click reads the release's status locked; the cancel reads the live builds
locked, as committed, so a build requested before it took the release's lock is stopped)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.enums import TERMINAL_BUILD_STATES
from core.enums import ReleaseStatus as S
from core.models import PipelineBuild, ReleasePipeline
from core.services import builds, lifecycle
from core.services.releases import get_release
from tests.core.lifecycle_world import People, bring_to, new_release
from tests.core.runner_world import committed_meanwhile, release_row, runtime_on
from tests.factories import World


def started(rt):
    """v1.5.0, STARTED, its builds done; returns the world, the people, the release and a pipeline's id."""
    with rt.unit_of_work() as s:
        world = World(s, rt.cipher)
        people = People(s, world)
        release = new_release(s, world, people)
        bring_to(s, world, people, release, S.STARTED)
        pipeline_id = get_release(s, tenant_id=world.tenant.id, release_id=release.id).pipelines[0].id
    return world, people, release, pipeline_id


def trigger(session, world, pipeline_id):
    return builds.request_build(session, tenant_id=world.tenant.id, account_id=world.member.id,
                                release_pipeline_id=pipeline_id)


def cancel(session, world, people, release):
    lifecycle.cancel(session, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=people.admin.id,
                     reason="the feature was dropped")


def live_builds(rt, release) -> list[str]:
    with rt.reading() as s:
        return list(s.scalars(select(PipelineBuild.id).join(ReleasePipeline, ReleasePipeline.id == PipelineBuild.releasePipelineId)
                              .where(ReleasePipeline.releaseId == release.id,
                                     PipelineBuild.state.not_in(TERMINAL_BUILD_STATES))))


@pytest.mark.mysql_only
def test_a_cancel_committed_while_a_trigger_click_records_its_build_leaves_no_live_build(mysql_engine, tmp_path):
    with runtime_on(mysql_engine, tmp_path) as rt:
        world, people, release, pipeline_id = started(rt)
        # The click has read the release (STARTED) when the cancel comes, just before it claims the pipeline.
        with committed_meanwhile(rt, "release_pipelines", lambda other: cancel(other, world, people, release)):
            with rt.unit_of_work() as s:
                try:
                    trigger(s, world, pipeline_id)
                except builds.BuildRefusedError:
                    pass  # the cancel came first: refused, as a click on a cancelled release is
        assert release_row(rt, release.id).status == S.CANCELLED
        assert live_builds(rt, release) == []


@pytest.mark.mysql_only
def test_a_trigger_click_committed_while_a_cancel_moves_the_release_leaves_no_live_build(mysql_engine, tmp_path):
    with runtime_on(mysql_engine, tmp_path) as rt:
        world, people, release, pipeline_id = started(rt)
        # The cancel has read the release (its snapshot) when the click's build commits, just before the cancel's move.
        with committed_meanwhile(rt, "UPDATE releases SET", lambda other: trigger(other, world, pipeline_id)):
            with rt.unit_of_work() as s:
                cancel(s, world, people, release)
        assert release_row(rt, release.id).status == S.CANCELLED
        assert live_builds(rt, release) == []
