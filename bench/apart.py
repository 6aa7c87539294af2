"""Fake servers in a process of their own, as the real services are: their CPU and their GIL are then not
the measured process's. A proxy stands for each fake in the bench: reading an attribute, setting one or
calling a method is carried to the fake and its answer (pickled) carried back."""
from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any


class Apart:
    """`Apart(FakeSlack().start, github_for)`: each factory is called in the child; `proxies` stand for what they made."""

    def __init__(self, *factories: Callable[[], Any]):
        context = multiprocessing.get_context("fork")  # the factories need not be importable by name
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_host, args=(child, factories), daemon=True)
        self._process.start()
        count = self._conn.recv()
        self.proxies = [Proxy(self, i) for i in range(count)]

    def ask(self, *message) -> Any:
        self._conn.send(message)
        ok, answer = self._conn.recv()
        if not ok:
            raise answer
        return answer

    def stop(self) -> None:
        self._conn.send(None)
        self._process.join(10)


class Proxy:
    def __init__(self, apart: Apart, index: int):
        object.__setattr__(self, "_apart", apart)
        object.__setattr__(self, "_index", index)

    def __getattr__(self, name: str) -> Any:
        kind, value = self._apart.ask("get", self._index, name)
        if kind == "method":
            return lambda *args, **kwargs: self._apart.ask("call", self._index, name, args, kwargs)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        self._apart.ask("set", self._index, name, value)


def _host(conn, factories) -> None:
    fakes = [make() for make in factories]
    conn.send(len(fakes))
    while (message := conn.recv()) is not None:
        try:
            op, index, name, *rest = message
            fake = fakes[index]
            if op == "get":
                value = getattr(fake, name)
                answer = ("method", None) if callable(value) else ("value", value)
            elif op == "set":
                answer = setattr(fake, name, rest[0])
            else:
                answer = getattr(fake, name)(*rest[0], **rest[1])
                answer = answer if answer is None or isinstance(answer, str | int | float | list | dict) else None
            conn.send((True, answer))
        except Exception as exc:  # the bench sees it raised where it asked
            conn.send((False, exc))
    for fake in fakes:
        fake.stop()
