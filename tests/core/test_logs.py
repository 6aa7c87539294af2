"""Log lines never carry raw control characters from a payload: one forged line, one coloured terminal."""
from __future__ import annotations

import io
import logging
import re

import pytest

from core import logs

RECORD_START = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ ")


@pytest.fixture
def captured():
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = logs.configure(logging.INFO, stream)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def test_a_payload_cannot_forge_a_log_line_or_colour_the_terminal(captured):
    payload = "1.5.0\n2026-01-01 00:00:00,000 ERROR releasebot forged\x1b[31m\r\u2028\u202e"
    logging.getLogger("releasebot.test").warning("version %s from %r", payload, {"text": "\x1b[0m"})
    lines = captured.getvalue().splitlines()
    assert len(lines) == 1 and "\x1b" not in lines[0] and "\r" not in lines[0]
    assert lines[0].endswith("version 1.5.0\\n2026-01-01 00:00:00,000 ERROR releasebot forged\\x1b[31m\\r\\u2028\\u202e "
                             "from {'text': '\\x1b[0m'}")


def test_a_message_without_arguments_is_escaped_too(captured):
    logging.getLogger("bolt").error("bad body: {\n2026-01-01 ERROR forged")
    assert captured.getvalue().count("\n") == 1 and "bad body: {\\n2026-01-01 ERROR forged" in captured.getvalue()


def test_a_traceback_keeps_its_lines_but_only_the_record_starts_a_line(captured):
    try:
        raise ValueError("no such version\n2026-01-01 00:00:00,000 ERROR forged\x1b[2J")
    except ValueError:
        logging.getLogger("releasebot.test").exception("lookup failed")
    lines = captured.getvalue().splitlines()
    assert len(lines) > 2 and "Traceback" in lines[1]
    assert [i for i, line in enumerate(lines) if RECORD_START.match(line)] == [0]
    assert all(line.startswith("  ") for line in lines[1:]) and "\x1b" not in captured.getvalue()


def test_configuring_again_replaces_the_handler_instead_of_doubling_lines(captured):
    again = io.StringIO()
    handler = logs.configure(logging.DEBUG, again)
    try:
        logging.getLogger("releasebot.test").debug("once")
        assert again.getvalue().count("once") == 1 and captured.getvalue() == ""
    finally:
        logging.getLogger().removeHandler(handler)
