"""A fake App Store Connect API, written from Apple's "Generating Tokens for API Requests", "List Apps"
and error-handling docs.

Every request needs `Authorization: Bearer <JWT>`: alg ES256, a `kid` the fake knows, a signature that
verifies with that key's public key, `iss` = the key's issuer id, `aud` = "appstoreconnect-v1", `exp`
in the future and at most 20 minutes after `iat`. Anything else is 401 NOT_AUTHORIZED.

GET /v1/apps honours `filter[bundleId]` (comma-separated values) as a PREFIX match, like the real API,
and `limit`. Errors look like Apple's: {"errors": [{"id", "status", "code", "title", "detail"}]}.
"""
from __future__ import annotations

import itertools
import re
import time
import uuid
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from tests.fakes.base import FakeServer, Request, Response

AUDIENCE = "appstoreconnect-v1"
MAX_LIFETIME = 20 * 60


@dataclass
class ApiKey:
    public_key: ec.EllipticCurvePublicKey
    issuer_id: str
    revoked: bool = False


def errors(status: int, code: str, title: str, detail: str) -> Response:
    return Response(status, {"errors": [{"id": str(uuid.uuid4()), "status": str(status), "code": code,
                                         "title": title, "detail": detail}]})


def not_authorized() -> Response:
    return errors(401, "NOT_AUTHORIZED", "Authentication credentials are missing or invalid.",
                  "Provide a properly configured and signed bearer token, and make sure that it has not expired. "
                  "Learn more about Generating Tokens for API Requests "
                  "https://developer.apple.com/go/?id=api-generating-tokens")


class FakeAppStoreConnect(FakeServer):
    name = "app_store_connect"

    def __init__(self) -> None:
        self.keys: dict[str, ApiKey] = {}
        self.apps: list[dict] = []
        self.tokens: list[tuple[dict, dict]] = []  # (header, claims) of accepted tokens
        self._ids = itertools.count(1_500_000_001)
        super().__init__()

    # --- test helpers ----------------------------------------------------------------------------
    def add_key(self, key_id: str, public_key: ec.EllipticCurvePublicKey, issuer_id: str) -> ApiKey:
        self.keys[key_id] = ApiKey(public_key, issuer_id)
        return self.keys[key_id]

    def add_app(self, bundle_id: str, name: str | None = None) -> dict:
        app = {"type": "apps", "id": str(next(self._ids)),
               "attributes": {"name": name or bundle_id.rsplit(".", 1)[-1].title(), "bundleId": bundle_id,
                              "sku": bundle_id.upper().replace(".", "_"), "primaryLocale": "en-US"}}
        self.apps.append(app)
        return app

    # --- plumbing --------------------------------------------------------------------------------
    def setup_routes(self) -> None:
        self.route("GET", "/v1/apps", self._list_apps)

    def not_found(self, request: Request) -> Response:
        return errors(404, "NOT_FOUND", "The specified resource does not exist",
                      f"The path provided does not match a defined resource type. ({request.path})")

    def _list_apps(self, request: Request, match: re.Match) -> Response:
        if not self._authenticated(request):
            return not_authorized()
        prefixes = [p for v in request.query.get("filter[bundleId]", []) for p in v.split(",") if p]
        limit = int((request.query.get("limit") or ["50"])[0])
        found = [a for a in self.apps
                 if not prefixes or any(a["attributes"]["bundleId"].startswith(p) for p in prefixes)]
        data = [{**a, "links": {"self": f"{self.url}/v1/apps/{a['id']}"}} for a in found[:limit]]
        return Response(200, {"data": data, "links": {"self": f"{self.url}/v1/apps"},
                              "meta": {"paging": {"total": len(found), "limit": limit}}})

    def _authenticated(self, request: Request) -> bool:
        value = request.headers.get("Authorization") or ""
        if not value.startswith("Bearer "):
            return False
        try:
            header, claims = self._decode(value[7:])
        except jwt.PyJWTError:
            return False
        self.tokens.append((header, claims))
        return True

    def _decode(self, token: str) -> tuple[dict, dict]:
        header = jwt.get_unverified_header(token)
        key = self.keys.get(header.get("kid") or "")
        if header.get("alg") != "ES256" or key is None or key.revoked:
            raise jwt.InvalidTokenError("unknown key")
        claims = jwt.decode(token, key.public_key, algorithms=["ES256"], audience=AUDIENCE, issuer=key.issuer_id,
                            options={"require": ["iss", "iat", "exp", "aud"]})
        if claims["exp"] - claims["iat"] > MAX_LIFETIME or claims["iat"] > time.time() + 60:
            raise jwt.InvalidTokenError("lifetime")
        return header, claims
