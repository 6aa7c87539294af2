"""The transition table, cell by cell, through the real services; the guards; cancel; repeats and races."""
from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from core.db import make_session_factory, unit_of_work
from core.enums import BuildState, TargetStatus
from core.enums import ReleaseStatus as S
from core.errors import NotFoundError, ValidationError
from core.lifecycle import Action, ConcurrentChangeError, TransitionRefusedError, Who, allowed_actions, next_status
from core.models import PipelineBuild, RegressionCycle, Release, ReleaseCard, ReleaseEvent
from core.services import builds, lifecycle, regression
from core.services.cards import owe_card
from core.services.history import list_events
from core.services.release_creation import create_release
from core.services.releases import get_release
from tests.conftest import delete_tenant_rows
from tests.core.lifecycle_world import CALLED, People, act, bring_to, build_all, new_release, status_of, targets
from tests.factories import World

A = Action
OVER = "it is over"
# The spec (issue 10), written out by hand: every status × every action, the status it leads to or
# the words of its refusal. The automatic all-submitted / all-released are in the pure table below.
EXPECTED: dict[S, dict[Action, S | str]] = {
    S.KICKOFF_PENDING: {
        A.KICKOFF: S.PENDING, A.KICKOFF_DONE: "cannot finish kickoff: v1.5.0 is waiting for kickoff; kick it off first",
        A.START_REGRESSION: "cannot start regression: v1.5.0 is waiting for kickoff; kick it off first",
        A.REGRESSION_PASSED: "cannot mark regression passed: v1.5.0 is waiting for kickoff",
        A.REGRESSION_FAILED: "cannot mark regression failed: v1.5.0 is waiting for kickoff",
        A.MARK_SUBMITTED: "cannot mark a target submitted: v1.5.0 is waiting for kickoff",
        A.MARK_APPROVED: "cannot mark a target approved: v1.5.0 is waiting for kickoff",
        A.MARK_RELEASED: "cannot mark a target released: v1.5.0 is waiting for kickoff",
        A.MARK_DELAYED: S.KICKOFF_PENDING, A.EDIT_DATES: S.KICKOFF_PENDING, A.CHANGE_PILOT: S.KICKOFF_PENDING,
        A.CANCEL: S.CANCELLED, A.ARCHIVE: "cannot archive it: v1.5.0 is waiting for kickoff",
    },
    S.PENDING: {
        A.KICKOFF: "cannot kick off: v1.5.0 is kicking off (kicked off by Ada at ", A.KICKOFF_DONE: S.STARTED,
        A.START_REGRESSION: "cannot start regression: v1.5.0 is kicking off (kicked off by Ada",
        A.REGRESSION_PASSED: "v1.5.0 is kicking off", A.REGRESSION_FAILED: "v1.5.0 is kicking off",
        A.MARK_SUBMITTED: "v1.5.0 is kicking off", A.MARK_APPROVED: "v1.5.0 is kicking off",
        A.MARK_RELEASED: "v1.5.0 is kicking off", A.MARK_DELAYED: S.PENDING, A.EDIT_DATES: S.PENDING,
        A.CHANGE_PILOT: S.PENDING, A.CANCEL: S.CANCELLED, A.ARCHIVE: "cannot archive it: v1.5.0 is kicking off",
    },
    S.STARTED: {
        A.KICKOFF: "cannot kick off: v1.5.0 is building (kickoff finished by releasebot at ",
        A.KICKOFF_DONE: "cannot finish kickoff: v1.5.0 is building", A.START_REGRESSION: S.REGRESSION_IN_PROGRESS,
        A.REGRESSION_PASSED: "cannot mark regression passed: v1.5.0 is building",
        A.REGRESSION_FAILED: "cannot mark regression failed: v1.5.0 is building",
        A.MARK_SUBMITTED: "v1.5.0 is building", A.MARK_APPROVED: "v1.5.0 is building", A.MARK_RELEASED: "v1.5.0 is building",
        A.MARK_DELAYED: S.STARTED, A.EDIT_DATES: S.STARTED, A.CHANGE_PILOT: S.STARTED, A.CANCEL: S.CANCELLED,
        A.ARCHIVE: "cannot archive it: v1.5.0 is building",
    },
    S.REGRESSION_IN_PROGRESS: {
        A.KICKOFF: "v1.5.0 is in regression", A.KICKOFF_DONE: "v1.5.0 is in regression",
        A.START_REGRESSION: "cannot start regression: v1.5.0 is in regression (started by Ada at ",
        A.REGRESSION_PASSED: S.REGRESSION_IN_PROGRESS, A.REGRESSION_FAILED: S.STARTED,
        A.MARK_SUBMITTED: "regression cycle 1 of v1.5.0 has not passed: mark it passed before submitting",
        A.MARK_APPROVED: "regression cycle 1 of v1.5.0 has not passed", A.MARK_RELEASED: "regression cycle 1 of v1.5.0 has not passed",
        A.MARK_DELAYED: S.REGRESSION_IN_PROGRESS, A.EDIT_DATES: S.REGRESSION_IN_PROGRESS,
        A.CHANGE_PILOT: S.REGRESSION_IN_PROGRESS, A.CANCEL: S.CANCELLED, A.ARCHIVE: "cannot archive it: v1.5.0 is in regression",
    },
    S.BUILD_SUBMITTED: {
        A.KICKOFF: "v1.5.0 is submitted to the stores", A.KICKOFF_DONE: "v1.5.0 is submitted to the stores",
        A.START_REGRESSION: "v1.5.0 is submitted to the stores",
        A.REGRESSION_PASSED: "cannot mark regression passed: v1.5.0 is submitted to the stores (submitted by releasebot at ",
        A.REGRESSION_FAILED: "cannot mark regression failed: v1.5.0 is submitted to the stores",
        A.MARK_SUBMITTED: "cannot mark a target submitted: v1.5.0 is submitted to the stores (submitted by releasebot at ",
        A.MARK_APPROVED: S.BUILD_SUBMITTED,
        A.MARK_RELEASED: "App Store is submitted: mark it approved first", A.MARK_DELAYED: S.BUILD_SUBMITTED,
        A.EDIT_DATES: S.BUILD_SUBMITTED, A.CHANGE_PILOT: S.BUILD_SUBMITTED, A.CANCEL: S.CANCELLED,
        A.ARCHIVE: "cannot archive it: v1.5.0 is submitted to the stores (submitted by releasebot at ",
    },
    S.RELEASED: {
        **{a: "v1.5.0 is released (released by releasebot at " for a in (
            A.KICKOFF, A.KICKOFF_DONE, A.START_REGRESSION, A.REGRESSION_PASSED, A.REGRESSION_FAILED, A.MARK_SUBMITTED,
            A.MARK_APPROVED, A.MARK_RELEASED)},
        A.MARK_DELAYED: "cannot mark it delayed: v1.5.0 is released", A.EDIT_DATES: "cannot edit its dates: v1.5.0 is released",
        A.CHANGE_PILOT: S.RELEASED, A.ARCHIVE: S.ARCHIVED,
        A.CANCEL: "cannot cancel it: v1.5.0 is released (released by releasebot at ",
    },
    S.CANCELLED: {a: "v1.5.0 is cancelled (cancelled by Ada at " for a in CALLED},
    S.ARCHIVED: {a: "v1.5.0 is archived (archived by Ada at " for a in CALLED},
}


