"""The small forms of the release's life: cancel (a reason), mark delayed (a reason, a new target date),
edit dates, change pilot. Each carries the release id in private_metadata; core checks it is this workspace's."""
from __future__ import annotations

from slack_sdk.models.blocks import DatePickerElement, InputBlock, PlainTextInputElement, UserSelectElement
from slack_sdk.models.views import View

from bot.ids import ActionId, BlockId, CallbackId
from core.services.releases import ReleaseView

REASON_LIMIT = 2000


def _reason(label: str, placeholder: str, *, optional: bool = False) -> InputBlock:
    return InputBlock(block_id=BlockId.REASON, label=label, optional=optional, element=PlainTextInputElement(
        action_id=ActionId.REASON, multiline=True, max_length=REASON_LIMIT, placeholder=placeholder))


def _date(block_id: BlockId, action_id: ActionId, label: str, value, *, optional: bool = True) -> InputBlock:
    return InputBlock(block_id=block_id, label=label, optional=optional, element=DatePickerElement(
        action_id=action_id, initial_date=value.strftime("%Y-%m-%d") if value else None))


def _modal(callback_id: CallbackId, title: str, submit: str, release: ReleaseView, blocks: list) -> dict:
    return View(type="modal", callback_id=callback_id, title=title, submit=submit, close="Back",
                private_metadata=release.id, blocks=blocks).to_dict()


def cancel_modal(release: ReleaseView) -> dict:
    """Cancelling needs a reason; running builds are stopped."""
    return _modal(CallbackId.CANCEL_RELEASE, f"Cancel {release.releaseKey}"[:24], "Cancel release", release,
                  [_reason("Why is it cancelled?", "e.g. superseded by 1.5.1")])


def delay_modal(release: ReleaseView) -> dict:
    """Marking delayed: why, and the new target date."""
    return _modal(CallbackId.MARK_DELAYED, "Mark delayed", "Mark delayed", release, [
        _reason("Why is it late?", "e.g. waiting for the payment provider's fix"),
        _date(BlockId.TARGET_DATE, ActionId.TARGET_DATE, "New target release date", release.targetReleaseDate)])


def dates_modal(release: ReleaseView) -> dict:
    """Editing the planned and target dates."""
    return _modal(CallbackId.EDIT_DATES, "Edit dates", "Save", release, [
        _date(BlockId.PLANNED_DATE, ActionId.PLANNED_DATE, "Planned date", release.plannedDate),
        _date(BlockId.TARGET_DATE, ActionId.TARGET_DATE, "Target release date", release.targetReleaseDate)])


def pilot_modal(release: ReleaseView) -> dict:
    """Choosing another pilot."""
    return _modal(CallbackId.CHANGE_PILOT, "Change pilot", "Save", release, [
        InputBlock(block_id=BlockId.NEW_PILOT, label="New release pilot", element=UserSelectElement(
            action_id=ActionId.NEW_PILOT, placeholder="Who drives this release"))])
