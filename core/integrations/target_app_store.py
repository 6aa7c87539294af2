"""App Store Connect API with a team API key: an ES256 JWT signed with the .p8 key on each request
(core.integrations.app_store_key).

`filter[bundleId]` on /v1/apps also returns apps whose bundle id merely starts with the one asked for
(com.acme.app finds com.acme.app.watchkitapp), so the app is picked by exact comparison.

Submitting and rolling out (issue 12) follow the App Store Connect API's resources: `builds` (found by
version and build number; `processingState` PROCESSING / FAILED / INVALID / VALID), `appStoreVersions`
(one per version string and platform; its `appVersionState` — `appStoreState` in older answers — is the
review state), `appStoreVersionLocalizations` (What's New), `appStoreVersionPhasedReleases` (INACTIVE,
ACTIVE, PAUSED, COMPLETE and the day of the 7-day ramp), `reviewSubmissions` with their
`reviewSubmissionItems` (at most one open submission per app and platform: it is reused, and after a
rejection the same submission is submitted again) and `appStoreVersionReleaseRequests`. Every step reads
first and writes only what is missing, so a retried or interrupted submission completes once.
"""
from __future__ import annotations

from typing import Any

import requests

from core.errors import IntegrationError, Problem, ValidationError
from core.integrations.app_store_key import ApiKey, load_key
from core.integrations.app_store_versions import LIVE, REJECTED, attr, phased_release, related_id, state_of, store_settings, version_state, words
from core.integrations.base import IntegrationConfig, ProviderContext
from core.integrations.http import HttpClient
from core.integrations.stores import StoreAction, StoreFacts, StoreState, StoreWaiting

DEFAULT_BASE_URL = "https://api.appstoreconnect.apple.com"
PAGE_LIMIT = 200
PLATFORM = "IOS"
WHATS_NEW_LIMIT = 4000  # Apple's limit for a localization's whatsNew
OPEN_SUBMISSIONS = ("READY_FOR_REVIEW", "UNRESOLVED_ISSUES")


