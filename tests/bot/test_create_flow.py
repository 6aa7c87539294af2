"""`/release create` from the slash command to the release card, through the real HTTP server."""
from __future__ import annotations

import json
import threading
import time

import pytest
import requests
from sqlalchemy import event, select

from bot.ids import ActionId, BlockId, CallbackId
from core.models import Release, Tenant
from core.services.releases import find_release
from tests.bot.helpers import wait_for
from tests.factories import World
from tests.slack_requests import date_value, multi_value, select_value, sign, text_value


def modal_of(slack) -> dict:
    """The modal the bot opened (after its ack: the listener goes on once Slack has its answer)."""
    return wait_for(lambda: slack.calls_to("views.open"))[-1].params["view"]


def values(world, **overrides) -> dict:
    fields = {
        BlockId.VERSION: {ActionId.VERSION: text_value("1.5.0")},
        BlockId.RELEASE_TYPE: {ActionId.RELEASE_TYPE: {"type": "static_select", "selected_option": {"value": "PLANNED"}}},
        BlockId.SCM: {ActionId.SCM: select_value(world.scm.id)},
        BlockId.BASE_BRANCH: {ActionId.BASE_BRANCH: text_value("main")},
        BlockId.TARGETS: {ActionId.TARGETS: multi_value([world.ios.id, world.android.id])},
        BlockId.PIPELINES: {ActionId.PIPELINES: multi_value([world.ios_pipeline.id])},
        BlockId.COMMUNICATION: {ActionId.COMMUNICATION: select_value(world.channel.id)},
        BlockId.TICKET: {ActionId.TICKET: select_value(world.jira.id)},
        BlockId.PLANNED_DATE: {ActionId.PLANNED_DATE: date_value("2026-12-01")},
        BlockId.TARGET_DATE: {ActionId.TARGET_DATE: date_value("2026-12-10")},
        BlockId.PILOT: {ActionId.PILOT: {"type": "users_select", "selected_user": "U0GRACE"}},
        BlockId.DESCRIPTION: {ActionId.DESCRIPTION: text_value("Holiday release 🎄")},
    }
    for block, value in overrides.items():
        fields[BlockId(block)] = {next(iter(fields[BlockId(block)])): value}
    return fields


def releases_of(running_bot, world) -> list[Release]:
    with running_bot.runtime.unit_of_work() as s:
        return list(s.scalars(select(Release).where(Release.tenantId == world.tenant.id)))


def test_the_full_happy_path(running_bot, world):
    slack, user = running_bot.slack, running_bot.as_user()
    answer = user.command("create 1.5.0")
    assert answer.status_code == 200 and answer.text == ""
    modal = modal_of(slack)
    assert modal["callback_id"] == CallbackId.CREATE_RELEASE
    version = next(b for b in modal["blocks"] if b["block_id"] == BlockId.VERSION)
    assert version["element"]["initial_value"] == "1.5.0"
    scm = next(b for b in modal["blocks"] if b["block_id"] == BlockId.SCM)
    assert scm["element"]["initial_option"]["value"] == world.scm.id  # the only repository: preselected

    options = user.block_suggestion(modal, ActionId.SCM, BlockId.SCM, "ios").json()["options"]
    assert [o["value"] for o in options] == [world.scm.id]
    chosen = {BlockId.SCM: {ActionId.SCM: select_value(world.scm.id)},
              BlockId.TARGETS: {ActionId.TARGETS: multi_value([world.ios.id])}}
    pipelines = user.block_suggestion(modal, ActionId.PIPELINES, BlockId.PIPELINES, "", chosen).json()["options"]
    assert [o["value"] for o in pipelines] == [world.ios_pipeline.id]  # the list follows the choices

    submitted = user.view_submission(modal, values(world))
    assert submitted.status_code == 200 and submitted.text == ""  # the modal closes

    # The pilot's name is asked of Slack after the ack: the card may be drawn first, then redrawn with it.
    card = wait_for(lambda: (m := slack.last_message(world.channel.details["channelId"])) and "Grace Hopper" in json.dumps(m["blocks"]) and m)
    buttons = [b["accessory"] for b in card["blocks"] if b.get("block_id", "").startswith(BlockId.PIPELINE_PREFIX)]
    assert [b["action_id"] for b in buttons] == [ActionId.TRIGGER_BUILD]
    assert "Grace Hopper" in json.dumps(card["blocks"]) and "`release/1.5.0` from `main`" in json.dumps(card["blocks"])
    told = wait_for(lambda: slack.ephemerals)
    assert told[-1]["user"] == "U0ADA" and "Release *v1.5.0* created" in told[-1]["text"]
    with running_bot.runtime.unit_of_work() as s:
        release = find_release(s, tenant_id=world.tenant.id, ref="v1.5.0")
    assert release.description == "Holiday release 🎄" and release.pilot.name == "Grace Hopper"
    assert [t.status.value for t in release.targets] == ["PENDING", "PENDING"]


def test_every_problem_shows_inline_under_its_field(running_bot, world):
    user = running_bot.as_user()
    user.command("create")
    bad = values(world, version=text_value("1.5"), baseBranch=text_value("bad branch"),
                 targets=multi_value([]), plannedDate=date_value("2026-12-10"), targetReleaseDate=date_value("2026-12-01"),
                 pipelines=multi_value([world.android_pipeline.id]))
    bad[BlockId.VERSION][ActionId.VERSION] = text_value("one")
    answer = user.view_submission(modal_of(running_bot.slack), bad).json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"version", "baseBranch", "targets", "targetReleaseDate", "pipelines"}
    assert "1.5.0" in answer["errors"]["version"] and "“one”" in answer["errors"]["version"]
    assert releases_of(running_bot, world) == []


