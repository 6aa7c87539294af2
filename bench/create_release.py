"""Releases created per second and SQL statements per release: our set-based service beside the
seed's loop, on SQLite and (with TEST_MYSQL_URL set) on MariaDB. Run by hand:

    python bench/create_release.py [--releases 200] [--targets 6] [--pipelines 12]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.seed_loop import create_release_seed_style  # noqa: E402
from core.crypto import CredentialCipher, generate_key  # noqa: E402
from core.db import make_engine, make_session_factory, unit_of_work  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from core.services.releases import ReleaseDraft, create_release  # noqa: E402
from tests import factories  # noqa: E402
from tests.conftest import _fresh  # noqa: E402


def world(factory, cipher, n_targets, n_pipelines):
    with unit_of_work(factory) as s:
        tenant = factories.tenant(s)
        admin = factories.account(s, tenant.id)
        scm = factories.scm(s, tenant.id, cipher)
        targets = [factories.target(s, tenant.id, cipher, f"Store {i}") for i in range(n_targets)]
        pipelines = [factories.pipeline(s, tenant.id, cipher, scm.id, targets[i % n_targets].id, f"CI {i}")
                     for i in range(n_pipelines)]
    return tenant.id, admin.id, scm.id, [t.id for t in targets], [p.id for p in pipelines]


def measure(engine, factory, label, create, n):
    counter = {"n": 0}

    def count(*_):
        counter["n"] += 1

    event.listen(engine, "before_cursor_execute", count)
    start = time.perf_counter()
    for i in range(n):
        with unit_of_work(factory) as s:
            create(s, f"{i // 1000}.{i % 1000}.0")
    elapsed = time.perf_counter() - start
    event.remove(engine, "before_cursor_execute", count)
    print(f"  {label:<28} {n / elapsed:8.1f} releases/s   {counter['n'] / n:6.1f} statements/release")


def run(url, args):
    engine = make_engine(url)
    if not url.startswith("sqlite"):
        _fresh(engine)
    upgrade(engine)
    factory, cipher = make_session_factory(engine), CredentialCipher([generate_key()])
    tenant_id, actor, scm, targets, pipelines = world(factory, cipher, args.targets, args.pipelines)
    print(f"{engine.dialect.name}: {args.releases} releases of {args.targets} targets / {args.pipelines} pipelines")
    measure(engine, factory, "releasebot (set-based)", lambda s, v: create_release(
        s, tenant_id=tenant_id, actor_account_id=actor, draft=ReleaseDraft(
            version=v, scm_integration_id=scm, target_ids=tuple(targets), pipeline_ids=tuple(pipelines))),
        args.releases)
    tenant2, actor2, scm2, targets2, pipelines2 = world(factory, cipher, args.targets, args.pipelines)
    measure(engine, factory, "seed loop (baseline)", lambda s, v: create_release_seed_style(
        s, tenant_id=tenant2, actor_id=actor2, version=v, scm_id=scm2, target_ids=targets2,
        pipeline_ids=pipelines2), args.releases)
    engine.dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=200)
    parser.add_argument("--targets", type=int, default=6)
    parser.add_argument("--pipelines", type=int, default=12)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.db", args)
    if os.environ.get("TEST_MYSQL_URL"):
        run(os.environ["TEST_MYSQL_URL"], args)


if __name__ == "__main__":
    main()
