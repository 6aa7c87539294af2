"""The App Store from the card, through the real server: an iOS target submitted (What's New from the form),
reviewed (the fake App Review moves it), released in phases that are paused, resumed and completed; a
rejection and its resubmission; clicks repeated while the store is being called; the release ending
RELEASED by itself. The fake App Store Connect counts the requests each action made."""
from __future__ import annotations

import json
import time
from datetime import timedelta

import requests
from sqlalchemy import select

from bot.ids import ActionId, BlockId, CallbackId
from core.clock import utcnow
from core.enums import IntegrationKind, ReleaseStatus, Role, TargetStatus
from core.models import ReleaseTarget, StoreRequest, TargetStore
from core.services import cards, integration_writes
from core.services.history import list_events
from core.services.release_creation import create_release
from core.services.tenants import add_account
from core.services.verification import verify_integration
from tests.bot.helpers import wait_for
from tests.bot.test_release_life_end_to_end import Team, add_pipeline, get_card_or_none
from tests.fakes.jenkins import RELEASE_JOB
from tests.integrations.test_target_app_store import BUNDLE, ISSUER, KEY_ID
from tests.slack_requests import text_value

VERSION = "4.2.0"


class IosRelease(Team):
    """One release with one App Store target (on the fake) built by Jenkins, brought to regression passed by clicks."""

    def __init__(self, running_bot, world, asc, jenkins, settings: dict, secrets: dict | None = None):
        super().__init__(running_bot, world)
        self.asc, rt = asc, running_bot.runtime
        with rt.unit_of_work() as s:
            view = integration_writes.add_integration(
                s, tenant_id=world.tenant.id, kind=IntegrationKind.TARGET, provider="app_store", display_name="iOS App Store",
                cipher=rt.cipher, base_url=asc.url, fields={"appIdentifier": BUNDLE},
                settings={"keyId": KEY_ID, "issuerId": ISSUER, **settings}, secrets={"privateKey": asc.p8, **(secrets or {})})
        self.through_regression(rt, world, jenkins, view.id, "Jenkins iOS")
        self.build_number = self.target.buildNumber

    def through_regression(self, rt, world, jenkins, target_id: str, ci_name: str) -> None:
        """Verify the target, add a Jenkins pipeline for it, create the release, then by clicks: kick off, build,
        start regression and pass it. Sets `id` and `target`."""
        with rt.unit_of_work() as s:
            assert verify_integration(s, tenant_id=world.tenant.id, integration_id=target_id, cipher=rt.cipher,
                                      ctx=rt.provider_context).usable
        jenkins.start_after_polls, jenkins.finish_after_polls = 0, 0
        ci = add_pipeline(rt, world, provider="jenkins", display_name=ci_name, base_url=jenkins.url,
                          secrets={"username": "releasebot", "apiToken": "jenkins-api-token"},
                          fields={"scmIntegrationId": world.scm.id, "targetIntegrationId": target_id, "jobPath": RELEASE_JOB})
        with rt.unit_of_work() as s:
            created = create_release(s, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                                     draft=world.draft(version=VERSION, target_ids=(target_id,), pipeline_ids=(ci.id,)))
        with rt.unit_of_work() as s:
            cards.owe_card(s, tenant_id=world.tenant.id, release_id=created.id, channel_id=world.channel.details["channelId"])
        release = wait_for(lambda: get_card_or_none(rt, created) and self.release(VERSION))
        self.stage(release, "kickoff")
        release = self.until(VERSION, ReleaseStatus.STARTED)
        self.press(release, ActionId.TRIGGER_BUILD, release.pipelines[0].id)
        release = wait_for(lambda: self.built(VERSION), timeout=30)
        self.stage(release, "start-regression")
        release = self.until(VERSION, ReleaseStatus.REGRESSION_IN_PROGRESS)
        self.stage(release, "regression-passed")
        wait_for(lambda: "regression cycle 1 passed" in self.drawn(release))
        self.id, self.target = release.id, release.targets[0]

    def store_press(self, action: str, *, as_=None, action_ts: str | None = None):
        release = self.release(VERSION)
        self.presses = getattr(self, "presses", 0) + 1  # Slack gives each press its own trigger id (a form opens once per id)
        return self.press(release, f"{ActionId.STORE_PREFIX}{action}", f"{release.id}:{self.target.id}", as_=as_,
                          trigger_id=f"{self.presses}.{VERSION}.store", action_ts=action_ts)

    def form(self, action: str) -> dict:
        """The confirmation form the last press opened."""
        return wait_for(lambda: [c.params["view"] for c in self.slack.calls_to("views.open")
                                 if c.params["view"]["callback_id"] == CallbackId.STORE_ACTION
                                 and json.loads(c.params["view"]["private_metadata"])["action"] == action])[-1]

    def confirm(self, action: str, values: dict | None = None, *, view_id: str):
        self.store_press(action)
        form = self.form(action)
        answer = self.bot.as_user(self.world.admin.slackUserId, "ada").view_submission(form, values or {}, view_id=view_id)
        assert answer.status_code == 200
        return answer

    def target_status(self) -> TargetStatus:
        return self.release(VERSION).targets[0].status

    def card_says(self, text: str) -> str:
        return wait_for(lambda: text in (drawn := self.drawn(self.release(VERSION))) and drawn, timeout=30)

    def requests(self, since: int) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.asc.requests[since:]]

    def store_rows(self) -> list[str]:
        """The store actions recorded for the release (their action words)."""
        with self.bot.runtime.reading() as s:
            return list(s.scalars(select(StoreRequest.action).where(StoreRequest.releaseId == self.id)))


