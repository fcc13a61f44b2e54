"""RFC 9421 HTTP Message Signatures (`Signature-Input` + `Signature`): verify and sign requests.

Fedify knocks with RFC 9421 first and falls back to draft-cavage on any status >= 400, so a
request we cannot verify here must end in 401, never 2xx (PROTOCOL.md section 2).

Incoming, fedcoop requires: algorithm `rsa-v1_5-sha256` or `ed25519` (or no `alg`, when the key
type decides, as Mastodon does); a `created` parameter; coverage of `@method` and `@target-uri`
(or `@path` and `@authority`); and `content-digest` on a request with a body, matching the body.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from http_sfv.item import InnerList, Item

from fedcoop.activitypub.digest import make_content_digest_header, verify_content_digest
from fedcoop.activitypub.httpsig_common import (
    FieldLines,
    HeaderInput,
    ParsedSignature,
    Primitive,
    check_time_window,
    combined_value,
    field_lines,
    from_unix,
    has_body,
    primitive_for_key,
    refuse_acct_key_id,
    require_aware,
    sign_bytes,
    verify_parsed_crypto,
)
from fedcoop.activitypub.httpsig_errors import SignatureError
from fedcoop.activitypub.httpsig_rfc9421_base import HttpMessage, signature_base
from fedcoop.activitypub.keys import PrivateKey, PublicKey
from fedcoop.activitypub.structured_fields import (
    DictionaryMember,
    StructuredFieldError,
    parse_dictionary,
    strict_byte_sequence,
)

ALGORITHMS: Final[dict[str, Primitive]] = {
    "rsa-v1_5-sha256": "rsa-pkcs1-sha256",
    "ed25519": "ed25519",
}


def _dictionary(lines: FieldLines, name: str) -> dict[str, DictionaryMember]:
    value = combined_value(lines, name)
    if value is None:
        raise SignatureError("malformed", f"{name} is missing")
    try:
        return parse_dictionary(value)
    except StructuredFieldError as exc:
        raise SignatureError("malformed", f"{name}: {exc}") from exc


def _pick_label(
    inputs: dict[str, DictionaryMember],
    signatures: dict[str, DictionaryMember],
    label: str | None,
) -> str:
    if label is not None:
        if label not in inputs:
            raise SignatureError("unsigned", f"no signature labelled {label!r}")
        return label
    # The first complete signature is the sender's; a proxy appends its own after it.
    for candidate in inputs:
        if candidate in signatures:
            return candidate
    raise SignatureError("malformed", "no Signature-Input label has a Signature")


def _signature_bytes(signatures: dict[str, DictionaryMember], label: str) -> bytes:
    member = signatures.get(label)
    if member is None:
        raise SignatureError("malformed", f"Signature has no {label!r} member")
    try:
        return strict_byte_sequence(member)
    except StructuredFieldError as exc:
        raise SignatureError("malformed", f"Signature {label}: {exc}") from exc


def _string_param(params: dict[str, object], name: str) -> str | None:
    value = params.get(name)
    if value is not None and not isinstance(value, str):
        raise SignatureError("malformed", f"{name} parameter must be a string")
    return value


def _check_coverage(covered: set[str], method: str, lines: FieldLines, body: bytes | None) -> None:
    if '"@method"' not in covered:
        raise SignatureError("headers_not_covered", "@method is not signed")
    if '"@target-uri"' not in covered and not {'"@path"', '"@authority"'} <= covered:
        raise SignatureError("headers_not_covered", "neither @target-uri nor @path+@authority")
    if not has_body(method, body):
        return
    value = combined_value(lines, "content-digest")
    if value is None:
        raise SignatureError("missing_digest", "a request with a body needs a Content-Digest")
    if '"content-digest"' not in covered:
        raise SignatureError("headers_not_covered", "content-digest is not signed")
    verify_content_digest(body or b"", value)


def parse_rfc9421(
    method: str,
    target_uri: str,
    headers: HeaderInput,
    body: bytes | None,
    *,
    label: str | None = None,
    lines: FieldLines | None = None,
) -> ParsedSignature:
    """Read and check an RFC 9421 signature and build its base; the key is needed only later.

    `target_uri` is the absolute URI the sender addressed (`https://host/path?query`), rebuilt
    by the caller from the configured public scheme and host, never from proxy headers.
    `lines`, when given, are `headers` already normalised by `field_lines`.
    """
    if lines is None:
        lines = field_lines(headers)
    if "signature-input" not in lines:
        raise SignatureError("unsigned", "no Signature-Input header")
    inputs = _dictionary(lines, "signature-input")
    signatures = _dictionary(lines, "signature")
    chosen = _pick_label(inputs, signatures, label)
    signature = _signature_bytes(signatures, chosen)
    member = inputs[chosen]
    if not isinstance(member.value, InnerList):
        raise SignatureError("malformed", f"Signature-Input {chosen} is not an inner list")
    params: dict[str, object] = dict(member.value.params)
    key_id = _string_param(params, "keyid")
    if key_id is None:
        raise SignatureError("malformed", "keyid parameter is required")
    refuse_acct_key_id(key_id)
    algorithm = _string_param(params, "alg")
    if algorithm is not None and algorithm not in ALGORITHMS:
        raise SignatureError("unsupported_algorithm", f"alg {algorithm!r}")
    if "created" not in params:
        raise SignatureError("malformed", "created parameter is required")
    created = from_unix(params["created"], "created")
    expires = from_unix(params["expires"], "expires") if "expires" in params else None
    covered = tuple(str(item) for item in member.value)
    _check_coverage(set(covered), method, lines, body)
    message = HttpMessage(fields=lines, method=method, target_uri=target_uri)
    base = signature_base(message, member.value, member.raw)
    return ParsedSignature(
        scheme="rfc9421",
        key_id=key_id,
        algorithm=algorithm,
        covered=covered,
        created=created,
        expires=expires,
        signature=signature,
        signing_string=base.encode("utf-8"),
        label=chosen,
    )


def rfc9421_primitive(algorithm: str | None, public_key: PublicKey) -> Primitive:
    if algorithm is None:
        return primitive_for_key(public_key)  # RFC 9421 section 3.2: the key may imply it
    return ALGORITHMS[algorithm]


def verify_rfc9421(parsed: ParsedSignature, public_key: PublicKey, now: datetime) -> None:
    check_time_window(parsed.created, parsed.expires, now)
    verify_parsed_crypto(parsed, rfc9421_primitive(parsed.algorithm, public_key), public_key)


def sign_request_rfc9421(
    method: str,
    target_uri: str,
    headers: HeaderInput,
    body: bytes | None,
    key_id: str,
    private_key: PrivateKey,
    now: datetime,
    *,
    label: str = "sig1",
    components: Sequence[str] | None = None,
    expires: datetime | None = None,
) -> dict[str, str]:
    """Headers to add for an RFC 9421 signature: `Content-Digest` (with a body), the pair.

    Covers `@method`, `@target-uri` and, with a body, `content-digest` unless `components`
    (plain names such as `"@authority"` or `"date"`) says otherwise.
    """
    lines = field_lines(headers)
    added: dict[str, str] = {}
    if body is not None:
        added["Content-Digest"] = make_content_digest_header(body)
        lines["content-digest"] = [added["Content-Digest"]]
    if components is None:
        components = ["@method", "@target-uri"] + (["content-digest"] if body is not None else [])
    inner = InnerList([Item(name) for name in components])
    inner.params["created"] = int(require_aware(now).timestamp())
    if expires is not None:
        inner.params["expires"] = int(require_aware(expires).timestamp())
    inner.params["keyid"] = key_id
    inner.params["alg"] = {"rsa-pkcs1-sha256": "rsa-v1_5-sha256", "ed25519": "ed25519"}[
        primitive_for_key(private_key)
    ]
    params_text = str(inner)
    message = HttpMessage(fields=lines, method=method, target_uri=target_uri)
    base = signature_base(message, inner, params_text)
    signature = base64.b64encode(sign_bytes(private_key, base.encode("utf-8"))).decode("ascii")
    added["Signature-Input"] = f"{label}={params_text}"
    added["Signature"] = f"{label}=:{signature}:"
    return added
