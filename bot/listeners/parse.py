"""Reading a submitted (or half-filled) view's state into core's primitives."""
from __future__ import annotations

import re
from datetime import date

from bot.ids import ActionId, BlockId
from bot.payloads import is_user_id
from core.errors import Problem
from core.services.release_creation import ReleaseDraft

ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # what Slack's datepicker sends, ASCII digits only
DATE_FIELDS = ((BlockId.PLANNED_DATE, ActionId.PLANNED_DATE), (BlockId.TARGET_DATE, ActionId.TARGET_DATE))


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
    """A datepicker's date; None when empty or not a real date (`input_problems` reports those)."""
    value = _value(state, block, action).get("selected_date")
    try:
        return date.fromisoformat(value) if value and ISO_DATE.fullmatch(value) else None
    except ValueError:
        return None


def input_problems(state: dict) -> list[Problem]:
    """What Slack's own widgets should have prevented: impossible dates, a pilot that is not a user id."""
    problems = [Problem(block.value, "Pick a real date (YYYY-MM-DD) with the date picker.")
                for block, action in DATE_FIELDS
                if _value(state, block, action).get("selected_date") and picked_date(state, block, action) is None]
    pilot = pilot_user(state)
    if pilot is not None and not is_user_id(pilot):
        problems.append(Problem(BlockId.PILOT.value, "Pick the release pilot from the list of people."))
    return problems


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
    """The chosen pilot's Slack user id, as the payload holds it (check it with `input_problems`)."""
    return _value(state, BlockId.PILOT, ActionId.PILOT).get("selected_user") or None
