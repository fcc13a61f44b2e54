"""Ed25519 keys as Multikey multibase strings (FEP-521a `publicKeyMultibase`, `z6Mk...`)."""

from __future__ import annotations

from typing import Final

import base58
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

# Multicodec varint prefixes: ed25519-pub is 0xed, ed25519-priv is 0x1300 (varint 0x80 0x26).
ED25519_PUBLIC_PREFIX: Final = b"\xed\x01"
ED25519_SECRET_PREFIX: Final = b"\x80\x26"
BASE58BTC: Final = "z"  # multibase code for base58btc (Bitcoin alphabet)
_KEY_LENGTH: Final = 32


class MultikeyError(ValueError):
    """A multibase string that is not an Ed25519 Multikey."""


def _decode(value: str, prefix: bytes, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith(BASE58BTC):
        raise MultikeyError(f"{what} must be base58btc multibase (start with 'z')")
    try:
        raw = base58.b58decode(value[1:])
    except ValueError as exc:
        raise MultikeyError(f"{what} is not valid base58btc") from exc
    if len(raw) != len(prefix) + _KEY_LENGTH or not raw.startswith(prefix):
        raise MultikeyError(f"{what} is not an Ed25519 multikey")
    return raw[len(prefix) :]


def public_key_to_multibase(key: ed25519.Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return BASE58BTC + base58.b58encode(ED25519_PUBLIC_PREFIX + raw).decode("ascii")


def public_key_from_multibase(value: str) -> ed25519.Ed25519PublicKey:
    raw = _decode(value, ED25519_PUBLIC_PREFIX, "publicKeyMultibase")
    return ed25519.Ed25519PublicKey.from_public_bytes(raw)


def private_key_to_multibase(key: ed25519.Ed25519PrivateKey) -> str:
    seed = key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return BASE58BTC + base58.b58encode(ED25519_SECRET_PREFIX + seed).decode("ascii")


def private_key_from_multibase(value: str) -> ed25519.Ed25519PrivateKey:
    seed = _decode(value, ED25519_SECRET_PREFIX, "secretKeyMultibase")
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed)
