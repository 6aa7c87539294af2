"""OAuth mode: Bolt's install flow (`GET /slack/install`, `GET /slack/oauth_redirect`) over our tables.

Installations and states live in our database (created by the migrations), tokens encrypted by our cipher.
Bolt's authorize reads the installation of each request's workspace (rotating its token when due) through
`DatabaseInstallationStore`; an install creates or reactivates the tenant, makes the installer its admin and
welcomes them in a DM."""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.oauth import OAuthFlow
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from slack_sdk.oauth.state_store import OAuthStateStore

from bot.blocks.welcome import welcome_text
from bot.clients import ROTATE_MINUTES_BEFORE, SlackClients, epoch, from_epoch
from core.clock import utcnow
from core.errors import ConfigurationError
from core.runtime import Runtime
from core.services import installations
from core.services.installations import InstalledBot

log = logging.getLogger("releasebot.oauth")
INSTALL_PATH, REDIRECT_PATH = "/slack/install", "/slack/oauth_redirect"
STATE_SECONDS = 600
# The bot scopes the install asks for: exactly manifest.yml's (a test checks they agree).
BOT_SCOPES = ("commands", "chat:write", "users:read", "channels:read", "groups:read", "channels:join", "channels:history",
              "groups:history")


def _scopes(value) -> str:
    return ",".join(value) if isinstance(value, list | tuple) else (value or "")


def _when(value) -> datetime:
    if isinstance(value, int | float):
        return from_epoch(value)
    return utcnow()


def installed_bot(installation: Installation | Bot) -> InstalledBot:
    """slack_sdk's installation (or bot) as ours."""
    return InstalledBot(
        enterprise_id=installation.enterprise_id, team_id=installation.team_id,
        is_enterprise_install=bool(installation.is_enterprise_install), tenant_id=None, app_id=installation.app_id,
        name=(installation.team_name if installation.team_id and not installation.is_enterprise_install
              else installation.enterprise_name),
        installer_user_id=getattr(installation, "user_id", None), bot_id=installation.bot_id,
        bot_user_id=installation.bot_user_id, bot_scopes=_scopes(installation.bot_scopes),
        installed_at=_when(installation.installed_at), bot_token=installation.bot_token,
        bot_refresh_token=installation.bot_refresh_token, bot_token_expires_at=from_epoch(installation.bot_token_expires_at))


class DatabaseInstallationStore(InstallationStore):
    """Installations in `slack_installations`, bot tokens encrypted; user tokens are never asked for nor kept."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    @property
    def logger(self) -> logging.Logger:
        return log

    def save(self, installation: Installation) -> None:
        """Bolt stores a rotated token here (an install goes through `InstallFlow.store_installation`)."""
        with self.runtime.unit_of_work() as session:
            installations.save_tokens(session, cipher=self.runtime.cipher, bot=installed_bot(installation))

    def save_bot(self, bot: Bot) -> None:
        self.save(bot)  # type: ignore[arg-type]  # the same fields

    def _find(self, enterprise_id, team_id, is_enterprise_install) -> InstalledBot | None:
        with self.runtime.reading() as session:
            return installations.find_installation(session, cipher=self.runtime.cipher, enterprise_id=enterprise_id,
                                                   team_id=team_id, is_enterprise_install=is_enterprise_install)

    def find_installation(self, *, enterprise_id, team_id, user_id=None, is_enterprise_install=False):
        if user_id is not None:  # a user's own token: we keep none
            return None
        bot = self._find(enterprise_id, team_id, is_enterprise_install)
        if bot is None:
            return None
        return Installation(
            app_id=bot.app_id, enterprise_id=bot.enterprise_id, team_id=bot.team_id, team_name=bot.name,
            bot_token=bot.bot_token, bot_id=bot.bot_id, bot_user_id=bot.bot_user_id, bot_scopes=bot.bot_scopes or "",
            bot_refresh_token=bot.bot_refresh_token, bot_token_expires_at=epoch(bot.bot_token_expires_at),
            user_id=bot.installer_user_id or "", is_enterprise_install=bot.is_enterprise_install,
            installed_at=float(epoch(bot.installed_at)))

    def find_bot(self, *, enterprise_id, team_id, is_enterprise_install=False):
        installation = self.find_installation(enterprise_id=enterprise_id, team_id=team_id,
                                              is_enterprise_install=is_enterprise_install)
        return installation.to_bot() if installation else None

    def delete_bot(self, *, enterprise_id, team_id) -> None:
        self._deactivate(enterprise_id, team_id, "tokens_revoked")

    def delete_installation(self, *, enterprise_id, team_id, user_id=None) -> None:
        if user_id is None:
            self._deactivate(enterprise_id, team_id, "app_uninstalled")

    def _deactivate(self, enterprise_id, team_id, reason: str) -> None:
        with self.runtime.unit_of_work() as session:
            installations.deactivate(session, enterprise_id=enterprise_id, team_id=team_id,
                                     is_enterprise_install=not team_id, reason=reason)


class DatabaseStateStore(OAuthStateStore):
    """One-time states in `slack_oauth_states`, valid for STATE_SECONDS."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    @property
    def logger(self) -> logging.Logger:
        return log

    def issue(self, *args, **kwargs) -> str:
        state = uuid.uuid4().hex
        with self.runtime.unit_of_work() as session:
            installations.issue_state(session, state=state, lifetime=timedelta(seconds=STATE_SECONDS))
        return state

    def consume(self, state: str) -> bool:
        if not state:
            return False
        with self.runtime.unit_of_work() as session:
            return installations.consume_state(session, state=state)


