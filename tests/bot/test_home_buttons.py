"""The Home tab's buttons, through the real server: everyone gets *New release* (the create form, as
`/release create` opens it; the release's confirmation then goes to the person directly, there being no
channel), admins get *Integrations* and *Admins*; a member who forges an admin's button gets the read-only
list, as from `/release integrations`. One's own next steps that are stage steps (kick off, start
regression, …) are buttons too, the card's own, checked by core the same way."""
from __future__ import annotations

import json
import uuid

import pytest

from bot.ids import ActionId, BlockId, CallbackId
from core.enums import ReleaseStatus
from core.services.release_creation import create_release
from core.services.releases import find_release
from tests.bot.helpers import wait_for
from tests.bot.test_create_flow import values


def home(slack, user_id: str) -> dict:
    return wait_for(lambda: slack.home_of(user_id))


def buttons(view: dict) -> list[str]:
    return [e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]


def press(user, view: dict, action_id: str, *, trigger: bool = True):
    """A button pressed in the person's Home tab, as Slack sends it (the view, its container)."""
    payload = {"type": "block_actions", "actions": [{"type": "button", "action_id": action_id, "block_id": "b",
                                                     "action_ts": "1700000000.000001"}],
               "container": {"type": "view", "view_id": view.get("id", "VHOME")}, "view": view}
    if trigger:
        payload["trigger_id"] = f"{uuid.uuid4().int % 10**11}.{uuid.uuid4().int % 10**9}.{uuid.uuid4().hex[:16]}"
    return user.interactive(payload)


def opened(slack, callback_id: str) -> list[dict]:
    return [c.params["view"] for c in slack.calls_to("views.open") if c.params["view"]["callback_id"] == callback_id]


@pytest.fixture
def people(running_bot, world):
    """Ada (admin) and Grace (member), as the fake Slack knows them, with their Home tabs published."""
    running_bot.slack.add_user(world.admin.slackUserId, name="ada")
    running_bot.slack.add_user(world.member.slackUserId, name="grace")
    ada = running_bot.as_user(world.admin.slackUserId, "ada")
    grace = running_bot.as_user(world.member.slackUserId, "grace")
    for person in (ada, grace):
        assert person.home_opened().status_code == 200
    return ada, grace


def test_everyone_gets_new_release_and_only_admins_the_setup_buttons(running_bot, world, people):
    slack = running_bot.slack
    assert buttons(home(slack, world.admin.slackUserId)) == [
        ActionId.HOME_NEW_RELEASE, ActionId.HOME_INTEGRATIONS, ActionId.HOME_ADMINS]
    assert buttons(home(slack, world.member.slackUserId)) == [ActionId.HOME_NEW_RELEASE]


def test_a_release_created_from_the_home_tab_gets_its_card_and_its_creator_is_told_directly(running_bot, world, people):
    slack, (ada, _) = running_bot.slack, people
    assert press(ada, home(slack, world.admin.slackUserId), ActionId.HOME_NEW_RELEASE).status_code == 200
    form = wait_for(lambda: opened(slack, CallbackId.CREATE_RELEASE))[-1]
    version = next(b for b in form["blocks"] if b["block_id"] == BlockId.VERSION)
    assert "initial_value" not in version["element"]  # nothing typed: nothing prefilled

    assert ada.view_submission(form, values(world)).status_code == 200
    card = wait_for(lambda: slack.last_message(world.channel.details["channelId"]))
    assert "v1.5.0" in json.dumps(card["blocks"])
    told = wait_for(lambda: [e for e in slack.ephemerals if e["user"] == world.admin.slackUserId])  # in their DM
    assert told[-1]["channel"].startswith("D") and "Release *v1.5.0* created" in told[-1]["text"]
    with running_bot.runtime.unit_of_work() as s:
        assert find_release(s, tenant_id=world.tenant.id, ref="v1.5.0").createdBy.id == world.admin.id


