"""The Google Play client (our module + PyJWT + HttpClient/requests) against the fake Google over loopback."""
from __future__ import annotations

import json
import threading
import time

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from core.enums import IntegrationKind, TargetStatus
from core.errors import IntegrationError, ValidationError
from core.integrations.base import IntegrationConfig, ProviderContext
from core.integrations.play_store_tracks import PlaySettings
from core.integrations.registry import build_client
from core.integrations.stores import StoreAction, StoreFacts, StorePhase
from core.integrations.target_play_store import check_params
from tests.fakes.google import FakeGoogle

EMAIL = "releasebot@acme-play.iam.gserviceaccount.com"
PACKAGE = "com.acme.app"


@pytest.fixture(scope="module")
def private_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def key_json(key: rsa.RSAPrivateKey, token_uri: str, **changes) -> str:
    data = {"type": "service_account", "project_id": "acme-play", "private_key_id": "k1", "private_key": pem(key),
            "client_email": EMAIL, "client_id": "1234567890", "token_uri": token_uri, **changes}
    return json.dumps(data)


@pytest.fixture
def google(private_key):
    fake = FakeGoogle()
    fake.add_account(EMAIL, private_key.public_key(), packages=(PACKAGE,))
    fake.add_package(PACKAGE)
    with fake:
        yield fake


def client(fake, key, *, package: str = PACKAGE, secret: str | None = None, timeout: float = 5.0,
           private: bool = True, settings: dict | None = None):
    config = IntegrationConfig(id="p-1", provider="PLAY_STORE", display_name="Play", base_url=fake.url,
                               fields={"appIdentifier": package}, settings=settings or {},
                               secrets={"serviceAccountJson": secret or key_json(key, fake.token_uri)})
    ctx = ProviderContext(allow_private_networks=private, timeout=timeout)
    return build_client(IntegrationKind.TARGET, config, ctx)


def failure(action, key) -> IntegrationError:
    with pytest.raises(IntegrationError) as caught:
        action()
    for line in pem(key).splitlines()[1:-1]:
        assert line not in str(caught.value) and line not in repr(caught.value.args)
    return caught.value