class InstallFlow(OAuthFlow):
    """Bolt's flow; storing an install also creates or reactivates the tenant and makes the installer admin."""

    def __init__(self, *, runtime: Runtime, **kwargs):
        super().__init__(**kwargs)
        self.runtime = runtime

    def store_installation(self, request: BoltRequest, installation: Installation) -> None:
        with self.runtime.unit_of_work() as session:
            done = installations.record_installation(session, cipher=self.runtime.cipher, bot=installed_bot(installation))
        request.context["installed"] = done
        log.info("installed in %s (%s)", installation.team_id or installation.enterprise_id,
                 "again" if done.reinstalled else "new")


def _welcome(clients: SlackClients):
    def success(args: SuccessArgs) -> BoltResponse:
        done = args.request.context.get("installed")
        installation = args.installation
        if done is not None and installation.user_id:
            try:  # best effort: the install is stored whatever Slack answers here
                clients.for_token(installation.bot_token).chat_postMessage(
                    channel=installation.user_id, text=welcome_text(org_wide=done.is_enterprise_install,
                                                                    reinstalled=done.reinstalled))
            except (SlackApiError, SlackClientError, OSError) as exc:
                log.warning("could not welcome the installer of %s: %s", installation.team_id or installation.enterprise_id,
                            type(exc).__name__)
        return args.default.success(args)

    def failure(args: FailureArgs) -> BoltResponse:
        log.info("an install did not complete: %s", args.reason)
        return args.default.failure(args)

    return success, failure


def install_flow(runtime: Runtime, clients: SlackClients) -> InstallFlow:
    """Bolt's OAuth flow with our stores, scopes and welcome; ConfigurationError for a half configuration."""
    s = runtime.settings
    missing = [name for name, value in (("SLACK_CLIENT_ID", s.slack_client_id), ("SLACK_CLIENT_SECRET", s.slack_client_secret),
                                        ("SLACK_SIGNING_SECRET", s.slack_signing_secret)) if not value]
    if missing:
        raise ConfigurationError(f"OAuth mode needs {', '.join(missing)} too: copy them from the Slack app's Basic "
                                 "Information page (or unset SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for single-workspace mode)")
    if s.slack_bot_token:
        raise ConfigurationError("SLACK_BOT_TOKEN and SLACK_CLIENT_ID are both set: keep SLACK_BOT_TOKEN for one workspace, "
                                 "or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to install in any workspace, not both")
    if s.slack_app_token:
        raise ConfigurationError("OAuth mode serves its install pages over HTTP: unset SLACK_APP_TOKEN (Socket Mode is for "
                                 "single-workspace mode and local development)")
    success, failure = _welcome(clients)
    settings = OAuthSettings(
        client_id=s.slack_client_id, client_secret=s.slack_client_secret, scopes=list(BOT_SCOPES), user_scopes=[],
        redirect_uri=s.slack_redirect_uri, install_path=INSTALL_PATH, redirect_uri_path=REDIRECT_PATH,
        installation_store=DatabaseInstallationStore(runtime), state_store=DatabaseStateStore(runtime),
        state_expiration_seconds=STATE_SECONDS, token_rotation_expiration_minutes=ROTATE_MINUTES_BEFORE,
        callback_options=CallbackOptions(success=success, failure=failure),
        logger=log)
    # OAuthSettings' own authorize would refresh tokens at slack.com whatever SLACK_API_URL says: give it our client.
    # Its auth.test answer is cached per token (a rotated token is a new key; an uninstalled workspace is refused
    # before the cache is read), so a request costs no Slack call before its listener runs.
    settings.authorize = InstallationStoreAuthorize(
        logger=log, client_id=s.slack_client_id, client_secret=s.slack_client_secret, client=clients.base,
        installation_store=settings.installation_store, token_rotation_expiration_minutes=ROTATE_MINUTES_BEFORE,
        cache_enabled=True)
    return InstallFlow(runtime=runtime, client=clients.base, logger=log, settings=settings)
