"""Which Web API client speaks for a tenant: the one SLACK_BOT_TOKEN client in single-workspace mode, else
a client holding the tenant's own installation token (refreshed first when token rotation says it is due)."""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError, SlackTokenRotationError
from slack_sdk.oauth.installation_store import Bot
from slack_sdk.oauth.token_rotation import TokenRotator

from core.errors import IntegrationError, NotInstalledError
from core.integrations.slack_client import slack_client
from core.runtime import Runtime
from core.services import installations
from core.services.installations import InstalledBot

log = logging.getLogger("releasebot.clients")
CACHE_SIZE = 256
# Refresh a rotating token this long before it expires (Bolt's default for request-time rotation too).
ROTATE_MINUTES_BEFORE = 120
NOT_INSTALLED = "releasebot is not installed in this workspace any more (uninstalled, or its token revoked)"


def make_client(runtime: Runtime, token: str | None) -> WebClient:
    """A Web API client on SLACK_API_URL with `token`; 429 answers retried after their Retry-After, calls counted."""
    return slack_client(token, runtime.settings.slack_api_url)


def epoch(moment: datetime | None) -> int | None:
    return int(moment.replace(tzinfo=UTC).timestamp()) if moment else None


def from_epoch(seconds: int | float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None, microsecond=0) if seconds else None


class SlackClients:
    """`for_tenant(tenant_id)`: the client to call Slack with on that tenant's behalf."""

    def __init__(self, runtime: Runtime, single: WebClient | None = None):
        self.runtime = runtime
        self.single = single  # single-workspace mode: this client serves every tenant
        self.base = single or make_client(runtime, None)  # token-less: oauth.v2.access
        self._clients: OrderedDict[str, WebClient] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def single_workspace(cls, runtime: Runtime, client: WebClient) -> SlackClients:
        return cls(runtime, client)

    def for_tenant(self, tenant_id: str) -> WebClient:
        """The tenant's client; NotInstalledError when its workspace has no active installation."""
        if self.single is not None:
            return self.single
        with self.runtime.reading() as session:
            bot = installations.tenant_installation(session, cipher=self.runtime.cipher, tenant_id=tenant_id)
        if bot is None:
            raise NotInstalledError(NOT_INSTALLED)
        return self.for_token(self.fresh(bot).bot_token)

    def for_installation(self, bot: InstalledBot) -> WebClient:
        return self.for_token(self.fresh(bot).bot_token)

    def for_token(self, token: str) -> WebClient:
        """One client per token, reused (a small LRU cache)."""
        with self._lock:
            client = self._clients.get(token)
            if client is None:
                client = self._clients[token] = make_client(self.runtime, token)
                while len(self._clients) > CACHE_SIZE:
                    self._clients.popitem(last=False)
            self._clients.move_to_end(token)
            return client

    def fresh(self, bot: InstalledBot) -> InstalledBot:
        """`bot` with a token that is not about to expire: rotated (and stored) when it is due."""
        due = datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=ROTATE_MINUTES_BEFORE)
        if bot.bot_token_expires_at is None or bot.bot_token_expires_at > due or not bot.bot_refresh_token:
            return bot
        settings = self.runtime.settings
        rotator = TokenRotator(client_id=settings.slack_client_id, client_secret=settings.slack_client_secret,
                               client=self.base)
        try:
            rotated = rotator.perform_bot_token_rotation(bot=to_bot(bot), minutes_before_expiration=ROTATE_MINUTES_BEFORE)
        except (SlackTokenRotationError, SlackApiError, SlackClientError, OSError) as exc:
            return self._rotated_elsewhere(bot, exc)
        if rotated is None:
            return bot
        refreshed = InstalledBot(**{**bot.__dict__, "bot_token": rotated.bot_token,
                                    "bot_refresh_token": rotated.bot_refresh_token,
                                    "bot_token_expires_at": from_epoch(rotated.bot_token_expires_at)})
        with self.runtime.unit_of_work() as session:
            installations.save_tokens(session, cipher=self.runtime.cipher, bot=refreshed)
        log.info("rotated the bot token of %s", bot.team_id or bot.enterprise_id)
        return refreshed

    def _rotated_elsewhere(self, bot: InstalledBot, exc: Exception) -> InstalledBot:
        """Another process may have rotated first (a refresh token is good once): use what it stored."""
        with self.runtime.reading() as session:
            now = installations.find_installation(session, cipher=self.runtime.cipher, enterprise_id=bot.enterprise_id,
                                                  team_id=bot.team_id, is_enterprise_install=bot.is_enterprise_install)
        if now is not None and now.bot_token != bot.bot_token:
            return now
        log.warning("could not rotate the bot token of %s: %s", bot.team_id or bot.enterprise_id, type(exc).__name__)
        raise IntegrationError("Slack did not refresh the workspace's bot token; trying again later", retryable=True)


def to_bot(bot: InstalledBot) -> Bot:
    """Our installation as slack_sdk's Bot (what its TokenRotator and Bolt's authorize read)."""
    return Bot(app_id=bot.app_id, enterprise_id=bot.enterprise_id, team_id=bot.team_id, bot_token=bot.bot_token,
               bot_id=bot.bot_id, bot_user_id=bot.bot_user_id, bot_scopes=bot.bot_scopes or "",
               bot_refresh_token=bot.bot_refresh_token, bot_token_expires_at=epoch(bot.bot_token_expires_at),
               is_enterprise_install=bot.is_enterprise_install, installed_at=float(epoch(bot.installed_at)))
