"""Listeners grouped by Slack surface; each module has `register(app, runtime)`."""
from __future__ import annotations

from slack_bolt import App

from bot.listeners import commands, options, views
from core.runtime import Runtime


def register(app: App, runtime: Runtime) -> None:
    """Attach every listener to the app."""
    for module in (commands, views, options):
        module.register(app, runtime)
