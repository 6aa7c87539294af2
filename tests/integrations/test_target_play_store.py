"""The Google Play client (our module + PyJWT + HttpClient/requests) against the fake Google over loopback."""
from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from core.enums import IntegrationKind
from core.errors import IntegrationError
from core.integrations.base import IntegrationConfig, ProviderContext
from core.integrations.registry import build_client
from tests.fakes.google import FakeGoogle

EMAIL = "releasebot@acme-play.iam.gserviceaccount.com"
PACKAGE = "com.acme.app"


@pytest.fixture(scope="module")
def private_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def key_json(key: rsa.RSAPrivateKey, token_uri: str, **changes) -> str:
    data = {"type": "service_account", "project_id": "acme-play", "private_key_id": "k1", "private_key": pem(key),
            "client_email": EMAIL, "client_id": "1234567890", "token_uri": token_uri, **changes}
    return json.dumps(data)


@pytest.fixture
def google(private_key):
    fake = FakeGoogle()
    fake.add_account(EMAIL, private_key.public_key(), packages=(PACKAGE,))
    fake.add_package(PACKAGE)
    with fake:
        yield fake


def client(fake, key, *, package: str = PACKAGE, secret: str | None = None, timeout: float = 5.0,
           private: bool = True):
    config = IntegrationConfig(id="p-1", provider="PLAY_STORE", display_name="Play", base_url=fake.url,
                               fields={"appIdentifier": package}, settings={},
                               secrets={"serviceAccountJson": secret or key_json(key, fake.token_uri)})
    ctx = ProviderContext(allow_private_networks=private, timeout=timeout)
    return build_client(IntegrationKind.TARGET, config, ctx)


def failure(action, key) -> IntegrationError:
    with pytest.raises(IntegrationError) as caught:
        action()
    for line in pem(key).splitlines()[1:-1]:
        assert line not in str(caught.value) and line not in repr(caught.value.args)
    return caught.value


def test_verify_exchanges_a_signed_assertion_then_opens_and_deletes_an_edit(google, private_key):
    client(google, private_key).verify()
    [token_request] = google.calls("POST", "/token$")
    assert token_request.form()["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    [(header, claims)] = google.assertions
    assert (header["alg"], header["kid"], claims["iss"], claims["aud"]) == ("RS256", "k1", EMAIL, google.token_uri)
    assert claims["scope"] == "https://www.googleapis.com/auth/androidpublisher"
    assert [r.method for r in google.calls(path_regex="/edits")] == ["POST", "DELETE"]
    assert google.edits == {}


def test_the_access_token_is_reused_while_valid(google, private_key):
    target = client(google, private_key)
    target.verify()
    target.verify()
    assert len(google.calls("POST", "/token$")) == 1
    assert len(google.calls("POST", "/edits$")) == 2


def test_a_key_google_does_not_know_is_an_invalid_grant(google, private_key):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    error = failure(lambda: client(google, other, secret=key_json(other, google.token_uri)).verify(), other)
    assert str(error).startswith("Google refused the service account key (invalid_grant: Invalid JWT Signature.)")
    assert error.status == 400 and not google.calls(path_regex="/edits")


def test_an_unknown_service_account_is_an_invalid_grant(google, private_key):
    secret = key_json(private_key, google.token_uri, client_email="ghost@acme.iam.gserviceaccount.com")
    error = failure(lambda: client(google, private_key, secret=secret).verify(), private_key)
    assert "(invalid_grant: Invalid grant: account not found)" in str(error)


def test_an_unknown_package_says_so(google, private_key):
    error = failure(lambda: client(google, private_key, package="com.acme.nope").verify(), private_key)
    assert str(error) == "package com.acme.nope not found in Play Console or the service account has no access"
    assert error.status == 404


def test_an_account_without_access_to_the_app_gets_the_permission_message(google, private_key):
    google.add_package("com.acme.other")
    error = failure(lambda: client(google, private_key, package="com.acme.other").verify(), private_key)
    assert str(error) == ("the service account may not edit com.acme.other: The caller does not have permission (403); "
                          "grant it release permissions in Play Console, Users and permissions")


def test_a_json_that_is_not_a_service_account_key_is_refused(google, private_key):
    secret = json.dumps({"installed": {"client_id": "x", "client_secret": "y"}})
    error = failure(lambda: client(google, private_key, secret=secret), private_key)
    assert str(error).startswith("serviceAccountJson is not a Google service-account key")


def test_a_broken_private_key_is_refused_without_echoing_it(google, private_key):
    broken = "-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----"
    secret = key_json(private_key, google.token_uri, private_key=broken)
    error = failure(lambda: client(google, private_key, secret=secret), private_key)
    assert "QUJD" not in str(error) and "not a Google service-account key" in str(error)


def test_a_token_uri_pointing_inside_the_network_is_refused(google, private_key):
    secret = key_json(private_key, "http://169.254.169.254/computeMetadata/v1/token")
    error = failure(lambda: client(google, private_key, secret=secret, private=False), private_key)
    assert "169.254.169.254 resolves to a private address" in str(error)
    assert google.requests == []


def test_a_token_uri_that_is_not_http_is_refused(google, private_key):
    secret = key_json(private_key, "file:///etc/passwd")
    assert "is not an http(s) URL" in str(failure(lambda: client(google, private_key, secret=secret), private_key))


def test_a_token_endpoint_failure_is_reported_with_its_status(google, private_key):
    google.fail(500, "<html>backend error</html>", path="/token$")
    error = failure(client(google, private_key).verify, private_key)
    assert (str(error), error.status) == ("Google OAuth failed (500)", 500)


def test_a_play_api_server_error_is_reported_with_its_status(google, private_key):
    google.fail(500, {"error": {"code": 500, "message": "Internal error encountered.", "status": "INTERNAL"}},
                path="/edits$")
    error = failure(client(google, private_key).verify, private_key)
    assert (str(error), error.status) == ("Google Play failed (500)", 500)


@pytest.mark.parametrize("status", [429, 503])
def test_rate_limits_and_unavailability_are_retried_after_retry_after(google, private_key, status):
    google.fail(status, {"error": {"code": status, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}},
                path="/edits$", times=2, headers={"Retry-After": "0"})
    client(google, private_key).verify()
    assert len(google.calls("POST", "/edits$")) == 3 and google.edits == {}


def test_a_google_that_is_gone_is_unreachable(google, private_key):
    target = client(google, private_key)
    google.stop()
    error = failure(target.verify, private_key)
    assert str(error).startswith("cannot reach Google OAuth at http://127.0.0.1:") and error.retryable


def test_a_google_that_does_not_answer_in_time_times_out(google, private_key):
    google.delay = 1
    error = failure(client(google, private_key, timeout=0.2).verify, private_key)
    assert "did not answer in time" in str(error)
