"""Test databases are built by the Alembic migrations, never create_all.

Every database test runs on SQLite and, when TEST_MYSQL_URL is set (CI sets it), on MariaDB too.
Each test runs inside a transaction that is rolled back, so tests do not see each other's rows.
"""
from __future__ import annotations

import os
from contextlib import contextmanager

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import event, inspect, text
from sqlalchemy.orm import Session

from core.crypto import CredentialCipher, generate_key
from core.db import make_engine, make_session_factory
from core.migrate import upgrade
from core.models import Base
from tests.factories import github_for
from tests.fakes.app_store import FakeAppStoreConnect
from tests.fakes.jenkins import RELEASE_JOB, FakeJenkins
from tests.integrations.test_target_app_store import BUNDLE, ISSUER, KEY_ID, p8

MYSQL_URL = os.environ.get("TEST_MYSQL_URL")
BACKENDS = ["sqlite"] + (["mysql"] if MYSQL_URL else [])


def pytest_collection_modifyitems(config, items):
    # MariaDB-only tests (information_schema, races between connections) are deselected, not
    # skipped, without TEST_MYSQL_URL: CI always sets it, so they always run there.
    if MYSQL_URL:
        return
    kept = [i for i in items if "mysql_only" not in i.keywords]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if "mysql_only" in i.keywords])
        items[:] = kept


def _fresh(engine) -> None:
    """Drop every table so the migrations run from scratch."""
    with engine.begin() as conn:
        if engine.dialect.name == "mysql":
            conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=0")
        for table in inspect(conn).get_table_names():
            conn.exec_driver_sql(f"DROP TABLE {engine.dialect.identifier_preparer.quote(table)}")
        if engine.dialect.name == "mysql":
            conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=1")


@pytest.fixture(autouse=True)
def _forget_compiled_statements():
    """After each test, empty the ORM's per-mapper statement caches. Their keys hold the dialect of the engine a
    test made, and a dialect that ran the migrations holds their schema objects (SQLAlchemy keeps type memos per
    dialect): kept, the last hundred tests' worth of them made the heap grow by ~4,500 objects per test, and the
    collector's full passes paused every thread for up to 5 s, long enough for the test server to hang up on a
    request as idle. Clearing them changes no statement, only when it is compiled."""
    yield
    for mapper in Base.registry.mappers:
        mapper._compiled_cache.clear()


@pytest.fixture(scope="session")
def engines(tmp_path_factory):
    made = {}
    sqlite = make_engine(f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}")
    upgrade(sqlite)
    made["sqlite"] = sqlite
    if MYSQL_URL:
        mysql = make_engine(MYSQL_URL)
        _fresh(mysql)
        upgrade(mysql)
        made["mysql"] = mysql
    yield made
    for engine in made.values():
        engine.dispose()


@pytest.fixture(params=BACKENDS)
def engine(request, engines):
    return engines[request.param]


@pytest.fixture
def mysql_engine(engines):
    return engines["mysql"]


@pytest.fixture
def session(engine):
    """A session whose work is rolled back at the end of the test (commits become savepoints)."""
    connection = engine.connect()
    outer = connection.begin()
    db = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield db
    finally:
        db.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def session_factory(engine):
    """Sessions that really commit (for tests of several connections); the test cleans up."""
    return make_session_factory(engine)


@pytest.fixture
def cipher():
    return CredentialCipher([generate_key()])


class StatementCounter:
    def __init__(self):
        self.statements: list[str] = []

    @contextmanager
    def counting(self, engine):
        def _count(conn, cursor, statement, parameters, context, executemany):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN")):
                self.statements.append(statement)

        self.statements.clear()
        event.listen(engine, "before_cursor_execute", _count)
        try:
            yield self
        finally:
            event.remove(engine, "before_cursor_execute", _count)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def statements():
    return StatementCounter()


def delete_tenant_rows(engine, tenant_ids) -> None:
    """Remove what committed tests wrote, children first."""
    with engine.begin() as conn:
        for tid in tenant_ids:
            params = {"t": tid}
            for table in ("notifications", "pipeline_builds", "request_keys"):
                conn.execute(text(f"DELETE FROM {table} WHERE tenantId=:t"), params)
            conn.execute(text("DELETE FROM release_cards WHERE releaseId IN (SELECT id FROM releases WHERE tenantId=:t)"), params)
            conn.execute(text("DELETE FROM release_pipelines WHERE releaseId IN (SELECT id FROM releases WHERE tenantId=:t)"), params)
            conn.execute(text("DELETE FROM release_targets WHERE releaseId IN (SELECT id FROM releases WHERE tenantId=:t)"), params)
            conn.execute(text("DELETE FROM releases WHERE tenantId=:t"), params)
            for table in ("tenant_pipeline_integrations", "tenant_scm_integrations", "tenant_target_integrations",
                          "tenant_communication_integrations", "tenant_ticket_integrations", "accounts"):
                conn.execute(text(f"DELETE FROM {table} WHERE tenantId=:t"), params)
            conn.execute(text("DELETE FROM tenants WHERE id=:t"), params)


def tenant_ids(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT id FROM tenants")).scalars())


@pytest.fixture
def github():
    """A fake GitHub with the World's repository acme/app (branch main), where release branches are cut."""
    fake = github_for()
    yield fake
    fake.stop()


@pytest.fixture
def jenkins():
    """A fake Jenkins with the release job (folder mobile, job ios-release) and its parameters."""
    fake = FakeJenkins().start()
    fake.add_job(RELEASE_JOB)
    yield fake
    fake.stop()


@pytest.fixture
def asc():
    """A fake App Store Connect with one API key (its .p8 text as `asc.p8`) and the app BUNDLE (`asc.app`)."""
    key = ec.generate_private_key(ec.SECP256R1())
    fake = FakeAppStoreConnect()
    fake.add_key(KEY_ID, key.public_key(), ISSUER)
    fake.app, fake.p8 = fake.add_app(BUNDLE), p8(key)
    with fake:
        yield fake
