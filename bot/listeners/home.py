"""The App Home tab: `app_home_opened` owes the person's Home a publish (the runner publishes it with
views.publish); its buttons open the modals the slash command opens (`/release create`, `integrations`, `admins`)."""
from __future__ import annotations

from collections.abc import Callable

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.errors import reported
from bot.ids import ActionId
from bot.listeners.admins import admins_view
from bot.listeners.commands import create_modal
from bot.listeners.integrations import list_view
from core.runner import Runner
from core.runtime import Runtime
from core.services.home_views import open_home


def register(app: App, runtime: Runtime, follower: Runner) -> None:
    @app.event("app_home_opened")
    def home_opened(event: dict, context: BoltContext) -> None:
        # The Messages tab fires this event too; only the Home tab shows what we publish.
        if event.get("tab") != "home" or "tenant_id" not in context:
            return
        runtime.retrying(lambda s: open_home(s, tenant_id=context["tenant_id"], slack_user_id=event["user"]))
        follower.wake()

    # No channel here: the new release's confirmation goes to the person directly. The buttons are a convenience:
    # a member who sends an admin's button gets the read-only list, and core checks every change.
    opens: dict[ActionId, Callable[[BoltContext], dict]] = {
        ActionId.HOME_NEW_RELEASE: lambda context: create_modal(runtime, context["tenant_id"], None, None),
        ActionId.HOME_INTEGRATIONS: lambda context: list_view(runtime, context),
        ActionId.HOME_ADMINS: lambda context: admins_view(runtime, context),
    }

    def open_modal(ack: Ack, body: dict, action: dict, context: BoltContext, client: WebClient) -> None:
        ack()  # the trigger id is good for 3 s: open the modal at once
        with reported(body, client):
            client.views_open(trigger_id=body["trigger_id"], view=opens[ActionId(action["action_id"])](context))

    for action_id in opens:
        app.action(action_id)(open_modal)
