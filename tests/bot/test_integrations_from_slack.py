"""Integrations and admins from Slack, through the real server: a workspace adds its repository, store
target, pipeline and channel from modals alone (built from the providers' specs), the runner verifies them
and updates the modal, then a release is created and built; members reach no admin action by any payload."""
from __future__ import annotations

import json
import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select

from bot.ids import ActionId, BlockId, CallbackId, MenuOp
from core.enums import IntegrationKind, Role, VerificationStatus
from core.models import Account, AuditEvent, IntegrationVerification, Tenant
from core.services import integrations, tenants
from tests.bot.helpers import wait_for
from tests.factories import SCM_TOKEN
from tests.fakes.app_store import FakeAppStoreConnect
from tests.fakes.jenkins import RELEASE_JOB
from tests.slack_requests import multi_value, select_value, text_value

KEY_ID, ISSUER = "2X9R4HXF34", "57246542-96fe-1a63-e053-0824d011072a"


def trigger() -> str:
    return f"{uuid.uuid4().int % 10**11}.{uuid.uuid4().int % 10**9}.{uuid.uuid4().hex[:16]}"


def latest(slack, callback_id: str) -> dict:
    """The newest view the bot opened or pushed with this callback id, as Slack stores it (with its id)."""
    return wait_for(lambda: [v for v in list(slack.views.values()) if v["callback_id"] == callback_id])[-1]


def opened_after(slack, callback_id: str, before: int) -> dict:
    """The view with this callback id the bot opens next (after `before` such views existed)."""
    return wait_for(lambda: (found := [v for v in list(slack.views.values()) if v["callback_id"] == callback_id])
                    and len(found) > before and found)[-1]


def count_of(slack, callback_id: str) -> int:
    return len([v for v in list(slack.views.values()) if v["callback_id"] == callback_id])


def in_view(user, view: dict, action_id: str, *, value: str | None = None, option: str | None = None):
    """A button (or an overflow choice) pressed inside a modal."""
    action = {"type": "button", "action_id": action_id, "block_id": "b", "action_ts": "1700000000.000001"}
    if value is not None:
        action["value"] = value
    if option is not None:
        action = {**action, "type": "overflow", "selected_option": {"value": option, "text": {"type": "plain_text", "text": "x"}}}
    return user.interactive({"type": "block_actions", "trigger_id": trigger(), "actions": [action],
                             "container": {"type": "view", "view_id": view["id"]},
                             "view": {**view, "state": {"values": {}}}})


def typed(value: str) -> dict:
    return {ActionId.SPEC_VALUE: text_value(value)}


def picked(value: str) -> dict:
    return {ActionId.SPEC_VALUE: {"type": "static_select", "selected_option": {"value": value}}}


def add_from_slack(running_bot, user, choice: str, values: dict) -> tuple[dict, dict]:
    """/release integrations → Add → kind and provider → the form → saved; returns (the form, the answer)."""
    slack = running_bot.slack
    assert user.command("integrations", trigger_id=trigger()).status_code == 200
    listed = latest(slack, CallbackId.INTEGRATIONS)
    pushes = len(slack.calls_to("views.push"))
    assert in_view(user, listed, ActionId.INTEGRATION_ADD).status_code == 200
    wait_for(lambda: len(slack.calls_to("views.push")) > pushes)
    chooser = latest(slack, CallbackId.INTEGRATION_CHOOSE)
    answer = user.view_submission(chooser, {BlockId.PROVIDER: {ActionId.PROVIDER: {
        "type": "static_select", "selected_option": {"value": choice}}}}, view_id=chooser["id"]).json()
    assert answer["response_action"] == "update"
    form = answer["view"]
    saved = user.view_submission(form, values, view_id=chooser["id"])
    return {**form, "id": chooser["id"]}, saved.json()


def outcome_in(slack, view_id: str) -> dict:
    """The modal the runner updated with a verification's outcome."""
    return wait_for(lambda: [c.params["view"] for c in slack.calls_to("views.update")
                             if c.params.get("view_id") == view_id and c.params["view"]["callback_id"] == CallbackId.INTEGRATION_RESULT])[-1]


@pytest.fixture
def app_store():
    key = ec.generate_private_key(ec.SECP256R1())
    fake = FakeAppStoreConnect()
    fake.add_key(KEY_ID, key.public_key(), ISSUER)
    fake.add_app("com.acme.app", "Acme")
    with fake:
        fake.p8 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
        yield fake


