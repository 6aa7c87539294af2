"""The migrations and the models describe the same schema (what `alembic check` verifies)."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from core.models import Base


def test_the_migrated_schema_has_nothing_the_models_lack_or_add(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
