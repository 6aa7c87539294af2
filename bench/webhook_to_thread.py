"""From the CI's webhook to the thread: how long after Jenkins notifies a build's end does its
announcement reach the release's thread (the fake Slack's chat.postMessage with thread_ts)? Run by hand:

    python bench/webhook_to_thread.py [--builds 200] [--poll-seconds 5]

`releasebot serve` runs in its own process with its follower, as in production; the fake Jenkins, the
fake Slack and the clock are in this one. Every build is started and left running (the fake Jenkins never
ends one on a poll), then, one at a time: the build ends on the fake Jenkins, its Notification plugin
message is posted to /webhooks/jenkins/<pipeline>, and the time until the thread reply is taken. Other
release tools poll their CI every 1–2 minutes: that is the delay a webhook removes."""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402

from bench.slash_latency import free_port, spawn  # noqa: E402
from core.config import Settings  # noqa: E402
from core.crypto import generate_key  # noqa: E402
from core.enums import BuildState, IntegrationKind  # noqa: E402
from core.models import PipelineBuild, ReleaseCard, ReleasePipeline  # noqa: E402
from core.runtime import Runtime  # noqa: E402
from core.services import integration_writes  # noqa: E402
from core.services.builds import request_build  # noqa: E402
from core.services.cards import owe_card  # noqa: E402
from core.services.release_creation import create_release  # noqa: E402
from core.services.tenants import add_tenant  # noqa: E402
from core.services.verification import verify_integration  # noqa: E402
from tests.conftest import _fresh  # noqa: E402
from tests.factories import World, github_for  # noqa: E402
from tests.fakes.jenkins import FakeJenkins  # noqa: E402
from tests.fakes.slack import FakeSlack  # noqa: E402
from tests.slack_requests import SIGNING_SECRET  # noqa: E402

JOB = "mobile/ios-release"
HOOK_SECRET = "bench-hook-secret"


def prepare(runtime: Runtime, slack: FakeSlack, github, jenkins: FakeJenkins, n: int) -> tuple[str, str]:
    """A workspace with one Jenkins pipeline (webhook secret set) and `n` releases, each with a build requested."""
    with runtime.unit_of_work() as s:
        world = World(s, runtime.cipher, existing_tenant=add_tenant(s, name="Bench", slack_team_id=slack.team_id),
                      scm_base_url=github.url)
    channel = world.channel.details["channelId"]
    slack.add_channel(channel, "releases")
    with runtime.unit_of_work() as s:
        pipeline = integration_writes.add_integration(
            s, tenant_id=world.tenant.id, kind=IntegrationKind.PIPELINE, provider="jenkins", display_name="Jenkins iOS",
            cipher=runtime.cipher, base_url=jenkins.url,
            secrets={"username": "releasebot", "apiToken": "jenkins-api-token", "webhookSecret": HOOK_SECRET},
            fields={"scmIntegrationId": world.scm.id, "targetIntegrationId": world.ios.id, "jobPath": JOB})
    with runtime.unit_of_work() as s:
        verify_integration(s, tenant_id=world.tenant.id, integration_id=pipeline.id, cipher=runtime.cipher,
                           ctx=runtime.provider_context)
    with runtime.unit_of_work() as s:
        for i in range(n):
            release = create_release(s, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                                     draft=world.draft(version=f"{i // 1000 + 1}.{i % 1000}.0",
                                                       target_ids=(world.ios.id,), pipeline_ids=(pipeline.id,)))
            owe_card(s, tenant_id=world.tenant.id, release_id=release.id, channel_id=channel)  # as /release create does
            request_build(s, tenant_id=world.tenant.id, account_id=world.member.id,
                          release_pipeline_id=release.pipelines[0].id)
    return pipeline.id, channel


def running_builds(runtime: Runtime) -> list[tuple[str, str | None]]:
    """(idempotency key, the release card's ts) of every running build that has a build number."""
    with runtime.reading() as s:
        return s.execute(select(PipelineBuild.idempotencyKey, ReleaseCard.messageTs)
                         .join(ReleasePipeline, ReleasePipeline.id == PipelineBuild.releasePipelineId)
                         .outerjoin(ReleaseCard, ReleaseCard.releaseId == ReleasePipeline.releaseId)
                         .where(PipelineBuild.state == BuildState.RUNNING, PipelineBuild.buildNumber.is_not(None))).all()


