"""The one parsing layer for Slack's requests: a signed body becomes a payload whose shape is checked.

Everything Bolt and our listeners read is checked here, before Bolt sees the request, so a listener can
read the dict without guarding every key, and a body we cannot understand is a 400 that says why."""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from urllib.parse import parse_qsl

from slack_bolt import BoltContext
from slack_bolt.request.internals import build_context

from bot.blocks.integrations import form_block_names
from bot.ids import ActionId, CallbackId, MenuOp
from core.enums import IntegrationKind
from core.integrations.specs import spec_for

# Slack's ids are short upper-case ASCII: T… teams, E… enterprises, U…/W… users, C…/G…/D… channels.
SLACK_ID = re.compile(r"[A-Z][A-Z0-9]{1,63}")
USER_ID = re.compile(r"[UW][A-Z0-9]{2,63}")
TOKEN = re.compile(r"[!-~]{1,255}")  # trigger ids, timestamps, view ids: printable ASCII, bounded
# The card's buttons whose listeners read the action's value (a release pipeline id).
VIEW_TYPES = ("modal", "home")
STORE_VALUE = re.compile(r"[!-9;-~]{1,255}:[!-9;-~]{1,255}")  # <release id>:<release target id>
VALUE_ACTIONS = {ActionId.TRIGGER_BUILD, ActionId.RETRY_BUILD, ActionId.ABORT_BUILD}
# Buttons and menus that live in releasebot's views (the integrations' and admins' modals, the Home tab): they come
# with their view, and each opens or pushes a modal, so with a trigger id.
VIEW_ACTIONS = {ActionId.INTEGRATION_ADD, ActionId.INTEGRATION_MENU, ActionId.ADMIN_REVOKE, ActionId.HOME_NEW_RELEASE,
                ActionId.HOME_INTEGRATIONS, ActionId.HOME_ADMINS}
MENU_VALUE = re.compile("(" + "|".join(op.value for op in MenuOp) + r"):[!-~]{1,140}")


class PayloadError(ValueError):
    """A body that is not a Slack request we understand; the message says what is wrong and is safe to answer."""


def is_user_id(value: object) -> bool:
    """Whether `value` has the shape of a Slack user id (U… or W…, ASCII)."""
    return isinstance(value, str) and USER_ID.fullmatch(value) is not None


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise PayloadError(what)


def _str(value: object, *, pattern: re.Pattern | None = None, optional: bool = True) -> bool:
    if value is None:
        return optional
    return isinstance(value, str) and (pattern is None or pattern.fullmatch(value) is not None)


def _dict(value: object, optional: bool = True) -> bool:
    return isinstance(value, dict) or (optional and value is None)


def _decode(raw: bytes, content_type: str | None) -> object:
    # Parsed exactly as Bolt will parse it (slack_bolt.request.internals.parse_body), so both see one payload.
    try:
        text = raw.decode("utf-8")
        if content_type == "application/json" or text.startswith("{"):
            return json.loads(text)
        form = dict(parse_qsl(text, keep_blank_values=True))
        if "payload" in text:
            return json.loads(form["payload"]) if "payload" in form else {}
        return form
    except UnicodeDecodeError:
        raise PayloadError("the body is not UTF-8 text") from None
    except (ValueError, RecursionError):
        raise PayloadError("the body is neither a form nor JSON that can be read") from None


def _list_of_dicts(value: object) -> bool:
    return value is None or (isinstance(value, list) and all(isinstance(v, dict) for v in value))


def _check_ids(payload: dict) -> None:
    """The objects and ids Bolt reads to name the workspace, the user and the channel."""
    for key in ("team", "user", "channel", "enterprise", "container", "view", "message", "event"):
        _require(_dict(payload.get(key)), f"`{key}` must be an object")
    _require(_list_of_dicts(payload.get("authorizations")), "`authorizations` must be a list of objects")
    parts = [payload.get(k) or {} for k in ("team", "user", "channel", "enterprise")] + (payload.get("authorizations") or [])[:1]
    for part in [payload, *parts]:
        _require(all(_str(part.get(key), pattern=SLACK_ID) for key in ("team_id", "user_id", "channel_id", "enterprise_id"))
                 and (part is payload or _str(part.get("id"), pattern=SLACK_ID)), "ids must be Slack ids, such as T0123ABCD")


def _check_names(payload: dict) -> None:
    """The names the tenant middleware stores for a new workspace or person, and the response URLs."""
    team, user = payload.get("team") or {}, payload.get("user") or {}
    names = (payload.get("team_domain"), payload.get("user_name"), team.get("domain"), user.get("name"), user.get("username"))
    _require(all(_str(name) for name in names), "team and user names must be text")
    urls = payload.get("response_urls")
    _require(_str(payload.get("response_url"), pattern=TOKEN)
             and _list_of_dicts(urls) and all(_str(u.get("response_url"), pattern=TOKEN) for u in urls or []),
             "`response_url` and `response_urls` must be URLs")


