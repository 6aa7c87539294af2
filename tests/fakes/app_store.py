"""A fake App Store Connect API, written from Apple's "Generating Tokens for API Requests", "List Apps"
and error-handling docs.

Every request needs `Authorization: Bearer <JWT>`: alg ES256, a `kid` the fake knows, a signature that
verifies with that key's public key, `iss` = the key's issuer id, `aud` = "appstoreconnect-v1", `exp`
in the future and at most 20 minutes after `iat`. Anything else is 401 NOT_AUTHORIZED.

GET /v1/apps honours `filter[bundleId]` (comma-separated values) as a PREFIX match, like the real API,
and `limit`. Errors look like Apple's: {"errors": [{"id", "status", "code", "title", "detail"}]}.

Submission and rollout, from the App Store Connect API reference: `builds` (filtered by app, build number and
version; PROCESSING for as many reads as the test says, then VALID — or FAILED / INVALID), `appStoreVersions`
(a version string is used once per platform: a second POST is 409; `include=build,appStoreVersionPhasedRelease`
fills relationship data and `included`), the build relationship (PATCH, 204), `appStoreVersionLocalizations`
(one en-US per version, What's New patched), `appStoreVersionPhasedReleases` (one per version; INACTIVE until
released, then ACTIVE day 1..7, PAUSED, COMPLETE; only allowed moves), `reviewSubmissions` (at most one open —
READY_FOR_REVIEW or UNRESOLVED_ISSUES — per app and platform; `submitted: true` needs an item and an open
submission), `reviewSubmissionItems` (a version once per submission) and `appStoreVersionReleaseRequests`
(only for PENDING_DEVELOPER_RELEASE). App Review is the test: `review()`, `approve()`, `reject()` move the
version's `appVersionState`, and `next_day()` moves a phased release along its ramp. A webhook registered with
`add_webhook(url, secret)` is told of each state change as App Store Connect tells it: a POST of
{"data": {"type": "appStoreVersionAppVersionStateUpdated", "attributes": {"oldValue", "newValue"},
"relationships": {"instance": …}}} signed `x-apple-signature: hmacsha256=<hex HMAC-SHA256 of the body>`.
"""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import time
import uuid
from dataclasses import dataclass

