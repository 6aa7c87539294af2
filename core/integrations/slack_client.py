"""The Slack Web API client every part of releasebot uses: 429 answers retried after their Retry-After, and every
call counted for /metrics by method and outcome (ok, Slack's error code, 429, 5xx, error)."""
from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler

from core import metrics

PROVIDER = "Slack"


class CallCounter(RetryHandler):
    """Counts every answer and never retries. slack_sdk shows each response (200 OK included) and each failure to
    its retry handlers, and Bolt copies them into the client it makes for every request: so this is the one hook
    that sees the calls of listeners, the runner and verification alike. Listed first, it leaves retrying to the
    handlers after it."""

    def __init__(self):
        super().__init__(max_retry_count=2**31)  # consulted on every attempt, however many retries follow

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        method = request.url.split("?", 1)[0].rsplit("/", 1)[-1]
        if response is None:
            outcome = "error"
        elif response.status_code == 200:
            body = response.body if isinstance(response.body, dict) else {}
            outcome = "ok" if body.get("ok", True) else str(body.get("error") or "not ok")
        else:
            outcome = metrics.http_outcome(response.status_code)
        metrics.count_call(PROVIDER, method, outcome)
        return False


def slack_client(token: str | None, base_url: str, timeout: int = 15) -> WebClient:
    """A WebClient on `base_url`, its calls counted and a 429 retried twice after its Retry-After."""
    return WebClient(token=token, base_url=base_url, timeout=timeout,
                     retry_handlers=[CallCounter(), RateLimitErrorRetryHandler(max_retry_count=2)])
