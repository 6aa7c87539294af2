"""The GitHub Actions client (our module + HttpClient/requests) against the fake GitHub API over loopback."""
from __future__ import annotations

import time

import pytest

from core.enums import BuildStatus, IntegrationKind
from core.errors import IntegrationError
from core.integrations.base import BuildRef, IntegrationConfig, ProviderContext
from core.integrations.registry import build_client
from tests.fakes.github import FakeGitHub

TOKEN = "ghp_s3cr3tActionsT0ken0123456789abcdef"
PARAMS = {"RELEASE_VERSION": "1.5.0", "BRANCH": "release/1.5.0"}


@pytest.fixture
def github():
    fake = FakeGitHub()
    fake.add_token(TOKEN, "releasebot")
    repo = fake.add_repo("acme/app")
    fake.add_branch(repo, "release/1.5.0")
    fake.grant("acme/app", "releasebot", "push")
    fake.add_workflow(repo, "release.yml")
    with fake:
        yield fake


def client(fake: FakeGitHub, *, token: str = TOKEN, workflow: str = "release.yml", repository: str | None = "acme/app",
           ref: str | None = None, timeout: float = 5.0, prefix: str = ""):
    settings = {k: v for k, v in {"repository": repository, "ref": ref}.items() if v is not None}
    config = IntegrationConfig(id="p-1", provider="GITHUB_ACTIONS", display_name="Actions", base_url=f"{fake.url}{prefix}",
                               fields={"scmIntegrationId": "s-1", "targetIntegrationId": "t-1", "jobPath": workflow},
                               settings=settings, secrets={"token": token})
    pipeline = build_client(IntegrationKind.PIPELINE, config, ProviderContext(allow_private_networks=True, timeout=timeout))
    pipeline.dispatch_wait = 0.05
    return pipeline


def failure(action) -> IntegrationError:
    with pytest.raises(IntegrationError) as caught:
        action()
    assert TOKEN not in str(caught.value) and "s3cr3t" not in repr(caught.value.args)
    return caught.value


def workflow_yaml(*, inputs=("RELEASE_VERSION", "BRANCH", "RELEASEBOT_KEY"),
                  run_name: str | None = "Release ${{ inputs.RELEASE_VERSION }} [${{ inputs.RELEASEBOT_KEY }}]",
                  on_key: str = "on") -> str:
    lines = ["name: Release"] + ([f"run-name: {run_name}"] if run_name else []) + [f"{on_key}:", "  workflow_dispatch:"]
    if inputs:
        lines.append("    inputs:")
        lines += [f"      {name}:\n        required: false" for name in inputs]
    return "\n".join(lines + ["jobs:", "  build:", "    runs-on: ubuntu-latest", "    steps: [{run: echo}]", ""])


# --- verify ----------------------------------------------------------------------------------------

def test_verify_reads_the_repository_the_workflow_and_its_file_on_the_default_branch(github):
    client(github).verify()
    assert github.calls("GET", r"^/repos/acme/app/actions/workflows/release\.yml$")
    [content] = github.calls("GET", r"/contents/\.github/workflows/release\.yml$")
    assert content.query == {"ref": ["main"]}
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" and r.headers["X-GitHub-Api-Version"] == "2022-11-28"
               and r.headers["Accept"] == "application/vnd.github+json" for r in github.requests)


def test_verify_reads_the_workflow_from_the_ref_setting(github):
    github.add_branch("acme/app", "ci")
    client(github, ref="ci").verify()
    assert github.calls("GET", "/contents/")[0].query == {"ref": ["ci"]}


def test_the_workflow_can_be_named_by_its_numeric_id(github):
    [workflow] = github.repo("acme/app").workflows.values()
    pipeline = client(github, workflow=str(workflow.id))
    pipeline.verify()
    assert pipeline.trigger(params=PARAMS, idempotency_key="rb-id").queue_id


