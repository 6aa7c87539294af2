"""The integrations' and admins' modals as pure functions: every provider's form comes from its spec,
within Slack's limits, never shows a secret, and the list keeps to 100 blocks however many there are."""
from __future__ import annotations

import json
from datetime import datetime

import pytest
from slack_sdk.models.views import View

from bot.blocks.admins import admins_modal
from bot.blocks.integrations import FormContext, chooser_modal, form_block_names, form_modal, integrations_modal
from bot.ids import ActionId, CallbackId
from core.enums import IntegrationKind, Role, VerificationStatus
from core.integrations.specs import SPECS
from core.models import Account
from core.services.integration_rules import secret_names
from core.services.integrations import IntegrationView


def view(i: int, kind=IntegrationKind.SCM, **overrides) -> IntegrationView:
    values = dict(id=f"id-{i}", kind=kind, provider="GITHUB", displayName=f"Repo {i}", baseUrl=None, isActive=True,
                  verificationStatus=VerificationStatus.INVALID, lastVerifiedAt=datetime(2026, 11, 28, 19, 0),
                  verificationError="GitHub rejected the token (401)", details={"organization": "acme"})
    return IntegrationView(**{**values, **overrides})


def valid_view(modal: dict) -> View:
    """slack_sdk's model of the view, which checks Slack's documented limits as it serialises."""
    checked = View(**modal)
    checked.validate_json()
    return checked


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.kind.value}-{s.provider}")
def test_every_providers_form_is_built_from_its_spec_within_slacks_limits(spec):
    modal = form_modal(FormContext(spec, choices={IntegrationKind.SCM: [view(1)], IntegrationKind.TARGET: []}))
    valid_view(modal)
    inputs = {b["block_id"] for b in modal["blocks"] if b["type"] == "input"}
    expected = set(spec.fields) | set(spec.optional_fields) | set(spec.settings) | set(spec.optional_settings) | secret_names(spec)
    assert expected | {"displayName"} <= inputs <= form_block_names(spec)
    assert all(len(b["label"]["text"]) <= 2000 and len(b["hint"]["text"]) <= 2000 for b in modal["blocks"] if b["type"] == "input")
    assert json.loads(modal["private_metadata"]) == {"kind": spec.kind.value, "provider": spec.provider, "id": None}


def test_an_edit_form_fills_in_everything_but_the_secrets_which_become_optional():
    spec = next(s for s in SPECS if s.provider == "JENKINS")
    editing = view(1, kind=IntegrationKind.PIPELINE, provider="JENKINS", displayName="Jenkins iOS", baseUrl="https://ci.acme.com",
                   details={"scmIntegrationId": "id-1", "targetIntegrationId": "t-1", "jobPath": "mobile/ios"})
    modal = form_modal(FormContext(spec, editing, {IntegrationKind.SCM: [view(1)], IntegrationKind.TARGET: [
        view(2, kind=IntegrationKind.TARGET, id="t-1", displayName="App Store")]}))
    blocks = {b["block_id"]: b for b in modal["blocks"] if b["type"] == "input"}
    assert blocks["jobPath"]["element"]["initial_value"] == "mobile/ios"
    assert blocks["scmIntegrationId"]["element"]["initial_option"]["value"] == "id-1"
    assert blocks["targetIntegrationId"]["element"]["initial_option"]["value"] == "t-1"
    for secret in ("username", "apiToken", "webhookSecret"):
        assert blocks[secret]["optional"] and "initial_value" not in blocks[secret]["element"]
        assert blocks[secret]["element"]["placeholder"]["text"] == "Leave empty to keep what is stored"
    assert json.loads(modal["private_metadata"])["id"] == "id-1"


def test_the_list_keeps_to_100_blocks_and_says_how_many_more_there_are():
    modal = integrations_modal([view(i) for i in range(150)], admin=True)
    valid_view(modal)
    assert len(modal["blocks"]) <= 100 and "more: `releasebot integration list`" in json.dumps(modal)


def test_members_see_status_last_check_and_reason_but_no_buttons():
    modal = integrations_modal([view(1, isActive=False)], admin=False)
    text = json.dumps(modal, ensure_ascii=False)
    assert "❌ invalid · disabled · checked 2026-11-28 19:00 UTC" in text and "rejected the token (401)" in text
    assert ActionId.INTEGRATION_MENU not in text and ActionId.INTEGRATION_ADD not in text
    admin = json.dumps(integrations_modal([view(1, isActive=False)], admin=True))
    assert "enable:id-1" in admin and "disable:id-1" not in admin


def test_the_chooser_offers_every_provider_of_the_specs_grouped_by_kind():
    modal = chooser_modal()
    valid_view(modal)
    groups = modal["blocks"][0]["element"]["option_groups"]
    assert sorted(o["value"] for g in groups for o in g["options"]) == sorted(f"{s.kind.value}:{s.provider}" for s in SPECS)
    assert modal["callback_id"] == CallbackId.INTEGRATION_CHOOSE


def test_the_admins_list_offers_no_remove_button_for_the_operators_admins_nor_to_members():
    admins = [Account(id="a1", slackUserId="U0ADA", displayName="Ada", role=Role.ADMIN),
              Account(id="a2", slackUserId="U0BOSS", displayName="Boss", role=Role.ADMIN)]
    modal = admins_modal(admins, admin=True, named=frozenset({"U0BOSS"}))
    valid_view(modal)
    buttons = [b["accessory"]["value"] for b in modal["blocks"] if b.get("accessory")]
    assert buttons == ["a1"] and modal["submit"]["text"] == "Add admin"
    members = admins_modal(admins, admin=False, named=frozenset())
    assert "submit" not in members and not any(b.get("accessory") for b in members["blocks"])
