"""The `/release create` modal and the modal that says what setup is missing: plain dicts, built fresh on each
call (slack_sdk's model objects validated as they serialised, which cost more CPU than the rest of opening the
modal; the output is the same, and tests/bot/test_blocks.py has slack_sdk parse and validate it whole)."""
from __future__ import annotations

import json
from dataclasses import dataclass

from bot.blocks.options import integration_label
from bot.blocks.text import mrkdwn, option, plain
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


def _input(block_id: BlockId, label: str, element: dict, *, optional: bool | None = None, hint: str | None = None) -> dict:
    block = {"type": "input", "block_id": block_id, "label": plain(label), "element": element}
    if optional is not None:
        block["optional"] = optional
    if hint:
        block["hint"] = plain(hint)
    return block


def _text_input(action_id: ActionId, *, placeholder: str | None = None, initial: str | None = None, **more) -> dict:
    element = {"type": "plain_text_input", "action_id": action_id, **more}
    if placeholder:
        element["placeholder"] = plain(placeholder)
    if initial:
        element["initial_value"] = initial
    return element


def _select(block_id, action_id, label, placeholder, *, multi=False, optional=False, initial=None, hint=None) -> dict:
    element = {"type": "multi_external_select" if multi else "external_select", "action_id": action_id,
               "placeholder": plain(placeholder), "min_query_length": 0}
    if initial:
        element["initial_options" if multi else "initial_option"] = [initial] if multi else initial
    return _input(block_id, label, element, optional=optional, hint=hint)


def _opening(ctx: ModalContext) -> list[dict]:
    """The blocks that depend on how the modal is opened: the version typed, the repository if only one."""
    planned = option(RELEASE_TYPE_LABELS[ReleaseType.PLANNED], ReleaseType.PLANNED.value)
    branch = str(ctx.scm.details.get("defaultBranch") or "") if ctx.scm else ""
    return [
        _input(BlockId.VERSION, "Version", _text_input(ActionId.VERSION, placeholder="1.5.0", initial=ctx.version,
                                                       max_length=VERSION_MAX_LENGTH)),
        _input(BlockId.RELEASE_TYPE, "Release type", {
            "type": "static_select", "action_id": ActionId.RELEASE_TYPE, "initial_option": planned,
            "options": [option(v, k.value) for k, v in RELEASE_TYPE_LABELS.items()]}),
        _select(BlockId.SCM, ActionId.SCM, "Repository", "Choose the repository",
                initial=option(integration_label(ctx.scm), ctx.scm.id) if ctx.scm else None),
        _input(BlockId.BASE_BRANCH, "Base branch", _text_input(
            ActionId.BASE_BRANCH, placeholder="the repository's default branch", initial=branch), optional=True,
            hint="The release branch release/<version> is cut from here."),
    ]


def create_release_modal(ctx: ModalContext) -> dict:
    """The form: every dropdown lists only the workspace's active, verified integrations."""
    return {"type": "modal", "callback_id": CallbackId.CREATE_RELEASE, "title": plain("New release"),
            "submit": plain("Create"), "close": plain("Cancel"), "blocks": _opening(ctx) + [
                _select(BlockId.TARGETS, ActionId.TARGETS, "Store targets", "App Store, Play Store…", multi=True),
                _select(BlockId.PIPELINES, ActionId.PIPELINES, "Pipelines", "Pipelines of the chosen repository and targets",
                        multi=True, optional=True, hint="Only pipelines that build the chosen repository for a chosen target."),
                _select(BlockId.COMMUNICATION, ActionId.COMMUNICATION, "Announce in", "Slack channel or email list",
                        optional=True, hint="The release card is posted there (or here, when none is chosen)."),
                _select(BlockId.TICKET, ActionId.TICKET, "Ticket tracker", "Jira or Linear project", optional=True),
                _input(BlockId.PLANNED_DATE, "Planned date", {"type": "datepicker", "action_id": ActionId.PLANNED_DATE},
                       optional=True),
                _input(BlockId.TARGET_DATE, "Target release date",
                       {"type": "datepicker", "action_id": ActionId.TARGET_DATE}, optional=True),
                _input(BlockId.PILOT, "Release pilot", {"type": "users_select", "action_id": ActionId.PILOT,
                                                        "placeholder": plain("Who drives this release")}, optional=True),
                _input(BlockId.DESCRIPTION, "Description", _text_input(
                    ActionId.DESCRIPTION, multiline=True, max_length=DESCRIPTION_LIMIT), optional=True),
            ], "private_metadata": json.dumps({"channel": ctx.origin_channel_id})}


def setup_needed_modal(missing: list[str]) -> dict:
    """Instead of empty dropdowns: what is missing, and the commands that add it."""
    lines = "\n".join(f"• no verified, active *{m}*" for m in missing)
    return {"type": "modal", "callback_id": CallbackId.SETUP_NEEDED, "title": plain("Set up releasebot"),
            "close": plain("OK"), "blocks": [
                {"type": "section", "text": mrkdwn(f"Before a release can be created this workspace needs:\n{lines}")},
                {"type": "context", "elements": [mrkdwn(
                    "An admin adds them in Slack with `/release integrations` (*Add an integration*; each is verified "
                    "with its provider), and re-checks failing ones there with *Verify now*. `/release admins` lists "
                    "the admins.")]}]}


def origin_channel(private_metadata: str | None) -> str | None:
    """The channel the modal was opened from."""
    try:
        return json.loads(private_metadata or "{}").get("channel")
    except ValueError:
        return None
