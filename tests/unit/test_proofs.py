"""FEP-8b32 eddsa-jcs-2022 proofs: published vectors step by step, round trip, tampering."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import base58
import pytest

from fedcoop.activitypub.keys import generate_ed25519_private_key
from fedcoop.activitypub.multikey import private_key_from_multibase, public_key_from_multibase
from fedcoop.activitypub.proofs import (
    ProofError,
    canonical_json,
    format_created,
    hash_data,
    proof_verification_method,
    sign_document,
    verify_document,
)
from tests.support.shared import vectors_dir

VECTORS = vectors_dir()


def vectors() -> list[dict[str, Any]]:
    path = VECTORS / "eddsa-jcs-2022.json"
    if not path.exists():
        return []
    return list(json.loads(path.read_text())["vectors"])


def by_id(vector_id: str) -> dict[str, Any]:
    for vector in vectors():
        if vector["id"] == vector_id:
            return vector
    pytest.fail("vectors not found")


def created_of(vector: dict[str, Any]) -> datetime:
    created = vector["signed_document"]["proof"]["created"]
    return datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@pytest.mark.parametrize("vector", vectors(), ids=lambda v: v["id"])
def test_every_published_intermediate_value(vector: dict[str, Any]) -> None:
    document = vector["unsecured_document"]
    proof = vector["signed_document"]["proof"]
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    assert canonical_json(document).decode() == vector["canonical_document"]
    assert canonical_json(options).decode() == vector["canonical_proof_config"]
    doc_hash = hashlib.sha256(canonical_json(document)).hexdigest()
    assert doc_hash == vector["document_hash_hex"]
    config_hash = hashlib.sha256(canonical_json(options)).hexdigest()
    assert config_hash == vector["proof_config_hash_hex"]
    assert hash_data(document, options).hex() == vector["combined_hash_hex"]
    key = private_key_from_multibase(vector["key"]["secretKeyMultibase"])
    assert key.sign(bytes.fromhex(vector["combined_hash_hex"])).hex() == vector["signature_hex"]


@pytest.mark.parametrize("vector", vectors(), ids=lambda v: v["id"])
def test_signing_reproduces_the_published_signed_document(vector: dict[str, Any]) -> None:
    key = private_key_from_multibase(vector["key"]["secretKeyMultibase"])
    signed = sign_document(
        vector["unsecured_document"],
        key,
        vector["key"]["verification_method"],
        created_of(vector),
    )
    assert signed == vector["signed_document"]
    assert signed["proof"]["proofValue"] == vector["proof_value"]


@pytest.mark.parametrize("vector", vectors(), ids=lambda v: v["id"])
def test_published_signed_document_verifies(vector: dict[str, Any]) -> None:
    public = public_key_from_multibase(vector["key"]["publicKeyMultibase"])
    verify_document(vector["signed_document"], public)
    method = proof_verification_method(vector["signed_document"])
    assert method == vector["key"]["verification_method"]


def test_fep_8b32_key_is_the_actors_assertion_method() -> None:
    vector = by_id("fep-8b32-feature")
    [method] = vector["actor"]["assertionMethod"]
    assert method["id"] == proof_verification_method(vector["signed_document"])
    assert method["controller"] == vector["signed_document"]["actor"]
    verify_document(
        vector["signed_document"], public_key_from_multibase(method["publicKeyMultibase"])
    )


def test_published_negative_altered_credential_subject_is_rejected() -> None:
    vector = by_id("vc-di-eddsa-B.3")
    tampered = copy.deepcopy(vector["signed_document"])
    tampered["credentialSubject"]["alumniOf"] = "The School of Examples!"
    assert vector["negative"]["expected_verdict"] == "reject"
    with pytest.raises(ProofError) as caught:
        verify_document(tampered, public_key_from_multibase(vector["key"]["publicKeyMultibase"]))
    assert caught.value.reason == "bad_signature"


NOTE = {
    "@context": ["https://www.w3.org/ns/activitystreams", {"schema": "https://schema.org/"}],
    "id": "https://coop.example/reviews/1",
    "type": "Note",
    "attributedTo": "https://coop.example/users/ana",
    "content": "Great work, on time.",
    "reviewRating": {"type": "Rating", "ratingValue": 5, "bestRating": 5, "worstRating": 1},
    "latitude": 25.273962,
}
METHOD = "https://coop.example/users/ana#ed25519-key"
CREATED = datetime(2024, 5, 1, 12, 30, 15, 987654, tzinfo=UTC)


def signed_note() -> tuple[dict[str, Any], Any]:
    key = generate_ed25519_private_key()
    return sign_document(NOTE, key, METHOD, CREATED), key.public_key()


def test_round_trip_and_the_input_is_not_mutated() -> None:
    original = copy.deepcopy(NOTE)
    signed, public = signed_note()
    assert NOTE == original
    assert signed["proof"]["created"] == "2024-05-01T12:30:15Z"
    assert signed["proof"]["@context"] == NOTE["@context"]
    assert signed["proof"]["proofPurpose"] == "assertionMethod"
    verify_document(signed, public)


def test_created_is_written_in_utc_without_fractions() -> None:
    moment = datetime(2024, 5, 1, 14, 30, 15, 5, tzinfo=timezone(timedelta(hours=2)))
    assert format_created(moment) == "2024-05-01T12:30:15Z"
    with pytest.raises(ValueError):
        format_created(datetime(2024, 5, 1))


def test_created_is_hashed_as_received() -> None:
    # A peer writing fractional seconds signs that exact string; re-formatting it would break it.
    key = generate_ed25519_private_key()
    signed = sign_document(NOTE, key, METHOD, CREATED)
    proof = {k: v for k, v in signed["proof"].items() if k != "proofValue"}
    proof["created"] = "2024-05-01T12:30:15.123456789Z"
    signed["proof"]["created"] = proof["created"]
    signature = key.sign(hash_data(NOTE, proof))
    signed["proof"]["proofValue"] = "z" + base58.b58encode(signature).decode()
    verify_document(signed, key.public_key())


def tamper_cases() -> list[tuple[str, Any, str]]:
    def set_path(path: list[str], value: Any) -> Any:
        def apply(doc: dict[str, Any]) -> None:
            target = doc
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = value

        return apply

    return [
        ("content", set_path(["content"], "Great work, on time!"), "bad_signature"),
        ("rating", set_path(["reviewRating", "ratingValue"], 1), "bad_signature"),
        ("float", set_path(["latitude"], 25.273963), "bad_signature"),
        ("created", set_path(["proof", "created"], "2024-05-01T12:30:16Z"), "bad_signature"),
        ("method", set_path(["proof", "verificationMethod"], METHOD + "2"), "bad_signature"),
        ("purpose", set_path(["proof", "proofPurpose"], "authentication"), "wrong_purpose"),
        ("suite", set_path(["proof", "cryptosuite"], "eddsa-rdfc-2022"), "unsupported_proof"),
        ("type", set_path(["proof", "type"], "Ed25519Signature2020"), "unsupported_proof"),
        ("value", set_path(["proof", "proofValue"], "u" + "A" * 80), "malformed"),
        (
            "context",
            set_path(["@context"], "https://www.w3.org/ns/activitystreams"),
            "context_mismatch",
        ),
        ("no proof", lambda doc: doc.pop("proof"), "missing_proof"),
    ]


@pytest.mark.parametrize(("name", "change", "reason"), tamper_cases(), ids=lambda c: str(c))
def test_tampering_is_rejected_with_its_reason(name: str, change: Any, reason: str) -> None:
    signed, public = signed_note()
    change(signed)
    with pytest.raises(ProofError) as caught:
        verify_document(signed, public)
    assert caught.value.reason == reason, name


def test_another_key_does_not_verify() -> None:
    signed, _ = signed_note()
    with pytest.raises(ProofError) as caught:
        verify_document(signed, generate_ed25519_private_key().public_key())
    assert caught.value.reason == "bad_signature"


def test_appended_context_is_allowed_by_the_prefix_rule() -> None:
    # vc-di-eddsa 3.3.2: the document's @context must start with the proof's; it is then hashed
    # with the proof's context, so an appended context entry does not break the proof.
    signed, public = signed_note()
    signed["@context"] = [*signed["@context"], "https://w3id.org/security/data-integrity/v2"]
    verify_document(signed, public)


def test_unrepresentable_numbers_are_malformed_not_crashes() -> None:
    key = generate_ed25519_private_key()
    with pytest.raises(ProofError) as caught:
        sign_document({**NOTE, "big": 2**60}, key, METHOD, CREATED)
    assert caught.value.reason == "malformed"


def test_a_document_that_already_has_a_proof_is_not_signed_twice() -> None:
    signed, _ = signed_note()
    with pytest.raises(ValueError):
        sign_document(signed, generate_ed25519_private_key(), METHOD, CREATED)


def test_proof_wrapped_in_a_single_element_array_is_accepted() -> None:
    signed, public = signed_note()
    signed["proof"] = [signed["proof"]]
    verify_document(signed, public)
    assert proof_verification_method(signed) == METHOD
