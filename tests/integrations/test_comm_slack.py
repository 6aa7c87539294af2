"""The Slack channel client (our module + slack_sdk) against the fake Slack Web API over loopback."""
from __future__ import annotations

import time

import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from core.enums import IntegrationKind
from core.errors import IntegrationError
from core.integrations.base import IntegrationConfig, ProviderContext
from core.integrations.registry import build_client
from tests.fakes.slack import FakeSlack

TOKEN = "xoxb-1111-2222-s3cr3t-bot-token"


@pytest.fixture
def slack():
    fake = FakeSlack(bot_token=TOKEN)
    fake.add_channel("C123", "releases")
    with fake:
        yield fake


def ctx_for(fake: FakeSlack, *, token: str | None = TOKEN, timeout: float = 5.0, private: bool = True) -> ProviderContext:
    return ProviderContext(allow_private_networks=private, slack_api_url=fake.url + "/api/",
                           slack_bot_token=token, timeout=timeout)


def channel_client(fake: FakeSlack, channel_id: str = "C123", **ctx_kwargs):
    config = IntegrationConfig(id="i-1", provider="SLACK", display_name="Releases", base_url=None,
                               fields={"channelId": channel_id, "channelName": "#releases"}, settings={}, secrets={})
    return build_client(IntegrationKind.COMMUNICATION, config, ctx_for(fake, **ctx_kwargs))


def failure(action) -> IntegrationError:
    with pytest.raises(IntegrationError) as caught:
        action()
    error = caught.value
    assert TOKEN not in str(error) and TOKEN not in repr(error.args), "the bot token leaked into an error"
    assert "s3cr3t" not in str(error)
    return error


# --- verify -----------------------------------------------------------------------------------------
def test_verify_passes_when_the_bot_is_in_the_channel(slack):
    channel_client(slack).verify()
    assert [c.method for c in slack.api_calls] == ["auth.test", "conversations.info"]
    assert all(c.token == TOKEN for c in slack.api_calls)
    assert slack.calls_to("conversations.info")[0].params["channel"] == "C123"


def test_verify_reports_a_token_slack_rejects(slack):
    error = failure(channel_client(slack, token="xoxb-wrong-s3cr3t").verify)
    assert str(error) == "Slack rejected the bot token (invalid_auth)"
    assert slack.calls_to("auth.test")[0].error == "invalid_auth"


def test_verify_reports_a_revoked_token(slack):
    slack.revoke_token(TOKEN)
    assert str(failure(channel_client(slack).verify)) == "Slack rejected the bot token (token_revoked)"


def test_a_missing_bot_token_is_a_configuration_problem_before_any_call(slack):
    error = failure(lambda: channel_client(slack, token=None))
    assert "SLACK_BOT_TOKEN is not configured" in str(error)
    assert slack.api_calls == []


def test_verify_reports_a_channel_that_does_not_exist(slack):
    error = failure(channel_client(slack, "C404").verify)
    assert str(error) == "channel C404 does not exist or the bot cannot see it"


def test_a_private_channel_without_the_bot_looks_missing(slack):
    slack.add_channel("G77", "secret-releases", is_private=True, is_member=False)
    assert "does not exist or the bot cannot see it" in str(failure(channel_client(slack, "G77").verify))


def test_verify_says_how_to_invite_the_bot(slack):
    slack.add_channel("C200", "releases", is_member=False)
    error = failure(channel_client(slack, "C200").verify)
    assert str(error) == "the bot is not in #releases: invite it with /invite @releasebot"


def test_verify_reports_an_archived_channel(slack):
    slack.add_channel("C300", "old-releases", is_archived=True)
    assert str(failure(channel_client(slack, "C300").verify)) == "#old-releases is archived: choose another channel"


def test_verify_names_a_missing_scope(slack):
    slack.add_token("xoxb-narrow-s3cr3t", bot_id="B0BOT", scopes={"chat:write"})
    error = failure(channel_client(slack, token="xoxb-narrow-s3cr3t").verify)
    assert "lacks the channels:read scope" in str(error)


def test_a_private_slack_api_url_is_refused_unless_allowed(slack):
    error = failure(lambda: channel_client(slack, private=False))
    assert "resolves to a private address" in str(error)
    assert slack.api_calls == []


