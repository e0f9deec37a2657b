"""Server keys, kept apart from the database.

Two keys live in ``<data-dir>/keys/`` (mode 0600), made on first use, or come from
the environment so several nodes can share them: ``secrets.key`` encrypts access-key
secrets at rest (Fernet), ``tokens.key`` signs registry passwords and download URLs.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

SECRETS_KEY_ENV = "DOCKYARD_SECRETS_KEY"
TOKENS_KEY_ENV = "DOCKYARD_TOKENS_KEY"


class KeyMaterialError(ValueError):
    pass


def load_or_create(data_dir: Path, name: str, env_value: str | None) -> bytes:
    """The key as a urlsafe-base64 32-byte value (Fernet's format)."""
    if env_value:
        return _checked(env_value.strip().encode(), f"${name}")
    directory = data_dir / "keys"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / name
    try:
        return _checked(path.read_bytes().strip(), str(path))
    except FileNotFoundError:
        pass
    key = base64.urlsafe_b64encode(secrets.token_bytes(32))
    # O_EXCL: if two processes race, one creates and the other reads the winner's key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _checked(path.read_bytes().strip(), str(path))
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    return key


def _checked(key: bytes, where: str) -> bytes:
    try:
        if len(base64.urlsafe_b64decode(key)) != 32:
            raise ValueError
    except ValueError:
        raise KeyMaterialError(f"{where}: a key must be 32 bytes in urlsafe base64") from None
    return key


class SecretBox:
    """Encrypts access-key secrets for the database."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode())

    def open(self, ciphertext: bytes) -> str:
        try:
            return self._fernet.decrypt(ciphertext).decode()
        except InvalidToken:
            raise KeyMaterialError(
                "a stored secret does not decrypt with this secrets key"
            ) from None

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"
