"""Slack's lifecycle events: `app_uninstalled` and `tokens_revoked` forget the workspace's tokens (its data stays)."""
from __future__ import annotations

import logging

from slack_bolt import Ack, App, BoltContext

from core.runner import Runner
from core.runtime import Runtime
from core.services import installations

log = logging.getLogger("releasebot.installs")


def register(app: App, runtime: Runtime, follower: Runner) -> None:
    def deactivate(context: BoltContext, reason: str) -> None:
        with runtime.unit_of_work() as session:
            done = installations.deactivate(session, enterprise_id=context.enterprise_id, team_id=context.team_id,
                                            is_enterprise_install=bool(context.is_enterprise_install), reason=reason)
        if done:
            log.info("%s: tokens of %s deactivated", reason, context.team_id or context.enterprise_id)

    @app.event("app_uninstalled")
    def app_uninstalled(ack: Ack, context: BoltContext) -> None:
        ack()
        deactivate(context, "app_uninstalled")

    @app.event("tokens_revoked")
    def tokens_revoked(ack: Ack, event: dict, context: BoltContext) -> None:
        ack()
        if (event.get("tokens") or {}).get("bot"):  # user tokens: we keep none
            deactivate(context, "tokens_revoked")
