"""The private-network guard: which addresses an integration may reach, and connections pinned to them.

An integration's host is typed by a tenant, so it must not become a way into the bot's own network
(cloud metadata, the database, admin ports). Checking a name once and letting the client resolve it
again is not enough (DNS rebinding: the second answer can be 127.0.0.1), so every new connection
resolves the host, checks every address, and connects to an address it checked — never to the name.
"""
from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from core.errors import IntegrationError

Resolver = Callable[[str, int], list[str]]
Dialer = Callable[[tuple[str, int], "float | None", "tuple[str, int] | None"], socket.socket]

NAT64 = ipaddress.ip_network("64:ff9b::/96")
ALLOW_HINT = "set RELEASEBOT_ALLOW_PRIVATE_NETWORKS=true if this server really is on your own network"


class AddressRefusedError(IntegrationError):
    """The host resolves to an address the guard refuses. A configuration problem, not a passing failure: its
    message names the address and a setting, so it is for admins (a member is told to ask one)."""


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system's resolver gives for host:port (TCP)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def system_dialer(address: tuple[str, int], timeout: float | None, source: tuple[str, int] | None = None) -> socket.socket:
    """A TCP connection to an IP address (no name resolution happens here)."""
    return socket.create_connection(address, timeout, source_address=source)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries: IPv4-mapped, 6to4, Teredo (client) or NAT64."""
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(ip: str) -> bool:
    """True for a globally routable unicast address (and any IPv4 embedded in it is one too)."""
    try:
        address = ipaddress.ip_address(ip.split("%")[0])
    except ValueError:
        return False
    if address.version == 6:
        embedded = _embedded_ipv4(address)
        if embedded is not None and not is_public(str(embedded)):
            return False
        if address.is_site_local:  # fec0::/10: deprecated, but still routed inside some networks
            return False
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_unspecified
                                      or address.is_loopback or address.is_link_local or address.is_private)


@dataclass(frozen=True)
class NetworkGuard:
    """Resolves and dials for every client; refuses non-public addresses unless private networks are allowed."""

    allow_private: bool = False
    resolver: Resolver = field(default=system_resolver, repr=False)
    dialer: Dialer = field(default=system_dialer, repr=False)

    def addresses(self, host: str, port: int) -> list[str]:
        """The checked addresses of host:port; IntegrationError when it does not resolve or any address is refused."""
        try:
            found = self._resolve(host, port)
        except OSError:
            raise IntegrationError(f"cannot resolve {host}: check the URL") from None
        return self._checked(host, found)

    def _resolve(self, host: str, port: int) -> list[str]:
        try:
            found = self.resolver(host, port)
        except UnicodeError:
            raise socket.gaierror(socket.EAI_NONAME, "not a valid host name") from None
        if not found:
            raise socket.gaierror(socket.EAI_NONAME, "no address")
        return found

    def _checked(self, host: str, found: list[str]) -> list[str]:
        if not self.allow_private:
            refused = next((ip for ip in found if not is_public(ip)), None)
            if refused is not None:
                raise AddressRefusedError(f"{host} resolves to a private address ({refused.split('%')[0]}); {ALLOW_HINT}")
        return found

    def permits(self, host: str, port: int) -> bool:
        """Whether a connection to host:port would be allowed now (for redirects: no detail kept)."""
        try:
            self.addresses(host, port)
        except IntegrationError:
            return False
        return True

    def connect(self, host: str, port: int, timeout: float | None, source: tuple[str, int] | None = None) -> socket.socket:
        """A connection to one of host's checked addresses, resolved now for this connection only.

        A name that does not resolve raises OSError (a network failure, worth retrying), a refused
        address IntegrationError (a configuration problem)."""
        error: OSError | None = None
        for ip in self._checked(host, self._resolve(host, port)):
            try:
                return self.dialer((ip, port), timeout, source)
            except OSError as exc:
                error = exc
        assert error is not None
        raise error
