"""Thread replies under a release card: who triggered which build, and how it ended."""
from __future__ import annotations

from core.enums import BuildState
from core.runner import Announcement

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
    return f"<@{b.triggered_by_slack_user}>" if b.triggered_by_slack_user else (b.triggered_by_name or "someone")


def _links(a: Announcement) -> str:
    b = a.build
    links = [f"<{url}|{label}>" for url, label in ((b.url, "build"), (b.log_url, "log"), (b.artifact_url, "artifacts")) if url]
    return " · ".join(links)


def notice_text(a: Announcement) -> str:
    """The text of one announcement (mrkdwn)."""
    b = a.build
    name = f"*{b.pipeline_name}*" + (f" #{b.number}" if b.number else "")
    if a.kind == "TRIGGERED":
        retry = f" (attempt {b.attempt})" if b.attempt > 1 else ""
        return f"🔨 {_who(a)} triggered {name} for {a.release.releaseKey}{retry}" + (f" — {_links(a)}" if _links(a) else "")
    icon, verb = ENDINGS.get(b.state, ("ℹ️", b.state.value.lower()))
    text = f"{icon} {name} {verb}" + (f" by {b.aborted_by_name}" if b.aborted_by_name else "")
    if b.duration_seconds:
        text += f" in {duration(b.duration_seconds)}"
    if _links(a):
        text += f" — {_links(a)}"
    if b.error:
        text += f"\n> {b.error}"
    if b.state in (BuildState.FAILED, BuildState.LOST):
        text += f"\n{_who(a)} — retry it from the card when ready."
    return text