def listed(running_bot, tenant_id, kind):
    with running_bot.runtime.reading() as s:
        return integrations.list_integrations(s, tenant_id=tenant_id, kind=kind)


def test_a_workspace_sets_itself_up_from_slack_modals_alone_then_releases_and_builds(
        running_bot, github, jenkins, app_store):
    slack, ada = running_bot.slack, running_bot.as_user()  # the workspace's first person: its admin
    slack.add_channel("CRELEASES", "releases")

    form, answer = add_from_slack(running_bot, ada, "scm:GITHUB", {
        "displayName": typed("iOS app"), "baseUrl": typed(github.url), "organization": typed("acme"),
        "repository": typed("app"), "token": typed(SCM_TOKEN)})
    assert answer["response_action"] == "update" and answer["view"]["callback_id"] == CallbackId.INTEGRATION_RESULT
    blocks = {b["block_id"]: b for b in form["blocks"] if "block_id" in b}
    assert blocks["token"]["hint"]["text"].startswith("An access token")  # the spec's help text
    assert "✅" in json.dumps(outcome_in(slack, form["id"]), ensure_ascii=False)
    with running_bot.runtime.reading() as s:
        tenant_id = s.scalar(select(Tenant.id).where(Tenant.slackTeamId == running_bot.team_id))
    scm = listed(running_bot, tenant_id, IntegrationKind.SCM)[0]

    form, _ = add_from_slack(running_bot, ada, "target:APP_STORE", {
        "displayName": typed("App Store"), "baseUrl": typed(app_store.url), "appIdentifier": typed("com.acme.app"),
        "keyId": typed(KEY_ID), "issuerId": typed(ISSUER), "privateKey": typed(app_store.p8)})
    assert "✅" in json.dumps(outcome_in(slack, form["id"]), ensure_ascii=False)
    target = listed(running_bot, tenant_id, IntegrationKind.TARGET)[0]

    form, _ = add_from_slack(running_bot, ada, "pipeline:JENKINS", {
        "displayName": typed("Jenkins iOS"), "baseUrl": typed(jenkins.url), "scmIntegrationId": picked(scm.id),
        "targetIntegrationId": picked(target.id), "jobPath": typed(RELEASE_JOB), "username": typed("releasebot"),
        "apiToken": typed("jenkins-api-token")})
    offered = {b["block_id"]: [o["value"] for o in b["element"].get("options", [])] for b in form["blocks"] if "block_id" in b}
    assert offered["scmIntegrationId"] == [scm.id] and offered["targetIntegrationId"] == [target.id]
    assert "✅" in json.dumps(outcome_in(slack, form["id"]), ensure_ascii=False)

    form, _ = add_from_slack(running_bot, ada, "communication:SLACK", {
        "displayName": typed("#releases"),
        "channelId": {ActionId.SPEC_VALUE: {"type": "conversations_select", "selected_conversation": "CRELEASES"}}})
    assert "✅" in json.dumps(outcome_in(slack, form["id"]), ensure_ascii=False)

    kinds = {k: listed(running_bot, tenant_id, k) for k in IntegrationKind}
    assert all(v.verificationStatus == VerificationStatus.VALID for k in kinds.values() for v in k)
    pipeline, channel = kinds[IntegrationKind.PIPELINE][0], kinds[IntegrationKind.COMMUNICATION][0]
    with running_bot.runtime.reading() as s:
        actions = [a for (a,) in s.execute(select(AuditEvent.action).where(AuditEvent.tenantId == tenant_id))]
    assert actions.count("added") == 4

    # Now the release, from the create form, and its build.
    assert ada.command("create 1.5.0", trigger_id=trigger()).status_code == 200
    create = latest(slack, CallbackId.CREATE_RELEASE)
    done = ada.view_submission(create, {
        BlockId.VERSION: {ActionId.VERSION: text_value("1.5.0")}, BlockId.SCM: {ActionId.SCM: select_value(scm.id)},
        BlockId.TARGETS: {ActionId.TARGETS: multi_value([target.id])},
        BlockId.PIPELINES: {ActionId.PIPELINES: multi_value([pipeline.id])},
        BlockId.COMMUNICATION: {ActionId.COMMUNICATION: select_value(channel.id)}}, view_id="V0CREATE9")
    assert done.status_code == 200 and done.text == ""
    card = wait_for(lambda: slack.last_message("CRELEASES"))
    button = next(b["accessory"] for b in card["blocks"] if b.get("block_id", "").startswith(BlockId.PIPELINE_PREFIX))
    clicked = ada.block_action(action_id=ActionId.TRIGGER_BUILD, value=button["value"], block_id="b",
                               channel_id="CRELEASES", message_ts=card["ts"])
    assert clicked.status_code == 200
    assert len(wait_for(lambda: jenkins.calls("POST", "buildWithParameters"))) == 1


