"""A thread line as an email: the same rendered mrkdwn, as a subject, a plain-text body and an HTML body."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace

from bot.blocks.notices import notice_text
from bot.blocks.text import escape
from core.runner.context import Announcement
from core.services.release_creation import CREATED_ACTION

SUBJECT_PREFIX = "[releasebot]"
# An mrkdwn link `<url|label>` (bot.blocks.text.link only writes URLs without <>| or spaces), or any other <...>.
TOKEN = re.compile(r"<([^<>|]+)\|([^<>]*)>|<([^<>]*)>")
BOLD = re.compile(r"\*([^*\n]+)\*")


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


def email_of(a: Announcement) -> Email:
    """The email of one announcement: subject `[releasebot] v1.5.0: <first line>`, text and HTML with the same links."""
    mrkdwn = _mrkdwn(a)
    text = to_text(mrkdwn)
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "release update")
    return Email(f"{SUBJECT_PREFIX} {a.release.releaseKey}: {first_line}", text, to_html(mrkdwn))


def _mrkdwn(a: Announcement) -> str:
    # Email readers have no Slack ids: the line names people instead of mentioning them.
    if a.build is not None:
        a = replace(a, build=replace(a.build, triggered_by_slack_user=None))
    if a.event is not None:
        a = replace(a, event=replace(a.event, actor_slack_user=None, pilot_slack_user=None, creator_slack_user=None))
        if a.event.action == CREATED_ACTION:
            return _created(a)
    return notice_text(a)


def _created(a: Announcement) -> str:
    r, who = a.release, escape(a.event.actor_name or "releasebot")
    lines = [f"🆕 {who} created {escape(r.releaseKey)} ({escape(r.branchRelease)} from {escape(r.baseBranch)})"]
    if r.targets:
        lines.append("Targets: " + ", ".join(escape(t.integration.name) for t in r.targets))
    if r.pilot:
        lines.append(f"Pilot: {escape(r.pilot.name)}")
    if r.targetReleaseDate:
        lines.append(f"Target date: {r.targetReleaseDate:%Y-%m-%d}")
    if r.description:
        lines.append(escape(r.description))
    return "\n".join(lines)


def _plain(mrkdwn: str) -> str:
    """mrkdwn text without its escapes (bot.blocks.text.escape undone)."""
    return mrkdwn.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def to_text(mrkdwn: str) -> str:
    """Plain text: `<url|label>` becomes `label (url)`, `*bold*` plain."""
    return _join(mrkdwn, _text_link, lambda part: BOLD.sub(r"\1", _plain(part)))


def to_html(mrkdwn: str) -> str:
    """HTML: links become <a>, *bold* <strong>, everything else escaped, one line per line."""
    body = _join(mrkdwn, _html_link, lambda part: BOLD.sub(r"<strong>\1</strong>", html.escape(_plain(part))))
    return f"<html><body><p>{body.replace(chr(10), '<br>' + chr(10))}</p></body></html>\n"


def _text_link(url: str | None, label: str) -> str:
    return f"{label} ({url})" if url else label


def _html_link(url: str | None, label: str) -> str:
    label = html.escape(label)
    if not url or not url.startswith(("https://", "http://")):
        return label
    return f'<a href="{html.escape(url, quote=True)}">{label}</a>'


def _join(mrkdwn: str, link, plain) -> str:
    """Rendered pieces of `mrkdwn`: its links through `link(url, label)`, the text between through `plain`."""
    out, at = [], 0
    for m in TOKEN.finditer(mrkdwn):
        out.append(plain(mrkdwn[at:m.start()]))
        out.append(link(m[1], _plain(m[2])) if m[1] else link(None, _plain(m[3])))
        at = m.end()
    out.append(plain(mrkdwn[at:]))
    return "".join(out)
