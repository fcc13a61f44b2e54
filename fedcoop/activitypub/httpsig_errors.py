"""The one error type of HTTP signature and digest checking, with its reason codes.

Verification either returns normally or raises `SignatureError` carrying a short, stable reason code
that the inbox stores with the rejected request and maps to a 401 (DESIGN.md, habit 3).
"""

from __future__ import annotations

from typing import Final, Literal, get_args

Reason = Literal[
    "unsigned",  # no Signature / Signature-Input header at all
    "malformed",  # a signature, date or digest header that cannot be parsed
    "bad_digest",  # Digest / Content-Digest does not match the body, or no usable algorithm
    "missing_digest",  # a request with a body carries no Digest / Content-Digest
    "expired",  # older than the accepted window, or past its explicit `expires`
    "future",  # created more than the accepted skew in the future
    "unsupported_algorithm",  # an algorithm we do not verify, or one that does not fit the key
    "headers_not_covered",  # a header or component we require is not signed
    "bad_signature",  # the cryptographic check failed
    "key_unavailable",  # the caller could not fetch the key (raised by the federation layer)
    "signer_mismatch",  # the key's owner is not the activity's actor (federation layer)
    "acct_keyid",  # keyId is an acct: URI, which cannot be dereferenced to a key
]

REASONS: Final[frozenset[str]] = frozenset(get_args(Reason))


class SignatureError(Exception):
    """An HTTP signature or body digest that does not authenticate the request."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown signature error reason {reason!r}")
        self.reason: Reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)
