"""Reading a submitted (or half-filled) view's state into core's primitives."""
from __future__ import annotations

from datetime import date

from bot.ids import ActionId, BlockId
from core.services.releases import ReleaseDraft


def _value(state: dict, block: BlockId, action: ActionId) -> dict:
    return (state.get(block) or {}).get(action) or {}


def selected(state: dict, block: BlockId, action: ActionId) -> str | None:
    """The value of a single select, if chosen."""
    return (_value(state, block, action).get("selected_option") or {}).get("value")


def selected_many(state: dict, block: BlockId, action: ActionId) -> tuple[str, ...]:
    """The values of a multi select."""
    return tuple(o["value"] for o in _value(state, block, action).get("selected_options") or [])


def typed(state: dict, block: BlockId, action: ActionId) -> str | None:
    """A text input's value, stripped; None when empty."""
    value = (_value(state, block, action).get("value") or "").strip()
    return value or None


def picked_date(state: dict, block: BlockId, action: ActionId) -> date | None:
    value = _value(state, block, action).get("selected_date")
    return date.fromisoformat(value) if value else None


def state_values(view: dict) -> dict:
    return (view.get("state") or {}).get("values") or {}


def draft_from(state: dict, pilot_account_id: str | None) -> ReleaseDraft:
    """The release a person asked for in the modal."""
    return ReleaseDraft(
        version=typed(state, BlockId.VERSION, ActionId.VERSION) or "",
        release_type=selected(state, BlockId.RELEASE_TYPE, ActionId.RELEASE_TYPE) or "PLANNED",
        scm_integration_id=selected(state, BlockId.SCM, ActionId.SCM) or "",
        base_branch=typed(state, BlockId.BASE_BRANCH, ActionId.BASE_BRANCH),
        target_ids=selected_many(state, BlockId.TARGETS, ActionId.TARGETS),
        pipeline_ids=selected_many(state, BlockId.PIPELINES, ActionId.PIPELINES),
        communication_integration_id=selected(state, BlockId.COMMUNICATION, ActionId.COMMUNICATION),
        ticket_integration_id=selected(state, BlockId.TICKET, ActionId.TICKET),
        release_pilot_id=pilot_account_id,
        planned_date=picked_date(state, BlockId.PLANNED_DATE, ActionId.PLANNED_DATE),
        target_release_date=picked_date(state, BlockId.TARGET_DATE, ActionId.TARGET_DATE),
        description=typed(state, BlockId.DESCRIPTION, ActionId.DESCRIPTION),
    )


def pilot_user(state: dict) -> str | None:
    return _value(state, BlockId.PILOT, ActionId.PILOT).get("selected_user")