def test_github_enterprise_is_served_under_api_v3():
    fake = FakeGitHub(prefix="/api/v3")
    fake.add_token(TOKEN)
    repo = fake.add_repo("acme/app")
    fake.add_branch(repo, "release/1.5.0")
    fake.grant("acme/app", "releasebot", "push")
    fake.add_workflow(repo, "release.yml")
    with fake:
        pipeline = client(fake, prefix="/api/v3")
        pipeline.verify()
        ref = pipeline.trigger(params=PARAMS, idempotency_key="rb-ghe")
        assert fake.calls("POST", r"^/api/v3/repos/acme/app/actions/workflows/release\.yml/dispatches$")
        assert pipeline.state(ref).status == BuildStatus.RUNNING


def test_a_wrong_token_is_rejected(github):
    error = failure(client(github, token="ghp_wrong").verify)
    assert (str(error), error.status) == ("GitHub rejected the token (401)", 401)


def test_a_repository_the_token_cannot_see_is_named(github):
    github.add_repo("acme/secret")
    error = failure(client(github, repository="acme/secret").verify)
    assert str(error) == "repository acme/secret does not exist or the token cannot see it (404)"


def test_read_access_cannot_start_workflows(github):
    github.grant("acme/app", "releasebot", "pull")
    error = failure(client(github).verify)
    assert str(error) == "the token cannot start workflows in acme/app: it needs write access (Actions: read and write)"


def test_a_missing_workflow_is_named(github):
    error = failure(client(github, workflow="deploy.yml").verify)
    assert (str(error), error.status) == ("workflow deploy.yml does not exist in acme/app", 404)


def test_a_disabled_workflow_says_how_to_enable_it(github):
    github.add_workflow("acme/app", "old.yml", state="disabled_manually")
    error = failure(client(github, workflow="old.yml").verify)
    assert str(error) == ("workflow old.yml in acme/app is disabled (disabled_manually): enable it on the repository's "
                          "Actions tab, or with `gh workflow enable old.yml -R acme/app`")


def test_a_workflow_file_missing_from_the_branch_is_named(github):
    client_ = client(github, ref="nope")
    error = failure(client_.verify)
    assert str(error) == ".github/workflows/release.yml is not on branch nope of acme/app: the bot reads the workflow from there"


def test_missing_inputs_are_named(github):
    github.add_workflow("acme/app", "partial.yml", yaml_text=workflow_yaml(inputs=("RELEASE_VERSION",)))
    error = failure(client(github, workflow="partial.yml").verify)
    assert str(error) == ("workflow partial.yml does not take the inputs BRANCH, RELEASEBOT_KEY: add them under "
                          "on.workflow_dispatch.inputs in .github/workflows/partial.yml")


def test_a_workflow_without_workflow_dispatch_is_refused(github):
    github.add_workflow("acme/app", "ci.yml", yaml_text="name: CI\non: [push, pull_request]\njobs: {}\n")
    error = failure(client(github, workflow="ci.yml").verify)
    assert "cannot be started by the bot: add a workflow_dispatch trigger" in str(error)


def test_a_quoted_on_key_is_read_as_well_as_the_bare_one(github):
    github.add_workflow("acme/app", "quoted.yml", yaml_text=workflow_yaml(on_key='"on"'))
    client(github, workflow="quoted.yml").verify()
    github.add_workflow("acme/app", "bare.yml", yaml_text=workflow_yaml(inputs=()))
    assert "does not take the inputs RELEASE_VERSION, BRANCH, RELEASEBOT_KEY" in str(
        failure(client(github, workflow="bare.yml").verify))


def test_a_run_name_without_the_key_is_refused_with_an_example(github):
    github.add_workflow("acme/app", "plain.yml", yaml_text=workflow_yaml(run_name="Release ${{ inputs.RELEASE_VERSION }}"))
    error = failure(client(github, workflow="plain.yml").verify)
    assert "run-name must show inputs.RELEASEBOT_KEY so the bot can find a run again after a crash" in str(error)
    assert "run-name: Release ${{ inputs.RELEASE_VERSION }} [${{ inputs.RELEASEBOT_KEY }}]" in str(error)


def test_invalid_yaml_is_reported_with_its_line(github):
    github.add_workflow("acme/app", "broken.yml", yaml_text="name: x\non:\n  workflow_dispatch:\n   - [unclosed\n")
    error = failure(client(github, workflow="broken.yml").verify)
    assert str(error).startswith(".github/workflows/broken.yml on main is not valid YAML (line")