@pytest.fixture
def world(session, cipher):
    return World(session, cipher)


@pytest.fixture
def people(session, world):
    return People(session, world)


@pytest.fixture
def release(session, world, people):
    return new_release(session, world, people)


def events(session, release) -> int:
    return session.scalar(select(func.count()).select_from(ReleaseEvent).where(ReleaseEvent.releaseId == release.id))


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("action", CALLED)
def test_every_action_in_every_status_leads_where_the_table_says_or_is_refused_with_its_reason(
        session, world, people, release, status, action):
    bring_to(session, world, people, release, status)
    expected, before = EXPECTED[status][action], events(session, release)
    by = None if action == A.KICKOFF_DONE else people.admin
    if isinstance(expected, S):
        outcome = act(session, world, people, release, action, by)
        assert (outcome.from_status, outcome.to_status, outcome.changed) == (status, expected, True)
        assert status_of(session, release) == expected
        assert session.scalar(select(ReleaseEvent.action).where(ReleaseEvent.releaseId == release.id)
                              .order_by(ReleaseEvent.id.desc()).limit(1)) in (action, "build-aborted")
    else:
        with pytest.raises(TransitionRefusedError) as refused:
            act(session, world, people, release, action, by)
        assert expected in str(refused.value)
        assert status_of(session, release) == status and events(session, release) == before


