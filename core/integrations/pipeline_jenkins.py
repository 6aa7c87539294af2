"""Jenkins through python-jenkins: credentials, the job (folders included) and its parameters;
trigger with parameters → queue item → build → result; stop.

The job must take RELEASE_VERSION and BRANCH; each trigger also passes RELEASEBOT_KEY (add it as a
string parameter too, or Jenkins drops it) so a build can be found again after a crash."""
from __future__ import annotations

import re

import jenkins
import requests

from core.enums import BuildStatus
from core.errors import IntegrationError
from core.integrations.base import BuildRef, BuildState, IntegrationConfig, ProviderContext
from core.integrations.http import _origin, check_url, guard_session

REQUIRED_PARAMETERS = ("RELEASE_VERSION", "BRANCH")
KEY_PARAMETER = "RELEASEBOT_KEY"
RESULTS = {"SUCCESS": BuildStatus.SUCCESS, "FAILURE": BuildStatus.FAILED, "UNSTABLE": BuildStatus.FAILED,
           "NOT_BUILT": BuildStatus.FAILED, "ABORTED": BuildStatus.CANCELLED}
RECENT_BUILDS = 25


def _parameters(actions: list[dict] | None) -> dict[str, str]:
    """Parameter name → value from a build's or queue item's actions."""
    found = {}
    for action in actions or []:
        for p in (action or {}).get("parameters") or []:
            found[p.get("name")] = p.get("value")
    return found


class JenkinsPipeline:
    def __init__(self, config: IntegrationConfig, ctx: ProviderContext):
        if not config.base_url:
            raise IntegrationError("Jenkins needs its server URL")
        check_url(config.base_url, ctx.guard)
        self.origin = _origin(config.base_url)
        self.job = str(config.fields["jobPath"]).strip("/")
        self.server = jenkins.Jenkins(config.base_url, username=config.secrets.get("username"),
                                      password=config.secrets.get("apiToken"), timeout=ctx.timeout)
        # python-jenkins sends everything through this session: pin its connections, check its redirects.
        guard_session(self.server._session, ctx.guard, service="Jenkins", origin=self.origin)

    def _call(self, fn, *args, missing: str | None = None, **kwargs):
        """Call python-jenkins, turning its errors into ours (never echoing the token)."""
        try:
            return fn(*args, **kwargs)
        except jenkins.NotFoundException:
            raise IntegrationError(missing or f"Jenkins at {self.origin} has no such item", status=404) from None
        except jenkins.TimeoutException:
            raise IntegrationError(f"Jenkins at {self.origin} did not answer in time", retryable=True) from None
        except jenkins.JenkinsException as exc:
            if "does not exist" in str(exc):  # python-jenkins' own word for a 404 on some calls
                raise IntegrationError(missing or f"Jenkins at {self.origin} has no such item", status=404) from None
            raise self._refused(str(exc)) from None
        except requests.HTTPError as exc:
            status = exc.response.status_code
            raise IntegrationError(f"Jenkins at {self.origin} failed ({status})", status=status,
                                   retryable=status in (429, 502, 503, 504)) from None
        except (requests.ConnectionError, requests.Timeout):
            raise IntegrationError(f"cannot reach Jenkins at {self.origin}", retryable=True) from None

    def _refused(self, message: str) -> IntegrationError:
        match = re.search(r"\[(\d{3})\]", message)
        status = int(match.group(1)) if match else None
        text = {401: "Jenkins rejected the username or API token (401)",
                403: "Jenkins refused: the user lacks a permission, or the crumb was refused (403)",
                500: f"Jenkins at {self.origin} failed (500)"}.get(status, f"Jenkins at {self.origin} refused the request")
        return IntegrationError(text, status=status, retryable=status == 500)

    def verify(self) -> None:
        """The credentials work, the job exists and takes RELEASE_VERSION and BRANCH."""
        self._call(self.server.get_whoami)
        info = self._call(self.server.get_job_info, self.job, missing=f"job {self.job} does not exist")
        defined = {d.get("name") for prop in info.get("property") or [] for d in prop.get("parameterDefinitions") or []}
        lacking = [p for p in (*REQUIRED_PARAMETERS, KEY_PARAMETER) if p not in defined]
        if lacking:
            raise IntegrationError(f"job {self.job} does not take the parameters {', '.join(lacking)}: "
                                   "add them as string parameters")

    def trigger(self, *, params: dict[str, str], idempotency_key: str) -> BuildRef:
        """Queue a build; the queue item is the handle until Jenkins starts it."""
        queue_id = self._call(self.server.build_job, self.job, {**params, KEY_PARAMETER: idempotency_key},
                              missing=f"job {self.job} does not exist (deleted since it was verified?)")
        return BuildRef(queue_id=str(queue_id))

    def state(self, ref: BuildRef) -> BuildState:
        """Queued or building is RUNNING; then the result, duration, log and first artifact."""
        number = ref.build_number
        if number is None:
            item = self._call(self.server.get_queue_item, int(ref.queue_id), missing="the queued build is gone")
            if item.get("cancelled"):
                return BuildState(BuildStatus.CANCELLED)
            number = (item.get("executable") or {}).get("number")
            if number is None:
                return BuildState(BuildStatus.RUNNING)
        info = self._call(self.server.get_build_info, self.job, int(number),
                          missing=f"build #{number} of {self.job} does not exist")
        url = info.get("url")
        artifacts = info.get("artifacts") or []
        status = BuildStatus.RUNNING if info.get("building") else RESULTS.get(info.get("result"), BuildStatus.FAILED)
        return BuildState(status, build_number=str(number), url=url, log_url=f"{url}console" if url else None,
                          artifact_url=f"{url}artifact/{artifacts[0]['relativePath']}" if url and artifacts else None,
                          duration_seconds=(info.get("duration") or 0) / 1000 if not info.get("building") else None)

    def find(self, idempotency_key: str) -> BuildRef | None:
        """The queued or recent build that carries this key."""
        for item in self._call(self.server.get_queue_info) or []:
            if _parameters(item.get("actions")).get(KEY_PARAMETER) == idempotency_key:
                return BuildRef(queue_id=str(item["id"]))
        info = self._call(self.server.get_job_info, self.job, 1, missing=f"job {self.job} does not exist")
        for build in (info.get("builds") or [])[:RECENT_BUILDS]:
            if _parameters(build.get("actions")).get(KEY_PARAMETER) == idempotency_key:
                return BuildRef(build_number=str(build["number"]), url=build.get("url"))
        return None

    def stop(self, ref: BuildRef) -> None:
        """Stop the build, or take it off the queue."""
        if ref.build_number is None:
            state = self.state(ref)
            if state.build_number is None:
                self._call(self.server.cancel_queue, int(ref.queue_id))
                return
            ref = BuildRef(build_number=state.build_number)
        self._call(self.server.stop_build, self.job, int(ref.build_number))


def build(config: IntegrationConfig, ctx: ProviderContext) -> JenkinsPipeline:
    return JenkinsPipeline(config, ctx)
