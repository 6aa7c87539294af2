"""What every kind of work shares: the runtime, where Slack is, who this worker is, its pace, and the
CI/SCM clients it reuses."""
from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple, Protocol

from core.enums import BuildState
from core.integrations.base import IntegrationConfig
from core.integrations.registry import build_client
from core.runtime import Runtime
from core.services.card_view import CardView
from core.services.changelog import ChangelogFacts, KickoffFacts
from core.services.home import Home
from core.services.releases import ReleaseView
from core.services.verification import VerificationOutcome

CLIENT_CACHE_SIZE = 256


@dataclass(frozen=True)
class CardJob:
    """One card to post or redraw, as the Slack side needs it."""

    view: CardView
    channel_id: str
    message_ts: str | None
    requester_slack_id: str | None
    origin_channel_id: str | None
    first_attempt: bool
    # Set when an earlier attempt may have posted it (Slack's answer lost, or its worker gone): look from then first.
    maybe_posted_since: datetime | None = None

    @property
    def release(self) -> ReleaseView:
        return self.view.release


class PostedCard(NamedTuple):
    """Where a card is in Slack; `permalink` is asked for when the card is first posted (None on a redraw)."""

    channel: str
    ts: str
    permalink: str | None = None


@dataclass(frozen=True)
class BuildFacts:
    """One build attempt as an announcement tells it."""

    id: str
    attempt: int
    pipeline_name: str
    release_pipeline_id: str
    state: BuildState
    number: str | None
    url: str | None
    log_url: str | None
    artifact_url: str | None
    duration_seconds: int | None
    error: str | None
    triggered_by_slack_user: str | None
    triggered_by_name: str | None
    aborted_by_name: str | None = None


@dataclass(frozen=True)
class EventFacts:
    """One change of a release (a row of its history) as its thread line tells it."""

    action: str
    from_value: str | None
    to_value: str | None
    detail: str | None
    actor_slack_user: str | None  # None with no name: the bot itself
    actor_name: str | None
    pilot_slack_user: str | None  # whom the bot asks when it needs a person (an overdue release)
    # A reminder addresses the pilot by name in an email, the creator when there is no pilot, and links the card.
    pilot_name: str | None = None
    creator_slack_user: str | None = None
    creator_name: str | None = None
    card_link: str | None = None


@dataclass(frozen=True)
class Announcement:
    kind: str  # TRIGGERED or FINISHED (a build), EVENT (a change of the release), CHANGELOG or KICKOFF
    release: ReleaseView
    build: BuildFacts | None = None
    event: EventFacts | None = None
    kickoff: ChangelogFacts | KickoffFacts | None = None  # the changelog, or the kickoff message's facts
    card: tuple[str, str] | None = None  # the posted card's channel and ts: a reply goes in its thread
    notice_id: str | None = None  # the owed notification it delivers: the message's metadata names it
    maybe_posted_since: datetime | None = None  # as CardJob's: an earlier attempt may have posted it


class Announcer(Protocol):
    """Where releases are shown and told about (Slack, implemented by the bot)."""

    def announce(self, announcement: Announcement) -> str | None:
        """Post a thread reply once; returns its ts (None when not sent to Slack). Raises IntegrationError
        (retryable or not) when it could not be posted."""

    def publish(self, job: CardJob) -> PostedCard:
        """Post the card (or redraw it when `message_ts` is set); returns where it is. Raises IntegrationError."""

    def tell_requester(self, job: CardJob, *, posted: PostedCard | None, error: str | None) -> None:
        """Tell whoever asked for the card where it is, or why it is not there yet (best effort)."""

    def tell_verification(self, outcome: VerificationOutcome) -> None:
        """Tell the admin who asked how a verification ended (their modal, else a direct message)."""

    def publish_home(self, home: Home) -> None:
        """Publish a person's App Home tab (views.publish). Raises IntegrationError (retryable or not)."""


class ClientCache:
    """Provider clients reused across rounds (a new Jenkins client fetches a crumb), keyed by
    everything they are built from, so new credentials or a new URL get a new client."""

    def __init__(self, runtime: Runtime, size: int = CLIENT_CACHE_SIZE):
        self.runtime, self.size = runtime, size
        self._clients: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, kind, config: IntegrationConfig):
        key = hashlib.sha256(json.dumps([kind.value, config.id, config.provider, config.base_url, config.fields,
                                         config.settings, config.secrets], sort_keys=True, default=str).encode()).hexdigest()
        with self._lock:
            client = self._clients.get(key)
            if client is not None:
                self._clients.move_to_end(key)
                return client
        client = build_client(kind, config, self.runtime.provider_context)
        with self._lock:
            self._clients[key] = client
            while len(self._clients) > self.size:
                self._clients.popitem(last=False)
        return client


@dataclass
class RunnerContext:
    """Shared by the kinds of work of one runner."""

    runtime: Runtime
    announcer: Announcer
    worker: str
    interval: float
    lease: timedelta
    max_failures: int
    max_duration: timedelta
    wake: Callable[[], None]
    clients: ClientCache = field(init=False)

    def __post_init__(self):
        self.clients = ClientCache(self.runtime)
