"""Slack's length limits, shortening text to fit them, and the text objects and options of Block Kit as plain dicts."""
from __future__ import annotations

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


def plain(text: str) -> dict:
    """A plain_text object (emoji shown as emoji)."""
    return {"type": "plain_text", "text": text, "emoji": True}


def mrkdwn(text: str) -> dict:
    """An mrkdwn text object."""
    return {"type": "mrkdwn", "text": text}


def option(label: str, value: str) -> dict:
    """A select option within Slack's limits."""
    return {"text": {"type": "plain_text", "text": shorten(label, OPTION_TEXT)}, "value": value[:OPTION_VALUE]}
