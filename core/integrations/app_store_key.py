"""An App Store Connect team API key, and the ES256 JWT signed with its .p8 key for each request.

Apple's rules for the token: header `kid` = key id, claims `iss` = issuer id, `aud` =
"appstoreconnect-v1", and an expiry no more than 20 minutes after `iat`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from core.errors import IntegrationError

AUDIENCE = "appstoreconnect-v1"
TOKEN_LIFETIME = 10 * 60  # well inside Apple's 20-minute limit, so clock skew cannot push it over


@dataclass(frozen=True)
class ApiKey:
    """A team API key: its id, its issuer id and the private key of its .p8 file."""

    key_id: str
    issuer_id: str
    private_key: ec.EllipticCurvePrivateKey

    def authorization(self) -> dict[str, str]:
        """The Authorization header of one request, with a token signed now."""
        now = int(time.time())
        claims = {"iss": self.issuer_id, "iat": now, "exp": now + TOKEN_LIFETIME, "aud": AUDIENCE}
        token = jwt.encode(claims, self.private_key, algorithm="ES256", headers={"kid": self.key_id, "typ": "JWT"})
        return {"Authorization": f"Bearer {token}"}


def load_key(pem: str) -> ec.EllipticCurvePrivateKey:
    """The EC private key of a .p8 file, or IntegrationError (never showing the key)."""
    # Keys pasted into one-line fields arrive with literal "\n".
    text = pem.replace("\\n", "\n").strip()
    try:
        key = load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise IntegrationError("the App Store Connect private key is not a .p8 EC key: paste the whole file, "
                               "BEGIN and END lines included")
    return key
