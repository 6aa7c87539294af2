"""Configuration read from the environment (and a .env file in the working directory), validated at once.

`Settings(poll_seconds=0.2, ...)` takes exactly the values it is given (tests and benches stay hermetic);
`Settings.from_env()` reads the environment and `.env`, and reports every problem in one `SettingsError`.
"""
from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, DotEnvSettingsSource, EnvSettingsSource, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from core.crypto import CredentialCipher
from core.errors import ConfigurationError

DEFAULT_DATABASE_URL = "sqlite:///releasebot.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
SECRET_FIELDS = frozenset({"secret_keys", "slack_bot_token", "slack_signing_secret", "slack_app_token", "database_url",
                           "slack_client_secret"})


def _env(field_name: str, env_name: str, default: Any, **constraints) -> Any:
    """A field settable by its Python name (keyword arguments) or its environment variable."""
    return Field(default, validation_alias=AliasChoices(field_name, env_name), repr=field_name not in SECRET_FIELDS,
                 **constraints)


def _seconds(field_name: str, env_name: str, default: float) -> Any:
    return _env(field_name, env_name, default, gt=0, allow_inf_nan=False)


class SettingsError(ConfigurationError):
    """Settings that cannot be used; one line per problem, each naming its variable."""

    def __init__(self, problems: list[str]):
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


