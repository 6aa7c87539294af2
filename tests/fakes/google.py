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

Edits and tracks (edits.get/validate/commit, edits.tracks.get/list/update/patch; Track and
TrackRelease resources): an edit is a copy of the app's tracks taken when it is opened; track updates
change the copy, `:commit` makes it the app's. Opening two edits is allowed, but committing one
deletes the others, so the older one then fails "This Edit has been deleted." (400 INVALID_ARGUMENT);
a committed edit answers "This edit has already been successfully committed, please create a new
Edit." and an expired one "This edit has expired, please create a new Edit." (400 FAILED_PRECONDITION).
A release's status is draft, inProgress, halted or completed; userFraction is required and strictly
between 0 and 1 for inProgress and halted, and refused for draft and completed ("User fraction must
be lower than one.", "DRAFT release must not have fraction"); inAppUpdatePriority is 0..5 and cannot
change once the release is rolled out; every versionCode must have been uploaded (a bundle/APK of the
app: tests call `upload`). A track read lists its active releases, and empty lists are left out as
Google's JSON does. Starting a staged rollout keeps the track's completed release serving everyone
else, as Play does. The edit, "User fraction must be lower than one." and "DRAFT release must not have
fraction" messages are Google's as users report them; the others (unknown version code, a missing or
zero fraction, a priority out of range or changed, two staged releases) are worded by us, in Google's
envelope, since the reference does not quote them.
"""
from __future__ import annotations

import copy
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
EDIT = f"{EDITS}/([^/:]+)"
STATUSES = ("draft", "inProgress", "halted", "completed")
STANDARD_TRACKS = ("production", "beta", "alpha", "internal")


@dataclass
class Account:
    public_key: rsa.RSAPublicKey
    packages: set[str] = field(default_factory=set)  # packages this account was granted in Play Console


@dataclass
class App:
    """One package in Play Console: what was uploaded, and its committed tracks (name -> releases)."""

    version_codes: set[str] = field(default_factory=set)
    tracks: dict[str, list[dict]] = field(default_factory=lambda: {name: [] for name in STANDARD_TRACKS})


@dataclass
class Edit:
    id: str
    package: str
    tracks: dict[str, list[dict]]  # the edit's own copy of the app's tracks
    expires_at: float
    state: str = "open"  # open, committed, deleted (another edit was committed), expired


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
        self.apps: dict[str, App] = {}
        self.access_tokens: dict[str, tuple[str, str]] = {}  # token -> (client_email, scope)
        self.edits: dict[str, Edit] = {}  # open edits by id
        self.closed_edits: dict[str, Edit] = {}  # committed, deleted or expired edits by id
        self.commits: list[Edit] = []  # committed edits, in order
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
        self.apps.setdefault(package, App())

    def upload(self, package: str, *version_codes: int | str) -> None:
        """What uploading bundles (edits.bundles.upload, committed) leaves behind: version codes the app knows."""
        self.apps[package].version_codes.update(str(code) for code in version_codes)

    def add_track(self, package: str, track: str) -> None:
        """A custom closed-testing track created in Play Console."""
        self.apps[package].tracks.setdefault(track, [])

    def track(self, package: str, track: str = "production") -> list[dict]:
        """The committed releases of a track (what users get)."""
        return copy.deepcopy(self.apps[package].tracks[track])

    def set_track(self, package: str, track: str, releases: list[dict]) -> None:
        """Play Console changed the track by hand (or another tool did)."""
        with self.lock:
            self.apps[package].tracks[track] = copy.deepcopy(releases)
            self._delete_open_edits(package)

    def expire(self, edit_id: str | None = None) -> None:
        """Edits expire (about an hour after they are opened, or when Play decides): expire one, or every open one."""
        with self.lock:
            for edit in [e for e in self.edits.values() if edit_id in (None, e.id)]:
                self._close(edit, "expired")

    # --- plumbing --------------------------------------------------------------------------------
    def setup_routes(self) -> None:
        self.route("POST", "/token", self._token)
        self.route("POST", EDITS, self._insert_edit)
        self.route("DELETE", EDIT, self._delete_edit)
        self.route("GET", EDIT, self._get_edit)
        self.route("POST", f"{EDIT}:validate", self._validate_edit)
        self.route("POST", f"{EDIT}:commit", self._commit_edit)
        self.route("GET", f"{EDIT}/tracks", self._list_tracks)
        self.route("GET", f"{EDIT}/tracks/([^/]+)", self._get_track)
        self.route("PUT", f"{EDIT}/tracks/([^/]+)", self._update_track)
        self.route("PATCH", f"{EDIT}/tracks/([^/]+)", self._update_track)

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
        edit = Edit(str(secrets.randbelow(10**19)), package, copy.deepcopy(self.apps[package].tracks), time.time() + 3600)
        self.edits[edit.id] = edit
        return Response(200, self._app_edit(edit))

    def _delete_edit(self, request: Request, match: re.Match) -> Response:
        edit, refused = self._edit(request, match)
        if refused:
            return refused
        del self.edits[edit.id]
        return Response(204, b"")

    def _get_edit(self, request: Request, match: re.Match) -> Response:
        edit, refused = self._edit(request, match)
        return refused or Response(200, self._app_edit(edit))

    def _validate_edit(self, request: Request, match: re.Match) -> Response:
        edit, refused = self._edit(request, match)
        if refused:
            return refused
        for name, releases in edit.tracks.items():
            if problem := self._invalid(edit.package, name, releases):
                return problem
        return Response(200, self._app_edit(edit))

    def _commit_edit(self, request: Request, match: re.Match) -> Response:
        edit, refused = self._edit(request, match)
        if refused:
            return refused
        if request.query.get("changesNotSentForReview") == ["true"]:
            return google_error(400, "Changes are sent for review automatically. The query parameter "
                                     "changesNotSentForReview must not be set.", "FAILED_PRECONDITION", "badRequest")
        self.apps[edit.package].tracks = copy.deepcopy(edit.tracks)
        self._close(edit, "committed")
        self.commits.append(edit)
        self._delete_open_edits(edit.package)
        return Response(200, self._app_edit(edit))

    def _list_tracks(self, request: Request, match: re.Match) -> Response:
        edit, refused = self._edit(request, match)
        if refused:
            return refused
        return Response(200, {"kind": "androidpublisher#tracksListResponse",
                              "tracks": [self._track_json(n, r) for n, r in edit.tracks.items()]})

    def _get_track(self, request: Request, match: re.Match) -> Response:
        edit, refused = self._edit(request, match)
        if refused:
            return refused
        name = unquote(match.group(3))
        if name not in edit.tracks:
            return google_error(404, f"Track not found: {name}.", "NOT_FOUND", "notFound")
        return Response(200, self._track_json(name, edit.tracks[name]))

    def _update_track(self, request: Request, match: re.Match) -> Response:
        edit, refused = self._edit(request, match)
        if refused:
            return refused
        name = unquote(match.group(3))
        if name not in edit.tracks:
            return google_error(404, f"Track not found: {name}.", "NOT_FOUND", "notFound")
        body = request.json() or {}
        releases = [self._release(r) for r in body.get("releases") or []]
        if problem := self._invalid(edit.package, name, releases, before=edit.tracks[name]):
            return problem
        if not any(r["status"] == "completed" for r in releases):
            # A staged rollout does not take the app away from everyone else: the completed release keeps serving.
            releases += [r for r in edit.tracks[name] if r["status"] == "completed"
                         and not any(set(r["versionCodes"]) & set(n["versionCodes"]) for n in releases)]
        edit.tracks[name] = releases
        return Response(200, self._track_json(name, releases))

    # --- edits and releases ----------------------------------------------------------------------
    def _edit(self, request: Request, match: re.Match) -> tuple[Edit | None, Response | None]:
        package, refused = self._access(request, match)
        if refused:
            return None, refused
        edit_id = unquote(match.group(2))
        edit = self.edits.get(edit_id) or self.closed_edits.get(edit_id)
        if edit is None or edit.package != package or edit.state == "deleted":
            return None, google_error(400, "This Edit has been deleted.", "INVALID_ARGUMENT", "badRequest")
        if edit.state == "open" and time.time() > edit.expires_at:
            self._close(edit, "expired")
        if edit.state == "expired":
            return None, google_error(400, "This edit has expired, please create a new Edit.", "FAILED_PRECONDITION",
                                      "badRequest")
        if edit.state == "committed":
            return None, google_error(400, "This edit has already been successfully committed, please create a new "
                                           "Edit.", "FAILED_PRECONDITION", "badRequest")
        return edit, None

    def _close(self, edit: Edit, state: str) -> None:
        edit.state = state
        self.edits.pop(edit.id, None)
        self.closed_edits[edit.id] = edit

    def _delete_open_edits(self, package: str) -> None:
        for other in [e for e in self.edits.values() if e.package == package]:
            self._close(other, "deleted")

    @staticmethod
    def _app_edit(edit: Edit) -> dict:
        return {"id": edit.id, "expiryTimeSeconds": str(int(edit.expires_at))}

    @staticmethod
    def _release(raw: dict) -> dict:
        release = {k: v for k, v in raw.items() if v not in (None, [], "")}
        release["versionCodes"] = [str(code) for code in release.get("versionCodes", [])]
        return release

    @staticmethod
    def _track_json(name: str, releases: list[dict]) -> dict:
        return {"track": name, "releases": copy.deepcopy(releases)} if releases else {"track": name}

    def _invalid(self, package: str, track: str, releases: list[dict], before: list[dict] = ()) -> Response | None:
        """Google's answer to a track it refuses, or None."""
        def bad(message: str) -> Response:
            return google_error(400, message, "INVALID_ARGUMENT", "badRequest")
        for index, release in enumerate(releases):
            status, fraction = release.get("status"), release.get("userFraction")
            if status not in STATUSES:
                return bad(f"Invalid value at 'track.releases[{index}].status' (type.googleapis.com/google.play."
                           f"publishingapi.v3.TrackRelease.Status), \"{status}\"")
            if fraction is not None and status in ("draft", "completed"):
                return bad(f"{status.upper()} release must not have fraction")
            if status in ("inProgress", "halted"):
                if not isinstance(fraction, (int, float)) or isinstance(fraction, bool):
                    return bad("A staged rollout (inProgress or halted) release must have a user fraction.")
                if fraction >= 1:
                    return bad("User fraction must be lower than one.")
                if fraction <= 0:
                    return bad("User fraction must be greater than zero.")
            priority = release.get("inAppUpdatePriority")
            if priority is not None and (not isinstance(priority, int) or not 0 <= priority <= 5):
                return bad("In-app update priority must be between 0 and 5.")
            if not release["versionCodes"] and status != "draft":
                return bad("Releases must contain at least one version code.")
            unknown = [code for code in release["versionCodes"] if code not in self.apps[package].version_codes]
            if unknown:
                return bad(f"Version code {unknown[0]} has not been uploaded to {package}: upload its bundle or APK "
                           "first.")
            for old in before:
                if (old["versionCodes"] == release["versionCodes"] and old["status"] != "draft"
                        and old.get("inAppUpdatePriority", 0) != release.get("inAppUpdatePriority", 0)):
                    return bad("Cannot update the in-app update priority of a release that has been rolled out.")
        if sum(r.get("status") in ("inProgress", "halted") for r in releases) > 1:
            return bad(f"Track {track} can have at most one staged rollout release.")
        return None
