"""The HTTP surface, one WSGI app served by waitress: Slack's events, the OAuth install pages, CI and App Store
webhooks, a health check."""
from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable
from functools import partial
from urllib.parse import parse_qs

from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.app import Bot
from bot.oauth import INSTALL_PATH, REDIRECT_PATH
from bot.observe import SLACK_SURFACE
from bot.payloads import PayloadError, parse_payload
from core.errors import ConfigurationError, PermissionDeniedError
from core.runtime import Runtime
from core.services import webhooks

log = logging.getLogger("releasebot.web")
SLACK_PATH = "/slack/events"
# Slack's payloads are a few KB (a full 100-block modal's state stays well under 1 MiB); Jenkins' notifications
# are a few hundred bytes; GitHub's workflow_run deliveries are tens of KB (bigger events are not ones we read).
SLACK_MAX_BYTES = 1024 * 1024
JENKINS_MAX_BYTES = 1024 * 1024
GITHUB_MAX_BYTES = 5 * 1024 * 1024
APP_STORE_MAX_BYTES = 1024 * 1024
MAX_BODY_BYTES = max(SLACK_MAX_BYTES, JENKINS_MAX_BYTES, GITHUB_MAX_BYTES)  # waitress refuses larger ones itself


def _jenkins_payload(body: bytes) -> dict:
    """A Notification plugin message with the shape jenkins_notification reads; ValueError otherwise."""
    payload = json.loads(body)
    build = payload.get("build") if isinstance(payload, dict) else None
    parameters = build.get("parameters") if isinstance(build, dict) else None
    key = parameters.get("RELEASEBOT_KEY") if isinstance(parameters, dict) else None
    if not (isinstance(build, dict) and isinstance(build.get("phase", ""), str) and isinstance(parameters, dict | None)
            and isinstance(key, str | None)):
        raise ValueError("not a Jenkins notification")
    return payload


class TooLarge(Exception):
    """The body is larger than its route accepts."""


def _reply(start_response: Callable, status: str, body: bytes = b"") -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


def _body(environ: dict, limit: int) -> bytes:
    """The request's body; TooLarge when its Content-Length (or, failing that, what it holds) exceeds `limit`."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:  # refused before a byte of it is read
        raise TooLarge
    data = environ["wsgi.input"].read(length if length else limit + 1)
    if len(data) > limit:
        raise TooLarge
    return data


def _header(environ: dict, name: str) -> str | None:
    return environ.get("HTTP_" + name.upper().replace("-", "_"))


class WebApp:
    """Routes requests to Bolt, the webhooks, the health check, or 404."""

    def __init__(self, bot: Bot, runtime: Runtime):
        self.slack = SlackRequestHandler(bot.app, path=SLACK_PATH)
        self.verifier = SignatureVerifier(runtime.settings.slack_signing_secret or "unset")
        self.bot, self.runtime = bot, runtime

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        try:
            if path == SLACK_PATH and method == "POST":
                return self.slack_events(environ, start_response, _body(environ, SLACK_MAX_BYTES))
            if path == "/healthz" and method == "GET":
                return self.health(start_response)
            if path in (INSTALL_PATH, REDIRECT_PATH) and method == "GET" and self.bot.app.oauth_flow is not None:
                # A browser's visit: no Slack signature; the redirect is checked by its one-time state and cookie.
                return self.slack({**environ, "wsgi.input": io.BytesIO(b""), "CONTENT_LENGTH": "0"}, start_response)
            if path == "/webhooks/github" and method == "POST":
                body = _body(environ, GITHUB_MAX_BYTES)
                return self.webhook(start_response, lambda s: self._github(s, environ, body))
            if path.startswith("/webhooks/jenkins/") and method == "POST":
                body = _body(environ, JENKINS_MAX_BYTES)
                return self.webhook(start_response, lambda s: self._jenkins(s, environ, path.rsplit("/", 1)[1], body))
            if path.startswith("/webhooks/app-store/") and method == "POST":
                body = _body(environ, APP_STORE_MAX_BYTES)
                return self.webhook(start_response, lambda s: webhooks.app_store_notification(
                    s, cipher=self.runtime.cipher, integration_id=path.rsplit("/", 1)[1], body=body,
                    signature=_header(environ, "X-Apple-Signature")))
        except TooLarge:
            return _reply(start_response, "413 Request Entity Too Large", b"request body too large")
        return _reply(start_response, "404 Not Found", b"not found")

    def signed(self, environ: dict, body: bytes) -> bool:
        """Whether Slack signed these exact bytes within the last five minutes (checked before any parsing)."""
        try:
            return self.verifier.is_valid(body, _header(environ, "X-Slack-Request-Timestamp"), _header(environ, "X-Slack-Signature"))
        except ValueError:  # a timestamp that is not a number, a body that is not UTF-8: not Slack's
            return False

    def slack_events(self, environ: dict, start_response: Callable, body: bytes) -> Iterable[bytes]:
        if not self.signed(environ, body):
            return _reply(start_response, "401 Unauthorized", b"invalid signature")
        try:
            payload = parse_payload(body, (environ.get("CONTENT_TYPE") or "").split(";")[0] or None)
            environ[SLACK_SURFACE] = "command" if "command" in payload else payload["type"]
        except PayloadError as error:
            log.info("refused a signed Slack request: %s", error)
            return _reply(start_response, "400 Bad Request", f"unreadable Slack request: {error}".encode())
        # Bolt reads the body again (and checks the signature again): hand it the bytes already read.
        return self.slack({**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}, start_response)

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
        except ConfigurationError as error:  # the stored secret cannot be read (keys): the operator's problem, said once
            log.warning("webhook refused: %s", error)
            return _reply(start_response, "503 Service Unavailable", b"webhook secret unavailable")
        except (ValueError, KeyError, TypeError, RecursionError):  # not JSON, or not the shape the provider sends
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
        notify = partial(webhooks.jenkins_notification, session, cipher=self.runtime.cipher, pipeline_id=pipeline_id, token=token)
        notify(payload={})  # the token is checked first (an empty notification is one that changes nothing)
        return notify(payload=_jenkins_payload(body))  # only an authenticated body is parsed
