"""The one HTTP path out of the bot: URL safety, pinned connections, timeouts, bounded retries, error translation.

Every provider client that speaks HTTP itself goes through `HttpClient`; clients built on a library
(python-jenkins, jira) hand the library's requests session to `guard_session`, and translate that
library's errors at their own boundary. Either way each new connection goes through the private-network
guard (core.integrations.network): resolved, checked and dialled to the checked address, with the
Host header, SNI and certificate checks still on the name; a redirect to a refused address is not followed.
"""
from __future__ import annotations

import os
import socket
import time
from typing import Any
from urllib.parse import urljoin, urlparse

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from core import metrics
from core.errors import IntegrationError
from core.integrations.network import NetworkGuard

RETRY_STATUSES = (429, 503)
MAX_RETRIES = 3
MAX_RETRY_AFTER = 30.0


def check_url(url: str, guard: NetworkGuard) -> None:
    """Refuse non-http(s) URLs, and hosts the guard refuses (private, loopback, link-local, …) unless allowed.

    Clients call it when they are made, for an early clear message; the guard checks again at every connection."""
    parsed = urlparse(url)
    try:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
    except ValueError:
        raise IntegrationError(f"the port of {_origin(url)} is not a number from 1 to 65535: check the URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise IntegrationError(f"{_origin(url)} is not an http(s) URL")
    if not guard.allow_private:
        guard.addresses(parsed.hostname, port)


class _GuardedConnection:
    """urllib3 connection mixin: the socket comes from the guard, so it reaches a checked address."""

    guard: NetworkGuard

    def _new_conn(self) -> socket.socket:
        timeout = self.timeout if isinstance(self.timeout, (int, float)) else socket.getdefaulttimeout()
        try:
            sock = self.guard.connect(self._dns_host, self.port, timeout, self.source_address)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        except TimeoutError as exc:
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out. (connect timeout={timeout})") from exc
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") from exc
        for option in self.socket_options or ():
            sock.setsockopt(*option)
        return sock


def _pool_classes(guard: NetworkGuard) -> dict[str, type]:
    """Connection pools whose connections go through `guard` (one set per adapter: the guard is a class attribute)."""
    http = type("GuardedHTTPConnection", (_GuardedConnection, HTTPConnection), {"guard": guard})
    https = type("GuardedHTTPSConnection", (_GuardedConnection, HTTPSConnection), {"guard": guard})
    return {"http": type("GuardedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
            "https": type("GuardedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https})}


class GuardedAdapter(HTTPAdapter):
    """A requests transport whose every new connection is resolved, checked and pinned by the guard; every
    request it sends is counted for /metrics by provider, method and outcome."""

    def __init__(self, guard: NetworkGuard, service: str = "unknown", **kwargs):
        self._guard, self._pool_classes, self._service = guard, _pool_classes(guard), service
        super().__init__(**kwargs)

    def send(self, request, *args, **kwargs):
        try:
            response = super().send(request, *args, **kwargs)
        except Exception:
            metrics.count_call(self._service, request.method or "GET", "error")
            raise
        metrics.count_call(self._service, request.method or "GET", metrics.http_outcome(response.status_code))
        return response

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        if self._guard.allow_private:
            return super().proxy_manager_for(proxy, **proxy_kwargs)
        # Through a proxy the proxy resolves the name: the guard could not pin the address.
        raise IntegrationError("outgoing HTTP proxies cannot be used with integrations (the private-network guard "
                               "must see the address it connects to)")


def guard_session(session: requests.Session, guard: NetworkGuard, *, service: str, origin: str) -> requests.Session:
    """Make a session (ours, or one a library gives us) connect only through the guard, and refuse redirects
    to addresses the guard refuses."""
    adapter = GuardedAdapter(guard, service)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if guard.allow_private:
        # The environment's proxy for this origin (NO_PROXY applied) and CA bundle, read once: left to requests,
        # every call walks all of os.environ twice. (No netrc: an integration's credentials are its own.)
        session.proxies.update(requests.utils.get_environ_proxies(origin))
        session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or session.verify
    # Without the guard's check too: no proxies or netrc from the environment, what we connect to is what we checked.
    session.trust_env = False
    session.hooks["response"].append(_redirect_check(guard, service, origin))
    return session


def _redirect_check(guard: NetworkGuard, service: str, origin: str):
    def check(response: requests.Response, *args, **kwargs) -> requests.Response:
        if response.is_redirect and not _permitted(urljoin(response.url, response.headers["location"]), guard):
            response.close()
            # Nothing about the target: what answers there is none of the tenant's business.
            raise IntegrationError(f"{service} at {origin} answered with a redirect to an address the bot may not reach; "
                                   "it was not followed: use the server's own URL")
        return response
    return check


def _permitted(url: str, guard: NetworkGuard) -> bool:
    try:
        parsed = urlparse(url)
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
    except ValueError:
        return False
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return False
    return guard.allow_private or guard.permits(parsed.hostname, port)


def _origin(url: str) -> str:
    """scheme://host[:port] of a URL: what may be shown in a message (never paths with tokens)."""
    parsed = urlparse(url)
    if not parsed.hostname:
        return "the URL given"
    try:
        port = parsed.port
    except ValueError:  # out of range: say so where it matters, never crash while composing a message
        port = None
    return f"{parsed.scheme}://{parsed.hostname}" + (f":{port}" if port else "")


def retry_after_seconds(response: requests.Response, attempt: int) -> float:
    """Seconds to wait before retrying: Retry-After when given (capped), else a short backoff."""
    value = response.headers.get("Retry-After")
    try:
        return min(float(value), MAX_RETRY_AFTER) if value is not None else min(0.5 * 2**attempt, 4.0)
    except ValueError:
        return min(0.5 * 2**attempt, 4.0)


class HttpClient:
    """A requests session bound to one base URL, for one provider."""

    def __init__(
        self,
        base_url: str,
        *,
        service: str,
        guard: NetworkGuard,
        headers: dict[str, str] | None = None,
        timeout: float = 15.0,
        max_retries: int = MAX_RETRIES,
        auth: Any = None,
    ):
        check_url(base_url, guard)
        self.base_url = base_url.rstrip("/") + "/"
        self.service = service
        self.timeout = timeout
        self.max_retries = max_retries
        self.guard = guard
        self.session = guard_session(requests.Session(), guard, service=service, origin=_origin(base_url))
        self.session.headers.update(headers or {})
        self.session.auth = auth
        self.calls = 0

    def url(self, path: str) -> str:
        """An absolute URL for `path` (absolute URLs pass through, after the same safety check)."""
        if path.startswith(("http://", "https://")):
            if _origin(path) != _origin(self.base_url):
                check_url(path, self.guard)
            return path
        return urljoin(self.base_url, path.lstrip("/"))

    def request(self, method: str, path: str, *, expect: tuple[int, ...] = (200,), **kwargs) -> requests.Response:
        """Send a request; retry 429/503 honouring Retry-After; return only an expected status.

        An unexpected status is returned too when `expect` is empty, so callers can map it."""
        url = self.url(path)
        kwargs.setdefault("timeout", self.timeout)
        for attempt in range(self.max_retries + 1):
            try:
                self.calls += 1
                response = self.session.request(method, url, allow_redirects=False, **kwargs)
            except requests.Timeout:
                raise IntegrationError(f"{self.service} at {_origin(url)} did not answer in time", retryable=True) from None
            except requests.ConnectionError:
                raise IntegrationError(f"cannot reach {self.service} at {_origin(url)}", retryable=True) from None
            if response.status_code in RETRY_STATUSES and attempt < self.max_retries:
                time.sleep(retry_after_seconds(response, attempt))
                continue
            break
        if not expect or response.status_code in expect:
            return response
        raise self.error(response)

    def error(self, response: requests.Response, what: str | None = None) -> IntegrationError:
        """A message for an unexpected answer, naming the status and never echoing credentials."""
        status = response.status_code
        reason = what or {
            401: "rejected the credentials",
            403: "refused: the credentials lack a permission",
            404: "has no such resource",
            429: "is rate-limiting the bot; try again later",
        }.get(status, "failed" if status >= 500 else "refused the request")
        return IntegrationError(f"{self.service} {reason} ({status})", status=status, retryable=status in (429, 502, 503, 504))

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)