def test_the_admin_buttons_open_the_integrations_and_admins_modals(running_bot, world, people):
    slack, (ada, _) = running_bot.slack, people
    view = home(slack, world.admin.slackUserId)
    assert press(ada, view, ActionId.HOME_INTEGRATIONS).status_code == 200
    integrations = wait_for(lambda: opened(slack, CallbackId.INTEGRATIONS))[-1]
    assert ActionId.INTEGRATION_ADD in json.dumps(integrations)  # an admin's list has its buttons
    assert press(ada, view, ActionId.HOME_ADMINS).status_code == 200
    assert wait_for(lambda: opened(slack, CallbackId.ADMINS))[-1]["submit"]["text"] == "Add admin"


def test_a_member_forging_an_admin_button_gets_the_read_only_list(running_bot, world, people):
    slack, (_, grace) = running_bot.slack, people
    assert press(grace, home(slack, world.member.slackUserId), ActionId.HOME_INTEGRATIONS).status_code == 200
    listed = wait_for(lambda: opened(slack, CallbackId.INTEGRATIONS))[-1]
    assert "iOS app repo" in json.dumps(listed)
    assert ActionId.INTEGRATION_ADD not in json.dumps(listed) and ActionId.INTEGRATION_MENU not in json.dumps(listed)


def test_a_home_button_without_a_trigger_id_is_refused_with_the_reason(running_bot, world, people):
    slack, (ada, _) = running_bot.slack, people
    answer = press(ada, home(slack, world.admin.slackUserId), ActionId.HOME_NEW_RELEASE, trigger=False)
    assert answer.status_code == 400 and "trigger_id" in answer.text
    assert opened(slack, CallbackId.CREATE_RELEASE) == []


def test_ones_next_step_is_a_button_on_the_home_tab_and_pressing_it_moves_the_release(running_bot, world):
    slack = running_bot.slack
    with running_bot.runtime.unit_of_work() as s:  # Ada creates it: kicking it off is her next step
        release = create_release(s, tenant_id=world.tenant.id, actor_account_id=world.admin.id, draft=world.draft())
    # Created in core, no card owed: the Homes show it once opened (after the release, so they cannot miss it).
    slack.add_user(world.admin.slackUserId, name="ada")
    slack.add_user(world.member.slackUserId, name="grace")
    ada = running_bot.as_user(world.admin.slackUserId, "ada")
    for person in (ada, running_bot.as_user(world.member.slackUserId, "grace")):
        assert person.home_opened().status_code == 200
    view = wait_for(lambda: (v := slack.home_of(world.admin.slackUserId)) and "v1.5.0" in json.dumps(v) and v)
    kick_off = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]
                if e["action_id"] == f"{ActionId.STAGE_PREFIX}kickoff"]
    assert [(e["text"]["text"], e["value"]) for e in kick_off] == [("Kick off", release.id)]
    grace_view = wait_for(lambda: (v := slack.home_of(world.member.slackUserId)) and "v1.5.0" in json.dumps(v) and v)
    assert f"{ActionId.STAGE_PREFIX}kickoff" in json.dumps(grace_view)  # its pilot: her step too
    slack.add_user("U0ALAN", name="alan")
    running_bot.as_user("U0ALAN", "alan").home_opened()  # a member who neither created nor pilots it
    alan_view = wait_for(lambda: (v := slack.home_of("U0ALAN")) and "v1.5.0" in json.dumps(v) and v)
    assert f"{ActionId.STAGE_PREFIX}kickoff" not in json.dumps(alan_view) and "Next: " in json.dumps(alan_view)

    pressed = ada.interactive({"type": "block_actions", "trigger_id": "1.2.3", "container": {"type": "view", "view_id": view["id"]},
                               "view": view, "actions": [{**kick_off[0], "block_id": "b", "action_ts": "1700000000.000002"}]})
    assert pressed.status_code == 200
    with running_bot.runtime.unit_of_work() as s:
        assert find_release(s, tenant_id=world.tenant.id, ref="v1.5.0").status != ReleaseStatus.KICKOFF_PENDING
    # The change re-publishes her Home: the step is done, its button gone.
    wait_for(lambda: f"{ActionId.STAGE_PREFIX}kickoff" not in json.dumps(slack.home_of(world.admin.slackUserId)))
