"""RFC 9421: sign, verify, then change one thing and expect the right reason code."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from fedcoop.activitypub.digest import make_content_digest_header
from fedcoop.activitypub.httpsig import (
    ParsedSignature,
    parse_signature_headers,
    sign_request_rfc9421,
    verify_parsed,
    verify_request,
)
from fedcoop.activitypub.httpsig_common import http_date, sign_bytes
from fedcoop.activitypub.httpsig_errors import SignatureError
from fedcoop.activitypub.keys import (
    PrivateKey,
    PublicKey,
    generate_ed25519_private_key,
    generate_rsa_private_key,
)

NOW = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
KEY_ID = "https://coop.example/users/ana#main-key"
BODY = b'{"type":"Follow","actor":"https://coop.example/users/ana"}'
PATH = "/users/bob/inbox"
HOST = "peer.example"
TARGET = f"https://{HOST}{PATH}"


@cache
def rsa_key() -> rsa.RSAPrivateKey:
    return generate_rsa_private_key()


@cache
def other_rsa_key() -> rsa.RSAPrivateKey:
    return generate_rsa_private_key()


@cache
def ed_key() -> ed25519.Ed25519PrivateKey:
    return generate_ed25519_private_key()


def signed(
    key: PrivateKey, body: bytes | None = BODY, method: str = "POST", **kwargs: Any
) -> dict[str, str]:
    headers = {"Host": HOST}
    headers.update(sign_request_rfc9421(method, TARGET, headers, body, KEY_ID, key, NOW, **kwargs))
    return headers


def verify(
    headers: dict[str, str],
    key: PublicKey,
    body: bytes | None = BODY,
    *,
    method: str = "POST",
    target_uri: str = TARGET,
    now: datetime = NOW,
) -> ParsedSignature:
    return verify_request(method, PATH, headers, body, key, now, target_uri=target_uri)


def reason_of(call: Callable[[], object]) -> str:
    with pytest.raises(SignatureError) as caught:
        call()
    return caught.value.reason


@pytest.mark.parametrize("key", [rsa_key, ed_key], ids=["rsa-v1_5-sha256", "ed25519"])
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_round_trip(key: Callable[[], PrivateKey], method: str) -> None:
    body = BODY if method == "POST" else None
    headers = signed(key(), body, method)
    assert ("Content-Digest" in headers) is (body is not None)
    parsed = verify(headers, key().public_key(), body, method=method)
    assert (parsed.scheme, parsed.key_id, parsed.label) == ("rfc9421", KEY_ID, "sig1")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"body": BODY + b" "}, "bad_digest"),
        ({"target_uri": "https://proxy.internal" + PATH}, "bad_signature"),
        ({"method": "PUT"}, "bad_signature"),
        ({"now": NOW + timedelta(hours=1, seconds=1)}, "expired"),
        ({"now": NOW - timedelta(hours=1, seconds=1)}, "future"),
        ({"content-digest": make_content_digest_header(BODY, "sha-512")}, "bad_signature"),
        ({"key": "other rsa"}, "bad_signature"),
    ],
    ids=lambda value: str(value)[:40],
)
@pytest.mark.parametrize("key", [rsa_key, ed_key], ids=["rsa", "ed25519"])
def test_one_change_fails_with_its_reason(
    key: Callable[[], PrivateKey], change: dict[str, Any], reason: str
) -> None:
    headers = signed(key())
    if "content-digest" in change:
        headers["Content-Digest"] = change["content-digest"]
    public = other_rsa_key().public_key() if "key" in change else key().public_key()
    if "key" in change and key is ed_key:
        reason = "unsupported_algorithm"  # alg="ed25519" cannot be checked with an RSA key

    def call() -> object:
        return verify(
            headers,
            public,
            change.get("body", BODY),
            method=change.get("method", "POST"),
            target_uri=change.get("target_uri", TARGET),
            now=change.get("now", NOW),
        )

    assert reason_of(call) == reason


def test_explicit_expires_extends_and_limits_the_window() -> None:
    headers = signed(ed_key(), expires=NOW + timedelta(hours=3))
    verify(headers, ed_key().public_key(), now=NOW + timedelta(hours=2))
    late = NOW + timedelta(hours=3, seconds=1)
    assert reason_of(lambda: verify(headers, ed_key().public_key(), now=late)) == "expired"


@pytest.mark.parametrize(
    ("components", "reason"),
    [
        (["@target-uri", "content-digest"], "headers_not_covered"),
        (["@method", "content-digest"], "headers_not_covered"),
        (["@method", "@path", "content-digest"], "headers_not_covered"),
        (["@method", "@target-uri"], "headers_not_covered"),
        (["@method", "@path", "@authority", "content-digest"], None),
    ],
)
def test_required_coverage(components: list[str], reason: str | None) -> None:
    headers = signed(rsa_key(), components=components)
    if reason is None:
        verify(headers, rsa_key().public_key())
    else:
        assert reason_of(lambda: verify(headers, rsa_key().public_key())) == reason


def test_fedify_style_signature_input_verifies_with_its_own_parameter_order() -> None:
    # Fedify (shared/interop/fedify-peer/README.md): alg;keyid;created, after the components.
    headers = {
        "Host": HOST,
        "Date": http_date(NOW),
        "Content-Digest": make_content_digest_header(BODY),
    }
    inner = (
        '("@method" "@target-uri" "@authority" "host" "date" "content-digest")'
        f';alg="rsa-v1_5-sha256";keyid="{KEY_ID}";created={int(NOW.timestamp())}'
    )
    base = "\n".join(
        [
            '"@method": POST',
            f'"@target-uri": {TARGET}',
            f'"@authority": {HOST}',
            f'"host": {HOST}',
            f'"date": {headers["Date"]}',
            f'"content-digest": {headers["Content-Digest"]}',
            f'"@signature-params": {inner}',
        ]
    )
    signature = base64.b64encode(sign_bytes(rsa_key(), base.encode())).decode()
    headers["Signature-Input"] = f"sig1={inner}"
    headers["Signature"] = f"sig1=:{signature}:"
    parsed = verify(headers, rsa_key().public_key())
    assert parsed.signing_string.decode() == base


def edit_input(old: str, new: str) -> Callable[[dict[str, str]], object]:
    return lambda h: h.update({"Signature-Input": h["Signature-Input"].replace(old, new)})


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (edit_input('alg="ed25519"', 'alg="hmac-sha256"'), "unsupported_algorithm"),
        (edit_input(f";created={int(NOW.timestamp())}", ""), "malformed"),
        (edit_input(KEY_ID, "acct:ana@coop.example"), "acct_keyid"),
        (edit_input("sig1=", "other="), "malformed"),
        (lambda h: h.pop("Signature"), "malformed"),
        (lambda h: h.pop("Content-Digest"), "missing_digest"),
        (lambda h: h.update({"Signature-Input": "sig1="}), "malformed"),
        (lambda h: h.update({"Signature": "sig1=:AAAA=:"}), "malformed"),
        (lambda h: h.update({"Signature": "sig1=:AAAA:"}), None),  # wrong bytes: later, crypto
    ],
    ids=[
        "hmac",
        "no created",
        "acct",
        "label",
        "no signature",
        "no digest",
        "empty input",
        "bad b64",
        "short",
    ],
)
def test_refusals_need_no_key(
    mutate: Callable[[dict[str, str]], object], reason: str | None
) -> None:
    headers = signed(ed_key())
    mutate(headers)

    def parse() -> ParsedSignature:
        return parse_signature_headers("POST", PATH, headers, BODY, target_uri=TARGET)

    if reason is None:
        parsed = parse()
        assert reason_of(lambda: verify_parsed(parsed, ed_key().public_key(), NOW)) == (
            "bad_signature"
        )
    else:
        assert reason_of(parse) == reason


def test_signature_input_selects_rfc9421_and_target_uri_defaults_to_https_host_path() -> None:
    headers = signed(ed_key())
    parsed = parse_signature_headers("POST", PATH, headers, BODY)
    assert parsed.scheme == "rfc9421"
    verify_parsed(parsed, ed_key().public_key(), NOW)
