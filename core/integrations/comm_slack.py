"""Slack channel integration: the bot's token (from configuration) posting into one channel."""
from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from core.errors import IntegrationError
from core.integrations.base import IntegrationConfig, ProviderContext
from core.integrations.http import MAX_RETRY_AFTER, _origin, check_url
from core.integrations.slack_client import CallCounter

AUTH_ERRORS = ("invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive")


class BoundedRateLimitHandler(RateLimitErrorRetryHandler):
    """Retries a 429 after its Retry-After, unless Slack asks for a wait longer than MAX_RETRY_AFTER."""

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        return super()._can_retry(state=state, request=request, response=response, error=error) \
            and (_retry_after(response) or 0) <= MAX_RETRY_AFTER


def _retry_after(response: Any) -> float | None:
    """Retry-After of a slack_sdk response (headers may map to lists), None when absent or unreadable."""
    for key, value in dict(getattr(response, "headers", None) or {}).items():
        if key.lower() == "retry-after":
            value = value[0] if isinstance(value, list) else value
            try:
                return float(value)
            except (TypeError, ValueError):
                return None
    return None


class SlackChannel:
    """Posts to one channel with the bot token; `verify` proves the bot can post there."""

    def __init__(self, client: WebClient, *, channel_id: str, channel_name: str | None = None):
        self.client = client
        self.channel_id = channel_id
        self.channel_name = channel_name

    def verify(self) -> None:
        """The token works, the channel exists and the bot is a member of it."""
        bot = self._call("auth.test", self.client.auth_test)
        info = self._call("conversations.info", self.client.conversations_info, channel=self.channel_id)
        channel = info.get("channel") or {}
        self.channel_name = channel.get("name") or self.channel_name
        if not channel.get("is_member"):
            raise IntegrationError(f"the bot is not in {self._label()}: invite it with /invite @{bot.get('user') or 'releasebot'}")
        if channel.get("is_archived"):
            raise IntegrationError(f"{self._label()} is archived: choose another channel")

    def post(self, text: str, *, blocks: list[dict] | None = None, thread: str | None = None) -> str | None:
        """Post a message (in a thread when `thread` is a message ts); returns the new message's ts."""
        answer = self._call("chat.postMessage", self.client.chat_postMessage, channel=self.channel_id, text=text,
                            blocks=blocks, thread_ts=thread, unfurl_links=False, unfurl_media=False)
        return answer.get("ts")

    def update(self, ts: str, text: str, *, blocks: list[dict] | None = None) -> str:
        """Replace the text and blocks of a message the bot posted; returns its ts."""
        answer = self._call("chat.update", self.client.chat_update, channel=self.channel_id, ts=ts, text=text,
                            blocks=blocks)
        return answer.get("ts") or ts

    def _call(self, method: str, call: Callable[..., Any], **kwargs) -> Any:
        try:
            return call(**kwargs)
        except SlackApiError as exc:
            raise self._api_error(method, exc) from None
        except (SlackClientError, URLError, OSError) as exc:
            raise self._network_error(exc) from None

    def _api_error(self, method: str, exc: SlackApiError) -> IntegrationError:
        status = exc.response.status_code
        code = _error_code(exc)
        retryable = status == 429 or status >= 500 or code in ("ratelimited", "internal_error", "fatal_error",
                                                                 "service_unavailable", "request_timeout")
        return IntegrationError(self._explain(method, code, exc), status=status, retryable=retryable,
                                retry_after=_retry_after(exc.response))

    def _explain(self, method: str, code: str, exc: SlackApiError) -> str:
        if code in AUTH_ERRORS:
            return f"Slack rejected the bot token ({code})"
        if code == "channel_not_found":
            return f"channel {self.channel_id} does not exist or the bot cannot see it"
        if code == "not_in_channel":
            return f"the bot is not in {self._label()}: invite it with /invite and the bot's name"
        if code == "is_archived":
            return f"{self._label()} is archived: choose another channel"
        if code == "missing_scope":
            needed = _field(exc, "needed") or "a"
            return f"the Slack app lacks the {needed} scope: add it and reinstall the app (missing_scope)"
        if code == "ratelimited":
            return f"Slack is rate-limiting {method}; try again later (ratelimited)"
        return f"Slack refused {method} ({code})"

    def _network_error(self, exc: Exception) -> IntegrationError:
        origin = _origin(self.client.base_url)
        reason = getattr(exc, "reason", exc)
        if isinstance(exc, (TimeoutError, socket.timeout)) or isinstance(reason, (TimeoutError, socket.timeout)):
            return IntegrationError(f"Slack at {origin} did not answer in time", retryable=True)
        return IntegrationError(f"cannot reach Slack at {origin}", retryable=True)

    def _label(self) -> str:
        return f"#{self.channel_name}" if self.channel_name else f"channel {self.channel_id}"


def _field(exc: SlackApiError, name: str) -> str | None:
    try:
        return exc.response.get(name)
    except (AttributeError, TypeError, ValueError):
        return None


def _error_code(exc: SlackApiError) -> str:
    # A non-JSON answer (a proxy's HTML 502) leaves no error code to read.
    return _field(exc, "error") or f"HTTP {exc.response.status_code}"


def web_client(ctx: ProviderContext) -> WebClient:
    """A WebClient on SLACK_API_URL that honours 429 Retry-After (once, at most MAX_RETRY_AFTER s)."""
    if not ctx.slack_bot_token:
        raise IntegrationError("SLACK_BOT_TOKEN is not configured: the bot cannot post to Slack")
    check_url(ctx.slack_api_url, ctx.guard)
    client = WebClient(token=ctx.slack_bot_token, base_url=ctx.slack_api_url, timeout=ctx.timeout,
                       retry_handlers=[CallCounter(), BoundedRateLimitHandler(max_retry_count=1)])
    return client


def build(config: IntegrationConfig, ctx: ProviderContext) -> SlackChannel:
    """The Slack client of a COMMUNICATION integration (fields channelId, channelName)."""
    channel_id = (config.fields.get("channelId") or "").strip()
    if not channel_id:
        raise IntegrationError("the Slack integration has no channelId")
    return SlackChannel(web_client(ctx), channel_id=channel_id,
                        channel_name=(config.fields.get("channelName") or "").lstrip("#") or None)