# --- post and update --------------------------------------------------------------------------------
def test_post_returns_the_message_ts_and_slack_stores_the_message(slack):
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*1.2.0* is out"}}]
    ts = channel_client(slack).post("1.2.0 is out", blocks=blocks)
    message = slack.last_message("C123")
    assert ts == message["ts"]
    assert (message["text"], message["blocks"], message["thread_ts"]) == ("1.2.0 is out", blocks, None)
    assert slack.calls_to("chat.postMessage")[0].params["unfurl_links"] is False


def test_post_in_a_thread_replies_under_the_parent(slack):
    client = channel_client(slack)
    parent = client.post("release 1.2.0")
    reply = client.post("build 42 passed", thread=parent)
    assert [m["ts"] for m in slack.replies("C123", parent)] == [reply]


def test_post_where_the_bot_is_not_a_member_says_so(slack):
    slack.add_channel("C200", "releases", is_member=False)
    error = failure(lambda: channel_client(slack, "C200").post("hello"))
    assert str(error).startswith("the bot is not in #releases")
    assert slack.messages_in("C200") == []


def test_update_rewrites_the_message_in_place(slack):
    client = channel_client(slack)
    ts = client.post("building…")
    new_blocks = [{"type": "section", "text": {"type": "plain_text", "text": "done"}}]
    assert client.update(ts, "done", blocks=new_blocks) == ts
    message = slack.last_message("C123")
    assert (message["text"], message["blocks"], len(slack.messages_in("C123"))) == ("done", new_blocks, 1)
    assert message["edited"] is not None


def test_update_of_an_unknown_message_reports_slacks_code(slack):
    error = failure(lambda: channel_client(slack).update("1.000000", "x"))
    assert str(error) == "Slack refused chat.update (message_not_found)"
    assert not error.retryable


# --- rate limits and failures -----------------------------------------------------------------------
def test_a_429_is_retried_after_its_retry_after_then_succeeds(slack):
    slack.rate_limit("chat.postMessage", retry_after=1, times=1)
    started = time.monotonic()
    ts = channel_client(slack).post("hello")
    assert time.monotonic() - started >= 1.0
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429, 200]
    assert slack.last_message("C123")["ts"] == ts


def test_retries_are_bounded(slack):
    slack.rate_limit("chat.postMessage", retry_after=1, times=5)
    error = failure(lambda: channel_client(slack).post("hello"))
    assert (error.status, error.retryable, error.retry_after) == (429, True, 1.0)
    assert len(slack.calls_to("chat.postMessage")) == 2
    assert slack.messages_in("C123") == []


def test_a_long_retry_after_is_not_waited_inside_a_request(slack):
    slack.rate_limit("chat.postMessage", retry_after=120)
    started = time.monotonic()
    error = failure(lambda: channel_client(slack).post("hello"))
    assert time.monotonic() - started < 5
    assert (error.retryable, error.retry_after) == (True, 120.0)
    assert "ratelimited" in str(error)


def test_a_scripted_slack_error_is_reported_as_retryable_when_transient(slack):
    slack.error("chat.postMessage", "internal_error")
    error = failure(lambda: channel_client(slack).post("hello"))
    assert (str(error), error.retryable) == ("Slack refused chat.postMessage (internal_error)", True)


def test_a_proxy_error_page_is_reported_with_its_status(slack):
    slack.fail(502, "<html>Bad Gateway</html>", path="/api/chat.postMessage")
    error = failure(lambda: channel_client(slack).post("hello"))
    assert error.status == 502 and error.retryable


def test_a_slack_that_is_gone_is_unreachable(slack):
    client = channel_client(slack)
    slack.stop()
    error = failure(client.verify)
    assert str(error).startswith("cannot reach Slack at http://127.0.0.1:") and error.retryable


def test_a_slack_that_does_not_answer_in_time_times_out(slack):
    slack.delay = 2
    started = time.monotonic()
    error = failure(channel_client(slack, timeout=0.5).verify)
    assert "did not answer in time" in str(error) and error.retryable
    assert time.monotonic() - started < 2


# --- the fake itself, driven by slack_sdk: the ground the bot's end-to-end tests stand on ------------
@pytest.fixture
def web(slack) -> WebClient:
    return WebClient(token=TOKEN, base_url=slack.url + "/api/", timeout=5)


def test_fake_paginates_conversations_list_with_cursors(slack, web):
    for n in range(5):
        slack.add_channel(f"C9{n}", f"team-{n}")
    slack.add_channel("G1", "hidden", is_private=True, is_member=False)
    first = web.conversations_list(limit=4, types="public_channel,private_channel")
    cursor = first["response_metadata"]["next_cursor"]
    second = web.conversations_list(limit=4, types="public_channel,private_channel", cursor=cursor)
    names = [c["name"] for c in first["channels"] + second["channels"]]
    assert len(first["channels"]) == 4 and second["response_metadata"]["next_cursor"] == ""
    assert sorted(names) == sorted(["releases"] + [f"team-{n}" for n in range(5)])
    with pytest.raises(SlackApiError) as caught:
        web.conversations_list(cursor="bm9wZQ==")
    assert caught.value.response["error"] == "invalid_cursor"