class AppStoreTarget:
    """Checks that an App Store Connect API key can see one app."""

    def __init__(self, http: HttpClient, *, bundle_id: str, key: ApiKey):
        self.http, self.bundle_id, self.key = http, bundle_id, key

    def verify(self) -> None:
        """The API key is accepted and an app with exactly this bundle id exists."""
        self.app_id()

    def app_id(self) -> str:
        """App Store Connect's id of the app whose bundle id is exactly `bundle_id`."""
        params = {"filter[bundleId]": self.bundle_id, "fields[apps]": "bundleId,name", "limit": PAGE_LIMIT}
        response = self.http.get("v1/apps", params=params, headers=self.key.authorization(), expect=())
        if response.status_code != 200:
            raise self._error(response)
        apps = response.json().get("data") or []
        exact = [a for a in apps if (a.get("attributes") or {}).get("bundleId") == self.bundle_id]
        if not exact:
            raise IntegrationError(f"no app with bundle id {self.bundle_id} in App Store Connect", status=404)
        return exact[0]["id"]

    # --- the store protocol (core.integrations.stores) ------------------------------------------

    def read_state(self, facts: StoreFacts) -> StoreState:
        """The release's version at App Store Connect: review state, release, phased rollout."""
        app_id = facts.store_ids.get("appId") or self.app_id()
        version = self._version(app_id, facts.version)
        return state_of(app_id, version, facts)

    def perform(self, action: StoreAction, params: dict[str, Any], facts: StoreFacts) -> StoreState:
        """Submit (or resubmit), release, pause, resume or complete the phased release; reads first, writes what is missing."""
        app_id = facts.store_ids.get("appId") or self.app_id()
        if action in (StoreAction.SUBMIT, StoreAction.RESUBMIT):
            self._submit(app_id, params, facts)
        else:
            version = self._version(app_id, facts.version)
            if version is None:
                raise IntegrationError(f"App Store Connect has no version {facts.version} of this app: submit it first")
            self._rollout(action, version)
        return self.read_state(StoreFacts(facts.version, facts.build_number, facts.settings, {**facts.store_ids, "appId": app_id}))

    def _submit(self, app_id: str, params: dict[str, Any], facts: StoreFacts) -> None:
        settings = store_settings(facts.settings)
        version = self._version(app_id, facts.version)
        if version is not None and version_state(version["data"]) not in ("PREPARE_FOR_SUBMISSION", *REJECTED):
            return  # already submitted (a retried or interrupted submission): nothing more to do
        build_id = self._processed_build(app_id, facts)
        created = version is None
        if created:  # with its build and release type: nothing to patch afterwards
            version = {"data": self._create_version(app_id, facts.version, build_id, settings["releaseType"]), "included": []}
        data = version["data"]
        if not created and related_id(data, "build") != build_id:
            self._json("PATCH", f"v1/appStoreVersions/{data['id']}/relationships/build", expect=(204,),
                       body={"data": {"type": "builds", "id": build_id}})
        if (data.get("attributes") or {}).get("releaseType") != settings["releaseType"]:
            self._json("PATCH", f"v1/appStoreVersions/{data['id']}", body={"data": {
                "type": "appStoreVersions", "id": data["id"], "attributes": {"releaseType": settings["releaseType"]}}})
        if settings["phasedRelease"] and phased_release(version) is None:
            self._json("POST", "v1/appStoreVersionPhasedReleases", expect=(201,), body={"data": {
                "type": "appStoreVersionPhasedReleases", "attributes": {"phasedReleaseState": "INACTIVE"},
                "relationships": {"appStoreVersion": {"data": {"type": "appStoreVersions", "id": data["id"]}}}}})
        if params.get("whatsNew"):
            self._whats_new(data["id"], params["whatsNew"])
        self._submit_for_review(app_id, data["id"])

    def _processed_build(self, app_id: str, facts: StoreFacts) -> str:
        """The id of the build with this version and build number, once App Store Connect processed it."""
        if not facts.build_number:
            raise IntegrationError("the target has no build number to submit: build it first")
        found = self._json("GET", "v1/builds", params={
            "filter[app]": app_id, "filter[version]": facts.build_number,
            "filter[preReleaseVersion.version]": facts.version, "fields[builds]": "version,processingState,expired",
            "limit": 10})["data"]
        what = f"build {facts.build_number} of {facts.version}"
        if not found:
            raise StoreWaiting(f"{what} is not in App Store Connect yet (uploading or processing): waiting for it")
        state = (found[0].get("attributes") or {}).get("processingState")
        if state == "PROCESSING":
            raise StoreWaiting(f"App Store Connect is still processing {what}: waiting for it")
        if state in ("FAILED", "INVALID"):
            raise IntegrationError(f"App Store Connect could not process {what} ({state}): upload a new build, then submit again")
        return found[0]["id"]

    def _create_version(self, app_id: str, version: str, build_id: str, release_type: str) -> dict:
        return self._json("POST", "v1/appStoreVersions", expect=(201,), body={"data": {
            "type": "appStoreVersions",
            "attributes": {"platform": PLATFORM, "versionString": version, "releaseType": release_type},
            "relationships": {"app": {"data": {"type": "apps", "id": app_id}},
                              "build": {"data": {"type": "builds", "id": build_id}}}}})["data"]

    def _whats_new(self, version_id: str, text: str) -> None:
        for loc in self._json("GET", f"v1/appStoreVersions/{version_id}/appStoreVersionLocalizations",
                              params={"limit": 50})["data"]:
            if (loc.get("attributes") or {}).get("whatsNew") != text:
                self._json("PATCH", f"v1/appStoreVersionLocalizations/{loc['id']}", body={"data": {
                    "type": "appStoreVersionLocalizations", "id": loc["id"], "attributes": {"whatsNew": text}}})

    def _submit_for_review(self, app_id: str, version_id: str) -> None:
        """Reuse the app's open review submission (or create one), add the version once, mark it submitted."""
        open_ = self._json("GET", "v1/reviewSubmissions", params={
            "filter[app]": app_id, "filter[platform]": PLATFORM, "filter[state]": ",".join(OPEN_SUBMISSIONS)})["data"]
        if open_:
            submission = open_[0]
            items = self._json("GET", f"v1/reviewSubmissions/{submission['id']}/items",
                               params={"include": "appStoreVersion"})["data"]
            has_version = any(related_id(item, "appStoreVersion") == version_id for item in items)
        else:
            submission = self._json("POST", "v1/reviewSubmissions", expect=(201,), body={"data": {
                "type": "reviewSubmissions", "attributes": {"platform": PLATFORM},
                "relationships": {"app": {"data": {"type": "apps", "id": app_id}}}}})["data"]
            has_version = False
        if not has_version:
            self._json("POST", "v1/reviewSubmissionItems", expect=(201,), body={"data": {
                "type": "reviewSubmissionItems",
                "relationships": {"reviewSubmission": {"data": {"type": "reviewSubmissions", "id": submission["id"]}},
                                  "appStoreVersion": {"data": {"type": "appStoreVersions", "id": version_id}}}}})
        self._json("PATCH", f"v1/reviewSubmissions/{submission['id']}", body={"data": {
            "type": "reviewSubmissions", "id": submission["id"], "attributes": {"submitted": True}}})

    def _rollout(self, action: StoreAction, version: dict) -> None:
        data, phased = version["data"], phased_release(version)
        state = version_state(data)
        if action == StoreAction.RELEASE:
            if state == "PENDING_DEVELOPER_RELEASE":
                self._json("POST", "v1/appStoreVersionReleaseRequests", expect=(201,), body={"data": {
                    "type": "appStoreVersionReleaseRequests",
                    "relationships": {"appStoreVersion": {"data": {"type": "appStoreVersions", "id": data["id"]}}}}})
            elif state not in LIVE:
                raise IntegrationError(f"version {attr(data, 'versionString')} is not approved yet ({words(state)}): "
                                       "release it once App Review approved it")
            return
        wanted = {StoreAction.PAUSE: "PAUSED", StoreAction.RESUME: "ACTIVE", StoreAction.COMPLETE: "COMPLETE"}.get(action)
        if wanted is None:
            raise IntegrationError(f"the App Store has no {action.value} action")
        if phased is None or state not in LIVE:
            raise IntegrationError("there is no phased release running for this version: release it first")
        if attr(phased, "phasedReleaseState") not in (wanted, "COMPLETE"):
            self._json("PATCH", f"v1/appStoreVersionPhasedReleases/{phased['id']}", body={"data": {
                "type": "appStoreVersionPhasedReleases", "id": phased["id"], "attributes": {"phasedReleaseState": wanted}}})

    def _version(self, app_id: str, version_string: str) -> dict | None:
        """The app's iOS version with this version string, with its build and phased release included."""
        answer = self._json("GET", f"v1/apps/{app_id}/appStoreVersions", params={
            "filter[versionString]": version_string, "filter[platform]": PLATFORM,
            "include": "build,appStoreVersionPhasedRelease", "limit": 10})
        found = [v for v in answer.get("data") or [] if attr(v, "versionString") == version_string]
        return {"data": found[0], "included": answer.get("included") or []} if found else None

    def _json(self, method: str, path: str, *, expect: tuple[int, ...] = (200,), body: dict | None = None,
              params: dict | None = None) -> dict:
        headers = self.key.authorization()
        if body is not None:
            headers["Content-Type"] = "application/json"
        response = self.http.request(method, path, params=params, json=body, headers=headers, expect=())
        if response.status_code not in expect:
            raise self._error(response)
        return response.json() if response.content else {}

    def _error(self, response: requests.Response) -> IntegrationError:
        status = response.status_code
        if status == 401:
            return IntegrationError("App Store Connect rejected the API key (401): check the key id, issuer id "
                                    "and .p8 key", status=401)
        if status == 403:
            return IntegrationError(f"App Store Connect refused: {_detail(response)} (403); the key's role may "
                                    "not allow reading apps, or the key was revoked", status=403)
        if status == 409 or status == 422:
            return IntegrationError(f"App Store Connect refused: {_detail(response)} ({status})", status=status)
        if status == 404:
            return IntegrationError(f"App Store Connect has no such resource: {_detail(response)} (404)", status=404)
        return self.http.error(response)


