"""The store protocol both store clients implement (App Store Connect, Google Play), and the words the
rest of releasebot uses about a target at its store. Pure: no database, no Slack.

`perform` reads the store's truth first and makes no write whose effect already holds: that is what
makes a retried click, a Slack retry or a runner restarted in the middle do the work once."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from core.enums import StrEnum, TargetStatus
from core.errors import IntegrationError
from core.integrations.base import Verifiable


class StoreAction(StrEnum):
    """What a person may ask of a target's store; the values are stored and used in action ids."""

    SUBMIT = "submit"
    RESUBMIT = "resubmit"  # App Store, after a rejection
    RELEASE = "release"  # App Store: release a version approved for manual release
    PAUSE = "pause"  # App Store phased release
    RESUME = "resume"  # a paused phased release, a halted Play rollout
    COMPLETE = "complete"  # App Store "release to everyone", Play "complete" (100 %)
    INCREASE = "increase"  # Play: the next step of the rollout ladder
    HALT = "halt"  # Play


class StorePhase(StrEnum):
    """Where a version stands at its store, in words common to both stores."""

    NONE = "NONE"  # nothing submitted for this version yet
    PREPARING = "PREPARING"  # at the store, not in review yet
    IN_REVIEW = "IN_REVIEW"  # waiting for review, in review (Play: sent, no progress reported)
    REJECTED = "REJECTED"
    APPROVED = "APPROVED"  # review passed; waiting for a person to release
    ROLLING_OUT = "ROLLING_OUT"  # live to part of the users (phased day, userFraction), maybe paused
    LIVE = "LIVE"  # live to everyone: nothing more to follow


FINAL_PHASES = frozenset({StorePhase.LIVE})
# Submitting, increasing a rollout and releasing to everyone say what will happen and ask; stopping is one click.
CONFIRMED = frozenset({StoreAction.SUBMIT, StoreAction.RESUBMIT, StoreAction.INCREASE, StoreAction.COMPLETE,
                       StoreAction.RELEASE})
LABELS = {StoreAction.SUBMIT: "Submit for review", StoreAction.RESUBMIT: "Resubmit", StoreAction.RELEASE: "Release",
          StoreAction.PAUSE: "Pause", StoreAction.RESUME: "Resume", StoreAction.COMPLETE: "Release to everyone",
          StoreAction.INCREASE: "Increase rollout", StoreAction.HALT: "Halt"}
DOING = {StoreAction.SUBMIT: "submitting", StoreAction.RESUBMIT: "resubmitting", StoreAction.RELEASE: "releasing",
         StoreAction.PAUSE: "pausing", StoreAction.RESUME: "resuming", StoreAction.COMPLETE: "releasing to everyone",
         StoreAction.INCREASE: "increasing the rollout", StoreAction.HALT: "halting"}


@dataclass(frozen=True)
class StoreFacts:
    """What a store client is told about the target: the release's version, the build, the target's
    settings, and the store ids earlier states returned."""

    version: str
    build_number: str | None
    settings: dict[str, Any]
    store_ids: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StoreState:
    """A target as its store sees it now, and what may be done next."""

    phase: StorePhase
    line: str  # one line for the card and the thread
    allowed: tuple[StoreAction, ...]
    target_status: TargetStatus | None  # how far the release target has come (None: not at the store yet)
    rollout_percent: float | None = None
    phased_day: int | None = None
    paused: bool = False
    reason: str | None = None  # why review rejected it
    store_ids: dict[str, str] = field(default_factory=dict)
    hints: dict[StoreAction, str] = field(default_factory=dict)  # what each allowed action will do, in words


class StoreWaiting(IntegrationError):
    """The store is not ready yet (a build still processing): the runner tries again later without
    counting a failed attempt."""

    def __init__(self, message: str):
        super().__init__(message, retryable=True)


class StoreClient(Verifiable, Protocol):
    def read_state(self, facts: StoreFacts) -> StoreState:
        """The version's state at the store now."""

    def perform(self, action: StoreAction, params: dict[str, Any], facts: StoreFacts) -> StoreState:
        """Do `action` (reading the store first: nothing done twice) and return the state after it."""
