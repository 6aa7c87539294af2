"""Response time of `/release create` (ack → Slack) under N concurrent requests, beside a bare Bolt
app on the same server that only acks. Run by hand:

    python bench/slash_latency.py [--requests 200] [--concurrency 50] [--workers 1] [--fakes-in-process]

Each server runs in its own process, as in production, and so does the fake Slack (as the real one is
elsewhere); the clients are in this one. The ratio of the two p50/p99 figures is the cost of releasebot's
own work (tenant and account lookup before the ack; the modal loaded and opened after it, competing for
the same CPU). The signature check is in both. Each server's CPU per request (all its threads and worker
processes, from /proc) is printed beside its latencies.

Fixed on 2026-11-29: the fake Slack answered every `views.open` in this process, so during releasebot's
phase (not the bare app's, which opens no modal) the 50 measuring clients shared a GIL with it and their
own time counted as releasebot's. It runs in a process of its own now (bench/apart.py);
`--fakes-in-process` puts it back here, as before.

Fixed on 2026-11-28 (figures before then are not comparable): the bare Bolt app held a token the fake
Slack refuses, so each of its requests called auth.test and answered Bolt's "reinstall this app" error
without running its listener; it now holds the fake's token and acks, as releasebot does. And the fakes
listened with socketserver's backlog of 5, so a burst of modals opening dropped connections that TCP
retried 1 s later (Slack does not); their backlog is 1024 now (tests/fakes/base.py)."""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import waitress
from slack_bolt import App

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.apart import Apart  # noqa: E402
from core.config import Settings  # noqa: E402
from core.crypto import generate_key  # noqa: E402
from core.runtime import Runtime  # noqa: E402
from core.services.tenants import add_tenant  # noqa: E402
from tests.factories import World  # noqa: E402
from tests.fakes.slack import FakeSlack  # noqa: E402
from tests.slack_requests import SIGNING_SECRET, SlackClient  # noqa: E402


def measure(url: str, team_id: str, n: int, concurrency: int, sent: dict[str, float] | None = None) -> list[float]:
    """Ack times of `n` `/release create`; `sent` gets each request's trigger id and start time."""
    client = SlackClient(url, team_id=team_id, user_id="U0ADA")

    def one(i: int) -> float:
        trigger = f"bench-{i}-{time.time_ns()}"
        start = time.perf_counter()
        if sent is not None:
            sent[trigger] = start
        response = client.command("create", trigger_id=trigger)
        assert response.status_code == 200, response.text
        return time.perf_counter() - start

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(one, range(n)))


def serve_bare_bolt(port: int, slack_url: str) -> None:
    """The baseline, run in its own process: a Bolt app on the same WSGI server that only acks."""
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_sdk import WebClient

    # The fake Slack's bot token, as releasebot has: Bolt checks it once (auth.test) and keeps the answer. With a
    # token the fake refused, every request called auth.test again and answered Bolt's "reinstall this app"
    # message without running the listener: the baseline was an HTTP call and an error, not an ack.
    app = App(signing_secret=SIGNING_SECRET, client=WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=slack_url),
              token_verification_enabled=False)
    app.command("/release")(lambda ack: ack())
    waitress.serve(SlackRequestHandler(app), host="127.0.0.1", port=port, threads=32, _quiet=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(command: list[str], port: int, env: dict[str, str], log=subprocess.DEVNULL) -> subprocess.Popen:
    """A server in its own process (its own interpreter and GIL, as in production), once it answers;
    its output goes to `log` (an open file), or nowhere."""
    process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f"server on port {port} did not start: {' '.join(command)}")


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) of a process and the processes it forked (`serve --workers`), from /proc."""
    tick, total, pending = os.sysconf("SC_CLK_TCK"), 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except FileNotFoundError:  # gone meanwhile
            continue
    return total


def measured(url: str, team_id: str, args, pid: int, sent: dict[str, float] | None = None) -> tuple[list[float], float]:
    """Ack times of the measured requests, and the server's CPU seconds per request while they ran."""
    before = cpu_seconds(pid)
    times = measure(url, team_id, args.requests, args.concurrency, sent)
    return times, (cpu_seconds(pid) - before) / args.requests


