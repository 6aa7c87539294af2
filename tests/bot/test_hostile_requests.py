"""Requests meant to hurt the server before they are authenticated: huge bodies, bodies that cannot be parsed,
clients that never finish their headers. The real server (waitress + Bolt) on loopback answers them all."""
from __future__ import annotations

import logging
import socket
import threading
import time
from urllib.parse import urlparse

import pytest
import requests

from tests.slack_requests import sign

MB = 1024 * 1024


def _connect(running_bot) -> socket.socket:
    url = urlparse(running_bot.url)
    return socket.create_connection((url.hostname, url.port), timeout=10)


def _status(sock: socket.socket) -> str:
    """The status line the server answered with ('' when it closed without one)."""
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return data.split(b"\r\n", 1)[0].decode("latin-1")


def _answered(sock: socket.socket) -> bool:
    sock.settimeout(0)
    try:
        sock.recv(1, socket.MSG_PEEK)  # data, or b"" when it hung up: either way it has answered
        return True
    except BlockingIOError:
        return False
    finally:
        sock.settimeout(10)


def _post_huge(running_bot, path: str, size: int, *, chunked: bool) -> str:
    """POST `size` bytes of garbage (announced by Content-Length, or streamed in chunks), stopping as soon as
    the server answers or hangs up; the status line it answered with."""
    sock = _connect(running_bot)
    framing = b"Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}".encode()
    sock.sendall(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                 + framing + b"\r\n\r\n")
    piece = b"a" * (256 * 1024)
    frame = (b"%x\r\n" % len(piece) + piece + b"\r\n") if chunked else piece
    try:
        for _ in range(size // len(piece)):
            if _answered(sock):
                break
            sock.sendall(frame)
        if chunked and not _answered(sock):
            sock.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server refused the rest
    try:
        return _status(sock)
    finally:
        sock.close()


def _rss() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))


@pytest.mark.parametrize("path", ["/slack/events", "/webhooks/github", "/webhooks/jenkins/some-pipeline"])
def test_a_body_announced_larger_than_its_route_accepts_is_refused_with_413_unread(running_bot, path):
    sock = _connect(running_bot)
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {200 * MB}\r\n\r\n".encode())
    assert " 413 " in _status(sock)  # answered although not one byte of the body was sent
    sock.close()


def test_a_slack_body_over_one_mebibyte_is_refused_with_413(running_bot):
    assert " 413 " in _post_huge(running_bot, "/slack/events", 2 * MB, chunked=False)
    assert " 413 " in _post_huge(running_bot, "/slack/events", 2 * MB, chunked=True)


def test_four_concurrent_200_megabyte_posts_leave_the_servers_memory_flat(running_bot):
    before, peak, statuses = _rss(), [0], []
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.005)

    def post(chunked):
        statuses.append(_post_huge(running_bot, "/slack/events", 200 * MB, chunked=chunked))

    sampler = threading.Thread(target=sample)
    sampler.start()
    posts = [threading.Thread(target=post, args=(i % 2 == 1,)) for i in range(4)]
    for t in posts:
        t.start()
    for t in posts:
        t.join(120)
    done.set()
    sampler.join()
    grown = (peak[0] - before) / MB
    print(f"peak RSS growth during four 200 MB posts: {grown:.1f} MiB")
    assert all(" 413 " in s for s in statuses), statuses
    assert grown < 40


UNSIGNED = [b"{", b"payload={", b"payload=[1]", b"payload=null", b"\xff\xfe\xfa"]
SIGNED = [b"{", b"payload={", b"payload=[1]", b"payload=null", b"[1]", b"", b"payload=%7B%22type%22%3A%5B%5D%7D",
          b"payload=%7B%22type%22%3A%22block_actions%22%2C%22team%22%3A%22x%22%7D"]


@pytest.mark.parametrize("body", UNSIGNED)
def test_an_unsigned_body_that_cannot_be_parsed_gets_401_and_no_traceback(running_bot, body, caplog):
    with caplog.at_level(logging.DEBUG):
        answer = requests.post(running_bot.url + "/slack/events", data=body, timeout=5,
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 401
    assert [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("body", SIGNED)
def test_a_signed_body_that_cannot_be_parsed_gets_400_saying_why(running_bot, body, caplog):
    with caplog.at_level(logging.DEBUG):
        answer = requests.post(running_bot.url + "/slack/events", data=body, timeout=5, headers=sign(body.decode()))
    assert answer.status_code == 400 and answer.text.startswith("unreadable Slack request: ")
    assert [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


def test_a_webhook_body_that_is_not_the_providers_shape_gets_400(running_bot, caplog):
    for body in (b"[1]", b"{", b'{"workflow_run": 1}', b"\xff"):
        with caplog.at_level(logging.DEBUG):
            answer = requests.post(running_bot.url + "/webhooks/github", data=body, timeout=5,
                                   headers={"X-GitHub-Event": "workflow_run"})
        assert answer.status_code == 400
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []


def test_slow_clients_cannot_hold_the_server_and_are_hung_up_on(running_bot):
    slow = []
    for _ in range(130):  # more than waitress's old limit of 100 connections
        sock = _connect(running_bot)
        sock.sendall(b"POST /slack/events HTTP/1.1\r\n")  # and then nothing for a long while
        slow.append(sock)
    opened = time.monotonic()
    try:
        assert requests.get(running_bot.url + "/healthz", timeout=3).text == "ok"
        helped = running_bot.as_user().command("help")
        assert helped.status_code == 200 and "/release create" in helped.json()["text"]
        answered = time.monotonic() - opened
        for sock in slow:  # the server closes each idle socket after its channel timeout
            sock.settimeout(15)
            assert _status(sock) in ("", "HTTP/1.1 408 Request Timeout")
        print(f"{len(slow)} slow sockets: /healthz and /release help answered after {answered:.2f}s, "
              f"all hung up on after {time.monotonic() - opened:.1f}s")
    finally:
        for sock in slow:
            sock.close()
