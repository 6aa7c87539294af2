"""OAuth mode end to end: workspaces install releasebot through Slack's OAuth flow (the real server, a real
HTTP client, the fake Slack's oauth.v2.access), then every Slack call made for a workspace carries that
workspace's own token; an uninstall stops what was owed to it; an org-wide install serves each workspace
of the org as its own tenant; a rotating token is refreshed when it expires."""
from __future__ import annotations

import re
import uuid
from html import unescape
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests
from sqlalchemy import select, text, update

from bot.ids import ActionId, BlockId
from bot.oauth import BOT_SCOPES
from core.config import Settings
from core.crypto import generate_key
from core.enums import BuildState, IntegrationKind, NotificationState, Role
from core.models import Account, AuditEvent, Notification, PipelineBuild, Release, SlackInstallation, Tenant
from core.runtime import Runtime
from core.services import integration_writes
from core.services.verification import verify_integration
from tests.bot.helpers import database_url, serving, wait_for
from tests.conftest import delete_tenant_rows, tenant_ids
from tests.factories import World
from tests.fakes.jenkins import RELEASE_JOB
from tests.slack_requests import (
    SIGNING_SECRET,
    SlackClient,
    date_value,
    event_request,
    multi_value,
    select_value,
    sign,
    text_value,
)

REDIRECT_URI = "https://releasebot.example.com/slack/oauth_redirect"
STATE_COOKIE = "slack-app-oauth-state"


class OAuthBot:
    """The bot in OAuth mode on loopback, with what a test needs to install it and act in a workspace."""

    def __init__(self, url: str, runtime: Runtime, slack):
        self.url, self.runtime, self.slack = url, runtime, slack

    def install(self, team_id: str | None, user_id: str, *, enterprise_id: str | None = None) -> requests.Response:
        """A person installs the app: the Add to Slack page, Slack's consent (the fake's code), the redirect."""
        page = requests.get(self.url + "/slack/install", timeout=10)
        assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
        cookie = re.match(rf"{STATE_COOKIE}=([^;]+);", page.headers["Set-Cookie"])
        link = unescape(re.search(r'href="(https://slack\.com/oauth/v2/authorize\?[^"]+)"', page.text)[1])
        asked = parse_qs(urlparse(link).query)
        assert asked["state"] == [cookie[1]] and asked["client_id"] == [self.slack.client_id]
        assert set(asked["scope"][0].split(",")) == set(BOT_SCOPES) and asked["redirect_uri"] == [REDIRECT_URI]
        code = self.slack.approve(team_id, user_id, redirect_uri=REDIRECT_URI, enterprise_id=enterprise_id)
        return self.redirect(code, cookie[1])

    def redirect(self, code: str, state: str, *, cookie: str | None = None) -> requests.Response:
        # The state cookie is `Secure`: a browser sends it back over HTTPS; here we send it as the browser would.
        return requests.get(self.url + "/slack/oauth_redirect", params={"code": code, "state": state},
                            headers={"Cookie": f"{STATE_COOKIE}={cookie or state}"}, allow_redirects=False, timeout=10)

    def user(self, team_id: str, user_id: str, name: str) -> SlackClient:
        return SlackClient(self.url, team_id=team_id, user_id=user_id, user_name=name)

    def event(self, team_id: str | None, event: dict, **kwargs) -> requests.Response:
        body, headers = event_request(team_id, event, **kwargs)
        return requests.post(self.url + "/slack/events", data=body.encode(), headers=headers, timeout=10)

    def installation(self, team_id: str = "", enterprise_id: str = "") -> SlackInstallation | None:
        with self.runtime.reading() as s:
            return _detached(s, s.scalar(select(SlackInstallation).where(SlackInstallation.teamId == team_id,
                                                                         SlackInstallation.enterpriseId == enterprise_id)))

    def tenant(self, team_id: str) -> Tenant | None:
        with self.runtime.reading() as s:
            return _detached(s, s.scalar(select(Tenant).where(Tenant.slackTeamId == team_id)))

    def role_of(self, tenant_id: str, user_id: str) -> Role | None:
        with self.runtime.reading() as s:
            return s.scalar(select(Account.role).where(Account.tenantId == tenant_id, Account.slackUserId == user_id))


    def admin_grants(self, tenant_id: str) -> list[tuple]:
        """The tenant's audit rows of admin grants, oldest first: (actor id, actor, subject id, subject, action, detail)."""
        with self.runtime.reading() as s:
            return [tuple(r) for r in s.execute(
                select(AuditEvent.actorAccountId, AuditEvent.actorName, AuditEvent.subjectId, AuditEvent.subjectName,
                       AuditEvent.action, AuditEvent.detail)
                .where(AuditEvent.tenantId == tenant_id, AuditEvent.subjectKind == "admin").order_by(AuditEvent.id))]

    def account_id(self, tenant_id: str, user_id: str) -> str | None:
        with self.runtime.reading() as s:
            return s.scalar(select(Account.id).where(Account.tenantId == tenant_id, Account.slackUserId == user_id))


