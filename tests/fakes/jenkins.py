"""A fake Jenkins: basic auth with API tokens, the crumb issuer, folders (/job/a/job/b/), jobs with
parameter definitions, buildWithParameters → 201 + `Location: …/queue/item/N/`, queue items that
are WaitingItems until started and then carry `executable`, builds with building/result/duration/
artifacts, stop and queue cancel, and `X-Jenkins` on every answer — as the real one and as
python-jenkins expects them (its paths are read from jenkins/__init__.py)."""
from __future__ import annotations

import base64
import itertools
import re
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from tests.fakes.base import FakeServer, Request, Response

VERSION = "2.452.2"
RELEASE_JOB = "mobile/ios-release"  # the job most tests use
JOB_PATH = r"((?:/job/[^/]+)+)"


@dataclass
class Build:
    number: int
    parameters: dict[str, str]
    building: bool = True
    result: str | None = None
    duration_ms: int = 0
    artifacts: list[str] = field(default_factory=list)
    polls: int = 0


@dataclass
class Job:
    name: str
    parameters: tuple[str, ...]
    builds: dict[int, Build] = field(default_factory=dict)
    next_number: int = 1


@dataclass
class QueueItem:
    id: int
    job: str
    parameters: dict[str, str]
    cancelled: bool = False
    build: int | None = None
    polls: int = 0


def _page(status: int, title: str) -> Response:
    return Response(status, f"<html><head><title>{title}</title></head><body><h2>{title}</h2></body></html>",
                    {"Content-Type": "text/html;charset=utf-8"})


