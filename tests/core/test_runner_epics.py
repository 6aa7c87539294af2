"""The epics kickoff task and the closing of epics at release, against a fake Jira and a fake Linear on
loopback, on SQLite and MariaDB: one epic per platform, found again (never opened twice) when a kickoff
died half-way, keys on the release in the task's transaction, closed once when RELEASED, refusals explained."""
from __future__ import annotations

import pytest

from core.clock import utcnow
from core.enums import IntegrationKind as K
from core.enums import ReleaseStatus as S
from core.enums import TaskState
from core.integrations.base import Ticket
from core.models import Release, ReleaseTask
from core.runner.cards import Cards
from core.runner.changelog import linear_web_url
from core.runner.close_epics import CLOSE_EPICS, CloseEpics
from core.runner.epics import PLATFORMS, marker
from core.runner.kickoff import Kickoff
from core.services import cards, changelog, integration_writes, lifecycle, tasks, verification
from tests.core.runner_world import new_release, release_row, runner, world_on
from tests.fakes.jira import FakeJira
from tests.fakes.linear import FakeLinear

IOS, ANDROID = PLATFORMS.values()


@pytest.fixture
def world(rt, github):
    return world_on(rt, github.url)


@pytest.fixture
def jira():
    fake = FakeJira(cloud=True).start()
    fake.add_api_token("bot@acme.test", "jira-api-token")
    fake.add_project("MOB")
    yield fake
    fake.stop()


@pytest.fixture
def linear():
    fake = FakeLinear().start()
    fake.add_api_key("lin_api_key")
    fake.add_team("MOB", "Mobile")
    yield fake
    fake.stop()


def tracker(rt, world, provider: str, url: str) -> str:
    """A verified ticket integration of the world's tenant on the fake at `url`."""
    secrets = {"email": "bot@acme.test", "apiToken": "jira-api-token"} if provider == "jira" else {"apiKey": "lin_api_key"}
    with rt.unit_of_work() as s:
        view = integration_writes.add_integration(s, tenant_id=world.tenant.id, kind=K.TICKET, provider=provider,
                                            display_name=f"{provider.title()} MOB", cipher=rt.cipher, base_url=url,
                                            fields={"projectKey": "MOB"}, secrets=secrets)
        verification.record_verification(s, tenant_id=world.tenant.id, integration_id=view.id, error=None)
        return view.id


def kicked_off(rt, world, ticket_id: str | None, **draft) -> Release:
    release = new_release(rt, world, ticket_integration_id=ticket_id, **draft)
    with rt.unit_of_work() as s:
        lifecycle.kickoff(s, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=world.admin.id)
    return release_row(rt, release.id)


def run_kickoff(r) -> int:
    kickoff = r.work(Kickoff)
    due = kickoff.due()
    for task_id in due:
        kickoff.run(task_id)
    return len(due)


def run_close(r) -> int:
    work = r.work(CloseEpics)
    due = work.due()
    for task_id in due:
        work.run(task_id)
    return len(due)


def task(rt, release, name=tasks.EPICS) -> ReleaseTask:
    with rt.reading() as s:
        row = s.query(ReleaseTask).filter_by(releaseId=release.id, task=name).one()
        s.expunge(row)
        return row


def released(rt, world, release) -> None:
    """Put the release at RELEASED (the road there through the lifecycle is tests/bot/test_epics_kickoff.py's)."""
    with rt.unit_of_work() as s:
        s.get(Release, release.id).status = S.RELEASED
        s.get(Release, release.id).releaseDate = utcnow()


def jira_issue(jira, key):
    return next(i for i in jira.issues if i["key"] == key)


# --- kickoff: epics ---------------------------------------------------------------------------------
def test_a_release_without_a_tracker_owes_no_epics_task(rt, world):
    release = kicked_off(rt, world, None)
    with rt.reading() as s:
        owed = [v.task for v in tasks.list_tasks(s, tenant_id=world.tenant.id, release_id=release.id)]
    assert tasks.RELEASE_BRANCH in owed and tasks.EPICS not in owed


def test_kickoff_with_jira_opens_one_epic_per_platform_labelled_and_records_the_keys(rt, world, jira):
    release = kicked_off(rt, world, tracker(rt, world, "jira", jira.url))
    run_kickoff(runner(rt))
    after = release_row(rt, release.id)
    assert (after.iOSEpicId, after.androidEpicId) == ("MOB-1", "MOB-2")
    assert task(rt, release).state == TaskState.DONE and task(rt, release).result == "ios:MOB-1 android:MOB-2"
    ios = jira_issue(jira, "MOB-1")["fields"]
    assert ios["labels"] == [marker(after, IOS)] and ios["issuetype"] == {"id": "10000"}
    assert ios["summary"] == "Release 1.5.0 (iOS)"
    assert "Pilot: Grace" in ios["description"] and "Planned:" in ios["description"] and "Target release date:" in ios["description"]
    assert jira_issue(jira, "MOB-2")["fields"]["labels"] == [marker(after, ANDROID)]


