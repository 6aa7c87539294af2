"""The confirmation form of a store action (submit, resubmit, release, release to everyone, increase): what
will happen, in words, and the fields the store takes (What's New, release notes…), pre-filled from the
changelog. Halt, pause and resume have no form: one click."""
from __future__ import annotations

import json
from collections.abc import Callable

from slack_sdk.models.blocks import InputBlock, MarkdownTextObject, Option, PlainTextInputElement, SectionBlock, StaticSelectElement
from slack_sdk.models.views import View

from bot.blocks.text import escape, shorten
from bot.ids import ActionId, BlockId, CallbackId
from core.integrations.stores import LABELS, StoreAction
from core.services.store_views import AskFacts

WHATS_NEW_LIMIT = 4000
PLAY_NOTES_LIMIT = 500  # Play's release notes, per language


def _whats_new(f: AskFacts) -> InputBlock:
    # Slack refuses a form whose pre-filled value is longer than the input takes: cut at a line, say so.
    notes = f.notes if len(f.notes or "") <= WHATS_NEW_LIMIT else f.notes[:WHATS_NEW_LIMIT - 1].rsplit("\n", 1)[0] + "\n…"
    return InputBlock(block_id=BlockId.WHATS_NEW, label="What's New in this version", optional=True, element=PlainTextInputElement(
        action_id=ActionId.WHATS_NEW, multiline=True, max_length=WHATS_NEW_LIMIT, initial_value=notes or None,
        placeholder="What users read on the App Store"))


def _user_fraction(f: AskFacts) -> InputBlock:
    return InputBlock(block_id=BlockId.USER_FRACTION, label="Roll out to (% of users)", optional=True,
                      hint="100 releases to everyone at once; empty starts at the first step of the target's ladder",
                      element=PlainTextInputElement(action_id=ActionId.USER_FRACTION, max_length=8, placeholder="5"))


def _release_notes(f: AskFacts) -> InputBlock:
    notes = f.notes if len(f.notes or "") <= PLAY_NOTES_LIMIT else f.notes[:PLAY_NOTES_LIMIT - 1].rsplit("\n", 1)[0] + "\n…"
    return InputBlock(block_id=BlockId.RELEASE_NOTES, label="Release notes", optional=True, element=PlainTextInputElement(
        action_id=ActionId.RELEASE_NOTES, multiline=True, max_length=PLAY_NOTES_LIMIT, initial_value=notes or None,
        placeholder="What users read on Google Play"))


def _update_priority(f: AskFacts) -> InputBlock:
    options = [Option(value=str(n), label=f"{n}{' (default)' if n == 0 else ' (highest)' if n == 5 else ''}")
               for n in range(6)]
    return InputBlock(block_id=BlockId.UPDATE_PRIORITY, label="In-app update priority", optional=True,
                      element=StaticSelectElement(action_id=ActionId.UPDATE_PRIORITY, options=options,
                                                  placeholder="0 (default)"))


# (provider, action) → the inputs of its form; each block id is the param's name (form_values reads them back
# by block, whatever the element's action id). Another store appends its own entries.
FIELDS: dict[tuple[str, StoreAction], tuple[Callable[[AskFacts], InputBlock], ...]] = {
    ("APP_STORE", StoreAction.SUBMIT): (_whats_new,),
    ("APP_STORE", StoreAction.RESUBMIT): (_whats_new,),
    ("PLAY_STORE", StoreAction.SUBMIT): (_user_fraction, _release_notes, _update_priority),
}
DEFAULT_HINTS = {
    StoreAction.SUBMIT: "Version {version} of {target} is sent to review with its build.",
    StoreAction.RESUBMIT: "Version {version} of {target} goes back to review.",
    StoreAction.RELEASE: "Version {version} of {target} is released to users.",
    StoreAction.COMPLETE: "Version {version} of {target} goes to every user now.",
    StoreAction.INCREASE: "The rollout of {target} grows to its next step.",
}


def store_action_modal(f: AskFacts, action: StoreAction) -> dict:
    """The form asking to confirm `action` on a target, saying what will happen."""
    hint = f.store.hints.get(action.value) or DEFAULT_HINTS.get(action, "{target} is asked to {action}.").format(
        version=f.version, target=f.target_name, action=action.value)
    text = f"*{escape(shorten(f.target_name, 150))}* · release {escape(f.release_key)}\n{escape(shorten(hint, 2000))}"
    if f.store.line:
        text += f"\nNow: {escape(shorten(f.store.line, 300))}"
    blocks = [SectionBlock(text=MarkdownTextObject(text=text))] + [field(f) for field in FIELDS.get((f.provider, action), ())]
    metadata = json.dumps({"release": f.release_id, "target": f.target_id, "action": action.value})
    return View(type="modal", callback_id=CallbackId.STORE_ACTION, title=shorten(LABELS[action], 24), submit=shorten(LABELS[action], 24),
                close="Not now", private_metadata=metadata, blocks=blocks).to_dict()


def refused_modal(reason: str) -> dict:
    """What replaces a form without inputs when core refuses it: the reason, and nothing was asked of the store."""
    return View(type="modal", callback_id=CallbackId.STORE_ACTION, title="Not done", close="Close", blocks=[
        SectionBlock(text=MarkdownTextObject(text=f"⚠️ {escape(shorten(reason, 2000))}\nNothing was asked of the store."))]).to_dict()


def form_values(state: dict) -> dict[str, str | None]:
    """Every typed value of a store form by its block id (the params' names); core checks them."""
    values: dict[str, str | None] = {}
    for block_id, elements in state.items():
        for element in elements.values():
            option = element.get("selected_option") or {}
            values[block_id] = element.get("value") if element.get("value") is not None else option.get("value")
    return values
