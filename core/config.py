"""Configuration read from the environment (and a .env file in the working directory)."""
from __future__ import annotations

import os
from dataclasses import dataclass

from dotenv import load_dotenv

DEFAULT_DATABASE_URL = "sqlite:///releasebot.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Everything the bot reads from its environment."""

    database_url: str = DEFAULT_DATABASE_URL
    secret_keys: tuple[str, ...] = ()
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    allow_private_networks: bool = False
    poll_seconds: float = 5.0          # how often the follower looks for work
    claim_seconds: float = 60.0        # how long a claim on a build or notification lasts
    request_grace_seconds: float = 10.0  # before a follower takes over a requested build nobody dispatched

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        """Read settings; a .env file is loaded first when reading the real environment."""
        if environ is None:
            load_dotenv(os.path.join(os.getcwd(), ".env"), override=False)
            environ = dict(os.environ)
        keys = tuple(k.strip() for k in environ.get("RELEASEBOT_SECRET_KEYS", "").split(",") if k.strip())
        return cls(
            database_url=environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            secret_keys=keys,
            slack_bot_token=environ.get("SLACK_BOT_TOKEN") or None,
            slack_signing_secret=environ.get("SLACK_SIGNING_SECRET") or None,
            slack_app_token=environ.get("SLACK_APP_TOKEN") or None,
            slack_api_url=environ.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL,
            allow_private_networks=_flag(environ.get("RELEASEBOT_ALLOW_PRIVATE_NETWORKS")),
            poll_seconds=float(environ.get("RELEASEBOT_POLL_SECONDS") or 5),
            claim_seconds=float(environ.get("RELEASEBOT_CLAIM_SECONDS") or 60),
            request_grace_seconds=float(environ.get("RELEASEBOT_REQUEST_GRACE_SECONDS") or 10),
        )
