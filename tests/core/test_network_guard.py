"""The private-network guard's rules, proven without connecting anywhere: which addresses an integration
may reach, and which base URLs may be stored."""
from __future__ import annotations

import pytest

from core.enums import IntegrationKind
from core.errors import IntegrationError, ValidationError
from core.integrations.http import check_url
from core.integrations.network import AddressRefusedError, NetworkGuard
from core.models import PipelineIntegration
from core.services import integration_writes, integrations
from tests import factories

# The holes: each of these passed the previous rule (private, loopback, link-local, reserved, multicast).
REFUSED = [
    "100.64.0.1",            # shared address space (carrier-grade NAT)
    "100.100.100.200",       # a cloud metadata address inside it
    "fec0::1",               # IPv6 site-local
    "2002:7f00:1::1",        # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",     # 6to4 of 169.254.169.254
    "2002:6464:64c8::1",     # 6to4 of 100.100.100.200
]
ALLOWED = ["93.184.216.34", "2606:4700:4700::1111", "2002:5db8:d822::1"]  # the last: 6to4 of a public address


def guard(*answers: str, allow_private: bool = False) -> NetworkGuard:
    return NetworkGuard(allow_private, resolver=lambda host, port: list(answers))


@pytest.mark.parametrize("address", REFUSED)
def test_a_host_resolving_to_a_non_global_address_is_refused(address):
    with pytest.raises(IntegrationError, match=r"^ci\.evil\.test resolves to a private address"):
        check_url("https://ci.evil.test/", guard(address))


@pytest.mark.parametrize("address", ALLOWED)
def test_a_host_resolving_to_global_addresses_is_allowed(address):
    check_url("https://ci.example.test/", guard(address))


def test_one_private_address_among_public_ones_is_enough_to_refuse_a_host():
    with pytest.raises(IntegrationError, match=r"private address \(100\.100\.100\.200\)"):
        check_url("https://ci.evil.test/", guard("93.184.216.34", "100.100.100.200"))


def test_with_private_networks_allowed_nothing_is_resolved_to_check_a_url():
    def resolver(host, port):
        raise AssertionError("resolved")
    check_url("http://jenkins.lan:8080/", NetworkGuard(True, resolver=resolver))


def test_a_connection_is_refused_before_anything_is_dialled():
    dialled = []
    pinned = NetworkGuard(False, resolver=lambda host, port: ["100.100.100.200"],
                          dialer=lambda address, timeout, source=None: dialled.append(address))
    with pytest.raises(IntegrationError, match="private address"):
        pinned.connect("metadata.evil.test", 80, 1.0)
    assert dialled == []


def test_a_connection_dials_the_checked_address_never_the_name():
    dialled = []
    pinned = NetworkGuard(False, resolver=lambda host, port: ["93.184.216.34"],
                          dialer=lambda address, timeout, source=None: dialled.append(address) or "socket")
    assert pinned.connect("ci.example.test", 443, 1.0) == "socket"
    assert dialled == [("93.184.216.34", 443)]


def test_a_port_out_of_range_is_a_clear_message():
    with pytest.raises(IntegrationError, match="is not a number from 1 to 65535"):
        check_url("https://ci.example.test:99999/", guard("93.184.216.34"))


# --- base URLs as stored by the integration service ------------------------------------------------
def add_jenkins(session, cipher, base_url: str, *answers: str):
    tenant = factories.tenant(session)
    scm = factories.scm(session, tenant.id, cipher)
    target = factories.target(session, tenant.id, cipher)
    return integration_writes.add_integration(
        session, tenant_id=tenant.id, kind=IntegrationKind.PIPELINE, provider="jenkins", display_name="Jenkins iOS",
        cipher=cipher, base_url=base_url, fields={"scmIntegrationId": scm.id, "targetIntegrationId": target.id,
                                                  "jobPath": "mobile/ios-release"},
        secrets={"username": "releasebot", "apiToken": "tok"}, resolver=lambda host, port: list(answers))


@pytest.mark.parametrize("url", ["https://admin:hunter2-s3cr3t@ci.example.test", "https://admin@ci.example.test",
                                 "ftp://admin:hunter2-s3cr3t@ci.example.test"])
def test_a_base_url_carrying_a_user_or_password_is_refused_and_points_to_secrets(session, cipher, url):
    with pytest.raises(ValidationError) as caught:
        add_jenkins(session, cipher, url, "93.184.216.34")
    assert caught.value.by_field()["baseUrl"] == ("the base URL carries a user name or password: remove it and pass it "
                                                  "with --secret username=… --secret apiToken=…")
    assert "hunter2" not in str(caught.value)


def test_jira_credentials_in_a_url_point_to_jiras_own_secrets(session, cipher):
    tenant = factories.tenant(session)
    with pytest.raises(ValidationError, match=r"--secret email=… --secret apiToken=… \(or --secret personalAccessToken=…\)$"):
        integration_writes.add_integration(session, tenant_id=tenant.id, kind=IntegrationKind.TICKET, provider="jira",
                                     display_name="Jira", cipher=cipher, base_url="https://bot:pw@acme.atlassian.net",
                                     fields={"projectKey": "MOB"}, secrets={"personalAccessToken": "pat"})


@pytest.mark.parametrize("url,answers", [("http://ci.example.test", ["93.184.216.34"]), ("http://93.184.216.34:8080", []),
                                         ("http://ci.example.test", ["10.0.0.5", "93.184.216.34"]),
                                         ("http://ci.unresolvable.test", [])])
def test_plain_http_to_a_public_host_is_refused_for_an_integration_with_credentials(session, cipher, url, answers):
    with pytest.raises(ValidationError) as caught:
        add_jenkins(session, cipher, url, *answers)
    assert caught.value.by_field()["baseUrl"].startswith("Jenkins credentials would cross the internet unencrypted: "
                                                         "use https://")


@pytest.mark.parametrize("url,answers", [("http://jenkins.lan:8080", ["10.0.0.5"]), ("http://127.0.0.1:8080", []),
                                         ("https://ci.example.test", ["93.184.216.34"])])
def test_plain_http_stays_allowed_on_your_own_network_and_https_anywhere(session, cipher, url, answers):
    assert add_jenkins(session, cipher, url, *answers).baseUrl == url


def test_a_password_stored_in_a_url_before_the_rule_is_masked_when_listed(session, cipher):
    view = add_jenkins(session, cipher, "https://ci.example.test", "93.184.216.34")
    session.get(PipelineIntegration, view.id).baseUrl = "https://admin:hunter2-s3cr3t@ci.example.test"
    session.flush()
    [listed] = integrations.list_integrations(session, tenant_id=session.get(PipelineIntegration, view.id).tenantId,
                                              kind=IntegrationKind.PIPELINE)
    assert listed.baseUrl == "https://admin:***@ci.example.test"


def test_a_refused_address_at_connect_time_is_told_apart_from_a_name_that_does_not_resolve():
    # The runner shows members advice for the first (a configuration problem) and retries the second (an outage).
    with pytest.raises(AddressRefusedError, match=r"ci\.example\.com resolves to a private address \(127\.0\.0\.1\)"):
        guard("127.0.0.1").connect("ci.example.com", 443, 1)
    with pytest.raises(OSError):
        NetworkGuard(False, resolver=lambda host, port: []).connect("ci.example.com", 443, 1)