def _detached(session, row):
    """A row read in a session about to close, still readable afterwards."""
    if row is not None:
        session.expunge(row)
    return row


@pytest.fixture
def oauth_bot(engine, tmp_path, slack):
    runtime = Runtime(Settings(
        poll_seconds=0.2, claim_seconds=5, database_url=database_url(engine, tmp_path), secret_keys=(generate_key(),),
        slack_client_id=slack.client_id, slack_client_secret=slack.client_secret, slack_redirect_uri=REDIRECT_URI,
        slack_signing_secret=SIGNING_SECRET, slack_api_url=slack.url + "/api/", allow_private_networks=True))
    runtime.migrate()
    before = tenant_ids(runtime.engine)
    with serving(runtime) as (url, bot):
        following, stop_following = bot.follower.start()
        yield OAuthBot(url, runtime, slack)
        stop_following.set()
        bot.follower.wake()
        following.join(timeout=30)
    if engine.dialect.name != "sqlite":  # the MariaDB test database is shared: leave it as found
        with runtime.engine.begin() as conn:
            for org in [w.enterprise_id for w in slack.workspaces.values() if w.enterprise_id]:
                conn.execute(text("DELETE FROM slack_installations WHERE enterpriseId=:e"), {"e": org})
        delete_tenant_rows(runtime.engine, tenant_ids(runtime.engine) - before)
    runtime.engine.dispose()


def new_team() -> str:
    return "T" + uuid.uuid4().hex[:9].upper()


def test_the_install_page_and_the_redirect_store_the_install_encrypted_and_welcome_the_installer(oauth_bot, slack):
    team = new_team()
    slack.add_workspace(team, "Globex")
    slack.add_user("U0HANK", name="hank")
    before = len(slack.api_calls)
    answer = oauth_bot.install(team, "U0HANK")
    assert answer.status_code == 200 and "Thank you" in answer.text
    # The whole install costs Slack three calls: the code exchange, who the token is, the welcome.
    assert [c.method for c in slack.api_calls[before:]] == ["oauth.v2.access", "auth.test", "chat.postMessage"]

    tenant = oauth_bot.tenant(team)
    assert tenant is not None and tenant.name == "Globex"
    assert oauth_bot.role_of(tenant.id, "U0HANK") == Role.ADMIN
    row = oauth_bot.installation(team)
    token = slack.tokens_of(team)[0]
    assert row.isActive and row.tenantId == tenant.id and row.installerUserId == "U0HANK"
    assert token not in row.credentials and oauth_bot.runtime.cipher.decrypt(row.credentials) == {"bot_token": token}
    assert row.botTokenExpiresAt is None  # no token rotation: the token does not expire
    exchange = slack.calls_to("oauth.v2.access")[-1]
    assert exchange.ok and exchange.params["redirect_uri"] == REDIRECT_URI and exchange.token is None
    welcome = wait_for(lambda: slack.messages_in("D0HANK"))
    assert "you are its admin" in welcome[0]["text"] and "/invite @releasebot" in welcome[0]["text"]
    assert slack.calls_to("chat.postMessage")[-1].token == token