def test_an_invalid_integration_shows_the_providers_reason_in_the_modal(running_bot, github):
    slack, ada = running_bot.slack, running_bot.as_user()
    form, _ = add_from_slack(running_bot, ada, "scm:GITHUB", {
        "displayName": typed("iOS app"), "baseUrl": typed(github.url), "organization": typed("acme"),
        "repository": typed("app"), "token": typed("ghp_not_a_token_github_knows")})
    result = json.dumps(outcome_in(slack, form["id"]), ensure_ascii=False)
    assert "❌" in result and "not valid" in result
    assert "ghp_not_a_token" not in result and "ghp_not_a_token" not in json.dumps([c.params for c in slack.api_calls])


def test_bad_values_are_shown_inline_and_nothing_is_stored(running_bot):
    ada = running_bot.as_user()
    _, answer = add_from_slack(running_bot, ada, "pipeline:JENKINS", {
        "displayName": typed("CI"), "baseUrl": typed("https://user:pw@ci.example.com"), "jobPath": typed("x"),
        "scmIntegrationId": picked("-"), "targetIntegrationId": picked("-"), "username": typed("u"), "apiToken": typed("t")})
    assert answer["response_action"] == "errors"
    assert "user name or password" in answer["errors"]["baseUrl"] and "scmIntegrationId" in answer["errors"]
    assert "pw" not in answer["errors"]["baseUrl"].replace("password", "")


@pytest.fixture
def admin_world(running_bot, world):
    """The World's admin is a stranger to this test's Slack users: U0GRACE arrives as a member."""
    return world


def counts(running_bot, tenant_id) -> tuple:
    with running_bot.runtime.reading() as s:
        audit = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.tenantId == tenant_id))
        owed = s.scalar(select(func.count()).select_from(IntegrationVerification).where(IntegrationVerification.tenantId == tenant_id))
        admins = [a.slackUserId for a in tenants.list_admins(s, tenant_id=tenant_id)]
        views = sorted((v.id, v.displayName, v.isActive, v.verificationStatus.value, json.dumps(v.details, sort_keys=True))
                       for k in IntegrationKind for v in integrations.list_integrations(s, tenant_id=tenant_id, kind=k))
    return audit, owed, admins, views


def test_a_member_reaches_no_admin_action_by_any_payload(running_bot, admin_world):
    world, slack = admin_world, running_bot.slack
    grace = running_bot.as_user("U0GRACE", "grace")
    assert grace.command("integrations", trigger_id=trigger()).status_code == 200
    members_list = latest(slack, CallbackId.INTEGRATIONS)
    assert ActionId.INTEGRATION_ADD not in json.dumps(members_list) and ActionId.INTEGRATION_MENU not in json.dumps(members_list)
    before = counts(running_bot, world.tenant.id)
    pushes = len(slack.calls_to("views.push"))

    in_view(grace, members_list, ActionId.INTEGRATION_ADD)
    for op in MenuOp:
        in_view(grace, members_list, ActionId.INTEGRATION_MENU, option=f"{op.value}:{world.scm.id}")
    in_view(grace, members_list, ActionId.ADMIN_REVOKE, value=world.admin.id)
    wait_for(lambda: len([e for e in slack.ephemerals if "only a releasebot admin" in e["text"]]) >= 3)
    refusals = [c for c in slack.calls_to("views.update") if "only a releasebot admin" in json.dumps(c.params["view"])]
    assert len(refusals) >= 3  # verify, enable, disable: the list says why; edit, remove, add: an ephemeral

    chooser = {"type": "modal", "callback_id": CallbackId.INTEGRATION_CHOOSE, "private_metadata": "", "blocks": []}
    answer = grace.view_submission(chooser, {BlockId.PROVIDER: {ActionId.PROVIDER: {
        "type": "static_select", "selected_option": {"value": "scm:GITHUB"}}}}, view_id="V0FORGED1").json()
    assert answer["response_action"] == "errors" and "only a releasebot admin" in answer["errors"][BlockId.PROVIDER]
    for meta in ({"kind": "scm", "provider": "GITHUB", "id": None}, {"kind": "scm", "provider": "GITHUB", "id": world.scm.id}):
        form = {"type": "modal", "callback_id": CallbackId.INTEGRATION_FORM, "private_metadata": json.dumps(meta), "blocks": []}
        answer = grace.view_submission(form, {"displayName": typed("Mine"), "organization": typed("evil"),
                                              "repository": typed("app"), "token": typed("ghp_evil")}, view_id="V0FORGED2").json()
        assert answer["response_action"] == "errors" and "only a releasebot admin" in answer["errors"]["displayName"]
    remove = {"type": "modal", "callback_id": CallbackId.INTEGRATION_REMOVE, "blocks": [],
              "private_metadata": json.dumps({"id": world.jira.id, "list": None})}
    answer = grace.view_submission(remove, {}, view_id="V0FORGED3").json()
    assert "Not removed" in json.dumps(answer["view"]) and "only a releasebot admin" in json.dumps(answer["view"])
    admins = {"type": "modal", "callback_id": CallbackId.ADMINS, "private_metadata": "", "blocks": []}
    answer = grace.view_submission(admins, {BlockId.NEW_ADMIN: {ActionId.NEW_ADMIN: {
        "type": "users_select", "selected_user": "U0GRACE"}}}, view_id="V0FORGED4").json()
    assert answer["response_action"] == "errors"

    assert counts(running_bot, world.tenant.id) == before  # nothing changed, nothing audited, nothing owed
    assert len(slack.calls_to("views.push")) == pushes  # no form opened for her


