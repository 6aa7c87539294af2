"""`/release integrations` and its modals: the list, Add (kind and provider, then the provider's form),
Verify, Enable/Disable, Edit, Remove. Every change goes through core.services.integration_changes, which
checks the actor is an admin of the tenant and audits it; opening a form checks it too. Verification is
owed to the runner (the provider is never called inside Slack's 3 seconds)."""
from __future__ import annotations

import json

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.blocks.integrations import (
    REFERENCES,
    FormContext,
    chooser_modal,
    form_modal,
    integrations_modal,
    outcome_modal,
    remove_modal,
    verifying_modal,
)
from bot.errors import reported
from bot.ids import ActionId, BlockId, CallbackId, MenuOp
from bot.listeners.parse import state_values
from core.enums import IntegrationKind, Role
from core.errors import NotFoundError, PermissionDeniedError, ReleasebotError, ValidationError
from core.integrations.specs import ProviderSpec, spec_for
from core.runner import Runner
from core.runtime import Runtime
from core.services import integration_changes
from core.services.integration_rules import secret_names
from core.services.integrations import get_integration, list_integrations
from core.services.tenants import require_admin


def all_integrations(session, tenant_id: str) -> list:
    return [v for kind in IntegrationKind for v in list_integrations(session, tenant_id=tenant_id, kind=kind)]


def list_view(runtime: Runtime, context: BoltContext, notice: str | None = None) -> dict:
    """The list as this person may see it (the buttons are a convenience: core checks every click)."""
    with runtime.reading() as session:
        views = all_integrations(session, context["tenant_id"])
    return integrations_modal(views, admin=context.get("account_role") == Role.ADMIN, notice=notice)


def _require_admin(runtime: Runtime, context: BoltContext) -> None:
    with runtime.reading() as session:
        require_admin(session, tenant_id=context["tenant_id"], actor_account_id=context["account_id"])


def _form_context(session, tenant_id: str, spec: ProviderSpec, editing=None) -> FormContext:
    choices = {kind: list_integrations(session, tenant_id=tenant_id, kind=kind) for kind in set(REFERENCES.values())} \
        if spec.kind == IntegrationKind.PIPELINE else None
    return FormContext(spec, editing, choices)


def _typed(element: dict) -> str:
    """What one input holds: typed text, a chosen option, or a chosen channel."""
    value = element.get("value") or (element.get("selected_option") or {}).get("value") \
        or element.get("selected_conversation") or ""
    return "" if value == "-" else value.strip()


def form_values(spec: ProviderSpec, view: dict) -> dict:
    """The submitted form as core's arguments: name, base URL, fields, settings, secrets."""
    typed = {block: _typed(element) for block, elements in state_values(view).items() for element in elements.values()}
    pick = lambda names: {n: typed[n] for n in names if typed.get(n)}  # noqa: E731 — local shorthand
    return {"display_name": typed.get("displayName", ""), "base_url": typed.get("baseUrl") or None,
            "fields": pick((*spec.fields, *spec.optional_fields)), "settings": pick((*spec.settings, *spec.optional_settings)),
            "secrets": pick(secret_names(spec))}


def form_errors(spec: ProviderSpec, error: ReleasebotError) -> dict[str, str]:
    """Core's problems under the inputs they concern (the first input for the rest)."""
    if not isinstance(error, ValidationError):
        return {"displayName": str(error)}
    names = {"displayName", "baseUrl", *spec.fields, *spec.optional_fields, *spec.settings, *spec.optional_settings,
             *secret_names(spec)}
    first_secret = next((n for n in sorted(secret_names(spec))), "displayName")
    out: dict[str, str] = {}
    for field, message in error.by_field().items():
        block = field if field in names else first_secret if field == "secrets" else "displayName"
        out[block] = f"{out[block]} {message}" if block in out else message
    return out


