"""A fake Google: the OAuth 2.0 token endpoint for service accounts and the androidpublisher v3 edits
endpoints, written from "Using OAuth 2.0 for Server to Server Applications" and the Play Developer
API reference (edits.insert, edits.delete, error codes).

POST /token (form): grant_type must be urn:ietf:params:oauth:grant-type:jwt-bearer; the assertion must
be RS256, signed by the key of a known client_email (iss), with aud = this endpoint, a scope, and
exp in the future at most an hour after iat. Errors are 400 {"error", "error_description"}
(invalid_grant, invalid_scope, unsupported_grant_type), as Google answers them.

POST /androidpublisher/v3/applications/{package}/edits opens an edit ({"id", "expiryTimeSeconds"});
DELETE …/edits/{id} answers 204 with no body. Errors are {"error": {"code", "message", "errors",
"status"}}: 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 NOT_FOUND ("Package not found: …").
"""
from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import unquote

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes.base import FakeServer, Request, Response

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SCOPE = "https://www.googleapis.com/auth/androidpublisher"
EDITS = "/androidpublisher/v3/applications/([^/]+)/edits"


@dataclass
class Account:
    public_key: rsa.RSAPublicKey
    packages: set[str] = field(default_factory=set)  # packages this account was granted in Play Console


def oauth_error(error: str, description: str) -> Response:
    return Response(400, {"error": error, "error_description": description})


def google_error(code: int, message: str, status: str, reason: str) -> Response:
    return Response(code, {"error": {"code": code, "message": message, "status": status,
                                     "errors": [{"message": message, "domain": "global", "reason": reason}]}})


class FakeGoogle(FakeServer):
    name = "google"

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.packages: set[str] = set()
        self.access_tokens: dict[str, tuple[str, str]] = {}  # token -> (client_email, scope)
        self.edits: dict[str, str] = {}  # open edit id -> package
        self.assertions: list[tuple[dict, dict]] = []  # (header, claims) of accepted assertions
        super().__init__()

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    # --- test helpers ----------------------------------------------------------------------------
    def add_account(self, email: str, public_key: rsa.RSAPublicKey, *, packages: tuple[str, ...] = ()) -> Account:
        self.accounts[email] = Account(public_key, set(packages))
        return self.accounts[email]

    def add_package(self, package: str) -> None:
        self.packages.add(package)

    # --- plumbing --------------------------------------------------------------------------------
    def setup_routes(self) -> None:
        self.route("POST", "/token", self._token)
        self.route("POST", EDITS, self._insert_edit)
        self.route("DELETE", f"{EDITS}/([^/]+)", self._delete_edit)

    def not_found(self, request: Request) -> Response:
        return google_error(404, "Method not found.", "NOT_FOUND", "notFound")

    def _token(self, request: Request, match: re.Match) -> Response:
        form = {k: v[0] for k, v in request.form().items()}
        if form.get("grant_type") != GRANT_TYPE:
            return oauth_error("unsupported_grant_type", f"Invalid grant_type: {form.get('grant_type', '')}")
        try:
            header, claims = self._verified(form.get("assertion") or "")
        except LookupError:
            return oauth_error("invalid_grant", "Invalid grant: account not found")
        except jwt.InvalidSignatureError:
            return oauth_error("invalid_grant", "Invalid JWT Signature.")
        except jwt.PyJWTError:
            return oauth_error("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                                                "reasonable timeframe. Check your iat and exp values in the JWT claim.")
        if not claims.get("scope"):
            return oauth_error("invalid_scope", "Invalid OAuth scope or ID token audience provided.")
        token = f"ya29.fake-{secrets.token_urlsafe(24)}"
        self.access_tokens[token] = (claims["iss"], claims["scope"])
        self.assertions.append((header, claims))
        return Response(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def _verified(self, assertion: str) -> tuple[dict, dict]:
        header = jwt.get_unverified_header(assertion)
        email = jwt.decode(assertion, options={"verify_signature": False}).get("iss")
        account = self.accounts.get(email or "")
        if account is None:
            raise LookupError(email)
        if header.get("alg") != "RS256":
            raise jwt.InvalidAlgorithmError("RS256 only")
        claims = jwt.decode(assertion, account.public_key, algorithms=["RS256"], audience=self.token_uri,
                            options={"require": ["iss", "aud", "iat", "exp"]})
        if claims["exp"] - claims["iat"] > 3600 or claims["iat"] > time.time() + 300:
            raise jwt.InvalidTokenError("lifetime")
        return header, claims

    def _caller(self, request: Request) -> str | None:
        value = request.headers.get("Authorization") or ""
        email, scope = self.access_tokens.get(value[7:], (None, "")) if value.startswith("Bearer ") else (None, "")
        return email if SCOPE in scope.split() else None

    def _access(self, request: Request, match: re.Match) -> tuple[str, Response | None]:
        package = unquote(match.group(1))
        email = self._caller(request)
        if email is None:
            return package, google_error(401, "Request had invalid authentication credentials. Expected OAuth 2 access "
                                              "token, login cookie or other valid authentication credential.",
                                         "UNAUTHENTICATED", "unauthorized")
        if package not in self.packages:
            return package, google_error(404, f"Package not found: {package}.", "NOT_FOUND", "notFound")
        if package not in self.accounts[email].packages:
            return package, google_error(403, "The caller does not have permission", "PERMISSION_DENIED", "forbidden")
        return package, None

    def _insert_edit(self, request: Request, match: re.Match) -> Response:
        package, refused = self._access(request, match)
        if refused:
            return refused
        edit_id = str(secrets.randbelow(10**19))
        self.edits[edit_id] = package
        return Response(200, {"id": edit_id, "expiryTimeSeconds": str(int(time.time()) + 3600)})

    def _delete_edit(self, request: Request, match: re.Match) -> Response:
        package, refused = self._access(request, match)
        if refused:
            return refused
        if self.edits.get(unquote(match.group(2))) != package:
            return google_error(404, "This Edit has been deleted.", "NOT_FOUND", "editDeleted")
        del self.edits[unquote(match.group(2))]
        return Response(204, b"")
