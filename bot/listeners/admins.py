"""`/release admins`: the list; an admin adds someone (users_select, the modal's submit) or removes one
(a button). Core grants and revokes, checks the actor is an admin, keeps the last admin, audits both."""
from __future__ import annotations

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.blocks.admins import admins_modal
from bot.errors import reported
from bot.ids import ActionId, BlockId, CallbackId
from bot.listeners.parse import state_values
from bot.payloads import is_user_id
from core.enums import Role
from core.errors import ReleasebotError
from core.runner import Runner
from core.runtime import Runtime
from core.services import tenants


def admins_view(runtime: Runtime, context: BoltContext, notice: str | None = None) -> dict:
    """The admins as this person may see them (core checks every change)."""
    with runtime.reading() as session:
        admins = tenants.list_admins(session, tenant_id=context["tenant_id"])
        me = tenants.find_account(session, tenant_id=context["tenant_id"], ref=context["account_id"])
        return admins_modal(admins, admin=me.role == Role.ADMIN, named=frozenset(runtime.settings.admins), notice=notice)


def register(app: App, runtime: Runtime, follower: Runner) -> None:
    def add(ack: Ack, view: dict, context: BoltContext) -> None:
        user = ((state_values(view).get(BlockId.NEW_ADMIN) or {}).get(ActionId.NEW_ADMIN) or {}).get("selected_user")
        if not is_user_id(user):
            ack(response_action="errors", errors={BlockId.NEW_ADMIN.value: "Choose the person to make admin."})
            return
        try:
            runtime.retrying(lambda session: tenants.grant_admin(
                session, tenant_id=context["tenant_id"], slack_user_id=user, display_name=user,
                actor_account_id=context["account_id"]))
        except ReleasebotError as error:
            ack(response_action="errors", errors={BlockId.NEW_ADMIN.value: str(error)})
            return
        ack(response_action="update", view=admins_view(runtime, context, f"<@{user}> is an admin now."))

    def revoke(ack: Ack, body: dict, context: BoltContext, client: WebClient) -> None:
        ack()
        with reported(body, client):
            account_id = body["actions"][0].get("value") or ""
            try:
                gone = runtime.retrying(lambda session: tenants.revoke_admin(
                    session, tenant_id=context["tenant_id"], account_id=account_id,
                    actor_account_id=context["account_id"], named_admins=frozenset(runtime.settings.admins)))
                notice = f"<@{gone.slackUserId}> is no longer an admin."
            except ReleasebotError as error:
                notice = f"⚠️ {error}"
            client.views_update(view_id=body["view"]["id"], view=admins_view(runtime, context, notice))

    app.view(CallbackId.ADMINS)(add)
    app.action(ActionId.ADMIN_REVOKE)(revoke)
