"""Digest and Content-Digest: published RFC 9530 values, round trips and tampering."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fedcoop.activitypub.digest import (
    make_content_digest_header,
    make_digest_header,
    verify_content_digest,
    verify_digest_header,
)
from fedcoop.activitypub.httpsig_errors import SignatureError
from tests.support.shared import vectors_dir

VECTORS = vectors_dir()


def load(name: str) -> dict[str, Any]:
    path = VECTORS / name
    if not path.exists():
        pytest.fail(f"test vectors not found at {path} (set FEDCOOP_VECTORS)")
    return json.loads(path.read_text())


def rfc9530_vectors(verifies: bool) -> list[dict[str, Any]]:
    path = VECTORS / "rfc9530.json"
    if not path.exists():
        return []
    return [v for v in json.loads(path.read_text())["vectors"] if v["verifies"] is verifies]


HELLO = b'{"hello": "world"}'
HELLO_SHA256 = "X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="


@pytest.mark.parametrize("vector", rfc9530_vectors(True), ids=lambda v: v["id"])
def test_published_digest_values_verify_or_are_refused_as_unsupported(
    vector: dict[str, Any],
) -> None:
    body = bytes.fromhex(vector["input_hex"])
    if vector["algorithm"] in ("sha-256", "sha-512"):
        verify_content_digest(body, vector["field_member"])
        assert make_content_digest_header(body, vector["algorithm"]) == vector["field_member"]
        legacy = f"{vector['algorithm'].upper()}={vector['digest_value_b64']}"
        verify_digest_header(body, legacy)
    else:
        # md5, sha, unixsum, ...: deprecated or insecure, never enough on their own.
        with pytest.raises(SignatureError) as caught:
            verify_content_digest(body, vector["field_member"])
        assert caught.value.reason == "bad_digest"


@pytest.mark.parametrize("vector", rfc9530_vectors(False), ids=lambda v: v["id"])
def test_published_values_that_do_not_reproduce_are_refused(vector: dict[str, Any]) -> None:
    body = bytes.fromhex(vector["input_hex"])
    with pytest.raises(SignatureError) as caught:
        verify_content_digest(body, vector["field_member"])
    # B.5's extra "=" is malformed Base64; the others are honest mismatches.
    assert caught.value.reason in ("bad_digest", "malformed")


def test_extra_padding_in_rfc9530_b5_is_malformed_not_accepted() -> None:
    body = b'{"hello": "world"}\n'
    with pytest.raises(SignatureError) as caught:
        verify_content_digest(body, "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg==:")
    assert caught.value.reason == "malformed"
    verify_content_digest(body, "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:")


def test_rfc9421_messages_content_digest_checks() -> None:
    data = load("rfc9421.json")
    for check in data["content_digest_checks"]:
        body = data["messages"][check["message"]]["body"].encode()
        verify_content_digest(body, check["content_digest"])


def test_make_digest_header_matches_draft_cavage_example() -> None:
    assert make_digest_header(HELLO) == f"SHA-256={HELLO_SHA256}"


@pytest.mark.parametrize(
    "header",
    [
        f"SHA-256={HELLO_SHA256}",
        f"sha-256={HELLO_SHA256}",
        f"Sha-256={HELLO_SHA256}",
        f"MD5=Sd/dVLAcvNLSq16eXua5uQ==, SHA-256={HELLO_SHA256}",
        "SHA-512=WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==",
    ],
)
def test_digest_header_accepts_case_insensitive_names_and_several_entries(header: str) -> None:
    verify_digest_header(HELLO, header)


def test_content_digest_with_several_members_checks_every_supported_one() -> None:
    good_256 = make_content_digest_header(HELLO)
    good_512 = make_content_digest_header(HELLO, "sha-512")
    verify_content_digest(HELLO, f"{good_256}, {good_512}")
    wrong_512 = make_content_digest_header(HELLO + b" ", "sha-512")
    with pytest.raises(SignatureError) as caught:
        verify_content_digest(HELLO, f"{good_256}, {wrong_512}")
    assert caught.value.reason == "bad_digest"


@pytest.mark.parametrize("make", [make_digest_header, make_content_digest_header])
def test_one_changed_byte_of_the_body_is_a_bad_digest(make: Any) -> None:
    header = make(HELLO)
    tampered = HELLO.replace(b"world", b"World")
    verify = verify_digest_header if make is make_digest_header else verify_content_digest
    verify(HELLO, header)
    with pytest.raises(SignatureError) as caught:
        verify(tampered, header)
    assert caught.value.reason == "bad_digest"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("MD5=Sd/dVLAcvNLSq16eXua5uQ==", "bad_digest"),
        ("SHA-256", "malformed"),
        ("SHA-256=not base64!", "malformed"),
    ],
)
def test_digest_header_refusals(header: str, reason: str) -> None:
    with pytest.raises(SignatureError) as caught:
        verify_digest_header(HELLO, header)
    assert caught.value.reason == reason


def test_upper_case_content_digest_key_is_malformed_like_mastodon() -> None:
    with pytest.raises(SignatureError) as caught:
        verify_content_digest(HELLO, f"SHA-256=:{HELLO_SHA256}:")
    assert caught.value.reason == "malformed"
