"""Work: remind a release's pilot (its creator when it has none) in the card's thread, or by email for an
email release — the day before its target date while it is not submitted, and when its stage has not
moved for RELEASEBOT_STALE_HOURS (again each further period it stays stuck, never more often).

A reminder is a `release_reminders` row whose unique key says what it is for (the target date; the
stage and the period), written with its `reminded` event, and so its owed thread line, in one
transaction: of two workers the second fails on the key and writes nothing, and a crash before the
commit leaves nothing to repeat. The line is delivered and retried like every other one."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import DateTime, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from core.clock import utcnow
from core.enums import ReleaseStatus as S
from core.lifecycle import BEFORE_RELEASE, NEXT_STEPS, STATUS_CHANGES, STATUS_PHRASES
from core.models import Release, ReleaseEvent, ReleaseReminder
from core.runner.context import RunnerContext
from core.services.history import record_event
from core.services.release_creation import CREATED_ACTION

log = logging.getLogger("releasebot.runner")
DUE, STALE = "due", "stale"
REMINDED = "reminded"  # the history's action; from = DUE or STALE
NOT_SUBMITTED = (S.KICKOFF_PENDING, S.PENDING, S.STARTED, S.REGRESSION_IN_PROGRESS)
STAGE_ACTIONS = (CREATED_ACTION, *STATUS_CHANGES)  # the events that begin a stage
# What to do next, in a reminder's words (a release stuck kicking off has a kickoff task to retry or skip).
STEPS = {**NEXT_STEPS, S.PENDING: "look at its kickoff tasks on the card: retry the one that failed, or ask an admin to skip it"}


def _day(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def _due_soon(now: datetime):
    """Not submitted, the target day is tomorrow or today (UTC), and not yet reminded for this date."""
    today = _day(now)
    reminded = select(ReleaseReminder.id).where(ReleaseReminder.releaseId == Release.id, ReleaseReminder.kind == DUE,
                                                ReleaseReminder.forDate == Release.targetReleaseDate).exists()
    return (Release.status.in_(NOT_SUBMITTED), Release.targetReleaseDate >= today,
            Release.targetReleaseDate < today + timedelta(days=2), ~reminded)


def _stage_start():
    """The id of the event that began the release's current stage (its last status change), if any: one
    index range scan on (releaseId, action). None: the release is where it was created."""
    return (select(func.max(ReleaseEvent.id)).where(ReleaseEvent.releaseId == Release.id, ReleaseEvent.action.in_(STAGE_ACTIONS))
            .correlate(Release).scalar_subquery())


def _since(stage):
    """When the current stage began: its event, else the release's creation."""
    return func.coalesce(stage.at, Release.createdAt, type_=DateTime)


def _stale(now: datetime, period: timedelta, stage):
    """A live stage (not one waiting for its planned date) that began a period ago or more, with no
    reminder of this stage whose period is still running."""
    this_stage = or_(ReleaseReminder.stageEventId == stage.id, and_(ReleaseReminder.stageEventId.is_(None), stage.id.is_(None)))
    reminded = select(ReleaseReminder.id).where(ReleaseReminder.releaseId == Release.id, ReleaseReminder.kind == STALE,
                                                this_stage, ReleaseReminder.nextAfter > now).exists()
    not_waiting_for_its_day = or_(Release.status != S.KICKOFF_PENDING, Release.plannedDate.is_(None),
                                  Release.plannedDate < _day(now) + timedelta(days=1))
    return Release.status.in_(BEFORE_RELEASE), _since(stage) <= now - period, not_waiting_for_its_day, ~reminded


class Reminders:
    def __init__(self, ctx: RunnerContext):
        self.ctx = ctx
        self.period = timedelta(hours=ctx.runtime.settings.stale_hours)

    def due(self, limit: int = 100) -> list[str]:
        """`due:<release id>` and `stale:<release id>` for each reminder owed now."""
        now, stage = utcnow(), aliased(ReleaseEvent)
        with self.ctx.runtime.reading() as s:
            soon = s.scalars(select(Release.id).where(*_due_soon(now)).order_by(Release.targetReleaseDate).limit(limit))
            stuck = s.scalars(select(Release.id).outerjoin(stage, stage.id == _stage_start())
                              .where(*_stale(now, self.period, stage)).order_by(_since(stage)).limit(limit))
            return [f"{DUE}:{r}" for r in soon] + [f"{STALE}:{r}" for r in stuck]

    def run(self, item: str) -> None:
        """Give one reminder, unless it is no longer owed or another worker gave it first."""
        kind, _, release_id = item.partition(":")
        try:
            with self.ctx.runtime.unit_of_work() as s:
                planned = (_due_reminder if kind == DUE else _stale_reminder)(s, release_id, utcnow(), self.period)
                if planned is None:  # submitted, moved or reminded meanwhile
                    return
                reminder, to_value, detail = planned
                s.add(reminder)
                s.flush()  # the unique key: a second worker stops here, before any event
                reminder.eventId = record_event(s, tenant_id=reminder.tenantId, release_id=release_id, actor_account_id=None,
                                                action=REMINDED, from_value=kind, to_value=to_value, detail=detail).id
        except IntegrityError:
            log.debug("reminder %s was given by another worker", item)


def _due_reminder(s: Session, release_id: str, now: datetime, period: timedelta):
    release = s.scalar(select(Release).where(Release.id == release_id, *_due_soon(now)))
    if release is None:
        return None
    target = release.targetReleaseDate
    when = "today" if _day(target) == _day(now) else "tomorrow"
    detail = (f"{release.releaseKey} is due {when} ({target:%Y-%m-%d}) and not submitted yet: it is "
              f"{STATUS_PHRASES[release.status]}; next, {STEPS[release.status]}")
    return (ReleaseReminder(tenantId=release.tenantId, releaseId=release.id, kind=DUE, reminderKey=f"{DUE}:{target.isoformat()}",
                            forDate=target), f"{target:%Y-%m-%d}", detail)


def _stale_reminder(s: Session, release_id: str, now: datetime, period: timedelta):
    stage = aliased(ReleaseEvent)
    row = s.execute(select(Release, stage.id, _since(stage)).outerjoin(stage, stage.id == _stage_start())
                    .where(Release.id == release_id, *_stale(now, period, stage))).first()
    if row is None:
        return None
    release, stage_id, since = row
    periods = int((now - since) / period)  # whole periods stuck: one reminder per period, the first after one
    detail = (f"{release.releaseKey} has been {STATUS_PHRASES[release.status]} for {_long(now - since)} "
              f"(since {since:%Y-%m-%d %H:%M} UTC); next, {STEPS[release.status]}")
    return (ReleaseReminder(tenantId=release.tenantId, releaseId=release.id, kind=STALE,
                            reminderKey=f"{STALE}:{stage_id or 'created'}:{periods}", stageEventId=stage_id,
                            nextAfter=since + period * (periods + 1)), release.status.value, detail)


def _long(span: timedelta) -> str:
    """A duration as people say it: "4 days", "50 hours", "40 minutes"."""
    hours = span.total_seconds() / 3600
    if hours >= 72:
        return f"{int(hours // 24)} days"
    if hours >= 1:
        return f"{int(hours)} hour" + ("s" if int(hours) != 1 else "")
    return f"{max(1, int(span.total_seconds() // 60))} minutes"