def test_a_redirect_without_its_state_cookie_or_with_a_bad_code_installs_nothing(oauth_bot, slack):
    team = new_team()
    slack.add_workspace(team, "Initech")
    page = requests.get(oauth_bot.url + "/slack/install", timeout=10)
    state = re.match(rf"{STATE_COOKIE}=([^;]+);", page.headers["Set-Cookie"])[1]
    code = slack.approve(team, "U0ADA", redirect_uri=REDIRECT_URI)

    stolen = oauth_bot.redirect(code, state, cookie="another-browsers-state")
    assert stolen.status_code == 400  # the state was not issued to this browser
    forged = oauth_bot.redirect(code, "never-issued")
    assert forged.status_code == 401
    bad_code = oauth_bot.redirect("not-a-code", state)
    assert bad_code.status_code == 401 and slack.calls_to("oauth.v2.access")[-1].error == "invalid_code"
    again = oauth_bot.redirect(code, state)  # the state was consumed by the bad-code attempt: good once
    assert again.status_code == 401
    assert oauth_bot.tenant(team) is None and oauth_bot.installation(team) is None


def test_a_redirect_uri_that_differs_from_the_authorize_step_is_refused_by_slack(oauth_bot, slack):
    team = new_team()
    slack.add_workspace(team, "Umbrella")
    page = requests.get(oauth_bot.url + "/slack/install", timeout=10)
    state = re.match(rf"{STATE_COOKIE}=([^;]+);", page.headers["Set-Cookie"])[1]
    code = slack.approve(team, "U0ADA", redirect_uri="https://elsewhere.example.com/slack/oauth_redirect")
    answer = oauth_bot.redirect(code, state)
    assert answer.status_code == 401 and slack.calls_to("oauth.v2.access")[-1].error == "bad_redirect_uri"
    assert oauth_bot.tenant(team) is None


class Workspace:
    """One installed workspace with its integrations (made with the World factory), its channel in the fake Slack
    and a verified Jenkins pipeline on the fake Jenkins."""

    def __init__(self, oauth_bot, slack, jenkins, github, name: str, user: str):
        self.team, self.user_id = new_team(), user
        slack.add_workspace(self.team, name)
        slack.add_user(user, name=user.lower())
        assert oauth_bot.install(self.team, user).status_code == 200
        rt = oauth_bot.runtime
        self.tenant = oauth_bot.tenant(self.team)
        with rt.unit_of_work() as s:
            self.world = World(s, rt.cipher, existing_tenant=s.get(Tenant, self.tenant.id), scm_base_url=github.url)
        self.channel = self.world.channel.details["channelId"]
        slack.add_channel(self.channel, "releases", team_id=self.team)
        slack.add_channel("C" + self.team[1:], "general", team_id=self.team)
        with rt.unit_of_work() as s:
            view = integration_writes.add_integration(
                s, tenant_id=self.tenant.id, kind=IntegrationKind.PIPELINE, provider="jenkins", display_name="Jenkins CI",
                cipher=rt.cipher, base_url=jenkins.url, secrets={"username": "releasebot", "apiToken": "jenkins-api-token"},
                fields={"scmIntegrationId": self.world.scm.id, "targetIntegrationId": self.world.ios.id,
                        "jobPath": RELEASE_JOB})
        with rt.unit_of_work() as s:
            assert verify_integration(s, tenant_id=self.tenant.id, integration_id=view.id, cipher=rt.cipher,
                                      ctx=rt.provider_context).usable
        self.pipeline_id = view.id
        self.client = oauth_bot.user(self.team, user, user.lower())
        self.token = slack.tokens_of(self.team)[0]

    def create_release(self, oauth_bot, slack, version: str) -> Release:
        """`/release create` → the modal → its submission → the card posted by the runner."""
        opened = len(slack.calls_to("views.open"))
        trigger = f"{uuid.uuid4().int % 10**11}.{uuid.uuid4().int % 10**9}.{uuid.uuid4().hex}"
        assert self.client.command(f"create {version}", channel_id="C" + self.team[1:], trigger_id=trigger).status_code == 200
        modal = wait_for(lambda: len(slack.calls_to("views.open")) > opened and slack.calls_to("views.open")[-1])
        assert modal.ok, modal.error
        values = {
            BlockId.VERSION: {ActionId.VERSION: text_value(version)},
            BlockId.RELEASE_TYPE: {ActionId.RELEASE_TYPE: {"type": "static_select", "selected_option": {"value": "PLANNED"}}},
            BlockId.SCM: {ActionId.SCM: select_value(self.world.scm.id)},
            BlockId.BASE_BRANCH: {ActionId.BASE_BRANCH: text_value("main")},
            BlockId.TARGETS: {ActionId.TARGETS: multi_value([self.world.ios.id])},
            BlockId.PIPELINES: {ActionId.PIPELINES: multi_value([self.pipeline_id])},
            BlockId.COMMUNICATION: {ActionId.COMMUNICATION: select_value(self.world.channel.id)},
            BlockId.TICKET: {ActionId.TICKET: select_value(None)},
            BlockId.PLANNED_DATE: {ActionId.PLANNED_DATE: date_value("2026-12-01")},
            BlockId.TARGET_DATE: {ActionId.TARGET_DATE: date_value("2026-12-10")},
            BlockId.PILOT: {ActionId.PILOT: {"type": "users_select", "selected_user": self.user_id}},
            BlockId.DESCRIPTION: {ActionId.DESCRIPTION: text_value("From OAuth")},
        }
        assert self.client.view_submission(modal.params["view"], values).status_code == 200
        wait_for(lambda: slack.messages_in(self.channel))
        with oauth_bot.runtime.reading() as s:
            return _detached(s, s.scalar(select(Release).where(Release.tenantId == self.tenant.id)))

    def trigger_build(self, oauth_bot, slack, release: Release) -> None:
        card = slack.messages_in(self.channel)[0]
        with oauth_bot.runtime.reading() as s:
            rp_id = s.scalar(text("SELECT id FROM release_pipelines WHERE releaseId=:r"), {"r": release.id})
        answer = self.client.block_action(action_id=ActionId.TRIGGER_BUILD, value=rp_id,
                                          block_id=f"{BlockId.PIPELINE_PREFIX}{rp_id}", channel_id=self.channel,
                                          message_ts=card["ts"])
        assert answer.status_code == 200