def register(app: App, runtime: Runtime, follower: Runner) -> None:
    def add(ack: Ack, body: dict, context: BoltContext, client: WebClient) -> None:
        ack()
        with reported(body, client):
            _require_admin(runtime, context)
            client.views_push(trigger_id=body["trigger_id"], view=chooser_modal())

    def choose(ack: Ack, view: dict, context: BoltContext) -> None:
        chosen = ((state_values(view).get(BlockId.PROVIDER) or {}).get(ActionId.PROVIDER) or {}).get("selected_option") or {}
        kind, _, provider = (chosen.get("value") or "").partition(":")
        spec = spec_for(IntegrationKind(kind), provider) if kind in {k.value for k in IntegrationKind} else None
        if spec is None:
            ack(response_action="errors", errors={BlockId.PROVIDER.value: "Choose one of the providers listed."})
            return
        try:
            with runtime.reading() as session:
                require_admin(session, tenant_id=context["tenant_id"], actor_account_id=context["account_id"])
                form = form_modal(_form_context(session, context["tenant_id"], spec))
        except PermissionDeniedError as error:
            ack(response_action="errors", errors={BlockId.PROVIDER.value: str(error)})
            return
        ack(response_action="update", view=form)

    def save(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
        meta = json.loads(view.get("private_metadata") or "{}")  # checked by bot/payloads.py
        spec = spec_for(IntegrationKind(meta["kind"]), meta["provider"])
        values = form_values(spec, view)
        who = {"tenant_id": context["tenant_id"], "actor_account_id": context["account_id"]}

        def store(session):
            if meta.get("id"):
                saved = integration_changes.edit(session, **who, integration_id=meta["id"], cipher=runtime.cipher,
                                                 **values).view
            else:
                saved = integration_changes.add(session, **who, kind=spec.kind, provider=spec.provider,
                                                cipher=runtime.cipher, **values)
            integration_changes.request_verification(session, **who, integration_id=saved.id,
                                                     notify_slack_user=context.user_id, view_id=view["id"])
            return saved

        try:
            with runtime.unit_of_work() as session:
                saved = store(session)
        except ReleasebotError as error:
            ack(response_action="errors", errors=form_errors(spec, error))
            return
        ack(response_action="update", view=verifying_modal(saved))
        follower.wake()

    def menu(ack: Ack, body: dict, context: BoltContext, client: WebClient) -> None:
        ack()
        with reported(body, client):
            op, _, integration_id = ((body["actions"][0].get("selected_option") or {}).get("value") or "").partition(":")
            list_id = (body.get("view") or {}).get("id")
            who = {"tenant_id": context["tenant_id"], "actor_account_id": context["account_id"]}
            if op in (MenuOp.EDIT, MenuOp.REMOVE):
                with runtime.reading() as session:
                    require_admin(session, **{"tenant_id": who["tenant_id"], "actor_account_id": who["actor_account_id"]})
                    current = get_integration(session, tenant_id=who["tenant_id"], integration_id=integration_id)
                    spec = spec_for(current.kind, current.provider)
                    form = form_modal(_form_context(session, who["tenant_id"], spec, current)) if op == MenuOp.EDIT \
                        else remove_modal(current, list_view_id=list_id)
                client.views_push(trigger_id=body["trigger_id"], view=form)
                return
            notice = _change(op, integration_id, who, context)
            follower.wake()
            if list_id:
                client.views_update(view_id=list_id, view=list_view(runtime, context, notice))

    def _change(op: str, integration_id: str, who: dict, context: BoltContext) -> str:
        try:
            with runtime.unit_of_work() as session:
                if op == MenuOp.VERIFY:
                    view = integration_changes.request_verification(session, **who, integration_id=integration_id,
                                                                    notify_slack_user=context.user_id)
                    return f"⏳ Verifying *{view.displayName}*: you will get the outcome in a message."
                if op in (MenuOp.ENABLE, MenuOp.DISABLE):
                    view = integration_changes.set_active(session, **who, integration_id=integration_id,
                                                          active=op == MenuOp.ENABLE)
                    return f"*{view.displayName}* is {'enabled' if view.isActive else 'disabled'}."
        except ReleasebotError as error:
            return f"⚠️ {error}"
        raise NotFoundError("that menu item is not one releasebot knows")

    def remove(ack: Ack, view: dict, context: BoltContext, client: WebClient) -> None:
        meta = json.loads(view.get("private_metadata") or "{}")  # checked by bot/payloads.py
        try:
            with runtime.unit_of_work() as session:
                gone = integration_changes.remove(session, tenant_id=context["tenant_id"],
                                                  actor_account_id=context["account_id"], integration_id=meta["id"])
        except ReleasebotError as error:
            ack(response_action="update", view=outcome_modal("Not removed", f"⚠️ {error}"))
            return
        text = (f"*{gone.displayName}* is removed. Cancelled or archived releases still name it: they keep their "
                "history, and it is offered nowhere again." if gone.removedAt else f"*{gone.displayName}* is removed.")
        ack(response_action="update", view=outcome_modal("Removed", text))
        if meta.get("list"):
            with reported({"user": {"id": context.user_id}}, client):
                client.views_update(view_id=meta["list"], view=list_view(runtime, context))

    app.action(ActionId.INTEGRATION_ADD)(add)
    app.action(ActionId.INTEGRATION_MENU)(menu)
    app.view(CallbackId.INTEGRATION_CHOOSE)(choose)
    app.view(CallbackId.INTEGRATION_FORM)(save)
    app.view(CallbackId.INTEGRATION_REMOVE)(remove)
