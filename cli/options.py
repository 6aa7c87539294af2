"""What the admin and release commands share: --json, --tenant, the runtime and its schema check."""
from __future__ import annotations

import click

from core.runtime import Runtime

JSON = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
TENANT = click.option("--tenant", "tenant_ref", required=True, help="Tenant id or Slack team id.")
pass_runtime = click.make_pass_decorator(Runtime)


def ready(rt: Runtime) -> Runtime:
    """The runtime, once its database schema is at the code's head."""
    rt.require_current_schema()
    return rt