def _check_context(payload: dict) -> None:
    """Bolt's own reading of the payload succeeds and names a workspace and (but for events) a user."""
    try:
        context = build_context(BoltContext(), payload)
    except (AttributeError, TypeError, KeyError, IndexError):
        raise PayloadError("the payload does not have the shape of a Slack request") from None
    _require(_str(context.team_id, pattern=SLACK_ID, optional=False), "the payload names no workspace (team id)")
    _require(_str(context.user_id, pattern=SLACK_ID, optional=payload.get("type") == "event_callback"),
             "the payload names no user (user id)")
    _require(_str(context.thread_ts, pattern=TOKEN) and _str(context.channel_id, pattern=SLACK_ID), "bad channel or thread")


def _check_element(element: object) -> bool:
    """One input's state, as parse.py reads it: selected option(s), typed value, date, user."""
    if not isinstance(element, dict):
        return False
    option = element.get("selected_option")
    options = element.get("selected_options")
    return (_dict(option) and _str((option or {}).get("value"))
            and (options is None or (isinstance(options, list) and all(isinstance(o, dict) and _str(o.get("value"), optional=False)
                                                                       for o in options)))
            and all(_str(element.get(key)) for key in ("value", "selected_date", "selected_user"))
            and _str(element.get("selected_conversation"), pattern=SLACK_ID))


def _origin_ok(metadata: str | None) -> bool:
    # The create form carries {"channel": <the channel it was opened from>}, as bot/blocks/modal.py writes it.
    try:
        origin = json.loads(metadata or "{}")
    except (ValueError, RecursionError):
        return False
    return isinstance(origin, dict) and _str(origin.get("channel"), pattern=SLACK_ID)


def _store_form_ok(metadata: str | None) -> bool:
    # A store action's form carries {"release", "target", "action"}, as bot/blocks/store_modals.py writes it.
    try:
        meta = json.loads(metadata or "{}")
    except (ValueError, RecursionError):
        return False
    return isinstance(meta, dict) and all(_str(meta.get(k), pattern=TOKEN, optional=False) for k in ("release", "target", "action"))


def _metadata(view: dict) -> object:
    try:
        return json.loads(view.get("private_metadata") or "{}")
    except (ValueError, RecursionError):
        return None


def _form_ok(view: dict) -> bool:
    """The integration form's metadata names a provider of a kind (and the integration when editing), as
    bot/blocks/integrations.py writes it, and its inputs are that provider's."""
    meta = _metadata(view)
    if not isinstance(meta, dict) or meta.get("kind") not in {k.value for k in IntegrationKind}:
        return False
    spec = spec_for(IntegrationKind(meta["kind"]), str(meta.get("provider")))
    values = ((view.get("state") or {}).get("values")) or {}
    return (spec is not None and spec.provider == meta.get("provider") and _str(meta.get("id"), pattern=TOKEN)
            and isinstance(values, dict) and set(values) <= form_block_names(spec))


def _remove_ok(view: dict) -> bool:
    meta = _metadata(view)
    return (isinstance(meta, dict) and _str(meta.get("id"), pattern=TOKEN, optional=False)
            and _str(meta.get("list"), pattern=TOKEN))


VIEW_METADATA = {CallbackId.INTEGRATION_FORM: _form_ok, CallbackId.INTEGRATION_REMOVE: _remove_ok}


def _check_view(view: object, *, optional: bool) -> None:
    if view is None and optional:
        return
    _require(isinstance(view, dict), "`view` must be an object")
    _require(_str(view.get("id"), pattern=TOKEN, optional=False), "`view.id` is missing")
    _require(_str(view.get("callback_id"), optional=False), "`view.callback_id` is missing")
    # Bolt reads more (body["workflow_step"]) for a workflow_step view: releasebot only has modals and a Home tab.
    _require(view.get("type") in VIEW_TYPES, "`view.type` must be modal or home")
    _require(_str(view.get("private_metadata")), "`view.private_metadata` must be text")
    _require(view.get("callback_id") != CallbackId.CREATE_RELEASE or _origin_ok(view.get("private_metadata")),
             "the create form's `private_metadata` is not the one releasebot wrote")
    _require(view.get("callback_id") != CallbackId.STORE_ACTION or view.get("type") != "modal"
             or view.get("state") is None or _store_form_ok(view.get("private_metadata")),
             "the store form's `private_metadata` is not the one releasebot wrote")
    state = view.get("state")
    _require(_dict(state) and _dict((state or {}).get("values")), "`view.state.values` must be an object")
    check = VIEW_METADATA.get(view.get("callback_id"))
    _require(check is None or check(view), "this form's `private_metadata` or inputs are not the ones releasebot wrote")
    for block in ((state or {}).get("values") or {}).values():
        _require(isinstance(block, dict) and all(_check_element(e) for e in block.values()),
                 "`view.state.values` must hold the inputs' states")


def _check_command(payload: dict) -> None:
    _require(_str(payload.get("command"), optional=False) and _str(payload.get("text")), "`command` and `text` must be text")
    _require(_str(payload.get("trigger_id"), pattern=TOKEN, optional=False), "a slash command needs its `trigger_id`")