def test_verify_exchanges_a_signed_assertion_then_opens_and_deletes_an_edit(google, private_key):
    client(google, private_key).verify()
    [token_request] = google.calls("POST", "/token$")
    assert token_request.form()["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    [(header, claims)] = google.assertions
    assert (header["alg"], header["kid"], claims["iss"], claims["aud"]) == ("RS256", "k1", EMAIL, google.token_uri)
    assert claims["scope"] == "https://www.googleapis.com/auth/androidpublisher"
    assert [r.method for r in google.calls(path_regex="/edits")] == ["POST", "DELETE"]
    assert google.edits == {}


def test_the_access_token_is_reused_while_valid(google, private_key):
    target = client(google, private_key)
    target.verify()
    target.verify()
    assert len(google.calls("POST", "/token$")) == 1
    assert len(google.calls("POST", "/edits$")) == 2


def test_a_key_google_does_not_know_is_an_invalid_grant(google, private_key):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    error = failure(lambda: client(google, other, secret=key_json(other, google.token_uri)).verify(), other)
    assert str(error).startswith("Google refused the service account key (invalid_grant: Invalid JWT Signature.)")
    assert error.status == 400 and not google.calls(path_regex="/edits")


def test_an_unknown_service_account_is_an_invalid_grant(google, private_key):
    secret = key_json(private_key, google.token_uri, client_email="ghost@acme.iam.gserviceaccount.com")
    error = failure(lambda: client(google, private_key, secret=secret).verify(), private_key)
    assert "(invalid_grant: Invalid grant: account not found)" in str(error)


def test_an_unknown_package_says_so(google, private_key):
    error = failure(lambda: client(google, private_key, package="com.acme.nope").verify(), private_key)
    assert str(error) == "package com.acme.nope not found in Play Console or the service account has no access"
    assert error.status == 404


def test_an_account_without_access_to_the_app_gets_the_permission_message(google, private_key):
    google.add_package("com.acme.other")
    error = failure(lambda: client(google, private_key, package="com.acme.other").verify(), private_key)
    assert str(error) == ("the service account may not edit com.acme.other: The caller does not have permission (403); "
                          "grant it release permissions in Play Console, Users and permissions")


def test_a_json_that_is_not_a_service_account_key_is_refused(google, private_key):
    secret = json.dumps({"installed": {"client_id": "x", "client_secret": "y"}})
    error = failure(lambda: client(google, private_key, secret=secret), private_key)
    assert str(error).startswith("serviceAccountJson is not a Google service-account key")


def test_a_broken_private_key_is_refused_without_echoing_it(google, private_key):
    broken = "-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----"
    secret = key_json(private_key, google.token_uri, private_key=broken)
    error = failure(lambda: client(google, private_key, secret=secret), private_key)
    assert "QUJD" not in str(error) and "not a Google service-account key" in str(error)


def test_a_token_uri_pointing_inside_the_network_is_refused(google, private_key):
    secret = key_json(private_key, "http://169.254.169.254/computeMetadata/v1/token")
    error = failure(lambda: client(google, private_key, secret=secret, private=False), private_key)
    assert "169.254.169.254 resolves to a private address" in str(error)
    assert google.requests == []


def test_a_token_uri_that_is_not_http_is_refused(google, private_key):
    secret = key_json(private_key, "file:///etc/passwd")
    assert "is not an http(s) URL" in str(failure(lambda: client(google, private_key, secret=secret), private_key))


def test_a_token_endpoint_failure_is_reported_with_its_status(google, private_key):
    google.fail(500, "<html>backend error</html>", path="/token$")
    error = failure(client(google, private_key).verify, private_key)
    assert (str(error), error.status) == ("Google OAuth failed (500)", 500)


def test_a_play_api_server_error_is_reported_with_its_status(google, private_key):
    google.fail(500, {"error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}},
                path="/edits$")
    error = failure(client(google, private_key).verify, private_key)
    assert (str(error), error.status) == ("Google Play failed (500)", 500)


@pytest.mark.parametrize("status", [429, 503])
def test_rate_limits_and_unavailability_are_retried_after_retry_after(google, private_key, status):
    google.fail(status, {"error": {"code": status, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}},
                path="/edits$", times=2, headers={"Retry-After": "0"})
    client(google, private_key).verify()
    assert len(google.calls("POST", "/edits$")) == 3 and google.edits == {}


def test_a_google_that_is_gone_is_unreachable(google, private_key):
    target = client(google, private_key)
    google.stop()
    error = failure(target.verify, private_key)
    assert str(error).startswith("cannot reach Google OAuth at http://127.0.0.1:") and error.retryable


def test_a_google_that_does_not_answer_in_time_times_out(google, private_key):
    google.delay = 1
    error = failure(client(google, private_key, timeout=0.2).verify, private_key)
    assert "did not answer in time" in str(error)


# --- releases: submit, increase, halt, resume, complete (each one edit, read first) -----------------------------
def store_calls(fake) -> list[str]:
    """The Play requests made, as "METHOD what" (edit ids left out): "POST edit", "GET tracks/production"…"""
    def what(path: str) -> str:
        if "/tracks" in path:
            return "tracks" + path.split("/tracks", 1)[1]
        return path.rsplit(":", 1)[1] if ":" in path else "edit"
    return [f"{r.method} {what(r.path)}" for r in fake.calls(path_regex="/edits")]


@pytest.fixture
def play(google, private_key):
    google.upload(PACKAGE, 41, 42)
    return client(google, private_key)


def test_submit_puts_the_version_code_on_the_track_at_the_fraction_in_one_committed_edit(google, play):
    releases = play.submit("production", "42", user_fraction=0.05, release_notes={"en-US": "Faster sync"}, priority=3)
    [release] = google.track(PACKAGE)
    assert release == {"versionCodes": ["42"], "status": "inProgress", "userFraction": 0.05,
                       "releaseNotes": [{"language": "en-US", "text": "Faster sync"}], "inAppUpdatePriority": 3}
    assert releases == [release]
    assert store_calls(google) == ["POST edit", "GET tracks/production", "PUT tracks/production", "POST validate",
                                   "POST commit"]
    assert len(google.commits) == 1 and google.edits == {}


def test_a_retried_submit_finds_the_release_on_the_track_and_commits_nothing(google, play):
    play.submit("production", "42", user_fraction=0.05)
    google.requests.clear()
    releases = play.submit("production", "42", user_fraction=0.05)
    assert releases[0]["status"] == "inProgress" and len(google.commits) == 1
    assert store_calls(google) == ["POST edit", "GET tracks/production", "DELETE edit"]
    assert google.edits == {}


def test_a_full_release_is_completed_without_a_fraction(google, play):
    play.submit("beta", "42")
    assert google.track(PACKAGE, "beta") == [{"versionCodes": ["42"], "status": "completed"}]


def test_a_staged_rollout_keeps_the_previous_release_serving_everyone_else_until_it_completes(google, play):
    play.submit("production", "41")
    play.submit("production", "42", user_fraction=0.05)
    assert [(r["versionCodes"], r["status"]) for r in google.track(PACKAGE)] == [(["42"], "inProgress"),
                                                                               (["41"], "completed")]
    play.complete("production", "42")
    assert google.track(PACKAGE) == [{"versionCodes": ["42"], "status": "completed"}]


def test_increase_halt_resume_and_complete_are_one_edit_each_and_retries_change_nothing(google, play):
    play.submit("production", "42", user_fraction=0.05, priority=2)
    steps = [(play.roll_out, (0.1,)), (play.halt, ()), (play.resume, ()), (play.roll_out, (0.2,)), (play.complete, ())]
    seen = []
    for action, args in steps:
        action("production", "42", *args)
        action("production", "42", *args)  # a retry: reads the track, finds it done
        [release] = google.track(PACKAGE)
        seen.append((release["status"], release.get("userFraction")))
        assert release["inAppUpdatePriority"] == 2  # Play refuses a changed priority once rolled out: it is kept
    assert seen == [("inProgress", 0.1), ("halted", 0.1), ("inProgress", 0.1), ("inProgress", 0.2), ("completed", None)]
    assert len(google.commits) == 1 + len(steps)
    assert google.edits == {}


def test_roll_out_to_100_percent_completes_and_never_narrows_a_rollout(google, play):
    play.submit("production", "42", user_fraction=0.2)
    play.roll_out("production", "42", 0.1)
    assert google.track(PACKAGE)[0]["userFraction"] == 0.2 and len(google.commits) == 1
    play.roll_out("production", "42", 1.0)
    assert google.track(PACKAGE) == [{"versionCodes": ["42"], "status": "completed"}]


def test_increasing_a_halted_rollout_says_to_resume_it_first_and_leaves_no_edit_open(google, play, private_key):
    play.submit("production", "42", user_fraction=0.05)
    play.halt("production", "42")
    error = failure(lambda: play.roll_out("production", "42", 0.1), private_key)
    assert str(error) == "the rollout of version code 42 is halted: resume it first"
    assert google.edits == {} and len(google.commits) == 2


def test_rollout_actions_on_a_version_that_was_never_submitted_say_to_submit_first(google, play, private_key):
    error = failure(lambda: play.halt("production", "42"), private_key)
    assert str(error) == "version code 42 is not rolling out on the production track of com.acme.app: submit it first"


def test_halting_a_completed_release_says_there_is_no_rollout(google, play, private_key):
    play.submit("production", "42")
    error = failure(lambda: play.halt("production", "42"), private_key)
    assert str(error) == "version code 42 is already out to everyone: there is no rollout to halt"


@pytest.mark.parametrize(("fraction", "message"), [
    (1.0, "User fraction must be lower than one."),
    (0.0, "User fraction must be greater than zero."),
])
def test_google_refuses_a_fraction_outside_0_and_1_and_the_message_says_why(google, play, private_key, fraction, message):
    error = failure(lambda: play.submit("production", "42", user_fraction=fraction), private_key)
    assert str(error) == f"Google Play refused the change: {message} (400)"
    assert google.track(PACKAGE) == [] and google.commits == [] and google.edits == {}


def test_google_refuses_a_version_code_that_was_never_uploaded(google, play, private_key):
    error = failure(lambda: play.submit("production", "99", user_fraction=0.05), private_key)
    assert str(error) == ("Google Play refused the change: Version code 99 has not been uploaded to com.acme.app: "
                          "upload its bundle or APK first. (400)")


def test_google_refuses_an_in_app_update_priority_above_5(google, play, private_key):
    error = failure(lambda: play.submit("production", "42", priority=6), private_key)
    assert "In-app update priority must be between 0 and 5." in str(error)


def test_a_track_play_console_does_not_have_is_named(google, play, private_key):
    error = failure(lambda: play.submit("qa-team", "42"), private_key)
    assert str(error) == ("com.acme.app has no such track in Play Console (Track not found: qa-team.): check the "
                          "target's track setting")
    google.add_track(PACKAGE, "qa-team")
    play.submit("qa-team", "42")
    assert google.track(PACKAGE, "qa-team")[0]["status"] == "completed"


def test_an_edit_that_expires_during_the_change_is_started_over_and_committed_once(google, play):
    gate = google.hold(":validate$")
    worker = threading.Thread(target=play.submit, args=("production", "42"), kwargs={"user_fraction": 0.05})
    worker.start()
    wait_for(lambda: google.calls("POST", ":validate$"))
    google.expire()
    gate.set()
    worker.join(10)
    assert len(google.commits) == 1 and google.track(PACKAGE)[0]["userFraction"] == 0.05
    assert len(google.calls("POST", "/edits$")) == 2  # the expired edit, then a new one


def test_a_click_repeated_while_the_first_edit_is_open_commits_once(google, play, private_key):
    """Two edits open at once: the first commit deletes the other; the other starts over, finds the release
    on the track and commits nothing."""
    gate = google.hold(":validate$")
    first = threading.Thread(target=play.submit, args=("production", "42"), kwargs={"user_fraction": 0.05})
    first.start()
    wait_for(lambda: google.calls("POST", ":validate$"))
    google.holds.clear()
    client(google, private_key).submit("production", "42", user_fraction=0.05)  # the second click, not held
    gate.set()
    first.join(10)
    assert len(google.commits) == 1 and len(google.track(PACKAGE)) == 1
    # first edit (deleted by the second click's commit), the second click's edit, the first click's new edit
    assert len(google.calls("POST", "/edits$")) == 3 and google.edits == {}


def test_committing_an_edit_opened_before_another_commit_fails_as_google_says(google, play, private_key):
    token = play.access_token()
    base = f"{google.url}/androidpublisher/v3/applications/{PACKAGE}/edits"
    headers = {"Authorization": f"Bearer {token}"}
    older = requests.post(base, json={}, headers=headers, timeout=5).json()["id"]
    play.submit("production", "42")
    answer = requests.post(f"{base}/{older}:commit", headers=headers, timeout=5)
    assert answer.status_code == 400
    assert answer.json()["error"] == {"code": 400, "message": "This Edit has been deleted.", "status": "INVALID_ARGUMENT",
                                      "errors": [{"message": "This Edit has been deleted.", "domain": "global",
                                                  "reason": "badRequest"}]}


def test_google_refuses_a_changed_in_app_update_priority_once_the_release_is_rolled_out(google, play):
    play.submit("production", "42", user_fraction=0.05, priority=1)
    headers = {"Authorization": f"Bearer {play.access_token()}"}
    base = f"{google.url}/androidpublisher/v3/applications/{PACKAGE}/edits"
    edit = requests.post(base, json={}, headers=headers, timeout=5).json()["id"]
    body = {"track": "production", "releases": [{"versionCodes": ["42"], "status": "inProgress", "userFraction": 0.1,
                                                 "inAppUpdatePriority": 5}]}
    answer = requests.put(f"{base}/{edit}/tracks/production", json=body, headers=headers, timeout=5)
    assert (answer.status_code, answer.json()["error"]["message"]) == (
        400, "Cannot update the in-app update priority of a release that has been rolled out.")


def test_reading_the_releases_opens_and_deletes_an_edit(google, play):
    play.submit("production", "42", user_fraction=0.05)
    google.requests.clear()
    assert play.releases("production")[0]["userFraction"] == 0.05
    assert store_calls(google) == ["POST edit", "GET tracks/production", "DELETE edit"]


# --- settings ----------------------------------------------------------------------------------------------
def test_settings_default_to_production_and_the_1_5_10_20_50_100_ladder():
    settings = PlaySettings.parse({})
    assert (settings.track, settings.steps, settings.default_percent) == ("production", (1, 5, 10, 20, 50, 100), 1)
    assert [settings.next_percent(f) for f in (None, 0.01, 0.05, 0.07, 0.5, 1.0)] == [1, 5, 10, 10, 100, 100]


def test_settings_name_the_track_the_ladder_and_the_version_code_mapping():
    settings = PlaySettings.parse({"track": "beta", "rolloutSteps": "2%, 25, 100", "versionCodeOffset": "1000000",
                                   "defaultRolloutPercent": "5", "markReleased": "rollout"})
    assert (settings.track, settings.steps, settings.default_percent) == ("beta", (2, 25, 100), 5)
    assert settings.version_code("42") == "1000042" and settings.mark_released == "rollout"


@pytest.mark.parametrize(("settings", "start"), [
    ({"rolloutSteps": "10, 5"}, "rolloutSteps must be percentages above 0 and at most 100, rising"),
    ({"rolloutSteps": "1, x"}, "rolloutSteps must be"),
    ({"rolloutSteps": "1, 150"}, "rolloutSteps must be percentages above 0 and at most 100, rising"),
    ({"defaultRolloutPercent": "150"}, "defaultRolloutPercent must be one percentage above 0 and at most 100, e.g. 5"),
    ({"defaultRolloutPercent": "5, 10"}, "defaultRolloutPercent must be one percentage"),
    ({"versionCodeOffset": "1.5"}, "versionCodeOffset must be a whole number"),
    ({"markReleased": "later"}, "markReleased must be everyone"),
])
def test_bad_settings_say_which_and_how_to_write_it(settings, start):
    with pytest.raises(IntegrationError) as caught:
        PlaySettings.parse(settings)
    assert str(caught.value).startswith(start)


def test_a_target_with_a_bad_setting_fails_before_any_request(google, private_key):
    error = failure(lambda: client(google, private_key, settings={"rolloutSteps": "50, 10"}), private_key)
    assert str(error).startswith("rolloutSteps must be percentages") and google.requests == []


def test_a_build_number_that_is_not_a_number_cannot_be_a_version_code():
    with pytest.raises(IntegrationError, match="the build number '1.2' is not a whole number"):
        PlaySettings.parse({}).version_code("1.2")
    with pytest.raises(IntegrationError, match="outside Play's range"):
        PlaySettings.parse({"versionCodeOffset": "-50"}).version_code("42")


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


# --- the store protocol: read_state, perform, check_params ---------------------------------------------------
def facts(build_number: str | None = "42", **settings) -> StoreFacts:
    return StoreFacts(version="1.5.0", build_number=build_number, settings=settings)


def test_a_build_not_on_the_track_offers_submit(play):
    state = play.read_state(facts())
    assert (state.phase, state.allowed, state.target_status) == (StorePhase.NONE, (StoreAction.SUBMIT,), None)
    assert state.line == "Version code 42 is not on production yet"


def test_perform_walks_a_rollout_and_each_state_says_what_play_shows(google, play):
    start = play.perform(StoreAction.SUBMIT, {"userFraction": 0.05, "releaseNotes": "Faster sync",
                                              "inAppUpdatePriority": 4}, facts())
    assert (start.phase, start.rollout_percent, start.target_status) == (StorePhase.ROLLING_OUT, 5, TargetStatus.SUBMITTED)
    assert start.line == "Rolling out to 5 % on production (sent for review; Play does not report review progress)"
    assert start.allowed == (StoreAction.INCREASE, StoreAction.HALT, StoreAction.COMPLETE)
    assert start.hints[StoreAction.INCREASE] == "Roll out to 10 % of users"
    assert google.track(PACKAGE)[0]["releaseNotes"] == [{"language": "en-US", "text": "Faster sync"}]
    increased = play.perform(StoreAction.INCREASE, {"userFraction": 0.1}, facts())
    halted = play.perform(StoreAction.HALT, {}, facts())
    assert (halted.paused, halted.allowed) == (True, (StoreAction.RESUME, StoreAction.COMPLETE))
    assert halted.line.startswith("Rollout halted at 10 % on production")
    resumed = play.perform(StoreAction.RESUME, {}, facts())
    done = play.perform(StoreAction.COMPLETE, {}, facts())
    assert [s.rollout_percent for s in (increased, resumed, done)] == [10, 10, 100]
    assert (done.phase, done.target_status, done.allowed) == (StorePhase.LIVE, TargetStatus.RELEASED, ())
    assert play.read_state(facts()) == done and len(google.commits) == 5


def test_a_target_may_count_as_mark_released_the_rollout_starts_on_its_own_track(google, play):
    google.add_track(PACKAGE, "qa")
    state = play.perform(StoreAction.SUBMIT, {"userFraction": 0.01}, facts("2", track="qa", markReleased="rollout",
                                                                           versionCodeOffset="40"))
    assert (state.target_status, state.rollout_percent) == (TargetStatus.RELEASED, 1)
    assert state.line.startswith("Rolling out to 1 % on the qa track")
    assert google.track(PACKAGE, "qa")[0]["versionCodes"] == ["42"]


def test_submit_params_turn_the_modal_percent_into_a_fraction_and_100_into_a_full_release():
    assert check_params(StoreAction.SUBMIT, {"userFraction": "5 %", "releaseNotes": " Fixes ", "inAppUpdatePriority": "3"},
                        {}) == {"userFraction": 0.05, "releaseNotes": "Fixes", "inAppUpdatePriority": 3}
    assert check_params(StoreAction.SUBMIT, {"userFraction": "100", "releaseNotes": "", "inAppUpdatePriority": None},
                        {}) == {}
    assert check_params(StoreAction.SUBMIT, {}, {"defaultRolloutPercent": "2"}) == {"userFraction": 0.02}


def test_increase_params_name_the_step_after_the_rollout_the_person_saw():
    assert check_params(StoreAction.INCREASE, {"rolloutPercent": "5.0"}, {}) == {"userFraction": 0.1}
    assert check_params(StoreAction.INCREASE, {"rolloutPercent": "50"}, {}) == {"userFraction": 1.0}
    assert check_params(StoreAction.INCREASE, {"rolloutPercent": "5"}, {"rolloutSteps": "5, 30, 100"}) == {"userFraction": 0.3}
    assert check_params(StoreAction.HALT, {}, {}) == {}


def test_bad_modal_values_name_their_field_and_the_fix():
    with pytest.raises(ValidationError) as caught:
        check_params(StoreAction.SUBMIT, {"userFraction": "0", "releaseNotes": "x" * 501, "inAppUpdatePriority": "9"}, {})
    problems = caught.value.by_field()
    assert problems["userFraction"].startswith("'0' is not a percentage of users: give a number above 0")
    assert problems["releaseNotes"] == ("Play takes at most 500 characters of release notes; these have 501: "
                                        "shorten them")
    assert problems["inAppUpdatePriority"].startswith("in-app update priority is a whole number from 0")
    with pytest.raises(ValidationError, match="Google Play has no pause"):
        check_params(StoreAction.PAUSE, {}, {})


def test_an_edit_can_be_read_and_lists_the_apps_tracks_and_expires_as_google_says(google, play):
    headers = {"Authorization": f"Bearer {play.access_token()}"}
    base = f"{google.url}/androidpublisher/v3/applications/{PACKAGE}/edits"
    edit = requests.post(base, json={}, headers=headers, timeout=5).json()
    assert requests.get(f"{base}/{edit['id']}", headers=headers, timeout=5).json() == edit
    tracks = requests.get(f"{base}/{edit['id']}/tracks", headers=headers, timeout=5).json()
    assert tracks == {"kind": "androidpublisher#tracksListResponse",
                      "tracks": [{"track": name} for name in ("production", "beta", "alpha", "internal")]}
    google.expire(edit["id"])
    answer = requests.get(f"{base}/{edit['id']}/tracks/production", headers=headers, timeout=5)
    assert (answer.status_code, answer.json()["error"]["message"], answer.json()["error"]["status"]) == (
        400, "This edit has expired, please create a new Edit.", "FAILED_PRECONDITION")