def test_the_pure_table_matches_the_spec_including_what_follows_the_targets():
    table = {(s, a): t for s, row in EXPECTED.items() for a, t in row.items() if isinstance(t, S)}
    table[(S.REGRESSION_IN_PROGRESS, A.MARK_SUBMITTED)] = S.REGRESSION_IN_PROGRESS  # allowed once the cycle passed
    table[(S.REGRESSION_IN_PROGRESS, A.MARK_APPROVED)] = S.REGRESSION_IN_PROGRESS
    table[(S.REGRESSION_IN_PROGRESS, A.MARK_RELEASED)] = S.REGRESSION_IN_PROGRESS
    table[(S.BUILD_SUBMITTED, A.MARK_SUBMITTED)] = None  # every target is submitted already
    table[(S.BUILD_SUBMITTED, A.MARK_RELEASED)] = S.BUILD_SUBMITTED  # refused above only by that target's guard
    table[(S.REGRESSION_IN_PROGRESS, A.ALL_SUBMITTED)] = S.BUILD_SUBMITTED
    table[(S.BUILD_SUBMITTED, A.ALL_RELEASED)] = S.RELEASED
    for status in S:
        for action in A:
            assert next_status(status, action) == table.get((status, action)), (status, action)


def test_final_statuses_allow_nothing_and_every_status_before_released_can_be_cancelled():
    kinds = frozenset(Who)
    assert allowed_actions(S.CANCELLED, kinds) == allowed_actions(S.ARCHIVED, kinds) == []
    assert all(A.CANCEL in allowed_actions(s, kinds) for s in S if s not in (S.RELEASED, S.CANCELLED, S.ARCHIVED))
    assert allowed_actions(S.RELEASED, kinds) == [A.CHANGE_PILOT, A.ARCHIVE]  # live in the stores: only archive is left


def test_cancelling_a_released_release_is_refused_with_archive_as_the_way_out(session, world, people, release):
    bring_to(session, world, people, release, S.RELEASED)
    with pytest.raises(TransitionRefusedError, match=r"^cannot cancel it: v1\.5\.0 is released \(released by releasebot at "
                                                     r"\d\d:\d\d UTC\); it is live in the stores already: archive it instead$"):
        act(session, world, people, release, A.CANCEL, people.admin)
    assert status_of(session, release) == S.RELEASED
    assert lifecycle.available_actions(session, tenant_id=world.tenant.id, release_id=release.id,
                                       actor_account_id=people.admin.id) == [A.CHANGE_PILOT, A.ARCHIVE]


# --- guards ----------------------------------------------------------------------------------


def ada(world, people, release):
    return dict(tenant_id=world.tenant.id, release_id=release.id, actor_account_id=people.admin.id)


