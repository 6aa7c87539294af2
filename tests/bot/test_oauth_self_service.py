"""Issue 13's whole path in one test: two workspaces install releasebot through the OAuth flow, each sets up its
repository, store target, pipeline and channel from Slack modals alone (verified by the runner), creates a
release from the create modal and triggers a build; every Slack call each workspace causes carries its own
token, and neither sees the other's integrations."""
from __future__ import annotations

import json

from sqlalchemy import select

from bot.ids import ActionId, BlockId, CallbackId
from core.enums import IntegrationKind, VerificationStatus
from core.models import Release
from tests.bot.helpers import wait_for
from tests.bot.test_integrations_from_slack import ISSUER, KEY_ID, add_from_slack, app_store, latest, listed, outcome_in, picked, trigger, typed  # noqa: F401
from tests.bot.test_oauth_install import new_team, oauth_bot  # noqa: F401 (fixtures)
from tests.factories import SCM_TOKEN
from tests.fakes.jenkins import RELEASE_JOB
from tests.slack_requests import multi_value, select_value, text_value


def _set_up_from_slack(oauth_bot, slack, user, channel: str, github, jenkins, app_store) -> dict:  # noqa: F811
    """Every integration a release needs, added through /release integrations; returns them by kind."""
    for choice, values in (
            ("scm:GITHUB", {"displayName": typed("iOS app"), "baseUrl": typed(github.url), "organization": typed("acme"),
                            "repository": typed("app"), "token": typed(SCM_TOKEN)}),
            ("target:APP_STORE", {"displayName": typed("App Store"), "baseUrl": typed(app_store.url),
                                  "appIdentifier": typed("com.acme.app"), "keyId": typed(KEY_ID),
                                  "issuerId": typed(ISSUER), "privateKey": typed(app_store.p8)}),
    ):
        form, _ = add_from_slack(oauth_bot, user, choice, values)
        assert "✅" in json.dumps(outcome_in(slack, form["id"]), ensure_ascii=False)
    tenant_id = oauth_bot.tenant(user.team_id).id
    scm = listed(oauth_bot, tenant_id, IntegrationKind.SCM)[0]
    target = listed(oauth_bot, tenant_id, IntegrationKind.TARGET)[0]
    form, _ = add_from_slack(oauth_bot, user, "pipeline:JENKINS", {
        "displayName": typed("Jenkins iOS"), "baseUrl": typed(jenkins.url), "scmIntegrationId": picked(scm.id),
        "targetIntegrationId": picked(target.id), "jobPath": typed(RELEASE_JOB), "username": typed("releasebot"),
        "apiToken": typed("jenkins-api-token")})
    assert "✅" in json.dumps(outcome_in(slack, form["id"]), ensure_ascii=False)
    form, _ = add_from_slack(oauth_bot, user, "communication:SLACK", {
        "displayName": typed("#releases"),
        "channelId": {ActionId.SPEC_VALUE: {"type": "conversations_select", "selected_conversation": channel}}})
    assert "✅" in json.dumps(outcome_in(slack, form["id"]), ensure_ascii=False)
    kinds = {k: listed(oauth_bot, tenant_id, k) for k in IntegrationKind}
    assert all(v.verificationStatus == VerificationStatus.VALID for found in kinds.values() for v in found)
    return {k: v[0] for k, v in kinds.items() if v}


def test_two_workspaces_install_set_up_from_modals_release_and_build_each_with_its_own_token(
        oauth_bot, slack, github, jenkins, app_store):  # noqa: F811
    workspaces = []
    for name, user_id in (("Acme", "U0ACME"), ("Globex", "U0GLOBEX")):
        team = new_team()
        slack.add_workspace(team, name)
        slack.add_user(user_id, name=user_id.lower())
        assert oauth_bot.install(team, user_id).status_code == 200  # the installer is the workspace's admin
        channel = "CREL" + team[1:6]
        slack.add_channel(channel, "releases", team_id=team)
        user = oauth_bot.user(team, user_id, user_id.lower())
        workspaces.append((team, user_id, channel, user, slack.tokens_of(team)[0]))

    for team, _, channel, user, _ in workspaces:
        mine = _set_up_from_slack(oauth_bot, slack, user, channel, github, jenkins, app_store)
        tenant_id = oauth_bot.tenant(team).id
        assert {v.id for v in mine.values()} == {v.id for k in IntegrationKind for v in listed(oauth_bot, tenant_id, k)}
        assert user.command("create 1.5.0", channel_id=channel, trigger_id=trigger()).status_code == 200
        create = latest(slack, CallbackId.CREATE_RELEASE)
        scm_options = json.dumps(create["blocks"])
        assert all(other[0] == team or oauth_bot.tenant(other[0]).id not in scm_options for other in workspaces)
        done = user.view_submission(create, {
            BlockId.VERSION: {ActionId.VERSION: text_value("1.5.0")},
            BlockId.SCM: {ActionId.SCM: select_value(mine[IntegrationKind.SCM].id)},
            BlockId.TARGETS: {ActionId.TARGETS: multi_value([mine[IntegrationKind.TARGET].id])},
            BlockId.PIPELINES: {ActionId.PIPELINES: multi_value([mine[IntegrationKind.PIPELINE].id])},
            BlockId.COMMUNICATION: {ActionId.COMMUNICATION: select_value(mine[IntegrationKind.COMMUNICATION].id)}},
            view_id=create["id"])
        assert done.status_code == 200 and done.text == ""
        card = wait_for(lambda channel=channel: slack.last_message(channel))
        button = next(b["accessory"] for b in card["blocks"] if b.get("block_id", "").startswith(BlockId.PIPELINE_PREFIX))
        assert user.block_action(action_id=ActionId.TRIGGER_BUILD, value=button["value"], block_id="b",
                                 channel_id=channel, message_ts=card["ts"]).status_code == 200
    wait_for(lambda: len(jenkins.calls("POST", "buildWithParameters")) == 2)
    for _, _, channel, _, token in workspaces:  # the card redrawn and the build told in its thread, in each workspace
        wait_for(lambda channel=channel: any("triggered" in m["text"] for m in slack.messages_in(channel) if m.get("thread_ts")))
        wait_for(lambda token=token: [c for c in slack.calls_to("chat.update") if c.token == token])
    with oauth_bot.runtime.reading() as s:
        owners = dict(s.execute(select(Release.id, Release.tenantId)).all())
    assert sorted(owners.values()) == sorted(oauth_bot.tenant(w[0]).id for w in workspaces)

    tokens = {w[4]: w for w in workspaces}
    calls = [c for c in slack.api_calls if c.method != "oauth.v2.access"]
    assert {c.token for c in calls} == set(tokens)  # no call without a token, none with another's
    for call in calls:
        team, user_id, channel, _, _ = tokens[call.token]
        shown = call.params.get("channel")
        assert not isinstance(shown, str) or shown in {channel, "D" + user_id[1:], user_id}, (call.method, shown)
    for *_, token in workspaces:  # each workspace's forms, verifications, card and thread, with its own token
        made = {c.method for c in calls if c.token == token}
        assert {"views.open", "views.push", "views.update", "chat.postMessage", "chat.update"} <= made, made