def test_a_missing_repository_setting_is_a_clear_configuration_error(github):
    error = failure(lambda: client(github, repository=None))
    assert "needs its repository as owner/repo" in str(error)


# --- trigger and find ------------------------------------------------------------------------------

def test_trigger_dispatches_on_the_branch_with_the_inputs_and_gets_the_run_back(github):
    ref = client(github).trigger(params=PARAMS, idempotency_key="rb-1")
    [run] = github.runs_with("rb-1")
    assert ref == BuildRef(queue_id=str(run.id), url=f"{github.url}/acme/app/actions/runs/{run.id}")
    assert run.branch == "release/1.5.0" and run.inputs == {**PARAMS, "RELEASEBOT_KEY": "rb-1"}
    assert run.display_title == "Release 1.5.0 [rb-1]"
    [post] = github.calls("POST", "/dispatches$")
    assert post.json() == {"ref": "release/1.5.0", "inputs": {**PARAMS, "RELEASEBOT_KEY": "rb-1"},
                           "return_run_details": True}
    assert not github.calls("GET", "/runs$")  # the 200 answer is enough


def test_an_older_ghes_answering_204_is_followed_by_a_lookup(github):
    github.supports_run_details = False
    ref = client(github).trigger(params=PARAMS, idempotency_key="rb-2")
    [run] = github.runs_with("rb-2")
    assert ref == BuildRef(queue_id=str(run.id), build_number=str(run.run_number),
                           url=f"{github.url}/acme/app/actions/runs/{run.id}")
    [lookup] = github.calls("GET", "/runs$")
    assert lookup.query == {"event": ["workflow_dispatch"], "per_page": ["50"]}


def test_a_run_listed_late_is_looked_for_again(github):
    github.supports_run_details, github.list_lag = False, 2
    ref = client(github).trigger(params=PARAMS, idempotency_key="rb-3")
    assert ref.queue_id == str(github.runs_with("rb-3")[0].id)
    assert len(github.calls("GET", "/runs$")) == 3


def test_a_run_never_listed_is_a_retryable_error_and_find_then_finds_it(github):
    github.supports_run_details, github.list_lag = False, 10
    pipeline = client(github)
    error = failure(lambda: pipeline.trigger(params=PARAMS, idempotency_key="rb-4"))
    assert error.retryable and str(error).startswith("GitHub accepted the dispatch but has not listed the run yet")
    assert len(github.calls("GET", "/runs$")) == 3 and len(github.runs_with("rb-4")) == 1
    github.list_lag = 0
    for run in github.all_runs():
        run.hidden_for = 0
    assert pipeline.find("rb-4").queue_id == str(github.runs_with("rb-4")[0].id)


def test_find_locates_a_run_after_a_crash_by_its_key_and_not_a_longer_one(github):
    pipeline = client(github)
    assert pipeline.find("rb-5") is None
    pipeline.trigger(params=PARAMS, idempotency_key="rb-50")
    assert pipeline.find("rb-5") is None
    pipeline.trigger(params=PARAMS, idempotency_key="rb-5")
    [run] = github.runs_with("rb-5")
    assert pipeline.find("rb-5") == BuildRef(queue_id=str(run.id), build_number="2",
                                             url=f"{github.url}/acme/app/actions/runs/{run.id}")


def test_find_reads_the_key_from_the_workflow_name_when_there_is_no_display_title(github):
    github.fail(200, {"total_count": 1, "workflow_runs": [{"id": 77, "run_number": 3, "name": "Release [rb-6]",
                                                           "html_url": "https://github.com/acme/app/actions/runs/77"}]},
                path="/runs$")
    assert client(github).find("rb-6") == BuildRef(queue_id="77", build_number="3",
                                                   url="https://github.com/acme/app/actions/runs/77")


def test_a_missing_branch_on_dispatch_is_named(github):
    error = failure(lambda: client(github).trigger(params={**PARAMS, "BRANCH": "release/9.9"}, idempotency_key="rb-7"))
    assert (str(error), error.status, error.retryable) == ("branch release/9.9 does not exist in acme/app", 422, False)
    assert github.all_runs() == []


