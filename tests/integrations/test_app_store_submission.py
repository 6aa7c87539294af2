"""Submitting to and rolling out on the App Store: our client against the fake App Store Connect over loopback."""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from core.enums import TargetStatus
from core.errors import IntegrationError, ValidationError
from core.integrations.stores import StoreAction, StoreFacts, StorePhase, StoreWaiting
from core.integrations.target_app_store import check_params
from tests.fakes.app_store import FakeAppStoreConnect
from tests.integrations.test_target_app_store import BUNDLE, ISSUER, KEY_ID, client


@pytest.fixture(scope="module")
def private_key():
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def store(private_key):
    fake = FakeAppStoreConnect()
    fake.add_key(KEY_ID, private_key.public_key(), ISSUER)
    with fake:
        yield fake


def facts(settings=None, ids=None, version="1.5.0", build="45"):
    return StoreFacts(version=version, build_number=build, settings=settings or {}, store_ids=ids or {})


def writes(fake):
    return [(r.method, r.path) for r in fake.requests if r.method in ("POST", "PATCH")]


def test_a_submission_creates_the_version_attaches_the_build_and_submits_it_for_review(store, private_key):
    app = store.add_app(BUNDLE)
    build = store.add_build(app, "1.5.0", "45")
    state = client(store, private_key).perform(StoreAction.SUBMIT, {"whatsNew": "Faster login"},
                                               facts({"phasedRelease": "true"}))
    assert (state.phase, state.target_status, state.line) == (StorePhase.IN_REVIEW, TargetStatus.SUBMITTED, "Waiting for review")
    version = store.version("1.5.0")
    assert (version["build"], version["releaseType"], version["state"]) == (build["id"], "MANUAL", "WAITING_FOR_REVIEW")
    assert [loc["whatsNew"] for loc in store.localizations.values()] == ["Faster login"]
    assert store.phased[version["phased"]]["state"] == "INACTIVE"
    [submission] = store.submissions.values()
    assert submission["items"] == [version["id"]] and submission["state"] == "WAITING_FOR_REVIEW"
    assert state.store_ids["appStoreVersionId"] == version["id"]


def test_submitting_again_after_it_was_submitted_writes_nothing(store, private_key):
    app = store.add_app(BUNDLE)
    store.add_build(app, "1.5.0", "45")
    asc = client(store, private_key)
    asc.perform(StoreAction.SUBMIT, {}, facts())
    before = writes(store)
    assert asc.perform(StoreAction.SUBMIT, {}, facts()).phase == StorePhase.IN_REVIEW
    assert writes(store) == before


def test_a_submission_interrupted_after_the_version_was_created_finishes_without_a_second_one(store, private_key):
    app = store.add_app(BUNDLE)
    store.add_build(app, "1.5.0", "45")
    store.fail(503, {"errors": [{"status": "503", "code": "UNAVAILABLE", "title": "Service unavailable",
                                 "detail": "try later"}]}, path="/v1/reviewSubmissions$", method="POST", times=5)
    asc = client(store, private_key)
    with pytest.raises(IntegrationError) as caught:
        asc.perform(StoreAction.SUBMIT, {}, facts())
    assert caught.value.retryable
    assert asc.perform(StoreAction.SUBMIT, {}, facts()).phase == StorePhase.IN_REVIEW
    assert len(store.calls("POST", "/v1/appStoreVersions$")) == 1
    assert len(store.calls("PATCH", "/v1/reviewSubmissions/")) == 1


def test_a_build_still_processing_makes_the_submission_wait_and_a_failed_one_fails_clearly(store, private_key):
    app = store.add_app(BUNDLE)
    store.add_build(app, "1.5.0", "45", processing_reads=1)
    asc = client(store, private_key)
    with pytest.raises(StoreWaiting, match="still processing build 45 of 1.5.0"):
        asc.perform(StoreAction.SUBMIT, {}, facts())
    assert not store.calls("POST")
    assert asc.perform(StoreAction.SUBMIT, {}, facts()).phase == StorePhase.IN_REVIEW
    store.add_build(app, "1.6.0", "50", state="INVALID")
    with pytest.raises(IntegrationError, match=r"could not process build 50 of 1.6.0 \(INVALID\): upload a new build") as caught:
        asc.perform(StoreAction.SUBMIT, {}, facts(version="1.6.0", build="50"))
    assert not caught.value.retryable and not isinstance(caught.value, StoreWaiting)


