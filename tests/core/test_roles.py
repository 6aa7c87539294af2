"""The role table, cell by cell: admin, pilot, creator, member (and the bot itself) × every action."""
from __future__ import annotations

import pytest

from core.enums import BuildState, TargetStatus
from core.enums import ReleaseStatus as S
from core.errors import PermissionDeniedError
from core.lifecycle import ROLES, Action, Who
from core.models import PipelineBuild
from core.services import builds, regression
from core.services.releases import get_release
from core.services.transitions import authorize, load
from tests.core.lifecycle_world import CALLED, People, act, bring_to, new_release, status_of, targets
from tests.factories import World

A = Action
MOVERS = {"admin", "pilot", "creator"}
# The spec (issue 10), by hand: who may take each action.
MAY: dict[Action, set[str]] = {
    A.KICKOFF: MOVERS | {"runner"}, A.KICKOFF_DONE: {"runner"}, A.START_REGRESSION: MOVERS, A.REGRESSION_PASSED: MOVERS,
    A.REGRESSION_FAILED: MOVERS, A.MARK_SUBMITTED: MOVERS, A.MARK_APPROVED: MOVERS, A.MARK_RELEASED: {"admin", "pilot"},
    A.ALL_SUBMITTED: {"runner"}, A.ALL_RELEASED: {"runner"}, A.MARK_DELAYED: MOVERS | {"runner"}, A.EDIT_DATES: MOVERS,
    A.CHANGE_PILOT: MOVERS, A.CANCEL: MOVERS, A.ARCHIVE: {"admin", "pilot"},
}
LABEL = {A.KICKOFF: "kick off", A.START_REGRESSION: "start regression", A.REGRESSION_PASSED: "mark regression passed",
         A.REGRESSION_FAILED: "mark regression failed", A.MARK_SUBMITTED: "mark a target submitted",
         A.MARK_APPROVED: "mark a target approved", A.MARK_RELEASED: "mark a target released", A.MARK_DELAYED: "mark it delayed",
         A.EDIT_DATES: "edit its dates", A.CHANGE_PILOT: "change its pilot", A.CANCEL: "cancel it", A.ARCHIVE: "archive it",
         A.KICKOFF_DONE: "finish kickoff", A.ALL_SUBMITTED: "mark the release submitted", A.ALL_RELEASED: "mark the release released"}
# Where each action is allowed by the transition table (and its guard holds), so only the role decides.
WHERE = {A.KICKOFF: S.KICKOFF_PENDING, A.KICKOFF_DONE: S.PENDING, A.START_REGRESSION: S.STARTED,
         A.REGRESSION_PASSED: S.REGRESSION_IN_PROGRESS, A.REGRESSION_FAILED: S.REGRESSION_IN_PROGRESS,
         A.MARK_SUBMITTED: S.REGRESSION_IN_PROGRESS, A.MARK_APPROVED: S.BUILD_SUBMITTED, A.MARK_RELEASED: S.BUILD_SUBMITTED,
         A.ALL_SUBMITTED: S.REGRESSION_IN_PROGRESS, A.ALL_RELEASED: S.BUILD_SUBMITTED, A.MARK_DELAYED: S.STARTED,
         A.EDIT_DATES: S.STARTED, A.CHANGE_PILOT: S.STARTED, A.CANCEL: S.STARTED, A.ARCHIVE: S.RELEASED}


def refusal(action: Action) -> str:
    if MAY[action] == {"runner"}:
        return f"only releasebot itself can {LABEL[action]}"
    if MAY[action] >= MOVERS:
        return f"only the release pilot (Grace), its creator (Linus) or a workspace admin can {LABEL[action]}"
    return f"only the release pilot (Grace) or a workspace admin can {LABEL[action]}"


@pytest.fixture
def world(session, cipher):
    return World(session, cipher)


@pytest.fixture
def people(session, world):
    return People(session, world)


def ready(session, world, people, action):
    """A release where `action` is allowed by the table and its guard: only the actor's role is left to decide."""
    release = new_release(session, world, people)
    bring_to(session, world, people, release, WHERE[action], passed=action == A.MARK_SUBMITTED)
    if action == A.MARK_RELEASED:
        regression.set_target_status(session, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=people.admin.id,
                                     target_id=targets(session, world, release)[0].id, status=TargetStatus.APPROVED)
    return release


@pytest.mark.parametrize("kind", ["admin", "pilot", "creator", "member", "runner"])
@pytest.mark.parametrize("action", CALLED)
def test_each_kind_of_person_may_take_exactly_the_actions_the_role_table_gives_them(session, world, people, action, kind):
    release = ready(session, world, people, action)
    by = None if kind == "runner" else people.by_kind(kind)
    if action == A.KICKOFF_DONE and kind != "runner":  # the service takes no actor: people are refused by the table of roles
        ctx = load(session, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=by.id)
        with pytest.raises(PermissionDeniedError, match=f"^{refusal(action)}$"):
            authorize(ctx, action)
        return
    before = status_of(session, release)
    if kind in MAY[action]:
        assert act(session, world, people, release, action, by).changed
    else:
        with pytest.raises(PermissionDeniedError) as refused:
            act(session, world, people, release, action, by)
        assert str(refused.value) == refusal(action)
        assert status_of(session, release) == before


@pytest.mark.parametrize("kind", ["admin", "pilot", "creator", "member", "runner"])
@pytest.mark.parametrize("action", [A.ALL_SUBMITTED, A.ALL_RELEASED])
def test_what_follows_the_targets_is_the_bots_alone(session, world, people, action, kind):
    release = new_release(session, world, people)
    bring_to(session, world, people, release, WHERE[action], passed=action == A.ALL_SUBMITTED)
    by = None if kind == "runner" else people.by_kind(kind).id
    ctx = load(session, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=by)
    if kind in MAY[action]:
        assert authorize(ctx, action) == {A.ALL_SUBMITTED: S.BUILD_SUBMITTED, A.ALL_RELEASED: S.RELEASED}[action]
    else:
        with pytest.raises(PermissionDeniedError, match=f"^{refusal(action)}$"):
            authorize(ctx, action)


def test_the_role_table_in_core_is_the_one_the_spec_gives():
    assert {a: {w.value for w in who} for a, who in ROLES.items()} == MAY
    assert all(Who.MEMBER not in who for who in ROLES.values())  # members trigger builds and read; nothing more here


def test_a_release_without_a_pilot_names_only_its_creator_and_the_admins(session, world, people):
    release = new_release(session, world, people, release_pilot_id=None)
    bring_to(session, world, people, release, S.RELEASED)
    with pytest.raises(PermissionDeniedError, match="^only a workspace admin can archive it$"):
        act(session, world, people, release, A.ARCHIVE, people.creator)
    with pytest.raises(PermissionDeniedError, match=r"^only its creator \(Linus\) or a workspace admin can cancel it$"):
        act(session, world, people, release, A.CANCEL, people.member)


def test_a_plain_member_triggers_and_retries_builds(session, world, people):
    release = new_release(session, world, people)
    pipe = get_release(session, tenant_id=world.tenant.id, release_id=release.id).pipelines[0]
    first = builds.request_build(session, tenant_id=world.tenant.id, account_id=people.member.id, release_pipeline_id=pipe.id)
    builds.record_progress(session, session.get(PipelineBuild, first.build_id), state=BuildState.FAILED, error="boom")
    retry = builds.request_build(session, tenant_id=world.tenant.id, account_id=people.member.id, release_pipeline_id=pipe.id)
    assert first.started and retry.started and session.get(PipelineBuild, retry.build_id).attempt == 2
