"""Signed payloads Slack's own widgets should never send (impossible dates, a garbage pilot, odd shapes):
each gets an inline error, an ephemeral answer or a 400, never a server error or a row it should not write."""
from __future__ import annotations

import logging

from slack_sdk import WebClient
from sqlalchemy import select

from bot.errors import handle_error
from bot.ids import ActionId, BlockId
from core.models import Account
from tests.bot.helpers import wait_for
from tests.bot.test_create_flow import modal_of, releases_of, values
from tests.slack_requests import date_value, sign


def pilot(user_id: str) -> dict:
    return {"type": "users_select", "selected_user": user_id}


def accounts_named(running_bot, world, slack_user_id: str) -> list[Account]:
    with running_bot.runtime.unit_of_work() as s:
        return list(s.scalars(select(Account).where(Account.tenantId == world.tenant.id, Account.slackUserId == slack_user_id)))


def test_an_impossible_date_is_an_inline_error_under_its_field(running_bot, world):
    user = running_bot.as_user()
    user.command("create")
    answer = user.view_submission(modal_of(running_bot.slack), values(world, plannedDate=date_value("2024-02-30"),
                                                                       targetReleaseDate=date_value("2026-１２-01")))
    assert answer.status_code == 200
    errors = answer.json()["errors"]
    assert set(errors) == {BlockId.PLANNED_DATE, BlockId.TARGET_DATE} and "real date" in errors[BlockId.PLANNED_DATE]
    assert releases_of(running_bot, world) == []


def test_a_garbage_pilot_id_is_an_inline_error_and_never_becomes_an_account(running_bot, world):
    user = running_bot.as_user()
    user.command("create")
    answer = user.view_submission(modal_of(running_bot.slack), values(world, releasePilotId=pilot("../../x")))
    assert answer.status_code == 200
    assert set(answer.json()["errors"]) == {BlockId.PILOT}
    assert accounts_named(running_bot, world, "../../x") == []
    assert releases_of(running_bot, world) == [] and running_bot.slack.calls_to("users.info") == []


def test_a_well_formed_pilot_unknown_to_slack_still_gets_the_release_created(running_bot, world, caplog):
    user = running_bot.as_user()
    user.command("create")
    with caplog.at_level(logging.WARNING):
        answer = user.view_submission(modal_of(running_bot.slack), values(world, releasePilotId=pilot("U0NOSUCH")))
        assert answer.status_code == 200 and answer.text == ""
        wait_for(lambda: running_bot.slack.calls_to("users.info"))
    assert len(releases_of(running_bot, world)) == 1
    wait_for(lambda: any("users.info failed" in r.getMessage() for r in caplog.records))
    [account] = accounts_named(running_bot, world, "U0NOSUCH")
    assert account.displayName == "U0NOSUCH"  # users.info said user_not_found: the id stays as the name


def test_users_info_is_asked_only_after_slack_has_its_answer(running_bot, world):
    user = running_bot.as_user()
    user.command("create")
    modal = modal_of(running_bot.slack)
    gate = running_bot.slack.hold(r"/api/users\.info")
    try:
        answer = user.view_submission(modal, values(world))  # users.info is stuck while the modal is answered
        assert answer.status_code == 200 and answer.text == ""
    finally:
        gate.set()
    wait_for(lambda: accounts_named(running_bot, world, "U0GRACE")[0].displayName == "Grace Hopper")


def test_a_button_without_its_value_is_refused_with_400(running_bot, world):
    user = running_bot.as_user()
    payload = {"type": "block_actions", "trigger_id": "1.2.3", "container": {"type": "message", "message_ts": "1.0",
               "channel_id": "CORIGIN"}, "channel": {"id": "CORIGIN"},
               "actions": [{"type": "button", "action_id": ActionId.TRIGGER_BUILD, "block_id": "pipeline:x", "action_ts": "1.1"}]}
    answer = user.interactive(payload)
    assert answer.status_code == 400 and "value" in answer.text


def test_a_slash_command_without_its_trigger_id_is_refused_with_400(running_bot):
    body = (f"team_id={running_bot.team_id}&user_id=U0ADA&command=%2Frelease&text=create&channel_id=CORIGIN")
    answer = running_bot.as_user().post(body, sign(body))
    assert answer.status_code == 400 and "trigger_id" in answer.text
    assert running_bot.slack.calls_to("views.open") == []


def test_the_error_handler_survives_a_payload_of_odd_shape(slack):
    client = WebClient(token=slack.bot_token, base_url=slack.url + "/api/")
    for body in ({"user": "U0ADA", "channel": 5}, {"user": {"id": ["U0ADA"]}}, {"container": []}, []):
        handle_error(ValueError("boom"), body, client)  # nobody to tell: only the log hears of it
    assert slack.ephemerals == []
