"""Listeners grouped by Slack surface; each module has `register(app, runtime, follower)`."""
from __future__ import annotations

from slack_bolt import App

from bot.listeners import actions, admins, commands, home, installs, integrations, lifecycle, options, stores, views
from core.runner import Runner
from core.runtime import Runtime


def register(app: App, runtime: Runtime, follower: Runner) -> None:
    """Attach every listener to the app."""
    for module in (commands, views, options, actions, lifecycle, stores, installs, integrations, admins, home):
        module.register(app, runtime, follower)
