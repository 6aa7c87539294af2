"""How long the follower takes to see N builds through to their end, and how many HTTP requests it
makes per build, against the fake Jenkins, GitHub and Slack over loopback. Run by hand:

    python bench/follow_builds.py [--builds 1000] [--polls-to-start 1] [--polls-to-finish 2] [--concurrency 8]
                                  [--processes 1] [--sqlite-synchronous FULL]

Uses a SQLite file, or MariaDB when TEST_MYSQL_URL is set (its tables are recreated). Builds are
recorded as clicks record them (the intent, REQUESTED); one follower then dispatches, follows and
announces them all. The fake Jenkins starts a build after `--polls-to-start` polls of its queue
item and finishes it after `--polls-to-finish` polls of the build. The fakes run in a process of their
own, as the real services do (`--fakes-in-process` puts their CPU and GIL back in this one); the CPU
figure is the followers': this process's, and with `--processes N` that of the N - 1 more followers forked
beside it (as running `releasebot worker` N times would: one interpreter and one GIL each).
"""
from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, func, select  # noqa: E402

from bench.apart import Apart  # noqa: E402
from bot.announcer import SlackAnnouncer  # noqa: E402
from bot.app import web_client  # noqa: E402
from core.config import Settings  # noqa: E402
from core.crypto import generate_key  # noqa: E402
from core.enums import TERMINAL_BUILD_STATES, IntegrationKind  # noqa: E402
from core.models import PipelineBuild  # noqa: E402
from core.runner import Runner  # noqa: E402
from core.runtime import Runtime  # noqa: E402
from core.services import integration_writes  # noqa: E402
from core.services.builds import request_build  # noqa: E402
from core.services.release_creation import create_release  # noqa: E402
from core.services.tenants import add_tenant  # noqa: E402
from core.services.verification import verify_integration  # noqa: E402
from tests.conftest import _fresh  # noqa: E402
from tests.factories import World, github_for  # noqa: E402
from tests.fakes.github import FakeGitHub  # noqa: E402
from tests.fakes.jenkins import FakeJenkins  # noqa: E402
from tests.fakes.slack import FakeSlack  # noqa: E402

JOB = "mobile/ios-release"


