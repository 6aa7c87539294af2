"""A Play target's release settings, and what its track's releases mean in the store protocol's words.
Pure: no HTTP (the client that reads and writes the track is core.integrations.target_play_store)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.enums import TargetStatus
from core.errors import IntegrationError
from core.integrations.stores import StoreAction, StorePhase, StoreState

DEFAULT_TRACK = "production"
DEFAULT_STEPS = (1.0, 5.0, 10.0, 20.0, 50.0, 100.0)  # rollout percentages Increase climbs through
MARK_RELEASED = ("everyone", "rollout")
ROLLED_OUT = ("inProgress", "halted", "completed")  # statuses of a release users have been offered
NO_REVIEW_STATE = "sent for review; Play does not report review progress"


@dataclass(frozen=True)
class PlaySettings:
    """A Play target's release settings (all optional, as strings in the integration's settings)."""

    track: str = DEFAULT_TRACK
    steps: tuple[float, ...] = DEFAULT_STEPS
    default_percent: float = DEFAULT_STEPS[0]
    version_code_offset: int = 0
    mark_released: str = "everyone"
    notes_language: str = "en-US"

    @classmethod
    def parse(cls, settings: Mapping[str, object] | None) -> PlaySettings:
        """The settings, or IntegrationError naming the one that is wrong and how to write it."""
        raw = {k: str(v).strip() for k, v in (settings or {}).items() if v is not None and str(v).strip()}
        steps = _percentages(raw["rolloutSteps"]) if "rolloutSteps" in raw else DEFAULT_STEPS
        default = _percentages(raw["defaultRolloutPercent"], name="defaultRolloutPercent", one=True)[0] \
            if "defaultRolloutPercent" in raw else steps[0]
        try:
            offset = int(raw.get("versionCodeOffset", "0"))
        except ValueError:
            raise IntegrationError("versionCodeOffset must be a whole number (added to the build number to make "
                                   "the version code), e.g. 1000000") from None
        mark_released = raw.get("markReleased", "everyone").lower()
        if mark_released not in MARK_RELEASED:
            raise IntegrationError("markReleased must be everyone (the target is RELEASED when the rollout reaches "
                                   "100 %) or rollout (as soon as users start getting it)")
        return cls(raw.get("track", DEFAULT_TRACK), steps, default, offset, mark_released,
                   raw.get("releaseNotesLanguage", "en-US"))

    def version_code(self, build_number: str | None) -> str:
        """The version code of the pipeline's build: its build number plus versionCodeOffset."""
        try:
            code = int(str(build_number)) + self.version_code_offset
        except ValueError:
            raise IntegrationError(f"the build number {build_number!r} is not a whole number, so it cannot be the "
                                   "Play version code: make the pipeline report its versionCode") from None
        if not 0 < code <= 2100000000:
            raise IntegrationError(f"version code {code} is outside Play's range (1 to 2100000000): check "
                                   "versionCodeOffset")
        return str(code)

    def next_percent(self, fraction: float | None) -> float:
        """The ladder's next step above a rollout fraction (100 when none is left)."""
        current = (fraction or 0) * 100
        return next((step for step in self.steps if step > current + 1e-9), 100.0)


def _percentages(value: str, *, name: str = "rolloutSteps", one: bool = False) -> tuple[float, ...]:
    try:
        steps = tuple(float(part.strip().rstrip("%")) for part in value.split(","))
    except ValueError:
        steps = ()
    if one and (len(steps) != 1 or any(not 0 < s <= 100 for s in steps)):
        raise IntegrationError(f"{name} must be one percentage above 0 and at most 100, e.g. 5")
    if not steps or any(not 0 < s <= 100 for s in steps) or list(steps) != sorted(set(steps)):
        raise IntegrationError(f"{name} must be percentages above 0 and at most 100, rising, separated by commas "
                               "(e.g. 1, 5, 10, 20, 50, 100)")
    return steps


def state_of(releases: list[dict], version_code: str, settings: PlaySettings) -> StoreState:
    """What the track says of the build's version code, in the store protocol's words.

    Play's API has no review state: once committed a release is sent for review, and it counts as live
    when the track offers it (inProgress) or gives it to everyone (completed)."""
    release = find_release(releases, version_code)
    status = release["status"] if release else None
    where = f"the {settings.track} track" if settings.track != DEFAULT_TRACK else "production"
    if status not in ROLLED_OUT:
        return StoreState(StorePhase.NONE, f"Version code {version_code} is not on {where} yet",
                          (StoreAction.SUBMIT,), None,
                          hints={StoreAction.SUBMIT: f"Put version code {version_code} on {where}"})
    if status == "completed":
        return StoreState(StorePhase.LIVE, f"Released to everyone on {where} ({NO_REVIEW_STATE})", (),
                          TargetStatus.RELEASED, rollout_percent=100.0)
    percent = round(float(release["userFraction"]) * 100, 4)
    started = TargetStatus.RELEASED if settings.mark_released == "rollout" else TargetStatus.SUBMITTED
    everyone = {StoreAction.COMPLETE: f"Release version code {version_code} to everyone on {where} (100 %)"}
    if status == "halted":
        return StoreState(StorePhase.ROLLING_OUT, f"Rollout halted at {percent:g} % on {where} ({NO_REVIEW_STATE})",
                          (StoreAction.RESUME, StoreAction.COMPLETE), started, rollout_percent=percent, paused=True,
                          hints={StoreAction.RESUME: f"Resume the rollout at {percent:g} %", **everyone})
    following = settings.next_percent(percent / 100)
    return StoreState(StorePhase.ROLLING_OUT, f"Rolling out to {percent:g} % on {where} ({NO_REVIEW_STATE})",
                      (StoreAction.INCREASE, StoreAction.HALT, StoreAction.COMPLETE), started, rollout_percent=percent,
                      hints={StoreAction.INCREASE: f"Roll out to {following:g} % of users"
                             + (" (everyone)" if following >= 100 else ""),
                             StoreAction.HALT: "Stop offering it to more users", **everyone})


def find_release(releases: list[dict], version_code: str) -> dict | None:
    """The track's release that ships `version_code`, if any."""
    return next((r for r in releases if version_code in [str(c) for c in r.get("versionCodes") or []]), None)


def with_status(release: dict, status: str, user_fraction: float | None = None) -> dict:
    """The same release (name, notes, priority kept: Play refuses a changed priority) in a new status."""
    changed = {k: v for k, v in release.items() if k not in ("status", "userFraction")}
    changed["status"] = status
    if status != "completed":
        changed["userFraction"] = user_fraction if user_fraction is not None else release["userFraction"]
    return changed
