"""GitHub Actions (github.com or GitHub Enterprise Server) through the REST API: a workflow started
by `workflow_dispatch` → a workflow run → its conclusion; cancel.

jobPath is the workflow's file name (`release.yml`) or numeric id. The repository ("owner/repo") is
not a field of this integration: the caller puts it in `settings["repository"]` from the pipeline's
SCM integration (and may put the branch to read the workflow from in `settings["ref"]`).

The workflow must be startable by `workflow_dispatch` with the inputs RELEASE_VERSION, BRANCH and
RELEASEBOT_KEY, and its `run-name` must show `inputs.RELEASEBOT_KEY`: GitHub keeps a run's inputs out
of its API, so the run's title is the only place the key can be read back to find the run after a
crash (`find`).

Dispatching asks for `return_run_details`; GitHub then answers 200 with the run's id. An older GitHub
Enterprise Server answers 204 without it: the run is then looked up by its key, a few times, since
GitHub lists a dispatched run a few seconds late. If it is still not listed the error is retryable:
the caller runs `find` before it triggers again, so no second run is started.

Conclusions: success → SUCCESS; cancelled → CANCELLED; every other conclusion is FAILED, including
`neutral` and `skipped` — a release needs a build that affirmatively succeeded, and a skipped run
(its jobs' `if:` were false) built nothing.
"""
from __future__ import annotations

import base64
import re
import time
from datetime import datetime
from urllib.parse import quote

import yaml

from core.enums import BuildStatus
from core.errors import IntegrationError
from core.integrations.base import (
    BuildRef,
    BuildState,
    IntegrationConfig,
    ProviderContext,
)
from core.integrations.scm_github import GitHubApi, github_api, is_rate_limited

REQUIRED_INPUTS = ("RELEASE_VERSION", "BRANCH")
KEY_INPUT = "RELEASEBOT_KEY"
RUNNING = ("queued", "requested", "waiting", "pending", "in_progress")
CONCLUSIONS = {"success": BuildStatus.SUCCESS, "cancelled": BuildStatus.CANCELLED}
RECENT_RUNS = 50
RUN_NAME_EXAMPLE = "run-name: Release ${{ inputs.RELEASE_VERSION }} [${{ inputs.RELEASEBOT_KEY }}]"


