"""The runner's kickoff work against a fake GitHub on loopback, on SQLite and MariaDB: the release
branch is cut (or found), failures are retried or explained, a member retries, an admin skips, two
runners do it once; and a release whose planned date has come is kicked off by the bot, once."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from core.clock import utcnow
from core.config import Settings
from core.crypto import generate_key
from core.enums import ReleaseStatus as S
from core.enums import TaskState
from core.errors import PermissionDeniedError
from core.integrations.http import MAX_RETRIES
from core.lifecycle import TransitionRefusedError
from core.models import ReleaseTask
from core.runner.auto_kickoff import AutoKickoff
from core.runner.kickoff import Kickoff
from core.runtime import Runtime
from core.services import builds, lifecycle, tasks
from tests.core.runner_world import committed_meanwhile, events, new_release, race, release_row, runner, runtime_on, world_on
from tests.factories import SCM_TOKEN
from tests.fakes.github import sha_of

BRANCH_REF = "/repos/acme/app/git/refs"
MAIN_SHA = sha_of("main")


@pytest.fixture
def world(rt, github):
    return world_on(rt, github.url)


def kicked_off(rt, world, **draft):
    """A new release kicked off by Ada: status PENDING, its release-branch task owed (its changelog is listed
    first, so that these tests follow the branch alone; tests/bot/test_changelog_kickoff.py follows the changelog)."""
    release = new_release(rt, world, **draft)
    with rt.unit_of_work() as s:
        lifecycle.kickoff(s, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=world.admin.id)
    with rt.reading() as s:
        changelog = s.query(ReleaseTask.id).filter_by(releaseId=release.id, task=tasks.CHANGELOG).scalar()
    runner(rt).work(Kickoff).run(changelog)
    return release


def task_row(rt, release) -> ReleaseTask:
    with rt.reading() as s:
        row = s.query(ReleaseTask).filter_by(releaseId=release.id, task=tasks.RELEASE_BRANCH).one()
        s.expunge(row)
        return row


def run_due(r) -> int:
    """Run the kickoff tasks due now with runner `r`; how many ran."""
    kickoff = r.work(Kickoff)
    due = kickoff.due()
    for task_id in due:
        kickoff.run(task_id)
    return len(due)


def view(rt, world, release) -> list[tasks.TaskView]:
    with rt.reading() as s:
        return [v for v in tasks.list_tasks(s, tenant_id=world.tenant.id, release_id=release.id) if v.task != tasks.CHANGELOG]


def test_kickoff_owes_the_release_branch_task_in_the_same_transaction(rt, world):
    release = kicked_off(rt, world)
    assert release_row(rt, release.id).status == S.PENDING
    assert view(rt, world, release) == [tasks.TaskView(tasks.RELEASE_BRANCH, TaskState.PENDING, None, None)]


def test_the_runner_cuts_the_release_branch_on_github_and_the_release_starts(rt, world, github):
    release = kicked_off(rt, world)
    assert run_due(runner(rt)) == 1
    assert len(github.calls("POST", BRANCH_REF)) == 1
    assert github.repo("acme/app").branches["release/1.5.0"] == MAIN_SHA
    assert view(rt, world, release) == [tasks.TaskView(tasks.RELEASE_BRANCH, TaskState.DONE, None, MAIN_SHA)]
    assert release_row(rt, release.id).status == S.STARTED
    done = events(rt, release.id, "kickoff-done")
    assert [(e.actorAccountId, e.fromValue, e.toValue) for e in done] == [(None, "PENDING", "STARTED")]
    assert run_due(runner(rt)) == 0  # nothing is owed any more


def test_a_release_branch_that_exists_already_is_used_as_it_is(rt, world, github):
    moved_on = github.add_branch("acme/app", "release/1.5.0", sha_of("a fix pushed to the release branch"))
    release = kicked_off(rt, world)
    run_due(runner(rt))
    assert github.calls("POST", BRANCH_REF) == []
    assert github.repo("acme/app").branches["release/1.5.0"] == moved_on
    assert task_row(rt, release).result == moved_on
    assert release_row(rt, release.id).status == S.STARTED


def test_github_answering_503_is_retried_after_a_backoff_then_the_release_starts(rt, world, github):
    release = kicked_off(rt, world)
    # More 503s than the client's own retries: the task itself must come back later.
    github.fail(503, {"message": "Service Unavailable"}, path="/git/", times=MAX_RETRIES + 1, headers={"Retry-After": "0"})
    r = runner(rt)
    assert run_due(r) == 1
    task = task_row(rt, release)
    assert (task.state, task.attempts, task.result) == (TaskState.PENDING, 1, None)
    assert task.lastError == "iOS app repo did not answer; trying again (attempt 1 of 3)"
    assert "503" in task.errorDetail
    assert task.nextAttemptAt >= utcnow() - timedelta(seconds=1)
    assert release_row(rt, release.id).status == S.PENDING
    deadline = time.monotonic() + 10
    while not run_due(r):  # due again once the backoff (interval × attempts) is over
        assert time.monotonic() < deadline, "the task never came back"
        time.sleep(0.05)
    task = task_row(rt, release)
    assert (task.state, task.lastError, task.errorDetail, task.result) == (TaskState.DONE, None, None, MAIN_SHA)
    assert release_row(rt, release.id).status == S.STARTED


def test_github_refusing_with_403_fails_the_task_with_advice_and_a_retry_after_the_fix_starts_the_release(rt, world, github):
    github.add_token(SCM_TOKEN, fine_grained=True, contents="read")  # verify() passes; writing is refused
    release = kicked_off(rt, world)
    run_due(runner(rt))
    task = task_row(rt, release)
    assert task.state == TaskState.FAILED and task.attempts == 1  # at once: a 403 is not retried
    assert task.lastError == ("could not cut release/1.5.0 from main: iOS app repo refused it: ask an admin to give its "
                              "token write access, then retry")
    assert "Resource not accessible by personal access token" in task.errorDetail
    assert "127.0.0.1" not in task.lastError and SCM_TOKEN not in task.errorDetail
    assert release_row(rt, release.id).status == S.PENDING
    assert run_due(runner(rt)) == 0  # a failed task waits for a person

    github.add_token(SCM_TOKEN)  # an admin gives the token write access
    for _ in range(2):  # a repeated click retries once
        with rt.unit_of_work() as s:
            again = tasks.retry_task(s, tenant_id=world.tenant.id, release_id=release.id, task=tasks.RELEASE_BRANCH,
                                     actor_account_id=world.member.id)
        assert again == tasks.TaskView(tasks.RELEASE_BRANCH, TaskState.PENDING, None, None)
    assert [e.actorAccountId for e in events(rt, release.id, "task-retried")] == [world.member.id]
    assert run_due(runner(rt)) == 1
    assert task_row(rt, release).result == MAIN_SHA
    assert release_row(rt, release.id).status == S.STARTED


def test_a_member_may_not_skip_a_task_and_an_admin_skip_starts_the_release_with_a_history_line(rt, world, github):
    github.add_token(SCM_TOKEN, fine_grained=True, contents="read")
    release = kicked_off(rt, world)
    run_due(runner(rt))
    ids = dict(tenant_id=world.tenant.id, release_id=release.id, task=tasks.RELEASE_BRANCH)
    with pytest.raises(PermissionDeniedError, match="only a workspace admin can skip the release branch"):
        with rt.unit_of_work() as s:
            tasks.skip_task(s, **ids, actor_account_id=world.member.id)
    assert task_row(rt, release).state == TaskState.FAILED
    with rt.unit_of_work() as s:
        skipped = tasks.skip_task(s, **ids, actor_account_id=world.admin.id)
    assert skipped.state == TaskState.SKIPPED
    assert release_row(rt, release.id).status == S.STARTED
    history = [(e.action, e.actorAccountId, e.toValue) for e in events(rt, release.id)][-2:]
    assert history == [("task-skipped", world.admin.id, "SKIPPED"), ("kickoff-done", None, "STARTED")]


def test_a_task_can_be_neither_retried_nor_skipped_once_the_release_is_cancelled(rt, world, github):
    github.add_token(SCM_TOKEN, fine_grained=True, contents="read")
    release = kicked_off(rt, world)
    run_due(runner(rt))
    with rt.unit_of_work() as s:
        lifecycle.cancel(s, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=world.admin.id,
                         reason="the feature was dropped")
    with pytest.raises(TransitionRefusedError, match="no longer kicking off"):
        with rt.unit_of_work() as s:
            tasks.retry_task(s, tenant_id=world.tenant.id, release_id=release.id, task=tasks.RELEASE_BRANCH,
                             actor_account_id=world.admin.id)
    assert task_row(rt, release).state == TaskState.FAILED


def test_the_task_of_a_release_cancelled_before_the_runner_came_is_not_run(rt, world, github):
    release = kicked_off(rt, world)
    with rt.unit_of_work() as s:
        lifecycle.cancel(s, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=world.admin.id,
                         reason="the feature was dropped")
    r = runner(rt)
    assert run_due(r) == 0
    r.work(Kickoff).run(task_row(rt, release).id)  # even when asked directly
    assert github.calls(path_regex="/git/") == []
    assert task_row(rt, release).state == TaskState.PENDING


@pytest.mark.mysql_only
def test_a_release_cancelled_while_the_runner_claims_its_task_gets_no_branch(mysql_engine, tmp_path, github):
    with runtime_on(mysql_engine, tmp_path) as rt:
        world = world_on(rt, github.url)
        release = kicked_off(rt, world)
        task_id = task_row(rt, release).id

        def cancel(other):
            lifecycle.cancel(other, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=world.admin.id,
                             reason="the feature was dropped")

        # The cancel commits as the runner claims the task: after any read of the runner's before its claim.
        with committed_meanwhile(rt, "release_tasks", cancel):
            runner(rt).work(Kickoff).run(task_id)
        assert release_row(rt, release.id).status == S.CANCELLED
        assert github.calls(path_regex="/git/") == []
        assert task_row(rt, release).state == TaskState.PENDING


def test_two_runners_racing_for_one_task_create_one_branch_and_finish_the_kickoff_once(rt, world, github):
    release = kicked_off(rt, world)
    task_id = task_row(rt, release).id
    gate = github.hold("/git/refs$")  # the winner waits inside its GitHub call while the other tries
    workers = [runner(rt, "w1"), runner(rt, "w2")]
    threads = [threading.Thread(target=w.work(Kickoff).run, args=(task_id,)) for w in workers]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while not (github.calls("POST", BRANCH_REF) and any(not t.is_alive() for t in threads)):
        assert time.monotonic() < deadline, "neither runner reached GitHub, or neither gave up"
        time.sleep(0.02)
    assert [w.work(Kickoff).due() for w in workers] == [[], []]  # claimed: nobody else takes it meanwhile
    gate.set()
    for t in threads:
        t.join(20)
    assert len(github.calls("POST", BRANCH_REF)) == 1
    assert len(events(rt, release.id, "kickoff-done")) == 1
    assert release_row(rt, release.id).status == S.STARTED


def test_a_release_whose_planned_date_has_come_is_kicked_off_once_by_the_bot_and_started(rt, world, github):
    yesterday, tomorrow = utcnow().date() - timedelta(days=1), utcnow().date() + timedelta(days=1)
    due_now = new_release(rt, world, planned_date=yesterday, target_release_date=tomorrow)
    later = new_release(rt, world, version="1.6.0", planned_date=tomorrow)
    undated = new_release(rt, world, version="1.7.0")
    first, second = runner(rt, "w1"), runner(rt, "w2")
    due = first.work(AutoKickoff).due()
    assert due_now.id in due and later.id not in due and undated.id not in due
    race(lambda: second.work(AutoKickoff).run(due_now.id), lambda: first.work(AutoKickoff).run(due_now.id))
    kickoffs = events(rt, due_now.id, "kickoff")
    assert [(e.actorAccountId, e.toValue) for e in kickoffs] == [(None, "PENDING")]
    assert due_now.id not in first.work(AutoKickoff).due()
    first.tick()  # the next round cuts its branch and starts it
    assert release_row(rt, due_now.id).status == S.STARTED
    assert len(github.calls("POST", BRANCH_REF)) == 1
    assert [release_row(rt, r.id).status for r in (later, undated)] == [S.KICKOFF_PENDING, S.KICKOFF_PENDING]


def test_a_release_kicked_off_by_a_person_first_is_left_alone_by_the_automatic_kickoff(rt, world):
    release = new_release(rt, world, planned_date=utcnow().date() - timedelta(days=1))
    r = runner(rt)
    with rt.unit_of_work() as s:
        lifecycle.kickoff(s, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=world.member.id)
    r.work(AutoKickoff).run(release.id)  # it read the release as due before the person clicked
    assert [e.actorAccountId for e in events(rt, release.id, "kickoff")] == [world.member.id]


def test_a_release_with_another_task_still_open_stays_pending_until_that_one_is_skipped(rt, world, github):
    release = kicked_off(rt, world)
    with rt.unit_of_work() as s:  # another task (the epics) that failed for good
        s.add(ReleaseTask(tenantId=world.tenant.id, releaseId=release.id, task="epics", state=TaskState.FAILED, attempts=1,
                          nextAttemptAt=None))
    assert run_due(runner(rt)) == 1  # the failed one waits for a person
    assert [(v.task, v.state) for v in view(rt, world, release)] == [(tasks.RELEASE_BRANCH, TaskState.DONE),
                                                                     ("epics", TaskState.FAILED)]
    assert release_row(rt, release.id).status == S.PENDING
    with rt.unit_of_work() as s:
        tasks.skip_task(s, tenant_id=world.tenant.id, release_id=release.id, task="epics", actor_account_id=world.admin.id)
    assert release_row(rt, release.id).status == S.STARTED


def test_an_scm_whose_credentials_this_worker_cannot_decrypt_fails_the_task_with_advice_for_members(rt, world, github):
    release = kicked_off(rt, world)
    other = Runtime(Settings(database_url=rt.settings.database_url, secret_keys=(generate_key(),), allow_private_networks=True))
    try:
        run_due(runner(other))
    finally:
        other.engine.dispose()
    task = task_row(rt, release)
    assert task.state == TaskState.FAILED
    assert task.lastError == "could not cut release/1.5.0 from main: ask an admin to re-verify iOS app repo, then retry (or skip this task)"
    assert task.errorDetail and task.errorDetail != task.lastError
    assert github.calls(path_regex="/git/") == []
    assert release_row(rt, release.id).status == S.PENDING


def test_a_task_whose_worker_died_mid_call_is_taken_over_after_its_lease_without_cutting_twice(rt, world, github):
    release = kicked_off(rt, world)
    task_id = task_row(rt, release).id
    with rt.unit_of_work() as s:
        assert builds.claim(s, ReleaseTask, task_id, ReleaseTask.state == TaskState.PENDING, worker="dead",
                            lease=timedelta(seconds=1))
    github.add_branch("acme/app", "release/1.5.0", MAIN_SHA)  # it had cut the branch, then died
    r = runner(rt)
    assert run_due(r) == 0  # claimed: left alone until the lease lapses
    deadline = time.monotonic() + 10
    while not run_due(r):
        assert time.monotonic() < deadline, "the lapsed claim was never taken over"
        time.sleep(0.1)
    assert github.calls("POST", BRANCH_REF) == []
    assert release_row(rt, release.id).status == S.STARTED
    with rt.unit_of_work() as s:  # the dead worker's late answer changes nothing
        assert tasks.task_done(s, task_id=task_id, worker="dead", result="0" * 40) is False
    assert task_row(rt, release).result == MAIN_SHA
