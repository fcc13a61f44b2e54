"""Generate, load and dump the RSA and Ed25519 keys that actors sign with (PEM: SPKI / PKCS#8)."""

from __future__ import annotations

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey
PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

RSA_KEY_BITS = 2048  # PROTOCOL.md section 1: actors publish an RSA 2048 key


class KeyFormatError(ValueError):
    """A PEM that does not hold a key of a type fedcoop signs or verifies with."""


def generate_rsa_private_key(bits: int = RSA_KEY_BITS) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def generate_ed25519_private_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def private_key_to_pem(key: PrivateKey) -> str:
    """PKCS#8, unencrypted: the database and the config directory protect it, not a passphrase."""
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    ).decode("ascii")


def public_key_to_pem(key: PublicKey) -> str:
    """SubjectPublicKeyInfo PEM, the form `publicKeyPem` carries on Mastodon and Fedify."""
    return key.public_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    ).decode("ascii")


def _pem_bytes(pem: str | bytes) -> bytes:
    # Remote actors sometimes wrap publicKeyPem in extra whitespace or CRLF line ends.
    data = pem.encode("ascii", errors="replace") if isinstance(pem, str) else pem
    return data.strip().replace(b"\r\n", b"\n") + b"\n"


def load_private_key_pem(pem: str | bytes) -> PrivateKey:
    """Load a PKCS#8 (or legacy PKCS#1 `RSA PRIVATE KEY`) PEM holding an RSA or Ed25519 key."""
    try:
        key = serialization.load_pem_private_key(_pem_bytes(pem), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(f"not a usable private key PEM: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise KeyFormatError(f"unsupported private key type {type(key).__name__}")
    return key


def load_public_key_pem(pem: str | bytes) -> PublicKey:
    """Load an SPKI PEM, or a PKCS#1 `RSA PUBLIC KEY` PEM (Fedify accepts both, so do we)."""
    try:
        key = serialization.load_pem_public_key(_pem_bytes(pem))
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(f"not a usable public key PEM: {exc}") from exc
    if not isinstance(key, rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        raise KeyFormatError(f"unsupported public key type {type(key).__name__}")
    return key


def load_rsa_private_key_pem(pem: str | bytes) -> rsa.RSAPrivateKey:
    key = load_private_key_pem(pem)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyFormatError("expected an RSA private key")
    return key


def load_ed25519_private_key_pem(pem: str | bytes) -> ed25519.Ed25519PrivateKey:
    key = load_private_key_pem(pem)
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise KeyFormatError("expected an Ed25519 private key")
    return key