import jwt
import requests
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
        self.builds: list[dict] = []
        self.versions: dict[str, dict] = {}
        self.localizations: dict[str, dict] = {}
        self.phased: dict[str, dict] = {}
        self.submissions: dict[str, dict] = {}
        self.items: dict[str, dict] = {}
        self.release_requests: list[dict] = []
        self.webhooks: list[tuple[str, str]] = []
        self.deliveries: list[int] = []  # the status each webhook delivery got
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

    def add_build(self, app: dict, version: str, build_number: str, *, processing_reads: int = 0,
                  state: str = "VALID") -> dict:
        """An uploaded build of `app`: PROCESSING for the next `processing_reads` reads, then `state`."""
        build = {"id": str(uuid.uuid4()), "app": app["id"], "version": build_number, "preReleaseVersion": version,
                 "state": state, "processing_reads": processing_reads}
        self.builds.append(build)
        return build

    def version(self, version_string: str) -> dict:
        return next(v for v in self.versions.values() if v["versionString"] == version_string)

    def review(self, version_string: str) -> None:
        """App Review picks the version up."""
        self._set_state(version_string, "IN_REVIEW", "IN_REVIEW")

    def approve(self, version_string: str) -> None:
        """App Review approves: waiting for the developer (MANUAL) or on the store at once (AFTER_APPROVAL)."""
        version = self.version(version_string)
        manual = version["releaseType"] == "MANUAL"
        self._set_state(version_string, "PENDING_DEVELOPER_RELEASE" if manual else "READY_FOR_DISTRIBUTION", "COMPLETE")
        if not manual:
            self._start_phased(version)

    def reject(self, version_string: str) -> None:
        """App Review rejects: the submission stays open with unresolved issues."""
        self._set_state(version_string, "REJECTED", "UNRESOLVED_ISSUES")

    def next_day(self, version_string: str) -> dict:
        """The phased release moves one day along Apple's 7-day ramp (not while paused); after day 7 it is complete."""
        with self.lock:
            phased = self.phased[self.version(version_string)["phased"]]
            if phased["state"] == "ACTIVE":
                phased["day"] += 1
                if phased["day"] > 7:
                    phased["day"], phased["state"] = 7, "COMPLETE"
            return phased

    def add_webhook(self, url: str, secret: str) -> None:
        """A webhook configuration (POST /v1/webhooks in the real API) for version state changes."""
        self.webhooks.append((url, secret))

    def _notify(self, version: dict, old: str) -> None:
        body = json.dumps({"data": {"type": "appStoreVersionAppVersionStateUpdated", "id": str(uuid.uuid4()), "version": 1,
                                    "attributes": {"oldValue": old, "newValue": version["state"],
                                                   "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())},
                                    "relationships": {"instance": {"data": {"type": "appStoreVersions", "id": version["id"]},
                                                                   "links": {"self": f"{self.url}/v1/appStoreVersions/{version['id']}"}}}}})
        for url, secret in self.webhooks:
            signature = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
            answer = requests.post(url, data=body, timeout=5, headers={
                "Content-Type": "application/json", "x-apple-signature": f"hmacsha256={signature}"})
            self.deliveries.append(answer.status_code)

    def _set_state(self, version_string: str, state: str, submission_state: str) -> None:
        with self.lock:
            version = self.version(version_string)
            old, version["state"] = version["state"], state
            for submission in self.submissions.values():
                if version["id"] in submission["items"] and submission["state"] not in ("COMPLETE",):
                    submission["state"] = submission_state
        self._notify(version, old)

    def _start_phased(self, version: dict) -> None:
        if version.get("phased"):
            phased = self.phased[version["phased"]]
            phased["state"], phased["day"] = "ACTIVE", 1

    # --- plumbing --------------------------------------------------------------------------------
    def setup_routes(self) -> None:
        self.route("GET", "/v1/apps", self._list_apps)
        self.route("GET", "/v1/builds", self._auth(self._list_builds))
        self.route("GET", r"/v1/apps/(?P<app>[^/]+)/appStoreVersions", self._auth(self._list_versions))
        self.route("POST", "/v1/appStoreVersions", self._auth(self._create_version))
        self.route("PATCH", r"/v1/appStoreVersions/(?P<id>[^/]+)", self._auth(self._update_version))
        self.route("PATCH", r"/v1/appStoreVersions/(?P<id>[^/]+)/relationships/build", self._auth(self._set_build))
        self.route("GET", r"/v1/appStoreVersions/(?P<id>[^/]+)/appStoreVersionLocalizations",
                   self._auth(self._list_localizations))
        self.route("PATCH", r"/v1/appStoreVersionLocalizations/(?P<id>[^/]+)", self._auth(self._update_localization))
        self.route("POST", "/v1/appStoreVersionPhasedReleases", self._auth(self._create_phased))
        self.route("PATCH", r"/v1/appStoreVersionPhasedReleases/(?P<id>[^/]+)", self._auth(self._update_phased))
        self.route("GET", "/v1/reviewSubmissions", self._auth(self._list_submissions))
        self.route("POST", "/v1/reviewSubmissions", self._auth(self._create_submission))
        self.route("PATCH", r"/v1/reviewSubmissions/(?P<id>[^/]+)", self._auth(self._update_submission))
        self.route("GET", r"/v1/reviewSubmissions/(?P<id>[^/]+)/items", self._auth(self._list_items))
        self.route("POST", "/v1/reviewSubmissionItems", self._auth(self._create_item))
        self.route("POST", "/v1/appStoreVersionReleaseRequests", self._auth(self._create_release_request))

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

    # --- submission and rollout -------------------------------------------------------------------
    def _auth(self, handler):
        def guarded(request: Request, match: re.Match) -> Response:
            return handler(request, match) if self._authenticated(request) else not_authorized()
        return guarded

    def _list_builds(self, request: Request, match: re.Match) -> Response:
        q = {k: v[0] for k, v in request.query.items()}
        if not q.get("filter[app]"):
            return errors(400, "PARAMETER_ERROR.REQUIRED", "A required parameter is missing.",
                          "The parameter 'filter[app]' is required for this request.")
        found = [b for b in self.builds if b["app"] == q["filter[app]"]
                 and ("filter[version]" not in q or b["version"] == q["filter[version]"])
                 and ("filter[preReleaseVersion.version]" not in q or b["preReleaseVersion"] == q["filter[preReleaseVersion.version]"])]
        data = []
        for b in found:
            state = b["state"]
            if b["processing_reads"] > 0:
                b["processing_reads"] -= 1
                state = "PROCESSING"
            data.append({"type": "builds", "id": b["id"], "attributes": {
                "version": b["version"], "processingState": state, "expired": False}})
        return Response(200, {"data": data, "links": {"self": f"{self.url}/v1/builds"}})

    def _version_resource(self, v: dict, include: set[str]) -> dict:
        rel = {"build": {"links": {"related": f"{self.url}/v1/appStoreVersions/{v['id']}/build"}},
               "appStoreVersionPhasedRelease": {
                   "links": {"related": f"{self.url}/v1/appStoreVersions/{v['id']}/appStoreVersionPhasedRelease"}}}
        if "build" in include:
            rel["build"]["data"] = {"type": "builds", "id": v["build"]} if v["build"] else None
        if "appStoreVersionPhasedRelease" in include:
            rel["appStoreVersionPhasedRelease"]["data"] = (
                {"type": "appStoreVersionPhasedReleases", "id": v["phased"]} if v["phased"] else None)
        return {"type": "appStoreVersions", "id": v["id"],
                "attributes": {"platform": v["platform"], "versionString": v["versionString"], "appStoreState": v["state"],
                               "appVersionState": v["state"], "releaseType": v["releaseType"], "createdDate": v["created"]},
                "relationships": rel, "links": {"self": f"{self.url}/v1/appStoreVersions/{v['id']}"}}

    def _phased_resource(self, p: dict) -> dict:
        return {"type": "appStoreVersionPhasedReleases", "id": p["id"],
                "attributes": {"phasedReleaseState": p["state"], "currentDayNumber": p["day"] or None,
                               "startDate": None, "totalPauseDuration": 0}}

    def _list_versions(self, request: Request, match: re.Match) -> Response:
        q = {k: v[0] for k, v in request.query.items()}
        include = set((q.get("include") or "").split(","))
        found = [v for v in self.versions.values() if v["app"] == match["app"]
                 and ("filter[versionString]" not in q or v["versionString"] in q["filter[versionString]"].split(","))
                 and ("filter[platform]" not in q or v["platform"] in q["filter[platform]"].split(","))]
        included = []
        if "build" in include:
            included += [{"type": "builds", "id": v["build"], "attributes": {}} for v in found if v["build"]]
        if "appStoreVersionPhasedRelease" in include:
            included += [self._phased_resource(self.phased[v["phased"]]) for v in found if v["phased"]]
        body = {"data": [self._version_resource(v, include) for v in found], "links": {"self": request.path}}
        if included:
            body["included"] = included
        return Response(200, body)

    def _create_version(self, request: Request, match: re.Match) -> Response:
        data = (request.json() or {}).get("data") or {}
        attrs, rel = data.get("attributes") or {}, data.get("relationships") or {}
        app_id = ((rel.get("app") or {}).get("data") or {}).get("id")
        if data.get("type") != "appStoreVersions" or not attrs.get("versionString") or not attrs.get("platform") or not app_id:
            return errors(422, "ENTITY_ERROR.ATTRIBUTE.REQUIRED", "You must provide a value for the attribute.",
                          "The attributes 'platform' and 'versionString' and the relationship 'app' are required.")
        for v in self.versions.values():
            if v["app"] == app_id and v["platform"] == attrs["platform"]:
                if v["versionString"] == attrs["versionString"]:
                    return errors(409, "ENTITY_ERROR.ATTRIBUTE.INVALID.DUPLICATE",
                                  "The provided entity includes an attribute with a value that has already been used",
                                  "The version number has been previously used.")
                if v["state"] in ("PREPARE_FOR_SUBMISSION", "REJECTED", "DEVELOPER_REJECTED", "METADATA_REJECTED"):
                    return errors(409, "ENTITY_ERROR.RELATIONSHIP.INVALID", "The provided entity includes a relationship "
                                  "with an invalid value", "You cannot create a new version of the App in the current state.")
        build = ((rel.get("build") or {}).get("data") or {}).get("id")
        version = {"id": str(uuid.uuid4()), "app": app_id, "platform": attrs["platform"], "versionString": attrs["versionString"],
                   "releaseType": attrs.get("releaseType") or "AFTER_APPROVAL", "state": "PREPARE_FOR_SUBMISSION",
                   "build": build, "phased": None, "created": time.strftime("%Y-%m-%dT%H:%M:%S-07:00")}
        self.versions[version["id"]] = version
        loc = {"id": str(uuid.uuid4()), "version": version["id"], "locale": "en-US", "whatsNew": None}
        self.localizations[loc["id"]] = loc
        return Response(201, {"data": self._version_resource(version, set()), "links": {"self": request.path}})

    def _editable(self, version: dict | None) -> Response | None:
        if version is None:
            return self.not_found_id("appStoreVersions")
        if version["state"] not in ("PREPARE_FOR_SUBMISSION", "REJECTED", "DEVELOPER_REJECTED", "METADATA_REJECTED",
                                    "INVALID_BINARY"):
            return errors(409, "STATE_ERROR", "The request cannot be fulfilled because of the state of another resource.",
                          f"The version is in the state {version['state']} and cannot be edited.")
        return None

    def not_found_id(self, kind: str) -> Response:
        return errors(404, "NOT_FOUND", "The specified resource does not exist",
                      f"There is no resource of type '{kind}' with this id.")

    def _update_version(self, request: Request, match: re.Match) -> Response:
        version = self.versions.get(match["id"])
        refused = self._editable(version)
        if refused:
            return refused
        attrs = ((request.json() or {}).get("data") or {}).get("attributes") or {}
        if "releaseType" in attrs:
            version["releaseType"] = attrs["releaseType"]
        return Response(200, {"data": self._version_resource(version, set())})

    def _set_build(self, request: Request, match: re.Match) -> Response:
        version = self.versions.get(match["id"])
        refused = self._editable(version)
        if refused:
            return refused
        build_id = ((request.json() or {}).get("data") or {}).get("id")
        if not any(b["id"] == build_id for b in self.builds):
            return self.not_found_id("builds")
        version["build"] = build_id
        return Response(204)

    def _list_localizations(self, request: Request, match: re.Match) -> Response:
        if match["id"] not in self.versions:
            return self.not_found_id("appStoreVersions")
        data = [{"type": "appStoreVersionLocalizations", "id": loc["id"],
                 "attributes": {"locale": loc["locale"], "whatsNew": loc["whatsNew"]}}
                for loc in self.localizations.values() if loc["version"] == match["id"]]
        return Response(200, {"data": data, "links": {"self": request.path}})

    def _update_localization(self, request: Request, match: re.Match) -> Response:
        loc = self.localizations.get(match["id"])
        if loc is None:
            return self.not_found_id("appStoreVersionLocalizations")
        refused = self._editable(self.versions.get(loc["version"]))
        if refused:
            return refused
        attrs = ((request.json() or {}).get("data") or {}).get("attributes") or {}
        if len(attrs.get("whatsNew") or "") > 4000:
            return errors(409, "ENTITY_ERROR.ATTRIBUTE.INVALID.TOO_LONG", "An attribute value is too long.",
                          "'whatsNew' must be no longer than 4000 characters.")
        loc["whatsNew"] = attrs.get("whatsNew", loc["whatsNew"])
        return Response(200, {"data": {"type": "appStoreVersionLocalizations", "id": loc["id"],
                                       "attributes": {"locale": loc["locale"], "whatsNew": loc["whatsNew"]}}})

    def _create_phased(self, request: Request, match: re.Match) -> Response:
        data = (request.json() or {}).get("data") or {}
        version_id = ((((data.get("relationships") or {}).get("appStoreVersion") or {}).get("data")) or {}).get("id")
        version = self.versions.get(version_id or "")
        if version is None:
            return self.not_found_id("appStoreVersions")
        if version["phased"]:
            return errors(409, "ENTITY_ERROR.RELATIONSHIP.INVALID", "The provided entity includes a relationship with an "
                          "invalid value", "The app store version already has a phased release.")
        phased = {"id": str(uuid.uuid4()), "version": version_id, "state": "INACTIVE", "day": 0}
        self.phased[phased["id"]] = phased
        version["phased"] = phased["id"]
        return Response(201, {"data": self._phased_resource(phased)})

    MOVES = {("ACTIVE", "PAUSED"), ("PAUSED", "ACTIVE"), ("ACTIVE", "COMPLETE"), ("PAUSED", "COMPLETE")}

    def _update_phased(self, request: Request, match: re.Match) -> Response:
        phased = self.phased.get(match["id"])
        if phased is None:
            return self.not_found_id("appStoreVersionPhasedReleases")
        wanted = (((request.json() or {}).get("data") or {}).get("attributes") or {}).get("phasedReleaseState")
        if (phased["state"], wanted) not in self.MOVES:
            return errors(409, "STATE_ERROR", "The request cannot be fulfilled because of the state of another resource.",
                          f"A phased release in the state {phased['state']} cannot become {wanted}.")
        phased["state"] = wanted
        return Response(200, {"data": self._phased_resource(phased)})

    def _submission_resource(self, sub: dict) -> dict:
        return {"type": "reviewSubmissions", "id": sub["id"],
                "attributes": {"platform": sub["platform"], "state": sub["state"], "submittedDate": sub["submitted"]},
                "relationships": {"items": {"links": {"related": f"{self.url}/v1/reviewSubmissions/{sub['id']}/items"}}}}

    def _list_submissions(self, request: Request, match: re.Match) -> Response:
        q = {k: v[0] for k, v in request.query.items()}
        if not q.get("filter[app]"):
            return errors(400, "PARAMETER_ERROR.REQUIRED", "A required parameter is missing.",
                          "The parameter 'filter[app]' is required for this request.")
        found = [s for s in self.submissions.values() if s["app"] == q["filter[app]"]
                 and ("filter[platform]" not in q or s["platform"] in q["filter[platform]"].split(","))
                 and ("filter[state]" not in q or s["state"] in q["filter[state]"].split(","))]
        return Response(200, {"data": [self._submission_resource(s) for s in found], "links": {"self": request.path}})

    def _create_submission(self, request: Request, match: re.Match) -> Response:
        data = (request.json() or {}).get("data") or {}
        app_id = ((((data.get("relationships") or {}).get("app") or {}).get("data")) or {}).get("id")
        platform = (data.get("attributes") or {}).get("platform") or "IOS"
        if not any(a["id"] == app_id for a in self.apps):
            return self.not_found_id("apps")
        if any(s["app"] == app_id and s["platform"] == platform and s["state"] in ("READY_FOR_REVIEW", "UNRESOLVED_ISSUES")
               for s in self.submissions.values()):
            return errors(409, "STATE_ERROR", "The request cannot be fulfilled because of the state of another resource.",
                          "There is another review submission in progress for this app and platform.")
        sub = {"id": str(uuid.uuid4()), "app": app_id, "platform": platform, "state": "READY_FOR_REVIEW", "items": [],
               "submitted": None}
        self.submissions[sub["id"]] = sub
        return Response(201, {"data": self._submission_resource(sub)})

    def _update_submission(self, request: Request, match: re.Match) -> Response:
        sub = self.submissions.get(match["id"])
        if sub is None:
            return self.not_found_id("reviewSubmissions")
        attrs = ((request.json() or {}).get("data") or {}).get("attributes") or {}
        if attrs.get("submitted") is True:
            if sub["state"] not in ("READY_FOR_REVIEW", "UNRESOLVED_ISSUES") or not sub["items"]:
                return errors(409, "STATE_ERROR", "The request cannot be fulfilled because of the state of another resource.",
                              "The review submission cannot be submitted: " +
                              ("it has no items." if not sub["items"] else f"it is {sub['state']}."))
            sub["state"], sub["submitted"] = "WAITING_FOR_REVIEW", time.strftime("%Y-%m-%dT%H:%M:%S-07:00")
            for version_id in sub["items"]:
                self.versions[version_id]["state"] = "WAITING_FOR_REVIEW"
        return Response(200, {"data": self._submission_resource(sub)})

    def _list_items(self, request: Request, match: re.Match) -> Response:
        sub = self.submissions.get(match["id"])
        if sub is None:
            return self.not_found_id("reviewSubmissions")
        include = "appStoreVersion" in ((request.query.get("include") or [""])[0]).split(",")
        data = []
        for item in (i for i in self.items.values() if i["submission"] == sub["id"]):
            rel = {"appStoreVersion": {"links": {"related": f"{self.url}/v1/reviewSubmissionItems/{item['id']}/appStoreVersion"}}}
            if include:
                rel["appStoreVersion"]["data"] = {"type": "appStoreVersions", "id": item["version"]}
            data.append({"type": "reviewSubmissionItems", "id": item["id"], "attributes": {"state": "READY_FOR_REVIEW"},
                         "relationships": rel})
        return Response(200, {"data": data, "links": {"self": request.path}})

    def _create_item(self, request: Request, match: re.Match) -> Response:
        rel = ((request.json() or {}).get("data") or {}).get("relationships") or {}
        sub = self.submissions.get((((rel.get("reviewSubmission") or {}).get("data")) or {}).get("id") or "")
        version_id = (((rel.get("appStoreVersion") or {}).get("data")) or {}).get("id")
        if sub is None or version_id not in self.versions:
            return self.not_found_id("reviewSubmissions" if sub is None else "appStoreVersions")
        if version_id in sub["items"]:
            return errors(409, "ENTITY_ERROR.RELATIONSHIP.INVALID", "The provided entity includes a relationship with an "
                          "invalid value", "This app store version is already an item of the review submission.")
        if sub["state"] not in ("READY_FOR_REVIEW", "UNRESOLVED_ISSUES"):
            return errors(409, "STATE_ERROR", "The request cannot be fulfilled because of the state of another resource.",
                          f"Items cannot be added to a review submission that is {sub['state']}.")
        item = {"id": str(uuid.uuid4()), "submission": sub["id"], "version": version_id}
        self.items[item["id"]] = item
        sub["items"].append(version_id)
        return Response(201, {"data": {"type": "reviewSubmissionItems", "id": item["id"], "attributes": {"state": "READY_FOR_REVIEW"}}})

    def _create_release_request(self, request: Request, match: re.Match) -> Response:
        rel = ((request.json() or {}).get("data") or {}).get("relationships") or {}
        version = self.versions.get((((rel.get("appStoreVersion") or {}).get("data")) or {}).get("id") or "")
        if version is None:
            return self.not_found_id("appStoreVersions")
        if version["state"] != "PENDING_DEVELOPER_RELEASE":
            return errors(409, "STATE_ERROR", "The request cannot be fulfilled because of the state of another resource.",
                          f"The version is in the state {version['state']} and cannot be released.")
        version["state"] = "READY_FOR_DISTRIBUTION"
        self._start_phased(version)
        req = {"id": str(uuid.uuid4()), "version": version["id"]}
        self.release_requests.append(req)
        return Response(201, {"data": {"type": "appStoreVersionReleaseRequests", "id": req["id"]}})
