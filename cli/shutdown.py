"""Stopping gracefully, for `serve` and `worker`: a signal asks for a stop, and the runner finishes its round
and gives back what it holds."""
from __future__ import annotations

import logging
import os
import signal
import threading
import time

log = logging.getLogger("releasebot")


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


def stop_runner(runner, thread: threading.Thread, stop: threading.Event, deadline: float) -> None:
    """Let the runner finish its round (until the deadline), then give back what it still holds."""
    stop.set()
    runner.wake()
    thread.join(max(0.0, deadline - time.monotonic()))
    released = runner.release_claims()
    if thread.is_alive():
        log.warning("releasebot: the runner did not finish its round in time; %d claim(s) released", released)
    elif released:
        log.info("releasebot: %d claim(s) released", released)
