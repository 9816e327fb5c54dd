"""Encryption for payout details and keyed fingerprints to spot reuse without decrypting."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet
from pydantic import SecretStr

log = logging.getLogger(__name__)


class Sealer:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)
        self._fingerprint_key = hashlib.sha256(b"kolbot-fingerprint:" + key).digest()

    @classmethod
    def from_settings(cls, secret: SecretStr | None, key_file: Path) -> Sealer:
        """Use the configured key, or one kept in a private file beside the database."""
        if secret is not None:
            return cls(_fernet_key(secret.get_secret_value()))
        if key_file.exists():
            return cls(key_file.read_bytes().strip())
        key = Fernet.generate_key()
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        log.warning("created a new encryption key file %s; back it up with the database", key_file)
        return cls(key)

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def unseal(self, token: str) -> str:
        return self._fernet.decrypt(token.encode()).decode()

    def fingerprint(self, normalized: str) -> str:
        return hmac.new(self._fingerprint_key, normalized.encode(), hashlib.sha256).hexdigest()


def _fernet_key(secret: str) -> bytes:
    """Accept a Fernet key as is, or derive one from any passphrase."""
    with contextlib.suppress(ValueError):
        if len(base64.urlsafe_b64decode(secret.encode())) == 32:
            return secret.encode()
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())
