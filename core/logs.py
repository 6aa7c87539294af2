"""The one logging setup of the CLI, `serve` and `worker`: a root handler whose formatter escapes
control characters, so text from a payload can neither forge a log line nor drive a terminal."""
from __future__ import annotations

import logging
import re
import sys

# C0 and C1 controls, DEL, line/paragraph separators and the bidi overrides ("Trojan source").
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def escape(text: str) -> str:
    """`text` with every control character written as a visible escape (\\n, \\x1b, \\u2028)."""
    return _CONTROL.sub(lambda m: _NAMED.get(m.group()) or (f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                                                              else f"\\u{ord(m.group()):04x}"), text)


def _indented(text: str) -> str:
    # A traceback keeps its lines, indented, so only a record's first line ever starts at column 0:
    # an exception message carrying "\n2026-01-01 ERROR …" cannot pass for a record of its own.
    return "\n".join("  " + escape(line) for line in text.split("\n"))


class EscapingFormatter(logging.Formatter):
    """Formats the message with its arguments, then escapes it; tracebacks stay multi-line, indented."""

    def format(self, record: logging.LogRecord) -> str:
        cached, record.exc_text = record.exc_text, None  # another handler's formatter may have cached a raw traceback
        try:
            return super().format(record)
        finally:
            record.exc_text = cached

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = escape(record.message)
        return super().formatMessage(record)

    def formatException(self, ei) -> str:  # noqa: N802
        return _indented(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802
        return _indented(super().formatStack(stack_info))


class _RootHandler(logging.StreamHandler):
    """The handler `configure` owns (configuring again replaces it); without a stream of its own it writes
    to whatever sys.stderr is when a record comes (tests swap it)."""

    def __init__(self, stream=None):
        super().__init__(stream)
        self._follow_stderr = stream is None

    def emit(self, record: logging.LogRecord) -> None:
        if self._follow_stderr:
            self.stream = sys.stderr
        super().emit(record)


def configure(level: int | str = logging.WARNING, stream=None) -> logging.Handler:
    """Install (or replace) the root handler with the escaping formatter, at `level`."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _RootHandler)]:
        root.removeHandler(old)
    handler = _RootHandler(stream)
    handler.setFormatter(EscapingFormatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    return handler