def test_start_regression_names_the_target_and_the_pipeline_whose_build_failed(session, world, people, release):
    bring_to(session, world, people, release, S.PENDING)
    lifecycle.finish_kickoff(session, tenant_id=world.tenant.id, release_id=release.id)
    build_all(session, world, release, only="Jenkins iOS")
    build_all(session, world, release, only="Jenkins Android", outcome=BuildState.FAILED)
    with pytest.raises(TransitionRefusedError, match="^Start regression needs a finished successful build for "
                                                     "Play Store: Jenkins Android failed$"):
        regression.start_regression(session, **ada(world, people, release))
    assert status_of(session, release) == S.STARTED


def test_start_regression_waits_for_a_running_build_and_a_pipeline_that_never_ran(session, world, people, release):
    bring_to(session, world, people, release, S.PENDING)
    lifecycle.finish_kickoff(session, tenant_id=world.tenant.id, release_id=release.id)
    android = next(p for p in targets(session, world, release) if p.integration.name == "Play Store")
    pipe = next(p for p in get_release(
        session, tenant_id=world.tenant.id, release_id=release.id).pipelines if p.integration.name == "Jenkins iOS")
    builds.request_build(session, tenant_id=world.tenant.id, account_id=people.member.id, release_pipeline_id=pipe.id)
    with pytest.raises(TransitionRefusedError) as refused:
        regression.start_regression(session, **ada(world, people, release))
    assert str(refused.value) == ("Start regression needs a finished successful build for App Store: Jenkins iOS is running; "
                                  "Play Store: Jenkins Android has not run")
    assert android.buildNumber is None


def test_a_target_no_pipeline_builds_blocks_regression_and_says_so(session, world, people):
    release = new_release(session, world, people, pipeline_ids=(world.ios_pipeline.id,))
    bring_to(session, world, people, release, S.PENDING)
    lifecycle.finish_kickoff(session, tenant_id=world.tenant.id, release_id=release.id)
    build_all(session, world, release)
    with pytest.raises(TransitionRefusedError, match="for Play Store: no pipeline of this release builds it$"):
        regression.start_regression(session, **ada(world, people, release))


def test_a_failed_regression_goes_back_to_builds_and_the_next_cycle_is_numbered_two(session, world, people, release):
    bring_to(session, world, people, release, S.REGRESSION_IN_PROGRESS)
    regression.regression_failed(session, **ada(world, people, release), reason="crash on login")
    assert status_of(session, release) == S.STARTED
    build_all(session, world, release, only="Jenkins iOS")
    regression.start_regression(session, **ada(world, people, release))
    cycles = session.execute(select(RegressionCycle.number, RegressionCycle.outcome).where(
        RegressionCycle.releaseId == release.id).order_by(RegressionCycle.number)).all()
    assert [tuple(c) for c in cycles] == [(1, "FAILED"), (2, None)]
    history = list_events(session, world.tenant.id, release.id)
    assert [(e.action, e.detail) for e in history if e.action.startswith(("start-", "regression-"))] == [
        ("start-regression", "cycle 1 on App Store #41, Play Store #40"), ("regression-failed", "crash on login"),
        ("start-regression", "cycle 2 on App Store #51, Play Store #40")]


def test_a_cycle_passes_once_and_a_second_click_says_who_passed_it(session, world, people, release):
    bring_to(session, world, people, release, S.REGRESSION_IN_PROGRESS)
    regression.regression_passed(session, **ada(world, people, release))
    with pytest.raises(TransitionRefusedError, match=r"^regression cycle 1 of v1.5.0 is already passed \(passed by Ada at \d\d:\d\d UTC\)$"):
        regression.regression_passed(session, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=people.pilot.id)


def test_a_passed_cycle_can_still_fail_until_a_target_is_submitted(session, world, people, release):
    bring_to(session, world, people, release, S.REGRESSION_IN_PROGRESS, passed=True)
    first = targets(session, world, release)[0]
    regression.set_target_status(session, **ada(world, people, release), target_id=first.id, status=TargetStatus.SUBMITTED)
    with pytest.raises(TransitionRefusedError, match="is already passed .*: a submitted target cannot go back to regression"):
        regression.regression_failed(session, **ada(world, people, release))
    assert status_of(session, release) == S.REGRESSION_IN_PROGRESS