def test_the_epics_link_the_release_card_and_wait_for_a_card_not_yet_posted(rt, world, jira):
    release = kicked_off(rt, world, tracker(rt, world, "jira", jira.url))
    with rt.unit_of_work() as s:
        cards.owe_card(s, tenant_id=world.tenant.id, release_id=release.id, channel_id="CREL")
    r = runner(rt)
    assert run_kickoff(r) == 2  # the release branch and the changelog; the epics wait for the card
    assert task(rt, release).state == TaskState.PENDING
    r.work(Cards).run(release.id)  # the card is posted (the runner's next kind in the round)
    assert run_kickoff(r) == 1
    description = jira_issue(jira, "MOB-1")["fields"]["description"]
    assert "Release card in Slack: https://acme.slack.com/archives/CREL/p1700000000000100" in description


def test_a_card_slack_keeps_refusing_does_not_hold_the_epics(rt, world, jira):
    release = kicked_off(rt, world, tracker(rt, world, "jira", jira.url))
    with rt.unit_of_work() as s:
        card = cards.owe_card(s, tenant_id=world.tenant.id, release_id=release.id, channel_id="CREL")
        cards.card_failed(s, card, error="not in channel", retry_after=None, interval=1)
    run_kickoff(runner(rt))
    assert task(rt, release).state == TaskState.DONE
    assert "Release card in Slack" not in jira_issue(jira, "MOB-1")["fields"]["description"]


def test_a_kickoff_that_died_after_the_ios_epic_finds_it_and_opens_only_the_android_one(rt, world, jira):
    release = kicked_off(rt, world, tracker(rt, world, "jira", jira.url))
    from core.integrations.network import NetworkGuard
    from core.integrations.ticket_jira import JiraTickets

    # What the dead attempt left behind: the iOS epic, labelled, and the task still owed.
    crashed = JiraTickets(server=jira.url, project_key="MOB", auth={"basic_auth": ("bot@acme.test", "jira-api-token")},
                          timeout=5, guard=NetworkGuard(allow_private=True))
    assert crashed.create_epic(title="Release 1.5.0 (iOS)", description="", marker=marker(release, IOS)).key == "MOB-1"
    before = len(jira.requests)
    run_kickoff(runner(rt))
    assert [i["key"] for i in jira.issues] == ["MOB-1", "MOB-2"]  # two epics in all, not three
    after = release_row(rt, release.id)
    assert (after.iOSEpicId, after.androidEpicId) == ("MOB-1", "MOB-2")
    searches = [r for r in jira.requests[before:] if r.path.endswith("/search/jql")]
    assert [r.query["jql"][0] for r in searches] == [f'project = "MOB" AND labels = "{marker(after, p)}" ORDER BY created ASC'
                                                     for p in (IOS, ANDROID)]


def test_running_the_epics_task_twice_opens_no_second_epic(rt, world, jira):
    release = kicked_off(rt, world, tracker(rt, world, "jira", jira.url))
    run_kickoff(runner(rt))
    with rt.unit_of_work() as s:  # as if the task's result had been lost: owed again
        row = s.query(ReleaseTask).filter_by(releaseId=release.id, task=tasks.EPICS).one()
        row.state, row.nextAttemptAt = TaskState.PENDING, utcnow()
        s.get(Release, release.id).status = S.PENDING
    run_kickoff(runner(rt))
    assert len(jira.issues) == 2
    assert (release_row(rt, release.id).iOSEpicId, release_row(rt, release.id).androidEpicId) == ("MOB-1", "MOB-2")


def test_on_jira_data_center_the_epic_name_is_filled_and_the_search_uses_the_v2_search(rt, world):
    dc = FakeJira(cloud=False).start()
    try:
        dc.add_pat("dc-token")
        dc.add_project("MOB", epic_name="required")
        with rt.unit_of_work() as s:
            view = integration_writes.add_integration(s, tenant_id=world.tenant.id, kind=K.TICKET, provider="jira",
                                                display_name="Jira DC", cipher=rt.cipher, base_url=dc.url,
                                                fields={"projectKey": "MOB"}, secrets={"personalAccessToken": "dc-token"})
            verification.record_verification(s, tenant_id=world.tenant.id, integration_id=view.id, error=None)
        release = kicked_off(rt, world, view.id, target_ids=(world.ios.id,), pipeline_ids=(world.ios_pipeline.id,))
        run_kickoff(runner(rt))
        assert [i["fields"]["customfield_10011"] for i in dc.issues] == ["Release 1.5.0 (iOS)"]  # one platform, one epic
        assert release_row(rt, release.id).androidEpicId is None
        assert len(dc.calls("GET", r"/rest/api/2/search$")) == 1
    finally:
        dc.stop()


