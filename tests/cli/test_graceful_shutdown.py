"""SIGTERM stops `releasebot serve` gracefully: new connections are refused, a request already on its way is
still answered, the process exits 0; a second SIGTERM exits at once. A real process on loopback."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from core.crypto import generate_key
from tests.bot.helpers import wait_for
from tests.fakes.slack import FakeSlack
from tests.slack_requests import SIGNING_SECRET, SlackClient, sign


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except ConnectionRefusedError:
        return True


@pytest.fixture
def bot_process(tmp_path):
    """`releasebot serve` on a fresh SQLite file, its fake Slack, its port and its log."""
    slack = FakeSlack().start()
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "RELEASEBOT_SECRET_KEYS": generate_key(),
           "SLACK_BOT_TOKEN": slack.bot_token, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": slack.url + "/api/", "RELEASEBOT_SHUTDOWN_SECONDS": "15", "RELEASEBOT_LOG_LEVEL": "INFO"}
    env.pop("SLACK_APP_TOKEN", None)
    log = tmp_path / "serve.log"
    process = subprocess.Popen([sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1", "--port", str(port)],
                               env=env, cwd=tmp_path, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    wait_for(lambda: _healthy(f"http://127.0.0.1:{port}/healthz"), timeout=60)
    yield process, slack, port, log
    if process.poll() is None:
        process.kill()
        process.wait(10)
    slack.stop()


def _half_sent_help_request(slack: FakeSlack, port: int) -> tuple[socket.socket, bytes]:
    """A signed `/release help` whose headers and first half of the body have been sent; returns the rest."""
    body = SlackClient("http://x", team_id=slack.team_id, user_id="U0ADA").command_body("help").encode()
    head = "".join(f"{k}: {v}\r\n" for k, v in sign(body.decode()).items())
    conn = socket.create_connection(("127.0.0.1", port), timeout=20)
    conn.sendall(f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode()
                 + body[: len(body) // 2])
    return conn, body[len(body) // 2:]


def _response(conn: socket.socket) -> bytes:
    chunks = []
    while chunk := conn.recv(65536):
        chunks.append(chunk)
        if b"\r\n\r\n" in b"".join(chunks) and b"Content-Length" in b"".join(chunks):
            head, _, rest = b"".join(chunks).partition(b"\r\n\r\n")
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
            if len(rest) >= length:
                break
    return b"".join(chunks)


def test_sigterm_refuses_new_connections_answers_the_request_in_flight_and_exits_0(bot_process):
    process, slack, port, log = bot_process
    conn, rest = _half_sent_help_request(slack, port)
    time.sleep(0.3)  # the server has the headers and half the body
    process.send_signal(signal.SIGTERM)
    wait_for(lambda: _refused(port), timeout=10)
    assert process.poll() is None  # still finishing the request it has

    conn.sendall(rest)
    answer = _response(conn)
    conn.close()
    assert answer.startswith(b"HTTP/1.1 200")
    assert b"/release create" in answer  # the help text, answered after the signal
    assert process.wait(20) == 0
    output = log.read_text()
    assert "SIGTERM: finishing what is in flight" in output and "releasebot: stopped" in output
    assert "Traceback" not in output


def test_a_second_sigterm_exits_at_once_without_waiting_for_the_request(bot_process):
    process, slack, port, log = bot_process
    conn, _ = _half_sent_help_request(slack, port)  # never finished: the first SIGTERM would wait 15 s for it
    time.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    wait_for(lambda: _refused(port), timeout=10)
    process.send_signal(signal.SIGTERM)
    assert process.wait(5) == 128 + signal.SIGTERM
    conn.close()
    assert "second SIGTERM: exiting now" in log.read_text()


def test_a_worker_stops_on_sigterm_after_its_round_and_exits_0(tmp_path):
    slack = FakeSlack().start()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "RELEASEBOT_SECRET_KEYS": generate_key(),
           "SLACK_BOT_TOKEN": slack.bot_token, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
           "SLACK_API_URL": slack.url + "/api/", "RELEASEBOT_LOG_LEVEL": "INFO", "RELEASEBOT_POLL_SECONDS": "30"}
    env.pop("SLACK_APP_TOKEN", None)
    log = tmp_path / "worker.log"
    process = subprocess.Popen([sys.executable, "-m", "cli.main", "worker"], env=env, cwd=tmp_path,
                               stdout=open(log, "w"), stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "runner " in log.read_text() and "started" in log.read_text(), timeout=60)
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0  # woken from its 30 s wait, not left to finish it
    finally:
        if process.poll() is None:
            process.kill()
        slack.stop()
    assert "releasebot worker: stopped" in log.read_text()
