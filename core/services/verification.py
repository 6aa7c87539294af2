"""Verification: ask each provider whether the stored credentials work, and record the answer."""
from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.crypto import MISSING_KEYS, CredentialCipher
from core.enums import IntegrationKind, TaskState, VerificationStatus
from core.errors import ConfigurationError, IntegrationError, NotFoundError
from core.integrations.base import IntegrationConfig, ProviderContext
from core.integrations.registry import build_client
from core.models import INTEGRATION_MODELS, IntegrationVerification, ScmIntegration, TargetIntegration
from core.services import installations
from core.services.home_views import owe_homes
from core.services.integrations import (
    DETAIL_COLUMNS,
    TYPE_COLUMN,
    IntegrationView,
    get_row,
    load_secrets,
    view_of,
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
        select(INTEGRATION_MODELS[kind.value]).where(INTEGRATION_MODELS[kind.value].tenantId == tenant_id,
                                                 INTEGRATION_MODELS[kind.value].removedAt.is_(None))
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


# --- verifications owed (asked from Slack; the runner carries them out) ----------------------------------


@dataclass(frozen=True)
class VerificationOutcome:
    """An owed verification, carried out: the integration as it now stands, and whom to tell where."""

    tenant_id: str
    view: IntegrationView | None  # None: the integration was removed meanwhile
    problem: str | None  # None: VALID
    notify_slack_user: str | None
    view_id: str | None


def owe_verification(session: Session, *, tenant_id: str, integration_id: str, requested_by: str | None,
                     notify_slack_user: str | None = None, view_id: str | None = None) -> str:
    """Record that the integration is to be verified by the runner (not inside Slack's 3 seconds); one
    owed verification per integration at a time: asking again only changes whom to tell."""
    # The tenant's own, not removed; locked, then the owed row read locked, as the runner's finish_verification takes
    # them: one that finished meanwhile is seen DONE (a plain read on MySQL would give it PENDING and reuse it).
    get_row(session, tenant_id=tenant_id, integration_id=integration_id, lock=True)
    owed = session.scalar(select(IntegrationVerification).where(
        IntegrationVerification.tenantId == tenant_id, IntegrationVerification.integrationId == integration_id,
        IntegrationVerification.state == TaskState.PENDING).with_for_update())
    if owed is None:
        owed = IntegrationVerification(tenantId=tenant_id, integrationId=integration_id, state=TaskState.PENDING,
                                       requestedAt=utcnow())
        session.add(owed)
    owed.requestedByAccountId, owed.notifySlackUserId, owed.viewId = requested_by, notify_slack_user, view_id
    session.flush()
    return owed.id


def due_verifications(session: Session, limit: int = 50) -> list[str]:
    """Owed verifications no worker holds, oldest first."""
    now = utcnow()
    return list(session.scalars(select(IntegrationVerification.id).where(
        IntegrationVerification.state == TaskState.PENDING,
        or_(IntegrationVerification.claimedUntil.is_(None), IntegrationVerification.claimedUntil < now))
        .order_by(IntegrationVerification.requestedAt).limit(limit)))


def prepared_check(session: Session, *, tenant_id: str, integration_id: str, cipher: CredentialCipher,
                   ctx: ProviderContext) -> Callable[[], None] | str:
    """The provider call that verifies an integration, to run outside the transaction, or the reason it is
    invalid already (its pipeline names another workspace's repository)."""
    kind, row = get_row(session, tenant_id=tenant_id, integration_id=integration_id)
    require_readable_credentials([row], cipher)
    ctx = installations.slack_context(session, tenant_id=tenant_id, cipher=cipher, ctx=ctx)  # OAuth: its own token
    problem = _pipeline_problem(session, tenant_id, row) if kind == IntegrationKind.PIPELINE else None
    return problem or _deferred_verify(session, kind, row, cipher, ctx)


def run_check(check: Callable[[], None] | str) -> str | None:
    """Carry out a prepared check: None when the provider accepts the integration, else why not."""
    return check if isinstance(check, str) else _check(check)


# What verifying an integration writes on it: the rest is what a check reads.
_NOT_CHECKED = frozenset({"verificationStatus", "verificationError", "lastVerifiedAt", "updatedAt"})


def checked_settings(session: Session, *, tenant_id: str, integration_id: str, lock: bool = False) -> dict | None:
    """The integration as a check reads it (None: removed); `lock`: read as committed, and locked."""
    try:
        _, row = get_row(session, tenant_id=tenant_id, integration_id=integration_id, lock=lock)
    except NotFoundError:
        return None
    return {a.key: getattr(row, a.key) for a in row.__mapper__.column_attrs if a.key not in _NOT_CHECKED}


def finish_verification(session: Session, *, verification_id: str, error: str | None, record: bool = True,
                        checked: dict | None = None) -> VerificationOutcome | None:
    """Store the outcome on the integration (unless `record` is False: the bot could not check it) and
    mark the owed verification done. None: the integration changed since it was read as `checked` (an edit while
    the provider was asked); the verification is owed again, for its new settings."""
    owed = session.get(IntegrationVerification, verification_id)
    if checked is not None and checked_settings(session, tenant_id=owed.tenantId, integration_id=owed.integrationId,
                                                lock=True) not in (checked, None):
        owed.claimedUntil = None  # still PENDING: due again at once (whom to tell is the edit's)
        session.flush()
        return None
    owed.state, owed.outcome, owed.finishedAt, owed.claimedUntil = TaskState.DONE, error, utcnow(), None
    view = None
    try:
        if record:
            view = record_verification(session, tenant_id=owed.tenantId, integration_id=owed.integrationId, error=error)
        else:
            view = view_of(*get_row(session, tenant_id=owed.tenantId, integration_id=owed.integrationId))
    except NotFoundError:  # removed while it waited
        error = error or "it was removed before it could be verified"
    session.flush()
    return VerificationOutcome(owed.tenantId, view, error, owed.notifySlackUserId, owed.viewId)
