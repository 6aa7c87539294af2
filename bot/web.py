"""The HTTP surface, one WSGI app served by waitress: Slack's events, CI webhooks, a health check."""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from urllib.parse import parse_qs

from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.app import Bot
from core.errors import PermissionDeniedError
from core.runtime import Runtime
from core.services import webhooks

log = logging.getLogger("releasebot.web")
SLACK_PATH = "/slack/events"
MAX_WEBHOOK_BYTES = 5 * 1024 * 1024


def _reply(start_response: Callable, status: str, body: bytes = b"") -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


def _body(environ: dict) -> bytes:
    length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_WEBHOOK_BYTES)
    return environ["wsgi.input"].read(length) if length else b""


class WebApp:
    """Routes requests to Bolt, the webhooks, the health check, or 404."""

    def __init__(self, bot: Bot, runtime: Runtime):
        self.slack = SlackRequestHandler(bot.app, path=SLACK_PATH)
        self.bot, self.runtime = bot, runtime

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == SLACK_PATH and method == "POST":
            return self.slack(environ, start_response)
        if path == "/healthz" and method == "GET":
            return self.health(start_response)
        if path == "/webhooks/github" and method == "POST":
            return self.webhook(start_response, lambda s: self._github(s, environ, _body(environ)))
        if path.startswith("/webhooks/jenkins/") and method == "POST":
            return self.webhook(start_response, lambda s: self._jenkins(s, environ, path.rsplit("/", 1)[1], _body(environ)))
        return _reply(start_response, "404 Not Found", b"not found")

    def health(self, start_response: Callable) -> list[bytes]:
        try:
            with self.runtime.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError:
            log.warning("health check: database unreachable")
            return _reply(start_response, "503 Service Unavailable", b"database unreachable")
        return _reply(start_response, "200 OK", b"ok")

    def webhook(self, start_response: Callable, handle: Callable) -> list[bytes]:
        try:
            with self.runtime.unit_of_work() as session:
                build_id = handle(session)
        except PermissionDeniedError:
            return _reply(start_response, "401 Unauthorized", b"bad signature")
        except (ValueError, KeyError):
            return _reply(start_response, "400 Bad Request", b"unreadable payload")
        if build_id:
            self.bot.follower.wake()
        return _reply(start_response, "202 Accepted", b"accepted")

    def _github(self, session, environ: dict, body: bytes):
        if environ.get("HTTP_X_GITHUB_EVENT") != "workflow_run":
            return None
        run = json.loads(body)["workflow_run"]
        return webhooks.github_workflow_run(
            session, cipher=self.runtime.cipher, run_id=str(run["id"]), body=body,
            delivery_id=environ.get("HTTP_X_GITHUB_DELIVERY", ""), signature=environ.get("HTTP_X_HUB_SIGNATURE_256"))

    def _jenkins(self, session, environ: dict, pipeline_id: str, body: bytes):
        token = (parse_qs(environ.get("QUERY_STRING", "")).get("token") or [None])[0]
        return webhooks.jenkins_notification(session, cipher=self.runtime.cipher, pipeline_id=pipeline_id,
                                             token=token, payload=json.loads(body))