def test_undeclared_inputs_are_named_on_dispatch(github):
    github.repo("acme/app").files[".github/workflows/release.yml"] = workflow_yaml(inputs=("RELEASE_VERSION", "BRANCH"))
    error = failure(lambda: client(github).trigger(params=PARAMS, idempotency_key="rb-8"))
    assert str(error) == ("workflow release.yml does not take the inputs RELEASEBOT_KEY: add them under "
                          "on.workflow_dispatch.inputs")


def test_a_workflow_disabled_since_verification_is_named_on_dispatch(github):
    next(iter(github.repo("acme/app").workflows.values())).state = "disabled_manually"
    error = failure(lambda: client(github).trigger(params=PARAMS, idempotency_key="rb-9"))
    assert str(error).startswith("workflow release.yml in acme/app is disabled")


def test_a_workflow_deleted_since_verification_is_a_404(github):
    github.repo("acme/app").workflows.clear()
    error = failure(lambda: client(github).trigger(params=PARAMS, idempotency_key="rb-10"))
    assert error.status == 404 and "deleted since it was verified" in str(error)


def test_a_token_that_cannot_write_actions_is_told_so_on_dispatch(github):
    github.add_token("github_pat_ro", fine_grained=True, actions="read")
    error = failure(lambda: client(github, token="github_pat_ro").trigger(params=PARAMS, idempotency_key="rb-11"))
    assert error.status == 403 and "the token needs Actions: read and write" in str(error)


# --- state -----------------------------------------------------------------------------------------

def test_a_run_is_followed_from_queued_to_its_conclusion(github):
    pipeline = client(github)
    ref = pipeline.trigger(params=PARAMS, idempotency_key="rb-12")
    queued = pipeline.state(ref)
    html = f"{github.url}/acme/app/actions/runs/{ref.queue_id}"
    assert (queued.status, queued.build_number, queued.url, queued.log_url) == (BuildStatus.RUNNING, "1", html, html)
    assert queued.duration_seconds is None and queued.artifact_url is None
    github.start_run(int(ref.queue_id))
    assert pipeline.state(ref).status == BuildStatus.RUNNING
    assert not github.calls("GET", "/artifacts$")  # not asked before the run completes
    github.finish_run(int(ref.queue_id), "success", artifacts=["app-release"], duration_seconds=61)
    ended = pipeline.state(ref)
    assert (ended.status, ended.duration_seconds, ended.artifact_url) == (BuildStatus.SUCCESS, 61, f"{html}#artifacts")


def test_a_run_without_artifacts_has_no_artifact_url(github):
    pipeline = client(github)
    ref = pipeline.trigger(params=PARAMS, idempotency_key="rb-13")
    github.finish_run(int(ref.queue_id), "success", artifacts=[])
    state = pipeline.state(ref)
    assert state.status == BuildStatus.SUCCESS and state.artifact_url is None
    assert github.calls("GET", "/artifacts$")


@pytest.mark.parametrize("conclusion,status", [
    ("success", BuildStatus.SUCCESS), ("cancelled", BuildStatus.CANCELLED), ("failure", BuildStatus.FAILED),
    ("timed_out", BuildStatus.FAILED), ("startup_failure", BuildStatus.FAILED),
    ("action_required", BuildStatus.FAILED), ("stale", BuildStatus.FAILED), ("neutral", BuildStatus.FAILED),
    ("skipped", BuildStatus.FAILED)])
def test_conclusions_map_to_build_statuses(github, conclusion, status):
    pipeline = client(github)
    ref = pipeline.trigger(params=PARAMS, idempotency_key="rb-14")
    github.start_run(int(ref.queue_id))
    github.finish_run(int(ref.queue_id), conclusion)
    assert pipeline.state(ref).status == status


@pytest.mark.parametrize("raw", ["requested", "waiting", "pending", "in_progress", "queued"])
def test_every_unfinished_status_is_running(github, raw):
    pipeline = client(github)
    ref = pipeline.trigger(params=PARAMS, idempotency_key="rb-15")
    github.runs_with("rb-15")[0].status = raw
    assert pipeline.state(ref).status == BuildStatus.RUNNING


