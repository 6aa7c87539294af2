"""Google Play from the card, through the real server: an Android target submitted at 5 % (release notes
and in-app update priority from the form), increased to the ladder's next step, halted with one click,
resumed and completed; clicks repeated (and Slack retries) while each store call is in flight; the
release ending RELEASED by itself. The fake Google counts the requests each action made."""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from bot.ids import ActionId, BlockId
from core.enums import IntegrationKind, ReleaseStatus, TargetStatus, TaskState
from core.models import StoreRequest
from core.services import integration_writes
from core.services.history import list_events
from tests.bot.helpers import wait_for
from tests.bot.test_app_store_flow import VERSION, IosRelease
from tests.bot.test_release_life_end_to_end import Team
from tests.fakes.google import FakeGoogle
from tests.integrations.test_target_play_store import EMAIL, PACKAGE, key_json
from tests.slack_requests import text_value

OFFSET = 1000  # the target maps the pipeline's build number to the version code: build 1 is version code 1001
NO_REVIEW = "sent for review; Play does not report review progress"


@pytest.fixture(scope="module")
def play_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def google(play_key):
    fake = FakeGoogle()
    fake.add_account(EMAIL, play_key.public_key(), packages=(PACKAGE,))
    fake.add_package(PACKAGE)
    with fake:
        yield fake


class AndroidRelease(IosRelease):
    """One release with one Play Store target (on the fake Google) built by Jenkins, brought to regression
    passed by clicks; the presses, forms and card reading are the App Store flow's."""

    def __init__(self, running_bot, world, google, key, jenkins, settings: dict | None = None):
        Team.__init__(self, running_bot, world)
        self.google, rt = google, running_bot.runtime
        with rt.unit_of_work() as s:
            view = integration_writes.add_integration(
                s, tenant_id=world.tenant.id, kind=IntegrationKind.TARGET, provider="play_store", display_name="Google Play",
                cipher=rt.cipher, base_url=google.url, fields={"appIdentifier": PACKAGE},
                settings={"versionCodeOffset": str(OFFSET), **(settings or {})},
                secrets={"serviceAccountJson": key_json(key, google.token_uri)})
        self.through_regression(rt, world, jenkins, view.id, "Jenkins Android")
        self.version_code = str(int(self.target.buildNumber) + OFFSET)
        google.upload(PACKAGE, self.version_code)  # the pipeline uploaded the bundle

    def release_on_play(self) -> dict | None:
        """The build's release on the production track, as Play serves it now."""
        return next((r for r in self.google.track(PACKAGE) if self.version_code in r["versionCodes"]), None)

    def made(self, edit_ids: list[str]) -> list[str]:
        """The requests the edits with these ids made (opening each included), as "METHOD what"."""
        out = []
        for edit_id in edit_ids:
            out.append("POST edits")
            for r in self.google.calls(path_regex=f"/edits/{edit_id}"):
                tail = r.path.split(f"/edits/{edit_id}", 1)[1]
                out.append(f"{r.method} {tail.lstrip('/:') or 'edit'}")
        return out

    def click(self, action: str, *, action_ts: str):
        """A one-click store button, with the action_ts Slack gave the click (a retry repeats it)."""
        release = self.release(VERSION)
        return self.press(release, f"{ActionId.STORE_PREFIX}{action}", f"{release.id}:{self.target.id}",
                          action_ts=action_ts)

    def idle(self) -> bool:
        """No store action of the release is owed or running."""
        with self.bot.runtime.reading() as s:
            return not s.scalar(select(StoreRequest.id).where(StoreRequest.releaseId == self.id,
                                                              StoreRequest.state == TaskState.PENDING))

    def commits_since(self, mark: int) -> list[str]:
        return [edit.id for edit in self.google.commits[mark:]]


def _submit_form(percent: str, notes: str | None, priority: str | None) -> dict:
    values = {BlockId.USER_FRACTION: {ActionId.USER_FRACTION: text_value(percent)},
              BlockId.RELEASE_NOTES: {ActionId.RELEASE_NOTES: text_value(notes)}}
    if priority is not None:
        values[BlockId.UPDATE_PRIORITY] = {ActionId.UPDATE_PRIORITY: {
            "type": "static_select", "selected_option": {"value": priority, "text": {"type": "plain_text", "text": priority}}}}
    return values


