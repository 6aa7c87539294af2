"""Options for external selects."""
from __future__ import annotations

from bot.blocks.text import OPTIONS, option
from core.services.integrations import IntegrationView


def integration_label(view: IntegrationView) -> str:
    """How an integration reads in a dropdown: its name, and a hint of where it points."""
    hint = view.details.get("channelName") or view.details.get("projectKey") or view.details.get("appIdentifier") \
        or (f"{view.details.get('organization')}/{view.details.get('repository')}" if view.details.get("repository") else None)
    return f"{view.displayName} · {hint}" if hint and hint not in view.displayName else view.displayName


def integration_options(views: list[IntegrationView], typed: str) -> list[dict]:
    """Up to Slack's 100 options, those whose label contains what was typed (any case)."""
    needle = typed.strip().casefold()
    matching = [v for v in views if needle in integration_label(v).casefold()]
    return [option(integration_label(v), v.id) for v in matching[:OPTIONS]]
