"""`/release admins`: who the admins are; an admin can add one (a users_select) or remove one (a button)."""
from __future__ import annotations

from bot.blocks.integrations import _context, _modal, _section, _text
from bot.ids import ActionId, BlockId, CallbackId
from core.models import Account

MAX_LISTED = 90


def admins_modal(admins: list[Account], *, admin: bool, named: frozenset[str], notice: str | None = None) -> dict:
    """The admins; for an admin, a Remove button each (not the ones the operator names) and a person to add."""
    blocks = [_section(notice)] if notice else []
    for account in admins[:MAX_LISTED]:
        fixed = account.slackUserId in named
        button = None if not admin or fixed else {
            "type": "button", "action_id": ActionId.ADMIN_REVOKE.value, "value": account.id, "text": _text("Remove"),
            "confirm": {"title": _text("Remove admin?"), "confirm": _text("Remove"), "deny": _text("Keep"),
                        "text": _text("They will be a member: they keep creating releases, but no longer manage "
                                      "integrations or admins.")}}
        blocks.append(_section(f"<@{account.slackUserId}>" + (" · named by the operator" if fixed else ""), button))
    if admin:
        blocks.append({"type": "input", "block_id": BlockId.NEW_ADMIN.value, "optional": True,
                       "label": _text("Make someone admin"),
                       "element": {"type": "users_select", "action_id": ActionId.NEW_ADMIN.value,
                                   "placeholder": _text("Choose a person")}})
        blocks.append(_context("Admins manage integrations and admins; the last admin cannot be removed."))
    else:
        blocks.append(_context("Ask one of them to make you admin."))
    return _modal(CallbackId.ADMINS, "Admins", blocks, submit="Add admin" if admin else None)
