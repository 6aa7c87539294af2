"""One release from `/release create` to ARCHIVED by clicks alone — two targets, a build on Jenkins and
one on GitHub Actions — and another to CANCELLED from `/release cancel`, through the real server, the
fake Slack, the fake Jenkins and the fake GitHub."""
from __future__ import annotations

import json

from bot.ids import ActionId, BlockId, CallbackId
from core.enums import BuildStatus, IntegrationKind, ReleaseStatus
from core.services import integration_writes
from core.services.cards import get_card
from core.services.history import list_events
from core.services.releases import find_release
from core.services.verification import verify_integration
from tests.bot.helpers import wait_for
from tests.bot.test_create_flow import modal_of, values
from tests.fakes.jenkins import RELEASE_JOB
from tests.slack_requests import multi_value, select_value, text_value

ACTIONS_TOKEN = "ghp_actionsTokenValue"


def add_pipeline(rt, world, **kwargs):
    with rt.unit_of_work() as s:
        view = integration_writes.add_integration(s, tenant_id=world.tenant.id, kind=IntegrationKind.PIPELINE, cipher=rt.cipher,
                                            **kwargs)
    with rt.unit_of_work() as s:
        assert verify_integration(s, tenant_id=world.tenant.id, integration_id=view.id, cipher=rt.cipher,
                                  ctx=rt.provider_context).usable
    return view


class Team:
    """The people of the World as Slack knows them, pressing the card's buttons."""

    def __init__(self, running_bot, world):
        self.bot, self.world, self.slack = running_bot, world, running_bot.slack
        for account in (world.admin, world.member):
            self.slack.add_user(account.slackUserId, name=account.displayName.lower(), real_name=account.displayName)

    def release(self, version: str):
        with self.bot.runtime.reading() as s:
            return find_release(s, tenant_id=self.world.tenant.id, ref=version)

    def card(self, release) -> tuple[str, str]:
        with self.bot.runtime.reading() as s:
            card = get_card(s, tenant_id=release.tenantId, release_id=release.id)
            return card.channelId, card.messageTs

    def press(self, release, action_id: str, value: str | None, *, as_=None, **extra):
        channel, ts = self.card(release)
        person = as_ or self.world.admin
        answer = self.bot.as_user(person.slackUserId, person.displayName.lower()).block_action(
            action_id=action_id, value=value, block_id=BlockId.STAGE_ACTIONS, channel_id=channel, message_ts=ts, **extra)
        assert answer.status_code == 200
        return answer

    def stage(self, release, action: str):
        self.press(release, f"{ActionId.STAGE_PREFIX}{action}", release.id)

    def built(self, version: str):
        release = self.release(version)
        return release if all(p.buildStatus == BuildStatus.SUCCESS for p in release.pipelines) else None

    def until(self, version: str, status: ReleaseStatus):
        return wait_for(lambda: (r := self.release(version)).status == status and r, timeout=30)

    def drawn(self, release) -> str:
        """The card as Slack shows it now (its latest redraw)."""
        channel, ts = self.card(release)
        return json.dumps(next(m for m in self.slack.messages if m["channel"] == channel and m["ts"] == ts)["blocks"], ensure_ascii=False)


