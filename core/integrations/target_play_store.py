"""Google Play Developer API (androidpublisher v3) with a service-account JSON key.

The access token for the androidpublisher scope comes from core.integrations.google_service_account;
its token_uri comes from a file a tenant pasted, so it passes the same URL check as any base URL before a
request goes there.

Access is proven by opening an edit on the package and deleting it again: it needs the permissions a
release needs, and changes nothing.

Releasing: every change is one edit (edits.insert, edits.tracks.get, edits.tracks.update,
edits.validate, edits.commit). The track is read inside the edit first and nothing is written when
its release already is what was asked (the edit is deleted instead): a retried or restarted action
never commits twice. Play's API has no review state: a committed release is "sent for review".
"""
from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import requests

from core.errors import IntegrationError, Problem, ValidationError
from core.integrations.base import IntegrationConfig, ProviderContext
from core.integrations.google_service_account import AccessTokens, json_object, service_account
from core.integrations.http import HttpClient
from core.integrations.play_store_tracks import ROLLED_OUT, PlaySettings, find_release, state_of, with_status
from core.integrations.stores import StoreAction, StoreFacts, StoreState

DEFAULT_BASE_URL = "https://androidpublisher.googleapis.com"
SCOPE = "https://www.googleapis.com/auth/androidpublisher"
NOTES_LIMIT = 500  # characters of release notes per language Play accepts
PLAY_ACTIONS = (StoreAction.SUBMIT, StoreAction.INCREASE, StoreAction.HALT, StoreAction.RESUME, StoreAction.COMPLETE)


STALE_EDIT = ("This Edit has been deleted", "This edit has expired", "This edit has already been successfully committed")


class StaleEditError(IntegrationError):
    """The edit expired or was deleted because another edit was committed meanwhile: a new edit will do."""


class PlayStoreTarget:
    """One app in Play Console through a service account: access checked, releases put on a track and rolled out."""

    def __init__(self, api: HttpClient, tokens: AccessTokens, *, package: str):
        self.api, self.tokens, self.package = api, tokens, package
        self.edits = f"androidpublisher/v3/applications/{quote(package, safe='')}/edits"

    def verify(self) -> None:
        """The key is accepted and the service account can open (then discard) an edit of the package."""
        edit_id = self._call("POST", self.edits, expect=(200,), json={}).json()["id"]
        self._call("DELETE", f"{self.edits}/{quote(edit_id, safe='')}", expect=(200, 204))

    # --- the store protocol (core.integrations.stores) -------------------------------------------
    def read_state(self, facts: StoreFacts) -> StoreState:
        """The build's release on the target's track, as Play has it now."""
        settings = PlaySettings.parse(facts.settings)
        version_code = settings.version_code(facts.build_number)
        return state_of(self.releases(settings.track), version_code, settings)

    def perform(self, action: StoreAction, params: dict, facts: StoreFacts) -> StoreState:
        """Do `action` in one edit, unless the track shows it done already; the state after it."""
        settings = PlaySettings.parse(facts.settings)
        code, track = settings.version_code(facts.build_number), settings.track
        if action == StoreAction.SUBMIT:
            notes = params.get("releaseNotes")
            releases = self.submit(track, code, user_fraction=params.get("userFraction"),
                                   release_notes={settings.notes_language: notes} if notes else None,
                                   priority=params.get("inAppUpdatePriority"))
        elif action == StoreAction.INCREASE:
            releases = self.roll_out(track, code, float(params["userFraction"]))
        elif action == StoreAction.HALT:
            releases = self.halt(track, code)
        elif action == StoreAction.RESUME:
            releases = self.resume(track, code)
        elif action == StoreAction.COMPLETE:
            releases = self.complete(track, code)
        else:
            raise IntegrationError(f"Google Play has no {action.value}: {PLAY_HINT}")
        return state_of(releases, code, settings)

    # --- releases ------------------------------------------------------------------------------
    def releases(self, track: str) -> list[dict]:
        """The track's active releases as Play has them now (read in an edit that is then deleted)."""
        return self._change(track, lambda releases: None)

    def submit(self, track: str, version_code: str, *, user_fraction: float | None = None,
               release_notes: dict[str, str] | None = None, priority: int | None = None) -> list[dict]:
        """Put the version code on the track: a staged rollout at `user_fraction`, or completed when None."""
        def change(releases: list[dict]) -> dict | None:
            found = find_release(releases, version_code)
            if found is not None and found["status"] in ROLLED_OUT:
                return None  # submitted already (a retry, or someone did it in Play Console)
            release = {"versionCodes": [version_code], "status": "completed" if user_fraction is None else "inProgress"}
            if user_fraction is not None:
                release["userFraction"] = user_fraction
            if release_notes:
                release["releaseNotes"] = [{"language": lang, "text": text} for lang, text in release_notes.items()]
            if priority is not None:
                release["inAppUpdatePriority"] = priority
            return release
        return self._change(track, change)

    def roll_out(self, track: str, version_code: str, user_fraction: float) -> list[dict]:
        """Widen the staged rollout to `user_fraction` (completed at 1); never narrows it."""
        def change(releases: list[dict]) -> dict | None:
            release = self._rolled_out(releases, track, version_code)
            if release["status"] == "completed" or release.get("userFraction", 0) >= user_fraction - 1e-9:
                return None
            if release["status"] == "halted":
                raise IntegrationError(f"the rollout of version code {version_code} is halted: resume it first")
            return with_status(release, "completed" if user_fraction >= 1 else "inProgress", user_fraction)
        return self._change(track, change)

    def halt(self, track: str, version_code: str) -> list[dict]:
        """Stop offering the release to more users (those who have it keep it)."""
        def change(releases: list[dict]) -> dict | None:
            release = self._rolled_out(releases, track, version_code)
            if release["status"] == "completed":
                raise IntegrationError(f"version code {version_code} is already out to everyone: there is no rollout "
                                       "to halt")
            return None if release["status"] == "halted" else with_status(release, "halted")
        return self._change(track, change)

    def resume(self, track: str, version_code: str) -> list[dict]:
        """Restart a halted rollout at the fraction it had."""
        def change(releases: list[dict]) -> dict | None:
            release = self._rolled_out(releases, track, version_code)
            return with_status(release, "inProgress") if release["status"] == "halted" else None
        return self._change(track, change)

    def complete(self, track: str, version_code: str) -> list[dict]:
        """Release to everyone on the track."""
        def change(releases: list[dict]) -> dict | None:
            release = self._rolled_out(releases, track, version_code)
            return None if release["status"] == "completed" else with_status(release, "completed")
        return self._change(track, change)

    def _rolled_out(self, releases: list[dict], track: str, version_code: str) -> dict:
        release = find_release(releases, version_code)
        if release is None or release["status"] not in ROLLED_OUT:
            raise IntegrationError(f"version code {version_code} is not rolling out on the {track} track of "
                                   f"{self.package}: submit it first")
        return release

    def _change(self, track: str, change: Callable[[list[dict]], dict | None]) -> list[dict]:
        """One edit: read the track, write `change`'s release unless it returns None, validate, commit.

        Returns the track's releases as they are once the edit is committed (or discarded). An edit that
        went stale on the way (expired, or another commit deleted it) is started over once: the track is
        read again, so what was already done is not done twice."""
        try:
            return self._change_once(track, change)
        except StaleEditError:
            return self._change_once(track, change)

    def _change_once(self, track: str, change: Callable[[list[dict]], dict | None]) -> list[dict]:
        edit = f"{self.edits}/{quote(self._call('POST', self.edits, expect=(200,), json={}).json()['id'], safe='')}"
        path = f"{edit}/tracks/{quote(track, safe='')}"
        try:
            releases = self._call("GET", path, expect=(200,)).json().get("releases") or []
            release = change(releases)
            if release is not None:
                written = self._call("PUT", path, expect=(200,), json={"track": track, "releases": [release]}).json()
                self._call("POST", f"{edit}:validate", expect=(200,))
        except IntegrationError as exc:
            if not exc.retryable:  # Google refused: leave no open edit behind (it would expire anyway)
                self._discard(edit)
            raise
        if release is None:
            self._discard(edit)
            return releases
        self._call("POST", f"{edit}:commit", expect=(200,))
        return written.get("releases") or []

    def _discard(self, edit: str) -> None:
        try:
            self._call("DELETE", edit, expect=(200, 204))
        except IntegrationError:
            pass  # an edit that cannot be deleted expires by itself; the answer that matters is the first one

    def _call(self, method: str, path: str, *, expect: tuple[int, ...], **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.access_token()}"}
        response = self.api.request(method, path, expect=(), headers=headers, **kwargs)
        if response.status_code not in expect:
            raise self._error(response)
        return response

    def access_token(self) -> str:
        """An OAuth access token for the androidpublisher scope, reused until shortly before it expires."""
        return self.tokens.access_token()

    def _error(self, response: requests.Response) -> IntegrationError:
        status = response.status_code
        if status == 404 and _google_message(response).startswith("Track not found"):
            return IntegrationError(f"{self.package} has no such track in Play Console ({_google_message(response)}): "
                                    "check the target's track setting", status=404)
        if status == 404:
            return IntegrationError(f"package {self.package} not found in Play Console or the service account has "
                                    "no access", status=404)
        if status == 403:
            return IntegrationError(f"the service account may not edit {self.package}: {_google_message(response)} "
                                    "(403); grant it release permissions in Play Console, Users and permissions",
                                    status=403)
        if status == 401:
            return IntegrationError("Google Play rejected the access token (401)", status=401)
        if status == 400:
            message = _google_message(response)
            if message.startswith(STALE_EDIT):
                return StaleEditError(f"Google Play dropped the edit: {message} (400)", status=400, retryable=True)
            return IntegrationError(f"Google Play refused the change: {message} (400)", status=400)
        return self.api.error(response)


PLAY_HINT = "Play targets are submitted, increased, halted, resumed and completed"


def check_params(action: StoreAction, raw: dict[str, str | None], settings: dict) -> dict:
    """The params to store for a Play action, from the modal's values (percent, text, 0–5).

    SUBMIT: `userFraction` (a fraction; left out for a full release at 100 %), `releaseNotes`,
    `inAppUpdatePriority`. INCREASE: `userFraction`, the ladder's step after `rolloutPercent` (the rollout
    the person saw when they asked), so a retried Increase never climbs twice."""
    try:
        play = PlaySettings.parse(settings)
    except IntegrationError as exc:
        raise ValidationError([Problem("settings", str(exc))]) from None
    values = {k: (v or "").strip() for k, v in raw.items()}
    if action == StoreAction.SUBMIT:
        return _submit_params(values, play)
    if action == StoreAction.INCREASE:
        if values.get("userFraction"):
            percent = _percent(values["userFraction"])
        else:
            percent = play.next_percent(_percent(values["rolloutPercent"]) / 100 if values.get("rolloutPercent") else None)
        return {"userFraction": 1.0 if percent >= 100 else percent / 100}
    if action in PLAY_ACTIONS:
        return {}
    raise ValidationError([Problem("action", f"Google Play has no {action.value}: {PLAY_HINT}")])


def _submit_params(values: dict[str, str], play: PlaySettings) -> dict:
    problems, params = [], {}
    try:
        percent = _percent(values["userFraction"]) if values.get("userFraction") else play.default_percent
        if percent < 100:
            params["userFraction"] = percent / 100
    except ValidationError as exc:
        problems.extend(exc.problems)
    notes = values.get("releaseNotes") or ""
    if len(notes) > NOTES_LIMIT:
        problems.append(Problem("releaseNotes", f"Play takes at most {NOTES_LIMIT} characters of release notes; these "
                                                f"have {len(notes)}: shorten them"))
    elif notes:
        params["releaseNotes"] = notes
    priority = values.get("inAppUpdatePriority") or ""
    if priority and (not priority.isdigit() or int(priority) > 5):
        problems.append(Problem("inAppUpdatePriority", "in-app update priority is a whole number from 0 (default) to "
                                                       "5 (highest)"))
    elif priority:
        params["inAppUpdatePriority"] = int(priority)
    if problems:
        raise ValidationError(problems)
    return params


def _percent(value: str) -> float:
    try:
        percent = float(value.rstrip("% "))
    except ValueError:
        percent = -1.0
    if not 0 < percent <= 100:
        raise ValidationError([Problem("userFraction", f"{value!r} is not a percentage of users: give a number above "
                                                       "0 and at most 100 (100 releases to everyone), e.g. 5")])
    return percent


def _google_message(response: requests.Response) -> str:
    """error.message from {"error": {"code", "message", "status"}}."""
    error = json_object(response).get("error")
    return str(error.get("message") if isinstance(error, dict) else "no reason given")[:300]


def build(config: IntegrationConfig, ctx: ProviderContext) -> PlayStoreTarget:
    """The Google Play client of a TARGET integration (appIdentifier = package name)."""
    package = (config.fields.get("appIdentifier") or "").strip()
    if not package or not config.secrets.get("serviceAccountJson"):
        raise IntegrationError("the Play Store integration needs an appIdentifier (package name) and a "
                               "serviceAccountJson")
    PlaySettings.parse(config.settings)  # a wrong setting is told at verification, not at the first release
    account = service_account(config.secrets["serviceAccountJson"])
    oauth = HttpClient(account.token_uri, service="Google OAuth", guard=ctx.guard,
                       headers={"Accept": "application/json"}, timeout=ctx.timeout)
    api = HttpClient(config.base_url or DEFAULT_BASE_URL, service="Google Play", timeout=ctx.timeout,
                     guard=ctx.guard, headers={"Accept": "application/json"})
    return PlayStoreTarget(api, AccessTokens(oauth, account, scope=SCOPE), package=package)
