"""The card's store buttons: submit, resubmit, release, release to everyone and increase open a form that
says what will happen; halt, pause and resume are one click. Either way the listener only records the
action through core (tenant, role, stage, the store's last state and the params are checked there) and
wakes the runner, which talks to the store."""
from __future__ import annotations

import json
import re

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.blocks.store_modals import form_values, refused_modal, store_action_modal
from bot.errors import reported
from bot.ids import ActionId, CallbackId
from bot.listeners.parse import state_values
from core.errors import NotFoundError, ReleasebotError, ValidationError
from core.integrations.stores import CONFIRMED, StoreAction
from core.runner import Runner
from core.runtime import Runtime
from core.services import store_actions, store_views


def _action(action_id: str) -> StoreAction:
    try:
        return StoreAction(action_id.removeprefix(ActionId.STORE_PREFIX))
    except ValueError:
        raise NotFoundError("that button is not one releasebot knows") from None


def _ids(value: str | None) -> tuple[str, str]:
    release_id, _, target_id = (value or "").partition(":")
    if not release_id or not target_id:
        raise NotFoundError("this button belongs to no release of this workspace")
    return release_id, target_id


def _form_errors(view: dict, error: ReleasebotError) -> dict[str, str]:
    """Core's refusal under the field it concerns, or under the form's first input (Slack shows errors on inputs only)."""
    inputs = [b.get("block_id") for b in view.get("blocks") or [] if b.get("type") == "input"]
    if isinstance(error, ValidationError):
        by_field = error.by_field()
        placed = {f: m for f, m in by_field.items() if f in inputs}
        if placed:
            return placed
    return {inputs[0]: str(error)} if inputs else {}


def register(app: App, runtime: Runtime, follower: Runner) -> None:
    def press(ack: Ack, body: dict, context: BoltContext, client: WebClient) -> None:
        pressed = body["actions"][0]
        if (pressed["action_id"].removeprefix(ActionId.STORE_PREFIX)) in {a.value for a in CONFIRMED}:
            ack()
            with reported(body, client):
                release_id, target_id = _ids(pressed.get("value"))
                with runtime.reading() as session:
                    facts = store_views.ask_facts(session, tenant_id=context["tenant_id"], release_id=release_id, target_id=target_id)
                client.views_open(trigger_id=body["trigger_id"], view=store_action_modal(facts, _action(pressed["action_id"])))
            return
        with reported(body, client):
            try:
                action = _action(pressed["action_id"])
                release_id, target_id = _ids(pressed.get("value"))
                runtime.retrying(lambda session: store_actions.request_action(
                    session, tenant_id=context["tenant_id"], actor_account_id=context["account_id"], release_id=release_id,
                    target_id=target_id, action=action, params={}, request_key=f"store:{pressed.get('action_ts')}"))
            finally:
                ack()
            follower.wake()

    def submit(ack: Ack, body: dict, view: dict, context: BoltContext, client: WebClient) -> None:
        meta = json.loads(view.get("private_metadata") or "{}")
        try:
            runtime.retrying(lambda session: store_actions.request_action(
                session, tenant_id=context["tenant_id"], actor_account_id=context["account_id"], release_id=meta["release"],
                target_id=meta["target"], action=meta["action"], params=form_values(state_values(view)),
                request_key=f"form:{view['id']}"))
        except ReleasebotError as error:
            errors = _form_errors(view, error)
            if errors:
                ack(response_action="errors", errors=errors)
            else:  # a form without inputs: the refusal replaces it, so the person reads why
                ack(response_action="update", view=refused_modal(str(error)))
            return
        ack()
        follower.wake()

    app.action(re.compile("^" + re.escape(ActionId.STORE_PREFIX)))(press)
    app.view(CallbackId.STORE_ACTION)(submit)
