"""Owed verifications: the runner checks the provider outside the request, records the outcome on the
integration, and tells whoever asked, once, however many workers look."""
from __future__ import annotations

import pytest

from core.enums import VerificationStatus
from core.runner.verifications import Verifications
from core.services import integration_changes, integrations
from tests.core.runner_world import committed_meanwhile, held_while_asked, runner, runtime_on, world_on
from tests.factories import github_for


class Teller:
    def __init__(self):
        self.told = []

    def tell_verification(self, outcome) -> None:
        self.told.append(outcome)


def owe(rt, world, integration_id, **where):
    with rt.unit_of_work() as s:
        integration_changes.request_verification(s, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                                                 integration_id=integration_id, notify_slack_user="U0ADA", **where)


def test_an_owed_verification_is_checked_by_the_runner_and_the_admin_told(engine, tmp_path):
    github = github_for()
    try:
        with runtime_on(engine, tmp_path) as rt:
            world = world_on(rt, github.url)
            owe(rt, world, world.scm.id, view_id="V0MODAL")
            first, second = runner(rt, "w1"), runner(rt, "w2")
            teller = Teller()
            first.ctx.announcer = second.ctx.announcer = teller
            due = first.work(Verifications).due()
            assert len(due) == 1
            first.work(Verifications).run(due[0])
            second.work(Verifications).run(due[0])  # done already: nothing twice
            assert [(o.view.displayName, o.problem, o.view_id) for o in teller.told] == [("iOS app repo", None, "V0MODAL")]
            assert first.work(Verifications).due() == []
            assert sum(1 for r in github.requests if "/repos/acme/app" in r.path) >= 1
    finally:
        github.stop()


def test_a_provider_refusal_is_recorded_with_its_reason(engine, tmp_path):
    github = github_for()
    try:
        with runtime_on(engine, tmp_path) as rt:
            world = world_on(rt, github.url)
            with rt.unit_of_work() as s:
                integration_changes.edit(s, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                                         integration_id=world.scm.id, display_name="iOS app repo", cipher=rt.cipher,
                                         base_url=github.url, fields={"organization": "acme", "repository": "app"},
                                         secrets={"token": "ghp_wrong"})
            owe(rt, world, world.scm.id)
            work, teller = runner(rt).work(Verifications), Teller()
            work.ctx.announcer = teller
            work.run(work.due()[0])
            with rt.reading() as s:
                view = integrations.get_integration(s, tenant_id=world.tenant.id, integration_id=world.scm.id)
            assert view.verificationStatus == VerificationStatus.INVALID and view.verificationError
            assert teller.told[0].problem == view.verificationError and teller.told[0].view_id is None
    finally:
        github.stop()


def test_an_edit_saved_while_the_provider_is_asked_is_verified_again_not_marked_by_the_old_check(engine, tmp_path):
    github = github_for()
    try:
        with runtime_on(engine, tmp_path) as rt:
            world = world_on(rt, github.url)
            owe(rt, world, world.scm.id, view_id="V0FIRST")
            work, teller = runner(rt).work(Verifications), Teller()
            work.ctx.announcer = teller
            due = work.due()
            gate = github.hold(r"/repos/acme/app")
            with held_while_asked(gate, lambda: github.calls(path_regex=r"/repos/acme/app"), work.run, due[0], who="GitHub"):
                # The admin saves a wrong token (the form saves, then asks for a verification) as GitHub is asked.
                with rt.unit_of_work() as s:
                    integration_changes.edit(s, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                                             integration_id=world.scm.id, display_name="iOS app repo", cipher=rt.cipher,
                                             base_url=github.url, fields={"organization": "acme", "repository": "app"},
                                             secrets={"token": "ghp_wrong"})
                    integration_changes.request_verification(s, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                                                             integration_id=world.scm.id, notify_slack_user="U0ADA",
                                                             view_id="V0SECOND")
            with rt.reading() as s:
                view = integrations.get_integration(s, tenant_id=world.tenant.id, integration_id=world.scm.id)
            assert view.verificationStatus == VerificationStatus.PENDING  # not VALID: the wrong token was not checked
            assert teller.told == [] and work.due() == due  # owed again
            work.run(due[0])
            with rt.reading() as s:
                view = integrations.get_integration(s, tenant_id=world.tenant.id, integration_id=world.scm.id)
            assert view.verificationStatus == VerificationStatus.INVALID
            assert [(o.problem, o.view_id) for o in teller.told] == [(view.verificationError, "V0SECOND")]
    finally:
        github.stop()


@pytest.mark.mysql_only
def test_an_edit_committed_as_the_runner_records_a_verification_is_verified_again(mysql_engine, tmp_path):
    github = github_for()
    try:
        with runtime_on(mysql_engine, tmp_path) as rt:
            world = world_on(rt, github.url)
            with rt.unit_of_work() as s:  # renamed: PENDING, so the runner's record writes the status
                integration_changes.edit(s, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                                         integration_id=world.scm.id, display_name="iOS repo", cipher=rt.cipher,
                                         base_url=github.url, fields={"organization": "acme", "repository": "app"})
            owe(rt, world, world.scm.id)
            work = runner(rt).work(Verifications)
            work.ctx.announcer = Teller()

            def edit(other):
                integration_changes.edit(other, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                                         integration_id=world.scm.id, display_name="iOS app repo", cipher=rt.cipher,
                                         base_url=github.url, fields={"organization": "acme", "repository": "app"},
                                         secrets={"token": "ghp_wrong"})
                integration_changes.request_verification(other, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                                                         integration_id=world.scm.id)

            with committed_meanwhile(rt, "verificationStatus", edit):
                work.run(work.due()[0])
            while due := work.due():  # whatever was recorded, the wrong token is checked in the end
                work.run(due[0])
            with rt.reading() as s:
                view = integrations.get_integration(s, tenant_id=world.tenant.id, integration_id=world.scm.id)
            assert view.verificationStatus == VerificationStatus.INVALID
    finally:
        github.stop()
