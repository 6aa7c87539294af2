"""Release creation: the seed's Step 2 rules, and the places where we do better than the seed."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from core.enums import BuildStatus, ReleaseStatus, TargetStatus
from core.errors import ConflictError, NotFoundError, ValidationError
from core.models import Release, ReleaseTarget
from core.services import integration_writes
from core.services.release_creation import create_release
from core.services.releases import find_release, get_release, set_status
from tests import factories
from tests.factories import World


@pytest.fixture
def world(session, cipher):
    return World(session, cipher)


@pytest.fixture
def other(session, cipher):
    """A second workspace, whose integrations the first must never be able to use."""
    return World(session, cipher, name="Globex")


def create(session, world, **overrides):
    return create_release(session, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                          draft=world.draft(**overrides))


def problems_of(excinfo) -> dict[str, str]:
    return excinfo.value.by_field()


def test_a_valid_release_is_written_with_its_targets_and_pipelines_pending(session, world):
    release = create(session, world, ticket_integration_id=world.jira.id)
    assert release.status == ReleaseStatus.KICKOFF_PENDING
    assert release.releaseKey == "v1.5.0"
    assert release.branchRelease == "release/1.5.0"
    assert release.baseBranch == "main"  # the SCM's default branch when none is given
    assert {t.integration.id for t in release.targets} == {world.ios.id, world.android.id}
    assert all(t.status == TargetStatus.PENDING for t in release.targets)
    assert {p.integration.id for p in release.pipelines} == {world.ios_pipeline.id, world.android_pipeline.id}
    assert all(p.buildStatus == BuildStatus.PENDING and not p.triggered for p in release.pipelines)
    assert release.scm.name == "iOS app repo" and release.repository == "acme/app"
    assert release.pilot.id == world.member.id and release.createdBy.id == world.admin.id
    assert release.communication.id == world.channel.id and release.ticket.id == world.jira.id


def test_reading_a_release_returns_what_was_written(session, world):
    created = create(session, world, base_branch="develop", planned_date=date(2026, 1, 15),
                     target_release_date=date(2026, 1, 20))
    again = get_release(session, tenant_id=world.tenant.id, release_id=created.id)
    assert again == created
    assert again.baseBranch == "develop" and again.plannedDate.day == 15


def test_a_release_of_another_tenant_cannot_be_read(session, world, other):
    created = create(session, world)
    with pytest.raises(NotFoundError):
        get_release(session, tenant_id=other.tenant.id, release_id=created.id)


def test_an_scm_that_is_not_verified_or_not_active_is_refused(session, world, cipher):
    pending = integration_writes.add_integration(
        session, tenant_id=world.tenant.id, kind=world.scm.kind, provider="gitlab", display_name="Unchecked",
        cipher=cipher, fields={"organization": "acme", "repository": "x"}, secrets={"token": "t"})
    with pytest.raises(ValidationError) as excinfo:
        create(session, world, scm_integration_id=pending.id, pipeline_ids=())
    assert "has not been verified yet" in problems_of(excinfo)["scmIntegrationId"]

    invalid = factories.scm(session, world.tenant.id, cipher, name="Broken", valid=False)
    with pytest.raises(ValidationError) as excinfo:
        create(session, world, scm_integration_id=invalid.id, pipeline_ids=())
    assert "failed verification (GitHub rejected the token (401))" in problems_of(excinfo)["scmIntegrationId"]

    integration_writes.set_active(session, tenant_id=world.tenant.id, integration_id=world.scm.id, active=False)
    with pytest.raises(ValidationError) as excinfo:
        create(session, world)
    assert "is disabled" in problems_of(excinfo)["scmIntegrationId"]


def test_another_tenants_integrations_are_refused_everywhere(session, world, other):
    with pytest.raises(ValidationError) as excinfo:
        create(session, world, scm_integration_id=other.scm.id, target_ids=(other.ios.id,),
               pipeline_ids=(other.ios_pipeline.id,), communication_integration_id=other.channel.id,
               ticket_integration_id=other.jira.id, release_pilot_id=other.admin.id)
    problems = problems_of(excinfo)
    assert set(problems) == {"scmIntegrationId", "targets", "pipelines", "communicationIntegrationId",
                             "ticketIntegrationId", "releasePilotId"}
    # The seed checks only that a foreign key exists; the other workspace's names never leak.
    assert "Globex" not in str(excinfo.value) and "iOS app repo" not in str(excinfo.value)


def test_at_least_one_target_is_required(session, world):
    with pytest.raises(ValidationError) as excinfo:
        create(session, world, target_ids=(), pipeline_ids=())
    assert problems_of(excinfo) == {"targets": "pick at least one store target"}


def test_an_unverified_target_is_refused(session, world, cipher):
    bad = factories.target(session, world.tenant.id, cipher, name="Old listing", valid=False)
    with pytest.raises(ValidationError) as excinfo:
        create(session, world, target_ids=(world.ios.id, bad.id), pipeline_ids=())
    assert "Old listing" in problems_of(excinfo)["targets"]


def test_a_pipeline_must_build_the_chosen_repository_for_a_chosen_target(session, world, cipher):
    other_repo = factories.scm(session, world.tenant.id, cipher, name="Web repo", repository="web")
    web_pipeline = factories.pipeline(session, world.tenant.id, cipher, other_repo.id, world.ios.id, "Jenkins web")
    with pytest.raises(ValidationError) as excinfo:
        create(session, world, target_ids=(world.ios.id,), pipeline_ids=(world.android_pipeline.id, web_pipeline.id))
    message = problems_of(excinfo)["pipelines"]
    assert "“Jenkins Android” builds for a target that is not selected" in message
    assert "“Jenkins web” builds another repository" in message


def test_a_disabled_pipeline_is_refused(session, world):
    integration_writes.set_active(session, tenant_id=world.tenant.id, integration_id=world.ios_pipeline.id, active=False)
    with pytest.raises(ValidationError) as excinfo:
        create(session, world)
    assert "Jenkins iOS" in problems_of(excinfo)["pipelines"]


def test_a_disabled_channel_or_tracker_is_refused(session, world):
    integration_writes.set_active(session, tenant_id=world.tenant.id, integration_id=world.channel.id, active=False)
    integration_writes.set_active(session, tenant_id=world.tenant.id, integration_id=world.jira.id, active=False)
    with pytest.raises(ValidationError) as excinfo:
        create(session, world, ticket_integration_id=world.jira.id)
    assert set(problems_of(excinfo)) == {"communicationIntegrationId", "ticketIntegrationId"}


def test_the_version_forms_mobile_teams_use_are_accepted(session, world):
    for version in ("1.5", "1.5.0", "1.5.0.0", "1.5.0-rc.1", "1.5.0+45", "1.5.0-rc.1+45", "10.20.30+build.7"):
        release = create(session, world, version=version)
        assert release.branchRelease == f"release/{version}"
        set_status(session, tenant_id=world.tenant.id, release_id=release.id, status=ReleaseStatus.CANCELLED)


@pytest.mark.parametrize("version", ["", "1", "1.5.0 beta", "1..5", "latest", "1.5.0-", "../1.5", "vv1.5.0"])
def test_malformed_versions_are_refused_with_examples(session, world, version):
    with pytest.raises(ValidationError) as excinfo:
        create(session, world, version=version)
    assert "like 1.5, 1.5.0, 1.5.0-rc.1 or 1.5.0+45" in problems_of(excinfo)["version"]


@pytest.mark.parametrize("version", ["١.٢.٣", "۱.۲.۳", "１.２.３", "1.2.３"])
def test_versions_written_with_non_ascii_digits_are_refused(session, world, version):
    with pytest.raises(ValidationError) as excinfo:
        create(session, world, version=version)
    assert "is not a version" in problems_of(excinfo)["version"]


def test_a_trailing_newline_cannot_make_a_second_live_release_of_a_version(session, world):
    create(session, world, version="30.0.0")
    for typed in ("v30.0.0\n", "30.0.0\n", "30.0.0\r", "30.0.0\x00"):
        with pytest.raises(ValidationError) as excinfo:
            create(session, world, version=typed)
        message = problems_of(excinfo)["version"]
        assert "is not a version" in message and "\n" not in message and "\r" not in message  # one line
    assert session.scalars(select(Release.releaseKey).where(Release.tenantId == world.tenant.id)).all() == ["v30.0.0"]


def test_a_leading_v_names_the_same_release(session, world):
    typed = create(session, world, version="v1.5.0")
    assert (typed.version, typed.releaseKey, typed.branchRelease) == ("1.5.0", "v1.5.0", "release/1.5.0")
    with pytest.raises(ConflictError):
        create(session, world, version="1.5.0")


def test_a_version_may_be_as_long_as_the_create_modal_allows_and_no_longer(session, world):
    longest = "1.5.0-" + "r" * 58  # 64 characters, the modal's max_length
    assert create(session, world, version=longest).version == longest
    with pytest.raises(ValidationError) as excinfo:
        create(session, world, version=longest + "x")
    assert "keep it to 64" in problems_of(excinfo)["version"]


def test_base_branches_git_would_refuse_are_refused_in_one_line_and_ordinary_ones_accepted(session, world):
    for branch in ("main\n", "main\r", "dev\x1b[31m", "feature/١", "ｍａｉｎ", "a b", "-x", "x..y", "x.lock",
                   "x/.hidden", "x/", "x.", "@", "a@{1}", "a:b", "a\\b", "a~1", "a^", "a?", "a*", "a[1]"):
        with pytest.raises(ValidationError) as excinfo:
            create(session, world, base_branch=branch)
        message = problems_of(excinfo)["baseBranch"]
        assert "is not a valid branch name: use letters, digits" in message and "\n" not in message, branch
    for branch in ("main", "develop", "release/1.5", "feature/JIRA-12_fix", "hotfix+1", "v1.5.0"):
        release = create(session, world, base_branch=branch)
        assert release.baseBranch == branch
        set_status(session, tenant_id=world.tenant.id, release_id=release.id, status=ReleaseStatus.CANCELLED)


def test_a_release_is_found_by_its_version_with_or_without_v(session, world):
    release = create(session, world)
    for ref in ("1.5.0", "v1.5.0", "V1.5.0", release.id):
        assert find_release(session, tenant_id=world.tenant.id, ref=ref).id == release.id


def test_a_reused_version_finds_the_live_release_else_the_latest(session, world):
    first = create(session, world)
    set_status(session, tenant_id=world.tenant.id, release_id=first.id, status=ReleaseStatus.CANCELLED)
    second = create(session, world)
    set_status(session, tenant_id=world.tenant.id, release_id=second.id, status=ReleaseStatus.CANCELLED)
    live = create(session, world)
    assert live.releaseKey == "v1.5.0-3"
    for ref in ("1.5.0", "v1.5.0"):
        assert find_release(session, tenant_id=world.tenant.id, ref=ref).id == live.id
    assert find_release(session, tenant_id=world.tenant.id, ref="v1.5.0-2").id == second.id
    set_status(session, tenant_id=world.tenant.id, release_id=live.id, status=ReleaseStatus.ARCHIVED)
    assert find_release(session, tenant_id=world.tenant.id, ref="1.5.0").id == live.id  # none live: the latest


def test_an_unknown_version_is_not_found_in_one_line(session, world):
    with pytest.raises(NotFoundError) as excinfo:
        find_release(session, tenant_id=world.tenant.id, ref="9.9.9\n")
    assert str(excinfo.value) == "no release “9.9.9\\n” in this workspace: see `releasebot release list`"


def test_a_second_live_release_of_a_version_is_a_conflict(session, world):
    first = create(session, world)
    with pytest.raises(ConflictError) as excinfo:
        create(session, world)
    assert problems_of(excinfo)["version"] == (
        "version 1.5.0 already has a live release (v1.5.0): cancel or archive it first, or pick another version")
    set_status(session, tenant_id=world.tenant.id, release_id=first.id, status=ReleaseStatus.CANCELLED)
    second = create(session, world)
    assert second.releaseKey == "v1.5.0-2"
    set_status(session, tenant_id=world.tenant.id, release_id=second.id, status=ReleaseStatus.ARCHIVED)
    assert create(session, world).releaseKey == "v1.5.0-3"


def test_the_same_version_in_two_workspaces_is_no_conflict(session, world, other):
    assert create(session, world).releaseKey == create(session, other).releaseKey == "v1.5.0"


def test_a_target_date_before_the_planned_date_is_refused(session, world):
    with pytest.raises(ValidationError) as excinfo:
        create(session, world, planned_date=date(2026, 3, 1), target_release_date=date(2026, 2, 1))
    assert "before the planned date" in problems_of(excinfo)["targetReleaseDate"]


def test_duplicate_targets_and_pipelines_collapse(session, world):
    release = create(session, world, target_ids=(world.ios.id, world.ios.id),
                     pipeline_ids=(world.ios_pipeline.id, world.ios_pipeline.id))
    assert len(release.targets) == 1 and len(release.pipelines) == 1
    rows = session.scalars(select(ReleaseTarget).where(ReleaseTarget.releaseId == release.id)).all()
    assert len(rows) == 1


def test_every_problem_is_reported_at_once(session, world, other):
    with pytest.raises(ValidationError) as excinfo:
        create(session, world, version="one", release_type="WEEKLY", base_branch="bad branch",
               target_ids=(other.ios.id,), pipeline_ids=(), communication_integration_id="nope",
               planned_date=date(2026, 5, 2), target_release_date=date(2026, 5, 1))
    assert set(problems_of(excinfo)) == {"version", "releaseType", "baseBranch", "targets",
                                         "communicationIntegrationId", "targetReleaseDate"}


def test_a_failed_creation_writes_nothing(session, world, other):
    with pytest.raises(ValidationError):
        create(session, world, target_ids=(world.ios.id, other.ios.id), pipeline_ids=())
    ours = select(Release.id).where(Release.tenantId == world.tenant.id)
    assert session.scalars(ours).all() == []
    assert session.scalars(select(ReleaseTarget).where(ReleaseTarget.targetIntegrationId == world.ios.id)).all() == []


def test_a_person_of_another_workspace_cannot_create_a_release(session, world, other):
    with pytest.raises(NotFoundError):
        create_release(session, tenant_id=world.tenant.id, actor_account_id=other.admin.id, draft=world.draft())


def test_text_people_type_keeps_emoji_and_any_script(session, world):
    text = "🚀 新しいオンボーディング — Ünïcödé ✅ 한국어"
    release = create(session, world, description=text)
    session.expire_all()
    assert get_release(session, tenant_id=world.tenant.id, release_id=release.id).description == text


def test_creating_a_release_issues_the_same_number_of_statements_for_1_or_18_references(
        session, world, cipher, engine, statements):
    targets = [world.ios] + [factories.target(session, world.tenant.id, cipher, f"Store {i}") for i in range(5)]
    pipelines = [factories.pipeline(session, world.tenant.id, cipher, world.scm.id, targets[i % 6].id, f"CI {i}")
                 for i in range(12)]
    with statements.counting(engine):
        create(session, world, version="1.0.0", target_ids=(world.ios.id,), pipeline_ids=(world.ios_pipeline.id,),
               ticket_integration_id=world.jira.id)
    small = statements.count
    with statements.counting(engine):
        big = create(session, world, version="2.0.0", target_ids=tuple(t.id for t in targets),
                     pipeline_ids=tuple(p.id for p in pipelines), ticket_integration_id=world.jira.id)
    assert len(big.targets) == 6 and len(big.pipelines) == 12
    assert statements.count == small
    # One set-based validation query (people, SCM, targets, pipelines, channel, tracker, version) and one
    # multi-row INSERT per table; nothing read back. The seed's loop issues two queries per target and
    # per pipeline, and one INSERT per row, on top.
    assert small == 4, statements.statements
    assert sum(s.lstrip().upper().startswith("SELECT") for s in statements.statements) == 1


def test_a_release_with_a_request_key_takes_five_statements_and_a_repeat_one(
        session, world, engine, statements):
    with statements.counting(engine):
        first = create_release(session, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                               draft=world.draft(), request_key="V0COUNTED")
    assert statements.count == 5, statements.statements  # validation, release, targets, pipelines, request key
    with statements.counting(engine):
        again = create_release(session, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                               draft=world.draft(), request_key="V0COUNTED")
    assert again.id == first.id
    assert statements.count == 1 + 3, statements.statements  # the validation query finds it; then it is read


def test_the_view_create_returns_is_the_one_read_back(session, world, cipher):
    targets = [world.ios] + [factories.target(session, world.tenant.id, cipher, f"Store {i}") for i in range(3)]
    pipelines = [factories.pipeline(session, world.tenant.id, cipher, world.scm.id, targets[i % 4].id, f"CI {i}")
                 for i in range(6)]
    made = create(session, world, version="3.1.0", target_ids=tuple(t.id for t in targets),
                  pipeline_ids=tuple(p.id for p in pipelines), ticket_integration_id=world.jira.id,
                  release_pilot_id=world.admin.id, description="Spring")
    session.expire_all()
    read = get_release(session, tenant_id=world.tenant.id, release_id=made.id)
    assert made == read


def test_reading_a_release_takes_three_statements_whatever_its_size(session, world, engine, statements):
    release, tenant_id = create(session, world), world.tenant.id
    session.expire_all()
    with statements.counting(engine):
        get_release(session, tenant_id=tenant_id, release_id=release.id)
    assert statements.count == 3, statements.statements


def test_a_repeated_request_returns_the_release_the_first_one_created(session, world):
    first = create_release(session, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                           draft=world.draft(), request_key="V0SUBMISSION")
    again = create_release(session, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                           draft=world.draft(), request_key="V0SUBMISSION")
    assert again.id == first.id
    with pytest.raises(ConflictError):  # without the key, the same version is a conflict
        create(session, world)
