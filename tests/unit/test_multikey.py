"""Ed25519 Multikey encoding (FEP-521a) against the vc-di-eddsa / FEP-8b32 key pair."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization

from fedcoop.activitypub.keys import generate_ed25519_private_key
from fedcoop.activitypub.multikey import (
    MultikeyError,
    private_key_from_multibase,
    private_key_to_multibase,
    public_key_from_multibase,
    public_key_to_multibase,
)

# W3C vc-di-eddsa Appendix B.3 key pair, reused by FEP-8b32 (see shared/vectors/eddsa-jcs-2022.json)
PUBLIC = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
SECRET = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
PUBLIC_HEX = "b00d8d938e7f773d51565aad36a623f5344f7f5d1960f9cf3e8e12620ea2810f"
SEED_HEX = "c96ef9ea10c5e414c471723aff9de72c35fa5b70fae97e8832ecac7d2e2b8ed6"


def raw_public(key: object) -> str:
    assert hasattr(key, "public_bytes")
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def test_published_public_key_decodes_to_the_published_bytes() -> None:
    key = public_key_from_multibase(PUBLIC)
    assert raw_public(key) == PUBLIC_HEX
    assert public_key_to_multibase(key) == PUBLIC


def test_published_secret_key_decodes_to_the_seed_and_its_public_key() -> None:
    key = private_key_from_multibase(SECRET)
    seed = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    assert seed.hex() == SEED_HEX
    assert public_key_to_multibase(key.public_key()) == PUBLIC
    assert private_key_to_multibase(key) == SECRET


def test_round_trip_of_a_fresh_key_starts_with_z6mk() -> None:
    key = generate_ed25519_private_key()
    encoded = public_key_to_multibase(key.public_key())
    assert encoded.startswith("z6Mk")
    assert raw_public(public_key_from_multibase(encoded)) == raw_public(key.public_key())
    assert private_key_to_multibase(private_key_from_multibase(private_key_to_multibase(key))) == (
        private_key_to_multibase(key)
    )


@pytest.mark.parametrize(
    "value",
    [
        "",
        PUBLIC[1:],  # no multibase prefix
        "f" + PUBLIC[1:],  # base16 prefix
        "z0OIl",  # not in the base58 alphabet
        PUBLIC[:-2],  # truncated
        SECRET,  # a secret key where a public one is expected
    ],
)
def test_malformed_public_multibase_is_refused(value: str) -> None:
    with pytest.raises(MultikeyError):
        public_key_from_multibase(value)


def test_public_key_is_not_accepted_as_a_secret() -> None:
    with pytest.raises(MultikeyError):
        private_key_from_multibase(PUBLIC)