def _whats_new(text: str) -> dict:
    return {BlockId.WHATS_NEW: {ActionId.WHATS_NEW: text_value(text)}}


def test_an_ios_target_is_submitted_reviewed_and_released_in_phases_and_the_release_ends_released(running_bot, world, asc,
                                                                                                  jenkins, capsys):
    ios = IosRelease(running_bot, world, asc, jenkins, {"phasedRelease": "true"})
    asc.add_build(asc.app, VERSION, ios.build_number, processing_reads=2)  # Jenkins uploaded it; Apple still processes it
    card = ios.drawn(ios.release(VERSION))
    assert "Submit for review" in card and "Pause" not in card

    mark = len(asc.requests)
    ios.confirm("submit", _whats_new("Faster login"), view_id="V0SUBMIT1")
    assert ios.form("submit")["blocks"][1]["element"]["action_id"] == ActionId.WHATS_NEW
    release = ios.until(VERSION, ReleaseStatus.BUILD_SUBMITTED)  # the only target is submitted: the release follows
    assert release.targets[0].status == TargetStatus.SUBMITTED
    ios.card_says("Waiting for review")
    submit_requests = ios.requests(mark)
    version = asc.version(VERSION)
    assert version["build"] and version["releaseType"] == "MANUAL" and asc.phased[version["phased"]]["state"] == "INACTIVE"
    assert [loc["whatsNew"] for loc in asc.localizations.values()] == ["Faster login"]
    assert submit_requests.count("POST /v1/appStoreVersions") == 1
    assert sum(1 for r in submit_requests if r.startswith("PATCH /v1/reviewSubmissions/")) == 1

    asc.review(VERSION)
    ios.card_says("In review")
    asc.approve(VERSION)
    wait_for(lambda: ios.target_status() == TargetStatus.APPROVED, timeout=30)
    ios.card_says("Approved: waiting for release")

    mark = len(asc.requests)
    ios.confirm("release", view_id="V0RELEASE1")
    ios.card_says("Phased release day 1 of 7")
    release_requests = ios.requests(mark)
    assert len(asc.release_requests) == 1 and ios.target_status() == TargetStatus.APPROVED  # not everyone has it yet

    asc.next_day(VERSION)
    asc.next_day(VERSION)
    mark = len(asc.requests)
    ios.store_press("pause")  # one click, no form
    ios.card_says("day 3 of 7 (5 % of automatic updates), paused")
    pause_requests = ios.requests(mark)
    mark = len(asc.requests)
    ios.store_press("resume")
    wait_for(lambda: asc.phased[version["phased"]]["state"] == "ACTIVE")
    resume_requests = ios.requests(mark)
    mark = len(asc.requests)
    ios.confirm("complete", view_id="V0COMPLETE1")
    release = ios.until(VERSION, ReleaseStatus.RELEASED)  # the last target is released: the release follows by itself
    complete_requests = ios.requests(mark)
    assert release.targets[0].status == TargetStatus.RELEASED
    ios.card_says("Live on the App Store to everyone")
    assert [p["state"] for p in asc.phased.values()] == ["COMPLETE"]
    assert len(asc.calls("PATCH", "/v1/appStoreVersionPhasedReleases/")) == 3

    with running_bot.runtime.reading() as s:
        events = [(e.action, e.actor) for e in list_events(s, world.tenant.id, release.id)]
    assert ("store-pause", "Ada") in events and ("store-submit", "Ada") in events
    assert ("target-submitted", None) in events and ("all-released", None) in events
    assert sum(1 for a, _ in events if a == "target-released") == 1
    channel, ts = ios.card(release)
    thread = wait_for(lambda: (t := [r["text"] for r in ios.slack.replies(channel, ts)]) and "released in every store" in t[-1] and t)
    admin = f"<@{world.admin.slackUserId}>"
    assert f"⏸️ {admin} asked iOS App Store: Pause" in thread and f"📤 {admin} asked iOS App Store: Submit for review" in thread
    assert [t for t in thread if t.startswith("🏪") and "paused" in t] == [
        "🏪 iOS App Store: Phased release day 3 of 7 (5 % of automatic updates), paused"]  # one line per change
    assert "🏪 iOS App Store: In review" in thread and thread.count("📦 releasebot marked iOS App Store #" + ios.build_number
                                                                   + " submitted") == 1
    with capsys.disabled():  # the figures for the closing note: App Store Connect requests per action
        for name, made in (("submit", submit_requests), ("release", release_requests), ("pause", pause_requests),
                           ("resume", resume_requests), ("complete", complete_requests)):
            writes = [r for r in made if not r.startswith("GET")]
            print(f"\n[app store] {name}: {len(made)} requests ({len(writes)} writes: {', '.join(writes)})")