def test_forged_menu_values_and_form_metadata_are_refused_by_the_parsing_layer(running_bot, admin_world):
    grace, world = running_bot.as_user("U0GRACE", "grace"), admin_world
    view = {"id": "V0LIST", "type": "modal", "callback_id": CallbackId.INTEGRATIONS, "private_metadata": "", "blocks": []}
    assert in_view(grace, view, ActionId.INTEGRATION_MENU, option=f"drop_tables:{world.scm.id}").status_code == 400
    form = {"type": "modal", "callback_id": CallbackId.INTEGRATION_FORM, "blocks": [],
            "private_metadata": json.dumps({"kind": "scm", "provider": "JENKINS", "id": None})}
    assert grace.view_submission(form, {}, view_id="V0FORGED5").status_code == 400
    form["private_metadata"] = json.dumps({"kind": "scm", "provider": "GITHUB", "id": None})
    assert grace.view_submission(form, {"encryptedCredentials": typed("x")}, view_id="V0FORGED6").status_code == 400


def test_admins_grant_and_revoke_from_slack_and_the_last_admin_stays(running_bot):
    slack, ada = running_bot.slack, running_bot.as_user()
    assert ada.command("admins", trigger_id=trigger()).status_code == 200  # the first person: admin
    modal = latest(slack, CallbackId.ADMINS)
    answer = ada.view_submission(modal, {BlockId.NEW_ADMIN: {ActionId.NEW_ADMIN: {
        "type": "users_select", "selected_user": "U0GRACE"}}}, view_id=modal["id"]).json()
    assert answer["response_action"] == "update" and "<@U0GRACE> is an admin now" in json.dumps(answer["view"])
    with running_bot.runtime.reading() as s:
        tenant_id = s.scalar(select(Tenant.id).where(Tenant.slackTeamId == running_bot.team_id))
        accounts = {a.slackUserId: (a.id, a.role) for a in s.scalars(select(Account).where(Account.tenantId == tenant_id))}
    assert accounts["U0GRACE"][1] == Role.ADMIN

    grace = running_bot.as_user("U0GRACE", "grace")
    in_view(grace, modal, ActionId.ADMIN_REVOKE, value=accounts["U0ADA"][0])
    wait_for(lambda: any("<@U0ADA> is no longer an admin" in json.dumps(c.params["view"]) for c in slack.calls_to("views.update")))
    in_view(grace, modal, ActionId.ADMIN_REVOKE, value=accounts["U0GRACE"][0])
    wait_for(lambda: any("the last admin cannot be removed" in json.dumps(c.params["view"]) for c in slack.calls_to("views.update")))
    with running_bot.runtime.reading() as s:
        assert [a.slackUserId for a in tenants.list_admins(s, tenant_id=tenant_id)] == ["U0GRACE"]


