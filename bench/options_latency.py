"""Type-ahead (`block_suggestion`) response time for a workspace with 10 store targets beside one with
10,000, on the same server, requests of both interleaved (same load). Run by hand:

    python bench/options_latency.py [--requests 300] [--concurrency 4] [--big 10000] [--small 10]

The server runs `releasebot serve` in its own process, as in production; the clients are in this one.
Half the requests type nothing (the first 100 by name), half type a name fragment. Uses a SQLite file,
or MariaDB when TEST_MYSQL_URL is set (its tables are recreated)."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.slash_latency import free_port, report, spawn  # noqa: E402
from bot.ids import ActionId, BlockId  # noqa: E402
from core.config import Settings  # noqa: E402
from core.crypto import generate_key  # noqa: E402
from core.enums import TargetType, VerificationStatus  # noqa: E402
from core.models import TargetIntegration, new_id  # noqa: E402
from core.runtime import Runtime  # noqa: E402
from core.services.tenants import add_tenant  # noqa: E402
from tests.conftest import _fresh  # noqa: E402
from tests.factories import World  # noqa: E402
from tests.fakes.slack import FakeSlack  # noqa: E402
from tests.slack_requests import SIGNING_SECRET, SlackClient  # noqa: E402

TYPED = ("", "store 0")  # nothing typed, and a fragment many names contain


def workspace(runtime: Runtime, team_id: str, n_targets: int) -> None:
    """A workspace (the World's 2 targets and the rest as rows, all active and verified)."""
    with runtime.unit_of_work() as s:
        world = World(s, runtime.cipher, name=team_id, existing_tenant=add_tenant(s, name=team_id, slack_team_id=team_id))
        rows = [dict(id=new_id(), tenantId=world.tenant.id, displayName=f"Store {i:05d}", targetType=TargetType.APP_STORE,
                     appIdentifier=f"com.acme.app{i}", isActive=True, verificationStatus=VerificationStatus.VALID)
                for i in range(n_targets - 2)]
        for start in range(0, len(rows), 1000):
            s.execute(insert(TargetIntegration).values(rows[start:start + 1000]))


def measure(url: str, teams: dict[str, int], n: int, concurrency: int) -> dict[str, list[float]]:
    """`n` requests per workspace, interleaved: both sides see the same load."""
    clients = {team: SlackClient(url, team_id=team, user_id="U0ADA") for team in teams}

    def one(i: int) -> tuple[str, float]:
        team = list(teams)[i % len(teams)]
        start = time.perf_counter()
        response = clients[team].block_suggestion({"type": "modal", "callback_id": "release_create"}, ActionId.TARGETS,
                                                  BlockId.TARGETS, TYPED[(i // len(teams)) % len(TYPED)])
        assert response.status_code == 200 and response.json()["options"], (response.status_code, response.text, team)
        return team, time.perf_counter() - start

    times: dict[str, list[float]] = {team: [] for team in teams}
    with ThreadPoolExecutor(concurrency) as pool:
        for team, elapsed in pool.map(one, range(n * len(teams))):
            times[team].append(elapsed)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--big", type=int, default=10_000)
    args = parser.parse_args()
    with FakeSlack() as slack, tempfile.TemporaryDirectory() as tmp:
        database_url, key = os.environ.get("TEST_MYSQL_URL") or f"sqlite:///{tmp}/bench.db", generate_key()
        runtime = Runtime(Settings(database_url=database_url, secret_keys=(key,), slack_bot_token=slack.bot_token,
                                   slack_signing_secret=SIGNING_SECRET, slack_api_url=slack.url + "/api/",
                                   allow_private_networks=True))
        if not database_url.startswith("sqlite"):
            _fresh(runtime.engine)
        runtime.migrate()
        teams = {slack.team_id: args.small, "T0BIG": args.big}
        for team, n in teams.items():
            workspace(runtime, team, n)
        env = {**os.environ, "DATABASE_URL": database_url, "RELEASEBOT_SECRET_KEYS": key,
               "SLACK_BOT_TOKEN": slack.bot_token, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
               "SLACK_API_URL": slack.url + "/api/", "RELEASEBOT_ALLOW_PRIVATE_NETWORKS": "true"}
        env.pop("SLACK_APP_TOKEN", None)
        port = free_port()
        server = spawn([sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1", "--port", str(port),
                        "--no-migrate", "--no-follower"], port, env)
        try:
            url = f"http://127.0.0.1:{port}"
            measure(url, teams, 20, args.concurrency)  # warm up
            times = measure(url, teams, args.requests, args.concurrency)
            print(f"type-ahead (store targets), {args.requests} requests per workspace, {args.concurrency} at a time, "
                  f"interleaved; {runtime.engine.dialect.name}")
            small = report(f"{args.small:,} integrations", times[slack.team_id])
            big = report(f"{args.big:,} integrations", times["T0BIG"])
            print(f"  ratio                  p50 {big[0] / small[0]:7.2f}x    p99 {big[1] / small[1]:7.2f}x")
        finally:
            server.kill()
            runtime.engine.dispose()


if __name__ == "__main__":
    main()
