"""The release's life from its card: the stage buttons, a target's next mark, the menu (cancel, mark
delayed, edit dates, change pilot) and its forms. Core checks tenant, role, stage and guard in the
transaction of the change; a refusal comes back ephemerally (or inline in a form) and names who may."""
from __future__ import annotations

import re
from collections.abc import Callable

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.blocks.lifecycle_modals import cancel_modal, dates_modal, delay_modal, pilot_modal
from bot.errors import reported
from bot.ids import ActionId, BlockId, CallbackId
from bot.listeners.parse import picked_date, state_values, typed
from bot.payloads import is_user_id
from core.errors import NotFoundError, Problem, ReleasebotError, ValidationError
from core.lifecycle import Action
from core.runner import Runner
from core.runtime import Runtime
from core.services import lifecycle, regression, tasks
from core.services.releases import get_release
from core.services.tenants import ensure_account

STAGE_STEPS: dict[Action, Callable] = {
    Action.KICKOFF: lifecycle.kickoff, Action.START_REGRESSION: regression.start_regression,
    Action.REGRESSION_PASSED: regression.regression_passed, Action.REGRESSION_FAILED: regression.regression_failed,
    Action.ARCHIVE: lifecycle.archive,
}
FORMS = {Action.CANCEL: cancel_modal, Action.MARK_DELAYED: delay_modal, Action.EDIT_DATES: dates_modal,
         Action.CHANGE_PILOT: pilot_modal}
FIELD_BLOCKS = {"reason": BlockId.REASON, "targetReleaseDate": BlockId.TARGET_DATE, "plannedDate": BlockId.PLANNED_DATE,
                "releasePilotId": BlockId.NEW_PILOT}
FIRST_BLOCK = {CallbackId.CANCEL_RELEASE: BlockId.REASON, CallbackId.MARK_DELAYED: BlockId.REASON,
               CallbackId.EDIT_DATES: BlockId.PLANNED_DATE, CallbackId.CHANGE_PILOT: BlockId.NEW_PILOT}


def _who(context: BoltContext) -> dict:
    return {"tenant_id": context["tenant_id"], "actor_account_id": context["account_id"]}


def _form_errors(callback_id: str, error: ReleasebotError) -> dict[str, str]:
    """Core's refusal under the fields it concerns, or under the form's first field."""
    first = FIRST_BLOCK[CallbackId(callback_id)].value
    if isinstance(error, ValidationError):
        return {FIELD_BLOCKS.get(f, first).value if f in FIELD_BLOCKS else first: m for f, m in error.by_field().items()}
    return {first: str(error)}


def _submitted(callback_id: CallbackId, state: dict, session, context: BoltContext, release_id: str, key: str):
    """Apply one form's submission through core."""
    who, reason = _who(context), typed(state, BlockId.REASON, ActionId.REASON)
    target = picked_date(state, BlockId.TARGET_DATE, ActionId.TARGET_DATE)
    if callback_id == CallbackId.CANCEL_RELEASE:
        return lifecycle.cancel(session, **who, release_id=release_id, reason=reason, request_key=key)
    if callback_id == CallbackId.MARK_DELAYED:
        return lifecycle.mark_delayed(session, **who, release_id=release_id, reason=reason, target_date=target, request_key=key)
    if callback_id == CallbackId.EDIT_DATES:
        return lifecycle.edit_dates(session, **who, release_id=release_id, target_date=target, request_key=key,
                                    planned_date=picked_date(state, BlockId.PLANNED_DATE, ActionId.PLANNED_DATE))
    pilot = (state.get(BlockId.NEW_PILOT) or {}).get(ActionId.NEW_PILOT, {}).get("selected_user")
    if not is_user_id(pilot):
        raise ValidationError([Problem("releasePilotId", "Pick a person of this workspace.")])
    account = ensure_account(session, tenant_id=context["tenant_id"], slack_user_id=pilot, display_name=pilot)
    return lifecycle.change_pilot(session, **who, release_id=release_id, pilot_account_id=account.id, request_key=key)


def register(app: App, runtime: Runtime, follower: Runner) -> None:
    def stage(ack: Ack, body: dict, context: BoltContext, client: WebClient) -> None:
        action = body["actions"][0]
        with reported(body, client):
            try:
                step = STAGE_STEPS.get(_action(action["action_id"].removeprefix(ActionId.STAGE_PREFIX)))
                if step is None:
                    raise NotFoundError("that button is not one releasebot knows")
                runtime.retrying(lambda session: step(session, **_who(context), release_id=action.get("value") or "",
                                                      request_key=f"{action['action_id']}:{action.get('action_ts')}"))
            finally:
                ack()
            follower.wake()

    def mark_target(ack: Ack, body: dict, context: BoltContext, client: WebClient) -> None:
        action = body["actions"][0]
        with reported(body, client):
            try:
                status, release_id, target_id = _three(action.get("value"))
                runtime.retrying(lambda session: regression.set_target_status(
                    session, **_who(context), release_id=release_id, target_id=target_id, status=status,
                    request_key=f"mark:{action.get('action_ts')}"))
            finally:
                ack()
            follower.wake()

    def task(ack: Ack, body: dict, context: BoltContext, client: WebClient) -> None:
        action = body["actions"][0]
        step = tasks.retry_task if action["action_id"] == ActionId.RETRY_TASK else tasks.skip_task
        with reported(body, client):
            try:
                release_id, _, name = (action.get("value") or "").partition(":")
                runtime.retrying(lambda session: step(session, **_who(context), release_id=release_id, task=name))
            finally:
                ack()
            follower.wake()

    def menu(ack: Ack, body: dict, context: BoltContext, client: WebClient) -> None:
        ack()
        with reported(body, client):
            chosen = ((body["actions"][0].get("selected_option") or {}).get("value") or "")
            word, _, release_id = chosen.partition(":")
            action = _action(word)
            form = FORMS.get(action)
            if form is None:
                raise NotFoundError("that menu item is not one releasebot knows")
            with runtime.reading() as session:  # a stale card may offer what is no longer possible: say why, not a form
                release = get_release(session, tenant_id=context["tenant_id"], release_id=release_id)
                lifecycle.check_allowed(session, **_who(context), release_id=release.id, action=action)
            client.views_open(trigger_id=body["trigger_id"], view=form(release))

    def submit(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
        callback_id = CallbackId(view["callback_id"])
        try:
            runtime.retrying(lambda session: _submitted(callback_id, state_values(view), session, context,
                                                        view.get("private_metadata") or "", f"form:{view['id']}"))
        except ReleasebotError as error:
            ack(response_action="errors", errors=_form_errors(callback_id, error))
            return
        ack()
        follower.wake()

    app.action(re.compile("^" + re.escape(ActionId.STAGE_PREFIX)))(stage)
    app.action(ActionId.MARK_TARGET)(mark_target)
    app.action(ActionId.RELEASE_MENU)(menu)
    app.action(ActionId.RETRY_TASK)(task)
    app.action(ActionId.SKIP_TASK)(task)
    for callback_id in (CallbackId.CANCEL_RELEASE, CallbackId.MARK_DELAYED, CallbackId.EDIT_DATES, CallbackId.CHANGE_PILOT):
        app.view(callback_id)(submit)


def _action(word: str) -> Action | None:
    return Action(word) if word in {a.value for a in Action} else None


def _three(value: str | None) -> tuple[str, str, str]:
    parts = (value or "").split(":")
    if len(parts) != 3:
        raise NotFoundError("this button belongs to no release of this workspace")
    return parts[0], parts[1], parts[2]
