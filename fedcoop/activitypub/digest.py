"""Body digests: the draft-cavage `Digest` header and RFC 9530 `Content-Digest`.

Both are compared with the body bytes exactly as received (PROTOCOL.md section 2). SHA-256 and
SHA-512 are accepted; other algorithms are ignored when a supported one is also present, and
refused (`bad_digest`) when none is. Every supported entry present must match.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from typing import Final

from fedcoop.activitypub.httpsig_errors import SignatureError
from fedcoop.activitypub.structured_fields import (
    StructuredFieldError,
    parse_dictionary,
    strict_b64decode,
    strict_byte_sequence,
)

# Keys are lower-case: `Digest` names are case-insensitive (RFC 3230 section 4.1.1; Mastodon and
# Fedify send `SHA-256`, some servers `sha-256`), and RFC 9530 keys are lower-case by syntax.
_HASHES: Final[dict[str, Callable[[bytes], bytes]]] = {
    "sha-256": lambda body: hashlib.sha256(body).digest(),
    "sha-512": lambda body: hashlib.sha512(body).digest(),
}


def make_digest_header(body: bytes) -> str:
    """`Digest` value for an outgoing request: `SHA-256=<base64>` (what Mastodon expects)."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def make_content_digest_header(body: bytes, algorithm: str = "sha-256") -> str:
    """RFC 9530 `Content-Digest` value, e.g. `sha-256=:<base64>:`."""
    algorithm = algorithm.lower()
    if algorithm not in _HASHES:
        raise ValueError(f"unsupported digest algorithm {algorithm!r}")
    return f"{algorithm}=:{base64.b64encode(_HASHES[algorithm](body)).decode('ascii')}:"


def _check(body: bytes, entries: list[tuple[str, bytes]], header: str) -> None:
    supported = [(alg, value) for alg, value in entries if alg in _HASHES]
    if not supported:
        names = ", ".join(alg for alg, _ in entries) or "none"
        raise SignatureError("bad_digest", f"{header}: no supported algorithm ({names})")
    for alg, expected in supported:
        if not hmac.compare_digest(_HASHES[alg](body), expected):
            raise SignatureError("bad_digest", f"{header} {alg} does not match the body")


def verify_digest_header(body: bytes, header_value: str) -> None:
    """Check a draft-cavage `Digest: SHA-256=<b64>[, SHA-512=<b64>]` against the body."""
    entries: list[tuple[str, bytes]] = []
    for part in header_value.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or not name:
            raise SignatureError("malformed", f"Digest entry {part.strip()!r} has no value")
        try:
            decoded = strict_b64decode(value.strip())
        except ValueError as exc:
            raise SignatureError("malformed", f"Digest {name} is not Base64") from exc
        entries.append((name.strip().lower(), decoded))
    _check(body, entries, "Digest")


def verify_content_digest(body: bytes, header_value: str) -> None:
    """Check an RFC 9530 `Content-Digest` (a Structured Field dictionary) against the body.

    An upper-case key such as `SHA-256=:...:` is not a valid dictionary and is `malformed`
    (Mastodon answers it with 400).
    """
    try:
        members = parse_dictionary(header_value)
        entries = [(key, strict_byte_sequence(member)) for key, member in members.items()]
    except StructuredFieldError as exc:
        raise SignatureError("malformed", f"Content-Digest: {exc}") from exc
    _check(body, entries, "Content-Digest")
