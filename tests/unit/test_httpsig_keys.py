"""PEM helpers for the keys HTTP signatures and proofs use."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from fedcoop.activitypub.keys import (
    KeyFormatError,
    generate_ed25519_private_key,
    generate_rsa_private_key,
    load_ed25519_private_key_pem,
    load_private_key_pem,
    load_public_key_pem,
    load_rsa_private_key_pem,
    private_key_to_pem,
    public_key_to_pem,
)
from tests.support.shared import vectors_dir

VECTORS = vectors_dir()


def test_rsa_key_is_2048_bits_and_round_trips_as_pkcs8_and_spki() -> None:
    key = generate_rsa_private_key()
    assert key.key_size == 2048
    pem = private_key_to_pem(key)
    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    public_pem = public_key_to_pem(key.public_key())
    assert public_pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert private_key_to_pem(load_rsa_private_key_pem(pem)) == pem
    assert public_key_to_pem(load_public_key_pem(public_pem)) == public_pem


def test_ed25519_key_round_trips() -> None:
    key = generate_ed25519_private_key()
    pem = private_key_to_pem(key)
    loaded = load_ed25519_private_key_pem(pem)
    assert private_key_to_pem(loaded) == pem
    public = load_public_key_pem(public_key_to_pem(key.public_key()))
    assert isinstance(public, ed25519.Ed25519PublicKey)


def test_pkcs1_pems_from_the_vectors_load() -> None:
    path = VECTORS / "rfc9421.json"
    if not path.exists():
        pytest.fail("vectors not found")
    keys = json.loads(path.read_text())["keys"]
    assert isinstance(load_public_key_pem(keys["test-key-rsa"]["public_key_pem"]), rsa.RSAPublicKey)
    assert isinstance(
        load_private_key_pem(keys["test-key-rsa"]["private_key_pem"]), rsa.RSAPrivateKey
    )


def test_crlf_and_surrounding_whitespace_are_tolerated() -> None:
    pem = public_key_to_pem(generate_ed25519_private_key().public_key())
    assert load_public_key_pem("\n  " + pem.replace("\n", "\r\n") + "  \n")


def test_wrong_key_types_and_garbage_are_refused() -> None:
    with pytest.raises(KeyFormatError):
        load_public_key_pem("not a pem")
    with pytest.raises(KeyFormatError):
        load_rsa_private_key_pem(private_key_to_pem(generate_ed25519_private_key()))
    with pytest.raises(KeyFormatError):
        load_ed25519_private_key_pem(private_key_to_pem(generate_rsa_private_key()))
