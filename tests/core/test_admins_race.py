"""Two admins removing each other at the same moment on MariaDB: the admin rows are locked first, so one
wins and the other is refused (no longer an admin) — the workspace never ends with no admin."""
from __future__ import annotations

import threading

import pytest

from core.db import make_session_factory, unit_of_work
from core.errors import ReleasebotError
from core.services import tenants
from tests import factories
from tests.conftest import delete_tenant_rows


@pytest.mark.mysql_only
def test_two_admins_revoking_each_other_at_once_leave_one_admin(mysql_engine):
    factory = make_session_factory(mysql_engine)
    with unit_of_work(factory) as db:
        tenant = factories.tenant(db)
        ada, grace = factories.account(db, tenant.id, "Ada"), factories.account(db, tenant.id, "Grace")
        ids = {"ada": ada.id, "grace": grace.id, "tenant": tenant.id}
    gate, refused, errors = threading.Barrier(2), [], []

    def revoke(actor: str, target: str) -> None:
        try:
            with unit_of_work(factory) as db:
                gate.wait(10)
                tenants.revoke_admin(db, tenant_id=ids["tenant"], account_id=ids[target], actor_account_id=ids[actor])
        except ReleasebotError as exc:
            refused.append(exc)
        except Exception as exc:  # noqa: BLE001 — reported by the assertion below
            errors.append(exc)

    try:
        threads = [threading.Thread(target=revoke, args=pair) for pair in (("ada", "grace"), ("grace", "ada"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert errors == []
        assert len(refused) == 1 and "only a releasebot admin" in str(refused[0])
        with unit_of_work(factory) as db:
            assert len(tenants.list_admins(db, tenant_id=ids["tenant"])) == 1
    finally:
        delete_tenant_rows(mysql_engine, [ids["tenant"]])