class Settings(BaseSettings):
    """Everything the bot reads from its environment."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_ignore_empty=True)

    database_url: str = _env("database_url", "DATABASE_URL", DEFAULT_DATABASE_URL)
    secret_keys: Annotated[tuple[str, ...], NoDecode] = _env("secret_keys", "RELEASEBOT_SECRET_KEYS", ())
    slack_bot_token: str | None = _env("slack_bot_token", "SLACK_BOT_TOKEN", None)
    slack_signing_secret: str | None = _env("slack_signing_secret", "SLACK_SIGNING_SECRET", None)
    slack_app_token: str | None = _env("slack_app_token", "SLACK_APP_TOKEN", None)
    slack_api_url: str = _env("slack_api_url", "SLACK_API_URL", DEFAULT_SLACK_API_URL)
    allow_private_networks: bool = _env("allow_private_networks", "RELEASEBOT_ALLOW_PRIVATE_NETWORKS", False)
    poll_seconds: float = _seconds("poll_seconds", "RELEASEBOT_POLL_SECONDS", 5.0)  # how often the follower looks for work
    claim_seconds: float = _seconds("claim_seconds", "RELEASEBOT_CLAIM_SECONDS", 60.0)  # how long a claim lasts
    shutdown_seconds: float = _seconds("shutdown_seconds", "RELEASEBOT_SHUTDOWN_SECONDS", 20.0)  # SIGTERM's grace
    log_level: str | None = _env("log_level", "RELEASEBOT_LOG_LEVEL", None)  # None: each command's own default
    log_format: Literal["text", "json"] = _env("log_format", "RELEASEBOT_LOG_FORMAT", "text")
    debug: bool = _env("debug", "RELEASEBOT_DEBUG", False)
    # SQLite only: FULL syncs every commit to disk before it returns; NORMAL (SQLite's advice for WAL) syncs
    # at checkpoints, so a power cut or OS crash may lose the last commits, never the database's integrity.
    sqlite_synchronous: Literal["FULL", "NORMAL"] = _env("sqlite_synchronous", "RELEASEBOT_SQLITE_SYNCHRONOUS", "FULL")
    # A release whose stage has not moved for this long reminds its pilot (core.runner.reminders).
    stale_hours: float = _env("stale_hours", "RELEASEBOT_STALE_HOURS", 48.0, gt=0, allow_inf_nan=False)
    # OAuth mode (install in any workspace): both set, instead of SLACK_BOT_TOKEN.
    slack_client_id: str | None = _env("slack_client_id", "SLACK_CLIENT_ID", None)
    slack_client_secret: str | None = _env("slack_client_secret", "SLACK_CLIENT_SECRET", None)
    slack_redirect_uri: str | None = _env("slack_redirect_uri", "SLACK_REDIRECT_URI", None)  # as in the manifest
    admins: Annotated[tuple[str, ...], NoDecode] = _env("admins", "RELEASEBOT_ADMINS", ())  # Slack user ids the operator makes admins
    # A person's App Home is published at most once per this many seconds; changes in between are coalesced.
    home_seconds: float = _seconds("home_seconds", "RELEASEBOT_HOME_SECONDS", 5.0)

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings):
        # Keyword arguments are the whole configuration; only `from_env` reads the environment.
        return (init_settings,)

    @field_validator("secret_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(k.strip() for k in value.split(",") if k.strip())
        return value

    @field_validator("secret_keys")
    @classmethod
    def _keys_are_fernet_keys(cls, keys: tuple[str, ...]) -> tuple[str, ...]:
        try:
            CredentialCipher(keys)  # the cipher says what a usable key is
        except ConfigurationError as exc:
            raise ValueError(str(exc)) from None
        return keys

    @field_validator("log_format", mode="before")
    @classmethod
    def _format(cls, value: Any) -> Any:
        return str(value).strip().lower()

    @field_validator("sqlite_synchronous", mode="before")
    @classmethod
    def _synchronous(cls, value: Any) -> Any:
        return str(value).strip().upper()
    @field_validator("admins", mode="before")
    @classmethod
    def _split_admins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(u.strip() for u in value.split(",") if u.strip())
        return value

    @field_validator("admins")
    @classmethod
    def _admins_are_user_ids(cls, users: tuple[str, ...]) -> tuple[str, ...]:
        if not all(re.fullmatch(r"[UW][A-Z0-9]{2,63}", u) for u in users):
            raise ValueError("user ids")
        return users

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> Any:
        if value is None:
            return None
        level = str(value).strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError("log level")
        return level

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("database url") from None
        try:  # mysql:// means mysqlclient, postgresql:// psycopg2: neither is installed
            url.get_dialect().import_dbapi()
        except (ImportError, NoSuchModuleError):
            raise ValueError("driver") from None
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("url")
        return value

    @field_validator("slack_redirect_uri")
    @classmethod
    def _redirect_uri(cls, value: str | None) -> str | None:
        if value is not None and not (value.startswith(("https://", "http://")) and value.rstrip("/").endswith(
                "/slack/oauth_redirect")):
            raise ValueError("redirect uri")
        return value

    @property
    def oauth_enabled(self) -> bool:
        """Whether the app is installed through Slack's OAuth flow (else one SLACK_BOT_TOKEN serves one workspace)."""
        return bool(self.slack_client_id or self.slack_client_secret)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read and validate settings from `environ`, or from the environment over a .env file in the
        working directory; raises SettingsError listing every problem."""
        if environ is None:
            dotenv = DotEnvSettingsSource(cls, env_file=Path(os.getcwd()) / ".env", env_ignore_empty=True)()
            values = {**dotenv, **EnvSettingsSource(cls, env_ignore_empty=True)()}
        else:
            values = {name: environ[env] for name, env in ENV_NAMES.items() if environ.get(env)}
        try:
            return cls(**values)
        except ValidationError as exc:
            raise SettingsError([_problem(e) for e in exc.errors()]) from None

    def log_level_or(self, default: int) -> int:
        """The configured log level, or `default` when none is set."""
        return logging.getLevelName(self.log_level) if self.log_level else default


ENV_NAMES = {name: f.validation_alias.choices[1] for name, f in Settings.model_fields.items()}

_HOW = {
    "database_url": "is not a database URL (e.g. sqlite:///releasebot.db or mysql+pymysql://user:password@host:3306/db)",
    "slack_api_url": "is not an http(s) URL (e.g. https://slack.com/api/)",
    "log_level": f"is not a log level: use one of {', '.join(LOG_LEVELS)} (any case)",
    "log_format": "is not a log format: use text or json",
    "sqlite_synchronous": "is not a SQLite synchronous mode: use FULL (the default) or NORMAL",
    "allow_private_networks": "is not a boolean: use true or false",
    "debug": "is not a boolean: use 1 or 0",
    "slack_redirect_uri": "is not the bot's OAuth redirect URL (e.g. https://releasebot.example.com/slack/oauth_redirect)",
    "admins": "is not a comma-separated list of Slack user ids (e.g. U0123ABCD,U0456EFGH)",
}


def _problem(error: dict) -> str:
    """One line naming the variable, what is wrong and how to fix it; never a secret's value."""
    name = str(error["loc"][0]) if error["loc"] else ""
    name = next((n for n, env in ENV_NAMES.items() if name in (n, env)), name)
    env = ENV_NAMES.get(name, name)
    if name == "secret_keys":  # the cipher's own message already says what to do
        return str(error.get("ctx", {}).get("error") or error["msg"]).replace("Value error, ", "")
    shown = "the value" if name in SECRET_FIELDS else json.dumps(str(error.get("input")), ensure_ascii=False)
    if name == "database_url" and str(error["msg"]).endswith("driver"):
        return (f"{env}: its database driver is not installed here: use sqlite:///releasebot.db or "
                "mysql+pymysql://user:password@host:3306/db")
    if name.endswith("_seconds"):
        wrong = "must be more than 0 seconds" if error["type"] == "greater_than" else "is not a number of seconds"
        return f"{env}: {shown} {wrong} (e.g. 5 or 0.5)"
    if name == "stale_hours":
        wrong = "must be more than 0 hours" if error["type"] == "greater_than" else "is not a number of hours"
        return f"{env}: {shown} {wrong} (e.g. 48, or 0.5 for half an hour)"
    return f"{env}: {shown} {_HOW.get(name, error['msg'])}"
