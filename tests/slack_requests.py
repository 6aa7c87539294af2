"""Requests as Slack sends them: form-encoded, signed with the app's signing secret (v0 HMAC-SHA256)."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import requests

SIGNING_SECRET = "test-signing-secret-8f2e"


def sign(body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack adds to every request."""
    ts = str(timestamp if timestamp is not None else int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}",
            "Content-Type": "application/x-www-form-urlencoded"}


class SlackClient:
    """Sends signed requests to the bot's /slack/events, as one workspace and user."""

    def __init__(self, base_url: str, *, team_id: str, user_id: str, user_name: str = "ada", team_domain: str = "acme"):
        self.url = base_url.rstrip("/") + "/slack/events"
        self.team_id, self.user_id, self.user_name, self.team_domain = team_id, user_id, user_name, team_domain

    def post(self, body: str, headers: dict[str, str] | None = None) -> requests.Response:
        return requests.post(self.url, data=body.encode(), headers=headers or sign(body), timeout=30)

    def command(self, text: str, *, channel_id: str = "CORIGIN", trigger_id: str = "13345224609.738474920.8088930838d88f008e0",
                response_url: str = "https://hooks.slack.com/commands/T0/1/x") -> requests.Response:
        return self.post(self.command_body(text, channel_id=channel_id, trigger_id=trigger_id, response_url=response_url))

    def command_body(self, text: str, *, channel_id: str = "CORIGIN", trigger_id: str = "13345224609.738474920.8088930838d88f008e0",
                     response_url: str = "https://hooks.slack.com/commands/T0/1/x") -> str:
        """The form body Slack posts for `/release <text>` (unsigned: `sign` gives its headers)."""
        return urlencode({
            "token": "deprecated-verification-token", "team_id": self.team_id, "team_domain": self.team_domain,
            "channel_id": channel_id, "channel_name": "general", "user_id": self.user_id, "user_name": self.user_name,
            "command": "/release", "text": text, "api_app_id": "A0RELEASEBOT", "is_enterprise_install": "false",
            "response_url": response_url, "trigger_id": trigger_id,
        })

    def interactive(self, payload: dict) -> requests.Response:
        payload = {"team": {"id": self.team_id, "domain": self.team_domain},
                   "user": {"id": self.user_id, "username": self.user_name, "name": self.user_name, "team_id": self.team_id},
                   "api_app_id": "A0RELEASEBOT", "token": "deprecated-verification-token",
                   "is_enterprise_install": False, "enterprise": None, **payload}
        return self.post(urlencode({"payload": json.dumps(payload)}))

    def event(self, event: dict) -> requests.Response:
        """An Events API delivery (`event_callback`), JSON as Slack sends it."""
        body = json.dumps({
            "token": "deprecated-verification-token", "team_id": self.team_id, "api_app_id": "A0RELEASEBOT",
            "event": {"event_ts": f"{time.time():.6f}", **event}, "type": "event_callback",
            "event_id": f"Ev{int(time.time() * 1000)}", "event_time": int(time.time()),
            "authorizations": [{"enterprise_id": None, "team_id": self.team_id, "user_id": "U0BOT", "is_bot": True,
                                "is_enterprise_install": False}],
            "is_ext_shared_channel": False})
        return self.post(body, {**sign(body), "Content-Type": "application/json"})

    def home_opened(self, *, tab: str = "home") -> requests.Response:
        """The person opened the app's Home tab (or its Messages tab)."""
        return self.event({"type": "app_home_opened", "user": self.user_id, "channel": "D" + self.user_id[1:], "tab": tab})

    def view_submission(self, view: dict, values: dict, *, view_id: str = "V0CREATE1") -> requests.Response:
        submitted = {**view, "id": view_id, "team_id": self.team_id, "state": {"values": values}, "hash": "1.abc"}
        return self.interactive({"type": "view_submission", "trigger_id": "1.2.3", "view": submitted,
                                 "response_urls": []})

    def block_suggestion(self, view: dict, action_id: str, block_id: str, value: str = "", values: dict | None = None):
        current = {**view, "id": "V0CREATE1", "state": {"values": values or {}}}
        return self.interactive({"type": "block_suggestion", "action_id": action_id, "block_id": block_id,
                                 "value": value, "view": current, "container": {"type": "view", "view_id": "V0CREATE1"}})

    def block_action(self, *, action_id: str, value: str | None, block_id: str, channel_id: str, message_ts: str,
                     message: dict | None = None, action_ts: str | None = None,
                     selected_option: dict | None = None, trigger_id: str = "1.2.3") -> requests.Response:
        """A button press, or (with `selected_option`) a choice in an overflow menu."""
        action = {"type": "button", "action_id": action_id, "block_id": block_id, "value": value,
                  "action_ts": action_ts or f"{time.time():.6f}"}
        if selected_option is not None:
            action = {**{k: v for k, v in action.items() if k != "value"}, "type": "overflow", "selected_option": selected_option}
        return self.interactive({
            "type": "block_actions", "trigger_id": trigger_id, "response_url": "https://hooks.slack.com/actions/T0/1/x",
            "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id, "is_ephemeral": False},
            "channel": {"id": channel_id, "name": "releases"}, "message": message or {"ts": message_ts, "blocks": []},
            "actions": [action],
        })


def select_value(value: str | None) -> dict:
    return {"type": "external_select", "selected_option": {"value": value, "text": {"type": "plain_text", "text": "x"}} if value else None}


def multi_value(values: list[str]) -> dict:
    return {"type": "multi_external_select",
            "selected_options": [{"value": v, "text": {"type": "plain_text", "text": "x"}} for v in values]}


def text_value(value: str | None) -> dict:
    return {"type": "plain_text_input", "value": value}


def date_value(value: str | None) -> dict:
    return {"type": "datepicker", "selected_date": value}


def event_request(team_id: str | None, event: dict, *, enterprise_id: str | None = None, org_wide: bool = False,
                  bot_user_id: str = "U0BOT") -> tuple[str, dict[str, str]]:
    """An Events API delivery (`event_callback`, JSON) as Slack signs it: (body, headers)."""
    body = json.dumps({
        "token": "deprecated-verification-token", "team_id": team_id or enterprise_id, "enterprise_id": enterprise_id,
        "api_app_id": "A0RELEASEBOT", "event": {**event, "event_ts": f"{time.time():.6f}"}, "type": "event_callback",
        "event_id": f"Ev{int(time.time() * 1000)}", "event_time": int(time.time()),
        "authorizations": [{"enterprise_id": enterprise_id, "team_id": None if org_wide else team_id,
                            "user_id": bot_user_id, "is_bot": True, "is_enterprise_install": org_wide}],
        "is_ext_shared_channel": False,
    })
    return body, {**sign(body), "Content-Type": "application/json"}
