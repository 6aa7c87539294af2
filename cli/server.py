"""`releasebot serve` (the Slack bot over HTTP or Socket Mode, with its follower) and `releasebot worker`."""
from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import threading
import time

import click
import waitress
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer

from bot.app import LISTENER_THREADS, build_bot, make_follower, slack_clients
from bot.observe import Observed
from bot.web import MAX_BODY_BYTES, WebApp
from core import logs
from core.errors import ConfigurationError
from core.runtime import Runtime

log = logging.getLogger("releasebot")
pass_runtime = click.make_pass_decorator(Runtime)


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


def _prepare(rt: Runtime, migrate: bool) -> None:
    # A server says what it does unless told otherwise.
    logs.configure(rt.settings.log_level_or(logging.INFO), json=rt.settings.log_format == "json")
    if migrate:
        before, after = rt.migrate()
        if before == after:
            log.info("database schema already at %s", after)
        else:
            log.info("database schema migrated from %s to %s", before or "nothing", after)
    rt.require_current_schema()


def _listening(rt: Runtime, host: str, port: int):
    try:
        return make_server(rt, host, port)
    except OSError as exc:  # waitress binds in create_server: a busy port, an unknown host, a privileged port
        hint = {errno.EADDRINUSE: "another process is listening there: stop it or pick another --port",
                errno.EACCES: "ports below 1024 need privileges: pick another --port"}.get(
            exc.errno, "check --host and --port")
        raise ConfigurationError(f"cannot listen on {host}:{port} ({exc.strerror or exc}): {hint}") from None
    except ValueError:  # waitress could not resolve --host
        raise ConfigurationError(f"cannot listen on {host}:{port}: the host is not an address of this machine: "
                                 "check --host (e.g. 0.0.0.0 or 127.0.0.1)") from None


