"""`serve --workers N`: one listening socket shared by N forked HTTP processes, which stop together."""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time

from cli.http_server import cannot_listen, make_server, serve_until_terminated
from cli.shutdown import Termination, stop_runner
from core.runtime import Runtime

log = logging.getLogger("releasebot")


def serve_workers(rt: Runtime, host: str, port: int, workers: int, *, follower: bool) -> None:
    """`serve --workers N`: bind the port once, then fork N processes that each accept on it with their own
    interpreter (one GIL each: a request's CPU work no longer waits for the others'), waitress and database
    pool; the follower runs in the first only. SIGTERM is passed on: each process stops as `serve` does (stop
    accepting, answer what is in flight, finish the runner's round) and this one exits 0 when all have; a
    second SIGTERM ends them at once."""
    try:
        listener = socket.create_server((host, port), backlog=1024)
    except OSError as exc:
        raise cannot_listen(host, port, exc) from None
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
        stop_runner(bot.follower, *following, termination.deadline(rt.settings.shutdown_seconds))


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
