"""Slack requests this process is answering, up to their ack. In a `serve` that runs its follower, the runner's
steps wait for none to be in flight before they start (for at most a second): an ack has Slack's 3 s, a step
has minutes, and both share one interpreter lock."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class InFlight:
    def __init__(self):
        self._count = 0
        self._changed = threading.Condition()

    @contextmanager
    def request(self) -> Iterator[None]:
        """Around answering one request (its ack)."""
        with self._changed:
            self._count += 1
        try:
            yield
        finally:
            with self._changed:
                self._count -= 1
                if self._count == 0:
                    self._changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is in flight (True), or `timeout` seconds (False)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._count == 0, timeout)
