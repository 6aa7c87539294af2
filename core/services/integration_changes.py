"""Changes to a workspace's integrations as an admin makes them, from Slack or the CLI: each checks the
actor is an admin of the tenant (None is the operator at the command line) and is recorded in the audit
table with what changed, by name (never a secret's value)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from core.crypto import CredentialCipher
from core.enums import IntegrationKind
from core.integrations.network import Resolver, system_resolver
from core.services import audit, integration_writes, integrations, verification
from core.services.integration_writes import Change
from core.services.integrations import IntegrationView
from core.services.tenants import require_admin


def _names(label: str, values: dict | None) -> str | None:
    return f"{label}: {', '.join(sorted(values))}" if values else None


def add(session: Session, *, tenant_id: str, actor_account_id: str | None, kind: IntegrationKind, provider: str,
        display_name: str, cipher: CredentialCipher, base_url: str | None = None, fields: dict | None = None,
        settings: dict | None = None, secrets: dict | None = None, resolver: Resolver = system_resolver) -> IntegrationView:
    """Add an integration (PENDING until verified)."""
    actor = require_admin(session, tenant_id=tenant_id, actor_account_id=actor_account_id)
    view = integration_writes.add_integration(session, tenant_id=tenant_id, kind=kind, provider=provider,
                                        display_name=display_name, cipher=cipher, base_url=base_url, fields=fields,
                                        settings=settings, secrets=secrets, resolver=resolver)
    detail = "; ".join(filter(None, [view.provider.lower(), _names("fields", fields), _names("settings", settings),
                                     _names("secrets", {k for k, v in (secrets or {}).items() if v})]))
    _audit(session, tenant_id, view, actor, "added", detail)
    return view


def edit(session: Session, *, tenant_id: str, actor_account_id: str | None, integration_id: str, display_name: str,
         cipher: CredentialCipher, base_url: str | None = None, fields: dict | None = None, settings: dict | None = None,
         secrets: dict | None = None, resolver: Resolver = system_resolver) -> Change:
    """Edit an integration; a secret left empty stays as stored."""
    actor = require_admin(session, tenant_id=tenant_id, actor_account_id=actor_account_id)
    change = integration_writes.update_integration(session, tenant_id=tenant_id, integration_id=integration_id, cipher=cipher,
                                             display_name=display_name, base_url=base_url, fields=fields,
                                             settings=settings, secrets=secrets, resolver=resolver)
    _audit(session, tenant_id, change.view, actor, "edited", f"changed: {', '.join(change.changed)}" if change.changed else "nothing changed")
    return change


def set_active(session: Session, *, tenant_id: str, actor_account_id: str | None, integration_id: str,
               active: bool) -> IntegrationView:
    """Enable or disable an integration."""
    actor = require_admin(session, tenant_id=tenant_id, actor_account_id=actor_account_id)
    view = integration_writes.set_active(session, tenant_id=tenant_id, integration_id=integration_id, active=active)
    _audit(session, tenant_id, view, actor, "enabled" if active else "disabled")
    return view


def remove(session: Session, *, tenant_id: str, actor_account_id: str | None, integration_id: str) -> IntegrationView:
    """Remove an integration under the removal rules (core.services.integration_writes.remove_integration)."""
    actor = require_admin(session, tenant_id=tenant_id, actor_account_id=actor_account_id)
    kept_for = integration_writes.kept_for(session, tenant_id=tenant_id, integration_id=integration_id)
    view = integration_writes.remove_integration(session, tenant_id=tenant_id, integration_id=integration_id)
    _audit(session, tenant_id, view, actor, "removed",
           f"hidden, kept for the history of {', '.join(kept_for)}" if view.removedAt else "deleted")
    return view


def request_verification(session: Session, *, tenant_id: str, actor_account_id: str | None, integration_id: str,
                         notify_slack_user: str | None = None, view_id: str | None = None) -> IntegrationView:
    """Owe a verification to the runner; it tells `notify_slack_user` (in the modal `view_id` if given)."""
    actor = require_admin(session, tenant_id=tenant_id, actor_account_id=actor_account_id)
    verification.owe_verification(session, tenant_id=tenant_id, integration_id=integration_id,
                                  requested_by=actor.id if actor else None, notify_slack_user=notify_slack_user,
                                  view_id=view_id)
    view = integrations.get_integration(session, tenant_id=tenant_id, integration_id=integration_id)
    _audit(session, tenant_id, view, actor, "verification requested")
    return view


def _audit(session: Session, tenant_id: str, view: IntegrationView, actor, action: str, detail: str | None = None) -> None:
    audit.record(session, tenant_id=tenant_id, actor=actor, subject_kind=view.kind.value, subject_id=view.id,
                 subject_name=view.displayName, action=action, detail=detail)