def test_a_rejection_is_read_with_its_reason_and_resubmitted_on_the_same_submission(store, private_key):
    app = store.add_app(BUNDLE)
    store.add_build(app, "1.5.0", "45")
    asc = client(store, private_key)
    asc.perform(StoreAction.SUBMIT, {}, facts())
    store.review("1.5.0")
    assert asc.read_state(facts()).line == "In review"
    store.reject("1.5.0")
    rejected = asc.read_state(facts())
    assert (rejected.phase, rejected.allowed) == (StorePhase.REJECTED, (StoreAction.RESUBMIT,))
    assert "Resolution Center" in rejected.reason
    assert asc.perform(StoreAction.RESUBMIT, {}, facts()).phase == StorePhase.IN_REVIEW
    assert len(store.submissions) == 1 and len(store.items) == 1
    assert len(store.calls("PATCH", "/v1/reviewSubmissions/")) == 2


def test_a_phased_release_is_released_paused_resumed_and_completed(store, private_key):
    app = store.add_app(BUNDLE)
    store.add_build(app, "1.5.0", "45")
    asc, phased = client(store, private_key), facts({"phasedRelease": "yes"})
    asc.perform(StoreAction.SUBMIT, {}, phased)
    store.approve("1.5.0")
    approved = asc.read_state(phased)
    assert (approved.phase, approved.allowed, approved.target_status) == (StorePhase.APPROVED, (StoreAction.RELEASE,),
                                                                          TargetStatus.APPROVED)
    day1 = asc.perform(StoreAction.RELEASE, {}, phased)
    assert (day1.phase, day1.phased_day, day1.rollout_percent) == (StorePhase.ROLLING_OUT, 1, 1.0)
    assert day1.allowed == (StoreAction.PAUSE, StoreAction.COMPLETE)
    store.next_day("1.5.0")
    store.next_day("1.5.0")
    paused = asc.perform(StoreAction.PAUSE, {}, phased)
    assert (paused.paused, paused.phased_day, paused.line) == (True, 3, "Phased release day 3 of 7 (5 % of automatic updates), paused")
    assert asc.perform(StoreAction.PAUSE, {}, phased).paused  # a repeated pause writes nothing
    assert len(store.calls("PATCH", "/v1/appStoreVersionPhasedReleases/")) == 1
    assert not asc.perform(StoreAction.RESUME, {}, phased).paused
    live = asc.perform(StoreAction.COMPLETE, {}, phased)
    assert (live.phase, live.target_status, live.allowed) == (StorePhase.LIVE, TargetStatus.RELEASED, ())
    assert len(store.release_requests) == 1


def test_a_release_asked_before_approval_is_refused_in_words(store, private_key):
    app = store.add_app(BUNDLE)
    store.add_build(app, "1.5.0", "45")
    asc = client(store, private_key)
    asc.perform(StoreAction.SUBMIT, {}, facts())
    with pytest.raises(IntegrationError, match="not approved yet \\(waiting for review\\)"):
        asc.perform(StoreAction.RELEASE, {}, facts())
    assert not store.release_requests


def test_whats_new_longer_than_apples_limit_is_refused_under_its_field():
    with pytest.raises(ValidationError) as caught:
        check_params(StoreAction.SUBMIT, {"whatsNew": "x" * 4001}, {})
    assert "4000" in caught.value.by_field()["whatsNew"]
    assert check_params(StoreAction.SUBMIT, {"whatsNew": "  Faster  "}, {}) == {"whatsNew": "Faster"}
    assert check_params(StoreAction.PAUSE, {"whatsNew": "ignored"}, {}) == {}


def test_after_approval_with_phased_release_starts_the_ramp_by_itself_and_rollout_marks_it_released(store, private_key):
    app = store.add_app(BUNDLE)
    store.add_build(app, "1.5.0", "45")
    settings = {"releaseType": "after_approval", "phasedRelease": "true", "markReleased": "rollout"}
    asc = client(store, private_key)
    asc.perform(StoreAction.SUBMIT, {}, facts(settings))
    assert store.version("1.5.0")["releaseType"] == "AFTER_APPROVAL"
    store.approve("1.5.0")
    state = asc.read_state(facts(settings))
    assert (state.phase, state.phased_day, state.target_status) == (StorePhase.ROLLING_OUT, 1, TargetStatus.RELEASED)
    assert not store.release_requests


def test_a_wrong_store_setting_fails_verification_naming_it(store, private_key):
    store.add_app(BUNDLE)
    with pytest.raises(IntegrationError, match="releaseType setting is SOMETIMES: use MANUAL or AFTER_APPROVAL"):
        client(store, private_key, settings={"releaseType": "sometimes"}).verify()