def test_an_android_target_is_submitted_at_5_percent_increased_halted_resumed_completed_and_the_release_ends_released(
        running_bot, world, google, play_key, jenkins, capsys):
    android = AndroidRelease(running_bot, world, google, play_key, jenkins)
    card = android.card_says("Submit for review")
    assert "Halt" not in card
    figures = {}

    mark = len(google.commits)
    android.confirm("submit", _submit_form("5", "Faster sync", "3"), view_id="V0PSUBMIT1")
    form = android.form("submit")
    assert [b["block_id"] for b in form["blocks"][1:]] == [BlockId.USER_FRACTION, BlockId.RELEASE_NOTES,
                                                           BlockId.UPDATE_PRIORITY]
    release = android.until(VERSION, ReleaseStatus.BUILD_SUBMITTED)  # its only target is submitted: the release follows
    assert release.targets[0].status == TargetStatus.SUBMITTED
    android.card_says(f"Rolling out to 5 % on production ({NO_REVIEW})")
    assert android.release_on_play() == {"versionCodes": [android.version_code], "status": "inProgress",
                                         "userFraction": 0.05, "inAppUpdatePriority": 3,
                                         "releaseNotes": [{"language": "en-US", "text": "Faster sync"}]}
    figures["submit"] = android.made(android.commits_since(mark))

    mark = len(google.commits)
    android.confirm("increase", view_id="V0PINCREASE1")
    assert "Roll out to 10 % of users" in str(android.form("increase")["blocks"][0])
    android.card_says("Rolling out to 10 % on production")
    assert android.release_on_play()["userFraction"] == 0.1
    figures["increase"] = android.made(android.commits_since(mark))

    opened = len(running_bot.slack.calls_to("views.open"))
    mark = len(google.commits)
    android.store_press("halt")  # one click: no form
    android.card_says("Rollout halted at 10 % on production")
    assert android.release_on_play()["status"] == "halted"
    assert len(running_bot.slack.calls_to("views.open")) == opened
    figures["halt"] = android.made(android.commits_since(mark))

    mark = len(google.commits)
    android.store_press("resume")
    wait_for(lambda: android.release_on_play()["status"] == "inProgress")
    android.card_says("Rolling out to 10 % on production")
    figures["resume"] = android.made(android.commits_since(mark))

    mark = len(google.commits)
    android.confirm("complete", view_id="V0PCOMPLETE1")
    release = android.until(VERSION, ReleaseStatus.RELEASED)  # the last target is live to everyone: the release follows
    assert release.targets[0].status == TargetStatus.RELEASED
    android.card_says(f"Released to everyone on production ({NO_REVIEW})")
    assert android.release_on_play() == {"versionCodes": [android.version_code], "status": "completed",
                                         "inAppUpdatePriority": 3,
                                         "releaseNotes": [{"language": "en-US", "text": "Faster sync"}]}
    figures["complete"] = android.made(android.commits_since(mark))

    assert len(google.commits) == 5 and sorted(android.store_rows()) == ["complete", "halt", "increase", "resume", "submit"]
    for made in figures.values():
        assert made == ["POST edits", "GET tracks/production", "PUT tracks/production", "POST validate", "POST commit"]
    with running_bot.runtime.reading() as s:
        events = [(e.action, e.actor) for e in list_events(s, world.tenant.id, release.id)]
    assert ("store-halt", "Ada") in events and ("store-submit", "Ada") in events  # the one click is in the history
    assert ("target-submitted", None) in events and ("all-released", None) in events
    assert google.edits == {}  # every read the follower made deleted its edit
    reads = [r for r in google.calls("DELETE", "/edits/")]
    with capsys.disabled():  # the figures for the closing note: Google Play requests per action
        for name, made in figures.items():
            print(f"\n[play] {name}: {len(made)} requests ({', '.join(made)})")
        print(f"\n[play] state reads by the follower: {len(reads)} (each POST edits, GET track, DELETE edit); "
              f"token exchanges: {len(google.calls('POST', '/token$'))}")


