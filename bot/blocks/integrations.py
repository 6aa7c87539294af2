"""`/release integrations`: the list (buttons for admins, read-only for members), the kind-and-provider
choice, the provider's form built from its spec (core/integrations/specs.py, the CLI's source too), what
removing does, and a verification's outcome. Pure functions of core's views."""
from __future__ import annotations

import json
from dataclasses import dataclass

from bot.blocks.text import MODAL_BLOCKS, OPTIONS, escape, shorten
from bot.ids import ActionId, BlockId, CallbackId, MenuOp
from core.enums import IntegrationKind, VerificationStatus
from core.integrations.specs import SPECS, ProviderSpec, help_for
from core.services.integration_rules import secret_names
from core.services.integrations import KIND_LABEL, IntegrationView

LABEL = 2000
PLACEHOLDER = 150
HINT = 2000
INPUT_VALUE = 3000
MULTILINE = frozenset({"privateKey", "serviceAccountJson", "caCertificate", "recipients"})
REFERENCES = {"scmIntegrationId": IntegrationKind.SCM, "targetIntegrationId": IntegrationKind.TARGET}
KIND_TITLE = {k: v.capitalize() for k, v in KIND_LABEL.items()}
STATUS = {VerificationStatus.VALID: "✅ valid", VerificationStatus.INVALID: "❌ invalid",
          VerificationStatus.PENDING: "⏳ not verified yet"}


def _text(text: str, kind: str = "plain_text") -> dict:
    return {"type": kind, "text": text} if kind == "mrkdwn" else {"type": kind, "text": text, "emoji": True}


def _section(text: str, accessory: dict | None = None, block_id: str | None = None) -> dict:
    block = {"type": "section", "text": _text(shorten(text, 3000), "mrkdwn")}
    if accessory:
        block["accessory"] = accessory
    if block_id:
        block["block_id"] = block_id
    return block


def _context(text: str) -> dict:
    return {"type": "context", "elements": [_text(shorten(text, 2000), "mrkdwn")]}


def _option(label: str, value: str) -> dict:
    return {"text": _text(shorten(label, 75)), "value": value[:150]}


def _modal(callback_id: CallbackId, title: str, blocks: list[dict], *, submit: str | None = None, close: str = "Close",
           metadata: dict | None = None) -> dict:
    view = {"type": "modal", "callback_id": callback_id.value, "title": _text(shorten(title, 24)),
            "close": _text(close), "blocks": blocks[:MODAL_BLOCKS]}
    if submit:
        view["submit"] = _text(submit)
    if metadata is not None:
        view["private_metadata"] = json.dumps(metadata)
    return view


def status_line(v: IntegrationView) -> str:
    """Status, last check and reason, as one line people read."""
    parts = [STATUS[v.verificationStatus]]
    if not v.isActive:
        parts.append("disabled")
    parts.append(f"checked {v.lastVerifiedAt:%Y-%m-%d %H:%M} UTC" if v.lastVerifiedAt else "never checked")
    line = " · ".join(parts)
    return line + (f"\n> {escape(v.verificationError)}" if v.verificationError else "")


def _menu(v: IntegrationView) -> dict:
    toggle = (MenuOp.DISABLE, "Disable") if v.isActive else (MenuOp.ENABLE, "Enable")
    ops = [(MenuOp.VERIFY, "Verify now"), toggle, (MenuOp.EDIT, "Edit"), (MenuOp.REMOVE, "Remove…")]
    return {"type": "overflow", "action_id": ActionId.INTEGRATION_MENU.value,
            "options": [_option(label, f"{op.value}:{v.id}") for op, label in ops]}


def _provider_label(v: IntegrationView) -> str:
    spec = next((s for s in SPECS if s.kind == v.kind and s.provider == v.provider), None)
    return spec.label if spec else v.provider.title()


