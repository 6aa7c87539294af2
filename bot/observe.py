"""The HTTP surface as an operator sees it, wrapped around the bot's WSGI app: a request id per request (logged
with every line the request causes, and returned as X-Request-Id), one access-log line per request, request
counts and Slack ack latency, and the two routes that are about the process itself: /metrics and /readyz."""
from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable

from alembic.runtime.migration import MigrationContext
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from core import logs, metrics
from core.migrate import head_revision
from core.runner import Runner
from core.runtime import Runtime

access_log = logging.getLogger("releasebot.access")
SLACK_SURFACE = "releasebot.surface"  # set in environ by the Slack route once it knows the payload's kind
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")  # a proxy's X-Request-Id is kept when it looks like one
_ROUTES = {"/healthz": "health", "/readyz": "ready", "/metrics": "metrics", "/webhooks/github": "webhook_github",
           "/slack/install": "oauth", "/slack/oauth_redirect": "oauth"}


def _surface(path: str, environ: dict) -> str:
    if path == "/slack/events":
        return environ.get(SLACK_SURFACE, "slack")
    if path.startswith("/webhooks/jenkins/"):
        return "webhook_jenkins"
    return _ROUTES.get(path, "other")


class Observed:
    """Wraps the bot's WSGI app; `runner` is this process's runner, when it runs one (for /readyz and /metrics)."""

    def __init__(self, app: Callable, runtime: Runtime, runner: Runner | None = None):
        self.app, self.runtime, self.runner = app, runtime, runner
        self.registry = metrics.registry_for(runtime, self._last_round if runner else None)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        began = time.perf_counter()
        given = environ.get("HTTP_X_REQUEST_ID") or ""
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex[:16]
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        status = ["500"]

        def responding(line: str, headers: list, exc_info=None):
            status[0] = line.split(" ", 1)[0]
            return start_response(line, [*headers, ("X-Request-Id", request_id)], exc_info)

        with logs.about(request_id=request_id):
            try:
                if path == "/metrics" and method == "GET":
                    body = self.metrics(responding)
                elif path == "/readyz" and method == "GET":
                    body = self.ready(responding)
                elif path == "/slack/events":
                    with self.runtime.in_flight.request():  # until the ack: this process's runner waits
                        body = self.app(environ, responding)
                else:
                    body = self.app(environ, responding)
            finally:
                seconds = time.perf_counter() - began
                surface = _surface(path, environ)
                metrics.REQUESTS.labels(surface, status[0]).inc()
                if path == "/slack/events":
                    metrics.ACK_SECONDS.labels(surface).observe(seconds)
                # The path only: a query string may carry a webhook's token.
                access_log.info("%s %s %s %.1f ms", method, path, status[0], seconds * 1000,
                                extra={"method": method, "path": path, "status": int(status[0]),
                                       "duration_ms": round(seconds * 1000, 1), "surface": surface})
        return body

    def metrics(self, start_response: Callable) -> list[bytes]:
        body = generate_latest(self.registry)
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))])
        return [body]

    def ready(self, start_response: Callable) -> list[bytes]:
        """200 when the database answers, its schema is at the code's head, and this process's runner (if it runs
        one) has finished a round within its claim lease; 503 naming what is not."""
        checks = {"database": "ok", "schema": "ok"}
        try:
            with self.runtime.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                current = MigrationContext.configure(conn).get_current_revision()
            if current != head_revision():
                checks["schema"] = f"at {current or 'nothing'}, the code needs {head_revision()}: run `releasebot db upgrade`"
        except SQLAlchemyError:
            checks["database"] = "unreachable"
            checks["schema"] = "unknown"
        if self.runner is not None and self.runner.started_at is not None:  # serve --no-follower runs none
            checks["runner"] = self._runner_state()
        ok = all(v == "ok" for v in checks.values())
        body = json.dumps(checks).encode()
        start_response("200 OK" if ok else "503 Service Unavailable",
                       [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    def _last_round(self) -> float | None:
        return self.runner.last_round_at or self.runner.started_at

    def _runner_state(self) -> str:
        # A runner silent for longer than a claim lease has lost its claims to other workers: it is stuck or gone.
        allowed = max(3 * self.runner.ctx.interval, self.runner.ctx.lease.total_seconds())
        silent = time.monotonic() - self._last_round()
        return "ok" if silent <= allowed else f"no round finished for {silent:.0f} s (allowed {allowed:.0f} s)"
