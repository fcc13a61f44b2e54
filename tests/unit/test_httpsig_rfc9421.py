"""RFC 9421 vectors: every signature base rebuilt; every signature checked; fedcoop's verdicts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from http_sfv.item import InnerList

from fedcoop.activitypub.httpsig import verify_request
from fedcoop.activitypub.httpsig_common import field_lines, sign_bytes
from fedcoop.activitypub.httpsig_errors import SignatureError
from fedcoop.activitypub.httpsig_rfc9421 import parse_rfc9421, verify_rfc9421
from fedcoop.activitypub.httpsig_rfc9421_base import HttpMessage, authority, signature_base
from fedcoop.activitypub.keys import load_private_key_pem, load_public_key_pem
from fedcoop.activitypub.structured_fields import StructuredFieldError, parse_dictionary
from tests.support.shared import vectors_dir

VECTORS = vectors_dir()


def data() -> dict[str, Any]:
    path = VECTORS / "rfc9421.json"
    if not path.exists():
        pytest.fail(f"test vectors not found at {path}")
    return dict(json.loads(path.read_text()))


def all_vectors() -> list[dict[str, Any]]:
    path = VECTORS / "rfc9421.json"
    return list(json.loads(path.read_text())["vectors"]) if path.exists() else []


def vector(vector_id: str) -> dict[str, Any]:
    return next(v for v in data()["vectors"] if v["id"] == vector_id)


def signature_input(text: str, label: str) -> tuple[InnerList, str]:
    member = parse_dictionary(text)[label]
    assert isinstance(member.value, InnerList)
    return member.value, member.raw


def target_uri(message: dict[str, Any]) -> str:
    # The vectors use no @target-uri/@scheme; rebuild the URI from Host and the request line.
    method_and_target = message["start_line"].split(" ")
    host = next(value for name, value in message["headers"] if name.lower() == "host")
    return f"https://{host}{method_and_target[1]}"


def http_message(name: str, related: str | None = None) -> HttpMessage:
    message = data()["messages"][name]
    lines = field_lines([tuple(h) for h in message["headers"]])
    first, second, *_ = message["start_line"].split(" ")
    request = http_message(related) if related else None
    if first.startswith("HTTP/"):
        return HttpMessage(fields=lines, status=int(second), request=request)
    return HttpMessage(fields=lines, method=first, target_uri=target_uri(message))


def crypto_verifies(alg: str, keyid: str, base: bytes, signature: bytes) -> bool:
    keys = data()["keys"]
    if alg == "hmac-sha256":
        secret = base64.b64decode(keys[keyid]["secret_b64"])
        return hmac.compare_digest(hmac.new(secret, base, hashlib.sha256).digest(), signature)
    public = serialization.load_pem_public_key(keys[keyid]["public_key_pem"].encode())
    try:
        if alg == "rsa-pss-sha512":
            assert isinstance(public, rsa.RSAPublicKey)
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)
            public.verify(signature, base, pss, hashes.SHA512())
        elif alg == "ecdsa-p256-sha256":
            assert isinstance(public, ec.EllipticCurvePublicKey)
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            public.verify(encode_dss_signature(r, s), base, ec.ECDSA(hashes.SHA256()))
        elif alg == "rsa-v1_5-sha256":
            assert isinstance(public, rsa.RSAPublicKey)
            public.verify(signature, base, padding.PKCS1v15(), hashes.SHA256())
        else:
            assert alg == "ed25519"
            assert isinstance(public, Ed25519PublicKey)
            public.verify(signature, base)
    except InvalidSignature:
        return False
    return True


@pytest.mark.parametrize("v", all_vectors(), ids=lambda v: v["id"])
def test_signature_base_is_rebuilt_exactly_for_every_vector(v: dict[str, Any]) -> None:
    components, raw = signature_input(v["signature_input"], v["label"])
    assert raw == v["signature_params_serialized"]
    assert [str(item) for item in components] == v["covered_components"]
    message = http_message(v["message"], v.get("related_request"))
    base = signature_base(message, components, raw)
    assert base == v["signature_base"]


@pytest.mark.parametrize("v", all_vectors(), ids=lambda v: v["id"])
def test_every_signature_verifies_or_fails_as_published(v: dict[str, Any]) -> None:
    components, raw = signature_input(v["signature_input"], v["label"])
    message = http_message(v["message"], v.get("related_request"))
    base = signature_base(message, components, raw).encode()
    signature = base64.b64decode(v["signature_b64"])
    assert crypto_verifies(v["alg"], v["keyid"], base, signature) is v["verifies"]
    assert v["verifies"] is (v["expected_verdict"] == "valid")


@pytest.mark.parametrize(
    "v",
    [v for v in all_vectors() if v.get("recomputed_signature_equal")],
    ids=lambda v: v["id"],
)
def test_deterministic_signatures_are_recreated_byte_for_byte(v: dict[str, Any]) -> None:
    keys = data()["keys"]
    base = v["signature_base"].encode()
    if v["alg"] == "hmac-sha256":
        secret = base64.b64decode(keys[v["keyid"]]["secret_b64"])
        produced = hmac.new(secret, base, hashlib.sha256).digest()
    elif v["alg"] == "ed25519":
        jwk = keys[v["keyid"]]["jwk"]
        seed = base64.urlsafe_b64decode(jwk["d"] + "=" * (-len(jwk["d"]) % 4))
        produced = sign_bytes(Ed25519PrivateKey.from_private_bytes(seed), base)
    else:
        produced = sign_bytes(load_private_key_pem(keys[v["keyid"]]["private_key_pem"]), base)
    assert base64.b64encode(produced).decode() == v["signature_b64"]


def b4_request(message: str) -> tuple[str, str, list[tuple[str, str]]]:
    raw = data()["messages"][message]
    method, target, _ = raw["start_line"].split(" ")
    return method, target, [tuple(h) for h in raw["headers"]]


@pytest.mark.parametrize(
    ("vector_id", "reason"),
    [
        ("B.4-transform-1", None),
        ("B.4-transform-2", None),  # an added header and query parameter are not covered
        ("B.4-transform-3", None),  # the two Accept lines folded into one
        ("B.4-transform-4", None),  # header order changed
        # Method changed to POST (and Host): a POST without Content-Digest is refused before
        # any crypto; test_every_signature_verifies_or_fails_as_published shows the crypto fails.
        ("B.4-transform-5", "missing_digest"),
        ("B.4-transform-6", "bad_signature"),  # Accept lines swapped
    ],
)
def test_ed25519_transformations_through_the_full_verifier(
    vector_id: str, reason: str | None
) -> None:
    v = vector(vector_id)
    method, target, headers = b4_request(v["message"])
    key = load_public_key_pem(data()["keys"][v["keyid"]]["public_key_pem"])
    now = datetime.fromtimestamp(v["signature_params"]["created"], tz=UTC)
    uri = target_uri(data()["messages"][v["message"]])
    if reason is None:
        parsed = verify_request(method, target, headers, None, key, now, target_uri=uri)
        assert (parsed.scheme, parsed.key_id, parsed.algorithm) == ("rfc9421", v["keyid"], None)
        return
    with pytest.raises(SignatureError) as caught:
        verify_request(method, target, headers, None, key, now, target_uri=uri)
    assert caught.value.reason == reason


def test_proxy_rsa_v1_5_signature_verifies_but_its_printed_body_breaks_the_digest() -> None:
    v = vector("4.3-proxy_sig")
    raw = data()["messages"][v["message"]]
    method, target, _ = raw["start_line"].split(" ")
    headers = [tuple(h) for h in raw["headers"]]
    uri = f"https://origin.host.internal.example{target}"
    key = load_public_key_pem(data()["keys"]["test-key-rsa"]["public_key_pem"])
    now = datetime.fromtimestamp(v["signature_params"]["created"], tz=UTC)
    fixed_body = raw["body"].lstrip("\n").encode()
    parsed = parse_rfc9421(method, uri, headers, fixed_body, label="proxy_sig")
    assert parsed.algorithm == "rsa-v1_5-sha256"
    assert parsed.expires == datetime.fromtimestamp(1618884540, tz=UTC)
    verify_rfc9421(parsed, key, now)
    # As printed, the body starts with a line feed that its own Content-Digest does not cover.
    with pytest.raises(SignatureError) as caught:
        parse_rfc9421(method, uri, headers, raw["body"].encode(), label="proxy_sig")
    assert caught.value.reason == "bad_digest"


def test_proxy_signature_expires_after_one_minute() -> None:
    v = vector("4.3-proxy_sig")
    raw = data()["messages"][v["message"]]
    method, target, _ = raw["start_line"].split(" ")
    headers = [tuple(h) for h in raw["headers"]]
    uri = f"https://origin.host.internal.example{target}"
    key = load_public_key_pem(data()["keys"]["test-key-rsa"]["public_key_pem"])
    parsed = parse_rfc9421(
        method, uri, headers, raw["body"].lstrip("\n").encode(), label="proxy_sig"
    )
    with pytest.raises(SignatureError) as caught:
        verify_rfc9421(parsed, key, datetime.fromtimestamp(1618884541, tz=UTC))
    assert caught.value.reason == "expired"


def test_default_label_is_the_first_signature_and_its_algorithm_is_refused() -> None:
    # sig1 in the same message is the client's ecdsa-p256 signature: no alg parameter, so it is
    # only refused once the key type is known.
    raw = data()["messages"]["s4.3-proxy-request"]
    method, target, _ = raw["start_line"].split(" ")
    headers = [tuple(h) for h in raw["headers"]]
    uri = f"https://example.com{target}"
    parsed = parse_rfc9421(method, uri, headers, raw["body"].lstrip("\n").encode())
    assert parsed.label == "sig1"
    p256 = serialization.load_pem_public_key(
        data()["keys"]["test-key-ecc-p256"]["public_key_pem"].encode()
    )
    now = datetime.fromtimestamp(1618884475, tz=UTC)
    assert parsed.created == now
    with pytest.raises(SignatureError) as caught:
        verify_rfc9421(parsed, p256, now)  # type: ignore[arg-type]  # a P-256 key on purpose
    assert caught.value.reason == "unsupported_algorithm"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("https://Example.COM/a", "example.com"),
        ("https://example.com:443/a", "example.com"),
        ("http://example.com:80/a", "example.com"),
        ("http://127.0.0.1:8001/a", "127.0.0.1:8001"),
        ("https://[::1]:8443/a", "[::1]:8443"),
    ],
)
def test_authority_normalisation(uri: str, expected: str) -> None:
    assert authority(uri) == expected


def test_query_param_values_are_re_encoded() -> None:
    # RFC 9421 section 2.2.8 example.
    message = HttpMessage(
        fields={},
        method="GET",
        target_uri="https://example.com/path?param=value&foo=bar&baz=batman&qux=&param=two%20words&tilde=~",
    )
    components, raw = signature_input(
        'sig=("@query-param";name="param" "@query-param";name="qux" "@query-param";name="tilde")',
        "sig",
    )
    base = signature_base(message, components, raw)
    assert base.splitlines()[:4] == [
        '"@query-param";name="param": value',
        '"@query-param";name="param": two%20words',
        '"@query-param";name="qux": ',
        '"@query-param";name="tilde": %7E',
    ]


@pytest.mark.parametrize(
    "components",
    [
        '("@method" "@method")',  # covered twice
        '("@signature-params")',
        '("@nonsense")',
        '("x-missing")',
        '("@status")',  # a request has no status
        '("@method";req)',  # no related request
        '("Host")',  # component names are lower-case
        '("host";tr)',
    ],
)
def test_impossible_components_are_malformed(components: str) -> None:
    message = HttpMessage(
        fields={"host": ["example.com"]}, method="GET", target_uri="https://example.com/"
    )
    inner, raw = signature_input(f"sig={components}", "sig")
    with pytest.raises(SignatureError) as caught:
        signature_base(message, inner, raw)
    assert caught.value.reason == "malformed"


def test_structured_field_parameters_sf_key_and_bs() -> None:
    message = HttpMessage(
        fields={
            "example-dict": ["a=1,    b=2;x=1;y=2,   c=(a   b   c)"],
            "example-header": ["value, with, lots", "of, commas"],
        },
        method="GET",
        target_uri="https://example.com/",
    )
    components, raw = signature_input(
        'sig=("example-dict";sf "example-dict";key="a" "example-dict";key="c" "example-header";bs)',
        "sig",
    )
    base = signature_base(message, components, raw)
    assert base.splitlines()[:4] == [
        '"example-dict";sf: a=1, b=2;x=1;y=2, c=(a b c)',
        '"example-dict";key="a": 1',
        '"example-dict";key="c": (a b c)',
        '"example-header";bs: :dmFsdWUsIHdpdGgsIGxvdHM=:, :b2YsIGNvbW1hcw==:',
    ]


def test_signature_input_members_keep_their_text_exactly_as_received() -> None:
    members = parse_dictionary(
        'a=("@method"  "@path");created=1;keyid="k" ,\tb=:AAAA:;x, c, a=("x")'
    )
    assert list(members) == ["a", "b", "c"]
    assert members["a"].raw == '("x")'  # a repeated key keeps its place and takes the last value
    assert members["b"].raw == ":AAAA:;x"
    assert members["c"].raw == ""
    assert parse_dictionary('sig=("@method"  "@path");created=1')["sig"].raw == (
        '("@method"  "@path");created=1'
    )


@pytest.mark.parametrize("text", ["", "a=1,", "A=1", "a=1 b=2", "a=(1", "a=\u00e9", "a=:AA"])
def test_invalid_dictionaries_are_refused(text: str) -> None:
    with pytest.raises(StructuredFieldError):
        parse_dictionary(text)