def test_a_click_repeated_and_a_slack_retry_during_each_store_call_create_nothing_twice(running_bot, world, google,
                                                                                        play_key, jenkins):
    android = AndroidRelease(running_bot, world, google, play_key, jenkins)
    steps = [("submit", _submit_form("5", None, None), "inProgress"), ("increase", {}, "inProgress"),
             ("halt", None, "halted"), ("resume", None, "inProgress"), ("complete", {}, "completed")]
    for n, (action, values, status) in enumerate(steps):
        commits = len(google.commits)
        asked_twice_while_at_the_store(android, n, action, values)
        wait_for(lambda status=status: (r := android.release_on_play()) and r["status"] == status and android.idle())
        assert len(google.commits) == commits + 1, action
        assert android.store_rows().count(action) == 1, action
    assert android.release_on_play()["status"] == "completed" and len(android.store_rows()) == 5
    android.until(VERSION, ReleaseStatus.RELEASED)


def asked_twice_while_at_the_store(android: AndroidRelease, n: int, action: str, values: dict | None) -> None:
    """Ask for `action`, and while its edit's commit is held at Google, ask again twice: Slack's retry of the same
    request (finds the first) and another click (told to wait, or refused in its form)."""
    google, bot = android.google, android.bot
    commits = len(google.calls("POST", ":commit$"))
    gate = google.hold(":commit$")
    if values is not None:
        android.confirm(action, values, view_id=f"V0PFIRST{n}")
        admin = bot.as_user(android.world.admin.slackUserId, "ada")
        assert admin.view_submission(android.form(action), values, view_id=f"V0PFIRST{n}").text == ""  # Slack's retry
        wait_for(lambda: google.calls("POST", ":commit$")[commits:])
        android.store_press(action)  # another click opens a form; submitting it is refused in the form
        again = admin.view_submission(android.form(action), values, view_id=f"V0PAGAIN{n}")
        assert "already" in again.text and "wait for the store to answer" in again.text
    else:
        android.click(action, action_ts=f"{n + 1}.000001")
        wait_for(lambda: google.calls("POST", ":commit$")[commits:])
        android.click(action, action_ts=f"{n + 1}.000001")  # Slack's retry of the same click: finds the first
        told = len(waits(bot))
        android.click(action, action_ts=f"{n + 1}.000002")  # a second click while the first is at the store
        assert "already" in wait_for(lambda: waits(bot)[told:])[0]
    google.holds.clear()
    gate.set()


def waits(bot) -> list[str]:
    """The ephemeral answers telling someone the store is busy with an earlier ask."""
    return [e["text"] for e in bot.slack.ephemerals if "wait for the store to answer" in e["text"]]


def test_a_target_set_to_count_the_rollout_as_released_releases_the_release_when_the_rollout_starts(
        running_bot, world, google, play_key, jenkins):
    android = AndroidRelease(running_bot, world, google, play_key, jenkins, {"markReleased": "rollout"})
    android.confirm("submit", _submit_form("", None, None), view_id="V0PSUBMIT9")  # empty: the ladder's first step
    release = android.until(VERSION, ReleaseStatus.RELEASED)
    assert release.targets[0].status == TargetStatus.RELEASED
    assert android.release_on_play()["userFraction"] == 0.01
    card = android.card_says("Rolling out to 1 % on production")
    assert "Increase rollout" in card and "Halt" in card  # the rollout goes on after the release is RELEASED


def test_a_percentage_that_is_not_one_is_refused_in_the_form_and_nothing_is_asked_of_play(
        running_bot, world, google, play_key, jenkins):
    android = AndroidRelease(running_bot, world, google, play_key, jenkins)
    answer = android.confirm("submit", _submit_form("150", "x" * 10, "2"), view_id="V0PSUBMIT8")
    errors = answer.json()["errors"]
    assert errors[BlockId.USER_FRACTION].startswith("'150' is not a percentage of users")
    assert android.store_rows() == [] and google.calls(path_regex="/tracks") == []
