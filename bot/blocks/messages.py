"""Short messages: usage, confirmations, errors."""
from __future__ import annotations

from bot.blocks.text import escape
from bot.ids import COMMAND

USAGE = (
    f"*releasebot* runs your mobile releases.\n"
    f"• `{COMMAND} create [version]` — open the form to create a release (e.g. `{COMMAND} create 1.5.0`)\n"
    f"• `{COMMAND} list` — the live releases, with their stage and card\n"
    f"• `{COMMAND} show <version>` — where a release stands, and its card posted here if it has none\n"
    f"• `{COMMAND} cancel <version>` — cancel a release (you are asked why)\n"
    f"• `{COMMAND} integrations` — repositories, stores, pipelines, channels and trackers (admins add and change them)\n"
    f"• `{COMMAND} admins` — who the admins are (admins add or remove one)\n"
    f"• `{COMMAND} help` — this message"
)


def usage(unknown: str | None = None) -> str:
    """The usage text, naming the sub-command that was not understood."""
    return (f"I don't know `{COMMAND} {unknown}`.\n" if unknown else "") + USAGE


def release_summary(release, *, card_channel: str | None, reposting: bool) -> str:
    """`/release show`: the release at a glance, and where its card is (or that it is being posted here)."""
    targets = ", ".join(f"{escape(t.integration.name)} {t.status.value.lower()}"
                        + (f" (build {escape(t.buildNumber)})" if t.buildNumber else "") for t in release.targets)
    where = "Its card is being posted here." if reposting else (f"Its card is in <#{card_channel}>." if card_channel else "")
    return "\n".join(line for line in (
        f"*{release.releaseKey}* ({release.releaseType.value.title()}) — {release.status.value.replace('_', ' ').lower()}",
        f"`{escape(release.branchRelease)}` from `{escape(release.baseBranch)}` · targets: {targets or 'none'}", where) if line)


def releases_list(views, card_channels: dict[str, str]) -> str:
    """`/release list`: one line per live release: stage, targets, delay, where its card is."""
    if not views:
        return f"No live releases. Start one with `{COMMAND} create`."
    lines = []
    for v in views:
        r = v.release
        targets = ", ".join(f"{escape(t.integration.name)} {t.status.value.lower()}" for t in r.targets)
        lines.append(f"• *{r.releaseKey}* ({r.releaseType.value.title()}) — {r.status.value.replace('_', ' ').lower()}"
                     + (f" · {targets}" if targets else "") + (" · ⏰ delayed" if v.delayed else "")
                     + (f" · card in <#{card_channels[r.id]}>" if r.id in card_channels else ""))
    return "*Live releases*\n" + "\n".join(lines)


def release_created(release_key: str, permalink: str | None, channel_id: str | None) -> str:
    """Told to the creator, ephemerally: where the card is."""
    where = f"<{permalink}|see its card>" if permalink else (f"its card is in <#{channel_id}>" if channel_id else "")
    return f"✅ Release *{release_key}* created — {where}".rstrip(" —")


def unexpected(incident: str) -> str:
    return f"Something went wrong on our side (incident `{incident}`); nothing was lost. Try again, or tell an admin the incident id."


def card_blocked(release_key: str, reason: str) -> str:
    """Told to the creator, ephemerally, when the card could not be posted at the first try."""
    return f"✅ Release *{release_key}* created, but its card is not posted yet: {reason}"
