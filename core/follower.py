"""The follower: starts requested builds, follows running ones to their end, delivers what is owed.

It runs inside `releasebot serve` and as `releasebot worker`. Every step claims its row with a
conditional update first, so several processes on one database never dispatch, follow or announce
the same thing twice. CI and Slack calls happen outside database transactions.

What happens when a process dies:
- after the intent is recorded, before the CI is called: the build stays REQUESTED and unclaimed;
  `due_builds` hands it to a follower after a short grace, which triggers it;
- after the dispatcher claimed it, before or after the CI answered: the claim lapses; the next
  dispatcher sees the build was claimed before and first asks the CI for a build carrying the
  build's idempotency key, triggering only if there is none (cutting the release branch first is
  idempotent: an existing branch is used as it is);
- while following: the claim lapses and another follower polls it; state changes are idempotent;
- after a notification was posted, before it was marked sent: it is posted again (the one window
  where a message can repeat; Slack offers no idempotency key for chat.postMessage).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from sqlalchemy import select

from core.card_delivery import CardDelivery, CardPublisher
from core.enums import BuildState, BuildStatus, IntegrationKind, NotificationState
from core.errors import ConfigurationError, IntegrationError, ReleasebotError
from core.integrations.base import BuildRef, ensure_branch
from core.integrations.registry import build_client
from core.models import Account, Notification, PipelineBuild, PipelineIntegration, Release, ReleasePipeline, ScmIntegration
from core.runtime import Runtime
from core.services import builds
from core.services.integrations import utcnow
from core.services.releases import ReleaseView, get_release
from core.services.verification import config_of

log = logging.getLogger("releasebot.follower")

STATUS_OF = {BuildStatus.RUNNING: BuildState.RUNNING, BuildStatus.PENDING: BuildState.RUNNING,
             BuildStatus.SUCCESS: BuildState.SUCCESS, BuildStatus.FAILED: BuildState.FAILED,
             BuildStatus.CANCELLED: BuildState.CANCELLED}


@dataclass(frozen=True)
class BuildFacts:
    """One build attempt as an announcement tells it."""

    id: str
    attempt: int
    pipeline_name: str
    release_pipeline_id: str
    state: BuildState
    number: str | None
    url: str | None
    log_url: str | None
    artifact_url: str | None
    duration_seconds: int | None
    error: str | None
    triggered_by_slack_user: str | None
    triggered_by_name: str | None
    aborted_by_name: str | None = None


@dataclass(frozen=True)
class Announcement:
    kind: str  # TRIGGERED or FINISHED
    release: ReleaseView
    build: BuildFacts


class Announcer(CardPublisher, Protocol):
    """Where releases are told about (Slack, implemented by the bot): thread replies and cards."""

    def announce(self, announcement: Announcement) -> None:
        """Post it once; raise IntegrationError (retryable or not) when it could not be posted."""


# What building a CI client from stored settings can raise: a key that decrypts nothing, an address
# the guard refuses, a host that does not resolve, a port out of range.
CLIENT_ERRORS = (ReleasebotError, ValueError, KeyError)


CLIENT_CACHE_SIZE = 256


def _ref(build: PipelineBuild) -> BuildRef:
    return BuildRef(queue_id=build.queueId, build_number=build.buildNumber, url=build.buildUrl)


def _retry_at(backoff: float, exc: Exception):
    """When to try a failed CI call again: after the backoff, or when a rate limit says, if later."""
    return utcnow() + timedelta(seconds=max(backoff, getattr(exc, "retry_after", None) or 0))


def _next_check(requested_at, interval: float):
    """When to look again: often at first, then less (a long build is not worth a request every few seconds)."""
    age = (utcnow() - requested_at).total_seconds()
    return utcnow() + timedelta(seconds=min(max(interval, age / 20), 60))


class Follower:
    def __init__(self, runtime: Runtime, announcer: Announcer, *, worker: str | None = None, interval: float = 5.0,
                 lease: timedelta = timedelta(seconds=60), max_duration: timedelta = timedelta(hours=12),
                 max_failures: int = 8, concurrency: int = 8):
        self.runtime, self.announcer = runtime, announcer
        self.concurrency = max(1, concurrency)
        self._clients: OrderedDict[str, object] = OrderedDict()  # reused: a new Jenkins client fetches a crumb
        self._clients_lock = threading.Lock()
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.interval, self.lease, self.max_duration, self.max_failures = interval, lease, max_duration, max_failures
        self.cards = CardDelivery(runtime, announcer, worker=self.worker, lease=lease, interval=interval)
        self._wake = threading.Event()

    # --- the CI side ---------------------------------------------------------------------

    def _client(self, session, build: PipelineBuild):
        """The CI client of a build's pipeline (raises one of CLIENT_ERRORS when it cannot be built)."""
        rp = session.get(ReleasePipeline, build.releasePipelineId)
        pipeline = session.get(PipelineIntegration, rp.pipelineIntegrationId)
        return self._cached(IntegrationKind.PIPELINE, config_of(session, IntegrationKind.PIPELINE, pipeline, self.runtime.cipher))

    def _cached(self, kind: IntegrationKind, config):
        # Keyed by everything the client is built from, so new credentials or a new URL get a new client.
        key = hashlib.sha256(json.dumps([kind.value, config.id, config.provider, config.base_url, config.fields,
                                         config.settings, config.secrets], sort_keys=True, default=str).encode()).hexdigest()
        with self._clients_lock:
            client = self._clients.get(key)
            if client is not None:
                self._clients.move_to_end(key)
                return client
        client = build_client(kind, config, self.runtime.provider_context)
        with self._clients_lock:
            self._clients[key] = client
            while len(self._clients) > CLIENT_CACHE_SIZE:
                self._clients.popitem(last=False)
        return client

    def dispatch(self, build_id: str) -> None:
        """Start a requested build on its CI (or find the one an earlier attempt started); an abort
        requested before the CI had it cancels it without starting anything."""
        with self.runtime.unit_of_work() as s:
            build = s.get(PipelineBuild, build_id)
            if build is None or build.state != BuildState.REQUESTED:
                return
            seen_before = build.claimedBy is not None or build.failures > 0
            # "Never tried" is restated in the claim: if another worker tried meanwhile, look before triggering.
            untried = () if seen_before else (PipelineBuild.claimedBy.is_(None), PipelineBuild.failures == 0)
            if not builds.claim(s, PipelineBuild, build_id, PipelineBuild.state == BuildState.REQUESTED, *untried,
                                worker=self.worker, lease=self.lease):
                return
            aborted, key = build.abortRequestedAt is not None, build.idempotencyKey
            if aborted and not seen_before:
                parts = None
            else:
                try:
                    parts = self._dispatch_parts(s, build)
                except CLIENT_ERRORS as exc:
                    parts = exc
        if parts is None:
            self._record(build_id, state=BuildState.CANCELLED, error=None)
        elif isinstance(parts, Exception):
            self._record(build_id, **self._unbuildable(build_id, parts, starting=True))
        else:
            self._record(build_id, **self._start(build_id, key, seen_before, aborted, *parts))

    def _dispatch_parts(self, s, build: PipelineBuild):
        rp = s.get(ReleasePipeline, build.releasePipelineId)
        release = s.get(Release, rp.releaseId)
        scm_row = s.get(ScmIntegration, release.scmIntegrationId)
        scm = self._cached(IntegrationKind.SCM, config_of(s, IntegrationKind.SCM, scm_row, self.runtime.cipher))
        params = {"RELEASE_VERSION": release.version, "BRANCH": release.branchRelease}
        return self._client(s, build), scm, params, release.baseBranch

    def _start(self, build_id: str, key: str, seen_before: bool, aborted: bool, client, scm, params, base) -> dict:
        try:
            ref = client.find(key) if seen_before else None
            if ref is None and aborted:  # the CI never got it: nothing to stop
                return dict(state=BuildState.CANCELLED, error=None)
            if ref is None:
                ensure_branch(scm, params["BRANCH"], base)  # the release branch is cut from the base branch at the first build
                ref = client.trigger(params=params, idempotency_key=key)
            return dict(state=BuildState.RUNNING, queue_id=ref.queue_id, build_number=ref.build_number, url=ref.url,
                        next_check=utcnow() + timedelta(seconds=self.interval))
        except (IntegrationError, ConfigurationError) as exc:
            return self._dispatch_failed(build_id, exc)

    def _dispatch_failed(self, build_id: str, exc: Exception) -> dict:
        with self.runtime.unit_of_work() as s:
            build = s.get(PipelineBuild, build_id)
            build.failures += 1
            if getattr(exc, "retryable", False) and build.failures < self.max_failures:
                log.info("build %s: CI not reachable (%s), will retry", build_id, exc)
                return dict(state=BuildState.REQUESTED, error=str(exc),
                            next_check=_retry_at(self.interval * build.failures, exc))
            if build.abortRequestedAt is not None:
                return dict(state=BuildState.CANCELLED, error=f"aborted; the CI could not be asked to stop it: {exc}")
        return dict(state=BuildState.FAILED, error=f"could not start the build: {exc}")

    def _unbuildable(self, build_id: str, exc: Exception, *, starting: bool) -> dict:
        """The pipeline's stored settings give no usable client: a failed attempt, retried like any
        other and ending FAILED (or LOST while following). Members read what to do; the detail, which
        may name settings or addresses, goes to the admins' view and the log."""
        with self.runtime.unit_of_work() as s:
            build = s.get(PipelineBuild, build_id)
            rp = s.get(ReleasePipeline, build.releasePipelineId)
            name = s.get(PipelineIntegration, rp.pipelineIntegrationId).displayName
            build.failures += 1
            failures, aborted = build.failures, build.abortRequestedAt is not None
        detail = str(exc) if isinstance(exc, ReleasebotError) else f"{type(exc).__name__}: {exc}"
        log.warning("build %s: cannot build the client of pipeline %s (%s/%s): %s", build_id, name, failures,
                    self.max_failures, detail)
        advice = f"{name} cannot be reached with its current settings: ask an admin to re-verify {name}"
        if failures < self.max_failures and not aborted:
            state = BuildState.REQUESTED if starting else BuildState.RUNNING
            return dict(state=state, error=f"{advice} (attempt {failures} of {self.max_failures})", error_detail=detail,
                        next_check=utcnow() + timedelta(seconds=self.interval * failures))
        ended = BuildState.CANCELLED if aborted else (BuildState.FAILED if starting else BuildState.LOST)
        return dict(state=ended, error=advice, error_detail=detail)

    def check(self, build_id: str) -> None:
        """Ask the CI how a running build is doing (stopping it first when an abort was asked); record
        its end, or lose track after a bounded wait."""
        with self.runtime.unit_of_work() as s:
            build = s.get(PipelineBuild, build_id)
            if build is None or build.state != BuildState.RUNNING:
                return
            if not builds.claim(s, PipelineBuild, build_id, PipelineBuild.state == BuildState.RUNNING,
                                worker=self.worker, lease=self.lease):
                return
            ref, requested_at, key, abort = _ref(build), build.requestedAt, build.idempotencyKey, build.abortRequestedAt
            try:
                client = self._client(s, build)
            except CLIENT_ERRORS as exc:
                client = exc
        if isinstance(client, Exception):
            self._record(build_id, **self._unbuildable(build_id, client, starting=False))
            return
        if utcnow() - requested_at > self.max_duration:
            self._record(build_id, state=BuildState.LOST, error=f"no result after {self.max_duration}: lost track of it")
            return
        try:
            if abort is not None:
                client.stop(ref)
                self._abort_sent(build_id)
            seen = client.state(ref)
        except (IntegrationError, ConfigurationError) as exc:
            self._record(build_id, **self._check_failed(build_id, exc, client, key))
            return
        self._record(build_id, state=STATUS_OF[seen.status], build_number=seen.build_number, url=seen.url,
                     log_url=seen.log_url, artifact_url=seen.artifact_url, duration=seen.duration_seconds,
                     next_check=_next_check(requested_at, self.interval))

    def _abort_sent(self, build_id: str) -> None:
        with self.runtime.unit_of_work() as s:
            s.get(PipelineBuild, build_id).abortRequestedAt = None

    def _check_failed(self, build_id: str, exc: Exception, client, key: str) -> dict:
        if getattr(exc, "status", None) == 404:
            # Jenkins purges a queue item minutes after its build starts: before calling the build
            # lost, look for it by its key; a retry would build the release twice.
            found = self._find(client, key)
            if found is not None:
                return dict(state=BuildState.RUNNING, queue_id=found.queue_id, build_number=found.build_number,
                            url=found.url, next_check=utcnow())
        with self.runtime.unit_of_work() as s:
            build = s.get(PipelineBuild, build_id)
            build.failures += 1
            gone = getattr(exc, "status", None) == 404
            if gone or build.failures >= self.max_failures:
                return dict(state=BuildState.LOST, error=f"lost track of the build: {exc}")
            return dict(state=BuildState.RUNNING, error=str(exc),
                        next_check=_retry_at(self.interval * 2 ** min(build.failures, 5), exc))

    @staticmethod
    def _find(client, key: str) -> BuildRef | None:
        try:
            return client.find(key)
        except (IntegrationError, ConfigurationError):
            return None

    def _record(self, build_id: str, **outcome) -> None:
        with self.runtime.unit_of_work() as s:
            build = s.get(PipelineBuild, build_id)
            if outcome["state"] == BuildState.RUNNING and build.abortRequestedAt is not None:
                outcome["next_check"] = utcnow()  # aborted while the CI was being called: stop it now
            builds.record_progress(s, build, **outcome)
            if outcome["state"] == BuildState.RUNNING and outcome.get("error") is None:
                build.failures = 0
            builds.release_claim(s, PipelineBuild, build_id, worker=self.worker)
        if outcome["state"] == BuildState.RUNNING and outcome.get("next_check") and outcome["next_check"] <= utcnow():
            self.wake()

    # --- the Slack side ------------------------------------------------------------------

    def deliver(self, notification_id: str) -> None:
        """Post one owed notification, or schedule its retry."""
        with self.runtime.unit_of_work() as s:
            n = s.get(Notification, notification_id)
            if n is None or n.state != NotificationState.PENDING:
                return
            if not builds.claim(s, Notification, notification_id, Notification.state == NotificationState.PENDING,
                                worker=self.worker, lease=self.lease):
                return
            announcement = self._announcement(s, n)
        try:
            self.announcer.announce(announcement)
            state, error, delay = NotificationState.SENT, None, None
        except IntegrationError as exc:
            state, error = NotificationState.PENDING, str(exc)
            delay = getattr(exc, "retry_after", None) or self.interval
        with self.runtime.unit_of_work() as s:
            n = s.get(Notification, notification_id)
            n.attempts += 1
            n.lastError = error
            if state == NotificationState.PENDING and n.attempts >= 20:
                state = NotificationState.ABANDONED
                log.error("notification %s abandoned after %s attempts: %s", n.id, n.attempts, error)
            n.state = state
            n.nextAttemptAt = utcnow() + timedelta(seconds=delay * min(n.attempts, 10)) if delay else None
            builds.release_claim(s, Notification, notification_id, worker=self.worker)

    def _announcement(self, s, n: Notification) -> Announcement:
        build = s.get(PipelineBuild, n.buildId)
        rp = s.get(ReleasePipeline, build.releasePipelineId)
        pipeline = s.get(PipelineIntegration, rp.pipelineIntegrationId)
        who = s.get(Account, build.triggeredByAccountId) if build.triggeredByAccountId else None
        aborter = s.get(Account, build.abortedByAccountId) if build.abortedByAccountId else None
        return Announcement(n.kind, get_release(s, tenant_id=n.tenantId, release_id=n.releaseId), BuildFacts(
            build.id, build.attempt, pipeline.displayName, rp.id, build.state, build.buildNumber, build.buildUrl,
            build.buildLogUrl, build.artifactUrl, build.durationSeconds, build.error,
            who.slackUserId if who else None, who.displayName if who else None,
            aborter.displayName if aborter and build.state == BuildState.CANCELLED else None))

    def deliver_due(self) -> int:
        """Post the cards, then the thread replies, that are owed and due."""
        due_cards = self.cards.due()
        self._each(self.cards.deliver, due_cards)
        with self.runtime.unit_of_work() as s:
            due = builds.due_notifications(s)
        self._each(self.deliver, due)
        return len(due_cards) + len(due)

    def _each(self, step, ids: list[str]) -> None:
        """Run `step` for each id, `concurrency` at a time (CI and Slack calls wait on the network;
        claims keep two threads off one row); one failing step does not stop the others."""
        def guarded(row_id: str) -> None:
            try:
                step(row_id)
            except Exception:  # the log has it; the row is retried when its claim lapses
                log.exception("follower step %s(%s) failed", step.__name__, row_id)

        if len(ids) <= 1 or self.concurrency == 1:
            for row_id in ids:
                guarded(row_id)
            return
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(ids)), thread_name_prefix="follower") as pool:
            list(pool.map(guarded, ids))

    # --- the loop ------------------------------------------------------------------------

    def tick(self) -> int:
        """One round: start requested builds, check running ones, then deliver what is owed."""
        with self.runtime.unit_of_work() as s:
            due = builds.due_builds(s)
            states = dict(s.execute(select(PipelineBuild.id, PipelineBuild.state).where(PipelineBuild.id.in_(due))).all()) if due else {}
        self._each(lambda build_id: (self.dispatch if states.get(build_id) == BuildState.REQUESTED else self.check)(build_id),
                   due)
        return len(due) + self.deliver_due()

    def wake(self) -> None:
        """Look now (a click, a webhook or a finished step left work)."""
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        """Follow until `stop` is set; one failing round never stops the loop."""
        log.info("follower %s started", self.worker)
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # keep following everyone else; the log has the details
                log.exception("follower round failed")
            self._wake.wait(self.interval)
            self._wake.clear()

    def start(self) -> tuple[threading.Thread, threading.Event]:
        """Run in a daemon thread; set the returned event to stop it."""
        stop = threading.Event()
        thread = threading.Thread(target=self.run, args=(stop,), name="follower", daemon=True)
        thread.start()
        return thread, stop