def channels_of(call) -> set[str]:
    return {call.params[k] for k in ("channel",) if isinstance(call.params.get(k), str)}


def test_two_workspaces_install_create_and_build_and_every_slack_call_carries_its_own_token(oauth_bot, slack, jenkins, github):
    acme = Workspace(oauth_bot, slack, jenkins, github, "Acme", "U0ACME")
    globex = Workspace(oauth_bot, slack, jenkins, github, "Globex", "U0GLOBEX")
    assert acme.token != globex.token and acme.tenant.id != globex.tenant.id

    releases = {}
    for ws, version in ((acme, "1.5.0"), (globex, "2.0.0")):
        releases[ws.team] = ws.create_release(oauth_bot, slack, version)
        ws.trigger_build(oauth_bot, slack, releases[ws.team])
    wait_for(lambda: len(jenkins.calls("POST", "buildWithParameters")) == 2)
    for ws in (acme, globex):  # the build's thread line, under each workspace's own card
        wait_for(lambda ws=ws: any("triggered" in m["text"] for m in slack.messages_in(ws.channel) if m.get("thread_ts")))
    for ws in (acme, globex):  # and the card redrawn: a delivery of its own, in no set order with the thread line
        wait_for(lambda ws=ws: any(c.method == "chat.update" and c.token == ws.token for c in slack.api_calls))

    owner = {acme.token: acme, globex.token: globex}
    calls = [c for c in slack.api_calls if c.method != "oauth.v2.access"]
    assert {c.token for c in calls} == {acme.token, globex.token}  # no call without a token, none with another
    for call in calls:
        ws = owner[call.token]
        assert call.ok, (call.method, call.error)
        assert channels_of(call) <= {ws.channel, "C" + ws.team[1:], "D" + ws.user_id[1:], ws.user_id}, call
    for ws in (acme, globex):  # who the token is: asked at install, and once by the first request (then cached)
        assert len([c for c in calls if c.method == "auth.test" and owner[c.token] is ws]) == 2
    methods = {(owner[c.token].team, c.method) for c in calls}
    for ws in (acme, globex):  # each workspace's modal, card, ephemeral, redraw and thread line, with its token
        assert {(ws.team, m) for m in ("views.open", "chat.postMessage", "chat.postEphemeral", "chat.update")} <= methods


