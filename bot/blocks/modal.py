"""The `/release create` modal and the modal that says what setup is missing."""
from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass

from slack_sdk.models.blocks import (
    ContextBlock,
    DatePickerElement,
    ExternalDataMultiSelectElement,
    ExternalDataSelectElement,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks.options import integration_label
from bot.blocks.text import option
from bot.ids import ActionId, BlockId, CallbackId
from core.enums import ReleaseType
from core.services.integrations import IntegrationView
from core.services.release_rules import DESCRIPTION_LIMIT, VERSION_MAX_LENGTH

RELEASE_TYPE_LABELS = {ReleaseType.PLANNED: "Planned", ReleaseType.HOTFIX: "Hotfix", ReleaseType.MAJOR: "Major"}


@dataclass(frozen=True)
class ModalContext:
    """What the create modal is opened with."""

    origin_channel_id: str | None
    version: str | None = None
    scm: IntegrationView | None = None  # preselected when the workspace has exactly one


def _select(block_id, action_id, label, placeholder, *, multi=False, optional=False, initial=None, hint=None):
    element_class = ExternalDataMultiSelectElement if multi else ExternalDataSelectElement
    kwargs = {"initial_options": [initial]} if multi and initial else ({"initial_option": initial} if initial else {})
    element = element_class(action_id=action_id, placeholder=placeholder, min_query_length=0, **kwargs)
    return InputBlock(block_id=block_id, label=label, element=element, optional=optional, hint=hint)


def create_release_modal(ctx: ModalContext) -> dict:
    """The form: every dropdown lists only the workspace's active, verified integrations."""
    scm_option = option(integration_label(ctx.scm), ctx.scm.id) if ctx.scm else None
    opening = [
        InputBlock(block_id=BlockId.VERSION, label="Version", element=PlainTextInputElement(
            action_id=ActionId.VERSION, placeholder="1.5.0", initial_value=ctx.version or None, max_length=VERSION_MAX_LENGTH)),
        InputBlock(block_id=BlockId.RELEASE_TYPE, label="Release type", element=StaticSelectElement(
            action_id=ActionId.RELEASE_TYPE, options=[option(v, k.value) for k, v in RELEASE_TYPE_LABELS.items()],
            initial_option=option(RELEASE_TYPE_LABELS[ReleaseType.PLANNED], ReleaseType.PLANNED.value))),
        _select(BlockId.SCM, ActionId.SCM, "Repository", "Choose the repository", initial=scm_option),
        InputBlock(block_id=BlockId.BASE_BRANCH, label="Base branch", optional=True, element=PlainTextInputElement(
            action_id=ActionId.BASE_BRANCH, placeholder="the repository's default branch",
            initial_value=str(ctx.scm.details.get("defaultBranch") or "") or None if ctx.scm else None),
            hint="The release branch release/<version> is cut from here."),
    ]
    # slack_sdk's models validate as they serialise, which costs more CPU than the rest of
    # `/release create`: the blocks that never change are validated once and reused.
    view = copy.deepcopy(_fixed_parts())
    view["blocks"] = [b.to_dict() for b in opening] + view["blocks"]
    view["private_metadata"] = json.dumps({"channel": ctx.origin_channel_id})
    return view


@functools.cache
def _fixed_parts() -> dict:
    """The create modal without its first four blocks (which depend on how it is opened)."""
    blocks = [
        _select(BlockId.TARGETS, ActionId.TARGETS, "Store targets", "App Store, Play Store…", multi=True),
        _select(BlockId.PIPELINES, ActionId.PIPELINES, "Pipelines", "Pipelines of the chosen repository and targets",
                multi=True, optional=True, hint="Only pipelines that build the chosen repository for a chosen target."),
        _select(BlockId.COMMUNICATION, ActionId.COMMUNICATION, "Announce in", "Slack channel or email list",
                optional=True, hint="The release card is posted there (or here, when none is chosen)."),
        _select(BlockId.TICKET, ActionId.TICKET, "Ticket tracker", "Jira or Linear project", optional=True),
        InputBlock(block_id=BlockId.PLANNED_DATE, label="Planned date", optional=True,
                   element=DatePickerElement(action_id=ActionId.PLANNED_DATE)),
        InputBlock(block_id=BlockId.TARGET_DATE, label="Target release date", optional=True,
                   element=DatePickerElement(action_id=ActionId.TARGET_DATE)),
        InputBlock(block_id=BlockId.PILOT, label="Release pilot", optional=True,
                   element=UserSelectElement(action_id=ActionId.PILOT, placeholder="Who drives this release")),
        InputBlock(block_id=BlockId.DESCRIPTION, label="Description", optional=True, element=PlainTextInputElement(
            action_id=ActionId.DESCRIPTION, multiline=True, max_length=DESCRIPTION_LIMIT)),
    ]
    return View(type="modal", callback_id=CallbackId.CREATE_RELEASE, title="New release", submit="Create",
                close="Cancel", blocks=blocks).to_dict()


def setup_needed_modal(missing: list[str]) -> dict:
    """Instead of empty dropdowns: what is missing, and the commands that add it."""
    lines = "\n".join(f"• no verified, active *{m}*" for m in missing)
    return View(type="modal", callback_id=CallbackId.SETUP_NEEDED, title="Set up releasebot", close="OK", blocks=[
        SectionBlock(text=MarkdownTextObject(text=f"Before a release can be created this workspace needs:\n{lines}")),
        ContextBlock(elements=[MarkdownTextObject(text=(
            "An admin adds them in Slack with `/release integrations` (*Add an integration*; each is verified with "
            "its provider), and re-checks failing ones there with *Verify now*. `/release admins` lists the admins."))]),
    ]).to_dict()


def origin_channel(private_metadata: str | None) -> str | None:
    """The channel the modal was opened from."""
    try:
        return json.loads(private_metadata or "{}").get("channel")
    except ValueError:
        return None
