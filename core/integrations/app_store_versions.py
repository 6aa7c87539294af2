"""What App Store Connect's answers about a version mean, in the store protocol's words, and a target's store
settings. Pure: no HTTP (the client that asks is core.integrations.target_app_store)."""
from __future__ import annotations

from typing import Any

from core.enums import TargetStatus
from core.errors import IntegrationError
from core.integrations.stores import StoreAction, StoreFacts, StorePhase, StoreState

PHASED_PERCENT = {1: 1, 2: 2, 3: 5, 4: 10, 5: 20, 6: 50, 7: 100}  # Apple's 7-day ramp
IN_REVIEW = {"WAITING_FOR_REVIEW": "Waiting for review", "IN_REVIEW": "In review", "READY_FOR_REVIEW": "Waiting for review",
             "WAITING_FOR_EXPORT_COMPLIANCE": "Waiting for export compliance"}
REJECTED = {"REJECTED": "App Review rejected it: read the reasons in App Store Connect's Resolution Center",
            "METADATA_REJECTED": "App Review rejected its metadata: read the reasons in the Resolution Center",
            "INVALID_BINARY": "Apple found the binary invalid: upload a new build",
            "DEVELOPER_REJECTED": "it was withdrawn from review in App Store Connect"}
APPROVED = {"PENDING_DEVELOPER_RELEASE": "Approved: waiting for release", "PENDING_APPLE_RELEASE": "Approved: Apple releases it",
            "ACCEPTED": "Approved", "PROCESSING_FOR_DISTRIBUTION": "Approved: processing for the App Store"}
LIVE = ("READY_FOR_DISTRIBUTION", "READY_FOR_SALE")


def state_of(app_id: str, version: dict | None, facts: StoreFacts) -> StoreState:
    """What App Store Connect says of the release's version (None: there is none), in the store protocol's words."""
    ids = {"appId": app_id}
    if version is None:
        return StoreState(StorePhase.NONE, "Not submitted", (StoreAction.SUBMIT,), None, store_ids=ids)
    data, phased = version["data"], phased_release(version)
    ids["appStoreVersionId"] = data["id"]
    state = version_state(data)
    if state == "PREPARE_FOR_SUBMISSION":
        return StoreState(StorePhase.PREPARING, "Prepared, not submitted", (StoreAction.SUBMIT,), None, store_ids=ids)
    if state in IN_REVIEW:
        return StoreState(StorePhase.IN_REVIEW, IN_REVIEW[state], (), TargetStatus.SUBMITTED, store_ids=ids)
    if state in REJECTED:
        return StoreState(StorePhase.REJECTED, "Rejected", (StoreAction.RESUBMIT,), TargetStatus.SUBMITTED,
                          reason=REJECTED[state], store_ids=ids,
                          hints={StoreAction.RESUBMIT: f"Version {facts.version} goes back to App Review."})
    if state in APPROVED:
        allowed = (StoreAction.RELEASE,) if state == "PENDING_DEVELOPER_RELEASE" else ()
        phased_word = " in phases over 7 days" if phased is not None else " to everyone"
        return StoreState(StorePhase.APPROVED, APPROVED[state], allowed, TargetStatus.APPROVED, store_ids=ids,
                          hints={StoreAction.RELEASE: f"Version {facts.version} is released on the App Store{phased_word}."})
    if state in LIVE:
        return _live(phased, facts, ids)
    return StoreState(StorePhase.PREPARING, f"App Store Connect says {words(state)}", (), None, store_ids=ids)


def _live(phased: dict | None, facts: StoreFacts, ids: dict[str, str]) -> StoreState:
    phase_state = attr(phased, "phasedReleaseState") if phased else "COMPLETE"
    if phase_state in ("COMPLETE", None, "INACTIVE"):
        return StoreState(StorePhase.LIVE, "Live on the App Store to everyone", (), TargetStatus.RELEASED,
                          rollout_percent=100.0, store_ids=ids)
    day = int(attr(phased, "currentDayNumber") or 1)
    percent = PHASED_PERCENT.get(day, 100)
    paused = phase_state == "PAUSED"
    line = f"Phased release day {day} of 7 ({percent} % of automatic updates)" + (", paused" if paused else "")
    marked = TargetStatus.RELEASED if store_settings(facts.settings)["markReleased"] == "rollout" else TargetStatus.APPROVED
    allowed = ((StoreAction.RESUME,) if paused else (StoreAction.PAUSE,)) + (StoreAction.COMPLETE,)
    return StoreState(StorePhase.ROLLING_OUT, line, allowed, marked, rollout_percent=float(percent), phased_day=day,
                      paused=paused, store_ids={**ids, "phasedReleaseId": phased["id"]},
                      hints={StoreAction.COMPLETE: f"Version {facts.version} goes to every user now, ending the 7-day ramp "
                                                   f"at day {day}."})


def attr(resource: dict | None, name: str) -> Any:
    """An attribute of a JSON:API resource (None when either is missing)."""
    return ((resource or {}).get("attributes") or {}).get(name)


def version_state(version: dict) -> str:
    """A version's review state, under its current name or the older one."""
    return attr(version, "appVersionState") or attr(version, "appStoreState") or "PREPARE_FOR_SUBMISSION"


def words(state: str | None) -> str:
    """A state's name as words for a person (READY_FOR_SALE: ready for sale)."""
    return (state or "nothing").replace("_", " ").lower()


def related_id(resource: dict, name: str) -> str | None:
    """The id a resource's relationship points at, if any."""
    data = (((resource.get("relationships") or {}).get(name) or {}).get("data")) or {}
    return data.get("id") if isinstance(data, dict) else None


def phased_release(version: dict) -> dict | None:
    """The version's phased release, from the resources included with it."""
    wanted = related_id(version["data"], "appStoreVersionPhasedRelease")
    return next((r for r in version.get("included") or []
                 if r.get("type") == "appStoreVersionPhasedReleases" and r.get("id") == wanted), None) if wanted else None


TRUE = ("true", "yes", "1", "on")


def store_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The target's store settings, with their defaults: phasedRelease (false), releaseType (MANUAL),
    markReleased (everyone: the target is RELEASED when every user gets it; rollout: when the ramp starts)."""
    release_type = str(settings.get("releaseType") or "MANUAL").upper()
    if release_type not in ("MANUAL", "AFTER_APPROVAL"):
        raise IntegrationError(f"the App Store target's releaseType setting is {release_type}: use MANUAL or AFTER_APPROVAL")
    mark = str(settings.get("markReleased") or "everyone").lower()
    if mark not in ("everyone", "rollout"):
        raise IntegrationError(f"the App Store target's markReleased setting is {mark}: use everyone or rollout")
    return {"releaseType": release_type, "phasedRelease": str(settings.get("phasedRelease") or "").lower() in TRUE,
            "markReleased": mark}
