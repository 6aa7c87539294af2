"""The release lifecycle as data: which action each status allows, where it leads, and who may take it.

Pure: no database, no Slack. The services in core.services.lifecycle apply these tables (with their
guards, in the transaction of the change); the bot and the CLI read them to show only what is allowed.
"""
from __future__ import annotations

from dataclasses import dataclass

from core.enums import ReleaseStatus as S
from core.enums import StrEnum
from core.errors import ReleasebotError


class Action(StrEnum):
    """Everything that moves a release; the values are the CLI's words and the history's actions."""

    KICKOFF = "kickoff"
    KICKOFF_DONE = "kickoff-done"            # the runner, when the kickoff tasks are done
    START_REGRESSION = "start-regression"
    REGRESSION_PASSED = "regression-passed"
    REGRESSION_FAILED = "regression-failed"
    MARK_SUBMITTED = "target-submitted"      # by hand until store automation
    MARK_APPROVED = "target-approved"
    MARK_RELEASED = "target-released"
    ALL_SUBMITTED = "all-submitted"          # follows the last target submitted
    ALL_RELEASED = "all-released"            # follows the last target released
    MARK_DELAYED = "delay"
    EDIT_DATES = "edit-dates"
    CHANGE_PILOT = "change-pilot"
    CANCEL = "cancel"
    ARCHIVE = "archive"


class Who(StrEnum):
    """The kinds of actor the role table knows; one person may be several (a pilot who is an admin)."""

    ADMIN = "admin"
    PILOT = "pilot"
    CREATOR = "creator"
    MEMBER = "member"
    RUNNER = "runner"  # the bot itself (kickoff at plannedDate, overdue releases, what follows targets)


class TransitionRefusedError(ReleasebotError):
    """The action is not possible in the release's current status, or its guard fails; the message says why."""


class ConcurrentChangeError(TransitionRefusedError):
    """Someone else changed the release first: the message says who did what, and when."""


FINAL = frozenset({S.CANCELLED, S.ARCHIVED})
LIVE = tuple(s for s in S if s not in FINAL)
# Once every store has the version live, cancelling would mean nothing and free a version that is out: archive it.
CANCELLABLE = tuple(s for s in LIVE if s != S.RELEASED)
BEFORE_RELEASE = (S.KICKOFF_PENDING, S.PENDING, S.STARTED, S.REGRESSION_IN_PROGRESS, S.BUILD_SUBMITTED)
SUBMITTING = (S.REGRESSION_IN_PROGRESS, S.BUILD_SUBMITTED)  # once regression passed (a guard)

# (status, action) -> the status it leads to. A pair that is absent is refused. Actions that keep the
# status (dates, pilot, target marks) lead to it; the automatic ones follow the targets.
TRANSITIONS: dict[tuple[S, Action], S] = {
    (S.KICKOFF_PENDING, Action.KICKOFF): S.PENDING,
    (S.PENDING, Action.KICKOFF_DONE): S.STARTED,
    (S.STARTED, Action.START_REGRESSION): S.REGRESSION_IN_PROGRESS,
    (S.REGRESSION_IN_PROGRESS, Action.REGRESSION_PASSED): S.REGRESSION_IN_PROGRESS,
    (S.REGRESSION_IN_PROGRESS, Action.REGRESSION_FAILED): S.STARTED,
    (S.REGRESSION_IN_PROGRESS, Action.MARK_SUBMITTED): S.REGRESSION_IN_PROGRESS,
    (S.REGRESSION_IN_PROGRESS, Action.ALL_SUBMITTED): S.BUILD_SUBMITTED,
    (S.BUILD_SUBMITTED, Action.ALL_RELEASED): S.RELEASED,
    (S.RELEASED, Action.ARCHIVE): S.ARCHIVED,
    **{(s, Action.MARK_APPROVED): s for s in SUBMITTING},
    **{(s, Action.MARK_RELEASED): s for s in SUBMITTING},
    **{(s, Action.MARK_DELAYED): s for s in BEFORE_RELEASE},
    **{(s, Action.EDIT_DATES): s for s in BEFORE_RELEASE},
    **{(s, Action.CHANGE_PILOT): s for s in LIVE},
    **{(s, Action.CANCEL): S.CANCELLED for s in CANCELLABLE},
}

# The actions that change the status (the others keep it): a refusal names the last of them.
STATUS_CHANGES = tuple(dict.fromkeys(action for (status, action), to in TRANSITIONS.items() if to != status))

_STAGE_MOVERS = frozenset({Who.ADMIN, Who.PILOT, Who.CREATOR})
_ADMIN_OR_PILOT = frozenset({Who.ADMIN, Who.PILOT})
_AUTOMATIC = frozenset({Who.RUNNER})
# Who may take each action. Members trigger and retry builds (core.services.builds) and read everything.
ROLES: dict[Action, frozenset[Who]] = {
    Action.KICKOFF: _STAGE_MOVERS | _AUTOMATIC,
    Action.KICKOFF_DONE: _AUTOMATIC,
    Action.START_REGRESSION: _STAGE_MOVERS,
    Action.REGRESSION_PASSED: _STAGE_MOVERS,
    Action.REGRESSION_FAILED: _STAGE_MOVERS,
    Action.MARK_SUBMITTED: _STAGE_MOVERS,
    Action.MARK_APPROVED: _STAGE_MOVERS,
    Action.MARK_RELEASED: _ADMIN_OR_PILOT,
    Action.ALL_SUBMITTED: _AUTOMATIC,
    Action.ALL_RELEASED: _AUTOMATIC,
    Action.MARK_DELAYED: _STAGE_MOVERS | _AUTOMATIC,
    Action.EDIT_DATES: _STAGE_MOVERS,
    Action.CHANGE_PILOT: _STAGE_MOVERS,
    Action.CANCEL: _STAGE_MOVERS,
    Action.ARCHIVE: _ADMIN_OR_PILOT,
}

