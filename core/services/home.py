"""What one person's App Home shows, read for their tenant in a bounded number of statements: the live
releases (theirs with a step to take first), the recently ended ones, and for admins the integrations'
health and what is still missing to create a release. Never a secret."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from core.db import per_thread
from core.enums import ENDED_RELEASE_STATUSES, IntegrationKind, ReleaseStatus, Role, TargetStatus, VerificationStatus
from core.lifecycle import NEXT_STEPS, Action, Who, allowed_actions
from core.models import Account, RegressionCycle, Release, ReleaseCard, ReleaseTarget, TargetIntegration
from core.services.integrations import list_integrations
from core.services.regression import PASSED
from core.services.release_rules import missing_for_release

LIVE_LIMIT = 50   # more would not fit a Home tab (100 blocks): the rest is counted
RECENT_LIMIT = 5
# The steps that move a release forward (changing dates or the pilot, or cancelling, are always possible).
STEP_ACTIONS = (Action.KICKOFF, Action.START_REGRESSION, Action.REGRESSION_PASSED, Action.MARK_SUBMITTED,
                Action.MARK_APPROVED, Action.MARK_RELEASED, Action.ARCHIVE)
# A target mark is a step only while some target can take it.
MARK_FROM = {Action.MARK_SUBMITTED: (TargetStatus.PENDING, TargetStatus.BUILDING),
             Action.MARK_APPROVED: (TargetStatus.SUBMITTED,), Action.MARK_RELEASED: (TargetStatus.APPROVED,)}


@dataclass(frozen=True)
class TargetLine:
    name: str
    type: str
    status: TargetStatus


@dataclass(frozen=True)
class ReleaseLine:
    """A live release as a Home shows it to one person."""

    id: str
    releaseKey: str
    version: str
    status: ReleaseStatus
    targets: tuple[TargetLine, ...]
    delayed: bool
    delayed_reason: str | None
    target_date: datetime | None
    pilot_name: str | None
    mine: bool                          # this person is its pilot or its creator
    my_steps: tuple[Action, ...]        # what this person may do next to move it forward
    next_step: str                      # what the release waits for, whoever does it
    card_channel_id: str | None         # where its card is (None until posted)
    card_permalink: str | None = None   # the card's own link, when known


@dataclass(frozen=True)
class EndedLine:
    releaseKey: str
    version: str
    status: ReleaseStatus
    at: datetime | None


@dataclass(frozen=True)
class IntegrationHealth:
    kind: IntegrationKind
    provider: str
    name: str
    active: bool
    status: VerificationStatus
    reason: str | None
    last_checked: datetime | None


@dataclass(frozen=True)
class AdminSection:
    integrations: tuple[IntegrationHealth, ...]
    missing: tuple[str, ...]            # what a release needs that the workspace lacks (empty: ready)


@dataclass(frozen=True)
class Home:
    tenant_id: str
    slack_user_id: str
    is_admin: bool
    releases: tuple[ReleaseLine, ...]   # the person's own releases with a step to take first
    live_total: int                     # live releases in all (more than `releases` when over LIVE_LIMIT)
    recent: tuple[EndedLine, ...]
    admin: AdminSection | None = None   # for admins only

    @property
    def my_turn(self) -> tuple[ReleaseLine, ...]:
        return tuple(r for r in self.releases if r.mine and r.my_steps)

    @property
    def others(self) -> tuple[ReleaseLine, ...]:
        return tuple(r for r in self.releases if not (r.mine and r.my_steps))


def home_of(session: Session, *, tenant_id: str, slack_user_id: str) -> Home:
    """The Home of a person of this tenant (a person unknown here sees what a member sees)."""
    account = session.execute(select(Account.id, Account.role).where(
        Account.tenantId == tenant_id, Account.slackUserId == slack_user_id)).first()
    account_id, is_admin = (account[0], account[1] == Role.ADMIN) if account else (None, False)
    rows, total = _live(session, tenant_id, account_id)
    ids = [row.id for row, _ in rows]
    targets = _targets(session, ids)
    passed = _passed_cycles(session, [row.id for row, _ in rows if row.status == ReleaseStatus.REGRESSION_IN_PROGRESS])
    cards = {rid: (channel, permalink) for rid, channel, permalink in session.execute(
        select(ReleaseCard.releaseId, ReleaseCard.channelId, ReleaseCard.permalink).where(
            ReleaseCard.releaseId.in_(ids), ReleaseCard.messageTs.is_not(None)))} if ids else {}
    lines = tuple(_line(row, pilot, account_id, is_admin, targets.get(row.id, ()), row.id in passed,
                        *cards.get(row.id, (None, None))) for row, pilot in rows)
    ordered = tuple(sorted(lines, key=lambda r: not (r.mine and r.my_steps)))  # stable: newest first within each
    return Home(tenant_id, slack_user_id, is_admin, ordered, total, _recent(session, tenant_id),
                _admin(session, tenant_id) if is_admin else None)


_pilot = per_thread(lambda: aliased(Account))


def _live(session: Session, tenant_id: str, account_id: str | None):
    pilot = _pilot()
    live = and_(Release.tenantId == tenant_id, Release.status.not_in(ENDED_RELEASE_STATUSES))
    mine = or_(Release.releasePilotId == account_id, Release.createdByAccountId == account_id) if account_id else None
    order = [case((mine, 0), else_=1)] if mine is not None else []
    rows = session.execute(select(Release, pilot.displayName).outerjoin(pilot, pilot.id == Release.releasePilotId)
                           .where(live).order_by(*order, Release.createdAt.desc(), Release.releaseKey.desc())
                           .limit(LIVE_LIMIT)).all()
    total = len(rows) if len(rows) < LIVE_LIMIT else session.scalar(select(func.count()).select_from(Release).where(live))
    return rows, total


def _targets(session: Session, release_ids: list[str]) -> dict[str, tuple[TargetLine, ...]]:
    found: dict[str, list[TargetLine]] = {}
    if release_ids:
        for release_id, name, kind, status in session.execute(
                select(ReleaseTarget.releaseId, TargetIntegration.displayName, TargetIntegration.targetType,
                       ReleaseTarget.targetStatus)
                .join(TargetIntegration, TargetIntegration.id == ReleaseTarget.targetIntegrationId)
                .where(ReleaseTarget.releaseId.in_(release_ids)).order_by(TargetIntegration.displayName, ReleaseTarget.id)):
            found.setdefault(release_id, []).append(TargetLine(name, str(kind), status or TargetStatus.PENDING))
    return {k: tuple(v) for k, v in found.items()}


def _passed_cycles(session: Session, release_ids: list[str]) -> set[str]:
    """The releases whose newest regression cycle passed."""
    if not release_ids:
        return set()
    newest: dict[str, tuple[int, str | None]] = {}
    for release_id, number, outcome in session.execute(select(RegressionCycle.releaseId, RegressionCycle.number,
                                                              RegressionCycle.outcome)
                                                       .where(RegressionCycle.releaseId.in_(release_ids))):
        if release_id not in newest or number > newest[release_id][0]:
            newest[release_id] = (number, outcome)
    return {rid for rid, (_, outcome) in newest.items() if outcome == PASSED}


def _line(row: Release, pilot_name: str | None, account_id: str | None, is_admin: bool, targets: tuple[TargetLine, ...],
          cycle_passed: bool, card_channel: str | None, card_permalink: str | None) -> ReleaseLine:
    mine = account_id is not None and account_id in (row.releasePilotId, row.createdByAccountId)
    kinds = {Who.MEMBER} | ({Who.ADMIN} if is_admin else set())
    kinds |= {Who.PILOT} if account_id and row.releasePilotId == account_id else set()
    kinds |= {Who.CREATOR} if account_id and row.createdByAccountId == account_id else set()
    steps = tuple(a for a in allowed_actions(row.status, frozenset(kinds)) if a in STEP_ACTIONS
                  and _step_open(a, row.status, targets, cycle_passed))
    return ReleaseLine(row.id, row.releaseKey, row.version, row.status, targets, bool(row.isDelayed), row.delayedReason,
                       row.targetReleaseDate, pilot_name, mine, steps, NEXT_STEPS[row.status], card_channel, card_permalink)


def _step_open(action: Action, status: ReleaseStatus, targets: tuple[TargetLine, ...], cycle_passed: bool) -> bool:
    """Whether the step applies now: the regression cycle first, then a target that can take the mark."""
    if status == ReleaseStatus.REGRESSION_IN_PROGRESS and (action == Action.REGRESSION_PASSED) == cycle_passed:
        return False
    return action not in MARK_FROM or any(t.status in MARK_FROM[action] for t in targets)


def _recent(session: Session, tenant_id: str) -> tuple[EndedLine, ...]:
    rows = session.execute(select(Release.releaseKey, Release.version, Release.status, Release.updatedAt).where(
        Release.tenantId == tenant_id, Release.status.in_(ENDED_RELEASE_STATUSES))
        .order_by(Release.updatedAt.desc(), Release.releaseKey.desc()).limit(RECENT_LIMIT)).all()
    return tuple(EndedLine(*row) for row in rows)


def _admin(session: Session, tenant_id: str) -> AdminSection:
    views = [v for kind in IntegrationKind for v in list_integrations(session, tenant_id=tenant_id, kind=kind)]
    health = tuple(IntegrationHealth(v.kind, v.provider, v.displayName, v.isActive, v.verificationStatus,
                                     v.verificationError, v.lastVerifiedAt) for v in views)
    usable = {kind: [v for v in views if v.kind == kind and v.usable] for kind in IntegrationKind}
    return AdminSection(health, tuple(missing_for_release(scms=usable[IntegrationKind.SCM],
                                                          targets=usable[IntegrationKind.TARGET])))
