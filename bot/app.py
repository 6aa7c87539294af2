"""The composition root of the Slack bot: settings → Web API client, follower, Bolt app."""
from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from slack_bolt import App
from slack_sdk import WebClient

from bot import listeners
from bot.announcer import SlackAnnouncer
from bot.clients import SlackClients, make_client
from bot.errors import handle_error
from bot.middleware import tenant_scope
from bot.oauth import install_flow
from core.errors import ConfigurationError
from core.runner import Runner
from core.runtime import Runtime

# Enough listener threads that slow Slack or CI calls of some requests never starve the others.
LISTENER_THREADS = 32


class ContextExecutor(ThreadPoolExecutor):
    """Runs each listener in a copy of the request's context, so its log lines carry the request's ids."""

    def submit(self, fn, /, *args, **kwargs):
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)


@dataclass
class Bot:
    app: App
    client: WebClient
    follower: Runner
    clients: SlackClients | None = None  # each tenant's Web API client (OAuth mode: its installation's token)


def web_client(runtime: Runtime) -> WebClient:
    """The Web API client: SLACK_API_URL, and 429 answers retried after their Retry-After."""
    return make_client(runtime, runtime.settings.slack_bot_token)


def slack_clients(runtime: Runtime) -> SlackClients:
    """Each tenant's Web API client: SLACK_BOT_TOKEN's for all in single-workspace mode, else its installation's."""
    if runtime.settings.oauth_enabled:
        return SlackClients(runtime)
    return SlackClients.single_workspace(runtime, web_client(runtime))


def make_follower(runtime: Runtime, client: WebClient | SlackClients) -> Runner:
    """The build follower, announcing through Slack (with each tenant's own client)."""
    s = runtime.settings
    return Runner(runtime, SlackAnnouncer(client, runtime), interval=s.poll_seconds,
                    lease=timedelta(seconds=s.claim_seconds))


def build_bot(runtime: Runtime) -> Bot:
    """The Bolt app, every request signature-checked and scoped to its tenant, and its follower."""
    settings = runtime.settings
    if not settings.slack_signing_secret and not settings.slack_app_token:
        raise ConfigurationError("SLACK_SIGNING_SECRET is not set: copy it from the Slack app's Basic Information page")
    if settings.oauth_enabled:
        clients = SlackClients(runtime)
        oauth = {"oauth_flow": install_flow(runtime, clients)}  # every request authorized by its workspace's installation
    elif not settings.slack_bot_token:
        raise ConfigurationError("SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token from the app's OAuth page "
                                 "(or set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to install through Slack's OAuth flow)")
    else:
        clients, oauth = SlackClients.single_workspace(runtime, web_client(runtime)), {}
    follower = make_follower(runtime, clients)
    app = App(
        client=clients.base,
        signing_secret=settings.slack_signing_secret or "socket-mode",
        token_verification_enabled=False,
        listener_executor=ContextExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="listener"),
        raise_error_for_unhandled_request=False,
        **oauth,
    )
    app.use(tenant_scope(runtime))
    app.error(handle_error)
    listeners.register(app, runtime, follower)
    return Bot(app, clients.base, follower, clients)