class FakeJenkins(FakeServer):
    name = "jenkins"

    def __init__(self, *, users: dict[str, str] | None = None):
        self.users = dict(users or {"releasebot": "jenkins-api-token"})
        self.jobs: dict[str, Job] = {}
        self.queue: dict[int, QueueItem] = {}
        self.crumb = "c0ffee"
        self._ids = itertools.count(101)
        # Auto-advance (benchmarks, end-to-end tests): start a queued build after this many polls of
        # its queue item, finish it after this many polls of the build.
        self.start_after_polls: int | None = None
        self.finish_after_polls: int | None = None
        self.auto_result = "SUCCESS"
        super().__init__()

    # --- test helpers ----------------------------------------------------------------------
    def add_job(self, full_name: str, parameters=("RELEASE_VERSION", "BRANCH", "RELEASEBOT_KEY")) -> Job:
        job = Job(full_name, tuple(parameters))
        self.jobs[full_name] = job
        return job

    def remove_job(self, full_name: str) -> None:
        self.jobs.pop(full_name, None)

    def start_build(self, queue_id: int) -> Build:
        """Jenkins takes the queue item onto an executor."""
        with self.lock:
            item = self.queue[queue_id]
            job = self.jobs[item.job]
            build = Build(job.next_number, item.parameters)
            job.builds[build.number] = build
            job.next_number += 1
            item.build = build.number
            return build

    def finish_build(self, job_name: str, number: int, result: str = "SUCCESS", *, duration_ms: int = 93_000,
                     artifacts: list[str] | None = None) -> None:
        with self.lock:
            build = self.jobs[job_name].builds[number]
            build.building, build.result, build.duration_ms = False, result, duration_ms
            build.artifacts = artifacts if artifacts is not None else ["build/app.ipa"]

    def purge_left_items(self) -> None:
        """Jenkins forgets a queue item about five minutes after its build started: its URL answers 404."""
        with self.lock:
            for item_id in [i.id for i in self.queue.values() if i.build is not None or i.cancelled]:
                del self.queue[item_id]

    def builds_with(self, key: str) -> list[Build]:
        """Every build started with this RELEASEBOT_KEY, in any job."""
        return [b for j in self.jobs.values() for b in j.builds.values() if b.parameters.get("RELEASEBOT_KEY") == key]

    def all_builds(self) -> list[Build]:
        return [b for j in self.jobs.values() for b in j.builds.values()]

    # --- routes ----------------------------------------------------------------------------
    def setup_routes(self) -> None:
        self.route("GET", "/", self._root)
        self.route("GET", "/crumbIssuer/api/json", self._crumb)
        self.route("GET", "/me/api/json", self._me)
        self.route("GET", "/queue/api/json", self._queue)
        self.route("GET", r"/queue/item/(\d+)/api/json", self._queue_item)
        self.route("POST", "/queue/cancelItem", self._cancel)
        self.route("GET", JOB_PATH + "/api/json", self._job)
        self.route("POST", JOB_PATH + "/buildWithParameters", self._build_with_parameters)
        self.route("GET", JOB_PATH + r"/(\d+)/api/json", self._build_info)
        self.route("POST", JOB_PATH + r"/(\d+)/stop", self._stop)
        self.route("GET", JOB_PATH + r"/(\d+)/", self._build_page)

    def _route(self, request: Request) -> Response:
        user = self._user(request)
        if user is None:
            response = _page(401, "Unauthorized")
            response.headers["WWW-Authenticate"] = 'Basic realm="Jenkins"'
        elif request.method == "POST" and request.headers.get("Jenkins-Crumb") != self.crumb:
            response = _page(403, "No valid crumb was included in the request")
        else:
            response = super()._route(request)
        response.headers.setdefault("X-Jenkins", VERSION)
        return response

    def not_found(self, request: Request) -> Response:
        return _page(404, "Not Found")

    def _user(self, request: Request) -> str | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        user, _, token = base64.b64decode(header[6:]).decode().partition(":")
        return user if self.users.get(user) == token else None

    def _job_of(self, path: str) -> Job | None:
        return self.jobs.get("/".join(re.findall(r"/job/([^/]+)", path)))

    def _job_url(self, job: Job) -> str:
        return self.url + "".join(f"/job/{part}" for part in job.name.split("/")) + "/"

    def _root(self, request, match):
        return Response(200, "<html>Dashboard [Jenkins]</html>", {"Content-Type": "text/html"})

    def _crumb(self, request, match):
        return Response(200, {"_class": "hudson.security.csrf.DefaultCrumbIssuer", "crumb": self.crumb,
                              "crumbRequestField": "Jenkins-Crumb"})

    def _me(self, request, match):
        user = self._user(request)
        return Response(200, {"_class": "hudson.model.User", "id": user, "fullName": user.title()})

    def _item_json(self, item: QueueItem) -> dict:
        job = self.jobs.get(item.job)
        body = {"id": item.id, "task": {"name": item.job.rsplit("/", 1)[-1], "url": self._job_url(job) if job else None},
                "actions": [{"_class": "hudson.model.ParametersAction",
                             "parameters": [{"name": k, "value": v} for k, v in item.parameters.items()]}],
                "cancelled": item.cancelled, "inQueueSince": int(time.time() * 1000)}
        if item.build is not None:
            body.update(_class="hudson.model.Queue$LeftItem",
                        executable={"_class": "hudson.model.FreeStyleBuild", "number": item.build,
                                    "url": f"{self._job_url(job)}{item.build}/"})
        elif item.cancelled:
            body.update(_class="hudson.model.Queue$LeftItem", executable=None)
        else:
            body.update(_class="hudson.model.Queue$WaitingItem", why="In the quiet period.")
        return body

    def _queue(self, request, match):
        waiting = [self._item_json(i) for i in self.queue.values() if i.build is None and not i.cancelled]
        return Response(200, {"_class": "hudson.model.Queue", "items": waiting})

    def _queue_item(self, request, match):
        item = self.queue.get(int(match.group(1)))
        if item is None or item.job not in self.jobs:  # deleting a job drops its queue items
            return _page(404, "Not Found")
        item.polls += 1
        if item.build is None and not item.cancelled and self.start_after_polls is not None \
                and item.polls >= self.start_after_polls and item.job in self.jobs:
            self.start_build(item.id)
        return Response(200, self._item_json(item))

    def _cancel(self, request, match):
        item = self.queue.get(int((request.query.get("id") or ["0"])[0]))
        if item is not None and item.build is None:
            item.cancelled = True
        return Response(204)

    def _build_json(self, job: Job, build: Build) -> dict:
        url = f"{self._job_url(job)}{build.number}/"
        return {"_class": "hudson.model.FreeStyleBuild", "number": build.number, "url": url,
                "building": build.building, "result": build.result, "duration": build.duration_ms,
                "timestamp": int(time.time() * 1000),
                "actions": [{"_class": "hudson.model.ParametersAction",
                             "parameters": [{"name": k, "value": v} for k, v in build.parameters.items()]}],
                "artifacts": [{"displayPath": a.rsplit("/", 1)[-1], "fileName": a.rsplit("/", 1)[-1],
                               "relativePath": a} for a in build.artifacts]}

    def _job(self, request, match):
        job = self._job_of(match.group(1))
        if job is None:
            return _page(404, "Not Found")
        depth = int((request.query.get("depth") or ["0"])[0])
        builds = sorted(job.builds.values(), key=lambda b: -b.number)
        return Response(200, {
            "_class": "hudson.model.FreeStyleProject", "name": job.name.rsplit("/", 1)[-1], "fullName": job.name,
            "url": self._job_url(job), "buildable": True, "nextBuildNumber": job.next_number,
            "property": [{"_class": "hudson.model.ParametersDefinitionProperty", "parameterDefinitions": [
                {"_class": "hudson.model.StringParameterDefinition", "name": p, "type": "StringParameterDefinition",
                 "defaultParameterValue": {"name": p, "value": ""}} for p in job.parameters]}],
            "builds": [self._build_json(job, b) if depth >= 1 else
                       {"_class": "hudson.model.FreeStyleBuild", "number": b.number, "url": f"{self._job_url(job)}{b.number}/"}
                       for b in builds]})

    def _build_with_parameters(self, request, match):
        job = self._job_of(match.group(1))
        if job is None:
            return _page(404, "Not Found")
        given = {k: v[0] for k, v in {**parse_qs(request.body.decode()), **request.query}.items()}
        # Jenkins keeps only the parameters the job defines.
        item = QueueItem(next(self._ids), job.name, {k: v for k, v in given.items() if k in job.parameters})
        self.queue[item.id] = item
        return Response(201, b"", {"Location": f"{self.url}/queue/item/{item.id}/"})

    def _build_info(self, request, match):
        job = self._job_of(match.group(1))
        build = job.builds.get(int(match.group(2))) if job else None
        if build is None:
            return _page(404, "Not Found")
        build.polls += 1
        if build.building and self.finish_after_polls is not None and build.polls >= self.finish_after_polls:
            self.finish_build(job.name, build.number, self.auto_result)
        return Response(200, self._build_json(job, build))

    def _build_page(self, request, match):
        job = self._job_of(match.group(1))
        if job is None or int(match.group(2)) not in job.builds:
            return _page(404, "Not Found")
        return Response(200, f"<html>{job.name} #{match.group(2)} [Jenkins]</html>", {"Content-Type": "text/html"})

    def _stop(self, request, match):
        job = self._job_of(match.group(1))
        build = job.builds.get(int(match.group(2))) if job else None
        if build is None:
            return _page(404, "Not Found")
        if build.building:
            build.building, build.result = False, "ABORTED"
        return Response(302, b"", {"Location": f"{self._job_url(job)}{build.number}/"})