def test_a_release_goes_from_create_to_archived_by_clicks_alone(running_bot, world, jenkins, github):
    rt, slack = running_bot.runtime, running_bot.slack
    github.add_token(ACTIONS_TOKEN)
    github.add_workflow("acme/app", "release.yml")
    jenkins.start_after_polls, jenkins.finish_after_polls = 1, 1
    github.start_after_polls, github.finish_after_polls = 1, 1
    ios_ci = add_pipeline(rt, world, provider="jenkins", display_name="Jenkins iOS", base_url=jenkins.url,
                          secrets={"username": "releasebot", "apiToken": "jenkins-api-token"},
                          fields={"scmIntegrationId": world.scm.id, "targetIntegrationId": world.ios.id, "jobPath": RELEASE_JOB})
    android_ci = add_pipeline(rt, world, provider="github_actions", display_name="Actions Android", base_url=github.url,
                              secrets={"token": ACTIONS_TOKEN},
                              fields={"scmIntegrationId": world.scm.id, "targetIntegrationId": world.android.id,
                                      "jobPath": "release.yml"})
    team = Team(running_bot, world)
    creator = running_bot.as_user(world.admin.slackUserId, "ada")
    creator.command("create 2.0.0")
    assert creator.view_submission(modal_of(slack), values(  # no tracker: its epics are tests/bot/test_epics_kickoff.py's
        world, version=text_value("2.0.0"), pipelines=multi_value([ios_ci.id, android_ci.id]),
        ticketIntegrationId=select_value(None))).text == ""
    release = wait_for(lambda: team.release("2.0.0"))
    wait_for(lambda: get_card_or_none(rt, release))
    assert "*▶ Kickoff*" in team.drawn(release)

    team.stage(release, "kickoff")  # the runner cuts release/2.0.0, then the release is STARTED
    release = team.until("2.0.0", ReleaseStatus.STARTED)
    assert "release/2.0.0" in github.repo("acme/app").branches
    for pipeline in release.pipelines:  # any member may build
        team.press(release, ActionId.TRIGGER_BUILD, pipeline.id, as_=world.member)
    release = wait_for(lambda: team.built("2.0.0"), timeout=30)
    assert all(t.buildNumber for t in release.targets)

    team.stage(release, "start-regression")
    release = team.until("2.0.0", ReleaseStatus.REGRESSION_IN_PROGRESS)
    team.stage(release, "regression-passed")
    wait_for(lambda: "regression cycle 1 passed" in team.drawn(release))
    for mark in ("SUBMITTED", "APPROVED", "RELEASED"):
        for target in release.targets:
            team.press(release, ActionId.MARK_TARGET, f"{mark}:{release.id}:{target.id}")
        if mark == "SUBMITTED":
            release = team.until("2.0.0", ReleaseStatus.BUILD_SUBMITTED)
    release = team.until("2.0.0", ReleaseStatus.RELEASED)
    team.stage(release, "archive")
    release = team.until("2.0.0", ReleaseStatus.ARCHIVED)
    wait_for(lambda: "Archived" in team.drawn(release))
    with rt.reading() as s:
        actions = [e.action for e in list_events(s, world.tenant.id, release.id)]
    assert actions[0] == "kickoff" and actions[-1] == "archive"
    assert {"start-regression", "regression-passed", "target-submitted", "all-submitted", "all-released"} <= set(actions)


def test_a_release_is_cancelled_from_the_slash_command_with_a_reason(running_bot, world):
    team = Team(running_bot, world)
    creator = running_bot.as_user(world.admin.slackUserId, "ada")
    creator.command("create 3.0.0")
    creator.view_submission(modal_of(running_bot.slack), values(world, version=text_value("3.0.0")))
    release = wait_for(lambda: team.release("3.0.0"))
    wait_for(lambda: get_card_or_none(running_bot.runtime, release))
    creator.command("cancel 3.0.0", trigger_id="trigger-cancel-3")
    form = wait_for(lambda: [c for c in running_bot.slack.calls_to("views.open")
                             if c.params["view"]["callback_id"] == CallbackId.CANCEL_RELEASE])[-1].params["view"]
    creator.view_submission(form, {BlockId.REASON: {ActionId.REASON: text_value("the payment SDK is not ready")}},
                            view_id="V0CANCEL3")
    assert team.until("3.0.0", ReleaseStatus.CANCELLED).status == ReleaseStatus.CANCELLED
    assert wait_for(lambda: "Cancelled" in team.drawn(release))
    with running_bot.runtime.reading() as s:
        cancel = [e for e in list_events(s, world.tenant.id, release.id) if e.action == "cancel"]
    assert len(cancel) == 1 and cancel[0].detail == "the payment SDK is not ready"


def get_card_or_none(rt, release):
    with rt.reading() as s:
        return get_card(s, tenant_id=release.tenantId, release_id=release.id) is not None
