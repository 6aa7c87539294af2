"""What the runner's tests in this folder share: `rt`, a migrated Runtime the runner commits to (see runner_world)."""
from __future__ import annotations

import pytest

from tests.core.runner_world import runtime_on


@pytest.fixture
def rt(engine, tmp_path):
    with runtime_on(engine, tmp_path) as runtime:
        yield runtime