def test_fake_answers_auth_test_team_and_users(slack, web):
    slack.add_user("U1", name="ada", email="ada@example.com")
    me = web.auth_test()
    assert (me["user_id"], me["bot_id"], me["team_id"], me["user"]) == ("U0BOT", "B0BOT", slack.team_id, "releasebot")
    assert web.users_info(user="U1")["user"]["profile"]["email"] == "ada@example.com"
    assert web.team_info()["team"]["domain"] == "acme"
    with pytest.raises(SlackApiError) as caught:
        web.users_info(user="U404")
    assert caught.value.response["error"] == "user_not_found"


def test_fake_takes_a_token_form_field_but_not_one_inside_json(slack):
    form = requests.post(slack.url + "/api/auth.test", data={"token": TOKEN}, timeout=5)
    in_json = requests.post(slack.url + "/api/auth.test", json={"token": TOKEN}, timeout=5)
    assert (form.status_code, form.json()["ok"]) == (200, True)
    assert (in_json.status_code, in_json.json()) == (200, {"ok": False, "error": "not_authed"})


def test_fake_posts_ephemerals_and_permalinks(slack, web):
    slack.add_user("U1", name="ada")
    slack.add_channel("C5", "private-ish", members={"U0BOT"})
    assert web.chat_postEphemeral(channel="C123", user="U1", text="only you")["message_ts"]
    assert slack.ephemerals[-1]["user"] == "U1" and slack.messages_in("C123") == []
    with pytest.raises(SlackApiError) as caught:
        web.chat_postEphemeral(channel="C5", user="U1", text="x")
    assert caught.value.response["error"] == "user_not_in_channel"
    ts = web.chat_postMessage(channel="C123", text="card")["ts"]
    link = web.chat_getPermalink(channel="C123", message_ts=ts)["permalink"]
    assert link == f"https://acme.slack.com/archives/C123/p{ts.replace('.', '')}"


def test_fake_opens_updates_and_pushes_views(slack, web):
    modal = {"type": "modal", "callback_id": "create", "title": {"type": "plain_text", "text": "New release"},
             "blocks": [{"type": "input", "block_id": "v", "label": {"type": "plain_text", "text": "Version"},
                         "element": {"type": "plain_text_input", "action_id": "v"}}]}
    view = web.views_open(trigger_id="t-1", view=modal)["view"]
    assert slack.views[view["id"]]["callback_id"] == "create"
    updated = web.views_update(view_id=view["id"], hash=view["hash"], view={**modal, "callback_id": "step2"})["view"]
    assert updated["id"] == view["id"] and slack.views[view["id"]]["callback_id"] == "step2"
    assert web.views_push(trigger_id="t-2", view=modal)["view"]["id"] != view["id"]
    for call, code in ((lambda: web.views_open(trigger_id="t-1", view=modal), "exchanged_trigger_id"),
                       (lambda: web.views_update(view_id=view["id"], hash="stale", view=modal), "hash_conflict"),
                       (lambda: web.views_update(view_id="V404", view=modal), "not_found")):
        with pytest.raises(SlackApiError) as caught:
            call()
        assert caught.value.response["error"] == code


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_fake_rejects_messages_slack_would_reject(slack, web):
    too_many = [{"type": "divider"}] * 51
    for kwargs, code in (({"channel": "C123"}, "no_text"), ({"channel": "C404", "text": "x"}, "channel_not_found"),
                         ({"channel": "C123", "text": "x", "blocks": too_many}, "invalid_blocks")):
        with pytest.raises(SlackApiError) as caught:
            web.chat_postMessage(**kwargs)
        assert caught.value.response["error"] == code
    assert slack.messages_in("C123") == []
    assert web.chat_postMessage(channel="U0BOT", text="dm")["channel"] == "D0BOT"


def test_fake_answers_unknown_methods_like_slack(slack, web):
    with pytest.raises(SlackApiError) as caught:
        web.api_call("nope.nothing")
    assert caught.value.response["error"] == "unknown_method"
    assert slack.calls_to("nope.nothing")[0].error == "unknown_method"
