"""The one error handler: core errors become ephemeral answers; anything else gets an incident id."""
from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.messages import unexpected
from core.errors import ReleasebotError

log = logging.getLogger("releasebot.bot")


def _where(body: dict) -> tuple[str | None, str | None]:
    channel = body.get("channel_id") or (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    user = body.get("user_id") or (body.get("user") or {}).get("id")
    return channel, user


def handle_error(error: Exception, body: dict, client: WebClient) -> None:
    """Tell the person what went wrong, ephemerally; never a stack trace, never a secret."""
    if isinstance(error, ReleasebotError):
        text = f"⚠️ {error}"
        log.info("refused: %s", error)
    else:
        incident = uuid.uuid4().hex[:12]
        log.exception("unexpected failure %s", incident)
        text = unexpected(incident)
    channel, user = _where(body)
    if not user:
        return
    try:
        client.chat_postEphemeral(channel=channel or user, user=user, text=text)
    except SlackApiError as exc:  # the answer itself failed: the log is all that is left
        log.warning("could not tell %s about an error: %s", user, exc.response.get("error"))


@contextmanager
def reported(body: dict, client: WebClient) -> Iterator[None]:
    """Around listener work after its ack: any error becomes an ephemeral answer here (an unexpected
    one with an incident id), because Bolt drops an ack that a listener raises after (Slack would
    then see no answer at all)."""
    try:
        yield
    except Exception as error:  # nothing raised after ack() may reach Bolt
        handle_error(error, body, client)
