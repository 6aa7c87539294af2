"""GitHub Actions builds end to end, and the CI webhooks that make the follower look at once —
through the real server, the fake Slack, the fake GitHub and the fake Jenkins."""
from __future__ import annotations

import hashlib
import hmac
import json
import uuid

import pytest
import requests
from sqlalchemy import func, select

from bot.ids import ActionId, BlockId
from core.enums import BuildStatus
from core.models import PipelineBuild, RequestKey
from core.services.releases import get_release
from tests.bot.helpers import release_with_pipeline, wait_for
from tests.fakes.jenkins import RELEASE_JOB as JOB

TOKEN = "ghp_actionsTokenValue"
HOOK_SECRET = "gh-hook-secret"


@pytest.fixture
def actions(github):
    """The conftest's fake GitHub (acme/app, main) with a release workflow and the pipeline's own token."""
    github.add_token(TOKEN)
    github.add_workflow("acme/app", "release.yml")
    return github


@pytest.fixture
def gha_release(running_bot, world, actions):
    return release_with_pipeline(running_bot, world, name="Release CI", provider="github_actions", base_url=actions.url, job="release.yml",
                         secrets={"token": TOKEN, "webhookSecret": HOOK_SECRET})


@pytest.fixture
def jenkins_release(running_bot, world, jenkins):
    return release_with_pipeline(running_bot, world, name="Release CI", provider="jenkins", base_url=jenkins.url, job=JOB,
                         secrets={"username": "releasebot", "apiToken": "jenkins-api-token", "webhookSecret": "jk-secret"})


def click(running_bot, release):
    created, channel, ts = release
    rp = created.pipelines[0]
    return running_bot.as_user("U0GRACE", "grace").block_action(
        action_id=ActionId.TRIGGER_BUILD, value=rp.id, block_id=f"{BlockId.PIPELINE_PREFIX}{rp.id}",
        channel_id=channel, message_ts=ts)


def pipeline_of(running_bot, release):
    with running_bot.runtime.reading() as s:
        return get_release(s, tenant_id=release[0].tenantId, release_id=release[0].id).pipelines[0]


def thread_texts(running_bot, release) -> list[str]:
    return [m["text"] for m in running_bot.slack.replies(release[1], release[2])]


def test_a_click_runs_the_workflow_on_the_release_branch_followed_to_its_end(running_bot, gha_release, github):
    github.start_after_polls, github.finish_after_polls = 1, 1
    assert click(running_bot, gha_release).status_code == 200
    ended = wait_for(lambda: (p := pipeline_of(running_bot, gha_release)).buildStatus == BuildStatus.SUCCESS and p)
    [run] = github.all_runs()
    assert run.branch == "release/1.5.0"
    assert run.inputs["RELEASE_VERSION"] == "1.5.0" and run.inputs["BRANCH"] == "release/1.5.0"
    assert run.inputs["RELEASEBOT_KEY"].startswith("rb-")
    assert ended.buildNumber == str(run.run_number) and ended.buildUrl.endswith(f"/actions/runs/{run.id}")
    finished = wait_for(lambda: [t for t in thread_texts(running_bot, gha_release) if "succeeded" in t])
    assert len(finished) == 1 and f"#{run.run_number} succeeded" in finished[0]
    assert len(github.calls("POST", r"/dispatches$")) == 1


def test_a_workflow_run_that_fails_mentions_who_triggered_it(running_bot, gha_release, github):
    github.start_after_polls, github.finish_after_polls, github.auto_conclusion = 1, 1, "failure"
    click(running_bot, gha_release)
    wait_for(lambda: pipeline_of(running_bot, gha_release).buildStatus == BuildStatus.FAILED)
    notice = wait_for(lambda: [t for t in thread_texts(running_bot, gha_release) if "failed" in t])
    assert "<@U0GRACE>" in notice[0]


def test_the_first_build_cuts_the_release_branch_from_the_base_branch(running_bot, gha_release, github):
    github.start_after_polls, github.finish_after_polls = 1, 1
    main = github.repo("acme/app").branches["main"]
    click(running_bot, gha_release)
    wait_for(lambda: pipeline_of(running_bot, gha_release).buildStatus == BuildStatus.SUCCESS)
    assert github.repo("acme/app").branches["release/1.5.0"] == main
    fixed = github.add_branch("acme/app", "release/1.5.0", "f" * 40)  # a fix pushed to the release branch
    running_bot.as_user("U0GRACE", "grace").block_action(
        action_id=ActionId.RETRY_BUILD, value=gha_release[0].pipelines[0].id,
        block_id=f"{BlockId.PIPELINE_PREFIX}{gha_release[0].pipelines[0].id}", channel_id=gha_release[1],
        message_ts=gha_release[2], action_ts="1700000002.2")
    wait_for(lambda: len(github.all_runs()) == 2 and pipeline_of(running_bot, gha_release).buildStatus == BuildStatus.SUCCESS)
    assert github.repo("acme/app").branches["release/1.5.0"] == fixed  # used as it is, not cut again
    assert len(github.calls("POST", r"/git/refs$")) == 1


def test_a_repository_the_bot_cannot_push_to_is_shown_not_retried_forever(running_bot, gha_release, github):
    github.grant("acme/app", "releasebot", "pull")
    click(running_bot, gha_release)
    wait_for(lambda: pipeline_of(running_bot, gha_release).buildStatus == BuildStatus.FAILED)
    notice = wait_for(lambda: [t for t in thread_texts(running_bot, gha_release) if "could not" in t])
    assert "could not start the build" in notice[0] and TOKEN not in notice[0] and "ghp_secret" not in notice[0]
    assert github.calls("POST", r"/dispatches$") == [] and len(github.calls("POST", r"/git/refs$")) == 1


