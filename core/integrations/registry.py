"""Which module builds the client of each provider. Each module exposes `build(config, ctx)`."""
from __future__ import annotations

import importlib

from core.enums import IntegrationKind
from core.errors import ConfigurationError
from core.integrations.base import IntegrationConfig, ProviderContext

MODULES = {
    (IntegrationKind.SCM, "GITHUB"): "core.integrations.scm_github",
    (IntegrationKind.SCM, "GITLAB"): "core.integrations.scm_gitlab",
    (IntegrationKind.SCM, "BITBUCKET"): "core.integrations.scm_bitbucket",
    (IntegrationKind.TARGET, "APP_STORE"): "core.integrations.target_app_store",
    (IntegrationKind.TARGET, "PLAY_STORE"): "core.integrations.target_play_store",
    (IntegrationKind.PIPELINE, "JENKINS"): "core.integrations.pipeline_jenkins",
    (IntegrationKind.PIPELINE, "GITHUB_ACTIONS"): "core.integrations.pipeline_github_actions",
    (IntegrationKind.COMMUNICATION, "SLACK"): "core.integrations.comm_slack",
    (IntegrationKind.COMMUNICATION, "EMAIL"): "core.integrations.comm_email",
    (IntegrationKind.TICKET, "JIRA"): "core.integrations.ticket_jira",
    (IntegrationKind.TICKET, "LINEAR"): "core.integrations.ticket_linear",
}


def build_client(kind: IntegrationKind, config: IntegrationConfig, ctx: ProviderContext):
    """The client for one integration."""
    module_name = MODULES.get((kind, config.provider))
    if module_name is None:
        raise ConfigurationError(f"no client for {kind.value} provider {config.provider}")
    return importlib.import_module(module_name).build(config, ctx)


def store_module(provider: str):
    """The module of a store provider (APP_STORE, PLAY_STORE): its client and its `check_params`."""
    module_name = MODULES.get((IntegrationKind.TARGET, provider))
    if module_name is None:
        raise ConfigurationError(f"no store client for target provider {provider}")
    return importlib.import_module(module_name)


def supports_store(provider: str) -> bool:
    """Whether releasebot can submit to and roll out on this store provider (its module has the store protocol)."""
    try:
        return hasattr(store_module(provider), "check_params")
    except ConfigurationError:
        return False
