"""Buttons on the release card: Trigger build, Retry build, Abort."""
from __future__ import annotations

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.cards import refresh_card
from bot.errors import reported
from bot.ids import ActionId
from core.follower import Follower
from core.runtime import Runtime
from core.services.builds import request_build
from core.services.releases import get_release


def register(app: App, runtime: Runtime, follower: Follower) -> None:
    def trigger(ack: Ack, body: dict, context: BoltContext, client: WebClient) -> None:
        with reported(body, client):
            _trigger(ack, body, context, client)

    def _trigger(ack: Ack, body: dict, context: BoltContext, client: WebClient) -> None:
        action = body["actions"][0]
        try:
            # The intent is recorded before Slack hears back; the tenant is the signed payload's team.
            def record(session):
                intent = request_build(session, tenant_id=context["tenant_id"], account_id=context["account_id"],
                                       release_pipeline_id=action["value"],
                                       request_key=f"{body['container'].get('message_ts')}:{action['action_ts']}")
                return intent, get_release(session, tenant_id=context["tenant_id"], release_id=intent.release_id)

            intent, release = runtime.retrying(record)  # a deadlock victim just asks again
        finally:
            ack()
        if not intent.started:
            if intent.triggered_by:
                client.chat_postEphemeral(channel=body["channel"]["id"], user=context.user_id,
                                          text=f"That build is already running (started by {intent.triggered_by}).")
            return
        refresh_card(client, runtime, release)  # the button gives way to the status at once
        follower.dispatch(intent.build_id)
        follower.deliver_due()

    def abort(ack: Ack, body: dict, context: BoltContext, client: WebClient) -> None:
        ack()
        with reported(body, client):
            follower.stop(tenant_id=context["tenant_id"], release_pipeline_id=body["actions"][0]["value"],
                          actor_account_id=context["account_id"])

    app.action(ActionId.TRIGGER_BUILD)(trigger)
    app.action(ActionId.RETRY_BUILD)(trigger)
    app.action(ActionId.ABORT_BUILD)(abort)
