"""Trigger build → CI → followed to its end → announced once, through the real server, the fake
Slack and the fake Jenkins."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from bot.ids import ActionId, BlockId
from core.enums import BuildStatus, TargetStatus
from core.models import PipelineBuild
from core.services.releases import get_release
from tests.bot.helpers import release_with_pipeline, wait_for
from tests.fakes.jenkins import RELEASE_JOB as JOB


@pytest.fixture
def release(running_bot, world, jenkins):
    """A release with a verified Jenkins pipeline, its card posted in the channel."""
    return release_with_pipeline(running_bot, world, provider="jenkins", base_url=jenkins.url, job=JOB,
                                 secrets={"username": "releasebot", "apiToken": "jenkins-api-token"})


def click(running_bot, release, *, user="U0GRACE", action=ActionId.TRIGGER_BUILD, action_ts=None, team=None):
    created, channel, ts = release
    rp = created.pipelines[0]
    client = running_bot.as_user(user, "grace")
    if team:
        client.team_id = team
    return client.block_action(action_id=action, value=rp.id, block_id=f"{BlockId.PIPELINE_PREFIX}{rp.id}",
                               channel_id=channel, message_ts=ts, action_ts=action_ts)


def state_of(running_bot, release):
    with running_bot.runtime.reading() as s:
        return get_release(s, tenant_id=release[0].tenantId, release_id=release[0].id)


def thread_texts(running_bot, release) -> list[str]:
    _, channel, ts = release
    return [m["text"] for m in running_bot.slack.replies(channel, ts)]


def test_a_click_starts_one_jenkins_build_followed_to_its_end_and_announced_once(running_bot, release, jenkins, github):
    assert click(running_bot, release).status_code == 200
    posts = wait_for(lambda: jenkins.calls("POST", "buildWithParameters"))
    repo = github.repo("acme/app")
    assert repo.branches["release/1.5.0"] == repo.branches["main"]  # cut before Jenkins was asked to build it
    build = jenkins.queue[max(jenkins.queue)]
    assert build.parameters["RELEASE_VERSION"] == "1.5.0" and build.parameters["BRANCH"] == "release/1.5.0"
    assert len(posts) == 1
    running = state_of(running_bot, release)
    assert running.pipelines[0].buildStatus == BuildStatus.RUNNING and running.pipelines[0].triggered
    card = wait_for(lambda: running_bot.slack.calls_to("chat.update"))[-1].params
    assert ActionId.ABORT_BUILD in str(card["blocks"])  # the button gave way to the status
    assert "started by" in str(card["blocks"])
    wait_for(lambda: any("triggered *Jenkins iOS CI*" in t and "<@U0GRACE>" in t for t in thread_texts(running_bot, release)))

    number = jenkins.start_build(build.id).number
    jenkins.finish_build(JOB, number, "SUCCESS", duration_ms=125_000)
    ended = wait_for(lambda: (r := state_of(running_bot, release)).pipelines[0].buildStatus == BuildStatus.SUCCESS and r)
    assert ended.pipelines[0].buildNumber == str(number) and ended.pipelines[0].buildUrl.endswith(f"/{number}/")
    assert ended.targets[0].buildNumber == str(number) and ended.targets[0].status == TargetStatus.PENDING
    finished = wait_for(lambda: [t for t in thread_texts(running_bot, release) if "succeeded" in t])
    assert finished == [f"✅ *Jenkins iOS CI* #{number} succeeded in 2m 5s — <{ended.pipelines[0].buildUrl}|build> · "
                        f"<{ended.pipelines[0].buildUrl}console|log> · <{ended.pipelines[0].buildUrl}artifact/build/app.ipa|artifacts>"]
    time.sleep(0.6)  # a few more follower rounds: nothing is announced twice
    assert len([t for t in thread_texts(running_bot, release) if "succeeded" in t]) == 1
    assert ActionId.RETRY_BUILD in str(running_bot.slack.calls_to("chat.update")[-1].params["blocks"])


def test_twenty_concurrent_clicks_start_one_build(running_bot, release, jenkins):
    barrier = threading.Barrier(20)
    answers = []

    def one(i):
        barrier.wait()
        answers.append(click(running_bot, release, action_ts=f"1700000000.{i}").status_code)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert answers == [200] * 20
    wait_for(lambda: jenkins.calls("POST", "buildWithParameters"))
    time.sleep(0.5)
    assert len(jenkins.calls("POST", "buildWithParameters")) == 1


def test_a_slack_retry_of_the_click_starts_one_build(running_bot, release, jenkins):
    assert click(running_bot, release, action_ts="1700000001.1").status_code == 200
    wait_for(lambda: jenkins.calls("POST", "buildWithParameters"))
    number = jenkins.start_build(max(jenkins.queue)).number
    jenkins.finish_build(JOB, number, "SUCCESS")
    wait_for(lambda: state_of(running_bot, release).pipelines[0].buildStatus == BuildStatus.SUCCESS)
    assert click(running_bot, release, action_ts="1700000001.1").status_code == 200  # the same delivery again
    time.sleep(0.5)
    assert len(jenkins.calls("POST", "buildWithParameters")) == 1


def test_another_workspace_cannot_press_the_button(running_bot, release, jenkins):
    assert click(running_bot, release, team="T0INTRUDER").status_code == 200
    told = wait_for(lambda: running_bot.slack.ephemerals)
    assert "belongs to no release of this workspace" in told[-1]["text"]
    assert jenkins.calls("POST", "buildWithParameters") == []


@pytest.mark.parametrize("status,reason", [(401, "rejected the username or API token (401)"),
                                           (403, "lacks a permission"), (404, "deleted since it was verified"),
                                           (500, "failed")])
def test_jenkins_refusing_the_build_shows_why_and_offers_a_retry(running_bot, release, jenkins, status, reason):
    jenkins.fail(status, "<html>nope</html>", path="buildWithParameters", times=20)
    click(running_bot, release)
    ended = wait_for(lambda: (r := state_of(running_bot, release)).pipelines[0].buildStatus == BuildStatus.FAILED and r,
                     timeout=30)
    notice = wait_for(lambda: [t for t in thread_texts(running_bot, release) if "failed" in t or "could not" in t])
    assert reason in notice[0] and "<@U0GRACE>" in notice[0] and "jenkins-api-token" not in notice[0]
    card = str(wait_for(lambda: [c for c in running_bot.slack.calls_to("chat.update") if reason in str(c.params["blocks"])])[-1]
               .params["blocks"])
    assert ActionId.RETRY_BUILD in card and "⚠️ could not start the build" in card  # the card says why
    assert ended.pipelines[0].triggered


def test_a_job_deleted_while_building_ends_in_lost_track_not_running_forever(running_bot, release, jenkins):
    click(running_bot, release)
    wait_for(lambda: jenkins.calls("POST", "buildWithParameters"))
    jenkins.start_build(max(jenkins.queue))
    jenkins.remove_job(JOB)
    wait_for(lambda: state_of(running_bot, release).pipelines[0].buildStatus == BuildStatus.FAILED)
    notice = wait_for(lambda: [t for t in thread_texts(running_bot, release) if "could not be followed" in t])
    assert "lost track of the build" in notice[0]


def test_a_rate_limited_announcement_is_retried_and_posted_once(running_bot, release, jenkins):
    jenkins.start_after_polls, jenkins.finish_after_polls = 1, 1
    running_bot.slack.rate_limit("chat.postMessage", retry_after=1, times=4)
    click(running_bot, release)
    finished = wait_for(lambda: [t for t in thread_texts(running_bot, release) if "succeeded" in t], timeout=30)
    time.sleep(0.6)
    assert len([t for t in thread_texts(running_bot, release) if "succeeded" in t]) == 1 == len(finished)
    assert any(c.status == 429 for c in running_bot.slack.calls_to("chat.postMessage"))


def test_abort_stops_the_build_and_says_so(running_bot, release, jenkins):
    click(running_bot, release)
    wait_for(lambda: jenkins.calls("POST", "buildWithParameters"))
    number = jenkins.start_build(max(jenkins.queue)).number
    wait_for(lambda: state_of(running_bot, release).pipelines[0].buildNumber == str(number))
    click(running_bot, release, action=ActionId.ABORT_BUILD)
    wait_for(lambda: state_of(running_bot, release).pipelines[0].buildStatus == BuildStatus.CANCELLED)
    assert wait_for(lambda: [t for t in thread_texts(running_bot, release) if "was cancelled" in t])
    with running_bot.runtime.reading() as s:
        assert s.scalar(select(func.count()).select_from(PipelineBuild)) >= 1


def test_jenkins_briefly_unavailable_is_retried_and_the_card_says_why_meanwhile(running_bot, release, jenkins):
    jenkins.fail(503, "<html>Service Unavailable</html>", path="buildWithParameters", times=2)
    click(running_bot, release)
    wait_for(lambda: [c for c in running_bot.slack.calls_to("chat.update") if "failed (503)" in str(c.params["blocks"])])
    wait_for(lambda: jenkins.queue)
    assert len(jenkins.calls("POST", "buildWithParameters")) == 3 and len(jenkins.queue) == 1
    assert state_of(running_bot, release).pipelines[0].buildStatus == BuildStatus.RUNNING


def test_jenkins_gone_ends_in_a_clear_failure_not_running_forever(running_bot, release, jenkins):
    jenkins.stop()
    click(running_bot, release)
    ended = wait_for(lambda: (r := state_of(running_bot, release)).pipelines[0].buildStatus == BuildStatus.FAILED and r,
                     timeout=30)
    assert ended.pipelines[0].problem.startswith("could not start the build: cannot reach Jenkins at http://127.0.0.1:")
    with running_bot.runtime.reading() as s:  # a bounded number of attempts, then a clear end
        assert s.scalar(select(PipelineBuild.failures)) == running_bot.bot.follower.max_failures
    notice = wait_for(lambda: [t for t in thread_texts(running_bot, release) if "cannot reach Jenkins" in t])
    assert "<@U0GRACE>" in notice[0]