def _check_block_actions(payload: dict) -> None:
    actions = payload.get("actions")
    _require(isinstance(actions, list) and len(actions) > 0, "`actions` must be a non-empty list")
    for action in actions:
        _require(isinstance(action, dict) and _str(action.get("action_id"), optional=False) and _str(action.get("block_id"))
                 and _str(action.get("value")) and _str(action.get("action_ts"), pattern=TOKEN), "each action needs an `action_id`")
        _require(not str(action.get("action_id") or "").startswith(ActionId.STORE_PREFIX)
                 or _str(action.get("value"), pattern=STORE_VALUE, optional=False),
                 "a store button's value names a release and a target")
        _require(action.get("action_id") not in VALUE_ACTIONS or (_str(action.get("value"), pattern=TOKEN, optional=False)
                                                                   and _str(action.get("action_ts"), pattern=TOKEN, optional=False)),
                 "this button's action carries its `value` and `action_ts`")
        _check_view_action(payload, action)
    container = payload.get("container") or {}
    _require(_str(container.get("message_ts"), pattern=TOKEN) and _str(container.get("channel_id"), pattern=SLACK_ID),
             "`container` must name a message")
    _require(container.get("type") != "message" or (payload.get("channel") or {}).get("id") is not None,
             "a message's action names its `channel`")
    _check_view(payload.get("view"), optional=True)


def _check_view_action(payload: dict, action: dict) -> None:
    """The buttons of releasebot's views (modals, the Home tab): in a view, with the value they were drawn with."""
    action_id = action.get("action_id")
    if action_id not in VIEW_ACTIONS:
        return
    _require(isinstance(payload.get("view"), dict), "this button lives in a modal: the payload names its `view`")
    _require(_str(payload.get("trigger_id"), pattern=TOKEN, optional=False), "this button's payload needs its `trigger_id`")
    if action_id == ActionId.INTEGRATION_MENU:
        option = action.get("selected_option")
        _require(isinstance(option, dict) and _str(option.get("value"), pattern=MENU_VALUE, optional=False),
                 "the integration menu's choice is not one releasebot offers")
    if action_id == ActionId.ADMIN_REVOKE:
        _require(_str(action.get("value"), pattern=TOKEN, optional=False), "this button carries the admin's account")


def _check_view_submission(payload: dict) -> None:
    _check_view(payload.get("view"), optional=False)


def _check_block_suggestion(payload: dict) -> None:
    _require(_str(payload.get("action_id"), optional=False) and _str(payload.get("block_id")) and _str(payload.get("value")),
             "a suggestion request needs its `action_id` and typed `value`")
    _check_view(payload.get("view"), optional=True)


def _check_app_home_opened(event: dict) -> None:
    # Slack sends `tab` ("home" or "messages") and, once a Home view was published, that `view`.
    _require(is_user_id(event.get("user")), "`event.user` must be a Slack user id")
    _require(_str(event.get("tab")) and _str(event.get("channel"), pattern=SLACK_ID), "`event.tab` and `event.channel` must be text")
    _require(_dict(event.get("view")), "`event.view` must be an object")


EVENT_CHECKS: dict[str, Callable[[dict], None]] = {
    "app_home_opened": _check_app_home_opened,
}

CHECKS: dict[str, Callable[[dict], None]] = {
    "block_actions": _check_block_actions,
    "view_submission": _check_view_submission,
    "block_suggestion": _check_block_suggestion,
}


def parse_payload(raw: bytes, content_type: str | None) -> dict:
    """The payload in a (signed) Slack request body; PayloadError when its shape is not one we can answer."""
    payload = _decode(raw, content_type)
    _require(isinstance(payload, dict) and payload != {}, "the body is not a Slack payload (expected an object)")
    _require(_str(payload.get("type")), "`type` must be text")
    if payload.get("type") == "url_verification":
        _require(_str(payload.get("challenge"), optional=False), "`challenge` must be text")
        return payload
    for check in (_check_ids, _check_names, _check_context):
        check(payload)
    if "command" in payload:
        _check_command(payload)
    elif payload.get("type") == "event_callback":  # Bolt routes events by type; none reads more than the envelope
        _require(_dict(payload.get("event"), optional=False) and _str(payload["event"].get("type"), optional=False),
                 "`event.type` is missing")
        if payload["event"]["type"] == "tokens_revoked":  # its listener reads which kinds of tokens went
            tokens = payload["event"].get("tokens")
            _require(_dict(tokens, optional=False) and all(isinstance(v, list) for v in tokens.values()),
                     "`event.tokens` must be an object of lists")
        EVENT_CHECKS.get(payload["event"]["type"], lambda event: None)(payload["event"])
    elif payload.get("type") in CHECKS:
        CHECKS[payload["type"]](payload)
    else:
        raise PayloadError("this kind of Slack request is not one releasebot answers")
    return payload
