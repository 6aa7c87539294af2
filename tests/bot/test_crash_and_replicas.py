"""Real bot processes (`releasebot serve`, `releasebot worker`) killed and run side by side: the
database, not memory, decides what has been started and announced.

Each test runs the CLI in subprocesses against the test database (a SQLite file, or MariaDB when
TEST_MYSQL_URL is set), the fake Slack and the fake Jenkins; SIGKILL leaves no chance to clean up."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest
import requests
from sqlalchemy import select

from bot.app import web_client
from core.config import Settings
from core.crypto import generate_key
from core.enums import BuildState, BuildStatus, IntegrationKind
from core.models import PipelineBuild
from core.runtime import Runtime
from core.services import integration_writes
from core.services.builds import request_build
from core.services.release_creation import create_release
from core.services.releases import get_release
from core.services.tenants import add_tenant
from core.services.verification import verify_integration
from tests.bot.helpers import post_card_now, wait_for
from tests.conftest import delete_tenant_rows, tenant_ids
from tests.factories import World, github_for
from tests.fakes.jenkins import FakeJenkins
from tests.fakes.slack import FakeSlack
from tests.slack_requests import SIGNING_SECRET, SlackClient

JOB = "mobile/ios-release"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Stage:
    runtime: Runtime
    env: dict[str, str]
    slack: FakeSlack
    jenkins: FakeJenkins
    world: World
    tmp_path: object
    processes: list

    def spawn(self, *args: str) -> subprocess.Popen:
        """`releasebot <args>` in its own process, logging to a file in tmp_path."""
        log = open(self.tmp_path / f"bot-{len(self.processes)}.log", "w")
        process = subprocess.Popen([sys.executable, "-m", "cli.main", *args, "--no-migrate"], env=self.env,
                                   cwd=self.tmp_path, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def serve(self) -> str:
        port = free_port()
        self.spawn("serve", "--host", "127.0.0.1", "--port", str(port))
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(url + "/healthz"))
        return url

    def release(self, version: str, pipeline_id: str):
        rt = self.runtime
        with rt.unit_of_work() as s:
            created = create_release(s, tenant_id=self.world.tenant.id, actor_account_id=self.world.admin.id,
                                     draft=self.world.draft(version=version, target_ids=(self.world.ios.id,),
                                                            pipeline_ids=(pipeline_id,)))
        channel = self.world.channel.details["channelId"]
        return created, channel, post_card_now(rt, web_client(rt), created, channel)

    def build_of(self, release) -> PipelineBuild | None:
        with self.runtime.reading() as s:
            build = s.scalar(select(PipelineBuild).where(PipelineBuild.releasePipelineId == release[0].pipelines[0].id))
            if build is not None:
                s.expunge(build)  # read once, used after the session is gone
            return build

    def status_of(self, release) -> BuildStatus | None:
        with self.runtime.reading() as s:
            return get_release(s, tenant_id=release[0].tenantId, release_id=release[0].id).pipelines[0].buildStatus

    def thread(self, release) -> list[str]:
        return [m["text"] for m in self.slack.replies(release[1], release[2])]


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


@pytest.fixture
def stage(engine, tmp_path):
    database_url = (f"sqlite:///{tmp_path / 'bot.db'}" if engine.dialect.name == "sqlite"
                    else engine.url.render_as_string(hide_password=False))
    slack = FakeSlack().start()
    github = github_for()
    jenkins = FakeJenkins().start()
    jenkins.add_job(JOB)
    settings = Settings(database_url=database_url, secret_keys=(generate_key(),), slack_bot_token=slack.bot_token,
                        slack_signing_secret=SIGNING_SECRET, slack_api_url=slack.url + "/api/",
                        allow_private_networks=True)
    env = {**os.environ, "DATABASE_URL": database_url, "RELEASEBOT_SECRET_KEYS": settings.secret_keys[0],
           "SLACK_BOT_TOKEN": slack.bot_token, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": slack.url + "/api/", "RELEASEBOT_ALLOW_PRIVATE_NETWORKS": "true",
           "RELEASEBOT_POLL_SECONDS": "0.2", "RELEASEBOT_CLAIM_SECONDS": "2"}
    env.pop("SLACK_APP_TOKEN", None)
    runtime = Runtime(settings)
    runtime.migrate()
    before = tenant_ids(runtime.engine)
    with runtime.unit_of_work() as s:
        world = World(s, runtime.cipher, existing_tenant=add_tenant(s, name="Acme", slack_team_id=slack.team_id),
                      scm_base_url=github.url)
    slack.add_channel(world.channel.details["channelId"], "releases")
    slack.add_user("U0GRACE", name="grace", real_name="Grace Hopper")
    processes: list[subprocess.Popen] = []
    yield Stage(runtime, env, slack, jenkins, world, tmp_path, processes)
    for process in processes:
        process.kill()
        process.wait(10)
    slack.stop()
    github.stop()
    jenkins.stop()
    if engine.dialect.name != "sqlite":
        delete_tenant_rows(runtime.engine, tenant_ids(runtime.engine) - before)
    runtime.engine.dispose()


@pytest.fixture
def pipeline_id(stage):
    rt, world = stage.runtime, stage.world
    with rt.unit_of_work() as s:
        view = integration_writes.add_integration(
            s, tenant_id=world.tenant.id, kind=IntegrationKind.PIPELINE, provider="jenkins", display_name="Jenkins iOS CI",
            cipher=rt.cipher, base_url=stage.jenkins.url,
            secrets={"username": "releasebot", "apiToken": "jenkins-api-token"},
            fields={"scmIntegrationId": world.scm.id, "targetIntegrationId": world.ios.id, "jobPath": JOB})
    with rt.unit_of_work() as s:
        assert verify_integration(s, tenant_id=world.tenant.id, integration_id=view.id, cipher=rt.cipher,
                                  ctx=rt.provider_context).usable
    return view.id


def click(stage: Stage, url: str, release) -> int:
    from bot.ids import ActionId, BlockId

    created, channel, ts = release
    rp = created.pipelines[0]
    client = SlackClient(url, team_id=stage.slack.team_id, user_id="U0GRACE", user_name="grace")
    return client.block_action(action_id=ActionId.TRIGGER_BUILD, value=rp.id, block_id=f"{BlockId.PIPELINE_PREFIX}{rp.id}",
                               channel_id=channel, message_ts=ts).status_code


@pytest.mark.parametrize("jenkins_got_it", [False, True], ids=["before-jenkins-queued-it", "after-jenkins-queued-it"])
def test_a_bot_killed_while_triggering_starts_one_build_after_restart_and_follows_it(stage, pipeline_id, jenkins_got_it):
    release = stage.release("2.0.0", pipeline_id)
    gate = stage.jenkins.hold("buildWithParameters")  # the trigger reaches Jenkins and waits there
    first = stage.serve()
    assert click(stage, first, release) == 200
    wait_for(lambda: stage.jenkins.calls("POST", "buildWithParameters"))
    stage.processes[0].send_signal(signal.SIGKILL)
    stage.processes[0].wait(10)
    if not jenkins_got_it:  # the request dies with the process: Jenkins never queues it
        stage.jenkins.fail(502, "<html>Bad Gateway</html>", path="buildWithParameters")
    stage.jenkins.holds.clear()
    gate.set()
    key = stage.build_of(release).idempotencyKey
    wait_for(lambda: len(stage.jenkins.queue) == (1 if jenkins_got_it else 0) and len(stage.jenkins.calls("POST")) >= 1)
    intent = stage.build_of(release)
    assert intent.state == BuildState.REQUESTED and intent.claimedBy is not None  # on record, not yet anywhere

    stage.jenkins.start_after_polls, stage.jenkins.finish_after_polls = 1, 1
    stage.serve()  # the restart
    wait_for(lambda: stage.status_of(release) == BuildStatus.SUCCESS)
    queued = [item for item in stage.jenkins.queue.values() if item.parameters.get("RELEASEBOT_KEY") == key]
    assert len(queued) == 1 and len(stage.jenkins.builds_with(key)) == 1
    expected_posts = 1 if jenkins_got_it else 2  # the lost request, then the one after the restart
    assert len(stage.jenkins.calls("POST", "buildWithParameters")) == expected_posts
    finished = wait_for(lambda: [t for t in stage.thread(release) if "succeeded" in t])
    time.sleep(1)
    assert len([t for t in stage.thread(release) if "succeeded" in t]) == len(finished) == 1


def test_two_workers_on_one_database_start_and_announce_each_build_once(stage, pipeline_id):
    releases = [stage.release(f"3.{n}.0", pipeline_id) for n in range(6)]
    with stage.runtime.unit_of_work() as s:  # six clicks, recorded as the bot records them
        for created, _, _ in releases:
            request_build(s, tenant_id=stage.world.tenant.id, account_id=stage.world.member.id,
                          release_pipeline_id=created.pipelines[0].id)
    stage.jenkins.start_after_polls, stage.jenkins.finish_after_polls = 1, 2
    stage.spawn("worker")
    stage.spawn("worker")
    wait_for(lambda: all(stage.status_of(r) == BuildStatus.SUCCESS for r in releases), timeout=60)
    time.sleep(1.5)  # more rounds of both workers: nothing is started or posted again
    assert len(stage.jenkins.calls("POST", "buildWithParameters")) == 6
    for release in releases:
        key = stage.build_of(release).idempotencyKey
        assert len(stage.jenkins.builds_with(key)) == 1
        texts = stage.thread(release)
        assert len([t for t in texts if "triggered" in t]) == 1, texts
        assert len([t for t in texts if "succeeded" in t]) == 1, texts
    with stage.runtime.reading() as s:
        workers = set(s.scalars(select(PipelineBuild.claimedBy).where(PipelineBuild.tenantId == stage.world.tenant.id)))
    assert all(w for w in workers)
