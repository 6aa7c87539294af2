"""End-to-end: the bot's own runner (inside the real server) opens a release's epics at kickoff in a fake
Jira or Linear on loopback — exactly two for App Store + Play Store, even when a dead attempt already
opened one — links them on the card, and closes them once when the release is RELEASED; a tracker that
refuses fails the task with advice on the card. SQLite and MariaDB."""
from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from core.enums import IntegrationKind as K
from core.enums import ReleaseStatus as S
from core.enums import TargetStatus, TaskState
from core.integrations.base import IntegrationConfig
from core.integrations.registry import build_client
from core.models import Release, ReleaseTask
from core.runner.close_epics import CLOSE_EPICS
from core.runner.epics import PLATFORMS, marker
from core.services import integration_writes, lifecycle, regression, tasks
from core.services.release_creation import create_release
from core.services.verification import verify_integration
from tests.bot.helpers import post_card_now, wait_for
from tests.core.lifecycle_world import People, build_all, mark_all
from tests.fakes.jira import FakeJira
from tests.fakes.linear import FakeLinear

IOS = PLATFORMS[next(iter(PLATFORMS))]
JIRA_SECRETS = {"email": "bot@acme.test", "apiToken": "jira-api-token"}


@pytest.fixture
def jira():
    fake = FakeJira(cloud=True).start()
    fake.add_api_token(JIRA_SECRETS["email"], JIRA_SECRETS["apiToken"])
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


def tracker(running_bot, world, provider: str, url: str, secrets: dict) -> str:
    """A ticket integration on the fake, verified by the real verification service."""
    rt = running_bot.runtime
    with rt.unit_of_work() as s:
        view = integration_writes.add_integration(s, tenant_id=world.tenant.id, kind=K.TICKET, provider=provider,
                                            display_name=f"{provider.title()} MOB", cipher=rt.cipher, base_url=url,
                                            fields={"projectKey": "MOB"}, secrets=secrets)
    with rt.unit_of_work() as s:
        checked = verify_integration(s, tenant_id=world.tenant.id, integration_id=view.id, cipher=rt.cipher,
                                     ctx=rt.provider_context)
        assert checked.usable, checked.verificationError
    return view.id


def release_with_card(running_bot, world, ticket_id: str):
    rt = running_bot.runtime
    with rt.unit_of_work() as s:
        created = create_release(s, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                                 draft=world.draft(ticket_integration_id=ticket_id))
    return created, post_card_now(rt, running_bot.bot.client, created, world.channel.details["channelId"])


def kick_off(running_bot, world, release) -> None:
    with running_bot.runtime.unit_of_work() as s:
        lifecycle.kickoff(s, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=world.admin.id)


def row(rt, release_id: str) -> Release:
    with rt.reading() as s:
        found = s.get(Release, release_id)
        s.expunge(found)
        return found


def task_state(rt, release_id: str, name: str) -> TaskState | None:
    with rt.reading() as s:
        return s.scalar(select(ReleaseTask.state).where(ReleaseTask.releaseId == release_id, ReleaseTask.task == name))


def last_card(running_bot) -> str:
    updates = running_bot.slack.calls_to("chat.update")
    return json.dumps(updates[-1].params["blocks"], ensure_ascii=False) if updates else ""


def release_it(running_bot, world, release) -> None:
    """From STARTED to RELEASED the way people do it: builds, regression, the stores' marks."""
    rt = running_bot.runtime
    wait_for(lambda: row(rt, release.id).status == S.STARTED, timeout=20)
    with rt.unit_of_work() as s:
        people = People(s, world)
        ada = dict(tenant_id=world.tenant.id, release_id=release.id, actor_account_id=world.admin.id)
        build_all(s, world, release)
        regression.start_regression(s, **ada)
        regression.regression_passed(s, **ada)
        for status in (TargetStatus.SUBMITTED, TargetStatus.APPROVED, TargetStatus.RELEASED):
            mark_all(s, world, release, status, people.admin)
    assert row(rt, release.id).status == S.RELEASED


def crashed_attempt(rt, provider: str, url: str, secrets: dict, release) -> None:
    """What a kickoff that died after its first epic left behind: the iOS epic, carrying its marker."""
    config = IntegrationConfig(id="crashed", provider=provider.upper(), display_name="crashed", base_url=url,
                               fields={"projectKey": "MOB"}, settings={}, secrets=secrets)
    client = build_client(K.TICKET, config, rt.provider_context)
    client.create_epic(title="Release 1.5.0 (iOS)", description="", marker=marker(release, IOS))