@click.command()
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", default=3000, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option("--no-migrate", is_flag=True, help="Do not apply pending migrations first.")
@click.option("--no-follower", is_flag=True, help="Leave following builds to `releasebot worker` processes.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="HTTP processes sharing the port (the follower runs in the first); about one per core.")
@pass_runtime
def serve(rt: Runtime, host: str, port: int, no_migrate: bool, no_follower: bool, workers: int) -> None:
    """Run the Slack bot: HTTP on /slack/events (or Socket Mode when SLACK_APP_TOKEN is set)."""
    _prepare(rt, not no_migrate)
    if workers > 1 and not rt.settings.slack_app_token:
        serve_workers(rt, host, port, workers, follower=not no_follower)
        return
    if rt.settings.slack_app_token:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        bot = build_bot(rt)
        if not no_follower:
            bot.follower.start()
        log.info("releasebot: Socket Mode")
        SocketModeHandler(bot.app, rt.settings.slack_app_token).start()
        return
    termination = Termination.install()
    server, bot = _listening(rt, host, port)
    following = bot.follower.start() if not no_follower else None
    log.info("releasebot: listening on http://%s:%s/slack/events", host, server.effective_port)
    if rt.settings.oauth_enabled:
        log.info("releasebot: OAuth mode: workspaces install from http://%s:%s/slack/install", host, server.effective_port)
    serve_until_terminated(server, termination, rt.settings.shutdown_seconds)
    deadline = termination.deadline(rt.settings.shutdown_seconds)
    if following:
        _stop_runner(bot.follower, *following, deadline)
    log.info("releasebot: stopped")


def serve_workers(rt: Runtime, host: str, port: int, workers: int, *, follower: bool) -> None:
    """`serve --workers N`: bind the port once, then fork N processes that each accept on it with their own
    interpreter (one GIL each: a request's CPU work no longer waits for the others'), waitress and database
    pool; the follower runs in the first only. SIGTERM is passed on: each process stops as `serve` does (stop
    accepting, answer what is in flight, finish the runner's round) and this one exits 0 when all have; a
    second SIGTERM ends them at once."""
    try:
        listener = socket.create_server((host, port), backlog=1024)
    except OSError as exc:
        hint = {errno.EADDRINUSE: "another process is listening there: stop it or pick another --port",
                errno.EACCES: "ports below 1024 need privileges: pick another --port"}.get(exc.errno, "check --host and --port")
        raise ConfigurationError(f"cannot listen on {host}:{port} ({exc.strerror or exc}): {hint}") from None
    rt.engine.dispose()  # no pooled connection crosses a fork
    children = []
    for index in range(workers):
        pid = os.fork()
        if pid == 0:  # a worker process: serve on the shared socket until told to stop, then leave
            code = 0
            try:
                _serve_one(rt, listener, follower=follower and index == 0)
            except BaseException:  # noqa: BLE001 (a child must never return into the parent's code)
                log.exception("releasebot: worker process %d failed", index)
                code = 1
            finally:
                logging.shutdown()
                os._exit(code)
        children.append(pid)
    listener.close()
    log.info("releasebot: listening on http://%s:%s/slack/events with %d processes (%s)", host,
             listener.getsockname()[1] if port == 0 else port, workers, ", ".join(map(str, children)))
    _wait_for_children(children)
    log.info("releasebot: stopped")


def _serve_one(rt: Runtime, listener: socket.socket, *, follower: bool) -> None:
    termination = Termination.install()
    threading.Thread(target=_stop_when_orphaned, args=(os.getppid(),), name="parent-watch", daemon=True).start()
    server, bot = make_server(rt, "", 0, sockets=[listener])
    following = bot.follower.start() if follower else None
    serve_until_terminated(server, termination, rt.settings.shutdown_seconds)
    if following:
        _stop_runner(bot.follower, *following, termination.deadline(rt.settings.shutdown_seconds))


def _stop_when_orphaned(parent: int) -> None:
    """A worker process whose parent died (killed, so it could not pass a signal on) stops as on SIGTERM,
    rather than serving on alone."""
    while os.getppid() == parent:
        time.sleep(1)
    log.warning("releasebot: the parent process is gone: stopping")
    os.kill(os.getpid(), signal.SIGTERM)


def _wait_for_children(children: list[int]) -> None:
    """Pass SIGTERM/SIGINT on to the worker processes (a second one kills them) and wait for them all."""
    signals_seen = []

    def forward(signum, frame) -> None:
        signals_seen.append(signum)
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL if len(signals_seen) > 1 else signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    alive, failed = set(children), False
    while alive:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        alive.discard(pid)
        failed = failed or os.waitstatus_to_exitcode(status) != 0
        if alive and not signals_seen:  # one died unasked: stop the others rather than serve half-broken
            log.error("releasebot: worker process %d exited: stopping the others", pid)
            forward(signal.SIGTERM, None)
    if failed and len(signals_seen) < 2:
        raise SystemExit(1)


@click.command()
@click.option("--no-migrate", is_flag=True, help="Do not apply pending migrations first.")
@click.option("--metrics-port", type=click.IntRange(1, 65535), help="Serve Prometheus metrics on this port (/metrics).")
@click.option("--metrics-host", default="0.0.0.0", show_default=True, help="The address --metrics-port listens on.")
@pass_runtime
def worker(rt: Runtime, no_migrate: bool, metrics_port: int | None, metrics_host: str) -> None:
    """Follow builds and deliver notifications only (run several against one MySQL, or one SQLite file on one machine)."""
    _prepare(rt, not no_migrate)
    termination = Termination.install()
    follower = make_follower(rt, slack_clients(rt))
    if metrics_port:
        _serve_metrics(rt, follower, metrics_host, metrics_port)
    thread, stop = follower.start()
    while not termination.requested:
        thread.join(0.5)
    _stop_runner(follower, thread, stop, termination.deadline(rt.settings.shutdown_seconds))
    log.info("releasebot worker: stopped")


def _serve_metrics(rt: Runtime, runner, host: str, port: int) -> None:
    from prometheus_client import start_http_server

    from core.metrics import registry_for

    try:
        start_http_server(port, host, registry=registry_for(rt, lambda: runner.last_round_at or runner.started_at))
    except OSError as exc:
        raise ConfigurationError(f"cannot serve metrics on {host}:{port} ({exc.strerror or exc}): pick another "
                                 "--metrics-port") from None
    log.info("releasebot worker: metrics on http://%s:%s/metrics", host, port)


class Termination:
    """SIGTERM (or Ctrl-C) asks for a graceful stop; a second one exits at once."""

    def __init__(self):
        self.requested_at: float | None = None

    @classmethod
    def install(cls) -> Termination:
        termination = cls()
        signal.signal(signal.SIGTERM, termination._signalled)
        signal.signal(signal.SIGINT, termination._signalled)
        return termination

    @property
    def requested(self) -> bool:
        return self.requested_at is not None

    def deadline(self, grace: float) -> float:
        return (self.requested_at or time.monotonic()) + grace

    def _signalled(self, signum, frame) -> None:
        if self.requested:
            log.warning("releasebot: second %s: exiting now", signal.Signals(signum).name)
            os._exit(128 + signum)
        self.requested_at = time.monotonic()
        log.info("releasebot: %s: finishing what is in flight, then exiting", signal.Signals(signum).name)


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


def _stop_runner(runner, thread: threading.Thread, stop: threading.Event, deadline: float) -> None:
    """Let the runner finish its round (until the deadline), then give back what it still holds."""
    stop.set()
    runner.wake()
    thread.join(max(0.0, deadline - time.monotonic()))
    released = runner.release_claims()
    if thread.is_alive():
        log.warning("releasebot: the runner did not finish its round in time; %d claim(s) released", released)
    elif released:
        log.info("releasebot: %d claim(s) released", released)
