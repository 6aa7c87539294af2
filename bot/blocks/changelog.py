"""The changelog and kickoff messages in a release card's thread (pure: data in, Block Kit out).

A changelog is grouped by conventional-commit type and packed into sections within Slack's limits
(≤ 50 blocks, ≤ 3,000 characters a section, ≤ 40,000 characters a message): what does not fit is counted
in a last line "…and N more" linking to the SCM's comparison. Commit titles are people's words: escaped,
with only the tracker's ticket keys turned into links."""
from __future__ import annotations

import re

from bot.blocks.text import MESSAGE_BLOCKS, SECTION_TEXT, escape, link, shorten
from core.services.changelog import Changelog, KickoffFacts, Tracker
from core.services.releases import ReleaseView

MESSAGE_TEXT = 40_000
URL_LIMIT = 500  # a longer commit URL is shown without its link
GROUPS = (("feat", "✨ Features"), ("fix", "🐛 Fixes"), ("other", "🧰 Other changes"))
CONVENTIONAL = re.compile(r"^(?P<type>[A-Za-z]+)(?:\((?P<scope>[^)]{1,50})\))?!?:\s*(?P<rest>\S.*)$")


def link_tickets(escaped: str, tracker: Tracker) -> str:
    """Link the tracker's project's ticket keys in already escaped text (not inside a word or a path)."""
    pattern = re.compile(rf"(?<![\w/-]){re.escape(tracker.project)}-\d+\b")
    return pattern.sub(lambda m: link(tracker.url(m.group(0)), m.group(0)), escaped)


def group_of(title: str) -> tuple[str, str]:
    """(feat | fix | other, the title without its type): `feat(login): x` → ("feat", "login: x")."""
    found = CONVENTIONAL.match(title)
    if found is None:
        return "other", title
    kind = found["type"].lower()
    rest = f"{found['scope']}: {found['rest']}" if found["scope"] else found["rest"]
    return (kind, rest) if kind in ("feat", "fix") else ("other", title)


def commit_line(sha: str, title: str, author: str, url: str | None, tickets: Tracker | None) -> str:
    """`• <link|abc1234> title — author`, the title escaped and its ticket keys linked."""
    text = escape(shorten(title, 300))
    if tickets is not None:
        text = link_tickets(text, tickets)
    label = escape(sha[:7])
    return f"• {link(url if url and len(url) <= URL_LIMIT else None, label)} {text} — {escape(shorten(author, 60))}"


def commits(n: int) -> str:
    return f"{n} commit" if n == 1 else f"{n} commits"


def _intro(log: Changelog, shown: int) -> str:
    base = f"`{escape(log.base)}`"
    if log.since is None and log.gone:
        return f"The newest {shown} commits of {base}: the previous release's branch `{escape(log.gone)}` no longer exists."
    if log.since is None:
        return f"The newest {shown} commits of {base}: no earlier release of this repository to compare with."
    count = commits(log.total) if log.total is not None else f"{shown}+ commits"
    compare = f" · {link(log.url, 'compare')}" if log.url else ""
    return f"{count} on {base} since `{escape(log.since)}`{compare}"


def changelog_message(log: Changelog, *, release_key: str, tickets: Tracker | None = None) -> tuple[str, list[dict]]:
    """The fallback text and blocks of a release's changelog, within Slack's limits."""
    title = f"Changelog of {release_key}"
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": shorten(title, 150), "emoji": True}},
                          {"type": "context", "elements": [{"type": "mrkdwn", "text": _intro(log, len(log.commits))}]}]
    if not log.commits:
        blocks.append(_section(f"No new commits on `{escape(log.base)}`."))
        return plain_text(blocks), blocks
    shown = _pack(log, blocks, tickets)
    if log.since is None or log.total is not None:
        left = (log.total if log.since is not None else len(log.commits)) - shown
    else:
        left = -1  # the SCM did not count them, and some were left
    if left:
        more = f"…and {left} more" if left > 0 else "…and more"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"{more} · {link(log.url, 'see them all')}"
                                                        if log.url else more}]})
    return plain_text(blocks), blocks


