"""`releasebot worker --metrics-port` serves the same Prometheus metrics as `serve`'s /metrics: its runner's
rounds and lag, and what the database owes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import requests
from prometheus_client.parser import text_string_to_metric_families

from core.crypto import generate_key
from tests.bot.helpers import wait_for
from tests.cli.test_graceful_shutdown import _free_port
from tests.fakes.slack import FakeSlack
from tests.slack_requests import SIGNING_SECRET


def _samples(url: str) -> dict[str, float]:
    try:
        text = requests.get(url, timeout=2).text
    except requests.ConnectionError:
        return {}
    return {s.name + str(sorted(s.labels.items())): s.value for f in text_string_to_metric_families(text) for s in f.samples}


def test_a_worker_serves_its_runners_metrics_on_the_port_it_is_given(tmp_path):
    slack, port = FakeSlack().start(), _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "RELEASEBOT_SECRET_KEYS": generate_key(),
           "SLACK_BOT_TOKEN": slack.bot_token, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": slack.url + "/api/", "RELEASEBOT_POLL_SECONDS": "0.2"}
    env.pop("SLACK_APP_TOKEN", None)
    process = subprocess.Popen([sys.executable, "-m", "cli.main", "worker", "--metrics-port", str(port),
                                "--metrics-host", "127.0.0.1"], env=env, cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        samples = wait_for(lambda: (s := _samples(url)).get("releasebot_runner_round_seconds_count[]", 0) >= 3 and s,
                           timeout=60)
        assert samples["releasebot_runner_lag_seconds[]"] < 5
        assert samples["releasebot_builds[('state', 'RUNNING')]"] == 0
        assert samples["releasebot_owed_deliveries[('kind', 'notification')]"] == 0
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
        slack.stop()