def test_an_uninstalled_workspace_gets_nothing_more_its_data_stays_and_a_reinstall_picks_up(oauth_bot, slack, jenkins, github):
    acme = Workspace(oauth_bot, slack, jenkins, github, "Acme", "U0ACME")
    globex = Workspace(oauth_bot, slack, jenkins, github, "Globex", "U0GLOBEX")
    release = {ws.team: ws.create_release(oauth_bot, slack, "3.0.0") for ws in (acme, globex)}
    for ws in (acme, globex):
        ws.trigger_build(oauth_bot, slack, release[ws.team])
    wait_for(lambda: len(jenkins.queue) == 2)
    for ws in (acme, globex):
        wait_for(lambda ws=ws: any("triggered" in m["text"] for m in slack.messages_in(ws.channel) if m.get("thread_ts")))

    slack.uninstall(globex.team)  # Slack revokes the tokens, then tells the app
    assert oauth_bot.event(globex.team, {"type": "app_uninstalled"}).status_code == 200
    row = wait_for(lambda: (r := oauth_bot.installation(globex.team)) and not r.isActive and r)
    assert row.credentials is None and row.deactivatedReason == "app_uninstalled"

    posted_before = len(slack.calls_to("chat.postMessage"))
    for build_id in sorted(jenkins.queue):  # both builds end: only Acme is told
        number = jenkins.start_build(build_id).number
        jenkins.finish_build(RELEASE_JOB, number, "SUCCESS", duration_ms=1000)
    wait_for(lambda: any("succeeded" in m["text"] for m in slack.messages_in(acme.channel)))

    def dropped():
        with oauth_bot.runtime.reading() as s:
            return s.execute(select(Notification.lastError, Notification.attempts).where(
                Notification.tenantId == globex.tenant.id, Notification.state == NotificationState.ABANDONED)).all()
    gone = wait_for(dropped)
    assert all("not installed" in error and attempts == 1 for error, attempts in gone)  # dropped at once, with the reason
    new_calls = slack.calls_to("chat.postMessage")[posted_before:]
    assert all(c.token == acme.token for c in new_calls), [c.token for c in new_calls]
    with oauth_bot.runtime.reading() as s:  # its data stays
        assert s.get(Release, release[globex.team].id) is not None
        assert s.scalar(select(PipelineBuild.state).where(PipelineBuild.tenantId == globex.tenant.id)) == BuildState.SUCCESS

    told = globex.client.command("list", response_url=slack.url + "/commands/T0/1/x")
    assert told.status_code == 200  # Bolt finds no installation: the person is told, through the response_url
    assert "reinstall" in wait_for(lambda: slack.responses)[-1]["text"].lower()

    slack.add_user("U0NEWADMIN", name="newadmin")
    assert oauth_bot.install(globex.team, "U0NEWADMIN").status_code == 200
    again = oauth_bot.installation(globex.team)
    assert again.isActive and again.tenantId == globex.tenant.id and again.id == row.id
    assert oauth_bot.role_of(globex.tenant.id, "U0NEWADMIN") == Role.ADMIN
    welcome = wait_for(lambda: slack.messages_in("D0NEWADMIN"))
    assert "installed again" in welcome[0]["text"]
    listed = globex.client.command("list")
    assert listed.status_code == 200 and "3.0.0" in listed.text  # picks up where it left off


def test_tokens_revoked_for_the_bot_deactivates_the_install_but_a_user_token_revocation_does_not(oauth_bot, slack):
    team = new_team()
    slack.add_workspace(team, "Hooli")
    oauth_bot.install(team, "U0ADA")
    assert oauth_bot.event(team, {"type": "tokens_revoked", "tokens": {"oauth": ["U0ADA"]}}).status_code == 200
    assert oauth_bot.installation(team).isActive
    assert oauth_bot.event(team, {"type": "tokens_revoked", "tokens": {"bot": ["U0BOT"]}}).status_code == 200
    row = wait_for(lambda: (r := oauth_bot.installation(team)) and not r.isActive and r)
    assert row.deactivatedReason == "tokens_revoked" and oauth_bot.tenant(team) is not None