def _signed(body: bytes, secret: str = HOOK_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _workflow_run_hook(running_bot, run_id: int, *, delivery: str, signature: str | None = None):
    body = json.dumps({"action": "completed", "workflow_run": {"id": run_id, "status": "completed",
                                                                "conclusion": "success"}}).encode()
    headers = {"X-GitHub-Event": "workflow_run", "X-GitHub-Delivery": delivery, "Content-Type": "application/json",
               "X-Hub-Signature-256": signature or _signed(body)}
    return requests.post(f"{running_bot.url}/webhooks/github", data=body, headers=headers, timeout=10)


@pytest.mark.parametrize("poll_seconds", [60.0])  # polling alone would not look again within the test
def test_a_signed_github_webhook_ends_the_build_at_once_and_a_redelivery_is_ignored(running_bot, gha_release, github):
    click(running_bot, gha_release)
    wait_for(lambda: pipeline_of(running_bot, gha_release).buildStatus == BuildStatus.RUNNING and github.all_runs())
    run = github.all_runs()[0]
    wait_for(lambda: _build(running_bot).queueId == str(run.id))
    github.finish_run(run.id, "success")
    delivery = str(uuid.uuid4())
    assert _workflow_run_hook(running_bot, run.id, delivery=delivery).status_code == 202
    wait_for(lambda: pipeline_of(running_bot, gha_release).buildStatus == BuildStatus.SUCCESS, timeout=10)
    assert _workflow_run_hook(running_bot, run.id, delivery=delivery).status_code == 202
    with running_bot.runtime.reading() as s:
        assert s.scalar(select(func.count()).select_from(RequestKey).where(
            RequestKey.scope == "github.delivery", RequestKey.requestKey == delivery)) == 1


@pytest.mark.parametrize("poll_seconds", [60.0])
def test_a_forged_github_webhook_is_refused_and_changes_nothing(running_bot, gha_release, github):
    click(running_bot, gha_release)
    wait_for(lambda: github.all_runs() and _build(running_bot).queueId)
    run = github.all_runs()[0]
    github.finish_run(run.id, "success")
    runs_read = len(github.calls("GET", rf"/actions/runs/{run.id}$"))
    answer = _workflow_run_hook(running_bot, run.id, delivery=str(uuid.uuid4()), signature="sha256=" + "0" * 64)
    assert answer.status_code == 401
    unsigned = _workflow_run_hook(running_bot, run.id, delivery=str(uuid.uuid4()), signature=_signed(b"other body"))
    assert unsigned.status_code == 401
    assert pipeline_of(running_bot, gha_release).buildStatus == BuildStatus.RUNNING
    assert len(github.calls("GET", rf"/actions/runs/{run.id}$")) == runs_read


def _build(running_bot) -> PipelineBuild:
    with running_bot.runtime.reading() as s:
        build = s.scalar(select(PipelineBuild).order_by(PipelineBuild.requestedAt.desc()).limit(1))
        s.expunge(build)
        return build


def _jenkins_hook(running_bot, pipeline_id: str, token: str, key: str, phase: str = "FINALIZED"):
    payload = {"name": "ios-release", "url": f"job/{JOB}/", "build": {
        "full_url": "http://jenkins/job/x/1/", "number": 1, "phase": phase, "status": "SUCCESS",
        "url": f"job/{JOB}/1/", "parameters": {"RELEASE_VERSION": "1.5.0", "RELEASEBOT_KEY": key}}}
    return requests.post(f"{running_bot.url}/webhooks/jenkins/{pipeline_id}", params={"token": token},
                         json=payload, timeout=10)


@pytest.mark.parametrize("poll_seconds", [60.0])
def test_a_jenkins_notification_ends_the_build_at_once_and_a_wrong_token_is_refused(running_bot, jenkins_release,
                                                                                   jenkins):
    click(running_bot, jenkins_release)
    wait_for(lambda: jenkins.calls("POST", "buildWithParameters") and _build(running_bot).queueId)
    number = jenkins.start_build(max(jenkins.queue)).number
    jenkins.finish_build(JOB, number, "SUCCESS")
    build = _build(running_bot)
    pipeline_id = jenkins_release[0].pipelines[0].integration.id
    assert _jenkins_hook(running_bot, pipeline_id, "wrong", build.idempotencyKey).status_code == 401
    assert _jenkins_hook(running_bot, pipeline_id, "jk-secret", build.idempotencyKey, phase="COMPLETED").status_code == 202
    assert pipeline_of(running_bot, jenkins_release).buildStatus == BuildStatus.RUNNING  # only FINALIZED counts
    assert _jenkins_hook(running_bot, pipeline_id, "jk-secret", build.idempotencyKey).status_code == 202
    ended = wait_for(lambda: (p := pipeline_of(running_bot, jenkins_release)).buildStatus == BuildStatus.SUCCESS and p,
                     timeout=10)
    assert ended.buildNumber == str(number)


def test_an_exhausted_rate_limit_waits_for_its_reset_and_says_so_on_the_card(running_bot, gha_release, github):
    github.exhaust_rate_limit(reset_in=600)
    click(running_bot, gha_release)
    wait_for(lambda: [c for c in running_bot.slack.calls_to("chat.update") if "rate-limiting" in str(c.params["blocks"])])
    build = _build(running_bot)
    assert build.state.value == "REQUESTED" and build.failures == 1
    assert (build.nextCheckAt - build.requestedAt).total_seconds() > 500  # not every poll interval until the reset
    assert github.calls("POST", r"/dispatches$") == [] and github.all_runs() == []
