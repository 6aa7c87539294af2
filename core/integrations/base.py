"""The small interface each kind of provider implements. Clients raise core.errors.IntegrationError."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from core.enums import BuildStatus
from core.errors import IntegrationError
from core.integrations.network import Dialer, NetworkGuard, Resolver, system_dialer, system_resolver


@dataclass(frozen=True)
class ProviderContext:
    """What clients need from the bot's configuration rather than from the integration row.

    `resolver` and `dialer` are how every client finds and reaches a host; tests inject them to
    play public DNS answers and route "public" addresses to local servers."""

    allow_private_networks: bool = False
    slack_api_url: str = "https://slack.com/api/"
    slack_bot_token: str | None = None
    timeout: float = 15.0
    resolver: Resolver = field(default=system_resolver, repr=False, compare=False)
    dialer: Dialer = field(default=system_dialer, repr=False, compare=False)

    @property
    def guard(self) -> NetworkGuard:
        """The private-network guard every client connects through."""
        return NetworkGuard(self.allow_private_networks, self.resolver, self.dialer)


@dataclass(frozen=True)
class IntegrationConfig:
    """An integration row's non-secret data and its decrypted secrets, as a client gets them."""

    id: str
    provider: str
    display_name: str
    base_url: str | None
    fields: dict[str, Any]
    settings: dict[str, Any]
    secrets: dict[str, str] = field(repr=False)


class Verifiable(Protocol):
    def verify(self) -> None:
        """Prove the credentials work for this integration; raise IntegrationError saying what to fix."""


@dataclass(frozen=True)
class Commit:
    """One commit as a changelog lists it: its title is the message's first line."""

    sha: str
    title: str
    author: str
    url: str | None


@dataclass(frozen=True)
class Comparison:
    """What a branch has that a base has not: the newest commits first, at most the limit asked for."""

    commits: tuple[Commit, ...]
    total: int | None  # how many there are in all; None when the SCM does not count them and some were left
    url: str | None  # the SCM's own page for the comparison (or the branch's history)


def history_url(commit_url: str | None, marker: str, head_ref: str) -> str | None:
    """The web page of a branch's history, from one of its commits' page (`…/commit/<sha>` → `…/commits/<ref>`)."""
    if not commit_url or marker not in commit_url:
        return None
    return f"{commit_url.rsplit(marker, 1)[0]}{marker.replace('commit', 'commits')}{head_ref}"


class ScmClient(Verifiable, Protocol):
    def branch_head(self, branch: str) -> str:
        """The commit sha a branch points at."""

    def create_branch(self, name: str, from_branch: str) -> str:
        """Create `name` at `from_branch`'s head (idempotent at the same commit); returns the sha."""

    def compare(self, base_ref: str | None, head_ref: str, limit: int) -> Comparison:
        """The commits `head_ref` has and `base_ref` has not (None: head's newest `limit`), newest first."""


def ensure_branch(scm: ScmClient, name: str, from_branch: str) -> str:
    """`name`'s head, creating it from `from_branch` if it does not exist yet. A release branch that
    has moved on since it was cut (fixes pushed to it) is used as it is."""
    try:
        return scm.branch_head(name)
    except IntegrationError as exc:
        if exc.status != 404:
            raise
    return scm.create_branch(name, from_branch)


class TargetClient(Verifiable, Protocol):
    pass


@dataclass(frozen=True)
class BuildRef:
    """Where a triggered build can be found: a Jenkins queue item / build, a GitHub run."""

    queue_id: str | None = None
    build_number: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class BuildState:
    """A build as the CI sees it now."""

    status: BuildStatus
    build_number: str | None = None
    url: str | None = None
    log_url: str | None = None
    artifact_url: str | None = None
    duration_seconds: float | None = None


class PipelineClient(Verifiable, Protocol):
    def trigger(self, *, params: dict[str, str], idempotency_key: str) -> BuildRef:
        """Start a build with `params`; the CI keeps `idempotency_key` so the build can be found again."""

    def state(self, ref: BuildRef) -> BuildState:
        """The build's current state (RUNNING while queued or building)."""

    def find(self, idempotency_key: str) -> BuildRef | None:
        """The build started with this key, if the CI has one."""

    def stop(self, ref: BuildRef) -> None:
        """Abort the build."""


class CommunicationClient(Verifiable, Protocol):
    def post(self, text: str, *, blocks: list[dict] | None = None, thread: str | None = None) -> str | None:
        """Send a message; returns an id to thread under, where the medium has one."""


@dataclass(frozen=True)
class Ticket:
    key: str
    url: str | None = None


class TicketClient(Verifiable, Protocol):
    def find_epic(self, marker: str) -> Ticket | None:
        """The epic this bot opened with `marker` (a label or title mark unique to a release and platform), if any."""

    def create_epic(self, *, title: str, description: str, marker: str | None = None) -> Ticket:
        """Create an epic (Jira) or issue (Linear) for a release, carrying `marker` for find_epic."""

    def close_epic(self, key: str) -> bool:
        """Move the epic to the tracker's done state; False when it was done already."""