def test_another_workspaces_integrations_smuggled_into_a_submission_are_refused(running_bot, world):
    with running_bot.runtime.unit_of_work() as s:
        other = World(s, running_bot.runtime.cipher, name="Globex")
    user = running_bot.as_user()
    user.command("create")
    smuggled = values(world, scmIntegrationId=select_value(other.scm.id), targets=multi_value([other.ios.id]),
                      pipelines=multi_value([other.ios_pipeline.id]),
                      communicationIntegrationId=select_value(other.channel.id),
                      ticketIntegrationId=select_value(other.jira.id))
    answer = user.view_submission(modal_of(running_bot.slack), smuggled).json()
    assert set(answer["errors"]) == {"scmIntegrationId", "targets", "pipelines", "communicationIntegrationId",
                                     "ticketIntegrationId"}
    assert "Globex" not in json.dumps(answer)
    assert releases_of(running_bot, world) == []


def test_a_retried_submission_creates_one_release_and_one_card(running_bot, world):
    user = running_bot.as_user()
    user.command("create")
    modal = modal_of(running_bot.slack)
    assert user.view_submission(modal, values(world)).status_code == 200
    assert user.view_submission(modal, values(world)).status_code == 200
    channel = world.channel.details["channelId"]
    # The runner posts the card, then tells its creator: wait for both, not for a fixed time (CI is slow at times).
    wait_for(lambda: running_bot.slack.messages_in(channel) and running_bot.slack.ephemerals)
    time.sleep(0.6)  # a few more runner rounds: nothing is posted twice
    assert len(releases_of(running_bot, world)) == 1
    assert len(running_bot.slack.messages_in(channel)) == 1
    assert len([e for e in running_bot.slack.ephemerals if "created" in e["text"]]) == 1


def test_forged_or_stale_signatures_get_401(running_bot, world):
    body = "team_id=T1&user_id=U1&command=%2Frelease&text=create&trigger_id=1"
    forged = sign(body, secret="not-the-secret")
    stale = sign(body, timestamp=int(time.time()) - 600)
    for headers in (forged, stale, {"Content-Type": "application/x-www-form-urlencoded"}):
        assert running_bot.as_user().post(body, headers).status_code == 401
    assert running_bot.slack.calls_to("views.open") == []


def test_help_empty_and_unknown_subcommands_answer_usage_ephemerally(running_bot):
    user = running_bot.as_user()
    for text, unknown in (("help", False), ("", False), ("deploy now", True)):
        answer = user.command(text).json()
        assert answer["response_type"] == "ephemeral" and "/release create [version]" in answer["text"]
        assert ("I don't know `/release deploy`" in answer["text"]) == unknown


def test_a_workspace_without_verified_integrations_is_told_what_to_add(running_bot):
    running_bot.as_user().command("create")
    modal = modal_of(running_bot.slack)
    assert modal["callback_id"] == CallbackId.SETUP_NEEDED
    text = json.dumps(modal["blocks"])
    assert "source control integration" in text and "store target" in text and "/release integrations" in text
    with running_bot.runtime.unit_of_work() as s:  # the workspace became a tenant on its first request
        assert s.scalar(select(Tenant.name).where(Tenant.slackTeamId == running_bot.team_id)) == "acme"


def test_ten_slow_requests_do_not_starve_the_eleventh(running_bot, world):
    gate = running_bot.slack.hold(r"/api/views\.open")
    answers = []

    def open_modal(i):
        answers.append(running_bot.as_user().command("create", trigger_id=f"trigger-{i}").status_code)

    threads = [threading.Thread(target=open_modal, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    try:
        assert answers == [200] * 10  # acknowledged while their views.open calls are stuck
        assert running_bot.as_user().command("create", trigger_id="trigger-11").status_code == 200
        wait_for(lambda: len(running_bot.slack.calls("POST", r"/api/views\.open")) == 11)
    finally:
        gate.set()
    wait_for(lambda: len(running_bot.slack.views) == 11)


def test_the_health_check_answers_while_the_database_does(running_bot):
    assert requests.get(running_bot.url + "/healthz", timeout=5).text == "ok"
    assert requests.get(running_bot.url + "/nowhere", timeout=5).status_code == 404



@pytest.mark.parametrize("start_follower", [False])  # only the command's own statements are counted
def test_create_runs_one_statement_before_its_ack_and_one_after(running_bot, world):
    slack, user = running_bot.slack, running_bot.as_user()
    user.command("create")  # this person's first request: their account is created
    wait_for(lambda: len(slack.calls_to("views.open")) == 1)
    seen: list[tuple[str, str]] = []

    def note(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(("BEGIN", "ROLLBACK", "SAVEPOINT", "RELEASE", "COMMIT")):
            seen.append((threading.current_thread().name, statement))

    event.listen(running_bot.runtime.engine, "before_cursor_execute", note)
    try:
        assert user.command("create 1.6.0").status_code == 200
        wait_for(lambda: len(slack.calls_to("views.open")) == 2)
    finally:
        event.remove(running_bot.runtime.engine, "before_cursor_execute", note)
    # Bolt runs the listener (which acks, then builds and opens the modal) in its listener threads;
    # what runs before, in the request's thread, delays the ack.
    before = [s for thread, s in seen if not thread.startswith("listener")]
    after = [s for thread, s in seen if thread.startswith("listener")]
    assert len(before) == 1 and "accounts" in before[0]  # the workspace and the person, in one query
    assert len(after) == 1 and "tenant_scm_integrations" in after[0]  # what the form opens with
    assert slack.calls_to("views.open")[-1].params["view"]["callback_id"] == CallbackId.CREATE_RELEASE
