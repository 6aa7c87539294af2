"""App Store Connect API with a team API key: an ES256 JWT signed with the .p8 key on each request.

Apple's rules for the token: header `kid` = key id, claims `iss` = issuer id, `aud` =
"appstoreconnect-v1", and an expiry no more than 20 minutes after `iat`. `filter[bundleId]` on
/v1/apps also returns apps whose bundle id merely starts with the one asked for (com.acme.app finds
com.acme.app.watchkitapp), so the app is picked by exact comparison.
"""
from __future__ import annotations

import time

import jwt
import requests
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from core.errors import IntegrationError
from core.integrations.base import IntegrationConfig, ProviderContext
from core.integrations.http import HttpClient

DEFAULT_BASE_URL = "https://api.appstoreconnect.apple.com"
AUDIENCE = "appstoreconnect-v1"
TOKEN_LIFETIME = 10 * 60  # well inside Apple's 20-minute limit, so clock skew cannot push it over
PAGE_LIMIT = 200


class AppStoreTarget:
    """Checks that an App Store Connect API key can see one app."""

    def __init__(self, http: HttpClient, *, bundle_id: str, key_id: str, issuer_id: str,
                 private_key: ec.EllipticCurvePrivateKey):
        self.http, self.bundle_id, self.key_id, self.issuer_id = http, bundle_id, key_id, issuer_id
        self._private_key = private_key

    def verify(self) -> None:
        """The API key is accepted and an app with exactly this bundle id exists."""
        self.app_id()

    def app_id(self) -> str:
        """App Store Connect's id of the app whose bundle id is exactly `bundle_id`."""
        params = {"filter[bundleId]": self.bundle_id, "fields[apps]": "bundleId,name", "limit": PAGE_LIMIT}
        response = self.http.get("v1/apps", params=params, headers=self._authorization(), expect=())
        if response.status_code != 200:
            raise self._error(response)
        apps = response.json().get("data") or []
        exact = [a for a in apps if (a.get("attributes") or {}).get("bundleId") == self.bundle_id]
        if not exact:
            raise IntegrationError(f"no app with bundle id {self.bundle_id} in App Store Connect", status=404)
        return exact[0]["id"]

    def _authorization(self) -> dict[str, str]:
        now = int(time.time())
        claims = {"iss": self.issuer_id, "iat": now, "exp": now + TOKEN_LIFETIME, "aud": AUDIENCE}
        token = jwt.encode(claims, self._private_key, algorithm="ES256", headers={"kid": self.key_id, "typ": "JWT"})
        return {"Authorization": f"Bearer {token}"}

    def _error(self, response: requests.Response) -> IntegrationError:
        status = response.status_code
        if status == 401:
            return IntegrationError("App Store Connect rejected the API key (401): check the key id, issuer id "
                                    "and .p8 key", status=401)
        if status == 403:
            return IntegrationError(f"App Store Connect refused: {_detail(response)} (403); the key's role may "
                                    "not allow reading apps, or the key was revoked", status=403)
        return self.http.error(response)


def _detail(response: requests.Response) -> str:
    """The first error's detail (or title) from {"errors": [{"status", "code", "title", "detail"}]}."""
    try:
        first = (response.json().get("errors") or [{}])[0]
    except (ValueError, AttributeError, IndexError):
        return "no reason given"
    return str(first.get("detail") or first.get("title") or first.get("code") or "no reason given")[:300]


def _load_key(pem: str) -> ec.EllipticCurvePrivateKey:
    # Keys pasted into one-line fields arrive with literal "\n".
    text = pem.replace("\\n", "\n").strip()
    try:
        key = load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise IntegrationError("the App Store Connect private key is not a .p8 EC key: paste the whole file, "
                               "BEGIN and END lines included")
    return key


def build(config: IntegrationConfig, ctx: ProviderContext) -> AppStoreTarget:
    """The App Store Connect client of a TARGET integration (appIdentifier = bundle id)."""
    bundle_id = (config.fields.get("appIdentifier") or "").strip()
    key_id = str(config.settings.get("keyId") or "").strip()
    issuer_id = str(config.settings.get("issuerId") or "").strip()
    if not bundle_id or not key_id or not issuer_id or not config.secrets.get("privateKey"):
        raise IntegrationError("the App Store integration needs an appIdentifier, a keyId, an issuerId "
                               "and a privateKey")
    http = HttpClient(config.base_url or DEFAULT_BASE_URL, service="App Store Connect",
                      guard=ctx.guard, headers={"Accept": "application/json"},
                      timeout=ctx.timeout)
    return AppStoreTarget(http, bundle_id=bundle_id, key_id=key_id, issuer_id=issuer_id,
                          private_key=_load_key(config.secrets["privateKey"]))
