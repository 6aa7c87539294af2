"""External selects (`block_suggestion`): the workspace's usable integrations, filtered by what is typed."""
from __future__ import annotations

from slack_bolt import Ack, App, BoltContext

from bot.blocks.options import integration_options
from bot.blocks.text import OPTIONS
from bot.ids import ActionId, BlockId
from bot.listeners.parse import selected, selected_many, state_values
from core.enums import IntegrationKind
from core.runner import Runner
from core.runtime import Runtime
from core.services.integration_choices import suggest_integrations

KIND_OF_ACTION = {
    ActionId.SCM: IntegrationKind.SCM,
    ActionId.TARGETS: IntegrationKind.TARGET,
    ActionId.PIPELINES: IntegrationKind.PIPELINE,
    ActionId.COMMUNICATION: IntegrationKind.COMMUNICATION,
    ActionId.TICKET: IntegrationKind.TICKET,
}


def register(app: App, runtime: Runtime, follower: Runner) -> None:
    def suggest(ack: Ack, body: dict, context: BoltContext) -> None:
        kind = KIND_OF_ACTION[ActionId(body["action_id"])]
        # The pipeline list follows the choices: only those building the chosen repo for a chosen target.
        state = state_values(body.get("view") or {})
        with runtime.reading() as session:
            views = suggest_integrations(
                session, tenant_id=context["tenant_id"], kind=kind, typed=body.get("value") or "", limit=OPTIONS,
                scm_id=selected(state, BlockId.SCM, ActionId.SCM),
                target_ids=selected_many(state, BlockId.TARGETS, ActionId.TARGETS))
        ack(options=integration_options(views, body.get("value") or ""))

    for action_id in KIND_OF_ACTION:
        app.options(action_id)(suggest)
