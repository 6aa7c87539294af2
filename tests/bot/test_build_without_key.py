"""A runner whose RELEASEBOT_SECRET_KEYS lost the key that encrypted a pipeline's credentials: the
build fails after the usual tries with a reason members can act on, instead of staying REQUESTED."""
from __future__ import annotations

import pytest

from bot.announcer import SlackAnnouncer
from core.config import Settings
from core.crypto import generate_key
from core.enums import BuildState
from core.models import PipelineBuild
from core.runner import Runner
from core.runner.start_builds import StartBuilds
from core.runtime import Runtime
from tests.bot.helpers import release_with_pipeline
from tests.bot.test_builds_flow import click
from tests.fakes.jenkins import RELEASE_JOB as JOB


@pytest.fixture
def start_follower() -> bool:
    return False  # this test runs the runner's steps itself, in a process with the wrong key


def test_a_runner_without_the_key_fails_the_build_with_advice_and_keeps_the_detail_for_admins(running_bot, world, jenkins):
    release = release_with_pipeline(running_bot, world, provider="jenkins", base_url=jenkins.url, job=JOB,
                                    secrets={"username": "releasebot", "apiToken": "jenkins-api-token"})
    click(running_bot, release)
    rt = running_bot.runtime
    with rt.reading() as s:
        build_id = s.get(PipelineBuild, s.query(PipelineBuild.id).scalar()).id
    other = Runtime(Settings(database_url=rt.settings.database_url, secret_keys=(generate_key(),),
                             slack_bot_token=rt.settings.slack_bot_token, slack_api_url=rt.settings.slack_api_url,
                             allow_private_networks=True))
    runner = Runner(other, SlackAnnouncer(running_bot.bot.client, other), interval=0.01, max_failures=3)
    for _ in range(3):
        runner.work(StartBuilds).run(build_id)
    with rt.reading() as s:
        build = s.get(PipelineBuild, build_id)
        assert build.state == BuildState.FAILED and build.failures == 3
        assert "RELEASEBOT_SECRET_KEYS" in build.errorDetail and "RELEASEBOT_SECRET_KEYS" not in build.error
        assert build.error == "Jenkins iOS CI cannot be reached with its current settings: ask an admin to re-verify Jenkins iOS CI"
    assert jenkins.calls("POST", "buildWithParameters") == []
    other.engine.dispose()
