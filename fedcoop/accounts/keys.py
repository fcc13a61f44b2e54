"""Key pairs made when a local actor is created: RSA-2048 for HTTP signatures, Ed25519 for
FEP-8b32 proofs. Private keys are PKCS#8 PEM, public keys SPKI PEM."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa


@dataclass(frozen=True)
class KeyMaterial:
    rsa_private_pem: str
    rsa_public_pem: str
    ed25519_private_pem: str
    ed25519_public_raw: bytes


def _private_pem(key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def generate_keys() -> KeyMaterial:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    return KeyMaterial(
        rsa_private_pem=_private_pem(rsa_key),
        rsa_public_pem=rsa_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
        ed25519_private_pem=_private_pem(ed_key),
        ed25519_public_raw=ed_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        ),
    )


def ed25519_multibase(public_raw: bytes) -> str:
    """FEP-521a `publicKeyMultibase`: `z` + base58btc(0xed01 multicodec prefix + key)."""
    import base58

    return "z" + base58.b58encode(b"\xed\x01" + public_raw).decode()
