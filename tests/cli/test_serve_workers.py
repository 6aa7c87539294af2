"""`releasebot serve --workers N`: N processes accept on one port (the follower in the first), each
answers signed Slack requests, and SIGTERM stops them all gracefully (exit 0). A real process tree on loopback."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from core.crypto import generate_key
from tests.bot.helpers import wait_for
from tests.cli.test_graceful_shutdown import _free_port, _refused
from tests.fakes.slack import FakeSlack
from tests.slack_requests import SIGNING_SECRET, SlackClient


def _healthy(url: str) -> bool:
    try:  # the port is bound before the processes serve on it: a connection may wait for them
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


def test_two_worker_processes_answer_on_one_port_and_stop_together_on_sigterm(tmp_path):
    slack = FakeSlack().start()
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "RELEASEBOT_SECRET_KEYS": generate_key(),
           "SLACK_BOT_TOKEN": slack.bot_token, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": slack.url + "/api/", "RELEASEBOT_SHUTDOWN_SECONDS": "15", "RELEASEBOT_LOG_LEVEL": "INFO"}
    env.pop("SLACK_APP_TOKEN", None)
    log = tmp_path / "serve.log"
    process = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1", "--port", str(port),
                                "--workers", "2"], env=env, cwd=tmp_path, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _healthy(f"http://127.0.0.1:{port}/healthz"), timeout=60)
        workers = _children(process.pid)
        assert len(workers) == 2, log.read_text()

        client = SlackClient(f"http://127.0.0.1:{port}", team_id=slack.team_id, user_id="U0ADA")
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: client.command("help"), range(24)))
        assert all(a.status_code == 200 and "/release create" in a.text for a in answers)

        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
        assert _refused(port)
        assert not any(Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()
                       for pid in workers)
        output = log.read_text()
        assert "with 2 processes" in output and output.count("finishing what is in flight") == 2
        assert "releasebot: stopped" in output and "Traceback" not in output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        for pid in _children(process.pid):
            os.kill(pid, signal.SIGKILL)
        slack.stop()


def test_worker_processes_stop_when_their_parent_is_killed(tmp_path):
    slack = FakeSlack().start()
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "RELEASEBOT_SECRET_KEYS": generate_key(),
           "SLACK_BOT_TOKEN": slack.bot_token, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": slack.url + "/api/", "RELEASEBOT_LOG_LEVEL": "INFO"}
    env.pop("SLACK_APP_TOKEN", None)
    process = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1", "--port", str(port),
                                "--workers", "2", "--no-follower"], env=env, cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers = []
    try:
        wait_for(lambda: _healthy(f"http://127.0.0.1:{port}/healthz"), timeout=60)
        workers = _children(process.pid)
        assert len(workers) == 2
        process.kill()  # SIGKILL: nothing is passed on
        process.wait(10)
        wait_for(lambda: not any(_running(pid) for pid in workers), timeout=30)
        assert _refused(port)
    finally:
        for pid in workers:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
        slack.stop()


def _running(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "zombie" not in status.read_text()
    except FileNotFoundError:
        return False