def check_params(action: StoreAction, raw: dict[str, str | None], settings: dict[str, Any]) -> dict[str, Any]:
    """The params to store for an App Store action: What's New for a submission (optional, Apple's limit)."""
    if action not in (StoreAction.SUBMIT, StoreAction.RESUBMIT):
        return {}
    text = (raw.get("whatsNew") or "").strip()
    if len(text) > WHATS_NEW_LIMIT:
        raise ValidationError([Problem("whatsNew", f"What's New is {len(text)} characters long: the App Store takes at most "
                                                   f"{WHATS_NEW_LIMIT}; shorten it")])
    return {"whatsNew": text} if text else {}


def _detail(response: requests.Response) -> str:
    """The first error's detail (or title) from {"errors": [{"status", "code", "title", "detail"}]}."""
    try:
        first = (response.json().get("errors") or [{}])[0]
    except (ValueError, AttributeError, IndexError):
        return "no reason given"
    return str(first.get("detail") or first.get("title") or first.get("code") or "no reason given")[:300]


def build(config: IntegrationConfig, ctx: ProviderContext) -> AppStoreTarget:
    """The App Store Connect client of a TARGET integration (appIdentifier = bundle id)."""
    bundle_id = (config.fields.get("appIdentifier") or "").strip()
    key_id = str(config.settings.get("keyId") or "").strip()
    issuer_id = str(config.settings.get("issuerId") or "").strip()
    if not bundle_id or not key_id or not issuer_id or not config.secrets.get("privateKey"):
        raise IntegrationError("the App Store integration needs an appIdentifier, a keyId, an issuerId "
                               "and a privateKey")
    store_settings(config.settings)  # a wrong store setting fails verification, naming the setting
    http = HttpClient(config.base_url or DEFAULT_BASE_URL, service="App Store Connect",
                      guard=ctx.guard, headers={"Accept": "application/json"},
                      timeout=ctx.timeout)
    return AppStoreTarget(http, bundle_id=bundle_id, key=ApiKey(key_id, issuer_id, load_key(config.secrets["privateKey"])))
