"""The welcome message the installer gets in a DM once releasebot is installed."""
from __future__ import annotations


def welcome_text(*, org_wide: bool, reinstalled: bool) -> str:
    """What to do next, in the order a new team does it."""
    first = ("releasebot is installed again: your releases and integrations are as you left them."
             if reinstalled else "releasebot is installed, and you are its admin.")
    if org_wide:
        first += (" It is installed for your whole organization: each workspace is its own team in releasebot, "
                  "with you as its first admin.")
    return "\n".join((
        f":wave: {first}",
        "Next steps:",
        "1. Invite me to the channel where releases are announced: `/invite @releasebot`.",
        "2. Add your integrations (repository, store targets, CI pipelines): ask the operator of this "
        "releasebot, who runs `releasebot integration add`.",
        "3. Type `/release create` to start a release, or `/release help` for everything else.",
    ))
