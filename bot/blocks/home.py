"""The App Home tab: a pure function of core's Home. The person's own next steps first, then the other
live releases, the recently ended ones, and for admins the integrations' health and what a release
still needs. Within Slack's limits (100 blocks, 3,000 characters a section): what does not fit is
counted in an "…and N more" line."""
from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.blocks.card import progress_line, stage_buttons
from bot.blocks.text import SECTION_TEXT, escape, link, shorten
from bot.ids import ActionId, CallbackId
from core.enums import ReleaseStatus, VerificationStatus
from core.lifecycle import LABELS, STATUS_PHRASES
from core.services.home import AdminSection, EndedLine, Home, IntegrationHealth, ReleaseLine
from core.services.integrations import KIND_LABEL

HOME_BLOCKS = 100
HEALTH_LINES_PER_SECTION = 10
HEALTH_ICON = {VerificationStatus.VALID: "✅", VerificationStatus.INVALID: "❌", VerificationStatus.PENDING: "⏳"}


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=shorten(text, SECTION_TEXT)))


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=shorten(text, SECTION_TEXT))])


def _where(r: ReleaseLine) -> str:
    if r.card_permalink:
        return link(r.card_permalink, "open its card")
    return f"card in <#{r.card_channel_id}>" if r.card_channel_id else "card not posted yet"


def release_text(r: ReleaseLine) -> str:
    """One live release: its stage, targets, delay, the next step (the person's own when they have one), its card."""
    head = f"*{escape(r.releaseKey)}* — {STATUS_PHRASES[r.status]}"
    if r.delayed and r.status != ReleaseStatus.RELEASED:
        head += " · ⏰ *delayed*" + (f": {escape(shorten(r.delayed_reason, 200))}" if r.delayed_reason else "")
    targets = " · ".join(f"{escape(t.name)} {t.status.value.lower()}" for t in r.targets) or "no targets"
    step = ("*Your next step:* " + ", ".join(LABELS[a] for a in r.my_steps)) if r.my_steps else f"Next: {r.next_step}"
    facts = [progress_line(r.status), targets, step + (f" (pilot: {escape(r.pilot_name)})" if r.pilot_name else ""),
             _where(r) + (f" · target date {r.target_date:%Y-%m-%d}" if r.target_date else "")]
    return "\n".join([head, *facts])


def ended_text(lines: tuple[EndedLine, ...]) -> str:
    return "\n".join(f"• *{escape(e.releaseKey)}* — {STATUS_PHRASES[e.status]} ({_when(e.at)})" for e in lines)


def health_line(i: IntegrationHealth) -> str:
    """One integration's health: valid, invalid with its reason, or not verified yet; when it was last checked."""
    state = {VerificationStatus.VALID: "valid", VerificationStatus.PENDING: "not verified yet"}.get(
        i.status, "invalid" + (f": {escape(shorten(i.reason, 200))}" if i.reason else ""))
    return (f"{HEALTH_ICON[i.status]} *{escape(shorten(i.name, 100))}* ({KIND_LABEL[i.kind]}, {i.provider.lower().replace('_', ' ')})"
            f"{'' if i.active else ' · disabled'} — {state} · last checked {_when(i.last_checked)}")


def admin_blocks(admin: AdminSection) -> list:
    """What admins see: whether a release can be created, every integration's health, and the buttons that open
    the integrations' and admins' modals (`/release integrations`, `/release admins`)."""
    blocks: list = [DividerBlock(), HeaderBlock(text="Workspace setup (admins)"), ActionsBlock(elements=[
        ButtonElement(text="Integrations", action_id=ActionId.HOME_INTEGRATIONS),
        ButtonElement(text="Admins", action_id=ActionId.HOME_ADMINS)])]
    if admin.missing:
        blocks.append(_section("⚠️ Releases cannot be created yet: add a verified, active "
                               + " and a ".join(admin.missing) + " (`releasebot integration add`)."))
    else:
        blocks.append(_section("✅ Everything a release needs is set up: `/release create` to start one."))
    lines = [health_line(i) for i in admin.integrations]
    if not lines:
        blocks.append(_context("No integrations yet."))
    room = 6  # sections of integrations (10 lines each); more are counted
    for start in range(0, min(len(lines), room * HEALTH_LINES_PER_SECTION), HEALTH_LINES_PER_SECTION):
        blocks.append(_section("\n".join(lines[start:start + HEALTH_LINES_PER_SECTION])))
    if len(lines) > room * HEALTH_LINES_PER_SECTION:
        blocks.append(_context(f"…and {len(lines) - room * HEALTH_LINES_PER_SECTION} more: `releasebot integration list`"))
    return blocks


def _release(r: ReleaseLine, with_buttons: bool) -> list:
    """A release's section, and (for the person's own next steps) the buttons of those that are stage steps."""
    buttons = stage_buttons(r.my_steps, r.id) if with_buttons else []
    return [_section(release_text(r))] + ([ActionsBlock(elements=buttons)] if buttons else [])


def _release_blocks(title: str, lines: tuple[ReleaseLine, ...], room: int, *, with_buttons: bool = False) -> tuple[list, int]:
    """A titled list of releases in at most `room` blocks (title included); returns (blocks, releases left out)."""
    if not lines or room < 2:
        return [], len(lines)
    blocks, shown = [_section(f"*{title}*")], 0
    for r in lines:
        more = _release(r, with_buttons)
        if len(blocks) + len(more) > room:
            break
        blocks += more
        shown += 1
    return (blocks, len(lines) - shown) if shown else ([], len(lines))


def home_view(home: Home) -> dict:
    """The Home tab's view for views.publish."""
    head = [HeaderBlock(text="Releases"),
            ActionsBlock(elements=[ButtonElement(text="New release", action_id=ActionId.HOME_NEW_RELEASE, style="primary")])]
    tail: list = []
    if home.recent:
        tail += [DividerBlock(), _section("*Recently ended*\n" + ended_text(home.recent))]
    if home.admin is not None:
        tail += admin_blocks(home.admin)
    room = HOME_BLOCKS - len(head) - len(tail) - 1  # one for the "…and N more" line
    mine, left_mine = _release_blocks("Your next steps", home.my_turn, room, with_buttons=True)
    others, left_others = _release_blocks("Live releases", home.others, room - len(mine))
    body = mine + others
    left = left_mine + left_others + home.live_total - len(home.releases)
    if not home.releases:
        body = [_section("No live releases. Start one with `/release create`.")]
    elif left:
        body.append(_context(f"…and {left} more live releases: `/release list` shows them"))
    blocks = head + body + tail
    return {"type": "home", "callback_id": CallbackId.HOME.value, "blocks": [b.to_dict() for b in blocks]}
