"""HTTP signatures, the entry points: pick the scheme, parse, then verify with the fetched key.

Verification is two steps so that the caller can do its I/O in between:

    parsed = parse_signature_headers(method, path, headers, body, target_uri=...)
    key = await fetch_key(parsed.key_id)          # federation layer, cached
    verify_parsed(parsed, key, now)

Everything that needs no key (form, coverage, digest, acct: keyIds) fails in the first step, so a
request we would refuse costs no key fetch. `check_freshness` lets the caller also refuse a stale
request before fetching. Both steps raise `SignatureError` with a reason code.
"""

from __future__ import annotations

from datetime import datetime

from fedcoop.activitypub.httpsig_cavage import parse_cavage, sign_request, verify_cavage
from fedcoop.activitypub.httpsig_common import (
    FieldLines,
    HeaderInput,
    ParsedSignature,
    check_time_window,
    field_lines,
)
from fedcoop.activitypub.httpsig_errors import SignatureError
from fedcoop.activitypub.httpsig_rfc9421 import (
    parse_rfc9421,
    sign_request_rfc9421,
    verify_rfc9421,
)
from fedcoop.activitypub.keys import PublicKey

__all__ = [
    "ParsedSignature",
    "SignatureError",
    "check_freshness",
    "parse_signature_headers",
    "sign_request",
    "sign_request_rfc9421",
    "verify_parsed",
    "verify_request",
]


def parse_signature_headers(
    method: str,
    path_with_query: str,
    headers: HeaderInput,
    body: bytes | None,
    *,
    target_uri: str | None = None,
    lines: FieldLines | None = None,
) -> ParsedSignature:
    """Parse whichever signature the request carries; RFC 9421 wins when both are present.

    `path_with_query` is the request target as received (draft-cavage signs it). `target_uri`
    is the absolute URI the sender addressed, rebuilt from fedcoop's configured public scheme
    and host (RFC 9421 signs it); without it, `https://` + Host + path is assumed, as Mastodon
    does. `lines` are the headers already normalised by `field_lines`, when the caller has
    them (the inbox does): they are then used instead of `headers`.
    """
    if lines is None:
        lines = field_lines(headers)
    if "signature-input" in lines:
        if target_uri is None:
            host = (lines.get("host") or [""])[0]
            target_uri = f"https://{host}{path_with_query}"
        return parse_rfc9421(method, target_uri, (), body, lines=lines)
    return parse_cavage(method, path_with_query, (), body, lines=lines)


def check_freshness(parsed: ParsedSignature, now: datetime) -> None:
    """Refuse an expired or future-dated signature (also done by `verify_parsed`)."""
    check_time_window(parsed.created, parsed.expires, now)


def verify_parsed(parsed: ParsedSignature, public_key: PublicKey, now: datetime) -> None:
    """Check the time window and the signature itself; raises `SignatureError`."""
    if parsed.scheme == "rfc9421":
        verify_rfc9421(parsed, public_key, now)
    else:
        verify_cavage(parsed, public_key, now)


def verify_request(
    method: str,
    path_with_query: str,
    headers: HeaderInput,
    body: bytes | None,
    public_key: PublicKey,
    now: datetime,
    *,
    target_uri: str | None = None,
) -> ParsedSignature:
    """Both steps at once, for a caller that already holds the key (tests, cached keys)."""
    parsed = parse_signature_headers(method, path_with_query, headers, body, target_uri=target_uri)
    verify_parsed(parsed, public_key, now)
    return parsed
