"""Google Play Developer API (androidpublisher v3) with a service-account JSON key.

OAuth 2.0 for service accounts: an RS256 JWT assertion (iss = client_email, scope androidpublisher,
aud = token_uri, at most one hour long) is exchanged at the key's token_uri for an access token
(grant_type urn:ietf:params:oauth:grant-type:jwt-bearer, form-encoded). token_uri comes from a file a
tenant pasted, so it passes the same URL check as any base URL before a request goes there.

Access is proven by opening an edit on the package and deleting it again: it needs the permissions a
release needs, and changes nothing.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from urllib.parse import quote

import jwt
import requests
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from core.errors import IntegrationError
from core.integrations.base import IntegrationConfig, ProviderContext
from core.integrations.http import HttpClient

DEFAULT_BASE_URL = "https://androidpublisher.googleapis.com"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
SCOPE = "https://www.googleapis.com/auth/androidpublisher"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME = 3600
EARLY_REFRESH = 60


@dataclass(frozen=True)
class ServiceAccount:
    client_email: str
    private_key: rsa.RSAPrivateKey
    private_key_id: str | None
    token_uri: str


class PlayStoreTarget:
    """Checks that a service account may edit one app in Play Console."""

    def __init__(self, api: HttpClient, oauth: HttpClient, *, package: str, account: ServiceAccount):
        self.api, self.oauth, self.package, self.account = api, oauth, package, account
        self.edits = f"androidpublisher/v3/applications/{quote(package, safe='')}/edits"
        self._token: str | None = None
        self._expires_at = 0.0

    def verify(self) -> None:
        """The key is accepted and the service account can open (then discard) an edit of the package."""
        edit_id = self._call("POST", self.edits, expect=(200,), json={}).json()["id"]
        self._call("DELETE", f"{self.edits}/{quote(edit_id, safe='')}", expect=(200, 204))

    def _call(self, method: str, path: str, *, expect: tuple[int, ...], **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.access_token()}"}
        response = self.api.request(method, path, expect=(), headers=headers, **kwargs)
        if response.status_code not in expect:
            raise self._error(response)
        return response

    def access_token(self) -> str:
        """An OAuth access token for the androidpublisher scope, reused until shortly before it expires."""
        if self._token is None or time.time() >= self._expires_at:
            self._token, lifetime = self._exchange()
            self._expires_at = time.time() + max(lifetime - EARLY_REFRESH, 0)
        return self._token

    def _exchange(self) -> tuple[str, int]:
        form = {"grant_type": GRANT_TYPE, "assertion": self._assertion()}
        response = self.oauth.post(self.account.token_uri, data=form, expect=())
        body = _json(response)
        if response.status_code != 200 or not body.get("access_token"):
            raise self._oauth_error(response, body)
        return body["access_token"], int(body.get("expires_in") or 3600)

    def _assertion(self) -> str:
        now = int(time.time())
        claims = {"iss": self.account.client_email, "scope": SCOPE, "aud": self.account.token_uri,
                  "iat": now, "exp": now + ASSERTION_LIFETIME}
        headers = {"kid": self.account.private_key_id} if self.account.private_key_id else None
        return jwt.encode(claims, self.account.private_key, algorithm="RS256", headers=headers)

    def _oauth_error(self, response: requests.Response, body: dict) -> IntegrationError:
        if "error" not in body:
            return self.oauth.error(response)
        reason = f"{body['error']}: {body.get('error_description') or 'no description'}"[:300]
        return IntegrationError(f"Google refused the service account key ({reason}); the key may be deleted or the "
                                "account disabled: create a new JSON key", status=response.status_code)

    def _error(self, response: requests.Response) -> IntegrationError:
        status = response.status_code
        if status == 404:
            return IntegrationError(f"package {self.package} not found in Play Console or the service account has "
                                    "no access", status=404)
        if status == 403:
            return IntegrationError(f"the service account may not edit {self.package}: {_google_message(response)} "
                                    "(403); grant it release permissions in Play Console, Users and permissions",
                                    status=403)
        if status == 401:
            return IntegrationError("Google Play rejected the access token (401)", status=401)
        return self.api.error(response)


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _google_message(response: requests.Response) -> str:
    """error.message from {"error": {"code", "message", "status"}}."""
    error = _json(response).get("error")
    return str(error.get("message") if isinstance(error, dict) else "no reason given")[:300]


def _account(raw: str) -> ServiceAccount:
    """The parts of a service-account JSON key the bot needs; the key itself is never shown."""
    try:
        data = json.loads(raw)
        key = load_pem_private_key(str(data["private_key"]).encode(), password=None)
        email = str(data["client_email"])
    except (ValueError, KeyError, TypeError, UnsupportedAlgorithm):
        key, data, email = None, {}, ""
    if not isinstance(key, rsa.RSAPrivateKey) or data.get("type", "service_account") != "service_account":
        raise IntegrationError("serviceAccountJson is not a Google service-account key: download a JSON key of the "
                               "service account (with client_email, private_key and token_uri)")
    return ServiceAccount(email, key, data.get("private_key_id"), str(data.get("token_uri") or DEFAULT_TOKEN_URI))


def build(config: IntegrationConfig, ctx: ProviderContext) -> PlayStoreTarget:
    """The Google Play client of a TARGET integration (appIdentifier = package name)."""
    package = (config.fields.get("appIdentifier") or "").strip()
    if not package or not config.secrets.get("serviceAccountJson"):
        raise IntegrationError("the Play Store integration needs an appIdentifier (package name) and a "
                               "serviceAccountJson")
    account = _account(config.secrets["serviceAccountJson"])
    oauth = HttpClient(account.token_uri, service="Google OAuth", guard=ctx.guard,
                       headers={"Accept": "application/json"}, timeout=ctx.timeout)
    api = HttpClient(config.base_url or DEFAULT_BASE_URL, service="Google Play", timeout=ctx.timeout,
                     guard=ctx.guard, headers={"Accept": "application/json"})
    return PlayStoreTarget(api, oauth, package=package, account=account)
