"""A Google service account's OAuth access tokens, from its JSON key.

OAuth 2.0 for service accounts: an RS256 JWT assertion (iss = client_email, the scope asked for,
aud = token_uri, at most one hour long) is exchanged at the key's token_uri for an access token
(grant_type urn:ietf:params:oauth:grant-type:jwt-bearer, form-encoded). token_uri comes from a file a
tenant pasted, so the client that calls it must pass the same URL check as any base URL.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass

import jwt
import requests
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from core.errors import IntegrationError
from core.integrations.http import HttpClient

DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME = 3600
EARLY_REFRESH = 60


@dataclass(frozen=True)
class ServiceAccount:
    client_email: str
    private_key: rsa.RSAPrivateKey
    private_key_id: str | None
    token_uri: str


def service_account(raw: str) -> ServiceAccount:
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


class AccessTokens:
    """A service account's access token for one scope, from its key's token_uri (`oauth`)."""

    def __init__(self, oauth: HttpClient, account: ServiceAccount, *, scope: str):
        self.oauth, self.account, self.scope = oauth, account, scope
        self._token: str | None = None
        self._expires_at = 0.0

    def access_token(self) -> str:
        """An OAuth access token for the scope, reused until shortly before it expires."""
        if self._token is None or time.time() >= self._expires_at:
            self._token, lifetime = self._exchange()
            self._expires_at = time.time() + max(lifetime - EARLY_REFRESH, 0)
        return self._token

    def _exchange(self) -> tuple[str, int]:
        form = {"grant_type": GRANT_TYPE, "assertion": self._assertion()}
        response = self.oauth.post(self.account.token_uri, data=form, expect=())
        body = json_object(response)
        if response.status_code != 200 or not body.get("access_token"):
            raise self._oauth_error(response, body)
        return body["access_token"], int(body.get("expires_in") or 3600)

    def _assertion(self) -> str:
        now = int(time.time())
        claims = {"iss": self.account.client_email, "scope": self.scope, "aud": self.account.token_uri,
                  "iat": now, "exp": now + ASSERTION_LIFETIME}
        headers = {"kid": self.account.private_key_id} if self.account.private_key_id else None
        return jwt.encode(claims, self.account.private_key, algorithm="RS256", headers=headers)

    def _oauth_error(self, response: requests.Response, body: dict) -> IntegrationError:
        if "error" not in body:
            return self.oauth.error(response)
        reason = f"{body['error']}: {body.get('error_description') or 'no description'}"[:300]
        return IntegrationError(f"Google refused the service account key ({reason}); the key may be deleted or the "
                                "account disabled: create a new JSON key", status=response.status_code)


def json_object(response: requests.Response) -> dict:
    """A Google answer's JSON object, or {} when it is not one (an HTML error page, an empty body)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