def test_a_rejection_shows_its_reason_and_is_resubmitted_and_repeated_clicks_create_nothing_twice(running_bot, world, asc,
                                                                                                   jenkins):
    ios = IosRelease(running_bot, world, asc, jenkins, {})
    asc.add_build(asc.app, VERSION, ios.build_number)
    gate = asc.hold(r"^/v1/reviewSubmissions/[^/]+$")  # the store call that submits: held while people click again
    ios.confirm("submit", view_id="V0SUBMIT2")
    wait_for(lambda: asc.calls("PATCH", r"^/v1/reviewSubmissions/[^/]+$"))
    form = ios.form("submit")
    retry = ios.bot.as_user(world.admin.slackUserId, "ada").view_submission(form, {}, view_id="V0SUBMIT2")  # Slack's retry
    assert retry.status_code == 200 and retry.text == ""
    ios.store_press("submit")  # a second person's click opens a form; submitting it is refused in the form
    refused = ios.bot.as_user(world.admin.slackUserId, "ada").view_submission(ios.form("submit"), {}, view_id="V0SUBMIT3")
    assert "already submitting" in refused.text
    gate.set()
    wait_for(lambda: ios.target_status() == TargetStatus.SUBMITTED, timeout=30)
    assert len(ios.store_rows()) == 1
    assert len(asc.calls("POST", "/v1/appStoreVersions$")) == 1 and len(asc.calls("POST", "/v1/reviewSubmissions$")) == 1
    assert len(asc.calls("PATCH", r"^/v1/reviewSubmissions/[^/]+$")) == 1

    asc.reject(VERSION)
    card = ios.card_says("Resolution Center")
    assert "Resubmit" in card and "Rejected" in card
    ios.confirm("resubmit", _whats_new("Fixed the login crash"), view_id="V0RESUBMIT1")
    ios.card_says("Waiting for review")
    assert len(asc.submissions) == 1 and len(asc.calls("PATCH", r"^/v1/reviewSubmissions/[^/]+$")) == 2
    assert [loc["whatsNew"] for loc in asc.localizations.values()] == ["Fixed the login crash"]
    assert ios.target_status() == TargetStatus.SUBMITTED

    asc.approve(VERSION)
    ios.card_says("Approved: waiting for release")
    gate = asc.hold("^/v1/appStoreVersionReleaseRequests$")
    ios.confirm("release", view_id="V0RELEASE2")
    wait_for(lambda: asc.calls("POST", "^/v1/appStoreVersionReleaseRequests$"))
    ios.store_press("release")
    again = ios.bot.as_user(world.admin.slackUserId, "ada").view_submission(ios.form("release"), {}, view_id="V0RELEASE3")
    assert "already releasing" in again.text  # a form without inputs shows the refusal in its place
    gate.set()
    ios.until(VERSION, ReleaseStatus.RELEASED)
    assert len(asc.release_requests) == 1 and ios.store_rows().count("release") == 1


