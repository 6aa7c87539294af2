"""Imports point inward: core never reaches for Slack delivery; listeners hold no SQL; the manifest
asks for exactly the scopes the code's Web API calls need."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# Web API methods the code calls → the bot scope each needs (auth.test needs none).
SCOPES = {
    "chat_postMessage": "chat:write", "chat_update": "chat:write", "chat_postEphemeral": "chat:write",
    "chat_getPermalink": None, "views_open": None, "views_update": None, "views_push": None, "views_publish": None, "users_info": "users:read",
    "conversations_info": ("channels:read", "groups:read"), "auth_test": None, "conversations_join": "channels:join",
    "conversations_history": ("channels:history", "groups:history"), "conversations_replies": ("channels:history", "groups:history"),
}


def imports_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_never_imports_the_bot_or_slacks_ui_parts():
    offenders = {str(p.relative_to(ROOT)): sorted(n for n in imports_of(p)
                                                  if n.split(".")[0] in ("bot", "slack_bolt", "cli")
                                                  or n.startswith("slack_sdk.models"))
                 for p in (ROOT / "core").rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_listeners_hold_no_sql():
    for path in (ROOT / "bot" / "listeners").rglob("*.py"):
        assert not any(n.startswith("sqlalchemy") for n in imports_of(path)), path


def test_the_manifest_asks_for_the_scopes_the_code_uses_and_no_more():
    code = "\n".join(p.read_text() for d in ("bot", "core") for p in (ROOT / d).rglob("*.py"))
    called = set(re.findall(r"\.(chat_[A-Za-z]+|views_[A-Za-z]+|users_[A-Za-z]+|conversations_[A-Za-z]+|auth_test)\b", code))
    unknown = called - set(SCOPES)
    assert not unknown, f"add these Web API methods to SCOPES: {unknown}"
    needed = {"commands"}
    for method in called:
        scope = SCOPES[method]
        needed |= set(scope) if isinstance(scope, tuple) else ({scope} if scope else set())
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == needed
    assert manifest["features"]["slash_commands"][0]["command"] == "/release"
    urls = {manifest["features"]["slash_commands"][0]["url"], manifest["settings"]["interactivity"]["request_url"],
            manifest["settings"]["interactivity"]["message_menu_options_url"]}
    assert {u.rsplit("/", 2)[-2] + "/" + u.rsplit("/", 1)[-1] for u in urls} == {"slack/events"}