def test_the_release_follows_its_targets_to_submitted_then_released_with_its_release_date(session, world, people, release):
    bring_to(session, world, people, release, S.REGRESSION_IN_PROGRESS, passed=True)
    ios, android = targets(session, world, release)
    mark = lambda target, status: regression.set_target_status(  # noqa: E731
        session, **ada(world, people, release), target_id=target.id, status=status)
    assert mark(ios, TargetStatus.SUBMITTED).to_status == S.REGRESSION_IN_PROGRESS
    assert mark(android, TargetStatus.SUBMITTED).to_status == S.BUILD_SUBMITTED
    for target in (ios, android):
        mark(target, TargetStatus.APPROVED)
    assert mark(ios, TargetStatus.RELEASED).to_status == S.BUILD_SUBMITTED
    assert session.scalar(select(Release.releaseDate).where(Release.id == release.id)) is None
    assert mark(android, TargetStatus.RELEASED).to_status == S.RELEASED
    assert session.scalar(select(Release.releaseDate).where(Release.id == release.id)) is not None
    followed = [(e.actor, e.action) for e in list_events(session, world.tenant.id, release.id) if e.action.startswith("all-")]
    assert followed == [(None, "all-submitted"), (None, "all-released")]


def test_pending_and_building_cannot_be_set_by_hand(session, world, people, release):
    with pytest.raises(ValidationError, match="BUILDING cannot be set by hand"):
        regression.set_target_status(session, **ada(world, people, release), target_id=targets(session, world, release)[0].id,
                                     status="BUILDING")


def test_another_releases_target_is_unknown(session, world, people, release):
    other = new_release(session, world, people, version="1.6.0")
    bring_to(session, world, people, release, S.REGRESSION_IN_PROGRESS, passed=True)
    with pytest.raises(NotFoundError):
        regression.set_target_status(session, **ada(world, people, release), target_id=targets(session, world, other)[0].id,
                                     status=TargetStatus.SUBMITTED)


# --- cancel, dates, pilot ----------------------------------------------------------------------


def test_cancelling_stops_running_builds_and_frees_the_version(session, world, people, release):
    bring_to(session, world, people, release, S.STARTED)
    ios, android = sorted(get_release(
        session, tenant_id=world.tenant.id, release_id=release.id).pipelines, key=lambda p: p.integration.name, reverse=True)
    untouched = builds.request_build(session, tenant_id=world.tenant.id, account_id=people.member.id, release_pipeline_id=ios.id)
    on_ci = builds.request_build(session, tenant_id=world.tenant.id, account_id=people.member.id, release_pipeline_id=android.id)
    builds.record_progress(session, session.get(PipelineBuild, on_ci.build_id), state=BuildState.RUNNING, queue_id="9")
    lifecycle.cancel(session, **ada(world, people, release), reason="the feature was dropped 🛑")
    assert session.get(PipelineBuild, untouched.build_id).state == BuildState.CANCELLED  # the CI never had it
    stopping = session.get(PipelineBuild, on_ci.build_id)
    assert stopping.state == BuildState.RUNNING and stopping.abortRequestedAt is not None  # the runner stops it on the CI
    assert stopping.abortedByAccountId == people.admin.id
    history = [(e.action, e.detail) for e in list_events(session, world.tenant.id, release.id)][-3:]
    assert history[0] == ("cancel", "the feature was dropped 🛑")
    assert set(history[1:]) == {("build-aborted", "Jenkins iOS, attempt 2"),
                                ("build-aborted", "Jenkins Android, attempt 2: the runner stops it on the CI")}
    again = create_release(session, tenant_id=world.tenant.id, actor_account_id=people.creator.id, draft=world.draft())
    assert again.releaseKey == "v1.5.0-2"


