"""The epics kickoff task: one epic per platform of the release's targets in its ticket tracker (Jira or
Linear), found again by a marker before one is created, so a kickoff that died after creating the iOS
epic, or is retried, never opens a second one. The keys land on the release in the task's transaction."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.enums import IntegrationKind, TargetType
from core.integrations.base import Ticket, TicketClient
from core.models import Account, Release, ReleaseCard, ReleaseTarget, TargetIntegration, TicketIntegration
from core.runner.build_steps import CLIENT_ERRORS
from core.runner.context import RunnerContext
from core.services.verification import config_of


@dataclass(frozen=True)
class Platform:
    slug: str  # in the marker and the task's result
    name: str  # in the epic's title
    column: str  # where the release keeps the epic's key


PLATFORMS = {TargetType.APP_STORE: Platform("ios", "iOS", "iOSEpicId"),
             TargetType.PLAY_STORE: Platform("android", "Android", "androidEpicId")}


def platforms_of(s: Session, release: Release) -> list[Platform]:
    """The platforms of a release's targets (App Store → iOS, Play Store → Android), each once, iOS first."""
    types = set(s.scalars(select(TargetIntegration.targetType).join(
        ReleaseTarget, ReleaseTarget.targetIntegrationId == TargetIntegration.id).where(ReleaseTarget.releaseId == release.id)))
    return [p for t, p in PLATFORMS.items() if t in types]


def marker(release: Release, platform: Platform) -> str:
    """The label (Jira) or title mark (Linear) of one release's epic for one platform.

    The release key says which release to a person; a digest of the release's id keeps two workspaces
    sharing one tracker (or a version reused after an archive) from adopting each other's epics."""
    key = re.sub(r"[^a-z0-9._-]+", "-", release.releaseKey.lower()).strip("-") or "release"
    return f"releasebot-{key}-{platform.slug}-{hashlib.sha256(release.id.encode()).hexdigest()[:6]}"


def describe(s: Session, release: Release, platform: Platform) -> tuple[str, str]:
    """The epic's title and description: the version, the planned and target dates, the pilot, the card's link."""
    pilot = s.get(Account, release.releasePilotId) if release.releasePilotId else None
    card = s.get(ReleaseCard, release.id)

    def day(value) -> str:
        return value.strftime("%Y-%m-%d") if value else "not set"

    title = f"Release {release.version} ({platform.name})"
    lines = [f"{platform.name} release {release.version}, opened by releasebot at kickoff.",
             f"Planned: {day(release.plannedDate)}", f"Target release date: {day(release.targetReleaseDate)}",
             f"Pilot: {pilot.displayName if pilot else 'none yet'}", f"Branch: {release.branchRelease}"]
    if card is not None and card.permalink:
        lines.append(f"Release card in Slack: {card.permalink}")
    if release.description:
        lines += ["", release.description]
    return title, "\n".join(lines)


def ensure_epics(client: TicketClient, wanted: list[tuple[Platform, str, str, str]]) -> str:
    """Find or create each platform's epic; the result names them (`ios:MOB-1 android:MOB-2`)."""
    made = []
    for platform, mark, title, description in wanted:
        ticket: Ticket | None = client.find_epic(mark) or client.create_epic(title=title, description=description, marker=mark)
        made.append(f"{platform.slug}:{ticket.key}")
    return " ".join(made)


def record_epics(s: Session, release: Release, result: str | None) -> None:
    """Write the epics' keys on the release (called in the transaction that marks the task done)."""
    columns = {p.slug: p.column for p in PLATFORMS.values()}
    for slug, _, key in (part.partition(":") for part in (result or "").split()):
        if slug in columns:
            setattr(release, columns[slug], key)


def ticket_client(ctx: RunnerContext, s: Session, integration_id: str) -> TicketClient:
    """The client of a ticket integration, reused across steps."""
    row = s.get(TicketIntegration, integration_id)
    return ctx.clients.get(IntegrationKind.TICKET, config_of(s, IntegrationKind.TICKET, row, ctx.runtime.cipher))


def epics(ctx: RunnerContext, s: Session, release: Release):
    """Open (or find) one epic per platform in the release's ticket tracker."""
    from core.runner.kickoff import Chore, _raise  # kickoff lists this chore, so its names are imported when called

    row = s.get(TicketIntegration, release.ticketIntegrationId) if release.ticketIntegrationId else None
    if row is None:  # the integration was deleted after kickoff: nothing to open the epics in
        return Chore("open the epics", "the ticket tracker", lambda: None)
    wanted = [(p, marker(release, p), *describe(s, release, p)) for p in platforms_of(s, release)]
    names = " and ".join(p.name for p, *_ in wanted) or "no platform"
    try:
        call = partial(ensure_epics, ticket_client(ctx, s, row.id), wanted)
    except CLIENT_ERRORS as exc:  # a key that decrypts nothing, an address the guard refuses
        call = partial(_raise, exc)
    return Chore(f"open the {names} epics", row.displayName, call, record=record_epics)