def test_an_org_wide_install_makes_each_workspace_of_the_org_a_tenant_with_the_installer_as_admin(oauth_bot, slack):
    org, east, west = "E" + uuid.uuid4().hex[:9].upper(), new_team(), new_team()
    slack.add_workspace(east, "Stark East", enterprise_id=org, enterprise_name="Stark")
    slack.add_workspace(west, "Stark West", enterprise_id=org, enterprise_name="Stark")
    slack.add_user("W0ORGADMIN", name="pepper")
    assert oauth_bot.install(None, "W0ORGADMIN", enterprise_id=org).status_code == 200
    row = oauth_bot.installation("", org)
    assert row.isEnterpriseInstall and row.tenantId is None and row.name == "Stark"
    assert oauth_bot.tenant(east) is None  # a workspace becomes a tenant on its first request
    assert "whole organization" in wait_for(lambda: slack.messages_in("D0ORGADMIN"))[0]["text"]

    token = slack.tokens_of(org)[0]
    for team, user in ((east, "W0TONY"), (west, "W0HAPPY")):
        slack.add_channel("C" + team[1:], "general", team_id=team)
        body = urlencode({"token": "x", "team_id": team, "team_domain": "stark", "enterprise_id": org,
                          "enterprise_name": "Stark", "is_enterprise_install": "true", "channel_id": "C" + team[1:],
                          "user_id": user, "user_name": user.lower(), "command": "/release", "text": "help",
                          "api_app_id": "A0RELEASEBOT", "response_url": "https://hooks.slack.com/commands/T0/1/x",
                          "trigger_id": "1.2.3"})
        answer = requests.post(oauth_bot.url + "/slack/events", data=body.encode(), headers=sign(body), timeout=10)
        assert answer.status_code == 200 and "reinstall" not in answer.text.lower()
        tenant = oauth_bot.tenant(team)
        assert tenant.slackEnterpriseId == org
        assert oauth_bot.role_of(tenant.id, "W0ORGADMIN") == Role.ADMIN  # the installer, not the first person
        assert oauth_bot.role_of(tenant.id, user) == Role.MEMBER
    assert oauth_bot.tenant(east).id != oauth_bot.tenant(west).id
    auth = slack.calls_to("auth.test")[-1]
    assert auth.token == token and auth.ok  # the flow asked who the org-wide token is


def test_an_expired_rotating_token_is_refreshed_before_it_is_used(oauth_bot, slack, jenkins, github):
    slack.token_rotation = True
    acme = Workspace(oauth_bot, slack, jenkins, github, "Acme", "U0ACME")
    row = oauth_bot.installation(acme.team)
    first = oauth_bot.runtime.cipher.decrypt(row.credentials)
    assert first["bot_refresh_token"].startswith("xoxe-1-") and row.botTokenExpiresAt is not None

    # Twelve hours later: Slack refuses the token; the stored expiry says so too.
    slack.expire(acme.token)
    with oauth_bot.runtime.unit_of_work() as s:
        s.execute(update(SlackInstallation).where(SlackInstallation.id == row.id)
                  .values(botTokenExpiresAt=row.installedAt))
    release = acme.create_release(oauth_bot, slack, "4.0.0")  # the listener's authorize rotates it
    refresh = [c for c in slack.calls_to("oauth.v2.access") if c.params.get("grant_type") == "refresh_token"]
    assert len(refresh) == 1 and refresh[0].params["refresh_token"] == first["bot_refresh_token"]
    rotated = oauth_bot.runtime.cipher.decrypt(oauth_bot.installation(acme.team).credentials)
    assert rotated["bot_token"] != acme.token and rotated["bot_refresh_token"] != first["bot_refresh_token"]
    assert slack.calls_to("views.open")[-1].token == rotated["bot_token"]
    wait_for(lambda: slack.calls_to("chat.getPermalink"))
    later = [c for c in slack.api_calls if c.method in ("chat.postMessage", "chat.postEphemeral", "chat.getPermalink")
             and c.params.get("channel") != acme.user_id]  # not the welcome, sent at install
    assert later and all(c.token == rotated["bot_token"] and c.ok for c in later)  # the runner uses the new one

    acme.trigger_build(oauth_bot, slack, release)
    wait_for(lambda: any("triggered" in m["text"] for m in slack.messages_in(acme.channel) if m.get("thread_ts")))

    # Expired again while the build runs: no request comes in, the runner is the first to need the token.
    slack.expire(rotated["bot_token"])
    with oauth_bot.runtime.unit_of_work() as s:
        s.execute(update(SlackInstallation).where(SlackInstallation.id == row.id)
                  .values(botTokenExpiresAt=row.installedAt))
    number = jenkins.start_build(max(wait_for(lambda: jenkins.queue))).number
    jenkins.finish_build(RELEASE_JOB, number, "SUCCESS", duration_ms=1000)
    told = wait_for(lambda: [c for c in slack.calls_to("chat.postMessage") if "succeeded" in (c.params.get("text") or "")])
    third = oauth_bot.runtime.cipher.decrypt(oauth_bot.installation(acme.team).credentials)
    assert third["bot_token"] not in (acme.token, rotated["bot_token"])
    assert told[-1].token == third["bot_token"] and told[-1].ok
    assert len([c for c in slack.calls_to("oauth.v2.access") if c.params.get("grant_type") == "refresh_token"]) == 2
    assert not [c for c in slack.api_calls if c.error == "token_expired"]  # never used once expired


