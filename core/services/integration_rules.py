"""What an integration's values must be, against its provider's spec: the provider known, the fields,
settings and secrets it needs (and no misspelt ones), a base URL that is http(s), carries no password and
is https to a public host, and a pipeline's repository and target the tenant's own."""
from __future__ import annotations

import ipaddress
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.enums import IntegrationKind
from core.errors import Problem, ValidationError
from core.integrations.network import Resolver, is_public, system_resolver
from core.integrations.specs import ProviderSpec, providers_of, spec_for
from core.models import ScmIntegration, TargetIntegration
from core.services.integrations import KIND_LABEL


def check_base_url(url: str, spec: ProviderSpec, *, resolver: Resolver = system_resolver) -> list[Problem]:
    """What is wrong with a base URL typed for `spec`: not http(s), credentials in it, or plain http to a
    public host while the integration carries credentials. Never echoes a password typed into it."""
    parsed = urlparse(url)
    try:
        port = parsed.port
    except ValueError:
        return [Problem("baseUrl", "the port of the base URL is not a number from 1 to 65535")]
    if parsed.username is not None or parsed.password is not None:
        return [Problem("baseUrl", "the base URL carries a user name or password: remove it and pass it with "
                        f"{_secret_options(spec)}")]
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return [Problem("baseUrl", f"{url!r} is not an http(s) URL: give one like https://ci.example.com")]
    if parsed.scheme == "http" and spec.secrets and _is_public_host(parsed.hostname, port or 80, resolver):
        return [Problem("baseUrl", f"{spec.label} credentials would cross the internet unencrypted: use "
                        f"https://{parsed.netloc}{parsed.path} (plain http is accepted only for hosts on your own network)")]
    return []


def _secret_options(spec: ProviderSpec) -> str:
    """`--secret a=… --secret b=…` for the provider's secrets, alternatives in parentheses."""
    def flags(names) -> str:
        return " ".join(f"--secret {n}=…" for n in names)
    required = [n for n in spec.secrets if isinstance(n, str)]
    choices = [option for s in spec.secrets if isinstance(s, tuple) for option in s]
    parts = [flags(required)] if required else []
    if choices:
        parts += [flags(choices[0]), *(f"(or {flags(c)})" for c in choices[1:])]
    return " ".join(parts) or "--secret name=…"


def _is_public_host(host: str, port: int, resolver: Resolver) -> bool:
    if _is_ip(host):
        return is_public(host)
    try:
        found = resolver(host, port)
    except (OSError, UnicodeError):
        found = []
    # A name that does not resolve here may well resolve publicly: https required.
    return not found or any(is_public(ip) for ip in found)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _check_required(spec: ProviderSpec, fields: dict, settings: dict, secrets: dict, problems: list[Problem]) -> None:
    for name in spec.fields:
        if not fields.get(name):
            problems.append(Problem(name, f"{spec.label} needs {name}"))
    for name in spec.settings:
        if not settings.get(name):
            problems.append(Problem(name, f"{spec.label} needs the setting {name}"))
    for secret in spec.secrets:
        if isinstance(secret, tuple):
            if not any(all(secrets.get(n) for n in option) for option in secret):
                choices = " or ".join("+".join(option) for option in secret)
                problems.append(Problem("secrets", f"{spec.label} needs the secrets {choices}"))
        elif not secrets.get(secret):
            problems.append(Problem(secret, f"{spec.label} needs the secret {secret}"))


def _check_pipeline_refs(session: Session, tenant_id: str, fields: dict, problems: list[Problem]) -> None:
    # A pipeline builds one of this tenant's repositories for one of this tenant's store targets.
    for name, model, label in (
        ("scmIntegrationId", ScmIntegration, "source control"),
        ("targetIntegrationId", TargetIntegration, "store target"),
    ):
        ref = fields.get(name)
        if ref and session.scalar(select(model.id).where(model.id == ref, model.tenantId == tenant_id,
                                                         model.removedAt.is_(None))) is None:
            problems.append(Problem(name, f"no {label} integration {ref!r} in this workspace"))


def validate(session: Session, *, tenant_id: str, kind: IntegrationKind, spec: ProviderSpec, display_name: str,
             base_url: str | None, fields: dict, settings: dict, secrets: dict, resolver: Resolver) -> None:
    """Raise ValidationError naming every problem of an integration's values against its provider's spec."""
    problems: list[Problem] = []
    if not display_name.strip():
        problems.append(Problem("displayName", "give the integration a name people will recognise"))
    if spec.base_url_required and not base_url:
        problems.append(Problem("baseUrl", f"{spec.label} needs its server URL"))
    if base_url:
        problems.extend(check_base_url(base_url, spec, resolver=resolver))
    _check_required(spec, fields, settings, secrets, problems)
    # A misspelt name would otherwise be stored and never read: say so instead.
    for given, known, what in (
        (fields, set(spec.fields) | set(spec.optional_fields), "field"),
        (settings, set(spec.settings) | set(spec.optional_settings), "setting"),
        (secrets, secret_names(spec), "secret"),
    ):
        for name in sorted(set(given) - known):
            problems.append(Problem(name, f"{spec.label} has no {what} {name}: it takes {', '.join(sorted(known)) or 'none'}"))
    if kind == IntegrationKind.PIPELINE:
        _check_pipeline_refs(session, tenant_id, fields, problems)
    if problems:
        raise ValidationError(problems)


def secret_names(spec: ProviderSpec) -> set[str]:
    """Every secret the provider takes, alternatives and optional ones included."""
    return {n for s in spec.secrets for n in (sum(s, ()) if isinstance(s, tuple) else (s,))} | set(spec.optional_secrets)


def require_spec(kind: IntegrationKind, provider: str) -> ProviderSpec:
    """The provider's spec, or a ValidationError listing the kind's providers."""
    spec = spec_for(kind, provider)
    if spec is None:
        choices = ", ".join(p.lower() for p in providers_of(kind))
        raise ValidationError([Problem("provider", f"{provider!r} is not a {KIND_LABEL[kind]} provider: use one of {choices}")])
    return spec