def _time(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def _carries(title: str, key: str) -> bool:
    """Whether a run title shows `key` as a whole word (rb-1 is not in "[rb-12]")."""
    return re.search(rf"(?<![\w-]){re.escape(key)}(?![\w-])", title) is not None


class GitHubActionsPipeline:
    # How often, and how far apart, a run dispatched without run details is looked for.
    dispatch_tries = 3
    dispatch_wait = 1.0

    def __init__(self, api: GitHubApi, *, full_name: str, workflow: str, ref: str | None):
        self.api, self.full_name, self.workflow, self.ref = api, full_name, workflow, ref
        self.repo = f"repos/{full_name}"
        self.workflow_path = f"{self.repo}/actions/workflows/{quote(workflow, safe='')}"

    # --- verify ----------------------------------------------------------------------------------
    def verify(self) -> None:
        """The token sees the repository and may start workflows; the workflow is active, takes the
        inputs and names its runs after RELEASEBOT_KEY."""
        repo = self.api.json(self.repo, what=f"repository {self.full_name}")
        if not (repo.get("permissions") or {}).get("push"):
            raise IntegrationError(f"the token cannot start workflows in {self.full_name}: it needs write access "
                                   "(Actions: read and write)", status=403)
        workflow = self._workflow()
        if workflow.get("state") != "active":
            raise IntegrationError(
                f"workflow {self.workflow} in {self.full_name} is disabled ({workflow.get('state')}): enable it "
                f"on the repository's Actions tab, or with `gh workflow enable {self.workflow} -R {self.full_name}`")
        ref = self.ref or repo.get("default_branch") or "main"
        self._check_definition(self._file(workflow["path"], ref), workflow["path"], ref)

    def _workflow(self) -> dict:
        response = self.api.get(self.workflow_path)
        if response.status_code == 404:
            raise IntegrationError(f"workflow {self.workflow} does not exist in {self.full_name}", status=404)
        if response.status_code != 200:
            raise self.api.error(response, f"workflow {self.workflow} in {self.full_name}")
        return response.json()

    def _file(self, path: str, ref: str) -> str:
        response = self.api.get(f"{self.repo}/contents/{quote(path, safe='/')}", params={"ref": ref})
        if response.status_code == 404:
            raise IntegrationError(f"{path} is not on branch {ref} of {self.full_name}: the bot reads the "
                                   "workflow from there", status=404)
        if response.status_code != 200:
            raise self.api.error(response, f"{path} in {self.full_name}")
        body = response.json()
        if not isinstance(body, dict) or body.get("encoding") != "base64":
            raise IntegrationError(f"GitHub did not return {path} as a file (too large, or a directory?)")
        return base64.b64decode(body.get("content") or "").decode("utf-8", errors="replace")

    def _check_definition(self, text: str, path: str, ref: str) -> None:
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            line = getattr(getattr(exc, "problem_mark", None), "line", None)
            where = f" (line {line + 1})" if line is not None else ""
            raise IntegrationError(f"{path} on {ref} is not valid YAML{where}: fix the workflow file") from None
        doc = doc if isinstance(doc, dict) else {}
        on = doc.get("on", doc.get(True))  # PyYAML (YAML 1.1) reads the bare key `on` as true
        wanted = (*REQUIRED_INPUTS, KEY_INPUT)
        if on == "workflow_dispatch" or (isinstance(on, list) and "workflow_dispatch" in on):
            declared: dict = {}
        elif isinstance(on, dict) and "workflow_dispatch" in on:
            declared = ((on.get("workflow_dispatch") or {}).get("inputs")) or {}
        else:
            raise IntegrationError(f"workflow {self.workflow} cannot be started by the bot: add a workflow_dispatch "
                                   f"trigger with the inputs {', '.join(wanted)} to {path}")
        missing = [name for name in wanted if name not in declared]
        if missing:
            raise IntegrationError(f"workflow {self.workflow} does not take the inputs {', '.join(missing)}: add them "
                                   f"under on.workflow_dispatch.inputs in {path}")
        if f"inputs.{KEY_INPUT}" not in str(doc.get("run-name") or ""):
            raise IntegrationError(f"workflow {self.workflow}'s run-name must show inputs.{KEY_INPUT} so the bot can "
                                   f"find a run again after a crash; add e.g. `{RUN_NAME_EXAMPLE}` to {path}")

    # --- runs ------------------------------------------------------------------------------------
    def trigger(self, *, params: dict[str, str], idempotency_key: str) -> BuildRef:
        """Dispatch the workflow on params["BRANCH"] with params and the key as inputs."""
        branch = params.get("BRANCH")
        if not branch:
            raise IntegrationError("a GitHub Actions build needs the BRANCH parameter: the workflow runs on it")
        body = {"ref": branch, "inputs": {**params, KEY_INPUT: idempotency_key}, "return_run_details": True}
        response = self.api.post(f"{self.workflow_path}/dispatches", json=body)
        if response.status_code == 200:
            details = response.json()
            return BuildRef(queue_id=str(details["workflow_run_id"]), url=details.get("html_url"))
        if response.status_code == 204:
            return self._dispatched(idempotency_key)
        raise self._dispatch_error(response, branch)

    def _dispatched(self, key: str) -> BuildRef:
        for attempt in range(self.dispatch_tries):
            if attempt:
                time.sleep(self.dispatch_wait)
            found = self.find(key)
            if found is not None:
                return found
        raise IntegrationError(f"GitHub accepted the dispatch but has not listed the run yet (workflow "
                               f"{self.workflow} in {self.full_name})", retryable=True, retry_after=self.dispatch_wait)

    def _dispatch_error(self, response, branch: str) -> IntegrationError:
        status, message = response.status_code, self.api.message(response)
        if status == 404:
            return IntegrationError(f"workflow {self.workflow} does not exist in {self.full_name} (deleted since it "
                                    "was verified?)", status=404)
        if status == 422 and message.startswith("No ref found for"):
            return IntegrationError(f"branch {branch} does not exist in {self.full_name}", status=422)
        if status == 422 and message.startswith("Unexpected inputs provided"):
            names = ", ".join(re.findall(r'"([^"]+)"', message)) or message
            return IntegrationError(f"workflow {self.workflow} does not take the inputs {names}: add them under "
                                    "on.workflow_dispatch.inputs", status=422)
        if status == 422 and "disabled workflow" in message:
            return IntegrationError(f"workflow {self.workflow} in {self.full_name} is disabled: enable it on the "
                                    "repository's Actions tab", status=422)
        if status == 422 and "workflow_dispatch" in message:
            return IntegrationError(f"workflow {self.workflow} cannot be started by the bot: add a workflow_dispatch "
                                    "trigger to it", status=422)
        if status == 403 and not is_rate_limited(response):
            return IntegrationError(f"GitHub refused to start workflow {self.workflow} in {self.full_name}: {message}; "
                                    "the token needs Actions: read and write (403)", status=403)
        return self.api.error(response, f"workflow {self.workflow} in {self.full_name}")

    def find(self, idempotency_key: str) -> BuildRef | None:
        """The recent dispatched run whose title carries this key."""
        response = self.api.get(f"{self.workflow_path}/runs", params={"event": "workflow_dispatch",
                                                                      "per_page": RECENT_RUNS})
        if response.status_code == 404:
            raise IntegrationError(f"workflow {self.workflow} does not exist in {self.full_name}", status=404)
        if response.status_code != 200:
            raise self.api.error(response, f"workflow {self.workflow} in {self.full_name}")
        for run in response.json().get("workflow_runs") or []:
            if _carries(str(run.get("display_title") or run.get("name") or ""), idempotency_key):
                return BuildRef(queue_id=str(run["id"]), build_number=str(run.get("run_number")),
                                url=run.get("html_url"))
        return None

    def state(self, ref: BuildRef) -> BuildState:
        """Queued or running is RUNNING; then the conclusion, duration and whether it left artifacts."""
        run_id = self._run_id(ref)
        response = self.api.get(f"{self.repo}/actions/runs/{run_id}")
        if response.status_code == 404:
            raise IntegrationError(f"run {run_id} no longer exists in {self.full_name}", status=404)
        if response.status_code != 200:
            raise self.api.error(response, f"run {run_id} in {self.full_name}")
        run = response.json()
        url = run.get("html_url")
        number = str(run["run_number"]) if run.get("run_number") is not None else None
        if run.get("status") != "completed":
            return BuildState(BuildStatus.RUNNING, build_number=number, url=url, log_url=url)
        started, ended = _time(run.get("run_started_at")), _time(run.get("updated_at"))
        duration = (ended - started).total_seconds() if started and ended else None
        return BuildState(CONCLUSIONS.get(run.get("conclusion"), BuildStatus.FAILED), build_number=number, url=url,
                          log_url=url, artifact_url=f"{url}#artifacts" if url and self._has_artifacts(run_id) else None,
                          duration_seconds=duration)

    def _has_artifacts(self, run_id: str) -> bool:
        response = self.api.get(f"{self.repo}/actions/runs/{run_id}/artifacts", params={"per_page": 1})
        if response.status_code != 200:
            raise self.api.error(response, f"the artifacts of run {run_id} in {self.full_name}")
        return (response.json().get("total_count") or 0) > 0

    def stop(self, ref: BuildRef) -> None:
        """Ask GitHub to cancel the run (it stops a few seconds later)."""
        run_id = self._run_id(ref)
        response = self.api.post(f"{self.repo}/actions/runs/{run_id}/cancel")
        if response.status_code == 202:
            return
        if response.status_code == 409:
            raise IntegrationError(f"the run has already finished: GitHub cannot cancel run {run_id} in "
                                   f"{self.full_name} (409)", status=409)
        if response.status_code == 404:
            raise IntegrationError(f"run {run_id} no longer exists in {self.full_name}", status=404)
        raise self.api.error(response, f"run {run_id} in {self.full_name}")

    def _run_id(self, ref: BuildRef) -> str:
        if not ref.queue_id or not str(ref.queue_id).isdigit():
            raise IntegrationError("this build has no GitHub run id: find it again by its key")
        return str(ref.queue_id)


def build(config: IntegrationConfig, ctx: ProviderContext) -> GitHubActionsPipeline:
    """The client of a GitHub Actions pipeline; settings["repository"] comes from its SCM integration."""
    token = (config.secrets.get("token") or "").strip()
    if not token:
        raise IntegrationError("the GitHub Actions integration needs a token")
    workflow = str(config.fields.get("jobPath") or "").strip().strip("/")
    if not workflow:
        raise IntegrationError("the GitHub Actions integration needs the workflow's file name (e.g. release.yml) "
                               "as its job path")
    workflow = workflow.rsplit("/", 1)[-1]  # ".github/workflows/release.yml" → "release.yml"
    repository = str(config.settings.get("repository") or "").strip().strip("/")
    if repository.count("/") != 1:
        raise IntegrationError("the GitHub Actions integration needs its repository as owner/repo: it is taken "
                               "from the pipeline's SCM integration, which must be a GitHub one")
    return GitHubActionsPipeline(github_api(config, ctx, token), full_name=repository, workflow=workflow,
                                 ref=config.settings.get("ref") or None)
