"""What every fake server shares: a threaded HTTP server on 127.0.0.1, a request log, and knobs to
make it fail, slow down, lose its answers or disappear. Each fake subclasses FakeServer and registers routes."""
from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode())


@dataclass
class Response:
    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if isinstance(self.body, (dict, list)):
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
            return json.dumps(self.body).encode(), headers
        if isinstance(self.body, str):
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
            return self.body.encode(), headers
        return self.body, headers


@dataclass
class Failure:
    """A scripted failure: answer `response` to the next `times` requests matching `path_regex`."""

    response: Response
    path_regex: str = ".*"
    method: str | None = None
    times: int = 1


class Gate(threading.Event):
    """What `hold` returns: set it to let the held requests go; `holding` is set once one waits at it."""

    def __init__(self) -> None:
        super().__init__()
        self.holding = threading.Event()


@dataclass
class Hold:
    """Requests matching `pattern` wait at `gate`: before they are carried out, or, `answered`, with their answer
    made (what the remote system held when asked) and not sent yet. `times`: the next so many; None: all."""

    pattern: re.Pattern
    gate: Gate
    answered: bool = False
    times: int | None = None


@dataclass
class Loss:
    """A scripted lost answer: the next `times` requests matching `path_regex` are carried out, then their
    connection closes `after` seconds later without an answer."""

    path_regex: str
    method: str | None = None
    times: int = 1
    after: float = 0.0


Handler = Callable[[Request, re.Match], Response]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default listen backlog is 5: a burst of connections (a benchmark's 50 modals opening at
    # once) overflowed it and each dropped connection waited for TCP's 1 s retry, which a real provider never
    # makes a client do.
    request_queue_size = 1024

    def handle_error(self, request, client_address) -> None:
        # A client that timed out or was killed leaves a broken pipe behind: expected, not news.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeServer:
    """Subclasses call `route(method, regex, handler)` in `setup_routes`."""

    name = "fake"

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.failures: list[Failure] = []
        self.delay = 0.0
        self.holds: list[Hold] = []
        self.losses: list[Loss] = []  # requests carried out whose answers never reach the client
        self.lock = threading.RLock()
        self._routes: list[tuple[str, re.Pattern, Handler]] = []
        self.setup_routes()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None

    # --- lifecycle -----------------------------------------------------------------------
    def start(self) -> FakeServer:
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave in two writes: with Nagle on, delayed ACKs add ~40 ms to each answer.
            disable_nagle_algorithm = True

            def log_message(self, *args):  # quiet
                pass

            def _handle(self):
                fake._dispatch(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle

        self._server = _Server(("127.0.0.1", 0), _Handler)
        host, port = self._server.server_address[:2]
        self._url = f"http://{host}:{port}"  # kept after stop(): a request in flight may still render it
        # A short poll interval: stop() waits up to one interval, and tests stop a fake each.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Disappear: close the listening socket (later connections are refused)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._url is not None, "fake not started"
        return self._url

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- knobs ---------------------------------------------------------------------------
    def fail(self, status: int, body: Any = b"", *, path: str = ".*", method: str | None = None,
             times: int = 1, headers: dict[str, str] | None = None) -> None:
        """Answer `status` to the next `times` requests whose path matches `path`."""
        with self.lock:
            self.failures.append(Failure(Response(status, body, headers or {}), path, method, times))

    def hold(self, path_regex: str, *, answered: bool = False, times: int | None = None) -> Gate:
        """Keep requests whose path matches waiting until the returned gate is set (30 s at most); `answered`: hold
        their answer, made when they came, instead; `times`: only the next so many such requests."""
        gate = Gate()
        with self.lock:
            self.holds.append(Hold(re.compile(path_regex), gate, answered, times))
        return gate

    def lose_answers(self, path_regex: str, *, times: int = 1, after: float = 0.0) -> None:
        """Carry out the next `times` requests whose path matches, then close the connection without answering
        (after `after` seconds: past the client's timeout, it is a timeout). The remote system did the work; the
        client cannot know it."""
        with self.lock:
            self.losses.append(Loss(path_regex, times=times, after=after))

    def calls(self, method: str | None = None, path_regex: str = ".*") -> list[Request]:
        """The requests received, optionally filtered."""
        with self.lock:
            return [r for r in self.requests if (method is None or r.method == method) and re.search(path_regex, r.path)]

    # --- routing -------------------------------------------------------------------------
    def setup_routes(self) -> None:
        raise NotImplementedError

    def route(self, method: str, regex: str, handler: Handler) -> None:
        self._routes.append((method, re.compile(f"^{regex}$"), handler))

    def not_found(self, request: Request) -> Response:
        return Response(404, {"message": "Not Found"})

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        parsed = urlparse(h.path)
        request = Request(h.command, parsed.path, parse_qs(parsed.query), {k: v for k, v in h.headers.items()}, body)
        with self.lock:
            self.requests.append(request)
        self._wait_at_holds(request, answered=False)
        with self.lock:  # after the hold: a failure scripted while a request waits applies to it
            failure = self._take_failure(request)
            lost = self._take_scripted(self.losses, request)
        if self.delay:
            time.sleep(self.delay)
        response = failure or self._route(request)
        self._wait_at_holds(request, answered=True)
        if lost is not None:
            time.sleep(lost.after)
            h.close_connection = True  # no status line: the client sees the connection end (or its timeout)
            return
        payload, headers = response.encoded()
        h.send_response(response.status)
        for key, value in headers.items():
            h.send_header(key, value)
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(payload)

    def _wait_at_holds(self, request: Request, *, answered: bool) -> None:
        with self.lock:
            matching = [h for h in self.holds if h.answered == answered and h.pattern.search(request.path)]
            for h in matching:
                if h.times is not None:
                    h.times -= 1
                    if h.times <= 0:
                        self.holds.remove(h)
        for h in matching:
            h.gate.holding.set()
            h.gate.wait(30)

    def _take_failure(self, request: Request) -> Response | None:
        failure = self._take_scripted(self.failures, request)
        return failure.response if failure else None

    @staticmethod
    def _take_scripted(scripted: list, request: Request):
        for failure in scripted:
            if (failure.method in (None, request.method)) and re.search(failure.path_regex, request.path):
                failure.times -= 1
                if failure.times <= 0:
                    scripted.remove(failure)
                return failure
        return None

    def _route(self, request: Request) -> Response:
        for method, pattern, handler in self._routes:
            match = pattern.match(request.path)
            if match and method == request.method:
                with self.lock:
                    return handler(request, match)
        return self.not_found(request)
