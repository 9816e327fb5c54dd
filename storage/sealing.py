"""Encryption for payout details and keyed fingerprints to spot reuse without decrypting."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

log = logging.getLogger(__name__)


class KeyUnusable(Exception):
    """The key cannot be used with this database; the message says why and what to do."""


class Sealer:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)
        self._fingerprint_key = hashlib.sha256(b"kolbot-fingerprint:" + key).digest()
        self.check = hashlib.sha256(b"kolbot-key-check:" + key).hexdigest()
        """Tells keys apart without revealing them: the database keeps its key's check."""

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def unseal(self, token: str) -> str:
        return self._fernet.decrypt(token.encode()).decode()

    def opens(self, token: str) -> bool:
        """Whether ``token`` was sealed with this key."""
        try:
            self.unseal(token)
        except InvalidToken:
            return False
        return True

    def fingerprint(self, normalized: str) -> str:
        return hmac.new(self._fingerprint_key, normalized.encode(), hashlib.sha256).hexdigest()

    def payout_fingerprint(self, method: str, destination: str) -> str:
        """The same for the same destination however it was typed (case)."""
        return self.fingerprint(f"{method}:{destination.casefold()}")


def fernet_key(secret: str) -> bytes:
    """Accept a Fernet key as is, or derive one from any passphrase."""
    with contextlib.suppress(ValueError):
        if len(base64.urlsafe_b64decode(secret.encode())) == 32:
            return secret.encode()
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())


# Older versions read an empty KOLBOT_SECRET_KEY (as copied from .env.example) as the
# passphrase "": payout details sealed with it are sealed again with the real key.
EMPTY_PASSPHRASE: Final = Sealer(fernet_key(""))


@dataclass(frozen=True)
class KeySource:
    """Where the key comes from: the KOLBOT_SECRET_KEY setting, or else a private key file,
    which versions that named it after the database kept at ``old_file``."""

    secret: SecretStr | None
    file: Path
    old_file: Path | None = None

    @property
    def where(self) -> str:
        return "KOLBOT_SECRET_KEY" if self.secret is not None else f"the key file {self.file}"

    def load(self) -> Sealer | None:
        """The key, or None when there is no key file yet."""
        if self.secret is not None:
            return Sealer(fernet_key(self.secret.get_secret_value()))
        self._move_old_file()
        return read_key_file(self.file)

    def create(self) -> Sealer:
        """A new random key in a new file, readable by its owner only."""
        key = Fernet.generate_key()
        try:
            fd = os.open(self.file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as error:
            raise KeyUnusable(
                f"cannot create the key file {self.file}: {error.strerror or error}"
            ) from None
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(key)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as error:
            # A half-written key file would stop every later start: leave none.
            self.file.unlink(missing_ok=True)
            raise KeyUnusable(
                f"cannot write the key file {self.file}: {error.strerror or error}"
            ) from None
        log.warning(
            "created a new encryption key file %s; keep a copy of it apart from the database's "
            "backups",
            self.file,
        )
        return Sealer(key)

    def _move_old_file(self) -> None:
        """Once: the key file named after the database becomes the one named ``file``."""
        old = self.old_file
        if old is None or self.file.exists() or not old.is_file():
            return
        try:
            os.rename(old, self.file)
        except OSError as error:
            raise KeyUnusable(
                f"cannot move the key file {old} to {self.file}: {error.strerror or error}"
            ) from None
        log.warning(
            "moved the key file %s to %s: the key file's name no longer follows the database's",
            old,
            self.file,
        )


def read_key_file(path: Path) -> Sealer | None:
    """The key in ``path``, or None when there is no such file; KeyUnusable when it cannot be
    read or holds no key (a crash or a full disk while it was first written)."""
    try:
        content = path.read_bytes().strip()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise KeyUnusable(
            f"the key file {path} cannot be read: {error.strerror or error}"
        ) from None
    try:
        return Sealer(content)
    except ValueError:
        problem = "is empty" if not content else "does not hold a key"
        raise KeyUnusable(
            f"the key file {path} {problem}: restore it from your copy of the key, or set "
            "KOLBOT_SECRET_KEY to the key"
        ) from None
