"""Tokens and password hashes. Hashing runs in a worker thread, off the event loop."""

from __future__ import annotations

import asyncio
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# 32 random bytes: 256 bits, well above the 128 bits an unguessable link needs.
TOKEN_BYTES = 32

_hasher = PasswordHasher()
# Verified against when the email is unknown, so that both failures take the same time.
_dummy_hash: str | None = None


def use_password_hasher(hasher: PasswordHasher) -> None:
    """Replace the argon2id parameters (tests use the cheapest profile)."""
    global _hasher, _dummy_hash
    _hasher = hasher
    _dummy_hash = None


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest stored in place of a token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with no hash (unknown account) spend the same time and return False."""
    global _dummy_hash
    if password_hash is None:
        if _dummy_hash is None:
            _dummy_hash = await hash_password(secrets.token_hex(16))
        await asyncio.to_thread(_verify, _dummy_hash, password)
        return False
    return await asyncio.to_thread(_verify, password_hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