def report(label: str, times: list[float], cpu: float | None = None) -> tuple[float, float]:
    ordered = sorted(times)
    p50, p99 = statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    server = f"   server CPU {cpu * 1000:4.2f} ms/request" if cpu is not None else ""
    print(f"  {label:<22} p50 {p50 * 1000:7.1f} ms   p99 {p99 * 1000:7.1f} ms{server}")
    return p50, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1, help="releasebot serve --workers N")
    parser.add_argument("--fakes-in-process", action="store_true",
                        help="run the fake Slack in this process, beside the clients (as the benchmark did before)")
    parser.add_argument("--bare-bolt", type=int, metavar="PORT", help=argparse.SUPPRESS)  # the baseline's process
    parser.add_argument("--slack-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_bolt:
        serve_bare_bolt(args.bare_bolt, args.slack_url)
        return
    apart = None if args.fakes_in_process else Apart(lambda: FakeSlack().start())
    slack = FakeSlack().start() if apart is None else apart.proxies[0]
    with tempfile.TemporaryDirectory() as tmp:
        database_url, key = f"sqlite:///{tmp}/bench.db", generate_key()
        runtime = Runtime(Settings(database_url=database_url, secret_keys=(key,), slack_bot_token=slack.bot_token,
                                   slack_signing_secret=SIGNING_SECRET, slack_api_url=slack.url + "/api/",
                                   allow_private_networks=True))
        runtime.migrate()
        with runtime.unit_of_work() as s:
            World(s, runtime.cipher, existing_tenant=add_tenant(s, name="Bench", slack_team_id=slack.team_id))
        env = {**os.environ, "DATABASE_URL": database_url, "RELEASEBOT_SECRET_KEYS": key,
               "SLACK_BOT_TOKEN": slack.bot_token, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
               "SLACK_API_URL": slack.url + "/api/", "RELEASEBOT_ALLOW_PRIVATE_NETWORKS": "true"}
        env.pop("SLACK_APP_TOKEN", None)
        ours_port, bare_port = free_port(), free_port()
        bot = spawn([sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1", "--port", str(ours_port),
                     "--no-migrate", "--no-follower", "--workers", str(args.workers)], ours_port, env)
        bare = spawn([sys.executable, __file__, "--bare-bolt", str(bare_port), "--slack-url", slack.url + "/api/"],
                     bare_port, env)
        try:
            where = "this one" if apart is None else "its own"
            print(f"/release create, {args.requests} requests, {args.concurrency} at a time, releasebot serve "
                  f"--workers {args.workers} (each server in its own processes; the fake Slack in {where})")
            measure(f"http://127.0.0.1:{ours_port}", slack.team_id, 20, 5)  # warm up
            sent: dict[str, float] = {}
            ours = report("releasebot", *measured(f"http://127.0.0.1:{ours_port}", slack.team_id, args, bot.pid, sent))
            deadline = time.monotonic() + 60  # let the modals opened after the acks finish first
            while len(slack.calls_to("views.open")) < args.requests + 20 and time.monotonic() < deadline:
                time.sleep(0.1)
            opened = [c.at - sent[c.params["trigger_id"]] for c in slack.calls_to("views.open")
                      if c.params.get("trigger_id") in sent]
            report("modal opened", opened + [float("inf")] * (args.requests - len(opened)))
            measure(f"http://127.0.0.1:{bare_port}", slack.team_id, 20, 5)
            base = report("bare Bolt (ack only)", *measured(f"http://127.0.0.1:{bare_port}", slack.team_id, args, bare.pid))
            print(f"  ratio                  p50 {ours[0] / base[0]:7.2f}x    p99 {ours[1] / base[1]:7.2f}x")
            print(f"  modals opened: {len(slack.calls_to('views.open'))} of {args.requests + 20}")
        finally:
            bot.kill()
            bare.kill()
    if apart is None:
        slack.stop()
    else:
        apart.stop()


if __name__ == "__main__":
    main()
