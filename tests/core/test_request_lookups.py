"""The lookups every Slack request runs (the member before the ack, the create form after it) on a bare read-only
connection (`Runtime.lookup`), without an ORM session: the same answers as in a session, one statement each, scoped
to the tenant, nothing remembered between requests, and no SQLite write lock taken."""
from __future__ import annotations

from sqlalchemy import delete, update

from core.enums import Role
from core.models import Account, ReleaseCard
from core.services import tenants
from core.services.cards import owe_card
from core.services.integration_choices import release_form
from core.services.release_creation import create_release
from core.services.tenants import find_member
from tests import factories
from tests.factories import World


def _world(rt) -> World:
    with rt.unit_of_work() as s:
        return World(s, rt.cipher)


def _member(rt, team_id: str, user_id: str):
    with rt.lookup() as conn:
        return find_member(conn, slack_team_id=team_id, slack_user_id=user_id)


def test_a_member_is_found_on_a_bare_connection_as_in_a_session(rt, statements):
    world = _world(rt)
    team, user = world.tenant.slackTeamId, world.member.slackUserId
    with statements.counting(rt.engine):
        found = _member(rt, team, user)
    with rt.reading() as s:
        assert found == find_member(s, slack_team_id=team, slack_user_id=user)
    assert found == (world.tenant.id, world.member.id, Role.MEMBER, False) and isinstance(found.role, Role)
    assert statements.count == 1 and "accounts" in statements.statements[0]


def test_a_person_is_found_only_in_their_own_workspace(rt):
    world = _world(rt)
    with rt.unit_of_work() as s:
        other = factories.tenant(s, "Other Co")
    assert _member(rt, other.slackTeamId, world.admin.slackUserId) is None
    assert _member(rt, world.tenant.slackTeamId, "UNOBODY") is None
    assert _member(rt, world.tenant.slackTeamId, None) is None


def test_a_changed_role_and_a_removed_account_show_at_the_next_lookup(rt):
    world = _world(rt)
    team, user = world.tenant.slackTeamId, world.admin.slackUserId
    assert _member(rt, team, user)[2] == Role.ADMIN
    with rt.unit_of_work() as s:
        s.execute(update(Account).where(Account.id == world.admin.id).values(role=Role.MEMBER))
    assert _member(rt, team, user)[2] == Role.MEMBER  # nothing is remembered between requests
    with rt.unit_of_work() as s:
        s.execute(delete(Account).where(Account.id == world.admin.id))
    assert _member(rt, team, user) is None


def test_a_lookup_answers_while_a_writer_holds_the_database(rt):
    world = _world(rt)
    with rt.unit_of_work() as s:  # on SQLite this holds the write lock (BEGIN IMMEDIATE) until it commits
        s.execute(update(Account).where(Account.id == world.member.id).values(displayName="Grace H."))
        assert _member(rt, world.tenant.slackTeamId, world.member.slackUserId)[1] == world.member.id


def test_the_create_form_on_a_bare_connection_is_the_one_a_session_reads(rt, statements):
    world = _world(rt)
    with statements.counting(rt.engine):
        with rt.lookup() as conn:
            form = release_form(conn, tenant_id=world.tenant.id)
    with rt.reading() as s:
        assert form == release_form(s, tenant_id=world.tenant.id)
    assert form.missing == () and form.sole_scm.id == world.scm.id
    assert statements.count == 1
    with rt.unit_of_work() as s:
        bare = factories.tenant(s, "Bare Co")
    with rt.lookup() as conn:  # no repository: a second statement asks for a target alone
        assert release_form(conn, tenant_id=bare.id).missing == ("source control integration", "store target")


def test_an_account_named_by_its_slack_id_learns_its_name_once_and_its_live_releases_cards_are_redrawn(rt):
    world = _world(rt)
    team = world.tenant.slackTeamId
    with rt.unit_of_work() as s:  # a pilot picked in a form, whose name Slack would not give: named by its id
        pilot = tenants.ensure_account(s, tenant_id=world.tenant.id, slack_user_id="U0PILOT", display_name="U0PILOT")
        release = create_release(s, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                                 draft=world.draft(release_pilot_id=pilot.id))
        owe_card(s, tenant_id=world.tenant.id, release_id=release.id, channel_id="C0RELEASES")
        revision = s.get(ReleaseCard, release.id).revision
    assert _member(rt, team, "U0PILOT").name_unknown and not _member(rt, team, world.admin.slackUserId).name_unknown
    with rt.unit_of_work() as s:
        assert tenants.learn_name(s, account_id=pilot.id, slack_user_id="U0PILOT", name="linus")
    with rt.reading() as s:
        assert s.get(Account, pilot.id).displayName == "linus"
        assert s.get(ReleaseCard, release.id).revision == revision + 1  # the card showed the id: drawn again
    assert not _member(rt, team, "U0PILOT").name_unknown
    with rt.unit_of_work() as s:  # a real name is never replaced
        assert not tenants.learn_name(s, account_id=pilot.id, slack_user_id="U0PILOT", name="someone else")
        assert not tenants.learn_name(s, account_id=world.admin.id, slack_user_id=world.admin.slackUserId, name="x")
    with rt.reading() as s:
        assert s.get(Account, pilot.id).displayName == "linus"
        assert s.get(ReleaseCard, release.id).revision == revision + 1