def test_cancelling_needs_a_reason(session, world, people, release):
    with pytest.raises(ValidationError) as refused:
        lifecycle.cancel(session, **ada(world, people, release), reason="   ")
    assert refused.value.by_field() == {"reason": "the reason is empty: say why the release is cancelled"}
    assert status_of(session, release) == S.KICKOFF_PENDING


def test_delay_sets_the_flag_the_reason_and_the_new_target_date(session, world, people, release):
    lifecycle.mark_delayed(session, **ada(world, people, release), reason="Apple review is slow", target_date=date(2031, 2, 1))
    row = session.execute(select(Release.isDelayed, Release.delayedReason, Release.targetReleaseDate)
                          .where(Release.id == release.id)).one()
    assert (bool(row[0]), row[1], row[2].date()) == (True, "Apple review is slow", date(2031, 2, 1))


def test_the_bot_marks_an_overdue_release_delayed_without_a_reason(session, world, people, release):
    lifecycle.mark_delayed(session, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=None, reason=None)
    last = list_events(session, world.tenant.id, release.id)[-1]
    assert (last.actor, last.action, last.detail) == (None, "delay", "the target date has passed")


def test_the_planned_date_is_fixed_once_kicked_off_and_the_target_stays_after_it(session, world, people):
    release = new_release(session, world, people, planned_date=date(2031, 1, 5))
    with pytest.raises(ValidationError, match="before the planned date"):
        lifecycle.edit_dates(session, **ada(world, people, release), target_date=date(2031, 1, 1))
    lifecycle.edit_dates(session, **ada(world, people, release), planned_date=date(2031, 1, 2), target_date=date(2031, 1, 9))
    bring_to(session, world, people, release, S.PENDING)
    with pytest.raises(TransitionRefusedError, match="already kicked off: its planned date is history"):
        lifecycle.edit_dates(session, **ada(world, people, release), planned_date=date(2031, 1, 3))
    last = [e for e in list_events(session, world.tenant.id, release.id) if e.action == "edit-dates"][-1]
    assert (last.from_value, last.to_value) == ("planned 2031-01-05", "planned 2031-01-02, target 2031-01-09")


def test_the_pilot_can_only_be_a_person_of_the_same_workspace(session, world, people, release, cipher):
    stranger = World(session, cipher, name="Globex").admin
    with pytest.raises(ValidationError, match="the release pilot must be a member of this workspace"):
        lifecycle.change_pilot(session, **ada(world, people, release), pilot_account_id=stranger.id)
    lifecycle.change_pilot(session, **ada(world, people, release), pilot_account_id=people.spare.id)
    with pytest.raises(TransitionRefusedError, match="Hedy is already the pilot of v1.5.0"):
        lifecycle.change_pilot(session, **ada(world, people, release), pilot_account_id=people.spare.id)


# --- ownership, repeats, cards -----------------------------------------------------------------


def test_another_workspace_cannot_touch_the_release_nor_act_in_it(session, world, people, release, cipher):
    other = World(session, cipher, name="Globex")
    with pytest.raises(NotFoundError, match="no release"):
        lifecycle.kickoff(session, tenant_id=other.tenant.id, release_id=release.id, actor_account_id=other.admin.id)
    with pytest.raises(NotFoundError, match="not a member of this workspace"):
        lifecycle.kickoff(session, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=other.admin.id)
    assert status_of(session, release) == S.KICKOFF_PENDING


def test_a_repeated_request_changes_nothing_twice(session, world, people, release):
    first = lifecycle.kickoff(session, **ada(world, people, release), request_key="1700000000.1:kickoff")
    again = lifecycle.kickoff(session, **ada(world, people, release), request_key="1700000000.1:kickoff")
    assert (first.changed, again.changed, again.to_status) == (True, False, S.PENDING)
    assert [e.action for e in list_events(session, world.tenant.id, release.id)] == ["kickoff"]