def test_only_the_pilot_or_an_admin_may_release_and_a_member_is_told_who_may(running_bot, world, asc, jenkins):
    ios = IosRelease(running_bot, world, asc, jenkins, {})
    asc.add_build(asc.app, VERSION, ios.build_number)
    ios.confirm("submit", view_id="V0SUBMIT4")
    wait_for(lambda: ios.target_status() == TargetStatus.SUBMITTED, timeout=30)
    asc.approve(VERSION)
    ios.card_says("Approved: waiting for release")
    with running_bot.runtime.unit_of_work() as s:  # a member who is neither the pilot (Grace) nor an admin
        linus = add_account(s, tenant_id=world.tenant.id, slack_user_id="U0LINUS", display_name="Linus", role=Role.MEMBER)
    running_bot.slack.add_user("U0LINUS", name="linus", real_name="Linus")
    ios.store_press("release", as_=linus)
    refused = ios.bot.as_user("U0LINUS", "linus").view_submission(ios.form("release"), {}, view_id="V0RELEASE4")
    assert "only the release pilot (Grace) or a workspace admin can release" in refused.text
    assert not asc.release_requests and "release" not in ios.store_rows()


def test_an_app_store_webhook_makes_the_runner_read_the_state_now_and_a_forged_one_is_refused(running_bot, world, asc, jenkins):
    ios = IosRelease(running_bot, world, asc, jenkins, {}, {"webhookSecret": "apple-hook-secret"})
    with running_bot.runtime.reading() as s:
        integration_id = s.get(ReleaseTarget, ios.target.id).targetIntegrationId
    asc.add_build(asc.app, VERSION, ios.build_number)
    ios.confirm("submit", view_id="V0SUBMIT5")
    ios.card_says("Waiting for review")
    later = utcnow() + timedelta(hours=1)

    def quiet() -> bool:  # the next read is an hour away, as after a long quiet review (kept if no read was under way)
        with running_bot.runtime.unit_of_work() as s:
            s.get(TargetStore, ios.target.id).nextCheckAt = later
        time.sleep(0.5)
        with running_bot.runtime.reading() as s:
            return s.get(TargetStore, ios.target.id).nextCheckAt == later
    wait_for(quiet)
    url = f"{running_bot.url}/webhooks/app-store/{integration_id}"
    asc.add_webhook(url, "not-the-secret")
    asc.review(VERSION)  # App Store Connect tells the webhook, signed with a secret the bot does not have
    assert asc.deliveries == [401]
    time.sleep(1.5)  # no read follows a refused webhook: the card still says what it said
    assert "In review" not in ios.drawn(ios.release(VERSION))
    asc.webhooks = [(url, "apple-hook-secret")]
    reads = len(asc.calls("GET", "/appStoreVersions$"))
    asc.approve(VERSION)
    assert asc.deliveries[-1] == 202
    ios.card_says("Approved: waiting for release")  # read at once, not in an hour
    assert len(asc.calls("GET", "/appStoreVersions$")) > reads
    with running_bot.runtime.reading() as s:
        assert s.get(TargetStore, ios.target.id).nextCheckAt < later
    garbage = requests.post(url, data=b"{}", headers={"x-apple-signature": "hmacsha256=" + "0" * 64}, timeout=5)
    assert garbage.status_code == 401


