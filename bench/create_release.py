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
from core.services.release_creation import ReleaseDraft, create_release  # noqa: E402
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


class Side:
    """One way of creating releases, timed and its statements counted over the rounds it takes part in."""

    def __init__(self, label, create):
        self.label, self.create, self.elapsed, self.statements, self.done = label, create, 0.0, 0, 0

    def round(self, engine, factory, versions):
        def count(conn, cursor, statement, *_):
            # as the tests' `statements` fixture counts: transaction control is not a statement of the work
            self.statements += not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN"))

        event.listen(engine, "before_cursor_execute", count)
        start = time.perf_counter()
        for version in versions:
            with unit_of_work(factory) as s:
                self.create(s, version)
        self.elapsed += time.perf_counter() - start
        event.remove(engine, "before_cursor_execute", count)
        self.done += len(versions)

    def rate(self) -> float:
        return self.done / self.elapsed

    def print(self):
        print(f"  {self.label:<28} {self.rate():8.1f} releases/s   {self.statements / self.done:6.1f} statements/release")


def run(url, args):
    engine = make_engine(url)
    if not url.startswith("sqlite"):
        _fresh(engine)
    upgrade(engine)
    factory, cipher = make_session_factory(engine), CredentialCipher([generate_key()])
    tenant_id, actor, scm, targets, pipelines = world(factory, cipher, args.targets, args.pipelines)
    tenant2, actor2, scm2, targets2, pipelines2 = world(factory, cipher, args.targets, args.pipelines)
    print(f"{engine.dialect.name}: {args.releases} releases of {args.targets} targets / {args.pipelines} pipelines "
          "each way, in alternating rounds of 20 (both sides under the same load)")
    ours = Side("releasebot (set-based)", lambda s, v: create_release(
        s, tenant_id=tenant_id, actor_account_id=actor, draft=ReleaseDraft(
            version=v, scm_integration_id=scm, target_ids=tuple(targets), pipeline_ids=tuple(pipelines))))
    seed = Side("seed loop (baseline)", lambda s, v: create_release_seed_style(
        s, tenant_id=tenant2, actor_id=actor2, version=v, scm_id=scm2, target_ids=targets2, pipeline_ids=pipelines2))
    versions = [f"{i // 1000}.{i % 1000}.0" for i in range(args.releases)]
    for start in range(0, args.releases, 20):
        for side in (ours, seed):
            side.round(engine, factory, versions[start:start + 20])
    ours.print()
    seed.print()
    print(f"  ratio                        {ours.rate() / seed.rate():8.2f}x")
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
