"""Requests that race to create the same version: exactly one wins, the others get the conflict."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from core.db import unit_of_work
from core.errors import ConflictError
from core.models import Release, ReleasePipeline, ReleaseTarget
from core.services.release_creation import create_release
from tests.conftest import delete_tenant_rows
from tests.factories import World

RACERS = 8


@pytest.fixture
def committed_world(session_factory, cipher, engine):
    with unit_of_work(session_factory) as db:
        world = World(db, cipher)
    yield world
    delete_tenant_rows(engine, [world.tenant.id])


def race(session_factory, world, versions):
    barrier = threading.Barrier(len(versions))
    outcomes: list[object] = [None] * len(versions)

    def attempt(i, version):
        barrier.wait()
        try:
            with unit_of_work(session_factory) as db:
                outcomes[i] = create_release(db, tenant_id=world.tenant.id, actor_account_id=world.admin.id,
                                             draft=world.draft(version=version))
        except ConflictError as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=attempt, args=(i, v)) for i, v in enumerate(versions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return outcomes


def test_concurrent_creations_of_one_version_let_exactly_one_win(session_factory, committed_world):
    outcomes = race(session_factory, committed_world, ["3.0.0"] * RACERS + ["3.0.1"] * RACERS)
    for version in ("3.0.0", "3.0.1"):
        mine = outcomes[:RACERS] if version == "3.0.0" else outcomes[RACERS:]
        winners = [o for o in mine if not isinstance(o, ConflictError)]
        losers = [o for o in mine if isinstance(o, ConflictError)]
        assert len(winners) == 1 and len(losers) == RACERS - 1
        assert all(f"version {version} already has a live release" in str(e) for e in losers)
    with unit_of_work(session_factory) as db:
        tenant_releases = select(Release.id).where(Release.tenantId == committed_world.tenant.id)
        assert db.scalar(select(func.count()).select_from(Release).where(
            Release.tenantId == committed_world.tenant.id)) == 2
        # No orphans: junction rows exist only for the two winners.
        assert db.scalar(select(func.count()).select_from(ReleaseTarget).where(
            ReleaseTarget.releaseId.in_(tenant_releases))) == 4
        assert db.scalar(select(func.count()).select_from(ReleasePipeline).where(
            ReleasePipeline.releaseId.in_(tenant_releases))) == 4
