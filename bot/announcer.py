"""The follower's Slack side: thread replies under the card (by email for an email release), and the card redrawn in place."""
from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.blocks.email import email_of
from bot.blocks.home import home_view
from bot.blocks.integrations import verification_text, verified_modal
from bot.blocks.notices import notice_blocks, notice_text
from bot.cards import publish_card, tell_requester
from bot.clients import SlackClients
from bot.posted import find_posted, notice_metadata
from core.enums import CommunicationType, IntegrationKind
from core.errors import IntegrationError, NotInstalledError
from core.integrations.registry import build_client
from core.models import CommunicationIntegration
from core.runner.context import Announcement, CardJob, PostedCard
from core.runtime import Runtime
from core.services.home import Home
from core.services.verification import VerificationOutcome, config_of

log = logging.getLogger("releasebot.announcer")


# What Slack answers once a workspace uninstalled the app or revoked its token (OAuth mode).
GONE = ("token_revoked", "account_inactive", "invalid_auth", "team_access_revoked", "app_uninstalled")


def _translate(exc: Exception, *, oauth: bool = False) -> IntegrationError:
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        retry_after = float(exc.response.headers.get("Retry-After", 0) or 0) or None
        error = exc.response.get("error") or "error"
        if oauth and error in GONE:
            return NotInstalledError(f"releasebot is not installed in this workspace any more (Slack answered {error})")
        return IntegrationError(f"Slack refused the message ({error})", status=status,
                                retryable=status == 429 or status >= 500, retry_after=retry_after)
    return IntegrationError(f"cannot reach Slack ({type(exc).__name__})", retryable=True)


class SlackAnnouncer:
    """Thread replies and release cards, through the Web API."""

    def __init__(self, clients: SlackClients | WebClient, runtime: Runtime):
        """`clients` picks each tenant's client; a WebClient alone serves every tenant (single-workspace mode)."""
        self.clients = clients if isinstance(clients, SlackClients) else SlackClients.single_workspace(runtime, clients)
        self.runtime = runtime
        self.oauth = self.clients.single is None

    @property
    def client(self) -> WebClient | None:
        """The single-workspace client (None in OAuth mode, where each tenant has its own)."""
        return self.clients.single

    def announce(self, a: Announcement) -> str | None:
        """Post the announcement in the card's thread (or the release's channel), unless an earlier attempt did;
        returns its ts. Emailed for an email release (None)."""
        if a.release.communication and a.release.communication.type == CommunicationType.EMAIL:
            return self._email(a)
        channel, thread = a.card or (a.release.channelId, None)
        if channel is None:
            log.info("release %s has no channel: nothing to announce", a.release.releaseKey)
            return None
        client = self.clients.for_tenant(a.release.tenantId)
        metadata = notice_metadata(a.notice_id) if a.notice_id else None
        try:
            if metadata and a.maybe_posted_since:  # an earlier attempt may have posted it: look before posting again
                found = find_posted(client, channel=channel, metadata=metadata, since=a.maybe_posted_since, thread_ts=thread)
                if found:
                    return found
            return client.chat_postMessage(channel=channel, thread_ts=thread, text=notice_text(a), blocks=notice_blocks(a),
                                           unfurl_links=False, metadata=metadata)["ts"]
        except (SlackApiError, SlackClientError, OSError) as exc:
            raise _translate(exc, oauth=self.oauth) from None

    def _email(self, a: Announcement) -> None:
        # Built per message: SMTP connects per message anyway, and a changed integration applies at once.
        with self.runtime.reading() as session:
            row = session.get(CommunicationIntegration, a.release.communication.id)
            if row is None or row.tenantId != a.release.tenantId:
                raise IntegrationError(f"the email integration of {a.release.releaseKey} no longer exists")
            config = config_of(session, IntegrationKind.COMMUNICATION, row, self.runtime.cipher)
        mail = email_of(a)
        build_client(IntegrationKind.COMMUNICATION, config, self.runtime.provider_context).send(
            subject=mail.subject, text=mail.text, html=mail.html)

    def publish(self, job: CardJob) -> PostedCard:
        """Post or redraw a release card."""
        client = self.clients.for_tenant(job.release.tenantId)
        try:
            return publish_card(client, job)
        except (SlackApiError, SlackClientError, OSError) as exc:
            raise _translate(exc, oauth=self.oauth) from None

    def tell_requester(self, job: CardJob, *, posted: PostedCard | None, error: str | None) -> None:
        try:
            client = self.clients.for_tenant(job.release.tenantId)
        except IntegrationError:  # uninstalled: nobody to tell
            return
        tell_requester(client, job, posted=posted, error=error)

    def tell_verification(self, outcome: VerificationOutcome) -> None:
        """The outcome in the admin's modal if it is still open, else in a direct message."""
        try:
            client = self.clients.for_tenant(outcome.tenant_id)
        except IntegrationError:  # uninstalled: nobody to tell
            return
        if outcome.view_id:
            try:
                client.views_update(view_id=outcome.view_id, view=verified_modal(outcome.view, outcome.problem))
                return
            except (SlackApiError, SlackClientError, OSError) as exc:  # closed meanwhile: a message instead
                log.info("could not update the verification's modal (%s): sending a message",
                         exc.response.get("error") if isinstance(exc, SlackApiError) else type(exc).__name__)
        client.chat_postMessage(channel=outcome.notify_slack_user, text=verification_text(outcome.view, outcome.problem))

    def publish_home(self, home: Home) -> None:
        """Publish a person's Home tab; a 429 the client's own retries could not ride out goes back to the runner,
        which publishes again after Retry-After."""
        client = self.clients.for_tenant(home.tenant_id)
        try:
            client.views_publish(user_id=home.slack_user_id, view=home_view(home))
        except (SlackApiError, SlackClientError, OSError) as exc:
            raise _translate(exc, oauth=self.oauth) from None
