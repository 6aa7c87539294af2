"""What each provider needs to be stored: its fields, settings and secrets.

A Play Store target's optional settings steer releases (core.integrations.play_store_tracks.PlaySettings):
`track` (production), `rolloutSteps` (1, 5, 10, 20, 50, 100 %), `defaultRolloutPercent` (the first step),
`versionCodeOffset` (added to the build number), `markReleased` (everyone | rollout),
`releaseNotesLanguage` (en-US).

A pipeline's optional `webhookSecret` authenticates the CI's webhooks (Jenkins' Notification plugin
URL token, GitHub's X-Hub-Signature-256 key).

`fields` are columns of the kind's table; `settings` go to the JSON `settings` column;
`secrets` are encrypted. A tuple inside `secrets` lists alternatives (one of them must be given).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from core.enums import IntegrationKind as K


@dataclass(frozen=True)
class ProviderSpec:
    kind: K
    provider: str
    label: str
    fields: tuple[str, ...] = ()
    optional_fields: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()
    optional_settings: tuple[str, ...] = ()
    secrets: tuple[str | tuple[tuple[str, ...], ...], ...] = ()
    optional_secrets: tuple[str, ...] = ()
    default_base_url: str | None = None
    base_url_required: bool = False
    defaults: dict[str, str] = field(default_factory=dict)


SPECS: tuple[ProviderSpec, ...] = (
    ProviderSpec(K.SCM, "GITHUB", "GitHub", fields=("organization", "repository"),
                 optional_fields=("defaultBranch",), secrets=("token",),
                 default_base_url="https://api.github.com"),
    ProviderSpec(K.SCM, "GITLAB", "GitLab", fields=("organization", "repository"),
                 optional_fields=("defaultBranch",), secrets=("token",),
                 default_base_url="https://gitlab.com/api/v4"),
    ProviderSpec(K.SCM, "BITBUCKET", "Bitbucket Cloud", fields=("organization", "repository"),
                 optional_fields=("defaultBranch",), secrets=("token",),
                 default_base_url="https://api.bitbucket.org/2.0"),
    # phasedRelease (true/false, default false): release over Apple's 7-day ramp; releaseType (MANUAL, the
    # default: a person presses Release, or AFTER_APPROVAL); markReleased (everyone, the default: the target is
    # RELEASED when every user gets it; rollout: as soon as the phased release starts).
    ProviderSpec(K.TARGET, "APP_STORE", "App Store", fields=("appIdentifier",),
                 settings=("keyId", "issuerId"), optional_settings=("phasedRelease", "releaseType", "markReleased"),
                 secrets=("privateKey",), optional_secrets=("webhookSecret",),
                 default_base_url="https://api.appstoreconnect.apple.com"),
    ProviderSpec(K.TARGET, "PLAY_STORE", "Play Store", fields=("appIdentifier",),
                 optional_settings=("track", "rolloutSteps", "defaultRolloutPercent", "versionCodeOffset",
                                    "markReleased", "releaseNotesLanguage"),
                 secrets=("serviceAccountJson",),
                 default_base_url="https://androidpublisher.googleapis.com"),
    ProviderSpec(K.PIPELINE, "JENKINS", "Jenkins",
                 fields=("scmIntegrationId", "targetIntegrationId", "jobPath"),
                 secrets=("username", "apiToken"), optional_secrets=("webhookSecret",), base_url_required=True),
    ProviderSpec(K.PIPELINE, "GITHUB_ACTIONS", "GitHub Actions",
                 fields=("scmIntegrationId", "targetIntegrationId", "jobPath"),
                 secrets=("token",), optional_secrets=("webhookSecret",), default_base_url="https://api.github.com"),
    ProviderSpec(K.COMMUNICATION, "SLACK", "Slack", fields=("channelId",),
                 optional_fields=("channelName",)),
    ProviderSpec(K.COMMUNICATION, "EMAIL", "Email", settings=("host", "fromAddress", "recipients"),
                 optional_settings=("port", "caCertificate"), secrets=("username", "password"),
                 defaults={"port": "587"}),
    ProviderSpec(K.TICKET, "JIRA", "Jira", fields=("projectKey",),
                 secrets=((("email", "apiToken"), ("personalAccessToken",)),),
                 base_url_required=True),
    ProviderSpec(K.TICKET, "LINEAR", "Linear", fields=("projectKey",), secrets=("apiKey",),
                 default_base_url="https://api.linear.app"),
)


def spec_for(kind: K, provider: str) -> ProviderSpec | None:
    """The spec of `provider` within `kind`, or None when there is no such provider."""
    wanted = provider.upper().replace("-", "_")
    return next((s for s in SPECS if s.kind == kind and s.provider == wanted), None)


def providers_of(kind: K) -> list[str]:
    """The provider names a kind accepts."""
    return [s.provider for s in SPECS if s.kind == kind]


# What each field, setting and secret means, in a person's words: the Slack modals built from the specs show it.
HELP: dict[str, str] = {
    "displayName": "What people see in the release form's dropdowns",
    "baseUrl": "The API or server URL (GitHub Enterprise, self-managed GitLab, Jenkins, Jira); empty for the public service",
    "organization": "The owner of the repository: acme in acme/app",
    "repository": "The repository's name: app in acme/app",
    "defaultBranch": "The branch releases are cut from (main when empty)",
    "appIdentifier": "The app's bundle id or package name, e.g. com.acme.app",
    "keyId": "The App Store Connect API key's id",
    "issuerId": "The App Store Connect API key's issuer id",
    "privateKey": "The API key's .p8 file, pasted whole",
    "serviceAccountJson": "The Google service account's JSON key, pasted whole",
    "scmIntegrationId": "The repository this pipeline builds",
    "targetIntegrationId": "The store target this pipeline builds for",
    "jobPath": "Jenkins: the job's path (mobile/ios-release); GitHub Actions: the workflow file (release.yml)",
    "username": "The user name the bot signs in with",
    "apiToken": "An API token of that user",
    "token": "An access token (GitHub: Contents and Actions read and write)",
    "webhookSecret": "Optional: the secret the CI signs its webhooks with",
    "channelId": "The channel where release cards are posted",
    "channelName": "The channel's name, as people know it",
    "host": "The SMTP server's host name",
    "port": "The SMTP port (587 when empty)",
    "fromAddress": "The address the emails come from",
    "recipients": "Who receives them, comma-separated",
    "caCertificate": "Optional: a private CA's PEM certificate",
    "password": "The SMTP password",
    "email": "Jira Cloud: the account's email (with an API token)",
    "personalAccessToken": "Jira Data Center: a personal access token (instead of email and API token)",
    "projectKey": "Jira: the project key (MOB); Linear: the team key",
    "apiKey": "A Linear API key",
}


def help_for(name: str) -> str:
    """The help text of a field, setting or secret (its name when none is written)."""
    return HELP.get(name, name)
