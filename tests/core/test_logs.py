"""Log lines never carry raw control characters from a payload: one forged line, one coloured terminal."""
from __future__ import annotations

import io
import json
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


@pytest.fixture
def json_lines():
    stream = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = logs.configure(logging.INFO, stream, json=True)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(level)


def test_json_lines_carry_the_contexts_ids_and_one_line_per_record_whatever_the_payload(json_lines):
    log = logging.getLogger("releasebot.test")
    with logs.about(request_id="r-1", tenant="t-1"):
        with logs.about(release="rel-1", tenant=None):  # None adds nothing, overrides nothing
            log.warning("version %s", "1.5.0\n{\"level\": \"forged\"}\u202e")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
    log.info("outside")
    first, second, third = json_lines()
    assert first["message"] == "version 1.5.0\n{\"level\": \"forged\"}\u202e" and first["level"] == "WARNING"
    assert (first["request_id"], first["tenant"], first["release"]) == ("r-1", "t-1", "rel-1")
    assert "release" not in second and second["tenant"] == "t-1" and "ValueError: boom" in second["exc_info"]
    assert "request_id" not in third and "tenant" not in third
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", third["time"])


def test_credentials_in_logged_query_strings_are_blanked(json_lines):
    logging.getLogger("urllib3.connectionpool").warning(
        '%s "%s" %s', "http://127.0.0.1:80", "POST /webhooks/jenkins/p1?token=s3cret&x=1 HTTP/1.1", 202)
    logging.getLogger("releasebot.test").warning("redirect to https://h/cb?code=abc&state=ok, access_token=xyz")
    text = json.dumps(json_lines())
    assert "s3cret" not in text and "abc" not in text.replace("[redacted]", "") and "xyz" not in text
    assert "?token=[redacted]&x=1" in text and "state=ok" in text


class Counted(str):
    """Text that counts how often it is rendered for a log line (a dict's str() renders its values' repr)."""

    renders = 0

    def __repr__(self) -> str:
        Counted.renders += 1
        return super().__repr__()


@pytest.mark.parametrize(("level", "rendered"), [(logging.INFO, False), (logging.DEBUG, True)])
def test_slack_sdk_renders_a_request_body_for_its_debug_line_only_when_debug_is_on(level, rendered):
    from core.integrations.slack_client import slack_client
    from tests.fakes.slack import FakeSlack

    root, sdk_logger = logging.getLogger(), logging.getLogger("slack_sdk.web.base_client")
    kept = root.level, sdk_logger.level
    handler = logs.configure(level, io.StringIO())
    Counted.renders = 0
    try:
        with FakeSlack() as slack:
            slack.add_channel("C1", "releases")
            slack_client(slack.bot_token, slack.url + "/api/").chat_postMessage(channel="C1", text=Counted("hello"))
    finally:
        root.removeHandler(handler)
        root.setLevel(kept[0])
        sdk_logger.setLevel(kept[1])
    assert (Counted.renders > 0) is rendered  # a modal's 5 KB on every call, for a line nobody logs
