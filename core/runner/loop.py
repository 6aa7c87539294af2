"""The runner's loop: each round asks every kind of work what is due and runs it, a few at a time.
It knows nothing of builds or cards; a new kind of work is a new module listed in KINDS."""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial

from sqlalchemy import update

from core import logs, metrics
from core.clock import utcnow
from core.models import Base
from core.runner.auto_kickoff import AutoKickoff
from core.runner.cards import Cards
from core.runner.close_epics import CloseEpics
from core.runner.context import Announcer, RunnerContext
from core.runner.follow_builds import FollowBuilds
from core.runner.homes import Homes
from core.runner.kickoff import Kickoff
from core.runner.notifications import Notifications
from core.runner.overdue import Overdue
from core.runner.reminders import Reminders
from core.runner.start_builds import StartBuilds
from core.runner.store_actions import StoreActions
from core.runner.store_states import StoreStates
from core.runner.verifications import Verifications
from core.runtime import Runtime

log = logging.getLogger("releasebot.runner")
YIELD_SECONDS = 1.0  # the longest a step waits for the Slack requests in flight in its process (see core.in_flight)
# In this order each round: a release kicked off has its tasks run, and a kickoff, a delay or a build
# started or ended redraws its card, and a card is posted before the thread replies under it; Homes come last,
# showing what the round changed.
KINDS = (AutoKickoff, Kickoff, Overdue, Reminders, StartBuilds, FollowBuilds, StoreActions, StoreStates, Cards, Notifications, CloseEpics,
         Verifications, Homes)


class Runner:
    def __init__(self, runtime: Runtime, announcer: Announcer, *, worker: str | None = None, interval: float = 5.0,
                 lease: timedelta = timedelta(seconds=60), max_duration: timedelta = timedelta(hours=12),
                 max_failures: int = 8, concurrency: int = 8, round_batch: int | None = None):
        self.ctx = RunnerContext(runtime, announcer, worker or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}",
                                 interval, lease, max_failures, max_duration, self.wake)
        self.concurrency = max(1, concurrency)
        # At most this many steps of each kind per round when running on its own: short rounds keep a wake's
        # work (a webhook's build, then its card and thread line) near the front, long ones amortize the
        # round's due queries over more steps.
        self.round_batch = round_batch or 4 * self.concurrency
        self.kinds = [kind(self.ctx) for kind in KINDS]
        # Kept for the runner's life (its threads start on first use), so a thread keeps what it made once.
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="runner")
        self._wake = threading.Event()
        self.started_at: float | None = None  # time.monotonic() when run() began
        self.last_round_at: float | None = None  # and at the end of the last round: the heartbeat
        self.more = False  # the last round left due work for the next

    @property
    def max_failures(self) -> int:
        return self.ctx.max_failures

    def work(self, kind: type) -> object:
        """The runner's instance of one kind of work (to run one of its steps directly)."""
        return next(k for k in self.kinds if isinstance(k, kind))

    def tick(self, batch: int | None = None) -> int:
        """One round: every kind of work, in order; returns how many steps ran. With `batch`, each kind runs at
        most that many of its due steps (the earliest due first) and `more` says whether some were left."""
        done, self.more = 0, False
        with metrics.ROUND_SECONDS.time():
            for kind in self.kinds:
                due = kind.due()
                if batch is not None and len(due) > batch:
                    due, self.more = due[:batch], True
                step = kind.run
                if due and hasattr(kind, "claim"):  # its rows are taken for the round in one write, not one each
                    due, step = kind.claim(due), partial(kind.run, claimed=True)
                self._each(kind, step, due)
                done += len(due)
        self.last_round_at = time.monotonic()
        return done

    def _each(self, kind, step, ids: list[str]) -> None:
        """Run `step` (of `kind`) for each id, `concurrency` at a time (CI and Slack calls wait on the network;
        claims keep two threads off one row); one failing step does not stop the others."""
        work = type(kind).__name__
        field = getattr(kind, "LOG_AS", "row")

        def guarded(row_id: str) -> None:
            self.ctx.runtime.in_flight.wait_idle(YIELD_SECONDS)  # a Slack request being answered goes first
            with logs.about(worker=self.ctx.worker, work=work, **{field: row_id}):
                try:
                    step(row_id)
                except Exception:  # the log has it; the row is retried when its claim lapses
                    log.exception("runner step %s(%s) failed", work, row_id)

        if len(ids) <= 1 or self.concurrency == 1:
            for row_id in ids:
                guarded(row_id)
            return
        list(self._pool.map(guarded, ids))

    def wake(self) -> None:
        """Look now (a click, a webhook or a finished step left work)."""
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        """Work until `stop` is set; one failing round never stops the loop."""
        self.started_at = time.monotonic()
        log.info("runner %s started", self.ctx.worker)
        while not stop.is_set():
            try:
                # Short rounds (a batch of each kind) keep the way from a wake to its
                # card and thread short however much polling is due: a build a webhook ended is due first
                # (core.services.wakes.AT_ONCE), and its card and thread line follow in the same round.
                self.tick(batch=self.round_batch)
            except Exception:  # keep working for everyone else; the log has the details
                log.exception("runner round failed")
                self.more = False
            if not self.more:  # (work left over: the next round at once)
                self._wake.wait(self.ctx.interval)
            self._wake.clear()

    def release_claims(self) -> int:
        """End the leases this worker still holds (on a graceful stop), so other workers need not wait for them
        to lapse; returns how many. Every claimable table has claimedBy and claimedUntil; claimedBy stays, as
        the mark that a runner has touched the row (a build is then looked up on its CI before any retry)."""
        released = 0
        with self.ctx.runtime.unit_of_work() as s:
            for table in Base.metadata.sorted_tables:
                if "claimedBy" in table.c and "claimedUntil" in table.c:
                    released += s.execute(update(table).where(table.c.claimedBy == self.ctx.worker,
                                                              table.c.claimedUntil > utcnow())
                                          .values(claimedUntil=None)).rowcount
        return released

    def start(self) -> tuple[threading.Thread, threading.Event]:
        """Run in a daemon thread; set the returned event to stop it."""
        stop = threading.Event()
        thread = threading.Thread(target=self.run, args=(stop,), name="runner", daemon=True)
        thread.start()
        return thread, stop