def test_kickoff_with_jira_opens_exactly_two_epics_even_after_a_crash_links_them_and_release_closes_them_once(
        running_bot, world, jira):
    rt = running_bot.runtime
    release, ts = release_with_card(running_bot, world, tracker(running_bot, world, "jira", jira.url, JIRA_SECRETS))
    crashed_attempt(rt, "jira", jira.url, JIRA_SECRETS, row(rt, release.id))
    before = len(jira.requests)
    kick_off(running_bot, world, release)
    wait_for(lambda: task_state(rt, release.id, tasks.EPICS) == TaskState.DONE)
    assert [i["key"] for i in jira.issues] == ["MOB-1", "MOB-2"]  # the crashed attempt's iOS epic and one more
    assert (row(rt, release.id).iOSEpicId, row(rt, release.id).androidEpicId) == ("MOB-1", "MOB-2")
    kickoff_requests = [(r.method, r.path) for r in jira.requests[before:]]
    card = wait_for(lambda: (lambda drawn: drawn if "MOB-2" in drawn else None)(last_card(running_bot)))
    assert f"<{jira.url}/browse/MOB-1|MOB-1>" in card and f"<{jira.url}/browse/MOB-2|MOB-2>" in card

    release_it(running_bot, world, release)
    wait_for(lambda: task_state(rt, release.id, CLOSE_EPICS) == TaskState.DONE)
    assert [i["fields"]["status"]["statusCategory"]["key"] for i in jira.issues] == ["done", "done"]
    time.sleep(running_bot.runtime.settings.poll_seconds * 5)  # more rounds of the runner: nothing more
    assert len(jira.calls("POST", r"/transitions$")) == 2
    print("jira kickoff requests:", kickoff_requests)


def test_kickoff_with_linear_opens_exactly_two_issues_even_after_a_crash_and_release_completes_them_once(
        running_bot, world, linear):
    rt = running_bot.runtime
    secrets = {"apiKey": "lin_api_key"}
    release, _ = release_with_card(running_bot, world, tracker(running_bot, world, "linear", linear.url, secrets))
    crashed_attempt(rt, "linear", linear.url, secrets, row(rt, release.id))
    before = len(linear.operations)
    kick_off(running_bot, world, release)
    wait_for(lambda: task_state(rt, release.id, tasks.EPICS) == TaskState.DONE)
    assert [i["identifier"] for i in linear.issues] == ["MOB-1", "MOB-2"]
    assert [i["title"].split(" [")[0] for i in linear.issues] == ["Release 1.5.0 (iOS)", "Release 1.5.0 (Android)"]
    assert (row(rt, release.id).iOSEpicId, row(rt, release.id).androidEpicId) == ("MOB-1", "MOB-2")
    kickoff_operations = [name for name, _ in linear.operations[before:]]
    wait_for(lambda: "Android MOB-2" in last_card(running_bot))

    release_it(running_bot, world, release)
    wait_for(lambda: task_state(rt, release.id, CLOSE_EPICS) == TaskState.DONE)
    assert [i["state"]["type"] for i in linear.issues] == ["completed", "completed"]
    time.sleep(running_bot.runtime.settings.poll_seconds * 5)
    assert [name for name, _ in linear.operations].count("CloseIssue") == 2
    print("linear kickoff operations:", kickoff_operations)


def test_a_tracker_refusing_fails_the_epics_task_with_advice_on_the_card(running_bot, world, jira):
    rt = running_bot.runtime
    release, _ = release_with_card(running_bot, world, tracker(running_bot, world, "jira", jira.url, JIRA_SECRETS))
    jira.fail(403, {"errorMessages": ["You do not have permission to create issues in this project."], "errors": {}},
              path=r"/rest/api/2/issue$", method="POST", times=10)
    kick_off(running_bot, world, release)
    wait_for(lambda: task_state(rt, release.id, tasks.EPICS) == TaskState.FAILED)
    card = wait_for(lambda: (lambda drawn: drawn if "❌ Epics" in drawn else None)(last_card(running_bot)))
    assert "Jira MOB refused it: ask an admin to give its token write access, then retry" in card
    assert jira.issues == [] and row(rt, release.id).status == S.PENDING


# --- the card's Epics fact (pure blocks) ----------------------------------------------------------------
def drawn(r, *task_views) -> str:
    from bot.blocks.card import release_card
    from core.services.card_view import CardView

    return json.dumps(release_card(CardView(r, (), tasks=tuple(task_views))), ensure_ascii=False)


def test_the_card_links_jira_epics_to_the_browse_page_and_shows_linear_keys_plain():
    from dataclasses import replace

    from core.services.releases import Ref
    from tests.bot.test_blocks import release

    jira_release = replace(release(), ticket=Ref("t1", "Jira MOB", "JIRA"), ticketBaseUrl="https://acme.atlassian.net/",
                           iOSEpicId="MOB-1", androidEpicId="MOB-2")
    assert "*Epics*\\niOS <https://acme.atlassian.net/browse/MOB-1|MOB-1> · Android <https://acme.atlassian.net/browse/MOB-2|MOB-2>" \
        in drawn(jira_release)
    linear_release = replace(jira_release, ticket=Ref("t2", "Linear MOB", "LINEAR"), ticketBaseUrl=None)
    assert "*Epics*\\niOS MOB-1 · Android MOB-2" in drawn(linear_release)
    assert "*Epics*" not in drawn(release())  # none opened: no fact


def test_the_kickoff_list_shows_the_epics_task_without_repeating_its_keys():
    from dataclasses import replace

    from core.services.tasks import TaskView
    from tests.bot.test_blocks import release

    pending = replace(release(), status=S.PENDING, iOSEpicId="MOB-1", androidEpicId="MOB-2")
    card = drawn(pending, TaskView(tasks.EPICS, TaskState.DONE, None, "ios:MOB-1 android:MOB-2"))
    assert "✅ Epics" in card and "ios:MOB-1" not in card
