"""Thousands of mutated, correctly signed Slack payloads through the real server: none may answer 5xx.

Seeds are the payloads the other end-to-end tests send (a slash command, a create modal submission, a
dropdown's suggestion request, a card's button); each example drops keys, changes types, or swaps values
for garbage, huge or control-character strings and impossible dates, then signs the result."""
from __future__ import annotations

import copy
import json
import logging
import time
from urllib.parse import urlencode

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.ids import ActionId, BlockId, CallbackId
from tests.bot.test_create_flow import modal_of, values
from tests.slack_requests import sign

EXAMPLES = 2200  # about 30 s on SQLite
MISSING = object()

garbage = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=False),
    st.text(max_size=40), st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=10),
    st.sampled_from(["2024-02-30", "2026-13-01", "0000-00-00", "yesterday", "../../x", "U0NOSUCH", "W", "T", "",
                     "x" * 20_000, "é" * 3000, "\u202e\u0000\r\n", "create", "create 1.5.0", "{", "[1]"]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.just([{"value": 1}]), st.just({"id": 1}), st.just([]), st.just({}),
)


def _paths(node, prefix=()):
    """Every path to a key or list item inside a JSON-like value."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield prefix + (key,)
        yield from _paths(child, prefix + (key,))


def _mutate(doc, path, replacement):
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if replacement is MISSING:
        del parent[path[-1]]
    else:
        parent[path[-1]] = copy.deepcopy(replacement)  # st.just() hands out one shared object


@st.composite
def mutated(draw, seed):
    doc = copy.deepcopy(seed)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = list(_paths(doc))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        _mutate(doc, path, draw(st.one_of(st.just(MISSING), garbage)))
    return doc


def _seeds(running_bot, world, modal) -> list[tuple[str, dict]]:
    team = {"id": running_bot.team_id, "domain": "acme"}
    user = {"id": "U0ADA", "username": "ada", "name": "ada", "team_id": running_bot.team_id}
    envelope = {"team": team, "user": user, "api_app_id": "A0RELEASEBOT", "token": "t", "is_enterprise_install": False,
                "enterprise": None}
    view = {**modal, "id": "V0FUZZ", "team_id": running_bot.team_id, "hash": "1.abc", "state": {"values": values(world)}}
    command = {"token": "t", "team_id": running_bot.team_id, "team_domain": "acme", "channel_id": "CORIGIN",
               "channel_name": "general", "user_id": "U0ADA", "user_name": "ada", "command": "/release",
               "text": "create 1.6.0", "api_app_id": "A0RELEASEBOT", "response_url": "https://hooks.slack.com/commands/T0/1/x",
               "trigger_id": "1.2.3"}
    channel = world.channel.details["channelId"]
    return [
        ("form", command),
        ("payload", {**envelope, "type": "view_submission", "trigger_id": "1.2.3", "view": view, "response_urls": []}),
        ("payload", {**envelope, "type": "block_suggestion", "action_id": ActionId.PIPELINES, "block_id": BlockId.PIPELINES,
                     "value": "ios", "view": view, "container": {"type": "view", "view_id": "V0FUZZ"}}),
        ("payload", {**envelope, "type": "block_actions", "trigger_id": "1.2.3",
                     "response_url": "https://hooks.slack.com/actions/T0/1/x",
                     "container": {"type": "message", "message_ts": "1.000001", "channel_id": channel, "is_ephemeral": False},
                     "channel": {"id": channel, "name": "releases"}, "message": {"ts": "1.000001", "blocks": []},
                     "actions": [{"type": "button", "action_id": ActionId.TRIGGER_BUILD, "block_id": "pipeline:x",
                                  "value": "no-such-pipeline", "action_ts": "1.000002"}]}),
    ]


def _body(kind: str, doc: dict) -> str:
    if kind == "form":  # form fields are strings: mutations that are not become their JSON text
        return urlencode({k: v if isinstance(v, str) else json.dumps(v) for k, v in doc.items()})
    return urlencode({"payload": json.dumps(doc)})


def test_thousands_of_mutated_signed_payloads_never_get_a_server_error(running_bot, world, caplog):
    user = running_bot.as_user()
    user.command("create")
    modal = modal_of(running_bot.slack)
    assert modal["callback_id"] == CallbackId.CREATE_RELEASE
    seeds = _seeds(running_bot, world, modal)
    session = requests.Session()
    sent, errors = [], []

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(range(len(seeds))).flatmap(lambda i: st.tuples(st.just(seeds[i][0]), mutated(seeds[i][1]))))
    def one(example):
        if time.monotonic() > give_up:  # a bound in time as well as in count (the count assertion then fails)
            return
        body = _body(*example)
        answer = session.post(user.url, data=body.encode(), headers=sign(body), timeout=30)
        sent.append(answer.status_code)
        if answer.status_code >= 500:
            errors.append((answer.status_code, body[:300]))

    started = time.monotonic()
    give_up = started + 600  # 30-40 s on a quiet machine; the bound only stops a runaway run on a loaded one
    with caplog.at_level(logging.WARNING):
        one()
    elapsed = time.monotonic() - started
    print(f"fuzz: {len(sent)} signed payloads in {elapsed:.1f}s, {len(errors)} answered 5xx")
    assert len(sent) >= 2000
    assert errors == []
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []
