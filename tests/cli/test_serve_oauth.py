"""`releasebot serve` in OAuth mode, configured from its environment: a real process on loopback."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import requests

from core.crypto import generate_key
from tests.bot.helpers import wait_for
from tests.fakes.slack import FakeSlack
from tests.slack_requests import SIGNING_SECRET


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _environment(tmp_path, slack: FakeSlack, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "RELEASEBOT_"))}
    return {**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "RELEASEBOT_SECRET_KEYS": generate_key(),
            "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack.url + "/api/", "RELEASEBOT_LOG_LEVEL": "INFO",
            **extra}


def test_serve_offers_the_install_page_when_the_client_id_and_secret_are_set(tmp_path):
    slack, port = FakeSlack().start(), _free_port()
    env = _environment(tmp_path, slack, SLACK_CLIENT_ID=slack.client_id, SLACK_CLIENT_SECRET=slack.client_secret)
    log = tmp_path / "serve.log"
    process = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1", "--port", str(port)],
                               env=env, cwd=tmp_path, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    try:
        page = wait_for(lambda: _get(f"http://127.0.0.1:{port}/slack/install"), timeout=60)
        assert page.status_code == 200 and "slack.com/oauth/v2/authorize" in page.text
        assert "slack-app-oauth-state=" in page.headers["Set-Cookie"]
        wait_for(lambda: "workspaces install from" in log.read_text())
        assert slack.client_secret not in log.read_text()
    finally:
        process.kill()
        process.wait(10)
        slack.stop()


def _get(url: str) -> requests.Response | None:
    try:
        return requests.get(url, timeout=2)
    except requests.ConnectionError:
        return None


def test_serve_refuses_a_half_oauth_configuration_in_one_line(tmp_path):
    slack = FakeSlack().start()
    try:
        env = _environment(tmp_path, slack, SLACK_CLIENT_ID=slack.client_id)
        done = subprocess.run([sys.executable, "-m", "cli.main", "serve", "--port", "0"], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)
    finally:
        slack.stop()
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "SLACK_CLIENT_SECRET" in errors[0] and "Traceback" not in done.stderr