def integrations_modal(views: list[IntegrationView], *, admin: bool, notice: str | None = None) -> dict:
    """Every integration of the workspace by kind, with its status, last check and reason; an admin also
    gets Add and, per integration, Verify, Enable/Disable, Edit and Remove."""
    blocks: list[dict] = []
    if notice:
        blocks.append(_section(notice))
    if admin:
        blocks.append({"type": "actions", "elements": [{"type": "button", "action_id": ActionId.INTEGRATION_ADD.value,
                                                         "text": _text("Add an integration"), "style": "primary"}]})
    else:
        blocks.append(_context("Only admins change integrations (`/release admins` lists them)."))
    room = MODAL_BLOCKS - len(blocks) - 2 * len(IntegrationKind) - 1
    shown = 0
    for kind in IntegrationKind:
        mine = [v for v in views if v.kind == kind]
        blocks.append({"type": "header", "text": _text(KIND_TITLE[kind])})
        if not mine:
            blocks.append(_context("None yet."))
            continue
        for v in mine:
            if shown >= room:
                break
            text = f"*{escape(v.displayName)}* · {_provider_label(v)}\n{status_line(v)}"
            blocks.append(_section(text, _menu(v) if admin else None, block_id=f"integration:{v.id}"))
            shown += 1
    if shown < len(views):
        blocks.append(_context(f"…and {len(views) - shown} more: `releasebot integration list` shows them all."))
    return _modal(CallbackId.INTEGRATIONS, "Integrations", blocks)


def chooser_modal() -> dict:
    """Add: which kind and provider (every provider the specs know, grouped by kind)."""
    groups = [{"label": _text(KIND_TITLE[kind]), "options": [_option(s.label, f"{kind.value}:{s.provider}")
                                                             for s in SPECS if s.kind == kind]} for kind in IntegrationKind]
    select = {"type": "static_select", "action_id": ActionId.PROVIDER.value, "option_groups": groups,
              "placeholder": _text("GitHub, App Store, Jenkins, a Slack channel…")}
    return _modal(CallbackId.INTEGRATION_CHOOSE, "Add an integration", [
        {"type": "input", "block_id": BlockId.PROVIDER.value, "label": _text("What to add"), "element": select}],
        submit="Next", close="Back")


@dataclass(frozen=True)
class FormContext:
    """What the provider's form is opened with: the spec, the integration when editing, the tenant's
    repositories and targets (a pipeline picks among them)."""

    spec: ProviderSpec
    editing: IntegrationView | None = None
    choices: dict[IntegrationKind, list[IntegrationView]] | None = None


def _input(name: str, label: str, element: dict, *, optional: bool) -> dict:
    return {"type": "input", "block_id": name, "optional": optional, "label": _text(shorten(label, LABEL)),
            "hint": _text(shorten(help_for(name), HINT)), "element": element}


def _text_input(initial: str | None, placeholder: str | None, *, multiline: bool) -> dict:
    element = {"type": "plain_text_input", "action_id": ActionId.SPEC_VALUE.value, "multiline": multiline,
               "max_length": INPUT_VALUE}
    if initial:
        element["initial_value"] = str(initial)[:INPUT_VALUE]
    if placeholder:
        element["placeholder"] = _text(shorten(placeholder, PLACEHOLDER))
    return element


def _reference(name: str, ctx: FormContext, initial: str | None) -> dict:
    options = [_option(v.displayName, v.id) for v in (ctx.choices or {}).get(REFERENCES[name], [])][:OPTIONS]
    element = {"type": "static_select", "action_id": ActionId.SPEC_VALUE.value,
               "placeholder": _text("Choose one"), "options": options or [_option("(none yet: add one first)", "-")]}
    chosen = next((o for o in options if o["value"] == initial), None)
    if chosen:
        element["initial_option"] = chosen
    return element


def _channel(initial: str | None) -> dict:
    element = {"type": "conversations_select", "action_id": ActionId.SPEC_VALUE.value,
               "filter": {"include": ["public", "private"], "exclude_bot_users": True},
               "placeholder": _text("Choose the channel")}
    if initial:
        element["initial_conversation"] = initial
    return element