def plain_text(blocks: list[dict]) -> str:
    """The message's fallback text (notifications, email): every block's text, within a message's limit."""
    texts = [part for b in blocks for part in ([b["text"]["text"]] if "text" in b else [e["text"] for e in b["elements"]])]
    return shorten("\n".join(texts), MESSAGE_TEXT)


def _pack(log: Changelog, blocks: list[dict], tickets: Tracker | None) -> int:
    """Append sections of commit lines, a group after the other, while they fit; returns how many commits are listed."""
    grouped: dict[str, list[str]] = {kind: [] for kind, _ in GROUPS}
    for sha, title, author, url in log.commits:
        kind, rest = group_of(title)
        grouped[kind].append(commit_line(sha, rest, author, url, tickets))
    room = MESSAGE_BLOCKS - len(blocks) - 1  # one block is kept for "…and N more"
    budget = MESSAGE_TEXT - 1_000 - sum(len(str(b)) for b in blocks)
    sections, current, shown = [], "", 0
    # (starts a group, is a commit, line), in the order they are shown
    items = [(n == 0, n > 0, line) for kind, heading in GROUPS if grouped[kind]
             for n, line in enumerate([f"*{heading}* ({len(grouped[kind])})", *grouped[kind]])]
    for starts_group, is_commit, line in items:
        if current and (starts_group or len(current) + len(line) + 1 > SECTION_TEXT):
            sections.append(current)
            current = ""
        budget -= len(line) + 1
        if len(sections) >= room or budget < 0:
            break
        current += ("\n" if current else "") + line
        shown += is_commit
    return _done(blocks, sections + [current] if current else sections, shown)


def _done(blocks: list[dict], sections: list[str], shown: int) -> int:
    blocks.extend(_section(text) for text in sections)
    return shown


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


# --- the kickoff message ------------------------------------------------------------------------------------

EPIC_LABELS = (("iOSEpicId", "iOS"), ("androidEpicId", "Android"), ("webEpicId", "Web"))


def _date(value) -> str:
    return f"{value:%Y-%m-%d}" if value else "not set"


def _epics(release: ReleaseView, tracker: Tracker | None) -> str:
    epics = [(label, getattr(release, attr)) for attr, label in EPIC_LABELS if getattr(release, attr, None)]
    if not epics:
        return "none"
    return ", ".join(f"{label} {link(tracker.url(key) if tracker else None, escape(key))}" for label, key in epics)


def kickoff_message(release: ReleaseView, facts: KickoffFacts) -> tuple[str, list[dict]]:
    """The thread message that closes kickoff: branch, epics, changelog link, dates, pilot."""
    key = escape(release.releaseKey)
    if facts.pilot_slack_user:
        pilot = f"<@{escape(facts.pilot_slack_user)}>"
    else:
        pilot = escape(release.pilot.name) if release.pilot else "nobody yet: set one on the card"
    if facts.changelog_url:
        changes = link(facts.changelog_url, commits(facts.changelog_count) if facts.changelog_count is not None else "the commits")
    else:
        changes = "in the thread above" if facts.changelog_count is not None else "not listed"
    lines = [f"🚀 *{key} is kicked off*",
             f"*Branch:* `{escape(release.branchRelease)}` (from `{escape(release.baseBranch)}`)",
             f"*Epics:* {_epics(release, facts.tracker)}",
             f"*Changelog:* {changes}",
             f"*Planned:* {_date(release.plannedDate)} · *Target:* {_date(release.targetReleaseDate)}",
             f"*Pilot:* {pilot}"]
    if facts.skipped:
        lines.append(f"_Skipped by an admin: {escape(', '.join(facts.skipped))}_")
    text = "\n".join(lines)
    return shorten(text, MESSAGE_TEXT), [_section(shorten(text, SECTION_TEXT))]
