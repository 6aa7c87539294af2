"""The App Home's read model: one person of one tenant, their own steps first, bounded statements; and
the owed Homes that changes mark (core.services.home_views)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.clock import utcnow
from core.enums import IntegrationKind, ReleaseStatus, TargetStatus, VerificationStatus
from core.lifecycle import Action
from core.models import HomeView
from core.services import home_views, integration_writes, integrations, lifecycle, verification
from core.services.cards import owe_card
from core.services.home import home_of
from tests.core.lifecycle_world import People, bring_to, new_release
from tests.factories import World, scm, target, tenant


@pytest.fixture
def world(session, cipher):
    return World(session, cipher)


@pytest.fixture
def people(session, world):
    return People(session, world)


def test_a_pilot_sees_their_own_next_step_first_and_a_member_only_whats_next(session, world, people):
    others = new_release(session, world, people, version="1.4.0", release_pilot_id=people.spare.id)
    mine = new_release(session, world, people, version="1.5.0")  # Grace pilots it
    bring_to(session, world, people, mine, ReleaseStatus.STARTED)

    grace = home_of(session, tenant_id=world.tenant.id, slack_user_id=people.pilot.slackUserId)
    assert [r.releaseKey for r in grace.my_turn] == ["v1.5.0"]
    assert grace.releases[0].my_steps == (Action.START_REGRESSION,)
    assert [r.releaseKey for r in grace.others] == ["v1.4.0"]
    assert grace.others[0].my_steps == () and grace.others[0].next_step == "kick it off first"
    assert grace.admin is None and not grace.is_admin

    margaret = home_of(session, tenant_id=world.tenant.id, slack_user_id=people.member.slackUserId)
    assert {r.releaseKey for r in margaret.others} == {"v1.4.0", "v1.5.0"} and margaret.my_turn == ()
    assert all(r.my_steps == () for r in margaret.releases)
    assert others.id in {r.id for r in margaret.releases}


def test_each_release_shows_its_stage_targets_delay_and_where_its_card_is(session, world, people):
    release = new_release(session, world, people)
    lifecycle.mark_delayed(session, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=people.admin.id,
                           reason="store review is slow", target_date=None)
    from core.services.cards import card_done, owe_card
    card = owe_card(session, tenant_id=world.tenant.id, release_id=release.id, channel_id="CRELEASES")
    card_done(session, card, drawn_revision=1, channel_id="CRELEASES", message_ts="1700000000.000100",
              permalink="https://acme.slack.com/archives/CRELEASES/p1700000000000100")

    line = home_of(session, tenant_id=world.tenant.id, slack_user_id=people.creator.slackUserId).releases[0]
    assert (line.status, line.delayed, line.delayed_reason) == (ReleaseStatus.KICKOFF_PENDING, True, "store review is slow")
    assert [(t.name, t.status) for t in line.targets] == [("App Store", TargetStatus.PENDING), ("Play Store", TargetStatus.PENDING)]
    assert line.card_channel_id == "CRELEASES" and line.pilot_name == "Grace"
    assert line.card_permalink == "https://acme.slack.com/archives/CRELEASES/p1700000000000100"
    assert line.mine and line.my_steps == (Action.KICKOFF,)


def test_in_regression_the_next_step_follows_the_cycle_then_the_targets(session, world, people):
    release = new_release(session, world, people)
    bring_to(session, world, people, release, ReleaseStatus.REGRESSION_IN_PROGRESS)
    ada = people.admin.slackUserId
    assert home_of(session, tenant_id=world.tenant.id, slack_user_id=ada).releases[0].my_steps == (Action.REGRESSION_PASSED,)
    from core.services import regression
    regression.regression_passed(session, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=people.admin.id)
    assert home_of(session, tenant_id=world.tenant.id, slack_user_id=ada).releases[0].my_steps == (Action.MARK_SUBMITTED,)


def test_ended_releases_are_recent_ones_not_live_ones(session, world, people):
    gone = new_release(session, world, people, version="1.3.0")
    bring_to(session, world, people, gone, ReleaseStatus.CANCELLED)
    new_release(session, world, people, version="1.5.0")
    home = home_of(session, tenant_id=world.tenant.id, slack_user_id=people.member.slackUserId)
    assert [r.releaseKey for r in home.releases] == ["v1.5.0"] and home.live_total == 1
    assert [(e.releaseKey, e.status) for e in home.recent] == [("v1.3.0", ReleaseStatus.CANCELLED)]


def test_another_tenants_releases_and_integrations_never_appear(session, world, people, cipher):
    other = World(session, cipher, name="Globex")
    new_release(session, other, People(session, other), version="9.9.0")
    new_release(session, world, people, version="1.5.0")
    home = home_of(session, tenant_id=world.tenant.id, slack_user_id=people.admin.slackUserId)
    assert [r.releaseKey for r in home.releases] == ["v1.5.0"]
    own_ids = {v.id for k in IntegrationKind for v in integrations.list_integrations(session, tenant_id=world.tenant.id, kind=k)}
    assert len(home.admin.integrations) == len(own_ids) == 7
    # The other workspace's admin, asked about in this tenant, is a stranger here: no admin section.
    assert home_of(session, tenant_id=world.tenant.id, slack_user_id=other.admin.slackUserId).admin is None


def test_admins_see_every_integrations_health_and_what_a_release_still_needs(session, cipher):
    t = tenant(session)
    from tests.factories import account
    ada = account(session, t.id, "Ada")
    scm(session, t.id, cipher, valid=False)
    home = home_of(session, tenant_id=t.id, slack_user_id=ada.slackUserId)
    (repo,) = home.admin.integrations
    assert (repo.status, repo.reason, repo.active) == (VerificationStatus.INVALID, "GitHub rejected the token (401)", True)
    assert repo.last_checked is not None
    assert home.admin.missing == ("source control integration", "store target")
    scm(session, t.id, cipher, name="Good repo")
    target(session, t.id, cipher)
    assert home_of(session, tenant_id=t.id, slack_user_id=ada.slackUserId).admin.missing == ()


def test_the_home_takes_the_same_statements_for_3_or_40_live_releases(session, world, people, engine, statements):
    def count() -> int:
        with statements.counting(engine):
            home = home_of(session, tenant_id=world.tenant.id, slack_user_id=people.admin.slackUserId)
        return statements.count, home

    for n in range(3):
        release = new_release(session, world, people, version=f"1.{n}.0")
    bring_to(session, world, people, release, ReleaseStatus.REGRESSION_IN_PROGRESS)
    small, home = count()
    assert len(home.releases) == 3
    for n in range(3, 40):
        new_release(session, world, people, version=f"1.{n}.0")
    big, home = count()
    assert len(home.releases) == 40 and big == small
    assert small == 11, statements.statements  # account, releases, targets, cycles, cards, recent, 5 integration kinds


# --- owed Homes -------------------------------------------------------------------------------------


def _row(session, tenant_id, user):
    return session.scalar(select(HomeView).where(HomeView.tenantId == tenant_id, HomeView.slackUserId == user))


def test_a_change_owes_the_homes_opened_in_its_tenant_only(session, world, people, cipher):
    other = World(session, cipher, name="Globex")
    home_views.open_home(session, tenant_id=world.tenant.id, slack_user_id="U0ADA")
    home_views.open_home(session, tenant_id=other.tenant.id, slack_user_id="U0ADA")
    for row in session.scalars(select(HomeView)):
        home_views.home_published(session, row, revision=row.revision, interval=0)
    session.expire_all()
    assert home_views.due_homes(session) == []

    release = new_release(session, world, people)  # created in the first workspace, its card owed (as Slack and the CLI do)
    owe_card(session, tenant_id=world.tenant.id, release_id=release.id, channel_id="CRELEASES")
    session.expire_all()
    mine, theirs = _row(session, world.tenant.id, "U0ADA"), _row(session, other.tenant.id, "U0ADA")
    assert mine.revision == 2 and mine.nextAttemptAt is not None
    assert theirs.revision == 1 and theirs.nextAttemptAt is None


def test_changes_within_the_interval_are_published_together_once_it_is_over(session, world, people):
    row = home_views.open_home(session, tenant_id=world.tenant.id, slack_user_id="U0ADA")
    home_views.home_published(session, row, revision=row.revision, interval=30)
    release = new_release(session, world, people)
    lifecycle.kickoff(session, tenant_id=world.tenant.id, release_id=release.id, actor_account_id=people.admin.id)
    session.expire_all()
    row = _row(session, world.tenant.id, "U0ADA")
    assert row.revision > row.publishedRevision
    assert row.nextAttemptAt == row.notBefore  # owed, but not before the interval is over
    assert row.id not in home_views.due_homes(session)


def test_an_email_release_with_no_card_owes_the_homes_when_it_is_created(session, world, people, cipher):
    from core.enums import IntegrationKind as K
    email = integration_writes.add_integration(
        session, tenant_id=world.tenant.id, kind=K.COMMUNICATION, provider="email", display_name="Release list",
        cipher=cipher, settings={"host": "smtp.example.com", "fromAddress": "bot@acme.test", "recipients": "qa@acme.test"},
        secrets={"username": "bot", "password": "pw"})
    verification.record_verification(session, tenant_id=world.tenant.id, integration_id=email.id, error=None)
    row = home_views.open_home(session, tenant_id=world.tenant.id, slack_user_id="U0ADA")
    home_views.home_published(session, row, revision=row.revision, interval=0)
    new_release(session, world, people, communication_integration_id=email.id)
    session.expire_all()
    assert _row(session, world.tenant.id, "U0ADA").revision == 2


def test_a_verification_that_changes_owes_the_admins_home(session, world):
    row = home_views.open_home(session, tenant_id=world.tenant.id, slack_user_id="U0ADA")
    home_views.home_published(session, row, revision=row.revision, interval=0)
    verification.record_verification(session, tenant_id=world.tenant.id, integration_id=world.jira.id, error="401")
    session.expire_all()
    assert _row(session, world.tenant.id, "U0ADA").revision == 2


def test_a_refusal_retrying_cannot_fix_waits_and_a_429_is_retried_after_retry_after(session, world):
    row = home_views.open_home(session, tenant_id=world.tenant.id, slack_user_id="U0ADA")
    home_views.home_failed(session, row, error="Slack refused (ratelimited)", retryable=True, retry_after=30, interval=1)
    assert row.nextAttemptAt >= utcnow() + timedelta(seconds=29)  # Slack's Retry-After, not sooner
    assert row.id not in home_views.due_homes(session)
    home_views.home_failed(session, row, error="Slack refused (not_enabled)", retryable=False, retry_after=None, interval=1)
    assert row.nextAttemptAt is None and row.lastError.endswith("(not_enabled)")


def test_past_the_fifty_shown_the_other_live_releases_are_counted_and_mine_still_come_first(session, world, people):
    new_release(session, world, people, version="0.1.0")  # the oldest (and lowest key), piloted by Grace
    for n in range(51):
        new_release(session, world, people, version=f"1.{n}.0", release_pilot_id=people.spare.id)
    home = home_of(session, tenant_id=world.tenant.id, slack_user_id=people.pilot.slackUserId)
    assert len(home.releases) == 50 and home.live_total == 52
    assert home.releases[0].releaseKey == "v0.1.0" and home.my_turn == (home.releases[0],)


def test_making_someone_admin_owes_their_home_its_workspace_setup_section(session, world, people):
    from core.services.tenants import grant_admin
    row = home_views.open_home(session, tenant_id=world.tenant.id, slack_user_id=people.member.slackUserId)
    home_views.home_published(session, row, revision=row.revision, interval=0)
    assert home_of(session, tenant_id=world.tenant.id, slack_user_id=people.member.slackUserId).admin is None
    grant_admin(session, tenant_id=world.tenant.id, slack_user_id=people.member.slackUserId, display_name="Margaret",
                actor_account_id=people.admin.id)
    session.expire_all()
    assert _row(session, world.tenant.id, people.member.slackUserId).revision == 2
    assert home_of(session, tenant_id=world.tenant.id, slack_user_id=people.member.slackUserId).admin is not None
