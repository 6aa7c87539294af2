"""A fake Slack Web API, written from api.slack.com's method reference.

Like Slack: every method is `/api/<method>` (POST form-encoded or JSON, or GET with a query string);
the token comes in `Authorization: Bearer …` (or a `token` form field, never inside a JSON body);
answers are HTTP 200 with `{"ok": true, …}` or `{"ok": false, "error": "<code>"}`, and HTTP 429 with a
`Retry-After` header when rate-limited. Point slack_sdk at it with `base_url=fake.url + "/api/"`.

A test drives it with helpers: `add_channel`, `add_user`, `add_token`, `revoke_token`, `rate_limit`,
`error`, `lose_answers` (a call carried out whose answer never arrives), and reads what happened with
`calls_to`, `messages_in`, `last_message`, `replies`, `views`.

Messages keep the `metadata` they were posted with; `conversations.history` (a channel's messages, newest
first) and `conversations.replies` (a thread, its parent first) return it only with `include_all_metadata`,
since this app subscribes to no metadata event types; both take `oldest`, `latest`, `inclusive` and `limit`.

Several workspaces: `add_workspace` registers another team (optionally in an Enterprise Grid org); every
token belongs to a team (or, org-wide, to an org), and a channel answers only to tokens of its team, as in
Slack. OAuth v2: `approve(team_id, user_id)` plays the person clicking *Allow* on Slack's consent page and
returns the `code` Slack would put in the redirect; `oauth.v2.access` exchanges it (once, with the same
redirect_uri) for a bot token, with a refresh token when `token_rotation` is on, and refreshes with
`grant_type=refresh_token`. `uninstall(team_id)` revokes the team's tokens as Slack does before it sends
`app_uninstalled`.

App Home: `home_tab_enabled` (False: views.publish answers not_enabled), `limit_home_publishes` (a per-user
interval under which views.publish answers 429 with Retry-After), and `homes` (each user's published Home).
"""
from __future__ import annotations

import base64
import itertools
import json
import math
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.base import FakeServer, Request, Response

BOT_SCOPES = frozenset({"chat:write", "chat:write.public", "commands", "channels:read", "channels:join", "groups:read",
                        "channels:history", "groups:history", "users:read", "users:read.email", "team:read"})
JSON_PARAMS = ("blocks", "attachments", "view", "metadata")
# Scopes per method, the public-channel flavour first (Slack names the first one in `needed`).
METHOD_SCOPES = {
    "conversations.info": ("channels:read", "groups:read"),
    "conversations.list": ("channels:read", "groups:read"),
    "conversations.join": ("channels:join",),
    "conversations.history": ("channels:history", "groups:history"),
    "conversations.replies": ("channels:history", "groups:history"),
    "chat.postMessage": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.update": ("chat:write",),
    "users.info": ("users:read",),
    "team.info": ("team:read",),
}
MAX_BLOCKS = {"message": 50, "modal": 100, "home": 100}
MAX_VIEW_BYTES = 250_000  # views.publish answers view_too_large above 250 kB


@dataclass
class ApiCall:
    """One call as Slack received it: the method, its parameters (JSON ones decoded), the token used."""

    method: str
    params: dict[str, Any]
    token: str | None
    http_method: str
    status: int = 200
    error: str | None = None
    at: float = field(default_factory=time.perf_counter)  # when it arrived (benchmarks time what follows an ack)

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    is_member: bool = True
    is_archived: bool = False
    members: set[str] | None = None  # None: every user of the workspace is in it
    created: int = field(default_factory=lambda: int(time.time()))
    team_id: str | None = None  # None: the fake's first workspace

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "name_normalized": self.name, "is_channel": not self.is_private,
            "is_group": self.is_private, "is_im": False, "is_mpim": False, "is_private": self.is_private,
            "is_archived": self.is_archived, "is_general": self.name == "general", "is_shared": False,
            "is_ext_shared": False, "is_org_shared": False, "is_member": self.is_member, "created": self.created,
            "creator": "U0CREATOR", "unlinked": 0, "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0}, "previous_names": [],
        }


@dataclass
class Token:
    user_id: str
    bot_id: str | None
    scopes: frozenset[str]
    revoked: bool = False
    team_id: str | None = None  # None: the fake's first workspace; for an org-wide token, None with enterprise_id
    enterprise_id: str | None = None
    expires_at: float | None = None  # token rotation: Slack answers token_expired after this
    org_wide: bool = False


@dataclass
class Workspace:
    id: str
    name: str
    domain: str
    enterprise_id: str | None = None
    enterprise_name: str | None = None


@dataclass
class Grant:
    """A code Slack put in the redirect after someone allowed the install; good once, for ten minutes."""

    team_id: str | None
    enterprise_id: str | None
    user_id: str
    redirect_uri: str | None
    org_wide: bool
    expires: float = field(default_factory=lambda: time.time() + 600)


