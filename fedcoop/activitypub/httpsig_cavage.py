"""draft-cavage-http-signatures-12 (`Signature:` header), the scheme every fediverse server speaks.

Outgoing: `rsa-sha256` over `(request-target) host date digest` (POST) or
`(request-target) host date` (GET), as Mastodon and GoToSocial sign.

Incoming, fedcoop requires (PROTOCOL.md section 2):
- `(request-target)`, and `date` or `(created)`;
- `digest` (or `content-digest`) on a request with a body, matching the body;
- `host` on GET and HEAD only, like Mastodon (Fedify's inbox does not require it either);
- `algorithm` absent, `hs2019` (the key type decides the primitive) or `rsa-sha256`.
The header list the sender declared is verified exactly, in its order.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

from cryptography.hazmat.primitives.asymmetric import rsa

from fedcoop.activitypub.digest import (
    make_digest_header,
    verify_content_digest,
    verify_digest_header,
)
from fedcoop.activitypub.httpsig_common import (
    FieldLines,
    HeaderInput,
    ParsedSignature,
    Primitive,
    check_time_window,
    combined_value,
    field_lines,
    has_body,
    http_date,
    parse_http_date,
    primitive_for_key,
    refuse_acct_key_id,
    sign_bytes,
    verify_parsed_crypto,
)
from fedcoop.activitypub.httpsig_errors import SignatureError
from fedcoop.activitypub.keys import PublicKey
from fedcoop.activitypub.structured_fields import strict_b64decode

GET_HEADERS: Final = ("(request-target)", "host", "date")
POST_HEADERS: Final = ("(request-target)", "host", "date", "digest")
ALGORITHMS: Final = frozenset({"rsa-sha256", "hs2019"})
HOST_REQUIRED_METHODS: Final = frozenset({"GET", "HEAD"})

# name="quoted value" or, for draft-12's created/expires, name=1234; separated by commas.
# The quoted value is matched as runs of plain characters between escapes ("unrolled"): one
# alternation per character made a 344-character RSA signature the costliest part of intake.
_PARAM: Final = re.compile(
    r'\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"([^"\\]*(?:\\.[^"\\]*)*)"|([0-9.]+))\s*'
)
_ESCAPE: Final = re.compile(r"\\(.)")


def signing_string(
    method: str,
    request_target: str,
    lines: FieldLines,
    header_names: Sequence[str],
    params: dict[str, str] | None = None,
) -> str:
    """Build the draft-cavage section 2.3 signing string for the declared header names."""
    params = params or {}
    out: list[str] = []
    for name in header_names:
        if name == "(request-target)":
            out.append(f"(request-target): {method.lower()} {request_target}")
        elif name in ("(created)", "(expires)"):
            value = params.get(name[1:-1])
            if value is None:
                raise SignatureError("malformed", f"{name} is signed but has no parameter")
            out.append(f"{name}: {value}")
        else:
            value = combined_value(lines, name)
            if value is None:
                raise SignatureError("malformed", f"signed header {name!r} is missing")
            out.append(f"{name}: {value}")
    return "\n".join(out)


def sign_request(
    method: str,
    path_with_query: str,
    headers: HeaderInput,
    body: bytes | None,
    key_id: str,
    private_key: rsa.RSAPrivateKey,
    now: datetime,
    *,
    host: str | None = None,
    sign_query: bool = True,
) -> dict[str, str]:
    """Headers to add to a request so that it carries an `rsa-sha256` draft-cavage signature.

    Returns `Date`, `Digest` (with a body), `Host` (when `headers` has none: pass `host=`) and
    `Signature`. `sign_query=False` leaves the query out of `(request-target)`: PROTOCOL.md's
    one retry of a signed GET with a query that got 401 (Fedify verifies paths that way).
    """
    lines = field_lines(headers)
    added: dict[str, str] = {"Date": http_date(now)}
    if "host" not in lines:
        if host is None:
            raise ValueError("pass host= when the headers carry no Host")
        added["Host"] = host
    if body is not None:
        added["Digest"] = make_digest_header(body)
    for name, value in added.items():
        lines[name.lower()] = [value]
    names = POST_HEADERS if body is not None else GET_HEADERS
    target = path_with_query if sign_query else path_with_query.split("?", 1)[0]
    text = signing_string(method, target, lines, names)
    signature = base64.b64encode(sign_bytes(private_key, text.encode("utf-8"))).decode("ascii")
    added["Signature"] = (
        f'keyId="{key_id}",algorithm="rsa-sha256",'
        f'headers="{" ".join(names)}",signature="{signature}"'
    )
    return added


def parse_signature_params(value: str) -> dict[str, str]:
    """Parse `keyId="...",algorithm="...",headers="...",signature="..."` (names lower-cased)."""
    params: dict[str, str] = {}
    pos = 0
    while pos < len(value):
        match = _PARAM.match(value, pos)
        if match is None:
            raise SignatureError("malformed", "Signature header is not a parameter list")
        name = match.group(1).lower()
        if name in params:
            raise SignatureError("malformed", f"Signature parameter {name!r} repeated")
        quoted = match.group(2)
        if quoted is None:
            params[name] = match.group(3)
        else:
            params[name] = _ESCAPE.sub(r"\1", quoted) if "\\" in quoted else quoted
        pos = match.end()
        if pos < len(value):
            if value[pos] != ",":
                raise SignatureError("malformed", "Signature parameters must be comma-separated")
            pos += 1
    return params


def _signature_header(lines: FieldLines) -> str:
    value = combined_value(lines, "signature")
    if value is not None:
        return value
    authorization = combined_value(lines, "authorization") or ""
    scheme, _, rest = authorization.partition(" ")
    if scheme.lower() == "signature" and rest.strip():
        return rest.strip()  # draft-cavage section 3: the same parameters in Authorization
    raise SignatureError("unsigned", "no Signature header")


def _header_names(params: dict[str, str], algorithm: str | None) -> list[str]:
    declared = params.get("headers")
    if declared is None:
        # Missing `headers`: Mastodon and drafts <= 10 mean `date` for rsa-sha256; draft-12
        # means `(created)`, which is what hs2019 and an absent algorithm get.
        return ["date"] if algorithm == "rsa-sha256" else ["(created)"]
    names = declared.lower().split()
    if not names:
        raise SignatureError("malformed", "empty headers parameter")
    return names


def _check_coverage(method: str, names: list[str], lines: FieldLines, body: bytes | None) -> None:
    if "(request-target)" not in names:
        raise SignatureError("headers_not_covered", "(request-target) is not signed")
    if "date" not in names and "(created)" not in names:
        raise SignatureError("headers_not_covered", "neither date nor (created) is signed")
    if method.upper() in HOST_REQUIRED_METHODS and "host" not in names:
        raise SignatureError("headers_not_covered", "host is not signed on a GET")
    if not has_body(method, body):
        return
    present = [name for name in ("digest", "content-digest") if name in lines]
    if not present:
        raise SignatureError("missing_digest", "a request with a body needs a Digest")
    covered = [name for name in present if name in names]
    if not covered:
        raise SignatureError("headers_not_covered", "the Digest is not signed")
    for name in covered:
        value = combined_value(lines, name) or ""
        check = verify_digest_header if name == "digest" else verify_content_digest
        check(body or b"", value)


def _created(names: list[str], params: dict[str, str], lines: FieldLines) -> datetime:
    if "(created)" in names:
        return _timestamp_param(params, "created")
    return parse_http_date(combined_value(lines, "date") or "")


def _timestamp_param(params: dict[str, str], name: str) -> datetime:
    # draft-12 section 2.1.4/2.1.5: an integer Unix time (expires may carry a fraction).
    try:
        return datetime.fromtimestamp(float(params[name]), tz=UTC)
    except (KeyError, ValueError, OverflowError, OSError) as exc:
        raise SignatureError("malformed", f"{name} parameter missing or not a timestamp") from exc


def parse_cavage(
    method: str,
    path_with_query: str,
    headers: HeaderInput,
    body: bytes | None,
    *,
    lines: FieldLines | None = None,
) -> ParsedSignature:
    """Read and check a draft-cavage signature; the caller then fetches the key for `key_id`.

    Raises `SignatureError` for everything that needs no key: unsigned, malformed, acct:
    keyIds, unsupported algorithms, missing coverage, a missing or wrong digest. `lines`, when
    given, are `headers` already normalised by `field_lines`.
    """
    if lines is None:
        lines = field_lines(headers)
    params = parse_signature_params(_signature_header(lines))
    key_id, encoded = params.get("keyid"), params.get("signature")
    if key_id is None or encoded is None:
        raise SignatureError("malformed", "keyId and signature are required")
    refuse_acct_key_id(key_id)
    algorithm = params["algorithm"].lower() if "algorithm" in params else None
    if algorithm is not None and algorithm not in ALGORITHMS:
        raise SignatureError("unsupported_algorithm", f"algorithm {algorithm!r}")
    names = _header_names(params, algorithm)
    if algorithm == "rsa-sha256" and ("(created)" in names or "(expires)" in names):
        # draft-12 section 2.3 forbids them with rsa-*, and Mastodon refuses them too.
        raise SignatureError("malformed", "(created)/(expires) are not allowed with rsa-sha256")
    _check_coverage(method, names, lines, body)
    try:
        signature = strict_b64decode(encoded)
    except ValueError as exc:
        raise SignatureError("malformed", "signature is not Base64") from exc
    created = _created(names, params, lines)
    # An `expires` outside the signed list could be added by anyone, so only a signed one counts.
    expires = _timestamp_param(params, "expires") if "(expires)" in names else None
    text = signing_string(method, path_with_query, lines, names, params)
    fallback = None
    if "?" in path_with_query:
        # Fedify signs (request-target) without the query string; Mastodon retries this way too.
        path = path_with_query.split("?", 1)[0]
        fallback = signing_string(method, path, lines, names, params).encode("utf-8")
    return ParsedSignature(
        scheme="cavage",
        key_id=key_id,
        algorithm=algorithm,
        covered=tuple(names),
        created=created,
        expires=expires,
        signature=signature,
        signing_string=text.encode("utf-8"),
        fallback_signing_string=fallback,
    )


def cavage_primitive(algorithm: str | None, public_key: PublicKey) -> Primitive:
    if algorithm == "rsa-sha256":
        return "rsa-pkcs1-sha256"
    # hs2019 or no algorithm: the key decides (RSA: PKCS#1 v1.5 SHA-256, as Mastodon and Fedify).
    return primitive_for_key(public_key)


def verify_cavage(parsed: ParsedSignature, public_key: PublicKey, now: datetime) -> None:
    check_time_window(parsed.created, parsed.expires, now)
    verify_parsed_crypto(parsed, cavage_primitive(parsed.algorithm, public_key), public_key)
