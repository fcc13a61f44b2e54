"""draft-cavage: sign, verify, then change one thing and expect the right reason code."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from fedcoop.activitypub.digest import make_content_digest_header, make_digest_header
from fedcoop.activitypub.httpsig import (
    ParsedSignature,
    check_freshness,
    parse_signature_headers,
    sign_request,
    verify_parsed,
    verify_request,
)
from fedcoop.activitypub.httpsig_cavage import signing_string
from fedcoop.activitypub.httpsig_common import field_lines, http_date, sign_bytes
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


@cache
def rsa_key() -> rsa.RSAPrivateKey:
    return generate_rsa_private_key()


@cache
def other_rsa_key() -> rsa.RSAPrivateKey:
    return generate_rsa_private_key()


@cache
def ed_key() -> ed25519.Ed25519PrivateKey:
    return generate_ed25519_private_key()


def signed_post(**kwargs: Any) -> dict[str, str]:
    headers = {"Host": HOST, "Content-Type": "application/activity+json"}
    headers.update(sign_request("POST", PATH, headers, BODY, KEY_ID, rsa_key(), NOW, **kwargs))
    return headers


def hand_signed(
    names: str,
    key: PrivateKey,
    *,
    algorithm: str | None = "rsa-sha256",
    extra_params: str = "",
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, str]:
    """A POST signed over any header list, as other servers do it."""
    headers = headers or {"Host": HOST, "Date": http_date(NOW), "Digest": make_digest_header(BODY)}
    text = signing_string("POST", PATH, field_lines(headers), names.split(), params)
    signature = base64.b64encode(sign_bytes(key, text.encode())).decode()
    alg = f'algorithm="{algorithm}",' if algorithm else ""
    headers["Signature"] = (
        f'keyId="{KEY_ID}",{alg}{extra_params}headers="{names}",signature="{signature}"'
    )
    return headers


def reason_of(call: Callable[[], object]) -> str:
    with pytest.raises(SignatureError) as caught:
        call()
    return caught.value.reason


def verify(
    headers: Any,
    body: bytes | None = BODY,
    *,
    method: str = "POST",
    path: str = PATH,
    key: PublicKey | None = None,
    now: datetime = NOW,
) -> ParsedSignature:
    public = key if key is not None else rsa_key().public_key()
    return verify_request(method, path, headers, body, public, now)


def test_post_round_trip_signs_what_protocol_md_says() -> None:
    headers = signed_post()
    assert headers["Date"] == "Fri, 01 Mar 2024 12:00:00 GMT"
    assert headers["Digest"] == make_digest_header(BODY)
    assert 'algorithm="rsa-sha256"' in headers["Signature"]
    assert 'headers="(request-target) host date digest"' in headers["Signature"]
    parsed = verify(headers)
    assert (parsed.scheme, parsed.key_id, parsed.created) == ("cavage", KEY_ID, NOW)


def test_get_round_trip_adds_host_when_missing() -> None:
    added = sign_request("GET", "/users/ana", {}, None, KEY_ID, rsa_key(), NOW, host=HOST)
    assert added["Host"] == HOST
    assert "Digest" not in added
    assert 'headers="(request-target) host date"' in added["Signature"]
    verify(added, None, method="GET", path="/users/ana")
    with pytest.raises(ValueError):
        sign_request("GET", "/users/ana", {}, None, KEY_ID, rsa_key(), NOW)


def test_header_names_are_case_insensitive_and_multidict_pairs_work() -> None:
    verify({name.upper(): value for name, value in signed_post().items()})
    verify(list(signed_post().items()))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"body": BODY.replace(b"Follow", b"Fellow")}, "bad_digest"),
        ({"headers": {"Host": "evil.example"}}, "bad_signature"),
        ({"headers": {"Date": http_date(NOW - timedelta(minutes=1))}}, "bad_signature"),
        ({"headers": {"Digest": make_digest_header(BODY + b" ")}}, "bad_digest"),
        ({"now": NOW + timedelta(hours=1, seconds=1)}, "expired"),
        ({"now": NOW - timedelta(hours=1, seconds=1)}, "future"),
        ({"path": "/inbox"}, "bad_signature"),
        ({"method": "PUT"}, "bad_signature"),
        ({"key": "other rsa"}, "bad_signature"),
        ({"key": "ed25519"}, "unsupported_algorithm"),  # rsa-sha256 declared, Ed25519 key
    ],
    ids=lambda value: str(value)[:40],
)
def test_one_change_fails_with_its_reason(change: dict[str, Any], reason: str) -> None:
    headers = {**signed_post(), **change.get("headers", {})}
    keys: dict[str, PublicKey] = {
        "other rsa": other_rsa_key().public_key(),
        "ed25519": ed_key().public_key(),
    }
    call = lambda: verify(  # noqa: E731
        headers,
        change.get("body", BODY),
        method=change.get("method", "POST"),
        path=change.get("path", PATH),
        key=keys.get(change.get("key", "")),
        now=change.get("now", NOW),
    )
    assert reason_of(call) == reason


def test_window_edges_are_inclusive() -> None:
    verify(signed_post(), now=NOW + timedelta(hours=1))
    verify(signed_post(), now=NOW - timedelta(hours=1))


def test_query_quirk_accepts_a_signature_over_the_path_alone() -> None:
    # Fedify signs (request-target) without the query string; PROTOCOL.md retries that way once.
    target = "/outbox?page=2"
    fedify_style = {"Host": HOST}
    fedify_style.update(
        sign_request("GET", target, fedify_style, None, KEY_ID, rsa_key(), NOW, sign_query=False)
    )
    assert verify(fedify_style, None, method="GET", path=target).fallback_signing_string
    signed = {"Host": HOST}
    signed.update(sign_request("GET", target, signed, None, KEY_ID, rsa_key(), NOW))
    verify(signed, None, method="GET", path=target)
    other_query = lambda: verify(signed, None, method="GET", path="/outbox?page=3")  # noqa: E731
    assert reason_of(other_query) == "bad_signature"


@pytest.mark.parametrize("algorithm", ["hs2019", None])
@pytest.mark.parametrize("key", [rsa_key, ed_key], ids=["rsa", "ed25519"])
def test_hs2019_and_absent_algorithm_follow_the_key_type(algorithm: str | None, key: Any) -> None:
    headers = hand_signed("(request-target) host date digest", key(), algorithm=algorithm)
    verify(headers, key=key().public_key())


@pytest.mark.parametrize(
    "names",
    [
        "(request-target) host date digest",  # Fedify peer's /_peer/deliver (raw)
        "(request-target) content-type date digest host",  # Fedify itself
        "(request-target) date digest",  # host need not be signed on a POST
        "host date digest (request-target)",  # Mastodon's order
    ],
)
def test_header_lists_other_servers_send_are_verified_exactly(names: str) -> None:
    headers = {
        "Host": HOST,
        "Date": http_date(NOW),
        "Digest": make_digest_header(BODY),
        "Content-Type": "application/activity+json",
    }
    parsed = verify(hand_signed(names, rsa_key(), headers=headers))
    assert parsed.covered == tuple(names.split())


def test_content_digest_may_stand_in_for_digest() -> None:
    headers = {
        "Host": HOST,
        "Date": http_date(NOW),
        "Content-Digest": make_content_digest_header(BODY),
    }
    verify(hand_signed("(request-target) host date content-digest", rsa_key(), headers=headers))


@pytest.mark.parametrize(
    ("expires_in_hours", "now_in_hours", "accepted"),
    [(6, 5, True), (6, 7, False), (24, 11, True), (24, 13, False)],
)
def test_signed_expires_is_honoured_up_to_12_hours(
    expires_in_hours: int, now_in_hours: int, accepted: bool
) -> None:
    created = int(NOW.timestamp())
    params = {"created": str(created), "expires": str(created + expires_in_hours * 3600)}
    headers = hand_signed(
        "(request-target) host (created) (expires) digest",
        ed_key(),
        algorithm="hs2019",
        extra_params=f"created={params['created']},expires={params['expires']},",
        params=params,
    )
    call = lambda: verify(  # noqa: E731
        headers, key=ed_key().public_key(), now=NOW + timedelta(hours=now_in_hours)
    )
    if accepted:
        call()
    else:
        assert reason_of(call) == "expired"


def test_an_unsigned_expires_cannot_extend_the_window() -> None:
    later = int((NOW + timedelta(hours=12)).timestamp())
    headers = hand_signed(
        "(request-target) host date digest", rsa_key(), extra_params=f"expires={later},"
    )
    parsed = parse_signature_headers("POST", PATH, headers, BODY)
    assert parsed.expires is None
    assert reason_of(lambda: check_freshness(parsed, NOW + timedelta(hours=2))) == "expired"


def replace_in_signature(old: str, new: str) -> Callable[[dict[str, str]], object]:
    return lambda h: h.update(Signature=h["Signature"].replace(old, new))


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda h: h.pop("Signature"), "unsigned"),
        (replace_in_signature(KEY_ID, "acct:ana@coop.example"), "acct_keyid"),
        (replace_in_signature("rsa-sha256", "rsa-sha512"), "unsupported_algorithm"),
        (replace_in_signature("(request-target) ", ""), "headers_not_covered"),
        (replace_in_signature(" digest", ""), "headers_not_covered"),
        (replace_in_signature(" date", ""), "headers_not_covered"),
        (lambda h: h.pop("Digest"), "missing_digest"),
        (lambda h: h.update(Signature="garbage"), "malformed"),
        (replace_in_signature('signature="', 'signature="!'), "malformed"),
        (lambda h: h.pop("Date"), "malformed"),
        (lambda h: h.update(Date="yesterday"), "malformed"),
    ],
    ids=[
        "unsigned",
        "acct",
        "algorithm",
        "no target",
        "no digest",
        "no date",
        "digest gone",
        "garbage",
        "b64",
        "date gone",
        "date junk",
    ],
)
def test_refusals_need_no_key(mutate: Callable[[dict[str, str]], object], reason: str) -> None:
    headers = signed_post()
    mutate(headers)
    assert reason_of(lambda: parse_signature_headers("POST", PATH, headers, BODY)) == reason


def test_a_get_must_sign_host() -> None:
    headers = {"Host": HOST, "Date": http_date(NOW)}
    text = signing_string("GET", "/users/ana", field_lines(headers), ["(request-target)", "date"])
    signature = base64.b64encode(sign_bytes(rsa_key(), text.encode())).decode()
    headers["Signature"] = (
        f'keyId="{KEY_ID}",headers="(request-target) date",signature="{signature}"'
    )
    call = lambda: parse_signature_headers("GET", "/users/ana", headers, None)  # noqa: E731
    assert reason_of(call) == "headers_not_covered"


def test_naive_now_is_a_programming_error() -> None:
    parsed = parse_signature_headers("POST", PATH, signed_post(), BODY)
    with pytest.raises(ValueError):
        verify_parsed(parsed, rsa_key().public_key(), datetime(2024, 3, 1, 12))
