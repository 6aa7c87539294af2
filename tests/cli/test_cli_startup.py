"""The console script starts light: --help, --version and completion import no database, Slack or settings
library (their time is measured by bench/cli_startup.py, not asserted here)."""
from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import click

from cli.main import COMMANDS, cli

HEAVY = ("sqlalchemy", "pydantic", "pydantic_settings", "slack_bolt", "slack_sdk", "alembic", "jira", "jenkins",
         "waitress", "cryptography", "requests")
SCRIPT = Path(sys.executable).parent / "releasebot"


def _run(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, env={**os.environ, **env}, timeout=60)


def test_version_prints_the_installed_packages_version():
    result = _run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"releasebot, version {version('releasebot')}"


def test_help_lists_every_command_without_importing_heavy_libraries():
    probe = ("import sys; from cli.main import main; code = main(['--help']); "
             f"print('LOADED', sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})), code)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "LOADED [] 0" in result.stdout
    for name in COMMANDS:
        assert f"  {name} " in result.stdout


def test_each_listed_one_line_help_is_the_commands_own():
    ctx = click.Context(cli)
    for name, (_, short) in COMMANDS.items():
        assert cli.get_command(ctx, name).get_short_help_str(limit=150) == short, name


def test_an_unknown_command_is_a_usage_error_naming_it():
    result = _run("deploy")
    assert result.returncode == 2
    assert "No such command 'deploy'" in result.stderr and "Traceback" not in result.stderr


def test_shell_completion_completes_commands_and_subcommands():
    top = _run(_RELEASEBOT_COMPLETE="bash_complete", COMP_WORDS="releasebot rel", COMP_CWORD="1")
    assert top.stdout.split() == ["plain,release"]
    sub = _run(_RELEASEBOT_COMPLETE="bash_complete", COMP_WORDS="releasebot release hist", COMP_CWORD="2")
    assert sub.stdout.split() == ["plain,history"]
