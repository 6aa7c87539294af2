"""Verification: ask each provider whether the stored credentials work, and record the answer."""
from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.crypto import MISSING_KEYS, CredentialCipher
from core.enums import IntegrationKind
from core.errors import ConfigurationError, IntegrationError
from core.integrations.base import IntegrationConfig, ProviderContext
from core.integrations.registry import build_client
from core.models import INTEGRATION_MODELS, ScmIntegration, TargetIntegration
from core.services import installations
from core.services.integrations import (
    DETAIL_COLUMNS,
    TYPE_COLUMN,
    IntegrationView,
    get_row,
    load_secrets,
    record_verification,
)

DEFAULT_CONCURRENCY = 8
log = logging.getLogger(__name__)


def config_of(session: Session, kind: IntegrationKind, row, cipher: CredentialCipher) -> IntegrationConfig:
    """What a provider client gets from a row: its non-secret data and decrypted secrets.

    A pipeline also gets its SCM's repository (`owner/name`) and default branch as `repository` and
    `ref` settings: GitHub Actions runs in that repository."""
    settings = dict(row.settings or {})
    if kind == IntegrationKind.PIPELINE:
        scm = session.get(ScmIntegration, row.scmIntegrationId)
        if scm is not None and scm.tenantId == row.tenantId:
            settings.update(repository=f"{scm.organization}/{scm.repository}", ref=scm.defaultBranch)
    return IntegrationConfig(
        id=row.id, provider=str(getattr(row, TYPE_COLUMN[kind])), display_name=row.displayName,
        base_url=row.baseUrl, fields={c: getattr(row, c) for c in DETAIL_COLUMNS if hasattr(row, c)},
        settings=settings, secrets=load_secrets(row, cipher),
    )


def client_for(session: Session, *, tenant_id: str, integration_id: str, cipher: CredentialCipher,
               ctx: ProviderContext, kind: IntegrationKind | None = None):
    """The provider client of one of the tenant's integrations."""
    kind, row = get_row(session, tenant_id=tenant_id, integration_id=integration_id, kind=kind)
    return build_client(kind, config_of(session, kind, row, cipher), ctx)


def _pipeline_problem(session: Session, tenant_id: str, row) -> str | None:
    # A pipeline is VALID only if the repository and the target it names are this tenant's.
    for ref, model, label in (
        (row.scmIntegrationId, ScmIntegration, "source control"),
        (row.targetIntegrationId, TargetIntegration, "store target"),
    ):
        if session.scalar(select(model.id).where(model.id == ref, model.tenantId == tenant_id)) is None:
            return f"its {label} integration is not this workspace's"
    return None


def _check(verify: Callable[[], None]) -> str | None:
    """None when `verify` passes, else the reason a person can act on."""
    try:
        verify()
        return None
    except (IntegrationError, ConfigurationError) as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 — one stored value a client cannot use (port 99999) is that row's reason
        log.info("verification could not use an integration's stored settings (%s)", type(exc).__name__,
                 exc_info=log.isEnabledFor(logging.DEBUG))  # the trace only when asked for
        return (f"its stored base URL or settings cannot be used ({type(exc).__name__}): check the URL "
                "(an http(s) address, a port from 1 to 65535) and its fields, then verify again")


def require_readable_credentials(rows, cipher: CredentialCipher) -> None:
    """Raise ConfigurationError, before anything is written, when the configured keys cannot decrypt
    the credentials of `rows`: that is the operator's configuration, not the integrations' fault."""
    locked = [row for row in rows if row.encryptedCredentials]
    unreadable = []
    for row in locked:
        try:
            load_secrets(row, cipher)
        except ConfigurationError as exc:
            if str(exc) == MISSING_KEYS:
                raise ConfigurationError(
                    f"RELEASEBOT_SECRET_KEYS is not set, so the stored credentials of {len(locked)} integration(s) "
                    "cannot be read: set it to the key(s) that encrypted them (nothing was verified or changed)") from None
            unreadable.append(f"“{row.displayName}”")
    if unreadable:
        raise ConfigurationError(
            f"RELEASEBOT_SECRET_KEYS cannot decrypt the stored credentials of {len(unreadable)} of {len(locked)} "
            f"integration(s) ({', '.join(unreadable[:5])}): add the key that encrypted them to the list "
            "(nothing was verified or changed)")


def verify_integration(session: Session, *, tenant_id: str, integration_id: str, cipher: CredentialCipher,
                       ctx: ProviderContext) -> IntegrationView:
    """Verify one integration now and store VALID or INVALID with the reason."""
    kind, row = get_row(session, tenant_id=tenant_id, integration_id=integration_id)
    require_readable_credentials([row], cipher)
    ctx = installations.slack_context(session, tenant_id=tenant_id, cipher=cipher, ctx=ctx)
    error = _pipeline_problem(session, tenant_id, row) if kind == IntegrationKind.PIPELINE else None
    if error is None:
        error = _check(lambda: build_client(kind, config_of(session, kind, row, cipher), ctx).verify())
    return record_verification(session, tenant_id=tenant_id, integration_id=integration_id, error=error)


def verify_all(session: Session, *, tenant_id: str, cipher: CredentialCipher, ctx: ProviderContext,
               concurrency: int = DEFAULT_CONCURRENCY,
               progress: Callable[[IntegrationView], None] | None = None) -> list[IntegrationView]:
    """Verify every integration of the tenant, `concurrency` remote checks at a time.

    Configuration errors (no key, a key that decrypts nothing) stop it before anything is written;
    a row a client cannot use is that row's INVALID reason. Remote calls run in threads; the
    database is touched only from the caller's thread."""
    rows = [(kind, row) for kind in IntegrationKind for row in session.scalars(
        select(INTEGRATION_MODELS[kind.value]).where(INTEGRATION_MODELS[kind.value].tenantId == tenant_id)
        .order_by(INTEGRATION_MODELS[kind.value].displayName))]
    require_readable_credentials([row for _, row in rows], cipher)
    ctx = installations.slack_context(session, tenant_id=tenant_id, cipher=cipher, ctx=ctx)
    jobs: list[tuple[object, Callable[[], None] | str]] = []
    for kind, row in rows:
        problem = _pipeline_problem(session, tenant_id, row) if kind == IntegrationKind.PIPELINE else None
        jobs.append((row, problem or _deferred_verify(session, kind, row, cipher, ctx)))
    results: list[IntegrationView] = []
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = [(row, pool.submit(_check, job) if callable(job) else None, job) for row, job in jobs]
        for row, future, job in futures:
            error = future.result() if future is not None else job
            view = record_verification(session, tenant_id=tenant_id, integration_id=row.id, error=error)
            results.append(view)
            if progress:
                progress(view)
    return results


def _deferred_verify(session, kind, row, cipher, ctx) -> Callable[[], None] | str:
    config = config_of(session, kind, row, cipher)  # readable: require_readable_credentials ran first
    return lambda: build_client(kind, config, ctx).verify()
