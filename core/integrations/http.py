"""The one HTTP path out of the bot: URL safety, timeouts, bounded retries, error translation.

Every provider client that speaks HTTP itself goes through `HttpClient`; clients built on a library
(python-jenkins, jira, slack_sdk) call `check_url` on their base URL and translate that library's
errors at their own boundary.
"""
from __future__ import annotations

import ipaddress
import socket
import time
from typing import Any
from urllib.parse import urljoin, urlparse

import requests

from core.errors import IntegrationError

RETRY_STATUSES = (429, 503)
MAX_RETRIES = 3
MAX_RETRY_AFTER = 30.0


def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse non-http(s) URLs, and private, loopback or link-local hosts unless allowed.

    An integration's base URL is typed by a tenant: it must not become a way to reach the bot's own
    network (cloud metadata, the database, admin ports)."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise IntegrationError(f"{_origin(url)} is not an http(s) URL")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parsed.hostname, parsed.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise IntegrationError(f"cannot resolve {parsed.hostname}: check the URL") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if address.is_private or address.is_loopback or address.is_link_local or address.is_reserved \
                or address.is_multicast or address.is_unspecified:
            raise IntegrationError(
                f"{parsed.hostname} resolves to a private address ({address}); set "
                "RELEASEBOT_ALLOW_PRIVATE_NETWORKS=true if this server really is on your own network"
            )


def _origin(url: str) -> str:
    """scheme://host[:port] of a URL: what may be shown in a message (never paths with tokens)."""
    parsed = urlparse(url)
    if not parsed.hostname:
        return "the URL given"
    return f"{parsed.scheme}://{parsed.hostname}" + (f":{parsed.port}" if parsed.port else "")


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
        allow_private: bool,
        headers: dict[str, str] | None = None,
        timeout: float = 15.0,
        max_retries: int = MAX_RETRIES,
        auth: Any = None,
    ):
        check_url(base_url, allow_private=allow_private)
        self.base_url = base_url.rstrip("/") + "/"
        self.service = service
        self.timeout = timeout
        self.max_retries = max_retries
        self.session = requests.Session()
        self.session.headers.update(headers or {})
        self.session.auth = auth
        self.allow_private = allow_private
        self.calls = 0

    def url(self, path: str) -> str:
        """An absolute URL for `path` (absolute URLs pass through, after the same safety check)."""
        if path.startswith(("http://", "https://")):
            if _origin(path) != _origin(self.base_url):
                check_url(path, allow_private=self.allow_private)
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