def form_modal(ctx: FormContext) -> dict:
    """The provider's form: name, base URL, its fields, settings and secrets with their help; when editing,
    its values filled in, but never a secret (left empty, it stays as stored)."""
    spec, editing = ctx.spec, ctx.editing
    values = {**(editing.details if editing else {}), "displayName": editing.displayName if editing else None,
              "baseUrl": editing.baseUrl if editing else None}
    blocks = [_input("displayName", "Name", _text_input(values["displayName"], f"e.g. {spec.label} iOS", multiline=False),
                     optional=False)]
    if spec.base_url_required or spec.default_base_url:
        blocks.append(_input("baseUrl", "Server URL", _text_input(values["baseUrl"], spec.default_base_url, multiline=False),
                             optional=not spec.base_url_required))
    for names, required in ((spec.fields, True), (spec.optional_fields, False), (spec.settings, True),
                            (spec.optional_settings, False)):
        for name in names:
            initial = values.get(name) or (spec.defaults.get(name) if not editing else None)
            if name in REFERENCES:
                element = _reference(name, ctx, initial)
            elif name == "channelId":
                element = _channel(initial)
            else:
                element = _text_input(initial, None, multiline=name in MULTILINE)
            blocks.append(_input(name, name, element, optional=not required))
    required_secrets = {s for s in spec.secrets if isinstance(s, str)}
    for name in sorted(secret_names(spec), key=lambda n: (n not in required_secrets, n)):
        placeholder = "Leave empty to keep what is stored" if editing else None
        blocks.append(_input(name, f"{name} (secret)", _text_input(None, placeholder, multiline=name in MULTILINE),
                             optional=bool(editing) or name not in required_secrets))
    blocks.append(_context("Secrets are stored encrypted and never shown again. After saving, the integration is "
                           "verified with the provider; the outcome appears here."))
    title = f"Edit {spec.label}" if editing else f"Add {spec.label}"
    metadata = {"kind": spec.kind.value, "provider": spec.provider, "id": editing.id if editing else None}
    return _modal(CallbackId.INTEGRATION_FORM, title, blocks, submit="Save", close="Back", metadata=metadata)


def form_block_names(spec: ProviderSpec) -> set[str]:
    """The block ids the provider's form may hold."""
    return ({"displayName", "baseUrl"} | set(spec.fields) | set(spec.optional_fields) | set(spec.settings)
            | set(spec.optional_settings) | secret_names(spec))


def verifying_modal(v: IntegrationView) -> dict:
    """Saved: being verified by the runner (this view is updated with the outcome)."""
    return _modal(CallbackId.INTEGRATION_RESULT, "Verifying…", [
        _section(f"*{escape(v.displayName)}* is saved. ⏳ Checking it with {_provider_label(v)}…"),
        _context("You can close this: you will get the outcome in a message too if this is closed.")])


def verified_modal(v: IntegrationView | None, problem: str | None) -> dict:
    """A verification's outcome, with the provider's reason when it is invalid."""
    return _modal(CallbackId.INTEGRATION_RESULT, "Verified" if problem is None else "Not valid",
                  [_section(verification_text(v, problem))])


def verification_text(v: IntegrationView | None, problem: str | None) -> str:
    """One message: valid, or why not."""
    name = f"*{escape(v.displayName)}*" if v else "The integration"
    if problem is None:
        return f"✅ {name} is verified: it is offered in `/release create`."
    return f"❌ {name} is not valid: {escape(problem)}\nFix it with *Edit* in `/release integrations`, then verify again."


def remove_modal(v: IntegrationView, *, list_view_id: str | None) -> dict:
    """What removing does, before it is done."""
    rules = ("Removing is refused while a live release (or, for a repository or target, a pipeline) uses it. "
             "If only cancelled or archived releases name it, it is hidden instead of deleted: those releases keep "
             "their history, and it is offered nowhere again. A channel or tracker is cleared from the releases "
             "that named it.")
    return _modal(CallbackId.INTEGRATION_REMOVE, "Remove integration", [
        _section(f"Remove *{escape(v.displayName)}* ({_provider_label(v)})?"), _context(rules)],
        submit="Remove", close="Back", metadata={"id": v.id, "list": list_view_id})


def outcome_modal(title: str, text: str) -> dict:
    """A closing word after a removal (done, or refused with why)."""
    return _modal(CallbackId.INTEGRATION_RESULT, title, [_section(text)])