def test_the_fake_advances_runs_by_itself_when_asked(github):
    github.start_after_polls, github.finish_after_polls, github.auto_conclusion = 2, 1, "failure"
    pipeline = client(github)
    ref = pipeline.trigger(params=PARAMS, idempotency_key="rb-16")
    seen = [pipeline.state(ref).status for _ in range(3)]
    assert seen == [BuildStatus.RUNNING, BuildStatus.RUNNING, BuildStatus.FAILED]
    assert github.runs_with("rb-16")[0].conclusion == "failure"


def test_a_deleted_run_is_a_404(github):
    error = failure(lambda: client(github).state(BuildRef(queue_id="424242")))
    assert (str(error), error.status) == ("run 424242 no longer exists in acme/app", 404)


# --- stop ------------------------------------------------------------------------------------------

def test_stop_cancels_the_run(github):
    pipeline = client(github)
    ref = pipeline.trigger(params=PARAMS, idempotency_key="rb-17")
    github.start_run(int(ref.queue_id))
    pipeline.stop(ref)
    assert github.calls("POST", rf"/actions/runs/{ref.queue_id}/cancel$")
    assert pipeline.state(ref).status == BuildStatus.CANCELLED


def test_stopping_a_finished_run_is_a_409(github):
    pipeline = client(github)
    ref = pipeline.trigger(params=PARAMS, idempotency_key="rb-18")
    github.finish_run(int(ref.queue_id), "success")
    error = failure(lambda: pipeline.stop(ref))
    assert str(error).startswith("the run has already finished") and error.status == 409
    assert github.runs_with("rb-18")[0].conclusion == "success"


# --- transport -------------------------------------------------------------------------------------

def test_rate_limiting_with_retry_after_is_honoured_then_retryable(github):
    github.secondary_limit(times=1, retry_after=1)
    started = time.monotonic()
    client(github).verify()
    assert time.monotonic() - started >= 1
    github.exhaust_rate_limit(reset_in=30, status=429)
    before = len(github.calls())
    error = failure(lambda: client(github).find("rb-x"))
    assert error.retryable and error.status == 429 and 20 <= error.retry_after <= 30
    assert len(github.calls()) == before + 1  # no backoff wasted on an exhausted hourly limit


def test_a_github_that_is_gone_is_unreachable(github):
    pipeline = client(github)
    github.stop()
    error = failure(lambda: pipeline.trigger(params=PARAMS, idempotency_key="rb-19"))
    assert str(error).startswith("cannot reach GitHub at http://127.0.0.1:") and error.retryable


def test_a_github_that_does_not_answer_in_time_times_out(github):
    github.delay = 1
    error = failure(lambda: client(github, timeout=0.2).state(BuildRef(queue_id="1")))
    assert "did not answer in time" in str(error) and error.retryable


def test_a_server_error_during_state_is_reported(github):
    github.fail(502, "<html>bad gateway</html>", path="/actions/runs/")
    error = failure(lambda: client(github).state(BuildRef(queue_id="1")))
    assert (str(error), error.status, error.retryable) == ("GitHub failed (502)", 502, True)


def test_the_token_never_appears_in_any_error(github):
    github.fail(422, {"message": f"No ref found for: {TOKEN}"}, path="/dispatches$")
    error = failure(lambda: client(github).trigger(params={**PARAMS, "BRANCH": "x"}, idempotency_key="rb-20"))
    assert str(error) == "branch x does not exist in acme/app"
    github.fail(403, {"message": f"bad {TOKEN}"}, path="/dispatches$")
    error = failure(lambda: client(github).trigger(params=PARAMS, idempotency_key="rb-21"))
    assert "bad [token]" in str(error)


def test_an_incomplete_configuration_is_refused():
    config = IntegrationConfig(id="p", provider="GITHUB_ACTIONS", display_name="Actions", base_url=None,
                               fields={"jobPath": ""}, settings={"repository": "acme/app"}, secrets={"token": TOKEN})
    error = failure(lambda: build_client(IntegrationKind.PIPELINE, config, ProviderContext()))
    assert "needs the workflow's file name" in str(error)