def test_a_second_click_without_a_key_is_told_who_did_it_first(session, world, people, release):
    bring_to(session, world, people, release, S.STARTED)
    regression.start_regression(session, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=people.pilot.id)
    with pytest.raises(TransitionRefusedError, match=r"v1.5.0 is in regression \(started by Grace at \d\d:\d\d UTC\)"):
        regression.start_regression(session, **ada(world, people, release))


def test_every_change_owes_the_card_a_redraw(session, world, people, release):
    owe_card(session, tenant_id=world.tenant.id, release_id=release.id, channel_id="C1")
    revision = lambda: session.scalar(select(ReleaseCard.revision).where(ReleaseCard.releaseId == release.id))  # noqa: E731
    before = revision()
    lifecycle.kickoff(session, **ada(world, people, release))
    lifecycle.change_pilot(session, **ada(world, people, release), pilot_account_id=people.spare.id)
    assert revision() == before + 2


# --- races ---------------------------------------------------------------------------------


@pytest.fixture
def committed(session_factory, cipher, engine):
    with unit_of_work(session_factory) as db:
        world = World(db, cipher)
        people = People(db, world)
        release = new_release(db, world, people)
        bring_to(db, world, people, release, S.RELEASED)
    yield world, people, release
    delete_tenant_rows(engine, [world.tenant.id])


