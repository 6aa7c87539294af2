"""The composition root shared by the CLI, the Slack bot and the worker: settings → engine,
sessions, credential cipher and provider context, built once."""
from __future__ import annotations

from functools import cached_property

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings
from core.crypto import CredentialCipher
from core.db import (
    check_database,
    make_engine,
    make_reading_factory,
    make_session_factory,
    read_only,
    reading,
    retrying,
    unit_of_work,
)
from core.errors import ConfigurationError
from core.in_flight import InFlight
from core.integrations.base import ProviderContext
from core.migrate import head_revision, upgrade


class Runtime:
    """Everything a delivery layer needs to call core services."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.in_flight = InFlight()  # the Slack requests being answered: the runner lets them go first
        self._database_checked = False

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database_url, sqlite_synchronous=self.settings.sqlite_synchronous)

    @cached_property
    def session_factory(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    @cached_property
    def reading_factory(self) -> sessionmaker[Session]:
        return make_reading_factory(self.read_only_engine)  # one read-only view, shared with `lookup`

    @cached_property
    def read_only_engine(self) -> Engine:
        return read_only(self.engine)

    @cached_property
    def cipher(self) -> CredentialCipher:
        return CredentialCipher(self.settings.secret_keys)

    @cached_property
    def provider_context(self) -> ProviderContext:
        return ProviderContext(
            allow_private_networks=self.settings.allow_private_networks,
            slack_api_url=self.settings.slack_api_url,
            slack_bot_token=self.settings.slack_bot_token,
        )

    def unit_of_work(self):
        """A session committed on success, rolled back on error."""
        return unit_of_work(self.session_factory)

    def retrying(self, work):
        """Run idempotent `work(session)` in a unit of work, retried on races the database settles."""
        return retrying(self.session_factory, work)

    def reading(self):
        """A session for lookups only (never commits; no write lock on SQLite)."""
        return reading(self.reading_factory)

    def lookup(self) -> Connection:
        """A bare read-only connection (`with` it: rolled back and returned to the pool after) for a request's hot
        lookups: Core statements and rows as tuples, without a session's identity map, unit-of-work events and ORM
        result handling, which cost half the CPU of a one-row lookup. No write lock on SQLite."""
        return self.read_only_engine.connect()

    def check_database(self) -> None:
        """Fail fast, in one line, on a database that cannot be reached or is not a database (once)."""
        if not self._database_checked:
            check_database(self.settings.database_url)
            self._database_checked = True

    def migrate(self) -> tuple[str | None, str | None]:
        """Apply every pending migration; returns the schema's revisions (before, after)."""
        self.check_database()
        return upgrade(self.engine)

    def require_current_schema(self) -> None:
        """Refuse to work on a database whose schema is behind the code."""
        self.check_database()
        head = head_revision()
        with self.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        if current != head:
            raise ConfigurationError(
                f"the database schema is at {current or 'nothing'}, the code needs {head}: "
                "run `releasebot db upgrade`"
            )