@pytest.mark.parametrize("named_admins", [("U0GRACE",)])
def test_releasebot_admins_names_the_admins_and_the_first_person_is_a_member(running_bot, named_admins):
    slack = running_bot.slack
    running_bot.as_user().command("admins", trigger_id=trigger())  # Ada is first, but the operator named Grace
    members_view = latest(slack, CallbackId.ADMINS)
    assert "submit" not in members_view and "Ask one of them" in json.dumps(members_view)
    running_bot.as_user("U0GRACE", "grace").command("admins", trigger_id=trigger())
    wait_for(lambda: len([v for v in slack.views.values() if v["callback_id"] == CallbackId.ADMINS]) == 2)
    with running_bot.runtime.reading() as s:
        roles = {a.slackUserId: a.role for a in s.scalars(select(Account).join(Tenant, Tenant.id == Account.tenantId)
                                                               .where(Tenant.slackTeamId == running_bot.team_id))}
    assert roles == {"U0ADA": Role.MEMBER, "U0GRACE": Role.ADMIN}
    graces_view = latest(slack, CallbackId.ADMINS)
    assert "named by the operator" in json.dumps(graces_view) and ActionId.ADMIN_REVOKE not in json.dumps(graces_view)


def test_an_admin_edits_verifies_disables_and_removes_from_the_list(running_bot, admin_world):
    world, slack = admin_world, running_bot.slack
    slack.add_user(world.admin.slackUserId, name="ada")
    admin = running_bot.as_user(world.admin.slackUserId, "ada")
    assert admin.command("integrations", trigger_id=trigger()).status_code == 200
    listing = latest(slack, CallbackId.INTEGRATIONS)
    assert f"{MenuOp.EDIT.value}:{world.scm.id}" in json.dumps(listing)

    in_view(admin, listing, ActionId.INTEGRATION_MENU, option=f"edit:{world.scm.id}")
    form = latest(slack, CallbackId.INTEGRATION_FORM)
    inputs = {b["block_id"]: b["element"] for b in form["blocks"] if b["type"] == "input"}
    assert inputs["repository"]["initial_value"] == "app" and "initial_value" not in inputs["token"]
    answer = admin.view_submission(form, {"displayName": typed("iOS repository"), "baseUrl": typed(world.scm.baseUrl),
                                          "organization": typed("acme"), "repository": typed("app"), "token": typed("")},
                                   view_id=form["id"]).json()
    assert answer["response_action"] == "update"
    assert "✅" in json.dumps(outcome_in(slack, form["id"]), ensure_ascii=False)  # the stored token still works
    with running_bot.runtime.reading() as s:
        from core.models import ScmIntegration
        assert integrations.load_secrets(s.get(ScmIntegration, world.scm.id), running_bot.runtime.cipher) == {"token": SCM_TOKEN}

    in_view(admin, listing, ActionId.INTEGRATION_MENU, option=f"verify:{world.scm.id}")
    dm = "D" + world.admin.slackUserId[1:]
    wait_for(lambda: any("✅ *iOS repository* is verified" in m["text"] for m in slack.messages_in(dm)))

    in_view(admin, listing, ActionId.INTEGRATION_MENU, option=f"disable:{world.ios.id}")
    wait_for(lambda: any("*App Store* is disabled" in json.dumps(c.params["view"]) for c in slack.calls_to("views.update")))

    in_view(admin, listing, ActionId.INTEGRATION_MENU, option=f"remove:{world.scm.id}")
    confirm = opened_after(slack, CallbackId.INTEGRATION_REMOVE, 0)
    refused = admin.view_submission(confirm, {}, view_id=confirm["id"]).json()
    assert "Not removed" in json.dumps(refused["view"]) and "pipelines Jenkins Android, Jenkins iOS" in json.dumps(refused["view"])
    in_view(admin, listing, ActionId.INTEGRATION_MENU, option=f"remove:{world.android_pipeline.id}")
    confirm = opened_after(slack, CallbackId.INTEGRATION_REMOVE, 1)
    done = admin.view_submission(confirm, {}, view_id=confirm["id"]).json()
    assert "*Jenkins Android* is removed." in json.dumps(done["view"])
    wait_for(lambda: any(c.params.get("view_id") == listing["id"] and "Jenkins Android" not in json.dumps(c.params["view"])
                         for c in slack.calls_to("views.update")))
    with running_bot.runtime.reading() as s:
        actions = list(s.scalars(select(AuditEvent.action).where(AuditEvent.tenantId == world.tenant.id).order_by(AuditEvent.id)))
    assert actions == ["edited", "verification requested", "verification requested", "disabled", "removed"]
