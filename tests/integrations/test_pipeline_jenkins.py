"""The Jenkins client (python-jenkins underneath) against the fake Jenkins over loopback."""
from __future__ import annotations

import pytest

from core.enums import BuildStatus
from core.errors import IntegrationError
from core.integrations.base import BuildRef, IntegrationConfig, ProviderContext
from core.integrations.pipeline_jenkins import build
from tests.fakes.jenkins import FakeJenkins

TOKEN = "jenkins-api-token"
CTX = ProviderContext(allow_private_networks=True, timeout=2)
PARAMS = {"RELEASE_VERSION": "1.5.0", "BRANCH": "release/1.5.0"}


@pytest.fixture
def fake():
    jenkins = FakeJenkins().start()
    jenkins.add_job("mobile/ios-release")
    yield jenkins
    jenkins.stop()


def client(fake, *, token=TOKEN, job="mobile/ios-release", ctx=CTX):
    return build(IntegrationConfig(id="p1", provider="JENKINS", display_name="Jenkins iOS", base_url=fake.url,
                                   fields={"jobPath": job}, settings={},
                                   secrets={"username": "releasebot", "apiToken": token}), ctx)


def refused(fn) -> IntegrationError:
    with pytest.raises(IntegrationError) as excinfo:
        fn()
    assert TOKEN not in str(excinfo.value) and "wrong-token" not in str(excinfo.value)
    return excinfo.value


def test_verify_passes_for_a_job_in_a_folder_with_the_parameters(fake):
    client(fake).verify()
    assert all(r.headers.get("Authorization", "").startswith("Basic ") for r in fake.calls())


def test_a_rejected_token_is_named(fake):
    error = refused(client(fake, token="wrong-token").verify)
    assert str(error) == "Jenkins rejected the username or API token (401)" and error.status == 401


def test_a_missing_job_is_named(fake):
    assert str(refused(client(fake, job="mobile/android-release").verify)) == "job mobile/android-release does not exist"


def test_a_job_without_the_parameters_says_which_to_add(fake):
    fake.add_job("mobile/old", parameters=("VERSION",))
    assert "does not take the parameters RELEASE_VERSION, BRANCH, RELEASEBOT_KEY" in str(refused(client(fake, job="mobile/old").verify))


def test_a_server_that_is_gone_or_failing_or_slow_is_retryable(fake):
    fake.fail(500, "<html>boom</html>")
    assert refused(client(fake).verify).retryable
    fake.delay = 3
    assert "did not answer in time" in str(refused(client(fake).verify))
    fake.delay = 0
    gone = client(fake)
    fake.stop()
    error = refused(gone.verify)
    assert error.retryable and "cannot reach Jenkins" in str(error)


def test_a_loopback_url_is_refused_unless_private_networks_are_allowed(fake):
    with pytest.raises(IntegrationError, match="private address"):
        client(fake, ctx=ProviderContext(allow_private_networks=False))
    assert fake.calls() == []


def test_trigger_queues_a_build_with_the_parameters_and_the_key(fake):
    ref = client(fake).trigger(params=PARAMS, idempotency_key="rb-1")
    queued = fake.queue[int(ref.queue_id)]
    assert queued.parameters == {**PARAMS, "RELEASEBOT_KEY": "rb-1"}
    posts = fake.calls("POST", "buildWithParameters")
    assert len(posts) == 1 and posts[0].headers.get("Jenkins-Crumb") == fake.crumb


def test_a_build_is_followed_from_the_queue_to_its_result(fake):
    jenkins = client(fake)
    ref = jenkins.trigger(params=PARAMS, idempotency_key="rb-2")
    assert jenkins.state(ref).status == BuildStatus.RUNNING  # a WaitingItem
    number = fake.start_build(int(ref.queue_id)).number
    running = jenkins.state(ref)
    assert (running.status, running.build_number) == (BuildStatus.RUNNING, str(number))
    fake.finish_build("mobile/ios-release", number, "FAILURE", duration_ms=61_000)
    ended = jenkins.state(BuildRef(queue_id=ref.queue_id, build_number=running.build_number))
    assert ended.status == BuildStatus.FAILED and ended.duration_seconds == 61
    assert ended.url.endswith(f"/job/mobile/job/ios-release/{number}/") and ended.log_url.endswith(f"/{number}/console")
    assert ended.artifact_url.endswith(f"/{number}/artifact/build/app.ipa")


@pytest.mark.parametrize("result,status", [("SUCCESS", BuildStatus.SUCCESS), ("UNSTABLE", BuildStatus.FAILED),
                                           ("ABORTED", BuildStatus.CANCELLED), ("NOT_BUILT", BuildStatus.FAILED)])
def test_results_map_to_build_statuses(fake, result, status):
    jenkins = client(fake)
    ref = jenkins.trigger(params=PARAMS, idempotency_key="rb-3")
    number = fake.start_build(int(ref.queue_id)).number
    fake.finish_build("mobile/ios-release", number, result)
    assert jenkins.state(ref).status == status


def test_find_locates_a_queued_or_started_build_by_its_key(fake):
    jenkins = client(fake)
    assert jenkins.find("rb-none") is None
    ref = jenkins.trigger(params=PARAMS, idempotency_key="rb-4")
    assert jenkins.find("rb-4") == BuildRef(queue_id=ref.queue_id)
    number = fake.start_build(int(ref.queue_id)).number
    assert jenkins.find("rb-4").build_number == str(number)


def test_stop_cancels_a_queued_build_and_aborts_a_running_one(fake):
    jenkins = client(fake)
    queued = jenkins.trigger(params=PARAMS, idempotency_key="rb-5")
    jenkins.stop(queued)
    assert jenkins.state(queued).status == BuildStatus.CANCELLED
    running = jenkins.trigger(params=PARAMS, idempotency_key="rb-6")
    number = fake.start_build(int(running.queue_id)).number
    jenkins.stop(running)
    assert jenkins.state(BuildRef(build_number=str(number))).status == BuildStatus.CANCELLED


def test_a_job_deleted_since_verification_is_a_404(fake):
    fake.remove_job("mobile/ios-release")
    error = refused(lambda: client(fake).trigger(params=PARAMS, idempotency_key="rb-7"))
    assert error.status == 404 and "deleted since it was verified" in str(error)


def test_a_refused_crumb_or_permission_is_a_403(fake):
    fake.fail(403, "<html>No valid crumb</html>", path="buildWithParameters")
    assert refused(lambda: client(fake).trigger(params=PARAMS, idempotency_key="rb-8")).status == 403
