"""The HTTP side of `serve`: waitress with our limits and a deadline per request, and, when asked to stop,
a drain of the requests in flight."""
from __future__ import annotations

import errno
import socket
import time

import waitress
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer

from bot.app import LISTENER_THREADS, build_bot
from bot.observe import Observed
from bot.web import MAX_BODY_BYTES, WebApp
from cli.shutdown import Termination
from core.errors import ConfigurationError
from core.runtime import Runtime

# Slow or idle clients must not hold the server: a connection silent for `channel_timeout` seconds (checked every
# second) is closed, and there is room for many more connections than worker threads. Bodies larger than the
# largest route accepts are refused by waitress itself, before they are read. poll() lifts select()'s 1024-fd cap.
HTTP_LIMITS = dict(channel_timeout=4, cleanup_interval=1, connection_limit=1000, asyncore_use_poll=True,
                   max_request_header_size=64 * 1024, max_request_body_size=MAX_BODY_BYTES)
HEADER_SECONDS = 3  # a request's headers arrive in one packet; a client trickling them is hung up on
REQUEST_SECONDS = 30  # and its body (5 MiB at most) has this long, however it trickles


class DeadlineChannel(HTTPChannel):
    """A waitress channel that hangs up on a request still incomplete after its deadline (the idle timeout
    alone lets a client that sends a byte every few seconds keep a connection for ever)."""

    began = 0.0

    def received(self, data: bytes) -> bool:
        if self.request is None:
            self.began = time.monotonic()
        elif time.monotonic() - self.began > (REQUEST_SECONDS if self.request.headers_finished else HEADER_SECONDS):
            self.will_close = True  # the server's loop closes it at once
            return False
        return super().received(data)


def make_server(runtime: Runtime, host: str, port: int, sockets: list[socket.socket] | None = None):
    """A waitress server for the bot and its follower (call `.run()` to serve), on `host:port` or on the
    already bound `sockets` (a `--workers` process shares its parent's)."""
    bot = build_bot(runtime)
    where = dict(sockets=sockets) if sockets else dict(host=host, port=port)
    server = waitress.create_server(Observed(WebApp(bot, runtime), runtime, bot.follower), threads=LISTENER_THREADS,
                                    ident="releasebot", **where, **HTTP_LIMITS)
    # One server per address the host resolves to (MultiSocketServer) or just one.
    for listener in [server, *getattr(server, "map", {}).values()]:
        if hasattr(listener, "channel_class"):
            listener.channel_class = DeadlineChannel
    return server, bot


def listening(rt: Runtime, host: str, port: int):
    """`make_server` on `host:port`, or a ConfigurationError saying why it cannot listen there."""
    try:
        return make_server(rt, host, port)
    except OSError as exc:  # waitress binds in create_server: a busy port, an unknown host, a privileged port
        raise cannot_listen(host, port, exc) from None
    except ValueError:  # waitress could not resolve --host
        raise ConfigurationError(f"cannot listen on {host}:{port}: the host is not an address of this machine: "
                                 "check --host (e.g. 0.0.0.0 or 127.0.0.1)") from None


def cannot_listen(host: str, port: int, exc: OSError) -> ConfigurationError:
    """The one line for a port that cannot be bound, with what to do about it."""
    hint = {errno.EADDRINUSE: "another process is listening there: stop it or pick another --port",
            errno.EACCES: "ports below 1024 need privileges: pick another --port"}.get(exc.errno, "check --host and --port")
    return ConfigurationError(f"cannot listen on {host}:{port} ({exc.strerror or exc}): {hint}")


def serve_until_terminated(server, termination: Termination, grace: float) -> None:
    """Serve until asked to stop; then stop accepting, answer the requests already received or being received
    (for at most `grace` seconds after the signal) and close every connection."""
    socket_map = getattr(server, "map", None) or server._map
    listeners = [d for d in list(socket_map.values()) if isinstance(d, BaseWSGIServer)]
    while not termination.requested:
        wasyncore.loop(timeout=0.5, map=socket_map, use_poll=True, count=1)
    for listener in listeners:  # new connections are refused from here on
        listener.accepting = False
        wasyncore.dispatcher.close(listener)  # the listening socket only; the trigger still wakes the loop
    deadline = termination.deadline(grace)
    while _in_flight(socket_map, listeners[0].task_dispatcher) and time.monotonic() < deadline:
        wasyncore.loop(timeout=0.1, map=socket_map, use_poll=True, count=1)
    listeners[0].task_dispatcher.shutdown(timeout=max(0.0, deadline - time.monotonic()))
    for listener in listeners:
        listener.trigger.close()
    wasyncore.close_all(socket_map)


def _in_flight(socket_map, dispatcher) -> bool:
    """A request being received, waiting, being answered or not yet sent (idle keep-alive connections are not)."""
    channels = [c for c in socket_map.values() if isinstance(c, HTTPChannel)]
    return bool(dispatcher.queue or any(c.request is not None or c.requests or c.total_outbufs_len for c in channels))
