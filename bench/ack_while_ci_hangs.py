"""Slack's 3 seconds while a CI hangs: N people press Trigger build at once on a Jenkins that takes
8 s per request, while other people type `/release help` and open dropdowns. Run by hand:

    python bench/ack_while_ci_hangs.py [--clicks 48] [--ci-seconds 8] [--others-seconds 10]

`releasebot serve` runs in its own process (with its runner); the fakes and the clients in this one.
Listeners only record the intent and answer; the runner calls Jenkins. Printed: the answer times of
the clicks and of everyone else's requests, and how many took longer than Slack's 3 s."""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.slash_latency import free_port, spawn  # noqa: E402
from bot.ids import ActionId, BlockId  # noqa: E402
from core.config import Settings  # noqa: E402
from core.crypto import generate_key  # noqa: E402
from core.enums import IntegrationKind  # noqa: E402
from core.runtime import Runtime  # noqa: E402
from core.services import integration_writes  # noqa: E402
from core.services.release_creation import create_release  # noqa: E402
from core.services.tenants import add_tenant  # noqa: E402
from core.services.verification import verify_integration  # noqa: E402
from tests.factories import World, github_for  # noqa: E402
from tests.fakes.jenkins import RELEASE_JOB, FakeJenkins  # noqa: E402
from tests.fakes.slack import FakeSlack  # noqa: E402
from tests.slack_requests import SIGNING_SECRET, SlackClient  # noqa: E402


def prepare(runtime: Runtime, slack: FakeSlack, github, jenkins: FakeJenkins, n: int) -> list[str]:
    """A workspace with one verified Jenkins pipeline and `n` releases using it; their pipeline row ids."""
    with runtime.unit_of_work() as s:
        world = World(s, runtime.cipher, existing_tenant=add_tenant(s, name="Bench", slack_team_id=slack.team_id),
                      scm_base_url=github.url)
        pipeline = integration_writes.add_integration(
            s, tenant_id=world.tenant.id, kind=IntegrationKind.PIPELINE, provider="jenkins", display_name="Jenkins iOS",
            cipher=runtime.cipher, base_url=jenkins.url, secrets={"username": "releasebot", "apiToken": "jenkins-api-token"},
            fields={"scmIntegrationId": world.scm.id, "targetIntegrationId": world.ios.id, "jobPath": RELEASE_JOB})
    with runtime.unit_of_work() as s:
        verify_integration(s, tenant_id=world.tenant.id, integration_id=pipeline.id, cipher=runtime.cipher,
                           ctx=runtime.provider_context)
        return [create_release(s, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                               draft=world.draft(version=f"2.{i}.0", target_ids=(world.ios.id,),
                                                 pipeline_ids=(pipeline.id,))).pipelines[0].id for i in range(n)]


def timed(call) -> float:
    """Seconds until the answer; a refused or failed request counts as never answered (inf)."""
    start = time.perf_counter()
    try:
        ok = call().status_code == 200
    except OSError:
        ok = False
    return time.perf_counter() - start if ok else float("inf")


def report(label: str, times: list[float]) -> None:
    ordered = sorted(times)
    p50, p99 = statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    late, failed = sum(t > 3 for t in ordered), sum(t == float("inf") for t in ordered)
    print(f"  {label:<28} n {len(ordered):4d}   p50 {p50 * 1000:7.1f} ms   p99 {p99 * 1000:7.1f} ms   "
          f"over 3 s or not 200: {late} ({failed} not 200)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=48)
    parser.add_argument("--ci-seconds", type=float, default=8.0)
    parser.add_argument("--others-seconds", type=float, default=10.0)
    args = parser.parse_args()
    slack, github, jenkins = FakeSlack().start(), github_for(), FakeJenkins().start()
    jenkins.add_job(RELEASE_JOB)
    tmp = tempfile.mkdtemp()
    database_url, key = f"sqlite:///{tmp}/bench.db", generate_key()
    runtime = Runtime(Settings(database_url=database_url, secret_keys=(key,), slack_bot_token=slack.bot_token,
                               slack_signing_secret=SIGNING_SECRET, slack_api_url=slack.url + "/api/",
                               allow_private_networks=True))
    runtime.migrate()
    pipelines = prepare(runtime, slack, github, jenkins, args.clicks)
    jenkins.delay = args.ci_seconds
    env = {**os.environ, "DATABASE_URL": database_url, "RELEASEBOT_SECRET_KEYS": key, "SLACK_BOT_TOKEN": slack.bot_token,
           "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.url + "/api/",
           "RELEASEBOT_ALLOW_PRIVATE_NETWORKS": "true"}
    env.pop("SLACK_APP_TOKEN", None)
    port = free_port()
    bot = spawn([sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-migrate"],
                port, env)
    url = f"http://127.0.0.1:{port}"
    clicker, other = SlackClient(url, team_id=slack.team_id, user_id="U0GRACE"), SlackClient(url, team_id=slack.team_id,
                                                                                              user_id="U0ADA")
    clicks: list[float] = []
    others: list[float] = []
    try:
        print(f"{args.clicks} simultaneous clicks on a Jenkins answering in {args.ci_seconds:.0f} s; "
              f"others' /release help for {args.others_seconds:.0f} s")

        def others_meanwhile():
            end = time.monotonic() + args.others_seconds
            while time.monotonic() < end:
                others.append(timed(lambda: other.command("help")))
                time.sleep(0.1)

        watcher = threading.Thread(target=others_meanwhile)
        watcher.start()
        with ThreadPoolExecutor(args.clicks) as pool:
            clicks = list(pool.map(lambda rp: timed(lambda: clicker.block_action(
                action_id=ActionId.TRIGGER_BUILD, value=rp, block_id=f"{BlockId.PIPELINE_PREFIX}{rp}",
                channel_id="CORIGIN", message_ts="1700000000.000100")), pipelines))
        watcher.join()
        report("Trigger build (ack)", clicks)
        report("others' /release help", others)
        print(f"  Jenkins had received {len(jenkins.calls('POST', 'buildWithParameters'))} triggers by then "
              "(the runner's calls, each one slow)")
    finally:
        bot.kill()
        for fake in (slack, github, jenkins):
            fake.stop()


if __name__ == "__main__":
    main()