def test_clicks_repeated_while_the_store_pauses_resumes_and_completes_create_nothing_twice(running_bot, world, asc, jenkins):
    ios = IosRelease(running_bot, world, asc, jenkins, {"phasedRelease": "true"})
    asc.add_build(asc.app, VERSION, ios.build_number)
    ios.confirm("submit", view_id="V0SUBMIT6")
    wait_for(lambda: ios.target_status() == TargetStatus.SUBMITTED, timeout=30)
    asc.approve(VERSION)
    ios.card_says("Approved: waiting for release")
    ios.confirm("release", view_id="V0RELEASE6")
    ios.card_says("Phased release day 1 of 7")
    phased_call = r"^/v1/appStoreVersionPhasedReleases/[^/]+$"
    steps = (("pause", "pausing", "paused"), ("resume", "resuming", "day 1 of 7 (1 % of automatic updates)"),
             ("complete", "releasing to everyone", "Live on the App Store to everyone"))
    for n, (action, doing, shown) in enumerate(steps, start=1):
        gate = asc.hold(phased_call)
        if action == "complete":
            ios.confirm(action, view_id="V0COMPLETE6")
            retry = ios.bot.as_user(world.admin.slackUserId, "ada").view_submission(ios.form(action), {}, view_id="V0COMPLETE6")
            assert retry.text == ""  # Slack's retry of the same form finds the first one's action
        else:
            ios.store_press(action, action_ts=f"17000000{n}.000100")
            ios.store_press(action, action_ts=f"17000000{n}.000100")  # Slack's retry of the same click
        wait_for(lambda n=n: len(asc.calls("PATCH", phased_call)) == n, timeout=30)
        if action == "complete":  # a second person, from a card drawn before: the form says why not
            ios.store_press(action)
            again = ios.bot.as_user(world.admin.slackUserId, "ada").view_submission(ios.form(action), {}, view_id="V0COMPLETE7")
            assert f"already {doing}" in again.text
        else:
            before = len(ios.slack.calls_to("chat.postEphemeral"))
            ios.store_press(action)  # a second click, from a card drawn before: told ephemerally
            told = wait_for(lambda before=before: ios.slack.calls_to("chat.postEphemeral")[before:])
            assert f"already {doing}" in told[-1].params["text"]
        gate.set()
        asc.holds.clear()
        drawn = ios.card_says(shown)
        if action == "resume":
            drawn = wait_for(lambda: "paused" not in (d := ios.drawn(ios.release(VERSION))) and d, timeout=30)
        assert shown in drawn
        assert len(asc.calls("PATCH", phased_call)) == n  # one store call per action
        assert ios.store_rows().count(action) == 1
    assert len(asc.release_requests) == 1 and ios.store_rows().count("submit") == 1
    ios.until(VERSION, ReleaseStatus.RELEASED)