def test_a_slack_channel_is_verified_with_its_own_workspaces_token(oauth_bot, slack, jenkins, github):
    acme = Workspace(oauth_bot, slack, jenkins, github, "Acme", "U0ACME")
    globex = Workspace(oauth_bot, slack, jenkins, github, "Globex", "U0GLOBEX")
    rt = oauth_bot.runtime
    with rt.unit_of_work() as s:
        mine = verify_integration(s, tenant_id=acme.tenant.id, integration_id=acme.world.channel.id, cipher=rt.cipher,
                                  ctx=rt.provider_context)
        theirs = integration_writes.add_integration(  # Globex's channel id typed into Acme's integration
            s, tenant_id=acme.tenant.id, kind=IntegrationKind.COMMUNICATION, provider="slack", display_name="#theirs",
            cipher=rt.cipher, fields={"channelId": globex.channel, "channelName": "releases"})
    with rt.unit_of_work() as s:
        smuggled = verify_integration(s, tenant_id=acme.tenant.id, integration_id=theirs.id, cipher=rt.cipher,
                                      ctx=rt.provider_context)
    assert mine.usable and not smuggled.usable and "does not exist" in smuggled.verificationError
    assert {c.token for c in slack.calls_to("conversations.info")} == {acme.token}


def test_the_installers_admin_grant_is_audited_once_and_a_new_installers_too(oauth_bot, slack):
    team = new_team()
    slack.add_workspace(team, "Initech")
    for user in ("U0PETER", "U0JOANNA"):
        slack.add_user(user, name=user[2:].lower())
    assert oauth_bot.install(team, "U0PETER").status_code == 200
    tenant = oauth_bot.tenant(team)
    peter = oauth_bot.account_id(tenant.id, "U0PETER")
    granted = (peter, "U0PETER", peter, "U0PETER", "admin granted", "installed the app")
    assert oauth_bot.admin_grants(tenant.id) == [granted]
    assert oauth_bot.install(team, "U0PETER").status_code == 200  # the same admin again: nothing new to record
    assert oauth_bot.admin_grants(tenant.id) == [granted]
    assert oauth_bot.install(team, "U0JOANNA").status_code == 200
    joanna = oauth_bot.account_id(tenant.id, "U0JOANNA")
    assert oauth_bot.admin_grants(tenant.id) == [granted, (joanna, "U0JOANNA", joanna, "U0JOANNA", "admin granted",
                                                           "installed the app again")]


def test_an_org_wide_installers_admin_grant_is_audited_in_each_workspace_it_adopts(oauth_bot, slack):
    org, team = "E" + uuid.uuid4().hex[:9].upper(), new_team()
    slack.add_workspace(team, "Umbrella East", enterprise_id=org, enterprise_name="Umbrella")
    slack.add_user("W0ALICE", name="alice")
    assert oauth_bot.install(None, "W0ALICE", enterprise_id=org).status_code == 200
    body = urlencode({"token": "x", "team_id": team, "team_domain": "umbrella", "enterprise_id": org,
                      "enterprise_name": "Umbrella", "is_enterprise_install": "true", "channel_id": "C0GENERAL",
                      "user_id": "W0CARLOS", "user_name": "carlos", "command": "/release", "text": "help",
                      "api_app_id": "A0RELEASEBOT", "response_url": "https://hooks.slack.com/commands/T0/1/x",
                      "trigger_id": "1.2.3"})
    for _ in range(2):  # the workspace is adopted on its first request only
        assert requests.post(oauth_bot.url + "/slack/events", data=body.encode(), headers=sign(body), timeout=10).status_code == 200
    tenant = oauth_bot.tenant(team)
    alice = oauth_bot.account_id(tenant.id, "W0ALICE")
    assert oauth_bot.admin_grants(tenant.id) == [(alice, "W0ALICE", alice, "W0ALICE", "admin granted",
                                                  "installed the app for the whole organization")]
