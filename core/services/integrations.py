"""A tenant's integrations: add, list, enable/disable, remove, record verification, rotate keys."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.crypto import CredentialCipher
from core.enums import ENDED_RELEASE_STATUSES, IntegrationKind, VerificationStatus
from core.errors import InUseError, NotFoundError, Problem, ValidationError
from core.integrations.network import Resolver, is_public, system_resolver
from core.integrations.specs import ProviderSpec, providers_of, spec_for
from core.models import (
    INTEGRATION_MODELS,
    PipelineIntegration,
    Release,
    ReleasePipeline,
    ReleaseTarget,
    ScmIntegration,
    TargetIntegration,
)
from core.services.home_views import owe_homes

TYPE_COLUMN = {
    IntegrationKind.SCM: "scmType",
    IntegrationKind.TARGET: "targetType",
    IntegrationKind.PIPELINE: "pipelineType",
    IntegrationKind.COMMUNICATION: "communicationType",
    IntegrationKind.TICKET: "ticketType",
}
KIND_LABEL = {
    IntegrationKind.SCM: "source control",
    IntegrationKind.TARGET: "store target",
    IntegrationKind.PIPELINE: "pipeline",
    IntegrationKind.COMMUNICATION: "communication",
    IntegrationKind.TICKET: "ticket tracker",
}
DETAIL_COLUMNS = (
    "organization", "repository", "defaultBranch", "appIdentifier", "scmIntegrationId",
    "targetIntegrationId", "jobPath", "channelId", "channelName", "projectKey",
)


def utcnow() -> datetime:
    """Now, as the naive UTC the DATETIME columns hold."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


@dataclass(frozen=True)
class IntegrationView:
    """An integration as shown to people: never its secrets."""

    id: str
    kind: IntegrationKind
    provider: str
    displayName: str
    baseUrl: str | None
    isActive: bool
    verificationStatus: VerificationStatus
    lastVerifiedAt: datetime | None
    verificationError: str | None
    details: dict[str, Any]
    removedAt: datetime | None = None  # hidden: kept only for the ended releases that name it

    @property
    def usable(self) -> bool:
        """Active and verified: the only state in which releases may use it."""
        return self.isActive and self.verificationStatus == VerificationStatus.VALID


def view_of(kind: IntegrationKind, row) -> IntegrationView:
    """The view of a row of any integration table."""
    details = {c: getattr(row, c) for c in DETAIL_COLUMNS if hasattr(row, c)}
    details.update(row.settings or {})
    return IntegrationView(
        id=row.id, kind=kind, provider=str(getattr(row, TYPE_COLUMN[kind])), displayName=row.displayName,
        baseUrl=shown_url(row.baseUrl), isActive=bool(row.isActive), verificationStatus=row.verificationStatus,
        lastVerifiedAt=row.lastVerifiedAt, verificationError=row.verificationError, details=details,
        removedAt=row.removedAt,
    )


def shown_url(url: str | None) -> str | None:
    """A stored URL as it may be shown: a password in it (stored before they were refused) is masked."""
    if not url:
        return url
    try:
        parsed = urlparse(url)
        if parsed.password is None:
            return url
    except ValueError:  # unparseable ("http://[::1"), stored before URLs were checked: mask any userinfo
        return url if "@" not in url else "***@" + url.rpartition("@")[2]
    return parsed._replace(netloc=f"{parsed.username}:***@{parsed.netloc.rpartition('@')[2]}").geturl()


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


