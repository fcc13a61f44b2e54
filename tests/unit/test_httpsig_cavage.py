"""draft-cavage-12 Appendix C vectors: signing strings, signatures, and fedcoop's verdicts."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from fedcoop.activitypub.httpsig import parse_signature_headers, verify_request
from fedcoop.activitypub.httpsig_cavage import (
    parse_signature_params,
    signing_string,
)
from fedcoop.activitypub.httpsig_common import field_lines, sign_bytes, verify_bytes
from fedcoop.activitypub.httpsig_errors import SignatureError
from fedcoop.activitypub.keys import load_public_key_pem, load_rsa_private_key_pem
from tests.support.shared import vectors_dir

VECTORS = vectors_dir()


def data() -> dict[str, Any]:
    path = VECTORS / "draft-cavage-12.json"
    if not path.exists():
        pytest.fail(f"test vectors not found at {path}")
    return dict(json.loads(path.read_text()))


def vector_ids() -> list[str]:
    path = VECTORS / "draft-cavage-12.json"
    return [v["id"] for v in json.loads(path.read_text())["vectors"]] if path.exists() else []


def vector(vector_id: str) -> dict[str, Any]:
    return next(v for v in data()["vectors"] if v["id"] == vector_id)


def request_now() -> datetime:
    date = dict(data()["request"]["headers"])["Date"]
    return parsedate_to_datetime(date)


def signed_headers(v: dict[str, Any], *, authorization: bool = False) -> list[tuple[str, str]]:
    headers = [tuple(h) for h in data()["request"]["headers"]]
    if authorization:
        return [*headers, ("Authorization", v["authorization_header_value"])]
    value = (
        v.get("signature_header_value") or v["signature_header_value_derived_from_authorization"]
    )
    return [*headers, ("Signature", value)]


@pytest.mark.parametrize("vector_id", vector_ids())
def test_signing_string_and_signature_match_the_published_values(vector_id: str) -> None:
    v, d = vector(vector_id), data()
    params = parse_signature_params(v["authorization_header_value"].removeprefix("Signature "))
    names = (v["headers_param"] or "date").split()  # Appendix C.1: no headers means date
    request = d["request"]
    lines = field_lines([tuple(h) for h in request["headers"]])
    text = signing_string(request["method"], request["request_target"], lines, names, params)
    assert text == v["signing_string"]
    public = load_public_key_pem(d["key"]["public_key_pem"])
    signature = base64.b64decode(v["signature_b64"])
    assert verify_bytes("rsa-pkcs1-sha256", public, text.encode(), signature) is v["verifies"]
    if v["recomputed_signature_equal"]:
        private = load_rsa_private_key_pem(d["key"]["private_key_pem_pkcs1"])
        assert base64.b64encode(sign_bytes(private, text.encode())).decode() == v["signature_b64"]


def test_draft_10_all_headers_vector_is_accepted_under_fedcoop_policy() -> None:
    v, d = vector("all-headers-test-draft-10"), data()
    public = load_public_key_pem(d["key"]["public_key_pem"])
    request = d["request"]
    for authorization in (False, True):
        parsed = verify_request(
            request["method"],
            request["request_target"],
            signed_headers(v, authorization=authorization),
            request["body"].encode(),
            public,
            request_now(),
        )
        assert parsed.key_id == "Test"
        assert parsed.covered == tuple(v["headers_param"].split())


@pytest.mark.parametrize(
    ("vector_id", "reason"),
    [
        # Signs only `date`: nothing ties it to this request (no request-target, no digest).
        ("default-test", "headers_not_covered"),
        # A POST with a body whose Digest is not signed.
        ("basic-test", "headers_not_covered"),
        # The draft-12 erratum: (created)/(expires) with rsa-sha256, refused like Mastodon does.
        ("all-headers-test", "malformed"),
    ],
)
def test_other_vectors_are_refused_by_fedcoop_policy(vector_id: str, reason: str) -> None:
    v, d = vector(vector_id), data()
    request = d["request"]
    with pytest.raises(SignatureError) as caught:
        parse_signature_headers(
            request["method"],
            request["request_target"],
            signed_headers(v),
            request["body"].encode(),
        )
    assert caught.value.reason == reason


def test_the_1024_bit_vector_key_is_what_the_draft_publishes() -> None:
    public = load_public_key_pem(data()["key"]["public_key_pem"])
    assert (
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()
        == data()["key"]["public_key_pem"]
    )
    assert getattr(public, "key_size", None) == 1024


def test_signature_parameters_parse_quoted_values_and_draft_12_integers() -> None:
    params = parse_signature_params(
        'keyId="https://a.example/u#k",algorithm="hs2019",created=1402170695,'
        ' expires=1402170699.5, headers="(request-target) (created)", signature="c2ln"'
    )
    assert params == {
        "keyid": "https://a.example/u#k",
        "algorithm": "hs2019",
        "created": "1402170695",
        "expires": "1402170699.5",
        "headers": "(request-target) (created)",
        "signature": "c2ln",
    }


@pytest.mark.parametrize(
    "value",
    [
        'keyId="a",keyId="b",signature="c2ln"',
        'keyId="a" signature="c2ln"',
        "keyId=a,signature=c2ln",
        'keyId="unterminated,signature="c2ln"',
    ],
)
def test_malformed_signature_parameters(value: str) -> None:
    with pytest.raises(SignatureError) as caught:
        parse_signature_params(value)
    assert caught.value.reason == "malformed"
