"""The App Store Connect client (our module + PyJWT + HttpClient/requests) against the fake API over loopback."""
from __future__ import annotations

import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from core.enums import IntegrationKind
from core.errors import IntegrationError
from core.integrations.base import IntegrationConfig, ProviderContext
from core.integrations.registry import build_client
from tests.fakes.app_store import FakeAppStoreConnect

KEY_ID = "2X9R4HXF34"
ISSUER = "57246542-96fe-1a63-e053-0824d011072a"
BUNDLE = "com.acme.app"


def p8(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture(scope="module")
def private_key():
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def store(private_key):
    fake = FakeAppStoreConnect()
    fake.add_key(KEY_ID, private_key.public_key(), ISSUER)
    with fake:
        yield fake


def client(fake, key, *, bundle: str = BUNDLE, key_id: str = KEY_ID, issuer: str = ISSUER, pem: str | None = None,
           timeout: float = 5.0, settings: dict | None = None):
    config = IntegrationConfig(id="a-1", provider="APP_STORE", display_name="App Store", base_url=fake.url,
                               fields={"appIdentifier": bundle}, settings={"keyId": key_id, "issuerId": issuer, **(settings or {})},
                               secrets={"privateKey": pem if pem is not None else p8(key)})
    return build_client(IntegrationKind.TARGET, config, ProviderContext(allow_private_networks=True, timeout=timeout))


def failure(action, key) -> IntegrationError:
    with pytest.raises(IntegrationError) as caught:
        action()
    for line in p8(key).splitlines()[1:-1]:
        assert line not in str(caught.value) and line not in repr(caught.value.args)
    return caught.value


def test_verify_finds_the_app_with_a_valid_short_lived_token(store, private_key):
    store.add_app(BUNDLE)
    client(store, private_key).verify()
    [request] = store.calls("GET", "/v1/apps")
    assert request.query["filter[bundleId]"] == [BUNDLE]
    [(header, claims)] = store.tokens
    assert (header["alg"], header["kid"]) == ("ES256", KEY_ID)
    assert (claims["iss"], claims["aud"]) == (ISSUER, "appstoreconnect-v1")
    assert 0 < claims["exp"] - claims["iat"] <= 20 * 60


def test_a_bundle_id_that_only_prefixes_another_app_is_not_a_match(store, private_key):
    store.add_app("com.acme.app.watchkitapp")
    store.add_app("com.acme.appclip")
    error = failure(client(store, private_key).verify, private_key)
    assert (str(error), error.status) == ("no app with bundle id com.acme.app in App Store Connect", 404)


def test_the_exact_app_is_picked_among_prefix_matches(store, private_key):
    store.add_app("com.acme.app.watchkitapp")
    app = store.add_app(BUNDLE)
    assert client(store, private_key).app_id() == app["id"]


def test_no_app_at_all_is_reported(store, private_key):
    assert "no app with bundle id com.acme.app" in str(failure(client(store, private_key).verify, private_key))


def test_a_token_signed_with_another_key_is_rejected(store, private_key):
    store.add_app(BUNDLE)
    other = ec.generate_private_key(ec.SECP256R1())
    error = failure(client(store, other).verify, other)
    assert str(error) == "App Store Connect rejected the API key (401): check the key id, issuer id and .p8 key"
    assert error.status == 401


@pytest.mark.parametrize("field", ["key_id", "issuer"])
def test_a_wrong_key_id_or_issuer_is_rejected(store, private_key, field):
    store.add_app(BUNDLE)
    error = failure(client(store, private_key, **{field: "WRONG"}).verify, private_key)
    assert error.status == 401


def test_the_fake_refuses_a_token_living_longer_than_20_minutes_as_apple_does(store, private_key):
    now = int(time.time())
    token = jwt.encode({"iss": ISSUER, "iat": now, "exp": now + 21 * 60, "aud": "appstoreconnect-v1"}, private_key,
                       algorithm="ES256", headers={"kid": KEY_ID})
    response = requests.get(f"{store.url}/v1/apps", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert (response.status_code, response.json()["errors"][0]["code"]) == (401, "NOT_AUTHORIZED")


def test_a_key_pasted_on_one_line_with_escaped_newlines_works(store, private_key):
    store.add_app(BUNDLE)
    client(store, private_key, pem=p8(private_key).replace("\n", "\\n")).verify()
    assert store.tokens


def test_a_private_key_that_is_not_a_p8_is_refused_without_echoing_it(store, private_key):
    garbage = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END PRIVATE KEY-----"
    error = failure(lambda: client(store, private_key, pem=garbage), private_key)
    assert str(error).startswith("the App Store Connect private key is not a .p8 EC key")
    assert "bm90IGEga2V5" not in str(error)


def test_a_forbidden_answer_passes_apples_detail_on(store, private_key):
    store.fail(403, {"errors": [{"status": "403", "code": "FORBIDDEN_ERROR", "title": "This request is forbidden "
                                 "for security reasons", "detail": "The API key in use does not allow this request"}]},
               path="/v1/apps")
    error = failure(client(store, private_key).verify, private_key)
    assert str(error).startswith("App Store Connect refused: The API key in use does not allow this request (403)")


def test_a_server_error_is_reported_with_its_status(store, private_key):
    store.fail(500, {"errors": [{"status": "500", "code": "UNEXPECTED_ERROR",
                                 "title": "An unexpected error occurred."}]}, path="/v1/apps")
    error = failure(client(store, private_key).verify, private_key)
    assert (str(error), error.status) == ("App Store Connect failed (500)", 500)


@pytest.mark.parametrize("status", [429, 503])
def test_rate_limits_and_unavailability_are_retried_after_retry_after(store, private_key, status):
    store.add_app(BUNDLE)
    store.fail(status, {"errors": [{"status": str(status), "code": "RATE_LIMIT_EXCEEDED"}]}, path="/v1/apps", times=2,
               headers={"Retry-After": "0"})
    client(store, private_key).verify()
    assert len(store.calls("GET", "/v1/apps")) == 3


def test_an_app_store_that_is_gone_is_unreachable(store, private_key):
    target = client(store, private_key)
    store.stop()
    error = failure(target.verify, private_key)
    assert str(error).startswith("cannot reach App Store Connect at http://127.0.0.1:") and error.retryable


def test_an_app_store_that_does_not_answer_in_time_times_out(store, private_key):
    store.delay = 1
    error = failure(client(store, private_key, timeout=0.2).verify, private_key)
    assert "did not answer in time" in str(error)
