"""A simulated internet for guard tests, all on loopback: scripted DNS answers, "public" addresses routed
to local servers, and a victim listener standing in for the bot's own network.

Nothing here connects beyond 127.0.0.1: a dial to an address that is neither routed nor loopback fails.
"""
from __future__ import annotations

import ipaddress
import socket
import threading

from core.integrations.base import ProviderContext
from tests.fakes.base import FakeServer, Request, Response

PUBLIC = "93.184.216.34"  # documented public addresses; never dialled for real, always routed to a local server
OTHER_PUBLIC = "93.184.216.35"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class Victim:
    """A listener on 127.0.0.1 standing in for what the guard protects: it counts every connection it gets."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self.connections = 0
        self._open = True
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while self._open:
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._open = False
        self._thread.join(2)
        self._sock.close()


class Network:
    """DNS and routing as the client sees them. `answer(host, a, b)`: the first lookup of host gets a, later ones b."""

    def __init__(self) -> None:
        self._answers: dict[str, list[list[str]]] = {}
        self._routes: dict[str, int] = {}
        self._sockets: list[socket.socket] = []
        self.lookups: list[str] = []

    def answer(self, host: str, *answers: str | list[str]) -> None:
        """Script host's answers, one per lookup; the last one repeats."""
        self._answers[host] = [[a] if isinstance(a, str) else list(a) for a in answers]

    def route(self, address: str, port: int) -> None:
        """Packets to `address` (any port) reach the local server on 127.0.0.1:port."""
        self._routes[address] = port

    def resolve(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if _is_ip(host):
            return [host.strip("[]")]  # as getaddrinfo does: an address literal is its own answer
        script = self._answers.get(host)
        if not script:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} is not in the test network")
        return script.pop(0) if len(script) > 1 else script[0]

    def dial(self, address: tuple[str, int], timeout: float | None, source=None) -> socket.socket:
        ip, port = address
        if ip in self._routes:
            sock = socket.create_connection(("127.0.0.1", self._routes[ip]), timeout)
        elif ipaddress.ip_address(ip.split("%")[0]).is_loopback:
            sock = socket.create_connection((ip, port), timeout)
        else:
            raise ConnectionRefusedError(f"no route to {ip} in the test network")
        self._sockets.append(sock)
        return sock

    def drop_connections(self) -> None:
        """Close every open connection, as servers do with idle keep-alive ones: the next request dials anew."""
        for sock in self._sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._sockets.clear()

    def context(self, *, private: bool = False, timeout: float = 5.0) -> ProviderContext:
        return ProviderContext(allow_private_networks=private, timeout=timeout, resolver=self.resolve, dialer=self.dial)


class Redirector(FakeServer):
    """A "public" server that answers every request with a redirect to `location`."""

    name = "redirector"

    def __init__(self, location: str, status: int = 302) -> None:
        self.location, self.status = location, status
        super().__init__()

    def setup_routes(self) -> None:
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"):
            self.route(method, ".*", self._redirect)

    def _redirect(self, request: Request, match) -> Response:
        return Response(self.status, b"", {"Location": self.location})


class Hello(FakeServer):
    """A server that answers 200 "hello" to any GET."""

    name = "hello"

    def setup_routes(self) -> None:
        self.route("GET", ".*", lambda request, match: Response(200, "hello"))
