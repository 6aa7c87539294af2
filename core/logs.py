"""The one logging setup of the CLI, `serve` and `worker`: a root handler whose formatter escapes
control characters, so text from a payload can neither forge a log line nor drive a terminal; or, with
RELEASEBOT_LOG_FORMAT=json, one JSON object per line carrying the ids of what the line is about."""
from __future__ import annotations

import contextvars
import logging
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from pythonjsonlogger.json import JsonFormatter

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


# What a log line is about (a request, a tenant, a release, a build, an integration, a runner step): set where
# it becomes known, carried by contextvars into the threads that work for it, written in every JSON line.
_IDS: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("releasebot_log_ids", default={})  # noqa: B039 (never mutated)


@contextmanager
def about(**ids: str | None) -> Iterator[None]:
    """Every record logged inside carries these ids (None values are left out)."""
    token = _IDS.set({**_IDS.get(), **{k: v for k, v in ids.items() if v is not None}})
    try:
        yield
    finally:
        _IDS.reset(token)


def add_ids(**ids: str | None) -> None:
    """Add ids to the current context until it ends (for code that learns them midway, e.g. the tenant of a request)."""
    _IDS.set({**_IDS.get(), **{k: v for k, v in ids.items() if v is not None}})


def current_ids() -> dict[str, str]:
    return dict(_IDS.get())


# A credential in a URL's query string (a webhook's ?token=, an API's access_token=), wherever a library logs a
# URL (urllib3 logs every request line at DEBUG): the value never reaches the log.
_QUERY_SECRET = re.compile(r"((?:^|[?&;\s])(?:[\w.-]*token|key|secret|password|signature|sig|code)=)[^&\s\"'#]+", re.IGNORECASE)


class _Context(logging.Filter):
    """Adds the context's ids to each record, and blanks credentials in the query strings it mentions."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "=" in message:
            redacted = _QUERY_SECRET.sub(r"\1[redacted]", message)
            if redacted != message:
                record.msg, record.args = redacted, ()
        for key, value in _IDS.get().items():
            setattr(record, key, value)
        return True


def json_formatter() -> logging.Formatter:
    """One JSON object per line: time (ISO 8601, UTC), level, logger, message, the context's ids, and the traceback
    as one string field (JSON escapes every control character)."""
    formatter = JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                              rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                              datefmt="%Y-%m-%dT%H:%M:%SZ")
    formatter.converter = time.gmtime
    return formatter


def configure(level: int | str = logging.WARNING, stream=None, *, json: bool = False) -> logging.Handler:
    """Install (or replace) the root handler at `level`: escaped text, or JSON lines."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _RootHandler)]:
        root.removeHandler(old)
    handler = _RootHandler(stream)
    handler.setFormatter(json_formatter() if json else EscapingFormatter(FORMAT))
    handler.addFilter(_Context())
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # slack_sdk formats each Web API request, its whole body included (a modal is 5 KB), for a debug line
    # whenever its logger's own level is unset (it reads .level, not the effective level): set it.
    logging.getLogger("slack_sdk.web.base_client").setLevel(level)
    return handler
