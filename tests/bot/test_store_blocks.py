"""The card's store part and the store forms as pure Block Kit: the buttons each state allows, nothing while an
action is being done, Slack's limits with many targets, a form that says what will happen."""
from __future__ import annotations

import json
from dataclasses import replace

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.blocks.card import release_card
from bot.blocks.store_modals import refused_modal, store_action_modal
from bot.ids import ActionId, BlockId, CallbackId
from core.enums import ReleaseStatus
from core.integrations.stores import StoreAction, StorePhase
from core.services.card_view import CardView
from core.services.store_views import AskFacts, StoreView
from tests.bot.test_blocks import LONG, release


def built(r, status=ReleaseStatus.REGRESSION_IN_PROGRESS):
    return replace(r, status=status, targets=tuple(replace(t, buildNumber="45") for t in r.targets))


def store(target_id: str, phase=StorePhase.NONE, allowed=(StoreAction.SUBMIT,), **extra) -> StoreView:
    return StoreView(target_id, "APP_STORE", phase, extra.pop("line", None), tuple(allowed), {}, **extra)


def buttons(blocks: list[dict], target_id: str) -> list[str]:
    block = next((b for b in blocks if b.get("block_id") == f"{BlockId.STORE_PREFIX}{target_id}"), None)
    return [e["action_id"].removeprefix(ActionId.STORE_PREFIX) for e in block["elements"]] if block else []


def test_submit_shows_once_the_cycle_passed_and_carries_the_release_and_target():
    r = built(release(targets=1))
    before = release_card(CardView(r, (), cycle=1, stores={"rt0": store("rt0")}))
    assert buttons(before, "rt0") == []  # regression not passed yet
    after = release_card(CardView(r, (), cycle=1, cycle_passed=True, stores={"rt0": store("rt0")}))
    block = next(b for b in after if b.get("block_id") == f"{BlockId.STORE_PREFIX}rt0")
    assert [(e["action_id"], e["value"]) for e in block["elements"]] == [(f"{ActionId.STORE_PREFIX}submit", "r1:rt0")]


def test_each_state_shows_its_line_its_reason_and_its_buttons():
    r = built(release(targets=1), ReleaseStatus.BUILD_SUBMITTED)
    rejected = store("rt0", StorePhase.REJECTED, (StoreAction.RESUBMIT,), line="Rejected", reason="read the <!channel> notes")
    blocks = release_card(CardView(r, (), stores={"rt0": rejected}))
    text = json.dumps(blocks, ensure_ascii=False)
    assert buttons(blocks, "rt0") == ["resubmit"] and "🏪 Rejected" in text and "&lt;!channel&gt;" in text
    paused = store("rt0", StorePhase.ROLLING_OUT, (StoreAction.RESUME, StoreAction.COMPLETE), phased_day=3, paused=True,
                   line="Phased release day 3 of 7 (5 % of automatic updates), paused")
    assert buttons(release_card(CardView(r, (), stores={"rt0": paused})), "rt0") == ["resume", "complete"]


def test_no_store_button_while_an_action_is_being_done_and_the_card_says_so():
    r = built(release(targets=1), ReleaseStatus.BUILD_SUBMITTED)
    owed = store("rt0", StorePhase.ROLLING_OUT, (StoreAction.PAUSE,), owed=StoreAction.PAUSE, line="Phased release day 2 of 7")
    blocks = release_card(CardView(r, (), stores={"rt0": owed}))
    assert buttons(blocks, "rt0") == [] and "⏳ Pause: asked, waiting for the store" in json.dumps(blocks, ensure_ascii=False)


def test_many_targets_with_store_buttons_and_long_lines_still_fit_slacks_limits():
    r = built(replace(release(pipelines=12, targets=12, name=LONG)), ReleaseStatus.BUILD_SUBMITTED)
    views = {t.id: store(t.id, StorePhase.ROLLING_OUT, (StoreAction.PAUSE, StoreAction.COMPLETE), line=LONG * 5,
                         problem=LONG * 10) for t in r.targets}
    blocks = release_card(CardView(r, (), stores=views))
    assert len(blocks) <= 50 and [Block.parse(b).to_dict() for b in blocks] == blocks
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in blocks)


def test_the_form_says_what_will_happen_and_prefills_whats_new_within_slacks_limits():
    facts = AskFacts("r1", "v1.5.0", "1.5.0", "rt0", LONG, "APP_STORE", store("rt0"), "• Faster login\n" * 400)
    view = store_action_modal(facts, StoreAction.SUBMIT)
    assert view["callback_id"] == CallbackId.STORE_ACTION
    assert json.loads(view["private_metadata"]) == {"release": "r1", "target": "rt0", "action": "submit"}
    assert "is sent to review with its build" in view["blocks"][0]["text"]["text"]
    field = view["blocks"][1]
    assert field["block_id"] == BlockId.WHATS_NEW and len(field["element"]["initial_value"]) <= 4000
    View(**{k: v for k, v in view.items() if k != "type"}, type="modal").validate_json()
    release_form = store_action_modal(replace(facts, store=replace(facts.store, hints={"release": "Released in phases."})),
                                      StoreAction.RELEASE)
    assert len(release_form["blocks"]) == 1 and "Released in phases." in release_form["blocks"][0]["text"]["text"]
    assert "Nothing was asked of the store" in json.dumps(refused_modal("no"))
