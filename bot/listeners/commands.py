"""`/release …`: open the create modal, or answer with usage."""
from __future__ import annotations

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.blocks.messages import usage
from bot.blocks.modal import ModalContext, create_release_modal, setup_needed_modal
from bot.errors import reported
from bot.ids import COMMAND
from core.enums import IntegrationKind
from core.runner import Runner
from core.runtime import Runtime
from core.services.integrations import list_integrations

MAX_VERSION_PREFILL = 64


def _modal_for(runtime: Runtime, tenant_id: str, channel_id: str | None, version: str | None) -> dict:
    with runtime.reading() as session:
        scms = list_integrations(session, tenant_id=tenant_id, kind=IntegrationKind.SCM, usable_only=True)
        targets = list_integrations(session, tenant_id=tenant_id, kind=IntegrationKind.TARGET, usable_only=True)
    missing = [label for label, found in (("source control integration", scms), ("store target", targets)) if not found]
    if missing:
        return setup_needed_modal(missing)
    return create_release_modal(ModalContext(channel_id, version, scms[0] if len(scms) == 1 else None))


def register(app: App, runtime: Runtime, follower: Runner) -> None:
    @app.command(COMMAND)
    def release_command(ack: Ack, command: dict, context: BoltContext, client: WebClient, respond: Respond) -> None:
        words = (command.get("text") or "").split()
        sub = words[0].lower() if words else None
        if sub != "create":
            ack(response_type="ephemeral", text=usage(None if sub in (None, "help") else sub))
            return
        ack()  # Slack wants an answer in 3 s; the trigger id is good for 3 s: open the modal at once.
        # The version only prefills the form (core checks it on submit); a long one is not worth sending to Slack.
        version = words[1] if len(words) > 1 and len(words[1]) <= MAX_VERSION_PREFILL else None
        with reported(command, client):  # after the ack, an error must not reach Bolt (it would drop the ack)
            modal = _modal_for(runtime, context["tenant_id"], command.get("channel_id"), version)
            client.views_open(trigger_id=command["trigger_id"], view=modal)
