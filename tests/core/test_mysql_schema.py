"""On MariaDB, the migrated release tables are compared with the seed's own DDL, run by MariaDB.

The seed's CREATE TABLE statements are executed in a scratch database; information_schema of both
databases must then agree column by column, index by index and foreign key by foreign key. The
only differences allowed are the deliberate ones listed in DELIBERATE.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DataError, OperationalError

pytestmark = pytest.mark.mysql_only

SEED = Path(os.environ.get("RELEASEBOT_SEED_PATH", Path(__file__).resolve().parents[3] / "shared" / "seed"
                           / "release-creation-integration-dependencies.md"))
RELEASE_TABLES = ("releases", "release_targets", "release_pipelines")
# Text a person types is utf8mb4 instead of latin1 (see test_latin1_would_lose_emoji below).
DELIBERATE = {("releases", "description"), ("releases", "delayedReason")}

STUBS = """
CREATE TABLE tenants (id CHAR(36) CHARACTER SET latin1 COLLATE latin1_bin PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE accounts (id VARCHAR(255) PRIMARY KEY) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE tenant_scm_integrations (id VARCHAR(255) PRIMARY KEY) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE tenant_target_integrations (id VARCHAR(255) PRIMARY KEY) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE tenant_pipeline_integrations (id VARCHAR(255) PRIMARY KEY) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE tenant_communication_integrations (id VARCHAR(255) PRIMARY KEY) ENGINE=InnoDB DEFAULT CHARSET=latin1;
CREATE TABLE tenant_ticket_integrations (id VARCHAR(255) PRIMARY KEY) ENGINE=InnoDB DEFAULT CHARSET=latin1;
"""


def seed_statements() -> list[str]:
    assert SEED.exists(), f"the seed is not at {SEED}: set RELEASEBOT_SEED_PATH"
    blocks = re.findall(r"```sql\n(.*?)```", SEED.read_text(), re.S)
    return [b.strip() for b in blocks if b.lstrip().upper().startswith("CREATE TABLE")]


@pytest.fixture(scope="module")
def seed_schema(engines):
    """A scratch database holding exactly what the seed's DDL creates."""
    url = engines["mysql"].url
    name = f"{url.database}_seed"
    with engines["mysql"].begin() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        conn.exec_driver_sql(f"CREATE DATABASE `{name}`")
    scratch = create_engine(url.set(database=name))
    with scratch.begin() as conn:
        for statement in [s for s in STUBS.split(";") if s.strip()] + seed_statements():
            conn.exec_driver_sql(statement)
    yield name
    scratch.dispose()
    with engines["mysql"].begin() as conn:
        conn.exec_driver_sql(f"DROP DATABASE `{name}`")


def _rows(conn, sql, schema, table):
    return conn.execute(text(sql), {"s": schema, "t": table}).all()


def columns(conn, schema, table):
    return {r[0]: r[1:] for r in _rows(conn, """
        SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, CHARACTER_SET_NAME, COLLATION_NAME
        FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = :s AND TABLE_NAME = :t""", schema, table)}


def named_indexes(conn, schema, table):
    rows = _rows(conn, """
        SELECT INDEX_NAME, NON_UNIQUE, GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX)
        FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = :s AND TABLE_NAME = :t
        GROUP BY INDEX_NAME, NON_UNIQUE""", schema, table)
    return {r[0]: (r[1], r[2]) for r in rows}


def foreign_keys(conn, schema, table):
    return set(_rows(conn, """
        SELECT k.COLUMN_NAME, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.DELETE_RULE
        FROM information_schema.KEY_COLUMN_USAGE k
        JOIN information_schema.REFERENTIAL_CONSTRAINTS r
          ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
        WHERE k.TABLE_SCHEMA = :s AND k.TABLE_NAME = :t""", schema, table))


@pytest.mark.parametrize("table", RELEASE_TABLES)
def test_columns_match_the_seed(mysql_engine, seed_schema, table):
    with mysql_engine.connect() as conn:
        ours, seed = columns(conn, mysql_engine.url.database, table), columns(conn, seed_schema, table)
    assert set(seed) <= set(ours), f"missing columns: {set(seed) - set(ours)}"
    for name, spec in seed.items():
        if (table, name) in DELIBERATE:
            assert ours[name][:4] == spec[:4] and ours[name][4] == "utf8mb4", name
        else:
            assert ours[name] == spec, f"{table}.{name}: ours {ours[name]} != seed {spec}"


@pytest.mark.parametrize("table", RELEASE_TABLES)
def test_unique_keys_and_indexes_match_the_seed_by_name(mysql_engine, seed_schema, table):
    with mysql_engine.connect() as conn:
        ours, seed = named_indexes(conn, mysql_engine.url.database, table), named_indexes(conn, seed_schema, table)
    # The seed names its keys; MariaDB names the indexes it adds for unindexed foreign keys after
    # the constraint, and our constraints are named by convention, so only those may differ.
    for name, spec in seed.items():
        if name in ("releasePilotId", "createdByAccountId"):
            assert ours[f"fk_{table}_{name}"] == spec
        else:
            assert ours[name] == spec, f"{table}.{name}"


@pytest.mark.parametrize("table", RELEASE_TABLES)
def test_foreign_keys_and_their_delete_actions_match_the_seed(mysql_engine, seed_schema, table):
    with mysql_engine.connect() as conn:
        ours, seed = foreign_keys(conn, mysql_engine.url.database, table), foreign_keys(conn, seed_schema, table)
    assert ours == seed
    assert seed, "the seed declares foreign keys on every release table"


def test_tables_use_innodb_and_the_seeds_charset(mysql_engine):
    with mysql_engine.connect() as conn:
        rows = dict(conn.execute(text("""SELECT TABLE_NAME, TABLE_COLLATION FROM information_schema.TABLES
            WHERE TABLE_SCHEMA = DATABASE() AND ENGINE = 'InnoDB'""")).all())
    assert all(rows[t] == "latin1_swedish_ci" for t in RELEASE_TABLES)


def test_latin1_would_lose_emoji_where_utf8mb4_keeps_them(mysql_engine, seed_schema):
    # The reason for the deliberate difference: the seed's own table refuses this description.
    insert = text("""INSERT INTO releases (id, tenantId, releaseKey, version, releaseType, scmIntegrationId,
        baseBranch, branchRelease, createdByAccountId, description)
        VALUES ('r', 't', 'k', '1', 'PLANNED', 's', 'main', 'release/1', 'a', :d)""")
    scratch = create_engine(mysql_engine.url.set(database=seed_schema), connect_args={"charset": "utf8mb4"})
    with scratch.connect() as conn:
        conn.exec_driver_sql("SET SESSION sql_mode = 'STRICT_ALL_TABLES'")
        conn.exec_driver_sql("SET SESSION foreign_key_checks = 0")
        conn.execute(insert, {"d": "plain ascii"})  # the statement itself is fine...
        conn.exec_driver_sql("DELETE FROM releases")
        with pytest.raises((DataError, OperationalError), match="Incorrect string value"):
            conn.execute(insert, {"d": "🚀 新機能"})  # ...but latin1 cannot hold the text
        conn.rollback()
    scratch.dispose()
