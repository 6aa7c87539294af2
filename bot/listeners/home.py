"""`app_home_opened`: the person's Home tab is owed a publish; the runner publishes it (views.publish)."""
from __future__ import annotations

from slack_bolt import App, BoltContext

from core.runner import Runner
from core.runtime import Runtime
from core.services.home_views import open_home


def register(app: App, runtime: Runtime, follower: Runner) -> None:
    @app.event("app_home_opened")
    def home_opened(event: dict, context: BoltContext) -> None:
        # The Messages tab fires this event too; only the Home tab shows what we publish.
        if event.get("tab") != "home" or "tenant_id" not in context:
            return
        runtime.retrying(lambda s: open_home(s, tenant_id=context["tenant_id"], slack_user_id=event["user"]))
        follower.wake()