def test_kickoff_with_linear_opens_one_issue_per_platform_marked_in_the_title_even_after_a_crash(rt, world, linear):
    release = kicked_off(rt, world, tracker(rt, world, "linear", linear.url))
    from core.integrations.http import HttpClient
    from core.integrations.network import NetworkGuard
    from core.integrations.ticket_linear import LinearTickets

    http = HttpClient(linear.url, service="Linear", guard=NetworkGuard(allow_private=True),
                      headers={"Authorization": "lin_api_key", "Content-Type": "application/json"}, timeout=5)
    LinearTickets(http, team_key="MOB", api_key="lin_api_key").create_epic(title="Release 1.5.0 (iOS)", description="",
                                                                         marker=marker(release, IOS))
    run_kickoff(runner(rt))
    assert [i["title"] for i in linear.issues] == [f"Release 1.5.0 (iOS) [{marker(release, IOS)}]",
                                                   f"Release 1.5.0 (Android) [{marker(release, ANDROID)}]"]
    after = release_row(rt, release.id)
    assert (after.iOSEpicId, after.androidEpicId) == ("MOB-1", "MOB-2")
    assert task(rt, release).state == TaskState.DONE


def test_a_linear_release_changelog_links_the_teams_issue_keys_under_the_workspaces_url(rt, world, linear, github):
    github.push_commits("acme/app", "main", ["MOB-7 fix the login crash", "OPS-2 not our team", "bump MOB-7x nothing"])
    release = kicked_off(rt, world, tracker(rt, world, "linear", linear.url))
    run_kickoff(runner(rt))
    with rt.reading() as s:
        facts = changelog.changelog_facts(s, release.id)
        kickoff_facts = changelog.kickoff_facts(s, release.id)
    assert facts.tracker == changelog.Tracker("https://linear.app/acme", "MOB", "issue") == kickoff_facts.tracker
    assert facts.tracker.url("MOB-7") == "https://linear.app/acme/issue/MOB-7"  # Linear redirects to the slugged URL
    assert "MOB-7 fix the login crash" in [title for _, title, _, _ in facts.log.commits]
    assert [name for name, _ in linear.operations].count("Organization") == 1


def test_a_linear_that_will_not_say_its_workspace_leaves_the_changelog_unlinked(rt, world, linear):
    release = kicked_off(rt, world, tracker(rt, world, "linear", linear.url))
    linear.api_keys.clear()  # the key was revoked after it was verified
    with rt.unit_of_work() as s:
        ask = linear_web_url(runner(rt).ctx, s, s.get(Release, release.id))
    assert ask() is None  # no links, and the changelog itself is not failed for it
    with rt.unit_of_work() as s:
        assert linear_web_url(runner(rt).ctx, s, s.get(Release, kicked_off(rt, world, None, version="1.6.0").id)) is None


def test_a_tracker_refusing_fails_the_task_with_advice_and_the_release_waits(rt, world, jira):
    release = kicked_off(rt, world, tracker(rt, world, "jira", jira.url))
    jira.fail(403, {"errorMessages": ["You do not have permission to create issues in this project."], "errors": {}},
              path="/rest/api/2/issue$", method="POST", times=5)
    run_kickoff(runner(rt))
    row = task(rt, release)
    assert row.state == TaskState.FAILED
    assert row.lastError == "could not open the iOS and Android epics: Jira MOB refused it: ask an admin to give its token write " \
                            "access, then retry"
    assert "403" in row.errorDetail
    assert release_row(rt, release.id).status == S.PENDING and jira.issues == []


# --- release: closing ---------------------------------------------------------------------------------
def test_a_released_release_has_its_jira_epics_moved_to_done_once(rt, world, jira):
    release = kicked_off(rt, world, tracker(rt, world, "jira", jira.url))
    r = runner(rt)
    run_kickoff(r)
    assert run_close(r) == 0  # not released yet: nothing owed
    released(rt, world, release)
    assert run_close(r) == 1
    assert [jira_issue(jira, k)["fields"]["status"]["statusCategory"]["key"] for k in ("MOB-1", "MOB-2")] == ["done", "done"]
    assert task(rt, release, CLOSE_EPICS).result == "MOB-1:closed MOB-2:closed"
    posts = len(jira.calls("POST", "/transitions"))
    assert run_close(r) == 0 and run_close(runner(rt, "w2")) == 0
    assert len(jira.calls("POST", "/transitions")) == posts == 2


