"""Slack's length limits, and shortening text to fit them."""
from __future__ import annotations

from slack_sdk.models.blocks import Option, PlainTextObject

OPTION_TEXT = 75
OPTION_VALUE = 150
SECTION_TEXT = 3000
TITLE = 24
MESSAGE_BLOCKS = 50
MODAL_BLOCKS = 100
OPTIONS = 100


def shorten(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def escape(text: str) -> str:
    """Text safe inside mrkdwn: no accidental mentions, links or formatting."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str | None, label: str) -> str:
    """An mrkdwn link to an http(s) URL a CI returned; without the link when the URL could break out of it."""
    if not url or not url.startswith(("https://", "http://")) or any(c in url for c in "<>| \n\t"):
        return label
    return f"<{url}|{label}>"


def option(label: str, value: str) -> Option:
    """A select option within Slack's limits."""
    return Option(text=PlainTextObject(text=shorten(label, OPTION_TEXT)), value=value[:OPTION_VALUE])
