"""The release's life from its card, through the real server: stage buttons, a target's marks, the
menu's forms; refusals name who may; every change redraws the card."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from bot.ids import ActionId, BlockId, CallbackId
from core.enums import ReleaseStatus
from core.models import Release
from core.services.release_creation import create_release
from core.services.releases import get_release
from tests.bot.helpers import post_card_now, wait_for
from tests.slack_requests import text_value


def released_card(running_bot, world):
    rt = running_bot.runtime
    with rt.unit_of_work() as s:
        created = create_release(s, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                                 draft=world.draft(pipeline_ids=()))
    channel = world.channel.details["channelId"]
    for account in (world.admin, world.member):  # the people of the World, known to Slack too
        running_bot.slack.add_user(account.slackUserId, name=account.displayName.lower(), real_name=account.displayName)
    running_bot.slack.add_user("U0BYSTANDER", name="linus")
    return created, channel, post_card_now(rt, running_bot.bot.client, created, channel)


def status_of(running_bot, release) -> ReleaseStatus:
    with running_bot.runtime.reading() as s:
        return get_release(s, tenant_id=release.tenantId, release_id=release.id).status


def press(running_bot, user_id, card, action_id, value, **extra):
    created, channel, ts = card
    return running_bot.as_user(user_id, "someone").block_action(action_id=action_id, value=value, block_id=BlockId.STAGE_ACTIONS,
                                                               channel_id=channel, message_ts=ts, **extra)


def test_a_member_who_may_not_kick_off_is_told_who_may_and_nothing_moves(running_bot, world):
    card = released_card(running_bot, world)
    answer = press(running_bot, "U0BYSTANDER", card, f"{ActionId.STAGE_PREFIX}kickoff", card[0].id)
    assert answer.status_code == 200
    told = wait_for(lambda: [e for e in running_bot.slack.ephemerals if e["user"] == "U0BYSTANDER"])
    assert "only" in told[0]["text"] and "Ada" in told[0]["text"]  # the creator (and who else) may
    assert status_of(running_bot, card[0]) == ReleaseStatus.KICKOFF_PENDING


def test_the_creator_kicks_off_from_the_card_and_the_card_is_redrawn(running_bot, world):
    card = released_card(running_bot, world)
    first = running_bot.slack.calls_to("chat.postMessage")[-1].params["blocks"]
    assert f"{ActionId.STAGE_PREFIX}kickoff" in json.dumps(first)
    assert press(running_bot, world.admin.slackUserId, card, f"{ActionId.STAGE_PREFIX}kickoff", card[0].id).status_code == 200
    wait_for(lambda: status_of(running_bot, card[0]) != ReleaseStatus.KICKOFF_PENDING)
    redrawn = wait_for(lambda: running_bot.slack.calls_to("chat.update"))[-1].params
    assert redrawn["ts"] == card[2] and f"{ActionId.STAGE_PREFIX}kickoff" not in json.dumps(redrawn["blocks"])


def test_cancel_from_the_menu_asks_why_then_cancels_and_frees_the_version(running_bot, world):
    card = released_card(running_bot, world)
    slack = running_bot.slack
    answer = press(running_bot, world.admin.slackUserId, card, ActionId.RELEASE_MENU, None,
                   selected_option={"value": f"cancel:{card[0].id}"})
    assert answer.status_code == 200
    form = wait_for(lambda: slack.calls_to("views.open"))[-1].params["view"]
    assert form["callback_id"] == CallbackId.CANCEL_RELEASE and form["private_metadata"] == card[0].id
    admin = running_bot.as_user(world.admin.slackUserId, "ada")
    empty = admin.view_submission(form, {BlockId.REASON: {ActionId.REASON: text_value("  ")}}, view_id="V0CANCEL1").json()
    assert empty["response_action"] == "errors" and BlockId.REASON in empty["errors"]
    done = admin.view_submission(form, {BlockId.REASON: {ActionId.REASON: text_value("superseded by 1.5.1 🙈")}},
                                 view_id="V0CANCEL2")
    assert done.status_code == 200 and done.text == ""
    assert status_of(running_bot, card[0]) == ReleaseStatus.CANCELLED
    redrawn = wait_for(lambda: [c for c in slack.calls_to("chat.update") if "Cancelled" in json.dumps(c.params["blocks"])])
    assert BlockId.STAGE_ACTIONS not in json.dumps(redrawn[-1].params["blocks"])  # nothing left to do


def test_another_workspace_cannot_move_a_release_by_naming_its_id(running_bot, world):
    card = released_card(running_bot, world)
    running_bot.slack.add_user("U0INTRUDER", name="mallory")
    intruder = running_bot.as_user("U0INTRUDER", "mallory")
    intruder.team_id = "T0INTRUDER"
    created, channel, ts = card
    intruder.block_action(action_id=f"{ActionId.STAGE_PREFIX}kickoff", value=created.id, block_id=BlockId.STAGE_ACTIONS,
                          channel_id=channel, message_ts=ts)
    wait_for(lambda: [e for e in running_bot.slack.ephemerals if e["user"] == "U0INTRUDER"])
    assert status_of(running_bot, created) == ReleaseStatus.KICKOFF_PENDING


def test_release_list_shows_the_live_releases_with_their_stage_and_card(running_bot, world):
    card = released_card(running_bot, world)
    listed = running_bot.as_user().command("list").json()
    assert listed["response_type"] == "ephemeral"
    assert "*v1.5.0* (Planned) — kickoff pending · App Store pending, Play Store pending" in listed["text"]
    assert f"card in <#{card[1]}>" in listed["text"] and "delayed" not in listed["text"]
    with running_bot.runtime.unit_of_work() as s:
        from core.services import lifecycle

        lifecycle.mark_delayed(s, tenant_id=world.tenant.id, release_id=card[0].id, actor_account_id=world.admin.id,
                               reason="legal review")
    assert "⏰ delayed" in running_bot.as_user().command("list").json()["text"]
    with running_bot.runtime.unit_of_work() as s:
        from core.services import lifecycle

        lifecycle.cancel(s, tenant_id=world.tenant.id, release_id=card[0].id, actor_account_id=world.admin.id, reason="no")
    assert "No live releases" in running_bot.as_user().command("list").json()["text"]


@pytest.mark.parametrize("status", [ReleaseStatus.RELEASED, ReleaseStatus.CANCELLED])
def test_release_cancel_on_a_release_that_cannot_be_cancelled_says_why_instead_of_opening_a_form(running_bot, world, status):
    created, _, _ = released_card(running_bot, world)
    with running_bot.runtime.unit_of_work() as s:  # its status as the stores (or a cancel) left it
        s.execute(update(Release).where(Release.id == created.id).values(status=status))
    admin = running_bot.as_user(world.admin.slackUserId, "ada")
    assert admin.command("cancel 1.5.0", trigger_id="trigger-cancel-released").status_code == 200
    told = wait_for(lambda: [e for e in running_bot.slack.ephemerals if e["user"] == world.admin.slackUserId])
    hint = "it is live in the stores already: archive it instead" if status == ReleaseStatus.RELEASED else "it is over"
    assert told[-1]["text"].startswith(f"⚠️ cannot cancel it: v1.5.0 is {status.value.lower()}") and hint in told[-1]["text"]
    assert not [c for c in running_bot.slack.calls_to("views.open") if c.params["trigger_id"] == "trigger-cancel-released"]
    assert status_of(running_bot, created) == status


def test_the_menu_of_a_stale_card_does_not_open_a_cancel_form_for_a_released_release(running_bot, world):
    card = released_card(running_bot, world)
    with running_bot.runtime.unit_of_work() as s:  # released since the card was drawn (its redraw is not in yet)
        s.execute(update(Release).where(Release.id == card[0].id).values(status=ReleaseStatus.RELEASED))
    press(running_bot, world.admin.slackUserId, card, ActionId.RELEASE_MENU, None,
          selected_option={"value": f"cancel:{card[0].id}"}, trigger_id="trigger-menu-released")
    told = wait_for(lambda: [e for e in running_bot.slack.ephemerals if e["user"] == world.admin.slackUserId])
    assert "archive it instead" in told[-1]["text"]
    assert not [c for c in running_bot.slack.calls_to("views.open") if c.params["trigger_id"] == "trigger-menu-released"]
