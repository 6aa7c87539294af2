"""One error hierarchy for core. Delivery layers (CLI, Slack) map these to answers."""
from __future__ import annotations

from dataclasses import dataclass


class ReleasebotError(Exception):
    """Base class: anything core raises on purpose. Its message is safe to show a person."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, tied to the field it concerns."""

    field: str
    message: str


class ValidationError(ReleasebotError):
    """The input has one or more problems; each names its field."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]):
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in self.problems))

    def by_field(self) -> dict[str, str]:
        """Problems keyed by field; several on one field are joined."""
        out: dict[str, str] = {}
        for p in self.problems:
            out[p.field] = f"{out[p.field]} {p.message}" if p.field in out else p.message
        return out


class ConflictError(ValidationError):
    """The input clashes with data that already exists (e.g. a live release of the same version)."""


class NotFoundError(ReleasebotError):
    """The thing asked for does not exist for this tenant."""


class InUseError(ReleasebotError):
    """The thing cannot be removed because other data depends on it."""


class PermissionDeniedError(ReleasebotError):
    """The actor's role does not allow this action."""


class ConfigurationError(ReleasebotError):
    """The bot is not configured to do this (a missing key, a bad URL)."""


class IntegrationError(ReleasebotError):
    """A remote system refused or failed; the message says what to fix, never a secret."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False,
                 retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.retry_after = retry_after


class NotInstalledError(IntegrationError):
    """The workspace has no active Slack installation (it uninstalled the app or revoked its token):
    what is owed to it is dropped with this reason, not retried."""
