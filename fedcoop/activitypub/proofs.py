"""FEP-8b32 object integrity proofs: `DataIntegrityProof` with the `eddsa-jcs-2022` cryptosuite.

Algorithm (W3C vc-di-eddsa section 3.3, as FEP-8b32 uses it):
- proofConfig = the proof without `proofValue`, with the document's `@context`;
- hashData = SHA-256(JCS(proofConfig)) || SHA-256(JCS(document without `proof`));
- proofValue = `z` + base58btc(Ed25519 signature of hashData).
JCS is RFC 8785 (the `rfc8785` library; it serialises floats the ECMAScript way, as the FEP-8b32
vector with coordinates needs, and refuses NaN and integers beyond 2**53).
"""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime
from typing import Any, Final, Literal

import base58
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

PROOF_TYPE: Final = "DataIntegrityProof"
CRYPTOSUITE: Final = "eddsa-jcs-2022"
ASSERTION_METHOD: Final = "assertionMethod"

ProofReason = Literal[
    "missing_proof",  # no `proof`, or a proof set we do not handle
    "malformed",  # a proof or document that cannot be canonicalised or decoded
    "unsupported_proof",  # another proof type or cryptosuite
    "wrong_purpose",  # not the proofPurpose the caller asked for
    "context_mismatch",  # the document's @context does not start with the proof's
    "bad_signature",  # the Ed25519 check failed: the document or proof was altered
]


class ProofError(Exception):
    def __init__(self, reason: ProofReason, detail: str = "") -> None:
        self.reason: ProofReason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


def format_created(moment: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ` in UTC, no fractional seconds (PROTOCOL.md section 2)."""
    if moment.tzinfo is None:
        raise ValueError("pass a timezone-aware datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical_json(value: Any) -> bytes:
    """RFC 8785 JSON Canonicalization Scheme bytes."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError) as exc:
        raise ProofError("malformed", f"cannot canonicalise: {exc}") from exc


def hash_data(document: dict[str, Any], proof_config: dict[str, Any]) -> bytes:
    """SHA-256(JCS(proofConfig)) || SHA-256(JCS(document)): the proof hash comes first."""
    proof_hash = hashlib.sha256(canonical_json(proof_config)).digest()
    return proof_hash + hashlib.sha256(canonical_json(document)).digest()


def _without_proof(doc: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in doc.items() if key != "proof"}


def sign_document(
    doc: dict[str, Any],
    private_key: ed25519.Ed25519PrivateKey,
    verification_method: str,
    created: datetime,
    proof_purpose: str = ASSERTION_METHOD,
) -> dict[str, Any]:
    """A copy of `doc` with an `eddsa-jcs-2022` proof; `doc` itself is left unchanged."""
    if "proof" in doc:
        raise ValueError("document already has a proof")
    unsecured = copy.deepcopy(doc)
    proof: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
        "created": format_created(created),
    }
    if "@context" in unsecured:
        # vc-di-eddsa section 3.3.1: the proof carries the document's context, so that a verifier
        # can tell when contexts were appended later (the FEP-8b32 test vector does this).
        proof["@context"] = copy.deepcopy(unsecured["@context"])
    signature = private_key.sign(hash_data(unsecured, proof))
    proof["proofValue"] = "z" + base58.b58encode(signature).decode("ascii")
    return {**unsecured, "proof": proof}


def _single_proof(doc: dict[str, Any]) -> dict[str, Any]:
    proof = doc.get("proof")
    if isinstance(proof, list) and len(proof) == 1:
        proof = proof[0]  # compacted JSON-LD may wrap a single proof in an array
    if not isinstance(proof, dict):
        raise ProofError("missing_proof", "expected exactly one proof object")
    return proof


def proof_verification_method(doc: dict[str, Any]) -> str:
    """The `verificationMethod` of the document's proof, to look the key up before verifying."""
    method = _single_proof(doc).get("verificationMethod")
    if not isinstance(method, str) or not method:
        raise ProofError("malformed", "proof has no verificationMethod")
    return method


def _as_list(context: Any) -> list[Any]:
    return context if isinstance(context, list) else [context]


def _decode_proof_value(value: Any) -> bytes:
    if not isinstance(value, str) or not value.startswith("z"):
        raise ProofError("malformed", "proofValue must be base58btc multibase")
    try:
        return base58.b58decode(value[1:])
    except ValueError as exc:
        raise ProofError("malformed", "proofValue is not base58btc") from exc


def verify_document(
    doc: dict[str, Any],
    public_key: ed25519.Ed25519PublicKey,
    *,
    proof_purpose: str | None = ASSERTION_METHOD,
) -> None:
    """Raise `ProofError` unless the document's proof verifies with `public_key`.

    The caller resolves the key from `proof_verification_method(doc)` and checks that its
    controller is the actor who claims the document; this function checks only the maths and
    the proof's declared type, cryptosuite, purpose and context.
    """
    proof = _single_proof(doc)
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        raise ProofError("unsupported_proof", f"{proof.get('type')}/{proof.get('cryptosuite')}")
    if proof_purpose is not None and proof.get("proofPurpose") != proof_purpose:
        raise ProofError("wrong_purpose", f"proofPurpose is {proof.get('proofPurpose')!r}")
    signature = _decode_proof_value(proof.get("proofValue"))
    options = {key: value for key, value in proof.items() if key != "proofValue"}
    unsecured = _without_proof(doc)
    if "@context" in options:
        # vc-di-eddsa section 3.3.2: the document's context must start with the proof's, and the
        # document is then hashed with the proof's context.
        proof_context = _as_list(options["@context"])
        doc_context = _as_list(unsecured.get("@context", []))
        if doc_context[: len(proof_context)] != proof_context:
            raise ProofError("context_mismatch", "document @context does not start with proof's")
        unsecured["@context"] = options["@context"]
    elif "@context" in unsecured:
        options["@context"] = unsecured["@context"]
    try:
        public_key.verify(signature, hash_data(unsecured, options))
    except InvalidSignature as exc:
        raise ProofError("bad_signature", "proof does not verify") from exc
