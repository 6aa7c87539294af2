"""Thread replies under a release card: who triggered which build, how it ended, and every change of the release."""
from __future__ import annotations

from collections.abc import Callable

from bot.blocks.changelog import changelog_message, kickoff_message
from bot.blocks.text import escape, link, shorten
from core.enums import BuildState, CommunicationType
from core.lifecycle import Action
from core.runner import Announcement
from core.runner.context import EventFacts
from core.services.changelog import CHANGELOG_KIND, KICKOFF_KIND

DETAIL_LIMIT = 2000  # a reason is at most this long (core.services.lifecycle.REASON_LIMIT)

ENDINGS = {
    BuildState.SUCCESS: ("✅", "succeeded"),
    BuildState.FAILED: ("❌", "failed"),
    BuildState.CANCELLED: ("⏹️", "was cancelled"),
    BuildState.LOST: ("⚠️", "could not be followed to its end"),
}


def duration(seconds: int | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m" if hours else (f"{minutes}m {secs}s" if minutes else f"{secs}s")


def _who(a: Announcement) -> str:
    b = a.build
    return f"<@{escape(b.triggered_by_slack_user)}>" if b.triggered_by_slack_user else escape(b.triggered_by_name or "someone")


def _links(a: Announcement) -> str:
    b = a.build
    links = [link(url, label) for url, label in ((b.url, "build"), (b.log_url, "log"), (b.artifact_url, "artifacts")) if url]
    return " · ".join(links)


def kickoff_notice(a: Announcement) -> tuple[str, list[dict]] | None:
    """The changelog or the kickoff message (text and blocks); None for any other announcement."""
    if a.kind == CHANGELOG_KIND:
        if a.kickoff is None:  # the task left nothing to show (skipped meanwhile)
            return f"The changelog of {escape(a.release.releaseKey)} could not be read.", []
        return changelog_message(a.kickoff.log, release_key=a.release.releaseKey, tickets=a.kickoff.tracker)
    if a.kind == KICKOFF_KIND:
        return kickoff_message(a.release, a.kickoff)
    return None


def notice_blocks(a: Announcement) -> list[dict] | None:
    """The blocks of an announcement that has them (the changelog, the kickoff message)."""
    message = kickoff_notice(a)
    return (message[1] or None) if message else None


def notice_text(a: Announcement) -> str:
    """The text of one announcement (mrkdwn)."""
    if (message := kickoff_notice(a)) is not None:
        return message[0]
    if a.event is not None:
        return event_text(a.event, a.release.releaseKey, target_date=a.release.targetReleaseDate)
    # What a CI answered and what people named things is escaped: it cannot ping, link or format.
    b, key = a.build, escape(a.release.releaseKey)
    name = f"*{escape(b.pipeline_name)}*" + (f" #{escape(b.number)}" if b.number else "")
    if a.kind == "TRIGGERED":
        retry = f" (attempt {b.attempt})" if b.attempt > 1 else ""
        return f"🔨 {_who(a)} triggered {name} for {key}{retry}" + (f" — {_links(a)}" if _links(a) else "")
    icon, verb = ENDINGS.get(b.state, ("ℹ️", b.state.value.lower()))
    text = f"{icon} {name} {verb}" + (f" by {escape(b.aborted_by_name)}" if b.aborted_by_name else "")
    if b.duration_seconds:
        text += f" in {duration(b.duration_seconds)}"
    if _links(a):
        text += f" — {_links(a)}"
    if b.error:
        text += f"\n> {_said(b.error)}"
    if b.state in (BuildState.FAILED, BuildState.LOST):
        text += f"\n{_who(a)} — {_retry_hint(a)}"
    return text


def _retry_hint(a: Announcement) -> str:
    """Where to retry a failed build: the card, which an email's reader may not have in front of them."""
    if a.release.communication and a.release.communication.type == CommunicationType.EMAIL:
        key = escape(a.release.releaseKey)
        return f"retry it from the release's card in Slack when ready (`/release show {key}` says where it is, or posts it)."
    return "retry it from the card when ready."


# --- changes of the release (one line each: who, what, and the detail that matters) -----------------------


def _actor(e: EventFacts) -> str:
    if e.actor_slack_user:
        return f"<@{escape(e.actor_slack_user)}>"
    return escape(e.actor_name) if e.actor_name else "releasebot"


def _said(text: str | None) -> str:
    """People's words (a reason, a name), escaped so they cannot ping, link or format."""
    return escape(shorten((text or "").strip(), DETAIL_LIMIT))


def _because(e: EventFacts) -> str:
    return f": {_said(e.detail)}" if e.detail else ""


def _regression_started(e: EventFacts, key: str) -> str:
    cycle, _, builds = (e.detail or "").partition(" on ")  # "cycle 2 on App Store #41, Play Store #40"
    on = f" ({_said(builds)})" if builds else ""
    return f"▶️ {_actor(e)} started regression {_said(cycle) or 'a cycle'} on {key}{on}"


def _delayed(e: EventFacts, key: str, target_date) -> str:
    if e.actor_slack_user or e.actor_name:
        until = f" (new target date {target_date:%Y-%m-%d})" if target_date else ""
        return f"⏳ {_actor(e)} marked {key} delayed{until}{_because(e)}"
    passed = f" ({target_date:%Y-%m-%d})" if target_date else ""
    ask = f"<@{escape(e.pilot_slack_user)}>, mark" if e.pilot_slack_user else "Mark"
    return f"⏰ {key} passed its target date{passed}: {ask} it delayed with a reason"


def _person(slack_user: str | None, name: str | None) -> str | None:
    """A mention in Slack; a name in an email (the email drops the Slack ids)."""
    return f"<@{escape(slack_user)}>" if slack_user else (escape(name) if name else None)


def _reminded(e: EventFacts, key: str) -> str:
    """A reminder to the pilot (the creator when there is none): what is due or stuck, and the next step (in the detail)."""
    icon = "📆" if e.from_value == "due" else "💤"
    pilot = _person(e.pilot_slack_user, e.pilot_name)
    creator = _person(e.creator_slack_user, e.creator_name)
    to = f"{pilot}, " if pilot else (f"{key} has no pilot: {creator}, " if creator else f"{key} has no pilot. ")
    card = f" — {link(e.card_link, 'open the card')}" if e.card_link else ""
    return f"{icon} {to}{_said(e.detail)}{card}"


def _target_mark(icon: str, verb: str) -> Callable[[EventFacts, str], str]:
    return lambda e, key: f"{icon} {_actor(e)} marked {_said(e.detail) or 'a target'} {verb}"


LINES: dict[str, Callable[[EventFacts, str], str]] = {
    Action.KICKOFF: lambda e, key: f"🚀 {_actor(e)} kicked off {key}",
    Action.KICKOFF_DONE: lambda e, key: f"🌱 {key} is kicked off: builds can start",
    Action.START_REGRESSION: _regression_started,
    Action.REGRESSION_PASSED: lambda e, key: f"✅ {_actor(e)} passed regression {_said(e.from_value)} of {key}: the targets can be submitted",
    Action.REGRESSION_FAILED: lambda e, key: f"❌ {_actor(e)} failed regression {_said(e.from_value)} of {key}{_because(e)} — back to builds",
    Action.MARK_SUBMITTED: _target_mark("📦", "submitted"),
    Action.MARK_APPROVED: _target_mark("👍", "approved"),
    Action.MARK_RELEASED: _target_mark("🎉", "released"),
    Action.ALL_SUBMITTED: lambda e, key: f"📬 Every target of {key} is submitted: waiting for the stores",
    Action.ALL_RELEASED: lambda e, key: f"🏁 {key} is released in every store",
    Action.EDIT_DATES: lambda e, key: f"📅 {_actor(e)} changed the dates of {key}: {_said(e.from_value)} → {_said(e.to_value)}",
    # The name the event recorded (the pilot may have changed again since): not a mention.
    Action.CHANGE_PILOT: lambda e, key: f"🧑‍✈️ {_actor(e)} made {_said(e.to_value)} the pilot of {key}",
    Action.CANCEL: lambda e, key: f"🚫 {_actor(e)} cancelled {key}{_because(e)}",
    Action.ARCHIVE: lambda e, key: f"🗄️ {_actor(e)} archived {key}",
    "reminded": _reminded,  # core.runner.reminders.REMINDED
}


STORE_ICONS = {"submit": "📤", "resubmit": "📤", "release": "🚀", "pause": "⏸️", "resume": "▶️", "complete": "🌍",
               "increase": "📈", "halt": "🛑"}


def _store_line(e: EventFacts, key: str) -> str | None:
    """A person's ask of a store (store-<action>), the store's new state, or a store action that failed."""
    target = _said(e.detail if e.action != "store-failed" else e.to_value) or "a target"
    if e.action == "store-state":
        return f"🏪 {target}: {_said(e.to_value)}"
    if e.action == "store-failed":
        return f"⚠️ {_said(e.from_value)} on {target} failed: {_said(e.detail)}"
    word = e.action.removeprefix("store-")
    if word in STORE_ICONS:
        return f"{STORE_ICONS[word]} {_actor(e)} asked {target}: {_said(e.to_value)}"
    return None


def event_text(e: EventFacts, release_key: str, *, target_date=None) -> str:
    """One thread line for a change of the release: who, what, and the detail that matters."""
    key = escape(release_key)
    if e.action == Action.MARK_DELAYED:
        return _delayed(e, key, target_date)
    if e.action.startswith("store-") and (store := _store_line(e, key)):
        return store
    line = LINES.get(e.action)
    if line is None:  # an action this bot version does not know yet: still one honest line
        return f"ℹ️ {_actor(e)}: {_said(e.action.replace('-', ' '))} on {key}{_because(e)}"
    return line(e, key)
