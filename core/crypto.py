"""Credentials encrypted at rest: Fernet (AES-128-CBC + HMAC-SHA256), several keys for rotation."""
from __future__ import annotations

import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from core.errors import ConfigurationError

MISSING_KEYS = (
    "RELEASEBOT_SECRET_KEYS is not set: generate a key with `releasebot secrets generate-key` "
    "and put it in the environment (or .env)"
)


def generate_key() -> str:
    """A new random key, in the form RELEASEBOT_SECRET_KEYS expects."""
    return Fernet.generate_key().decode("ascii")


class CredentialCipher:
    """Encrypts with the first key, decrypts with any of them."""

    def __init__(self, keys: tuple[str, ...] | list[str]):
        self._keys = tuple(keys)
        self._fernet: MultiFernet | None = None
        if self._keys:
            try:
                self._fernet = MultiFernet([Fernet(k.encode("ascii")) for k in self._keys])
            except (ValueError, UnicodeEncodeError):
                raise ConfigurationError(
                    "RELEASEBOT_SECRET_KEYS holds a malformed key: each must be 32 url-safe base64 "
                    "bytes, as `releasebot secrets generate-key` prints"
                ) from None

    def _require(self) -> MultiFernet:
        if self._fernet is None:
            raise ConfigurationError(MISSING_KEYS)
        return self._fernet

    def encrypt(self, secrets: dict[str, str]) -> str:
        """Ciphertext of a dict of secrets."""
        return self._require().encrypt(json.dumps(secrets, sort_keys=True).encode()).decode("ascii")

    def decrypt(self, token: str) -> dict[str, str]:
        """The dict of secrets behind a ciphertext."""
        try:
            return json.loads(self._require().decrypt(token.encode("ascii")))
        except InvalidToken:
            raise ConfigurationError(
                "stored credentials cannot be decrypted with RELEASEBOT_SECRET_KEYS: "
                "the key that encrypted them is missing from the list"
            ) from None

    def rotate(self, token: str) -> str:
        """The same secrets, encrypted with the newest key."""
        try:
            return self._require().rotate(token.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise ConfigurationError(
                "stored credentials cannot be decrypted with RELEASEBOT_SECRET_KEYS: "
                "the key that encrypted them is missing from the list"
            ) from None