def _validate(session: Session, *, tenant_id: str, kind: IntegrationKind, spec: ProviderSpec, display_name: str,
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


def add_integration(
    session: Session,
    *,
    tenant_id: str,
    kind: IntegrationKind,
    provider: str,
    display_name: str,
    cipher: CredentialCipher,
    base_url: str | None = None,
    fields: dict[str, str] | None = None,
    settings: dict[str, str] | None = None,
    secrets: dict[str, str] | None = None,
    resolver: Resolver = system_resolver,
) -> IntegrationView:
    """Store a new integration, PENDING until verified, its secrets encrypted.

    `resolver` tells whether a plain-http host is public (then https is required)."""
    fields, settings, secrets = dict(fields or {}), dict(settings or {}), dict(secrets or {})
    spec = require_spec(kind, provider)
    base_url = base_url or spec.default_base_url
    _validate(session, tenant_id=tenant_id, kind=kind, spec=spec, display_name=display_name, base_url=base_url,
              fields=fields, settings=settings, secrets=secrets, resolver=resolver)
    model = INTEGRATION_MODELS[kind.value]
    row = model(
        tenantId=tenant_id, displayName=display_name.strip(), baseUrl=base_url.rstrip("/") if base_url else None,
        settings={**spec.defaults, **settings} or None,
        encryptedCredentials=cipher.encrypt(secrets) if secrets else None,
        verificationStatus=VerificationStatus.PENDING, isActive=True,
        **{TYPE_COLUMN[kind]: spec.provider}, **fields,
    )
    session.add(row)
    session.flush()
    owe_homes(session, tenant_id=tenant_id)  # admins' Homes show every integration's health
    return view_of(kind, row)


@dataclass(frozen=True)
class Change:
    """What an edit changed, by name (never a secret's value)."""

    view: IntegrationView
    changed: tuple[str, ...]


def update_integration(
    session: Session, *, tenant_id: str, integration_id: str, cipher: CredentialCipher, display_name: str,
    base_url: str | None = None, fields: dict[str, str] | None = None, settings: dict[str, str] | None = None,
    secrets: dict[str, str] | None = None, resolver: Resolver = system_resolver,
) -> Change:
    """Replace an integration's name, base URL, fields and settings; a secret changes only when a new value is
    given (the others stay as stored). Anything changed makes it PENDING again, to be verified."""
    kind, row = get_row(session, tenant_id=tenant_id, integration_id=integration_id, lock=True)
    spec = require_spec(kind, str(getattr(row, TYPE_COLUMN[kind])))
    fields, settings = dict(fields or {}), dict(settings or {})
    typed_secrets = {k: v for k, v in (secrets or {}).items() if v}
    merged = {**load_secrets(row, cipher), **typed_secrets}
    base_url = base_url or spec.default_base_url
    _validate(session, tenant_id=tenant_id, kind=kind, spec=spec, display_name=display_name, base_url=base_url,
              fields=fields, settings=settings, secrets=merged, resolver=resolver)
    new_settings = {**spec.defaults, **settings} or None
    before = {"displayName": row.displayName, "baseUrl": row.baseUrl, "settings": row.settings,
              **{c: getattr(row, c) for c in fields}}
    row.displayName, row.baseUrl, row.settings = display_name.strip(), base_url.rstrip("/") if base_url else None, new_settings
    for name, value in fields.items():
        setattr(row, name, value)
    after = {"displayName": row.displayName, "baseUrl": row.baseUrl, "settings": row.settings, **fields}
    changed = [k for k in after if k != "settings" and before.get(k) != after[k]]
    changed += sorted(k for k in set(before["settings"] or {}) | set(new_settings or {})
                      if (before["settings"] or {}).get(k) != (new_settings or {}).get(k))
    if typed_secrets:
        row.encryptedCredentials = cipher.encrypt(merged)
        changed += [f"secret {k}" for k in sorted(typed_secrets)]
    if changed:
        row.verificationStatus, row.verificationError = VerificationStatus.PENDING, None
    session.flush()
    if changed:
        owe_homes(session, tenant_id=tenant_id)
    return Change(view_of(kind, row), tuple(changed))


def list_integrations(
    session: Session, *, tenant_id: str, kind: IntegrationKind, usable_only: bool = False
) -> list[IntegrationView]:
    """The tenant's integrations of one kind, by name; `usable_only` keeps active, VALID ones."""
    model = INTEGRATION_MODELS[kind.value]
    query = select(model).where(model.tenantId == tenant_id, model.removedAt.is_(None))
    if usable_only:
        query = query.where(model.isActive.is_(True), model.verificationStatus == VerificationStatus.VALID)
    return [view_of(kind, row) for row in session.scalars(query.order_by(model.displayName, model.id))]


def get_row(session: Session, *, tenant_id: str, integration_id: str, kind: IntegrationKind | None = None,
            lock: bool = False):
    """(kind, row) of the tenant's integration; another tenant's id is as unknown as a made-up one. `lock`: the row
    read as committed, and locked (on MySQL a plain read gives the transaction's first snapshot: a runner's
    verification recorded since would be overwritten, or kept, by what is computed from it)."""
    kinds = [kind] if kind else list(IntegrationKind)
    for k in kinds:
        model = INTEGRATION_MODELS[k.value]
        row = session.scalar(select(model).where(model.id == integration_id, model.tenantId == tenant_id,
                                                 model.removedAt.is_(None)))
        if row is not None:
            if lock:
                session.refresh(row, with_for_update=True)
            return k, row
    raise NotFoundError(f"no integration {integration_id!r} in this workspace: see `releasebot integration list`")


def get_integration(session: Session, *, tenant_id: str, integration_id: str) -> IntegrationView:
    """The view of one of the tenant's integrations."""
    return view_of(*get_row(session, tenant_id=tenant_id, integration_id=integration_id))


def load_secrets(row, cipher: CredentialCipher) -> dict[str, str]:
    """The decrypted secrets of an integration row."""
    return cipher.decrypt(row.encryptedCredentials) if row.encryptedCredentials else {}


def set_active(session: Session, *, tenant_id: str, integration_id: str, active: bool) -> IntegrationView:
    """Enable or disable an integration; disabled ones are offered to nobody."""
    kind, row = get_row(session, tenant_id=tenant_id, integration_id=integration_id)
    row.isActive = active
    session.flush()
    owe_homes(session, tenant_id=tenant_id)
    return view_of(kind, row)


def record_verification(
    session: Session, *, tenant_id: str, integration_id: str, error: str | None, at: datetime | None = None
) -> IntegrationView:
    """Store a verification's outcome: VALID when `error` is None, else INVALID with the reason."""
    kind, row = get_row(session, tenant_id=tenant_id, integration_id=integration_id)
    row.verificationStatus = VerificationStatus.VALID if error is None else VerificationStatus.INVALID
    row.verificationError = error
    row.lastVerifiedAt = at or utcnow()
    session.flush()
    owe_homes(session, tenant_id=tenant_id)
    return view_of(kind, row)


def _release_keys(session: Session, kind: IntegrationKind, integration_id: str) -> tuple[list[str], list[str]]:
    """(live, ended) keys of the releases whose repository, target or pipeline this is."""
    query = None
    if kind == IntegrationKind.SCM:
        query = select(Release.releaseKey, Release.status).where(Release.scmIntegrationId == integration_id)
    elif kind == IntegrationKind.TARGET:
        query = select(Release.releaseKey, Release.status).join(ReleaseTarget, ReleaseTarget.releaseId == Release.id).where(
            ReleaseTarget.targetIntegrationId == integration_id)
    elif kind == IntegrationKind.PIPELINE:
        query = select(Release.releaseKey, Release.status).join(
            ReleasePipeline, ReleasePipeline.releaseId == Release.id).where(ReleasePipeline.pipelineIntegrationId == integration_id)
    rows = set(session.execute(query).all()) if query is not None else set()
    live = sorted({key for key, status in rows if status not in ENDED_RELEASE_STATUSES})
    ended = sorted({key for key, status in rows if status in ENDED_RELEASE_STATUSES})
    return live, ended


def _pipelines_using(session: Session, kind: IntegrationKind, integration_id: str, *, removed: bool) -> list[str]:
    if kind not in (IntegrationKind.SCM, IntegrationKind.TARGET):
        return []
    column = PipelineIntegration.scmIntegrationId if kind == IntegrationKind.SCM else PipelineIntegration.targetIntegrationId
    hidden = PipelineIntegration.removedAt.is_not(None) if removed else PipelineIntegration.removedAt.is_(None)
    return sorted(session.scalars(select(PipelineIntegration.displayName).where(column == integration_id, hidden)))


def kept_for(session: Session, *, tenant_id: str, integration_id: str) -> list[str]:
    """The cancelled and archived releases that keep an integration hidden rather than deleted."""
    kind, _ = get_row(session, tenant_id=tenant_id, integration_id=integration_id)
    return _release_keys(session, kind, integration_id)[1]


def remove_integration(session: Session, *, tenant_id: str, integration_id: str) -> IntegrationView:
    """Remove an integration. Refused while live releases or pipelines use a repository, target or pipeline.
    One only cancelled or archived releases (or removed pipelines) name is hidden instead of deleted: those
    releases keep their history, and it is offered nowhere again. A communication or ticket integration is
    deleted and cleared from the releases that named it."""
    kind, row = get_row(session, tenant_id=tenant_id, integration_id=integration_id)
    live, ended = _release_keys(session, kind, integration_id)
    blockers = [f"releases {', '.join(live)}"] if live else []
    pipelines = _pipelines_using(session, kind, integration_id, removed=False)
    if pipelines:
        blockers.append(f"pipelines {', '.join(pipelines)}")
    if blockers:
        raise InUseError(
            f"“{row.displayName}” is used by {' and '.join(blockers)}: remove those first (a release: cancel or "
            "archive it), or disable it instead"
        )
    if ended or _pipelines_using(session, kind, integration_id, removed=True):
        row.removedAt, row.isActive = utcnow(), False  # the seed's RESTRICT keys keep the row; nothing offers it
        session.flush()
        owe_homes(session, tenant_id=tenant_id)
        return view_of(kind, row)
    view = view_of(kind, row)
    session.delete(row)
    session.flush()
    owe_homes(session, tenant_id=tenant_id)
    return view


def reencrypt_all(session: Session, *, cipher: CredentialCipher) -> int:
    """Re-encrypt every stored credential with the newest key; returns how many were rewritten."""
    count = 0
    for model in INTEGRATION_MODELS.values():
        for row in session.scalars(select(model).where(model.encryptedCredentials.is_not(None))):
            row.encryptedCredentials = cipher.rotate(row.encryptedCredentials)
            count += 1
    session.flush()
    return count
