"""Prometheus metrics (prometheus_client). Counters and histograms live in the process's default registry and
are updated where things happen (the HTTP surface, outgoing calls, the runner); what the database knows (builds by
state, owed deliveries) is read when scraped. `registry_for` gives what one process serves on /metrics."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from core.enums import BuildState, NotificationState
from core.models import Notification, PipelineBuild, ReleaseCard

REQUESTS = Counter("releasebot_requests", "HTTP requests answered, by surface (command, block_actions, view_submission, "
                   "block_suggestion, event, webhook, health, metrics, …) and outcome (HTTP status)", ["surface", "outcome"])
ACK_SECONDS = Histogram("releasebot_ack_seconds", "Time to answer a Slack request (Slack gives up after 3 s)", ["surface"],
                        buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0))
CALLS = Counter("releasebot_calls", "Calls to Slack and the providers, by provider, method and outcome (2xx, 4xx, 429, "
                "5xx, error; Slack: ok, ratelimited or its error code)", ["provider", "method", "outcome"])
ROUND_SECONDS = Histogram("releasebot_runner_round_seconds", "Duration of one runner round (every kind of work once)",
                          buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0))


def http_outcome(status: int) -> str:
    return "429" if status == 429 else f"{status // 100}xx"


def count_call(provider: str, method: str, outcome: str) -> None:
    CALLS.labels(provider, method, outcome).inc()


class _Process:
    """The default registry's metrics, served again by a per-process registry."""

    def collect(self) -> Iterator:
        return REGISTRY.collect()


class _Database:
    """Gauges read from the database at scrape time; a runner's heartbeat when the process runs one."""

    def __init__(self, runtime, last_round: Callable[[], float | None] | None):
        self.runtime, self.last_round = runtime, last_round

    def collect(self) -> Iterator:
        builds = GaugeMetricFamily("releasebot_builds", "Build attempts by state (every tenant)", labels=["state"])
        owed = GaugeMetricFamily("releasebot_owed_deliveries", "Thread messages, emails and cards owed and not yet "
                                 "delivered", labels=["kind"])
        oldest = GaugeMetricFamily("releasebot_owed_oldest_seconds", "Age of the oldest owed delivery", labels=["kind"])
        try:
            with self.runtime.reading() as s:
                by_state = dict(s.execute(select(PipelineBuild.state, func.count()).group_by(PipelineBuild.state)).all())
                notes = s.execute(select(func.count(), func.min(Notification.createdAt))
                                  .where(Notification.state == NotificationState.PENDING)).one()
                cards = s.execute(select(func.count(), func.min(ReleaseCard.updatedAt))
                                  .where(ReleaseCard.revision > ReleaseCard.drawnRevision)).one()
        except SQLAlchemyError:  # /readyz says why; a scrape still gets the process's metrics
            return
        for state in BuildState:
            builds.add_metric([state.value], by_state.get(state, 0))
        yield builds
        now = datetime.now(UTC).replace(tzinfo=None)  # the naive UTC the DATETIME columns hold
        for kind, (count, since) in (("notification", notes), ("card", cards)):
            owed.add_metric([kind], count)
            oldest.add_metric([kind], max(0.0, (now - since).total_seconds()) if since else 0.0)
        yield owed
        yield oldest
        if self.last_round is not None:
            lag = GaugeMetricFamily("releasebot_runner_lag_seconds", "Seconds since this process's runner last finished "
                                    "a round (it should stay near RELEASEBOT_POLL_SECONDS)")
            last = self.last_round()
            lag.add_metric([], time.monotonic() - last if last is not None else float("nan"))
            yield lag


def registry_for(runtime, last_round: Callable[[], float | None] | None = None) -> CollectorRegistry:
    """What one process serves: its counters and histograms, and the database's gauges."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Process())
    registry.register(_Database(runtime, last_round))
    return registry