def notification(key: str, number: int) -> dict:
    """What Jenkins' Notification plugin posts when a build is FINALIZED."""
    return {"name": "ios-release", "url": f"job/{JOB}/", "build": {
        "full_url": f"http://jenkins/job/{JOB}/{number}/", "number": number, "phase": "FINALIZED", "status": "SUCCESS",
        "url": f"job/{JOB}/{number}/", "parameters": {"RELEASE_VERSION": "1.0.0", "RELEASEBOT_KEY": key}}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builds", type=int, default=200)
    parser.add_argument("--poll-seconds", type=float, default=5.0, help="the follower's interval (its fallback polling)")
    args = parser.parse_args()
    slack, github, jenkins = FakeSlack().start(), github_for(), FakeJenkins().start()
    jenkins.add_job(JOB)
    jenkins.start_after_polls = 1  # queued, then on an executor at the next look; never ended by a poll
    with tempfile.TemporaryDirectory() as tmp:
        url, key = os.environ.get("TEST_MYSQL_URL") or f"sqlite:///{tmp}/bench.db", generate_key()
        runtime = Runtime(Settings(database_url=url, secret_keys=(key,), slack_bot_token=slack.bot_token,
                                   slack_signing_secret=SIGNING_SECRET, slack_api_url=slack.url + "/api/",
                                   allow_private_networks=True))
        if not url.startswith("sqlite"):
            _fresh(runtime.engine)
        runtime.migrate()
        print(f"preparing {args.builds} builds on {runtime.engine.dialect.name} …")
        pipeline_id, channel = prepare(runtime, slack, github, jenkins, args.builds)
        env = {**os.environ, "DATABASE_URL": url, "RELEASEBOT_SECRET_KEYS": key, "SLACK_BOT_TOKEN": slack.bot_token,
               "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.url + "/api/",
               "RELEASEBOT_ALLOW_PRIVATE_NETWORKS": "true", "RELEASEBOT_POLL_SECONDS": str(args.poll_seconds)}
        env.pop("SLACK_APP_TOKEN", None)
        port = free_port()
        log = open(Path(tmp) / "serve.log", "w")  # noqa: SIM115 (closed with the directory)
        server = spawn([sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1", "--port", str(port),
                        "--no-migrate"], port, env, log)
        try:
            deadline = time.monotonic() + args.builds * 2 + 60
            while time.monotonic() < deadline:  # every build on an executor, every card posted
                builds = running_builds(runtime)
                if len(builds) == args.builds and all(ts for _, ts in builds):
                    break
                time.sleep(0.5)
            else:
                print((Path(tmp) / "serve.log").read_text()[-3000:])
                raise SystemExit(f"only {len(builds)} of {args.builds} builds started")
            time.sleep(2 * args.poll_seconds)  # the start announcements are out; what follows is the ends'
            hook = f"http://127.0.0.1:{port}/webhooks/jenkins/{pipeline_id}"
            latencies = []
            for idem, card_ts in builds:
                before = len(slack.replies(channel, card_ts))
                build = jenkins.builds_with(idem)[0]
                jenkins.finish_build(JOB, build.number, "SUCCESS")
                start = time.perf_counter()
                answer = requests.post(hook, params={"token": HOOK_SECRET}, json=notification(idem, build.number), timeout=30)
                assert answer.status_code == 202, answer.text
                while len(slack.replies(channel, card_ts)) == before:
                    if time.perf_counter() - start > 120:
                        raise SystemExit(f"no thread reply 120 s after the webhook of {idem}")
                    time.sleep(0.002)
                latencies.append(time.perf_counter() - start)
            ordered = sorted(latencies)
            p50, p99 = statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
            print(f"webhook → thread reply, {len(latencies)} builds one after another, follower interval "
                  f"{args.poll_seconds} s (its fallback polling):")
            print(f"  p50 {p50 * 1000:7.1f} ms   p99 {p99 * 1000:7.1f} ms   max {ordered[-1] * 1000:7.1f} ms")
            print("  polling every 1–2 minutes instead (other release tools): 30–60 s on average, up to 1–2 min")
        finally:
            server.kill()
            slack.stop()
            github.stop()
            jenkins.stop()
            runtime.engine.dispose()


if __name__ == "__main__":
    main()
