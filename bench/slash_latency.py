"""Response time of `/release create` (ack → Slack) under N concurrent requests, beside a bare Bolt
app on the same server that only acks. Run by hand:

    python bench/slash_latency.py [--requests 200] [--concurrency 20]

The ratio of the two p50/p99 figures is the cost of releasebot's own work before the ack (tenant and
account lookup, signature check is in both)."""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import waitress
from slack_bolt import App

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cli.server import make_server  # noqa: E402
from core.config import Settings  # noqa: E402
from core.crypto import generate_key  # noqa: E402
from core.runtime import Runtime  # noqa: E402
from core.services.tenants import add_tenant  # noqa: E402
from tests.factories import World  # noqa: E402
from tests.fakes.slack import FakeSlack  # noqa: E402
from tests.slack_requests import SIGNING_SECRET, SlackClient  # noqa: E402


def measure(url: str, team_id: str, n: int, concurrency: int) -> list[float]:
    client = SlackClient(url, team_id=team_id, user_id="U0ADA")

    def one(i: int) -> float:
        start = time.perf_counter()
        response = client.command("create", trigger_id=f"bench-{i}-{time.time_ns()}")
        assert response.status_code == 200, response.text
        return time.perf_counter() - start

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, range(n)))


def bare_bolt(slack: FakeSlack):
    from slack_sdk import WebClient

    app = App(signing_secret=SIGNING_SECRET, client=WebClient(token=slack.bot_token, base_url=slack.url + "/api/"),
              token_verification_enabled=False)
    app.command("/release")(lambda ack: ack())
    from slack_bolt.adapter.wsgi import SlackRequestHandler

    server = waitress.create_server(SlackRequestHandler(app), host="127.0.0.1", port=0, threads=32)
    threading.Thread(target=server.run, daemon=True).start()
    return server


def report(label: str, times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    p50, p99 = statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(f"  {label:<22} p50 {p50 * 1000:7.1f} ms   p99 {p99 * 1000:7.1f} ms")
    return p50, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    with FakeSlack() as slack, tempfile.TemporaryDirectory() as tmp:
        runtime = Runtime(Settings(database_url=f"sqlite:///{tmp}/bench.db", secret_keys=(generate_key(),),
                                   slack_bot_token=slack.bot_token, slack_signing_secret=SIGNING_SECRET,
                                   slack_api_url=slack.url + "/api/", allow_private_networks=True))
        runtime.migrate()
        with runtime.unit_of_work() as s:
            World(s, runtime.cipher, existing_tenant=add_tenant(s, name="Bench", slack_team_id=slack.team_id))
        server, _ = make_server(runtime, "127.0.0.1", 0)
        threading.Thread(target=server.run, daemon=True).start()
        bare = bare_bolt(slack)
        print(f"/release create, {args.requests} requests, {args.concurrency} at a time")
        measure(f"http://127.0.0.1:{server.effective_port}", slack.team_id, 20, 5)  # warm up
        ours = report("releasebot", measure(f"http://127.0.0.1:{server.effective_port}", slack.team_id,
                                            args.requests, args.concurrency))
        deadline = time.monotonic() + 60  # let the modals opened after the acks finish first
        while len(slack.calls_to("views.open")) < args.requests + 20 and time.monotonic() < deadline:
            time.sleep(0.1)
        base = report("bare Bolt (ack only)", measure(f"http://127.0.0.1:{bare.effective_port}", slack.team_id,
                                                      args.requests, args.concurrency))
        print(f"  ratio                  p50 {ours[0] / base[0]:7.2f}x    p99 {ours[1] / base[1]:7.2f}x")
        server.close()
        bare.close()


if __name__ == "__main__":
    main()