def prepare(runtime: Runtime, slack: FakeSlack, github: FakeGitHub, jenkins: FakeJenkins, n: int) -> None:
    """A workspace with one Jenkins pipeline and `n` releases, each with one build requested."""
    with runtime.unit_of_work() as s:
        world = World(s, runtime.cipher, existing_tenant=add_tenant(s, name="Bench", slack_team_id=slack.team_id),
                      scm_base_url=github.url)
    slack.add_channel(world.channel.details["channelId"], "releases")
    with runtime.unit_of_work() as s:
        pipeline = integration_writes.add_integration(
            s, tenant_id=world.tenant.id, kind=IntegrationKind.PIPELINE, provider="jenkins", display_name="Jenkins iOS",
            cipher=runtime.cipher, base_url=jenkins.url, secrets={"username": "releasebot", "apiToken": "jenkins-api-token"},
            fields={"scmIntegrationId": world.scm.id, "targetIntegrationId": world.ios.id, "jobPath": JOB})
    with runtime.unit_of_work() as s:
        verify_integration(s, tenant_id=world.tenant.id, integration_id=pipeline.id, cipher=runtime.cipher,
                           ctx=runtime.provider_context)
    for start in range(0, n, 100):
        with runtime.unit_of_work() as s:
            for i in range(start, min(n, start + 100)):
                release = create_release(s, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                                         draft=world.draft(version=f"{i // 1000 + 1}.{i % 1000}.0",
                                                           target_ids=(world.ios.id,), pipeline_ids=(pipeline.id,)))
                request_build(s, tenant_id=world.tenant.id, account_id=world.member.id,
                              release_pipeline_id=release.pipelines[0].id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builds", type=int, default=1000)
    parser.add_argument("--polls-to-start", type=int, default=1)
    parser.add_argument("--polls-to-finish", type=int, default=2)
    parser.add_argument("--interval", type=float, default=0.5, help="the follower's poll interval, seconds")
    parser.add_argument("--round-batch", type=int, default=None, help="steps of each kind per round (Runner's default)")
    parser.add_argument("--concurrency", type=int, default=8, help="steps run at once (Runner's default 8)")
    parser.add_argument("--processes", type=int, default=1, help="followers, each in a process of its own")
    parser.add_argument("--sqlite-synchronous", choices=("FULL", "NORMAL"), default="FULL",
                        help="RELEASEBOT_SQLITE_SYNCHRONOUS (default FULL, as the bot's)")
    parser.add_argument("--fakes-in-process", action="store_true",
                        help="run the fake servers in this process (their CPU and GIL then count against the follower)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    url = os.environ.get("TEST_MYSQL_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    apart = None
    if args.fakes_in_process:
        slack, github, jenkins = FakeSlack().start(), github_for(), FakeJenkins().start()
    else:  # as the real services are: in another process
        apart = Apart(lambda: FakeSlack().start(), github_for, lambda: FakeJenkins().start())
        slack, github, jenkins = apart.proxies
    jenkins.add_job(JOB)
    runtime = Runtime(Settings(database_url=url, secret_keys=(generate_key(),), slack_bot_token=slack.bot_token,
                               slack_signing_secret="bench", slack_api_url=slack.url + "/api/",
                               allow_private_networks=True, sqlite_synchronous=args.sqlite_synchronous))
    if not url.startswith("sqlite"):
        _fresh(runtime.engine)
    runtime.migrate()
    print(f"preparing {args.builds} builds on {runtime.engine.dialect.name} …")
    prepare(runtime, slack, github, jenkins, args.builds)
    jenkins.start_after_polls, jenkins.finish_after_polls = args.polls_to_start, args.polls_to_finish
    jenkins_before, slack_before, github_before = (len(fake.requests) for fake in (jenkins, slack, github))

    def follower_of(runtime: Runtime) -> Runner:
        return Runner(runtime, SlackAnnouncer(web_client(runtime), runtime), interval=args.interval,
                      round_batch=args.round_batch, concurrency=args.concurrency)

    runtime.engine.dispose()  # no pooled connection crosses a fork
    others_stop = multiprocessing.get_context("fork").Event()
    others = [multiprocessing.get_context("fork").Process(target=_follow_until, args=(follower_of, runtime, others_stop))
              for _ in range(args.processes - 1)]
    follower = follower_of(runtime)
    started, cpu = time.perf_counter(), time.process_time()
    for other in others:
        other.start()
    statements = Counter()  # this process's, counted after the forks (the counting costs under 1 % of its CPU)
    event.listen(runtime.engine, "before_cursor_execute", lambda *args: statements.update(("sql",)))
    thread, stop = follower.start()
    while True:
        with runtime.reading() as s:
            done = s.scalar(select(func.count()).select_from(PipelineBuild)
                            .where(PipelineBuild.state.in_(TERMINAL_BUILD_STATES)))
        if done >= args.builds:
            break
        time.sleep(0.2)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    stop.set()
    others_stop.set()
    follower.wake()
    thread.join(60)  # its round ends before the fakes go away
    children_before = _children_cpu()
    for other in others:
        other.join(60)
    cpu += _children_cpu() - children_before
    while follower.tick():  # the last announcements
        pass

    jenkins_calls, slack_calls = jenkins.requests[jenkins_before:], slack.requests[slack_before:]
    kinds = Counter(_kind(r.method, r.path) for r in jenkins_calls)
    n = args.builds
    print(f"{n} builds ended in {elapsed:.1f} s ({n / elapsed:.1f} builds/s), follower interval {args.interval} s, "
          f"{follower.round_batch} steps of each kind per round, {follower.concurrency} at once, "
          f"{args.processes} follower process{'es' if args.processes > 1 else ''}"
          + (f", SQLite synchronous={args.sqlite_synchronous}" if url.startswith("sqlite") else ""))
    print(f"  the followers' CPU: {cpu / n * 1000:.1f} ms per build ({cpu / elapsed:.0%} of one core)")
    print(f"  SQL statements per build:   {statements['sql'] / n:.1f}" + (" (this process's follower only)" if others else ""))
    print(f"  Jenkins requests per build: {len(jenkins_calls) / n:.2f}  "
          + ", ".join(f"{k} {v / n:.2f}" for k, v in kinds.most_common()))
    print(f"  Slack requests per build:   {len(slack_calls) / n:.2f}")
    print(f"  GitHub requests per build:  {(len(github.requests) - github_before) / n:.2f}  (the release branch, cut once)")
    if apart is not None:
        apart.stop()
    else:
        for fake in (slack, github, jenkins):
            fake.stop()


def _follow_until(follower_of, runtime: Runtime, stop) -> None:
    """A follower process: forked, so it opens its own connections; works until the bench has seen every build end."""
    logging.getLogger().setLevel(logging.WARNING)
    runtime = Runtime(runtime.settings)
    follower = follower_of(runtime)
    thread, stopping = follower.start()
    stop.wait()
    stopping.set()
    follower.wake()
    thread.join(60)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _kind(method: str, path: str) -> str:
    if "buildWithParameters" in path:
        return "trigger"
    if "crumbIssuer" in path:
        return "crumb"
    if path.startswith("/queue/item"):
        return "queue item"
    if path.rstrip("/").endswith("api/json") and path.split("/")[-3].isdigit():
        return "build"
    return f"{method} other"


if __name__ == "__main__":
    main()
