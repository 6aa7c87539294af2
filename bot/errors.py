"""The one error handler: core errors become ephemeral answers; anything else gets an incident id."""
from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.blocks.messages import unexpected
from core.errors import ReleasebotError

log = logging.getLogger("releasebot.bot")


def _field(body: object, *path: str) -> str | None:
    # The handler must survive any payload, even one the parsing layer never saw (Socket Mode).
    for key in path:
        body = body.get(key) if isinstance(body, dict) else None
    return body if isinstance(body, str) else None


def _where(body: object) -> tuple[str | None, str | None]:
    channel = _field(body, "channel_id") or _field(body, "channel", "id") or _field(body, "container", "channel_id")
    user = _field(body, "user_id") or _field(body, "user", "id")
    return channel, user


def handle_error(error: Exception, body: dict, client: WebClient) -> None:
    """Tell the person what went wrong, ephemerally; never a stack trace, never a secret."""
    if isinstance(error, ReleasebotError):
        text = f"⚠️ {error}"
        log.info("refused: %s", error)
    elif isinstance(error, SlackApiError):  # Slack refused a call (an expired trigger, a view it rejects): not our bug
        incident = uuid.uuid4().hex[:12]
        log.warning("Slack refused a call (incident %s): %s", incident, error.response.get("error"))
        text = unexpected(incident)
    else:
        incident = uuid.uuid4().hex[:12]
        log.exception("unexpected failure %s", incident)
        text = unexpected(incident)
    channel, user = _where(body)
    if not user:
        return
    try:
        client.chat_postEphemeral(channel=channel or user, user=user, text=text)
    except (SlackApiError, SlackClientError, OSError) as exc:  # the answer itself failed: the log is all that is left
        detail = exc.response.get("error") if isinstance(exc, SlackApiError) else type(exc).__name__
        log.warning("could not tell %s about an error: %s", user, detail)


@contextmanager
def reported(body: dict, client: WebClient) -> Iterator[None]:
    """Around listener work after its ack: any error becomes an ephemeral answer here (an unexpected
    one with an incident id), because Bolt drops an ack that a listener raises after (Slack would
    then see no answer at all)."""
    try:
        yield
    except Exception as error:  # nothing raised after ack() may reach Bolt
        handle_error(error, body, client)
