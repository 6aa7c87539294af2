"""The HTTP surface: POST /slack/events (Bolt), GET /healthz, as one WSGI app served by waitress."""
from __future__ import annotations

import logging
from typing import Callable, Iterable

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from core.runtime import Runtime

log = logging.getLogger("releasebot.web")
SLACK_PATH = "/slack/events"


class WebApp:
    """Routes requests to Bolt, the health check, or 404."""

    def __init__(self, app: App, runtime: Runtime):
        self.slack = SlackRequestHandler(app, path=SLACK_PATH)
        self.runtime = runtime

    def healthy(self) -> bool:
        try:
            with self.runtime.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            log.warning("health check: database unreachable")
            return False

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == SLACK_PATH and method == "POST":
            return self.slack(environ, start_response)
        if path == "/healthz" and method == "GET":
            ok = self.healthy()
            start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"ok" if ok else b"database unreachable"]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