def test_conflicting_clicks_at_once_let_exactly_one_win_and_tell_the_others_what_happened(session_factory, committed):
    world, people, release = committed
    racers = [(A.ARCHIVE, people.pilot), (A.ARCHIVE, people.admin)] * 4  # a released release can only be archived
    barrier, outcomes = threading.Barrier(len(racers)), [None] * len(racers)

    def click(i, action, by):
        barrier.wait(timeout=30)
        try:
            with unit_of_work(session_factory) as db:
                outcomes[i] = act(db, world, people, release, action, by)
        except TransitionRefusedError as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=click, args=(i, *r)) for i, r in enumerate(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    winners = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(winners) == 1, outcomes
    assert all("v1.5.0 is already archived" in str(o) or "v1.5.0 is archived" in str(o) for o in outcomes if o is not winners[0])
    with unit_of_work(session_factory) as db:
        assert db.scalar(select(Release.status).where(Release.id == release.id)) == winners[0].to_status
        assert db.scalar(select(func.count()).select_from(ReleaseEvent).where(
            ReleaseEvent.releaseId == release.id, ReleaseEvent.action.in_(["archive", "cancel"]))) == 1


@pytest.fixture
def mysql_factory(mysql_engine):
    return make_session_factory(mysql_engine)


@pytest.fixture
def on_mariadb(mysql_factory, mysql_engine, cipher):
    """A committed release in regression (cycle 1 open) on MariaDB, removed afterwards."""
    with unit_of_work(mysql_factory) as db:
        world = World(db, cipher)
        people = People(db, world)
        release = new_release(db, world, people)
        bring_to(db, world, people, release, S.REGRESSION_IN_PROGRESS)
    yield world, people, release
    delete_tenant_rows(mysql_engine, [world.tenant.id])


def stale_session(factory, release):
    """A transaction that has read the release already: its snapshot predates what others commit next."""
    late = factory()
    late.scalar(select(Release.status).where(Release.id == release.id))
    return late


@pytest.mark.mysql_only
def test_a_click_that_read_the_release_before_a_conflicting_one_committed_loses_on_the_conditional_update(
        mysql_factory, on_mariadb):
    world, people, release = on_mariadb
    late = stale_session(mysql_factory, release)
    try:
        with unit_of_work(mysql_factory) as db:
            act(db, world, people, release, A.CANCEL, people.creator)
        with pytest.raises(ConcurrentChangeError, match=r"^v1.5.0 is already cancelled \(cancelled by Linus at \d\d:\d\d UTC\): it is over"):
            act(late, world, people, release, A.REGRESSION_FAILED, people.pilot)
    finally:
        late.rollback()
        late.close()
    with unit_of_work(mysql_factory) as db:
        assert [e.action for e in list_events(db, world.tenant.id, release.id)][-1] == "cancel"


@pytest.mark.mysql_only
def test_a_cycle_passed_meanwhile_is_not_passed_twice_and_the_loser_is_told_by_whom(mysql_factory, on_mariadb):
    world, people, release = on_mariadb
    late = stale_session(mysql_factory, release)
    try:
        with unit_of_work(mysql_factory) as db:
            act(db, world, people, release, A.REGRESSION_PASSED, people.pilot)
        with pytest.raises(TransitionRefusedError, match=r"^regression cycle 1 of v1.5.0 is already passed \(passed by Grace at "):
            act(late, world, people, release, A.REGRESSION_PASSED, people.admin)
    finally:
        late.rollback()
        late.close()
    with unit_of_work(mysql_factory) as db:
        assert [e.action for e in list_events(db, world.tenant.id, release.id)].count("regression-passed") == 1


def test_no_build_starts_during_regression_or_after_submission_and_a_failed_regression_builds_again(session, world, people, release):
    bring_to(session, world, people, release, S.REGRESSION_IN_PROGRESS)
    pipe = get_release(session, tenant_id=world.tenant.id, release_id=release.id).pipelines[0]
    retry = dict(tenant_id=world.tenant.id, account_id=people.member.id, release_pipeline_id=pipe.id)
    with pytest.raises(builds.BuildRefusedError, match=r"^release v1.5.0 is in regression: no new builds \(mark regression failed to build again\)$"):
        builds.request_build(session, **retry)
    regression.regression_passed(session, **ada(world, people, release))
    for target in targets(session, world, release):
        regression.set_target_status(session, **ada(world, people, release), target_id=target.id, status=TargetStatus.SUBMITTED)
    with pytest.raises(builds.BuildRefusedError, match="is submitted to the stores: no new builds"):
        builds.request_build(session, **retry)
    assert {t.status for t in targets(session, world, release)} == {TargetStatus.SUBMITTED}  # no build took a target back
    other = new_release(session, world, people, version="1.6.0")
    bring_to(session, world, people, other, S.REGRESSION_IN_PROGRESS)
    regression.regression_failed(session, **ada(world, people, other))
    pipe = get_release(session, tenant_id=world.tenant.id, release_id=other.id).pipelines[0]
    assert builds.request_build(session, tenant_id=world.tenant.id, account_id=people.member.id, release_pipeline_id=pipe.id).started


def test_the_card_offers_each_person_only_what_they_may_do_now(session, world, people, release):
    offered = lambda who: lifecycle.available_actions(  # noqa: E731
        session, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=who.id)
    assert offered(people.member) == []
    assert offered(people.creator) == [A.KICKOFF, A.MARK_DELAYED, A.EDIT_DATES, A.CHANGE_PILOT, A.CANCEL]
    bring_to(session, world, people, release, S.REGRESSION_IN_PROGRESS)
    assert offered(people.creator) == [A.REGRESSION_PASSED, A.REGRESSION_FAILED, A.MARK_DELAYED, A.EDIT_DATES,
                                       A.CHANGE_PILOT, A.CANCEL]
    regression.regression_passed(session, **ada(world, people, release))
    assert offered(people.creator) == [A.REGRESSION_FAILED, A.MARK_SUBMITTED, A.MARK_APPROVED, A.MARK_DELAYED,
                                       A.EDIT_DATES, A.CHANGE_PILOT, A.CANCEL]
    assert A.MARK_RELEASED in offered(people.pilot) and A.MARK_RELEASED not in offered(people.creator)


def test_the_bot_marking_a_release_overdue_keeps_the_reason_a_person_gave(session, world, people, release):
    lifecycle.mark_delayed(session, **ada(world, people, release), reason="waiting for legal")
    lifecycle.mark_delayed(session, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=None, reason=None)
    assert session.scalar(select(Release.delayedReason).where(Release.id == release.id)) == "waiting for legal"