def test_an_epic_someone_already_closed_is_left_as_it_is_and_a_done_step_named_closed_is_found(rt, world):
    jira = FakeJira(cloud=True, done_transition="Closed").start()
    try:
        jira.add_api_token("bot@acme.test", "jira-api-token")
        jira.add_project("MOB")
        release = kicked_off(rt, world, tracker(rt, world, "jira", jira.url))
        run_kickoff(runner(rt))
        jira_issue(jira, "MOB-1")["fields"]["status"] = jira._status("done")  # closed by hand
        released(rt, world, release)
        run_close(runner(rt))
        assert task(rt, release, CLOSE_EPICS).result == "MOB-1:already-done MOB-2:closed"
        assert jira_issue(jira, "MOB-2")["fields"]["status"]["name"] == "Closed"
    finally:
        jira.stop()


def test_a_released_release_has_its_linear_issues_moved_to_the_completed_state(rt, world, linear):
    release = kicked_off(rt, world, tracker(rt, world, "linear", linear.url))
    run_kickoff(runner(rt))
    released(rt, world, release)
    assert run_close(runner(rt)) == 1
    assert [i["state"]["name"] for i in linear.issues] == ["Done", "Done"]
    assert [name for name, _ in linear.operations].count("CloseIssue") == 2


def test_a_tracker_refusing_to_close_fails_the_closing_for_good_with_advice(rt, world, jira):
    release = kicked_off(rt, world, tracker(rt, world, "jira", jira.url))
    run_kickoff(runner(rt))
    released(rt, world, release)
    jira.fail(403, {"errorMessages": ["You do not have permission to transition this issue."], "errors": {}},
              path="/transitions$", method="POST", times=1)
    run_close(runner(rt))
    row = task(rt, release, CLOSE_EPICS)
    assert row.state == TaskState.FAILED
    assert row.lastError == "could not close the epics MOB-1, MOB-2: Jira MOB refused it: ask an admin to give its token " \
                            "write access, then retry"


def test_two_runners_owe_and_close_a_release_once(rt, world, jira):
    from tests.core.runner_world import race

    release = kicked_off(rt, world, tracker(rt, world, "jira", jira.url))
    run_kickoff(runner(rt))
    released(rt, world, release)
    race(lambda: run_close(runner(rt, "w1")), lambda: run_close(runner(rt, "w2")))
    assert len(jira.calls("POST", "/transitions")) == 2  # one per epic
    with rt.reading() as s:
        assert s.query(ReleaseTask).filter_by(releaseId=release.id, task=CLOSE_EPICS).count() == 1


def test_a_ticket_that_comes_back_from_find_epic_is_the_one_created(jira):
    from core.integrations.network import NetworkGuard
    from core.integrations.ticket_jira import JiraTickets

    client = JiraTickets(server=jira.url, project_key="MOB", auth={"basic_auth": ("bot@acme.test", "jira-api-token")},
                         timeout=5, guard=NetworkGuard(allow_private=True))
    assert client.find_epic("releasebot-v1-ios-abc123") is None
    made = client.create_epic(title="Release 1 (iOS)", description="", marker="releasebot-v1-ios-abc123")
    assert client.find_epic("releasebot-v1-ios-abc123") == Ticket(key=made.key, url=f"{jira.url}/browse/{made.key}")
    assert client.find_epic("releasebot-v1-android-abc123") is None


def test_a_jira_project_without_labels_on_its_epic_screen_fails_the_task_saying_what_to_add(rt, world):
    jira = FakeJira(cloud=True).start()
    try:
        jira.add_api_token("bot@acme.test", "jira-api-token")
        jira.add_project("MOB", labels=False)
        release = kicked_off(rt, world, tracker(rt, world, "jira", jira.url))
        run_kickoff(runner(rt))
        row = task(rt, release)
        assert row.state == TaskState.FAILED and jira.issues == []
        assert row.errorDetail == ("the Epic screen of Jira project MOB has no Labels field, which releasebot finds its epics by: "
                                   "ask a Jira admin to add it, then retry (400)")
        assert row.lastError == "could not open the iOS and Android epics: ask an admin to re-verify Jira MOB, then retry (or skip this task)"
    finally:
        jira.stop()
