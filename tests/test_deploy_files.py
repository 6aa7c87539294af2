"""The Dockerfile and compose.yaml are not built by CI (no Docker on it); these tests keep them true to the
code: every package is copied into the image, and every command they run is a real `releasebot` command."""
from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import yaml

from cli.main import main

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())


def _accepted(argv: list[str], capsys) -> bool:
    """Whether the CLI parses these arguments (with --help appended, so nothing runs)."""
    code = main([*argv, "--help"])
    capsys.readouterr()
    return code == 0


def test_the_image_copies_every_package_the_project_installs():
    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    copied = set(re.findall(r"^COPY (\S+) \1$", DOCKERFILE, re.MULTILINE))
    assert {pattern.rstrip("*") for pattern in include} <= copied


def test_the_image_runs_as_a_non_root_user_with_a_healthcheck_on_healthz():
    assert re.search(r"^USER releasebot$", DOCKERFILE, re.MULTILINE)
    assert "HEALTHCHECK" in DOCKERFILE and "/healthz" in DOCKERFILE


def test_the_images_default_command_is_a_real_command(capsys):
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", DOCKERFILE, re.MULTILINE).group(1))
    assert cmd[:2] == ["releasebot", "serve"]
    assert _accepted(cmd[1:], capsys)


@pytest.mark.parametrize("service", ["migrate", "bot", "worker"])
def test_each_compose_service_runs_a_real_command(service, capsys):
    cmd = COMPOSE["services"][service]["command"]
    assert cmd[0] == "releasebot" and _accepted(cmd[1:], capsys)


def test_compose_migrates_once_before_the_bot_and_the_worker_start():
    services = COMPOSE["services"]
    assert services["migrate"]["command"][1:] == ["db", "upgrade"]
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    for name in ("bot", "worker"):
        assert "--no-migrate" in services[name]["command"]
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "--no-follower" in services["bot"]["command"]  # the worker follows; the bot answers Slack
