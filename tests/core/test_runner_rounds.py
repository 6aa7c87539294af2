"""The runner's rounds when it runs on its own: a batch of each kind per round (the earliest due first), the
next round at once while work is left, and a build a webhook ended due before those merely due a poll."""
from __future__ import annotations

from datetime import timedelta

from core.clock import utcnow
from core.models import PipelineBuild
from core.services import webhooks
from core.services.cards import owe_card
from core.services.wakes import AT_ONCE
from tests.core.runner_world import new_release, runner, world_on
from tests.core.test_webhooks import running_actions_build, signed


def test_a_round_runs_a_batch_of_each_kind_and_says_when_work_is_left(rt):
    world = world_on(rt, "https://github.example.com")
    for i in range(5):
        release = new_release(rt, world, version=f"1.{i}.0")
        with rt.unit_of_work() as s:
            owe_card(s, tenant_id=world.tenant.id, release_id=release.id, channel_id="C0RELEASES")
    follower = runner(rt)
    published = lambda: sum(1 for what, _ in follower.ctx.announcer.calls if what == "publish")  # noqa: E731
    assert follower.tick(batch=2) == 2 and published() == 2 and follower.more
    assert follower.tick(batch=2) == 2 and published() == 4 and follower.more
    assert follower.tick(batch=2) == 1 and published() == 5 and not follower.more
    assert follower.tick() == 0  # without a batch (as tests and `tick` callers use it): everything due


def test_a_build_a_webhook_ended_is_due_before_those_due_a_poll(session, cipher):
    polled = running_actions_build(session, cipher, "Acme", "acme-secret", "4242")
    hooked = running_actions_build(session, cipher, "Globex", "globex-secret", "4343")
    session.get(PipelineBuild, polled).nextCheckAt = utcnow() - timedelta(hours=1)  # long overdue a poll
    body = b'{"action": "completed", "workflow_run": {"id": 4343}}'
    assert webhooks.github_workflow_run(session, cipher=cipher, run_id="4343", delivery_id="d1", body=body,
                                        signature=signed(body, "globex-secret")) == hooked
    session.flush()
    assert session.get(PipelineBuild, hooked).nextCheckAt < AT_ONCE  # before any real time
    assert session.get(PipelineBuild, hooked).nextCheckAt < session.get(PipelineBuild, polled).nextCheckAt
