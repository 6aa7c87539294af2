"""The composition root of the Slack bot: settings → Web API client, follower, Bolt app."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot import listeners
from bot.announcer import SlackAnnouncer
from bot.errors import handle_error
from bot.middleware import tenant_scope
from core.errors import ConfigurationError
from core.runner import Runner
from core.runtime import Runtime

# Enough listener threads that slow Slack or CI calls of some requests never starve the others.
LISTENER_THREADS = 32


@dataclass
class Bot:
    app: App
    client: WebClient
    follower: Runner


def web_client(runtime: Runtime) -> WebClient:
    """The Web API client: SLACK_API_URL, and 429 answers retried after their Retry-After."""
    settings = runtime.settings
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=15)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    return client


def make_follower(runtime: Runtime, client: WebClient) -> Runner:
    """The build follower, announcing through Slack."""
    s = runtime.settings
    return Runner(runtime, SlackAnnouncer(client, runtime), interval=s.poll_seconds,
                    lease=timedelta(seconds=s.claim_seconds))


def build_bot(runtime: Runtime) -> Bot:
    """The Bolt app, every request signature-checked and scoped to its tenant, and its follower."""
    settings = runtime.settings
    if not settings.slack_signing_secret and not settings.slack_app_token:
        raise ConfigurationError("SLACK_SIGNING_SECRET is not set: copy it from the Slack app's Basic Information page")
    if not settings.slack_bot_token:
        raise ConfigurationError("SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token from the app's OAuth page")
    client = web_client(runtime)
    follower = make_follower(runtime, client)
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret or "socket-mode",
        token_verification_enabled=False,
        listener_executor=ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="listener"),
        raise_error_for_unhandled_request=False,
    )
    app.use(tenant_scope(runtime))
    app.error(handle_error)
    listeners.register(app, runtime, follower)
    return Bot(app, client, follower)
