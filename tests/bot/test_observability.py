"""What an operator sees, read after real requests through the real server: /metrics (requests by surface and
outcome, ack latency, Slack and provider calls with 429s, builds by state, owed deliveries, the runner's lag),
/readyz (database, schema at head, runner heartbeat), an access-log line and a request id per request, and
JSON logs that carry ids and never a secret across a whole release."""
from __future__ import annotations

import io
import json
import logging
from wsgiref.util import setup_testing_defaults

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from bot.observe import Observed
from core import logs
from core.config import Settings
from core.crypto import generate_key
from core.migrate import upgrade
from core.runtime import Runtime
from core.services import cards
from core.services.release_creation import create_release
from tests.bot.helpers import release_with_pipeline, wait_for
from tests.factories import SCM_TOKEN
from tests.fakes.jenkins import RELEASE_JOB as JOB
from tests.slack_requests import SIGNING_SECRET

JENKINS_TOKEN, HOOK_TOKEN = "jenkins-api-token", "jk-hook-secret-77a2"  # the fake Jenkins knows that token


def scrape(running_bot) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics, keyed by (name, sorted labels)."""
    answer = requests.get(running_bot.url + "/metrics", timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(answer.text) for s in family.samples}


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def captured():
    """Every log line of the test, as JSON, at DEBUG (libraries included)."""
    stream = io.StringIO()
    handler = logs.configure(logging.DEBUG, stream, json=True)
    yield stream
    logging.getLogger().removeHandler(handler)
    logging.getLogger().setLevel(logging.WARNING)


def lines(stream) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


@pytest.fixture
def jenkins_release(running_bot, world, jenkins):
    return release_with_pipeline(running_bot, world, provider="jenkins", base_url=jenkins.url, job=JOB,
                                 secrets={"username": "releasebot", "apiToken": JENKINS_TOKEN, "webhookSecret": HOOK_TOKEN})


def test_metrics_count_requests_by_surface_and_outcome_and_slack_calls_with_429s(running_bot, world):
    before = scrape(running_bot)
    ada = running_bot.as_user()
    assert ada.command("help").status_code == 200
    running_bot.slack.rate_limit("views.open", retry_after=0)
    assert ada.command("create").status_code == 200
    wait_for(lambda: running_bot.slack.calls_to("views.open"))
    assert requests.post(running_bot.url + "/slack/events", data=b"x", timeout=10).status_code == 401
    opened = value(before, "releasebot_calls_total", provider="Slack", method="views.open", outcome="ok")
    after = wait_for(lambda: (s := scrape(running_bot)) and value(s, "releasebot_calls_total", provider="Slack",
                                                                  method="views.open", outcome="ok") > opened and s)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("releasebot_requests_total", surface="command", outcome="200") == 2
    assert grew("releasebot_requests_total", surface="slack", outcome="401") == 1
    assert grew("releasebot_ack_seconds_count", surface="command") == 2
    assert grew("releasebot_calls_total", provider="Slack", method="views.open", outcome="429") == 1
    assert grew("releasebot_calls_total", provider="Slack", method="views.open", outcome="ok") == 1
    assert value(after, "releasebot_runner_round_seconds_count") > 0
    assert value(after, "releasebot_runner_lag_seconds") < 60


def test_metrics_show_builds_by_state_owed_deliveries_and_calls_to_jenkins(running_bot, jenkins_release, jenkins):
    from tests.bot.test_builds_flow import click

    before = scrape(running_bot)
    running_bot.slack.error("chat.postMessage", "internal_error", times=1000)  # thread lines stay owed
    assert click(running_bot, jenkins_release).status_code == 200
    wait_for(lambda: jenkins.calls("POST", "buildWithParameters"))
    after = wait_for(lambda: (s := scrape(running_bot)) and value(s, "releasebot_builds", state="RUNNING") >= 1
                     and value(s, "releasebot_owed_deliveries", kind="notification") >= 1 and s)
    assert value(after, "releasebot_owed_oldest_seconds", kind="notification") >= 0
    calls = {labels: v - before.get((name, labels), 0) for (name, labels), v in after.items()
             if name == "releasebot_calls_total" and dict(labels)["provider"] == "Jenkins"}
    assert sum(calls.values()) >= 2  # the crumb, the build request (and the queue item)
    assert calls[(("method", "POST"), ("outcome", "2xx"), ("provider", "Jenkins"))] >= 1


def test_readyz_checks_the_database_the_schema_and_the_runners_heartbeat(running_bot, world):
    answer = requests.get(running_bot.url + "/readyz", timeout=10)
    assert answer.status_code == 200
    assert answer.json() == {"database": "ok", "schema": "ok", "runner": "ok"}

    # Slack hangs for 12 s on every call and a card is owed: the runner's round outlasts its 5 s claims.
    running_bot.slack.delay = 12
    rt = running_bot.runtime
    with rt.unit_of_work() as s:
        release = create_release(s, tenant_id=world.tenant.id, actor_account_id=world.admin.id, draft=world.draft())
        cards.owe_card(s, tenant_id=world.tenant.id, release_id=release.id, channel_id=world.channel.details["channelId"])
    running_bot.bot.follower.wake()
    stale = wait_for(lambda: (r := requests.get(running_bot.url + "/readyz", timeout=10)).status_code == 503 and r.json(),
                     timeout=30)
    assert stale["runner"].startswith("no round finished for ")
    assert stale["database"] == "ok" and stale["schema"] == "ok"
    running_bot.slack.delay = 0
    assert wait_for(lambda: requests.get(running_bot.url + "/readyz", timeout=10).status_code == 200, timeout=60)


def _call(app, path: str) -> tuple[str, dict]:
    environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET"}
    setup_testing_defaults(environ)
    status = []
    body = b"".join(app(environ, lambda line, headers, exc_info=None: status.append(line)))
    return status[0], json.loads(body)


def test_readyz_names_a_schema_behind_the_code_and_an_unreachable_database(tmp_path):
    behind = Runtime(Settings(database_url=f"sqlite:///{tmp_path / 'old.db'}", secret_keys=(generate_key(),)))
    upgrade(behind.engine, "0001")
    status, checks = _call(Observed(lambda e, s: [], behind), "/readyz")
    assert status.startswith("503") and checks["database"] == "ok"
    assert checks["schema"].startswith("at 0001, the code needs ") and "releasebot db upgrade" in checks["schema"]

    gone = Runtime(Settings(database_url="mysql+pymysql://nobody@127.0.0.1:1/none?connect_timeout=2",
                            secret_keys=(generate_key(),)))
    status, checks = _call(Observed(lambda e, s: [], gone), "/readyz")
    assert status.startswith("503") and checks == {"database": "unreachable", "schema": "unknown"}


def test_each_request_gets_an_id_and_one_access_line_without_its_query_string(running_bot, captured):
    answer = requests.post(running_bot.url + "/webhooks/jenkins/no-such-pipeline", params={"token": HOOK_TOKEN},
                           json={"build": {"phase": "FINALIZED", "parameters": {}}}, timeout=10)
    request_id = answer.headers["X-Request-Id"]
    access = [r for r in lines(captured) if r["logger"] == "releasebot.access" and r.get("request_id") == request_id]
    assert len(access) == 1
    assert access[0]["path"] == "/webhooks/jenkins/no-such-pipeline" and access[0]["method"] == "POST"
    assert access[0]["status"] == answer.status_code and access[0]["duration_ms"] >= 0
    assert HOOK_TOKEN not in captured.getvalue()
    other = requests.get(running_bot.url + "/healthz", timeout=10).headers["X-Request-Id"]
    assert other != request_id


def test_json_logs_of_a_whole_release_carry_ids_and_no_secret(running_bot, world, jenkins_release, jenkins, captured):
    from tests.bot.test_builds_flow import click

    ada = running_bot.as_user()
    assert ada.command("help").status_code == 200
    assert ada.command("create").status_code == 200
    assert click(running_bot, jenkins_release).status_code == 200
    wait_for(lambda: jenkins.calls("POST", "buildWithParameters"))
    number = jenkins.start_build(max(jenkins.queue)).number
    jenkins.finish_build(JOB, number, "SUCCESS")
    pipeline_id = jenkins_release[0].pipelines[0].integration.id
    hook = requests.post(f"{running_bot.url}/webhooks/jenkins/{pipeline_id}", params={"token": HOOK_TOKEN}, timeout=10,
                         json={"build": {"phase": "FINALIZED", "status": "SUCCESS", "number": number, "parameters": {}}})
    assert hook.status_code == 202
    channel, ts = jenkins_release[1], jenkins_release[2]
    wait_for(lambda: any("succeeded" in m["text"] for m in running_bot.slack.replies(channel, ts)), timeout=30)

    records, text = lines(captured), captured.getvalue()
    assert len(records) > 20  # DEBUG, libraries included: a real trail, not a quiet one
    for secret in (SIGNING_SECRET, running_bot.slack.bot_token, running_bot.runtime.settings.secret_keys[0],
                   JENKINS_TOKEN, HOOK_TOKEN, SCM_TOKEN):
        assert secret not in text, f"a secret ({secret[:4]}…) is in the log"
    requests_logged = [r for r in records if r["logger"] == "releasebot.access" and r["path"] == "/slack/events"]
    assert requests_logged and all(r.get("request_id") for r in requests_logged)
    assert any(r.get("tenant") == world.tenant.id for r in records if r["logger"] != "releasebot.access")
    steps = [r for r in records if r.get("work") in ("StartBuilds", "FollowBuilds")]
    assert steps and all(r.get("build") for r in steps)
