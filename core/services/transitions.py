"""The machinery every lifecycle change shares: find the release and the actor, check the role and the
table, change the release with a conditional update on the status read, record the event, owe the card.

Conditional updates make conflicting clicks agree: the first to commit wins, the other updates no row
and is told, from a read past its snapshot, who did what and when.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

from core.db import per_thread
from core.enums import ReleaseStatus, Role
from core.errors import NotFoundError, PermissionDeniedError
from core.lifecycle import (
    DONE,
    NEXT_STEPS,
    ROLES,
    STATUS_CHANGES,
    STATUS_PHRASES,
    Action,
    Actor,
    ConcurrentChangeError,
    TransitionRefusedError,
    Who,
    next_status,
    permission_message,
    refusal,
)
from core.models import Account, Release, RequestKey
from core.services.cards import mark_stale
from core.services.history import Event, last_event, record_event

RUNNER = Actor(None, "releasebot", frozenset({Who.RUNNER}))


@dataclass(frozen=True)
class Outcome:
    """What a lifecycle call did: the status before and after; `changed` False when a repeated request
    (the same `request_key`) found the change its first delivery made."""

    release_id: str
    release_key: str
    action: Action
    from_status: ReleaseStatus
    to_status: ReleaseStatus
    changed: bool = True


@dataclass(frozen=True)
class Context:
    """A release as read at the start of a change, and who is changing it."""

    tenant_id: str
    release_id: str
    release_key: str
    status: ReleaseStatus
    pilot_id: str | None
    pilot: str | None
    creator: str
    actor: Actor


_aliases = per_thread(lambda: (aliased(Account), aliased(Account)))  # the pilot, the creator


def load(session: Session, *, tenant_id: str, release_id: str, actor_account_id: str | None) -> Context:
    """The release of this tenant and the actor's kinds (admin, pilot, creator, member; the runner when None)."""
    pilot, creator = _aliases()
    row = session.execute(
        select(Release.releaseKey, Release.status, Release.releasePilotId, pilot.displayName, Release.createdByAccountId,
               creator.displayName)
        .join(creator, creator.id == Release.createdByAccountId).outerjoin(pilot, pilot.id == Release.releasePilotId)
        .where(Release.id == release_id, Release.tenantId == tenant_id)).first()
    if row is None:  # another workspace's release is as unknown as a made-up one
        raise NotFoundError(f"no release {release_id!r} in this workspace")
    key, status, pilot_id, pilot_name, creator_id, creator_name = row
    actor = _actor(session, tenant_id, actor_account_id, pilot_id=pilot_id, creator_id=creator_id)
    return Context(tenant_id, release_id, key, status, pilot_id, pilot_name, creator_name, actor)


def _actor(session: Session, tenant_id: str, account_id: str | None, *, pilot_id: str | None, creator_id: str) -> Actor:
    if account_id is None:
        return RUNNER
    account = session.scalar(select(Account).where(Account.id == account_id, Account.tenantId == tenant_id))
    if account is None:
        raise NotFoundError("the person acting is not a member of this workspace")
    kinds = {Who.MEMBER}
    kinds |= {Who.ADMIN} if account.role == Role.ADMIN else set()
    kinds |= {Who.PILOT} if account.id == pilot_id else set()
    kinds |= {Who.CREATOR} if account.id == creator_id else set()
    return Actor(account.id, account.displayName, frozenset(kinds))


def authorize(ctx: Context, action: Action) -> ReleaseStatus:
    """Refuse unless the actor's role allows `action` and the table allows it now; returns where it leads."""
    if not ctx.actor.kinds & ROLES[action]:
        raise PermissionDeniedError(permission_message(action, pilot=ctx.pilot, creator=ctx.creator))
    to = next_status(ctx.status, action)
    if to is None:
        raise TransitionRefusedError(refusal(ctx.release_key, ctx.status, action))
    return to


def begin(session: Session, *, tenant_id: str, release_id: str, actor_account_id: str | None, action: Action,
          request_key: str | None = None) -> Context | Outcome:
    """Load and authorize a change; a request already carried out returns its Outcome instead."""
    ctx = load(session, tenant_id=tenant_id, release_id=release_id, actor_account_id=actor_account_id)
    if request_key and _done(session, tenant_id, action, request_key):
        return Outcome(release_id, ctx.release_key, action, ctx.status, ctx.status, changed=False)
    try:
        authorize(ctx, action)
    except TransitionRefusedError:  # say who moved the release where it is, and when
        since = described_by(last_event(session, release_id=ctx.release_id, actions=STATUS_CHANGES))
        raise TransitionRefusedError(refusal(ctx.release_key, ctx.status, action, since=since)) from None
    return ctx


def _done(session: Session, tenant_id: str, action: Action, request_key: str) -> bool:
    return session.scalar(select(RequestKey.id).where(RequestKey.tenantId == tenant_id, RequestKey.scope == _scope(action),
                                                      RequestKey.requestKey == request_key)) is not None


def _scope(action: Action) -> str:
    return f"lifecycle.{action}"


def move(session: Session, ctx: Context, to: ReleaseStatus, *conditions, **values) -> None:
    """Set the release's status to `to` if it is still the one read (and `conditions` hold); else the
    caller lost a race and is told what happened."""
    if not _update(session, ctx, to, *conditions, **values):
        raise lost(session, ctx)


def hold(session: Session, ctx: Context) -> None:
    """Lock the release for a change that keeps its status, if the status is still the one read."""
    move(session, ctx, ctx.status)


def _update(session: Session, ctx: Context, to: ReleaseStatus, *conditions, **values) -> bool:
    return session.execute(
        update(Release).where(Release.id == ctx.release_id, Release.status == ctx.status, *conditions)
        .values(status=to, updatedAt=func.current_timestamp(), **values).execution_options(synchronize_session=False)
    ).rowcount == 1


def lost(session: Session, ctx: Context) -> ConcurrentChangeError:
    """The error for someone who lost a race: what the release is now, and who made it so."""
    status = session.scalar(select(Release.status).where(Release.id == ctx.release_id).with_for_update(read=True))
    event = last_event(session, release_id=ctx.release_id, actions=None if status == ctx.status else STATUS_CHANGES)
    if status == ctx.status:
        return ConcurrentChangeError(f"{ctx.release_key} changed meanwhile{described_by(event)}: look at it again and retry")
    return ConcurrentChangeError(f"{ctx.release_key} is already {STATUS_PHRASES[status]}{described_by(event)}: {NEXT_STEPS[status]}")


def described_by(event: Event | None) -> str:
    """The words " (started by Ada at 14:02 UTC)" for an event, or nothing."""
    if event is None:
        return ""
    try:
        done = DONE[Action(event.action)]
    except ValueError:  # a build event: its action says it
        done = event.action.replace("-", " ")
    return f" ({done} by {event.actor or 'releasebot'} at {event.at:%H:%M} UTC)"


def finish(session: Session, ctx: Context, action: Action, *, to: ReleaseStatus, from_value: object = None,
           to_value: object = None, detail: str | None = None, request_key: str | None = None) -> Outcome:
    """Record the event, remember the request, owe the card a redraw; the Outcome of the change."""
    event = record_event(session, tenant_id=ctx.tenant_id, release_id=ctx.release_id, actor_account_id=ctx.actor.account_id,
                         action=action, from_value=ctx.status if from_value is None else from_value,
                         to_value=to if to_value is None else to_value, detail=detail)
    if request_key:
        session.add(RequestKey(tenantId=ctx.tenant_id, scope=_scope(action), requestKey=request_key, resultId=str(event.id)))
        session.flush()
    mark_stale(session, release_id=ctx.release_id)
    return Outcome(ctx.release_id, ctx.release_key, action, ctx.status, to)


def follow(session: Session, ctx: Context, action: Action, *conditions, detail: str, **values) -> Outcome | None:
    """An automatic transition that follows a person's change (e.g. every target submitted), if its
    conditions hold; recorded as the bot's."""
    to = next_status(ctx.status, action)
    if to is None or not _update(session, ctx, to, *conditions, **values):
        return None
    return finish(session, replace(ctx, actor=RUNNER), action, to=to, detail=detail)