CLIENT_ID, CLIENT_SECRET = "4242424242.1717171717", "fake-client-secret-3c1d"
ACCESS_TOKEN_SECONDS = 43200  # rotating tokens live 12 hours
NO_TOKEN_METHODS = ("oauth.v2.access",)  # authenticated by the app's client id and secret instead


class SlackError(Exception):
    """Raised by a method handler: becomes {"ok": false, "error": code, **extra}."""

    def __init__(self, code: str, **extra: Any):
        super().__init__(code)
        self.code, self.extra = code, extra


class FakeSlack(FakeServer):
    name = "slack"

    def __init__(self, *, team_id: str = "T0RELEASE", team_name: str = "Acme", domain: str = "acme",
                 bot_token: str = "xoxb-fake-bot-token", bot_user_id: str = "U0BOT", bot_name: str = "releasebot"):
        self.team_id, self.team_name, self.domain = team_id, team_name, domain
        self.bot_token, self.bot_user_id, self.bot_name, self.bot_id = bot_token, bot_user_id, bot_name, "B0BOT"
        self.tokens: dict[str, Token] = {}
        self.channels: dict[str, Channel] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.messages: list[dict[str, Any]] = []
        self.ephemerals: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.api_calls: list[ApiCall] = []
        self.responses: list[dict[str, Any]] = []  # what was posted to response_urls
        self._limits: dict[str, list[float]] = {}  # method -> [times left, retry_after]
        self._errors: dict[str, list[Any]] = {}  # method -> [times left, code]
        self._used_triggers: set[str] = set()
        self._clock = itertools.count(1)
        self.workspaces: dict[str, Workspace] = {team_id: Workspace(team_id, team_name, domain)}
        self.grants: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> the access token it replaces
        self.token_rotation = False
        self.client_id, self.client_secret = CLIENT_ID, CLIENT_SECRET
        self.home_tab_enabled = True
        self.homes: dict[str, dict[str, Any]] = {}  # user id -> the Home view last published to them
        self._home_interval: float | None = None  # views.publish per user: at most one per this many seconds
        self._home_published_at: dict[str, float] = {}
        super().__init__()
        self.add_token(bot_token, user_id=bot_user_id, bot_id=self.bot_id)
        self.add_user(bot_user_id, name=bot_name, is_bot=True)

    # --- test helpers ----------------------------------------------------------------------------
    def add_token(self, token: str, *, user_id: str | None = None, bot_id: str | None = None,
                  scopes: set[str] | frozenset[str] = BOT_SCOPES) -> None:
        """Accept `token` as a bot token with `scopes` (a user token when bot_id is None and user_id given)."""
        self.tokens[token] = Token(user_id or self.bot_user_id, bot_id, frozenset(scopes))

    def revoke_token(self, token: str) -> None:
        """Slack answers token_revoked to it from now on."""
        self.tokens[token].revoked = True

    def add_workspace(self, team_id: str, name: str, *, domain: str | None = None, enterprise_id: str | None = None,
                      enterprise_name: str | None = None) -> Workspace:
        """Another workspace (in the Enterprise Grid org `enterprise_id` when given)."""
        workspace = Workspace(team_id, name, domain or name.lower(), enterprise_id, enterprise_name)
        self.workspaces[team_id] = workspace
        return workspace

    def approve(self, team_id: str | None, user_id: str, *, redirect_uri: str | None = None,
                enterprise_id: str | None = None) -> str:
        """`user_id` allowed the install on Slack's consent page: the code Slack redirects the browser with.
        `team_id=None` with `enterprise_id`: an org-wide install by an org admin."""
        code = f"{int(time.time())}.{next(self._clock)}.{secrets.token_hex(16)}"
        org = enterprise_id or (self.workspaces[team_id].enterprise_id if team_id else None)
        self.grants[code] = Grant(team_id, org, user_id, redirect_uri, team_id is None)
        return code

    def tokens_of(self, team_id: str) -> list[str]:
        """The tokens of a workspace (or an org), active or not."""
        return [t for t, tok in self.tokens.items() if (tok.team_id or self.team_id) == team_id
                or (tok.org_wide and tok.enterprise_id == team_id)]

    def uninstall(self, team_id: str) -> None:
        """The workspace (or org) removed the app: its tokens are revoked, as Slack does."""
        for token in self.tokens_of(team_id):
            self.tokens[token].revoked = True

    def expire(self, token: str) -> None:
        """A rotating token's 12 hours are over: Slack answers token_expired to it."""
        self.tokens[token].expires_at = time.time() - 1

    def team_of(self, token: str | None) -> str | None:
        """The workspace (or, org-wide, the org) a token belongs to."""
        found = self.tokens.get(token or "")
        if found is None:
            return None
        return found.enterprise_id if found.org_wide else (found.team_id or self.team_id)

    def add_channel(self, channel_id: str, name: str, *, is_member: bool = True, is_private: bool = False,
                    is_archived: bool = False, members: set[str] | None = None, team_id: str | None = None) -> Channel:
        """A channel of the workspace (`team_id`, default the first); `is_member` says whether the bot is in it."""
        channel = Channel(channel_id, name.lstrip("#"), is_private, is_member, is_archived, members, team_id=team_id)
        self.channels[channel_id] = channel
        return channel

    def add_user(self, user_id: str, *, name: str | None = None, real_name: str | None = None,
                 email: str | None = None, tz: str = "Europe/Paris", is_bot: bool = False,
                 is_admin: bool = False, deleted: bool = False) -> dict[str, Any]:
        """A member of the workspace, as users.info returns it."""
        name = name or user_id.lower()
        real = real_name or name.title()
        user = {
            "id": user_id, "team_id": self.team_id, "name": name, "deleted": deleted, "real_name": real,
            "tz": tz, "tz_label": tz, "tz_offset": 3600, "is_admin": is_admin, "is_owner": False,
            "is_bot": is_bot, "is_app_user": False, "updated": int(time.time()),
            "profile": {"real_name": real, "display_name": name, "real_name_normalized": real,
                        "display_name_normalized": name, "email": email, "team": self.team_id,
                        "image_72": f"https://avatars.example/{user_id}.png"},
        }
        self.users[user_id] = user
        return user

    def rate_limit(self, method: str, *, retry_after: float = 1, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with 429 and `Retry-After: retry_after`."""
        with self.lock:
            self._limits[method] = [times, retry_after]

    def error(self, method: str, code: str, *, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with {"ok": false, "error": code}."""
        with self.lock:
            self._errors[method] = [times, code]

    def limit_home_publishes(self, seconds: float | None) -> None:
        """Answer views.publish for a user with 429 (Retry-After: what is left) within `seconds` of their last one."""
        with self.lock:
            self._home_interval = seconds

    def home_of(self, user_id: str) -> dict[str, Any] | None:
        """The Home view last published to a user, if any."""
        with self.lock:
            return self.homes.get(user_id)

    def calls_to(self, method: str) -> list[ApiCall]:
        """Every call of `method` received, rate-limited and failed ones included."""
        with self.lock:
            return [c for c in self.api_calls if c.method == method]

    def messages_in(self, channel_id: str) -> list[dict[str, Any]]:
        """Messages posted in a channel (thread replies included), oldest first."""
        with self.lock:
            return [m for m in self.messages if m["channel"] == channel_id]

    def last_message(self, channel_id: str) -> dict[str, Any] | None:
        found = self.messages_in(channel_id)
        return found[-1] if found else None

    def replies(self, channel_id: str, thread_ts: str) -> list[dict[str, Any]]:
        """Replies posted in the thread of message `thread_ts`."""
        return [m for m in self.messages_in(channel_id) if m.get("thread_ts") == thread_ts and m["ts"] != thread_ts]

    # --- plumbing --------------------------------------------------------------------------------
    def setup_routes(self) -> None:
        self.route("POST", r"/api/(?P<method>[A-Za-z0-9_.]+)", self._api)
        self.route("GET", r"/api/(?P<method>[A-Za-z0-9_.]+)", self._api)
        self.route("POST", r"/(?P<kind>commands|actions)/(?P<rest>[A-Za-z0-9/_-]+)", self._response_url)

    def _response_url(self, request: Request, match: re.Match) -> Response:
        """A command's or action's `response_url` (hooks.slack.com): the JSON message is shown to the person."""
        with self.lock:
            self.responses.append(json.loads(request.body or b"{}"))
        return Response(200, "ok")

    def not_found(self, request: Request) -> Response:
        return Response(404, "Not Found")

    def _api(self, request: Request, match: re.Match) -> Response:
        method = match["method"]
        params, body_token = _params(request)
        call = ApiCall(method, params, _bearer(request) or body_token, request.method)
        self.api_calls.append(call)
        limited = self._take(self._limits, method)
        if limited is None and method == "views.publish":
            limited = self._home_limited(params.get("user_id"))
        if limited is not None:
            call.status, call.error = 429, "ratelimited"
            return Response(429, {"ok": False, "error": "ratelimited"},
                            {"Retry-After": str(int(limited)), **self._headers(None)})
        try:
            body = self._answer(method, call)
        except SlackError as exc:
            call.error = exc.code
            body = {"ok": False, "error": exc.code, **exc.extra}
        return Response(200, body, self._headers(self.tokens.get(call.token or "")))

    def _answer(self, method: str, call: ApiCall) -> dict[str, Any]:
        handler = HANDLERS.get(method)
        if handler is None:
            raise SlackError("unknown_method", req_method=method)
        if method in NO_TOKEN_METHODS:
            return {"ok": True, **handler(self, call.params, None)}
        token = self._authenticate(call)
        self._check_scope(method, token)
        scripted = self._take(self._errors, method)
        if scripted is not None:
            raise SlackError(scripted)
        return {"ok": True, **handler(self, call.params, token)}

    def _home_limited(self, user_id: Any) -> float | None:
        """Seconds to wait when this user's Home was published less than the interval ago (else None)."""
        with self.lock:
            if self._home_interval is None or not isinstance(user_id, str):
                return None
            last, now = self._home_published_at.get(user_id), time.monotonic()
            if last is not None and now - last < self._home_interval:
                return max(1.0, math.ceil(self._home_interval - (now - last)))
            return None

    def _authenticate(self, call: ApiCall) -> Token:
        if not call.token:
            raise SlackError("not_authed")
        token = self.tokens.get(call.token)
        if token is None:
            raise SlackError("invalid_auth")
        if token.revoked:
            raise SlackError("token_revoked")
        if token.expires_at is not None and token.expires_at < time.time():
            raise SlackError("token_expired")
        return token

    def _check_scope(self, method: str, token: Token) -> None:
        needed = METHOD_SCOPES.get(method, ())
        if needed and not token.scopes & set(needed):
            raise SlackError("missing_scope", needed=needed[0], provided=",".join(sorted(token.scopes)))

    def _headers(self, token: Token | None) -> dict[str, str]:
        headers = {"X-Slack-Req-Id": f"fake-{next(self._clock)}", "Content-Type": "application/json; charset=utf-8"}
        if token is not None:
            headers["X-OAuth-Scopes"] = ",".join(sorted(token.scopes))
        return headers

    @staticmethod
    def _take(table: dict[str, list[Any]], method: str) -> Any:
        entry = table.get(method)
        if entry is None:
            return None
        entry[0] -= 1
        if entry[0] <= 0:
            del table[method]
        return entry[1]

    def _ts(self) -> str:
        return f"{int(time.time())}.{next(self._clock):06d}"

    # --- lookups shared by methods ---------------------------------------------------------------
    def _channel(self, ref: str | None, token: Token | None = None) -> Channel:
        channel = self.channels.get(ref or "") or next(
            (c for c in self.channels.values() if ref and c.name == ref.lstrip("#")), None)
        if channel is None or (channel.is_private and not channel.is_member):
            raise SlackError("channel_not_found")
        if token is not None and not self._sees(token, channel.team_id or self.team_id):
            raise SlackError("channel_not_found")  # another workspace's channel: as if it did not exist
        return channel

    def _sees(self, token: Token, team_id: str) -> bool:
        if token.org_wide:
            return self.workspaces.get(team_id, Workspace(team_id, "", "")).enterprise_id == token.enterprise_id
        return (token.team_id or self.team_id) == team_id

    def _postable(self, ref: str | None, token: Token | None = None) -> str:
        """The channel id a message to `ref` lands in: a channel the bot is in, or a user's DM."""
        if ref in self.users:
            return "D" + ref[1:]
        channel = self._channel(ref, token)
        if channel.is_archived:
            raise SlackError("is_archived")
        if not channel.is_member:
            raise SlackError("not_in_channel")
        return channel.id

    def _readable(self, ref: str | None, token: Token) -> str:
        """The channel id whose messages the bot may read: a public channel it is not in answers not_in_channel
        (a private one it is not in is channel_not_found, as everywhere)."""
        channel = self._channel(ref, token)
        if not channel.is_member:
            raise SlackError("not_in_channel")
        return channel.id

    def _message(self, channel_id: str, ts: str | None) -> dict[str, Any]:
        found = next((m for m in self.messages if m["channel"] == channel_id and m["ts"] == ts), None)
        if found is None:
            raise SlackError("message_not_found")
        return found

    def _user(self, user_id: str | None) -> dict[str, Any]:
        user = self.users.get(user_id or "")
        if user is None:
            raise SlackError("user_not_found")
        return user

    def _exchange(self, trigger_id: str) -> None:
        # A trigger id is good for one views.open/push; Slack says exchanged_trigger_id after that.
        if trigger_id in self._used_triggers:
            raise SlackError("exchanged_trigger_id")
        self._used_triggers.add(trigger_id)

    def _store_view(self, view: dict, token: Token, replacing: dict | None = None) -> dict:
        if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
            raise SlackError("invalid_arguments", response_metadata={"messages": ["[ERROR] must provide a view type"]})
        _check_blocks({"blocks": view.get("blocks")}, "modal")
        if len((view.get("title") or {}).get("text", "")) > 24 or len(view.get("private_metadata") or "") > 3000:
            raise SlackError("invalid_arguments", response_metadata={"messages": ["[ERROR] view field too long"]})
        view_id = replacing["id"] if replacing else f"V{next(self._clock):08d}"
        stored = {**view, "id": view_id, "team_id": self.team_id, "state": {"values": {}},
                  "hash": f"{int(time.time())}.{next(self._clock)}", "root_view_id": view_id, "previous_view_id": None,
                  "app_id": "A0RELEASEBOT", "bot_id": token.bot_id, "private_metadata": view.get("private_metadata", ""),
                  "callback_id": view.get("callback_id", ""), "external_id": view.get("external_id", "")}
        self.views[view_id] = stored
        return stored


def _bearer(request: Request) -> str | None:
    value = next((v for k, v in request.headers.items() if k.lower() == "authorization"), "")
    return value[7:].strip() if value.lower().startswith("bearer ") else None


def _params(request: Request) -> tuple[dict[str, Any], str | None]:
    """The method's arguments (query string, then body) and a token given as a form field."""
    params: dict[str, Any] = {k: v[0] for k, v in request.query.items()}
    content_type = next((v for k, v in request.headers.items() if k.lower() == "content-type"), "")
    body_token = None
    if request.body and content_type.startswith("application/json"):
        params.update(json.loads(request.body))  # Slack ignores a token inside a JSON body
    elif request.body:
        form = {k: v[0] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()}
        body_token = form.pop("token", None)
        params.update(form)
    basic = next((v for k, v in request.headers.items() if k.lower() == "authorization"), "")
    if basic.lower().startswith("basic "):  # the app's client id and secret, as oauth.v2.access prefers them
        user, _, password = base64.b64decode(basic[6:].strip()).decode().partition(":")
        params["_basic"] = (user, password)
    for name in JSON_PARAMS:
        if isinstance(params.get(name), str) and params[name]:
            try:
                params[name] = json.loads(params[name])
            except ValueError:
                params.setdefault("_invalid", []).append(name)  # reported by the method that reads it
    return params, body_token


def _require(params: dict[str, Any], *names: str) -> None:
    for name in names:
        if not params.get(name):
            raise SlackError("invalid_arguments", response_metadata={"messages": [f"[ERROR] missing required field: {name}"]})


def _check_blocks(params: dict[str, Any], surface: str) -> None:
    blocks = params.get("blocks")
    if "blocks" in params.get("_invalid", ()) or (blocks is not None and not isinstance(blocks, list)):
        raise SlackError("invalid_blocks_format")
    if blocks and (len(blocks) > MAX_BLOCKS[surface] or any(not isinstance(b, dict) or "type" not in b for b in blocks)):
        raise SlackError("invalid_blocks", response_metadata={"messages": [f"[ERROR] invalid blocks for a {surface}"]})


# --- methods ---------------------------------------------------------------------------------------
def auth_test(fake: FakeSlack, params: dict, token: Token) -> dict:
    # Answers for the token's own workspace; an org-wide token answers for its org (no team).
    user = fake.users.get(token.user_id, {})
    if token.org_wide:
        org = next((w for w in fake.workspaces.values() if w.enterprise_id == token.enterprise_id), None)
        name = org.enterprise_name if org else token.enterprise_id
        return {"url": f"https://{(name or 'org').lower()}.enterprise.slack.com/", "team": name, "user": user.get("name"),
                "team_id": None, "user_id": token.user_id, "enterprise_id": token.enterprise_id,
                "is_enterprise_install": True, **({"bot_id": token.bot_id} if token.bot_id else {})}
    team = fake.workspaces[token.team_id or fake.team_id]
    return {"url": f"https://{team.domain}.slack.com/", "team": team.name, "user": user.get("name"),
            "team_id": team.id, "user_id": token.user_id, "is_enterprise_install": False,
            **({"enterprise_id": team.enterprise_id} if team.enterprise_id else {}),
            **({"bot_id": token.bot_id} if token.bot_id else {})}


def oauth_v2_access(fake: FakeSlack, params: dict, token: None) -> dict:
    """Exchanges a code for a bot token (`grant_type` authorization_code, the default), or a refresh token for a
    new access token and a new refresh token (`grant_type=refresh_token`, token rotation)."""
    client_id, client_secret = params.get("_basic") or (params.get("client_id"), params.get("client_secret"))
    if client_id != fake.client_id:
        raise SlackError("invalid_client_id")
    if client_secret != fake.client_secret:
        raise SlackError("bad_client_secret")
    grant_type = params.get("grant_type") or "authorization_code"
    if grant_type == "refresh_token":
        return _refresh(fake, params.get("refresh_token"))
    if grant_type != "authorization_code":
        raise SlackError("invalid_grant_type")
    grant = fake.grants.get(params.get("code") or "")
    if grant is None or grant.expires < time.time():
        raise SlackError("invalid_code")
    if grant.redirect_uri and params.get("redirect_uri") != grant.redirect_uri:
        raise SlackError("bad_redirect_uri")  # it must match the one the authorize step was given
    del fake.grants[params["code"]]  # a code is good once
    bot_token = f"xoxb-{(grant.team_id or grant.enterprise_id)}-{next(fake._clock)}-{secrets.token_hex(8)}"
    bot_user = f"U0BOT{(grant.team_id or grant.enterprise_id)[-6:]}"
    fake.tokens[bot_token] = Token(bot_user, f"B0{(grant.team_id or grant.enterprise_id)[-6:]}", BOT_SCOPES,
                                   team_id=grant.team_id, enterprise_id=grant.enterprise_id, org_wide=grant.org_wide)
    fake.users.setdefault(bot_user, {"id": bot_user, "name": "releasebot", "is_bot": True, "profile": {}})
    workspace = fake.workspaces.get(grant.team_id or "")
    org = next((w for w in fake.workspaces.values() if grant.enterprise_id and w.enterprise_id == grant.enterprise_id), None)
    answer = {"access_token": bot_token, "token_type": "bot", "scope": ",".join(sorted(BOT_SCOPES)), "bot_user_id": bot_user,
              "app_id": "A0RELEASEBOT",
              "team": None if grant.org_wide else {"id": workspace.id, "name": workspace.name},
              "enterprise": {"id": grant.enterprise_id, "name": org.enterprise_name} if grant.enterprise_id else None,
              "is_enterprise_install": grant.org_wide, "authed_user": {"id": grant.user_id}}
    if fake.token_rotation:
        answer.update(_rotating(fake, bot_token))
    return answer


def _rotating(fake: FakeSlack, access_token: str) -> dict:
    refresh = f"xoxe-1-{secrets.token_hex(16)}"
    fake.refresh_tokens[refresh] = access_token
    fake.tokens[access_token].expires_at = time.time() + ACCESS_TOKEN_SECONDS
    return {"refresh_token": refresh, "expires_in": ACCESS_TOKEN_SECONDS}


def _refresh(fake: FakeSlack, refresh_token: str | None) -> dict:
    old = fake.refresh_tokens.pop(refresh_token or "", None)  # a refresh token is good once
    if old is None:
        raise SlackError("invalid_refresh_token")
    previous = fake.tokens[old]
    if previous.revoked:
        raise SlackError("invalid_refresh_token")
    new_token = f"xoxb-{previous.team_id or previous.enterprise_id}-{next(fake._clock)}-{secrets.token_hex(8)}"
    fake.tokens[new_token] = Token(previous.user_id, previous.bot_id, previous.scopes, team_id=previous.team_id,
                                   enterprise_id=previous.enterprise_id, org_wide=previous.org_wide)
    ws = fake.workspaces.get(previous.team_id or "")
    return {"access_token": new_token, "token_type": "bot", "scope": ",".join(sorted(previous.scopes)),
            "bot_user_id": previous.user_id, "app_id": "A0RELEASEBOT",
            "team": {"id": ws.id, "name": ws.name} if ws and not previous.org_wide else None,
            "enterprise": {"id": previous.enterprise_id} if previous.enterprise_id else None,
            "is_enterprise_install": previous.org_wide, **_rotating(fake, new_token)}


def team_info(fake: FakeSlack, params: dict, token: Token) -> dict:
    return {"team": {"id": fake.team_id, "name": fake.team_name, "domain": fake.domain, "email_domain": "",
                     "icon": {"image_68": "https://avatars.example/team.png", "image_default": True}}}


def users_info(fake: FakeSlack, params: dict, token: Token) -> dict:
    _require(params, "user")
    return {"user": fake._user(params["user"])}


def conversations_info(fake: FakeSlack, params: dict, token: Token) -> dict:
    _require(params, "channel")
    return {"channel": fake._channel(params["channel"], token).as_json()}


def conversations_join(fake: FakeSlack, params: dict, token: Token) -> dict:
    # Bots can join public channels only; a private one answers as if it were not there when not a member.
    _require(params, "channel")
    channel = fake._channel(params["channel"], token)
    if channel.is_private:
        raise SlackError("method_not_supported_for_channel_type")
    if channel.is_archived:
        raise SlackError("is_archived")
    already = channel.is_member
    channel.is_member = True
    return {"channel": channel.as_json(), **({"warning": "already_in_channel"} if already else {})}


def conversations_list(fake: FakeSlack, params: dict, token: Token) -> dict:
    types = str(params.get("types") or "public_channel").split(",")
    wanted = [c for c in fake.channels.values() if fake._sees(token, c.team_id or fake.team_id)
              and ("private_channel" if c.is_private else "public_channel") in types
              and (c.is_member or not c.is_private)
              and not (c.is_archived and str(params.get("exclude_archived")).lower() in ("1", "true"))]
    start = _cursor_offset(params.get("cursor"))
    limit = min(int(params.get("limit") or 100), 1000)
    page = wanted[start:start + limit]
    following = start + limit if start + limit < len(wanted) else None
    next_cursor = base64.b64encode(f"offset:{following}".encode()).decode() if following is not None else ""
    return {"channels": [c.as_json() for c in page], "response_metadata": {"next_cursor": next_cursor}}


def _cursor_offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        kind, _, value = base64.b64decode(cursor.encode()).decode().partition(":")
        if kind == "offset":
            return int(value)
    except ValueError:
        pass
    raise SlackError("invalid_cursor")


def chat_post_message(fake: FakeSlack, params: dict, token: Token) -> dict:
    _require(params, "channel")
    channel_id = fake._postable(params["channel"], token)
    _check_blocks(params, "message")
    if not (params.get("text") or params.get("blocks") or params.get("attachments")):
        raise SlackError("no_text")
    ts = fake._ts()
    message = {"type": "message", "subtype": "bot_message" if token.bot_id else None, "channel": channel_id,
               "ts": ts, "text": params.get("text") or "", "blocks": params.get("blocks"),
               "thread_ts": params.get("thread_ts") or None, "user": token.user_id, "bot_id": token.bot_id,
               "team": token.team_id or fake.team_id, "edited": None, "metadata": params.get("metadata")}
    fake.messages.append(message)
    return {"channel": channel_id, "ts": ts, "message": _public(message)}


def conversations_history(fake: FakeSlack, params: dict, token: Token) -> dict:
    # A channel's messages (thread replies excepted), newest first, between `oldest` and `latest`.
    _require(params, "channel")
    channel_id = fake._readable(params["channel"], token)
    top = [m for m in fake.messages if m["channel"] == channel_id and m.get("thread_ts") in (None, m["ts"])]
    page, more, cursor = _page(list(reversed(_between(top, params))), params, _limit(params, 100, 999))
    return {"messages": [_listed(m, params) for m in page], "has_more": more, "pin_count": 0,
            "channel_actions_ts": None, "channel_actions_count": 0, "response_metadata": {"next_cursor": cursor}}


def conversations_replies(fake: FakeSlack, params: dict, token: Token) -> dict:
    # A thread: its parent first, then the replies between `oldest` and `latest`, oldest first.
    _require(params, "channel", "ts")
    channel_id = fake._readable(params["channel"], token)
    parent = next((m for m in fake.messages if m["channel"] == channel_id and m["ts"] == params["ts"]), None)
    if parent is None:
        raise SlackError("thread_not_found")
    replies = _between([m for m in fake.messages if m["channel"] == channel_id and m.get("thread_ts") == parent["ts"]
                        and m is not parent], params)
    page, more, cursor = _page([parent, *replies], params, _limit(params, 1000, 1000))
    return {"messages": [_listed(m, params) for m in page], "has_more": more, "response_metadata": {"next_cursor": cursor}}


def _page(messages: list[dict], params: dict, limit: int) -> tuple[list[dict], bool, str]:
    """One page from `cursor`, whether more follow, and the cursor of the next page ("" on the last), as Slack pages."""
    start = _cursor_offset(params.get("cursor"))
    more = start + limit < len(messages)
    return messages[start:start + limit], more, base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""


def _between(messages: list[dict], params: dict) -> list[dict]:
    """The messages whose ts is after `oldest` and before `latest` (either one included with `inclusive`)."""
    inclusive = _flag(params.get("inclusive"))
    oldest, latest = float(params.get("oldest") or 0), float(params.get("latest") or time.time() + 1)
    return [m for m in messages if (oldest <= float(m["ts"]) if inclusive else oldest < float(m["ts"]))
            and (float(m["ts"]) <= latest if inclusive else float(m["ts"]) < latest)]


def _limit(params: dict, default: int, most: int) -> int:
    try:
        return max(1, min(int(params.get("limit") or default), most))
    except ValueError:
        raise SlackError("invalid_limit") from None


def _flag(value: Any) -> bool:
    return str(value).lower() in ("1", "true")


def _listed(message: dict, params: dict) -> dict:
    """A message as history and replies list it: its metadata only when asked for (no subscriptions here)."""
    shown = _public(message)
    if not _flag(params.get("include_all_metadata")):
        shown.pop("metadata", None)
    return shown


def chat_post_ephemeral(fake: FakeSlack, params: dict, token: Token) -> dict:
    _require(params, "channel", "user")
    user = fake._user(params["user"])
    channel_id = fake._postable(params["channel"], token)
    channel = fake.channels.get(channel_id)
    if channel is not None and channel.members is not None and user["id"] not in channel.members:
        raise SlackError("user_not_in_channel")
    _check_blocks(params, "message")
    ts = fake._ts()
    fake.ephemerals.append({"channel": channel_id, "user": user["id"], "ts": ts, "text": params.get("text") or "",
                            "blocks": params.get("blocks"), "thread_ts": params.get("thread_ts")})
    return {"message_ts": ts}


def chat_update(fake: FakeSlack, params: dict, token: Token) -> dict:
    _require(params, "channel", "ts")
    channel_id = fake._channel(params["channel"], token).id
    message = fake._message(channel_id, params["ts"])
    if message["user"] != token.user_id:
        raise SlackError("cant_update_message")
    _check_blocks(params, "message")
    if "text" in params:
        message["text"] = params["text"] or ""
    if "blocks" in params:
        message["blocks"] = params["blocks"]
    message["edited"] = {"user": token.user_id, "ts": fake._ts()}
    return {"channel": channel_id, "ts": message["ts"], "text": message["text"], "message": _public(message)}


def chat_get_permalink(fake: FakeSlack, params: dict, token: Token) -> dict:
    _require(params, "channel", "message_ts")
    channel_id = fake._channel(params["channel"], token).id
    message = fake._message(channel_id, params["message_ts"])
    link = f"https://{fake.domain}.slack.com/archives/{channel_id}/p{message['ts'].replace('.', '')}"
    if message.get("thread_ts") and message["thread_ts"] != message["ts"]:
        link += f"?thread_ts={message['thread_ts']}&cid={channel_id}"
    return {"channel": channel_id, "permalink": link}


def views_open(fake: FakeSlack, params: dict, token: Token) -> dict:
    _require(params, "trigger_id", "view")
    fake._exchange(params["trigger_id"])
    return {"view": fake._store_view(params["view"], token)}


def views_push(fake: FakeSlack, params: dict, token: Token) -> dict:
    _require(params, "trigger_id", "view")
    fake._exchange(params["trigger_id"])
    return {"view": fake._store_view(params["view"], token)}


def views_update(fake: FakeSlack, params: dict, token: Token) -> dict:
    _require(params, "view")
    current = fake.views.get(params.get("view_id") or "") or next(
        (v for v in fake.views.values() if params.get("external_id") and v.get("external_id") == params["external_id"]),
        None)
    if current is None:
        raise SlackError("not_found")
    if params.get("hash") and params["hash"] != current["hash"]:
        raise SlackError("hash_conflict")
    return {"view": fake._store_view(params["view"], token, replacing=current)}



TEXT_LIMITS = {"section": 3000, "header": 150, "context": 3000}


def _check_texts(blocks: list[dict]) -> None:
    """Block Kit's text limits (section 3,000 characters, header 150, a context's elements 3,000 and 10 of them)."""
    for block in blocks:
        texts = [block.get("text") or {}] + list(block.get("elements") or [] if block["type"] == "context" else [])
        limit = TEXT_LIMITS.get(block["type"])
        if limit and (any(len(t.get("text") or "") > limit for t in texts if isinstance(t, dict))
                      or len(block.get("elements") or []) > 10):
            raise SlackError("invalid_blocks", response_metadata={"messages": [f"[ERROR] {block['type']} text too long"]})


def views_publish(fake: FakeSlack, params: dict, token: Token) -> dict:
    # Slack: user_id and view required; an unknown user is invalid_arguments ("invalid `user_id`"); a Home tab
    # the app has not enabled is not_enabled; a view over 250 kB is view_too_large; a stale hash is hash_conflict.
    _require(params, "user_id", "view")
    user = fake.users.get(params["user_id"])
    if user is None or user.get("deleted"):
        raise SlackError("invalid_arguments", response_metadata={"messages": ["invalid `user_id`"]})
    view = params["view"]
    if not isinstance(view, dict) or view.get("type") != "home":
        raise SlackError("invalid_arguments", response_metadata={"messages": ["[ERROR] must provide a view of type home"]})
    if not fake.home_tab_enabled:
        raise SlackError("not_enabled")
    if len(json.dumps(view).encode()) > MAX_VIEW_BYTES:
        raise SlackError("view_too_large")
    _check_blocks({"blocks": view.get("blocks")}, "home")
    _check_texts(view.get("blocks") or [])
    current = fake.homes.get(user["id"])
    if params.get("hash") and current is not None and params["hash"] != current["hash"]:
        raise SlackError("hash_conflict")
    stored = fake._store_view(view, token, replacing=current)
    with fake.lock:
        fake.homes[user["id"]] = stored
        fake._home_published_at[user["id"]] = time.monotonic()
    return {"view": stored}



def _public(message: dict[str, Any]) -> dict[str, Any]:
    """A stored message as Slack returns it (no fake-only keys, no nulls)."""
    return {k: v for k, v in message.items() if v is not None and k != "channel"}


HANDLERS: dict[str, Callable[[FakeSlack, dict, Token], dict]] = {
    "auth.test": auth_test,
    "oauth.v2.access": oauth_v2_access,
    "team.info": team_info,
    "users.info": users_info,
    "conversations.info": conversations_info,
    "conversations.list": conversations_list,
    "conversations.join": conversations_join,
    "conversations.history": conversations_history,
    "conversations.replies": conversations_replies,
    "chat.postMessage": chat_post_message,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.update": chat_update,
    "chat.getPermalink": chat_get_permalink,
    "views.open": views_open,
    "views.push": views_push,
    "views.update": views_update,
    "views.publish": views_publish,
}
