"""Enumerations shared by the models, the services and the delivery layers. Values equal names."""
from __future__ import annotations

import enum


class StrEnum(str, enum.Enum):
    def __str__(self) -> str:
        return self.value


class Role(StrEnum):
    ADMIN = "ADMIN"
    MEMBER = "MEMBER"


class VerificationStatus(StrEnum):
    PENDING = "PENDING"
    VALID = "VALID"
    INVALID = "INVALID"


class ScmType(StrEnum):
    GITHUB = "GITHUB"
    GITLAB = "GITLAB"
    BITBUCKET = "BITBUCKET"


class TargetType(StrEnum):
    APP_STORE = "APP_STORE"
    PLAY_STORE = "PLAY_STORE"


class PipelineType(StrEnum):
    JENKINS = "JENKINS"
    GITHUB_ACTIONS = "GITHUB_ACTIONS"


class CommunicationType(StrEnum):
    SLACK = "SLACK"
    EMAIL = "EMAIL"


class TicketType(StrEnum):
    JIRA = "JIRA"
    LINEAR = "LINEAR"


class IntegrationKind(StrEnum):
    """The five kinds of integration a tenant registers; values are the CLI's words."""

    SCM = "scm"
    TARGET = "target"
    PIPELINE = "pipeline"
    COMMUNICATION = "communication"
    TICKET = "ticket"


class ReleaseType(StrEnum):
    PLANNED = "PLANNED"
    HOTFIX = "HOTFIX"
    MAJOR = "MAJOR"


class ReleaseStatus(StrEnum):
    KICKOFF_PENDING = "KICKOFF_PENDING"
    PENDING = "PENDING"
    STARTED = "STARTED"
    REGRESSION_IN_PROGRESS = "REGRESSION_IN_PROGRESS"
    BUILD_SUBMITTED = "BUILD_SUBMITTED"
    RELEASED = "RELEASED"
    CANCELLED = "CANCELLED"
    ARCHIVED = "ARCHIVED"


# A release in one of these states no longer holds its version: a new one may reuse it.
ENDED_RELEASE_STATUSES = frozenset({ReleaseStatus.CANCELLED, ReleaseStatus.ARCHIVED})


class TargetStatus(StrEnum):
    PENDING = "PENDING"
    BUILDING = "BUILDING"
    SUBMITTED = "SUBMITTED"
    APPROVED = "APPROVED"
    RELEASED = "RELEASED"


class BuildStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class BuildState(StrEnum):
    """The life of one build attempt, finer than the seed's buildStatus."""

    REQUESTED = "REQUESTED"  # intent recorded; the CI has not confirmed it yet
    RUNNING = "RUNNING"      # the CI has it (queued or building)
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    LOST = "LOST"            # the bot could not follow it to its end; a person can retry


TERMINAL_BUILD_STATES = frozenset({BuildState.SUCCESS, BuildState.FAILED, BuildState.CANCELLED, BuildState.LOST})


class NotificationState(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    ABANDONED = "ABANDONED"


class TaskState(StrEnum):
    """A release task's life: owed, done, failed for good (until retried), or skipped by an admin."""

    PENDING = "PENDING"
    DONE = "DONE"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
