"""Buttons on the release card: Trigger build, Retry build, Abort.

Listeners only touch the database: they record the intent (which owes the card a redraw), answer
Slack, and wake the runner, which calls the CI and redraws the card. A slow or hung CI cannot hold
up Slack."""
from __future__ import annotations

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.errors import reported
from bot.ids import ActionId
from core.runner import Runner
from core.runtime import Runtime
from core.services.builds import request_abort, request_build


def register(app: App, runtime: Runtime, follower: Runner) -> None:
    def trigger(ack: Ack, body: dict, context: BoltContext, client: WebClient) -> None:
        action = body["actions"][0]
        with reported(body, client):
            try:
                # The intent is recorded before Slack hears back; the tenant is the signed payload's team.
                intent = runtime.retrying(lambda session: request_build(  # a deadlock victim just asks again
                    session, tenant_id=context["tenant_id"], account_id=context["account_id"],
                    release_pipeline_id=action["value"],
                    request_key=f"{(body.get('container') or {}).get('message_ts')}:{action.get('action_ts')}"))
            finally:
                ack()
            if intent.started:
                follower.wake()
            elif intent.triggered_by:
                client.chat_postEphemeral(channel=body["channel"]["id"], user=context.user_id,
                                          text=f"That build is already running (started by {intent.triggered_by}).")

    def abort(ack: Ack, body: dict, context: BoltContext, client: WebClient) -> None:
        with reported(body, client):
            try:
                runtime.retrying(lambda session: request_abort(
                    session, tenant_id=context["tenant_id"], actor_account_id=context["account_id"],
                    release_pipeline_id=body["actions"][0]["value"]))
            finally:
                ack()
            follower.wake()

    app.action(ActionId.TRIGGER_BUILD)(trigger)
    app.action(ActionId.RETRY_BUILD)(trigger)
    app.action(ActionId.ABORT_BUILD)(abort)