LABELS = {
    Action.KICKOFF: "kick off", Action.KICKOFF_DONE: "finish kickoff", Action.START_REGRESSION: "start regression",
    Action.REGRESSION_PASSED: "mark regression passed", Action.REGRESSION_FAILED: "mark regression failed",
    Action.MARK_SUBMITTED: "mark a target submitted", Action.MARK_APPROVED: "mark a target approved",
    Action.MARK_RELEASED: "mark a target released", Action.ALL_SUBMITTED: "mark the release submitted",
    Action.ALL_RELEASED: "mark the release released", Action.MARK_DELAYED: "mark it delayed",
    Action.EDIT_DATES: "edit its dates", Action.CHANGE_PILOT: "change its pilot", Action.CANCEL: "cancel it",
    Action.ARCHIVE: "archive it",
}
DONE = {  # how the history line and a loser's message say it happened
    Action.KICKOFF: "kicked off", Action.KICKOFF_DONE: "kickoff finished", Action.START_REGRESSION: "started",
    Action.REGRESSION_PASSED: "passed", Action.REGRESSION_FAILED: "failed", Action.MARK_SUBMITTED: "submitted",
    Action.MARK_APPROVED: "approved", Action.MARK_RELEASED: "released", Action.ALL_SUBMITTED: "submitted",
    Action.ALL_RELEASED: "released", Action.MARK_DELAYED: "delayed", Action.EDIT_DATES: "dates edited",
    Action.CHANGE_PILOT: "pilot changed", Action.CANCEL: "cancelled", Action.ARCHIVE: "archived",
}
STATUS_PHRASES = {
    S.KICKOFF_PENDING: "waiting for kickoff", S.PENDING: "kicking off", S.STARTED: "building",
    S.REGRESSION_IN_PROGRESS: "in regression", S.BUILD_SUBMITTED: "submitted to the stores", S.RELEASED: "released",
    S.CANCELLED: "cancelled", S.ARCHIVED: "archived",
}
NEXT_STEPS = {
    S.KICKOFF_PENDING: "kick it off first", S.PENDING: "wait for the kickoff tasks to finish",
    S.STARTED: "build every target, then start regression",
    S.REGRESSION_IN_PROGRESS: "finish the regression cycle, then submit every target",
    S.BUILD_SUBMITTED: "mark each target approved, then released", S.RELEASED: "archive it",
    S.CANCELLED: "it is over: create a new release of this version", S.ARCHIVED: "it is over: create a new release",
}
# A refusal whose way forward is not the status's usual next step.
REFUSAL_STEPS = {(S.RELEASED, Action.CANCEL): "it is live in the stores already: archive it instead"}


# Builds may run until regression starts, and again once it fails: a build during regression or after
# submission would change what was tested or submitted. (Before kickoff too, as builds did before the lifecycle.)
BUILDS_ALLOWED = frozenset({S.KICKOFF_PENDING, S.PENDING, S.STARTED})
BUILD_HINTS = {S.REGRESSION_IN_PROGRESS: "mark regression failed to build again",
               S.BUILD_SUBMITTED: "its builds are at the stores", S.RELEASED: "it is in the stores"}


@dataclass(frozen=True)
class Actor:
    """Who is acting, as the role table sees them: `name` for messages, `kinds` from the release's point of view."""

    account_id: str | None
    name: str
    kinds: frozenset[Who]


def next_status(status: S, action: Action) -> S | None:
    """The status `action` leads to from `status`, or None when the table refuses it."""
    return TRANSITIONS.get((status, action))


def allowed_actions(status: S, kinds: frozenset[Who]) -> list[Action]:
    """The actions these kinds of actor may take in this status (what the card shows as buttons)."""
    return [a for a in Action if next_status(status, a) is not None and kinds & ROLES[a]]


def refusal(release_key: str, status: S, action: Action, *, since: str = "") -> str:
    """Why the table refuses `action` in `status` (`since`: who made it so, and when), with the way forward."""
    step = REFUSAL_STEPS.get((status, action), NEXT_STEPS[status])
    return f"cannot {LABELS[action]}: {release_key} is {STATUS_PHRASES[status]}{since}; {step}"


def build_refusal(release_key: str, status: S) -> str:
    """Why no new build of this release may start now."""
    return f"release {release_key} is {STATUS_PHRASES[status]}: no new builds ({BUILD_HINTS.get(status, NEXT_STEPS[status])})"


def who_may(action: Action, *, pilot: str | None, creator: str) -> str:
    """The people who may take `action` on a release, by name (e.g. for a refusal)."""
    allowed = ROLES[action]
    if allowed == _AUTOMATIC:
        return "releasebot itself"
    names = []
    if Who.PILOT in allowed and pilot:
        names.append(f"the release pilot ({pilot})")
    if Who.CREATOR in allowed:
        names.append(f"its creator ({creator})")
    names.append("a workspace admin")
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]


def permission_message(action: Action, *, pilot: str | None, creator: str) -> str:
    """The refusal a person without the role gets: it names who may."""
    return f"only {who_may(action, pilot=pilot, creator=creator)} can {LABELS[action]}"
