"""Builds that nothing can leave stuck or run twice: a CI that hangs, a queue item Jenkins purged, an
abort while the start is being retried, a pipeline whose stored settings give no usable client."""
from __future__ import annotations

import logging
import threading

import pytest
from sqlalchemy import select, update

from bot.ids import ActionId
from core.enums import BuildState, BuildStatus
from core.models import PipelineBuild, PipelineIntegration
from tests.bot.helpers import release_with_pipeline, wait_for
from tests.bot.test_builds_flow import click, state_of, thread_texts
from tests.fakes.jenkins import RELEASE_JOB as JOB


@pytest.fixture
def release(running_bot, world, jenkins):
    return release_with_pipeline(running_bot, world, provider="jenkins", base_url=jenkins.url, job=JOB,
                                 secrets={"username": "releasebot", "apiToken": "jenkins-api-token"})


def build_row(running_bot) -> PipelineBuild | None:
    """The build, or None before the click's listener has recorded it (the ack may come first)."""
    with running_bot.runtime.reading() as s:
        build = s.scalar(select(PipelineBuild))
        if build is not None:
            s.expunge(build)
        return build


def test_a_hung_ci_holds_up_neither_the_click_nor_anyone_else(running_bot, release, jenkins):
    gate = jenkins.hold("buildWithParameters")  # the CI accepts the connection and never answers (30 s)
    try:
        # If a listener called the CI, these would wait for it; the runner does, so they are answered.
        assert click(running_bot, release).status_code == 200
        wait_for(lambda: jenkins.calls("POST", "buildWithParameters"))
        help_answer = running_bot.as_user("U0ADA", "ada").command("help")
        assert help_answer.status_code == 200 and "create" in help_answer.json()["text"]
        assert build_row(running_bot).state == BuildState.REQUESTED  # still waiting for the CI, in the runner
    finally:
        gate.set()
    wait_for(lambda: (b := build_row(running_bot)) and b.state == BuildState.RUNNING)


def test_a_build_whose_queue_item_jenkins_purged_is_found_by_its_key_not_lost(running_bot, release, jenkins):
    click(running_bot, release)
    wait_for(lambda: (b := build_row(running_bot)) and b.state == BuildState.RUNNING)
    gate = jenkins.hold(r"/queue/item/")  # the follower's next look waits (the bot was redeployed, or backed off)...
    wait_for(lambda: any(r.path.startswith("/queue/item/") for r in jenkins.calls("GET")[-1:]))
    number = jenkins.start_build(max(jenkins.queue)).number
    jenkins.finish_build(JOB, number, "SUCCESS")
    jenkins.purge_left_items()  # ...while the build ran and Jenkins forgot its queue item
    gate.set()
    ended = wait_for(lambda: (r := state_of(running_bot, release)).pipelines[0].buildStatus != BuildStatus.RUNNING and r)
    assert ended.pipelines[0].buildStatus == BuildStatus.SUCCESS and ended.pipelines[0].buildNumber == str(number)
    assert not [t for t in thread_texts(running_bot, release) if "could not be followed" in t]
    assert len(jenkins.calls("POST", "buildWithParameters")) == 1


def test_abort_while_the_start_is_being_retried_cancels_it_and_jenkins_never_builds_it(running_bot, release, jenkins):
    jenkins.fail(503, "<html>Service Unavailable</html>", times=3)  # Jenkins is down for the next three requests
    click(running_bot, release)
    wait_for(lambda: (b := build_row(running_bot)) and b.failures >= 1)
    answer = click(running_bot, release, action=ActionId.ABORT_BUILD)
    assert answer.status_code == 200 and answer.text == ""  # acknowledged: no 404, no incident
    ended = wait_for(lambda: (b := build_row(running_bot)).state in (BuildState.CANCELLED, BuildState.FAILED) and b, timeout=30)
    assert ended.state == BuildState.CANCELLED
    assert jenkins.all_builds() == [] and not [i for i in jenkins.queue.values() if not i.cancelled]
    assert not [e for e in running_bot.slack.ephemerals if "incident" in e["text"]]
    notice = wait_for(lambda: [t for t in thread_texts(running_bot, release) if "was cancelled" in t])
    assert "grace" in notice[0].lower()  # who aborted it


def test_abort_of_a_queued_build_takes_it_off_the_queue(running_bot, release, jenkins):
    click(running_bot, release)
    wait_for(lambda: (b := build_row(running_bot)) and b.state == BuildState.RUNNING)
    click(running_bot, release, action=ActionId.ABORT_BUILD)
    wait_for(lambda: state_of(running_bot, release).pipelines[0].buildStatus == BuildStatus.CANCELLED)
    assert [i.cancelled for i in jenkins.queue.values()] == [True] and jenkins.all_builds() == []


@pytest.mark.parametrize("base_url,detail", [
    ("http://127.0.0.1:99999", "port"),                        # a port out of range
    ("ftp://jenkins.acme.test", "ftp"),                        # not an http(s) URL
])
def test_a_pipeline_whose_settings_give_no_client_fails_after_the_usual_tries(running_bot, release, jenkins, caplog,
                                                                             base_url, detail):
    with running_bot.runtime.unit_of_work() as s:  # stored before the rules were strict, or edited in the database
        s.execute(update(PipelineIntegration).values(baseUrl=base_url))
    caplog.set_level(logging.INFO)
    click(running_bot, release)
    ended = wait_for(lambda: (b := build_row(running_bot)).state == BuildState.FAILED and b, timeout=40)
    assert ended.failures == running_bot.bot.follower.max_failures
    shown = state_of(running_bot, release).pipelines[0].problem
    assert shown == "Jenkins iOS CI cannot be reached with its current settings: ask an admin to re-verify Jenkins iOS CI"
    assert detail not in shown and detail in ended.errorDetail  # members see what to do, admins the detail
    card = str(running_bot.slack.calls_to("chat.update")[-1].params["blocks"])
    assert "ask an admin to re-verify" in card and detail not in card
    assert not [r for r in caplog.records if r.exc_info]  # a warning per try, never a traceback


def test_twenty_clicks_while_the_ci_hangs_are_all_answered(running_bot, release, jenkins):
    gate = jenkins.hold("buildWithParameters")
    answers: list[int] = []
    try:
        threads = [threading.Thread(target=lambda i=i: answers.append(
            click(running_bot, release, action_ts=f"1700000100.{i}").status_code)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        assert answers == [200] * 20
    finally:
        gate.set()
    wait_for(lambda: (b := build_row(running_bot)) and b.state == BuildState.RUNNING)
    assert len(jenkins.calls("POST", "buildWithParameters")) == 1
