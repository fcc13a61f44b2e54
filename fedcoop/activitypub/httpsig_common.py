"""What both HTTP signature schemes share: headers, the parsed signature, time window, crypto.

Policy (PROTOCOL.md section 2): `created` (the `Date` header, `(created)` or the RFC 9421
`created` parameter) may be at most 1 hour old and at most 1 hour in the future. Mastodon allows
about 65 minutes, Fedify 1 hour. An explicit, signed `expires` replaces the 1-hour age limit, but
never reaches more than 12 hours after `created`, and must not have passed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Final, Literal, NamedTuple, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from fedcoop.activitypub.httpsig_errors import SignatureError
from fedcoop.activitypub.keys import PrivateKey, PublicKey

MAX_AGE: Final = timedelta(hours=1)
MAX_FUTURE_SKEW: Final = timedelta(hours=1)
MAX_EXPIRES_AFTER_CREATED: Final = timedelta(hours=12)
# Methods that carry content even when it is empty: their digest must be signed (Mastodon).
BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})

Scheme = Literal["cavage", "rfc9421"]
# One name per primitive we verify, whatever the scheme calls it.
Primitive = Literal["rsa-pkcs1-sha256", "ed25519"]

HeaderInput = Mapping[str, str] | Iterable[tuple[str, str]]
# Lower-case field name -> each field line's value, trimmed, in the order received.
FieldLines = dict[str, list[str]]


# Immutable, and a NamedTuple rather than a frozen dataclass: one is built for every inbox POST,
# and a frozen dataclass takes five times as long to build.
class ParsedSignature(NamedTuple):
    """A signature read from a request, checked for form and coverage, not yet for crypto.

    `covered` holds header names for draft-cavage (`(request-target)`, `host`, ...) and
    serialized component identifiers for RFC 9421 (`"@method"`, `"content-digest"`, ...).
    `signing_string` is the exact byte string the signature must verify over;
    `fallback_signing_string` is the one alternative tried once when that fails (draft-cavage
    with the query left out of `(request-target)`, as Fedify signs).
    """

    scheme: Scheme
    key_id: str
    algorithm: str | None
    covered: tuple[str, ...]
    created: datetime
    expires: datetime | None
    signature: bytes
    signing_string: bytes
    fallback_signing_string: bytes | None = None
    label: str | None = None


def header_pairs(headers: HeaderInput) -> list[tuple[str, str]]:
    """Every field line as `(name, value)`, from a mapping, a multi-dict or a list of pairs.

    aiohttp's `CIMultiDictProxy.items()` yields each line of a repeated field separately.
    """
    return list(headers.items() if isinstance(headers, Mapping) else headers)


def field_lines(headers: HeaderInput) -> FieldLines:
    """Normalise headers: lower-case names, trimmed values, repeated fields kept in order."""
    lines: FieldLines = {}
    for name, value in header_pairs(headers):
        lines.setdefault(name.strip().lower(), []).append(value.strip(" \t"))
    return lines


def combined_value(lines: FieldLines, name: str) -> str | None:
    """A field's values joined with `, ` (draft-cavage section 2.3, RFC 9421 section 2.1)."""
    values = lines.get(name)
    return None if values is None else ", ".join(values)


def has_body(method: str, body: bytes | None) -> bool:
    return method.upper() in BODY_METHODS or bool(body)


def http_date(moment: datetime) -> str:
    """IMF-fixdate, e.g. `Wed, 20 Dec 2023 10:00:00 GMT`."""
    return format_datetime(require_aware(moment).astimezone(UTC), usegmt=True)


# IMF-fixdate (RFC 9110 section 5.6.7), what every server sends: parsed directly, as
# `email.utils` takes three times as long for it; other forms still go through `email.utils`.
_IMF_FIXDATE: Final = re.compile(
    r"[A-Z][a-z]{2}, (\d\d) ([A-Z][a-z]{2}) (\d{4}) (\d\d):(\d\d):(\d\d) GMT", re.ASCII
)
_MONTHS: Final = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}


def parse_http_date(value: str) -> datetime:
    match = _IMF_FIXDATE.fullmatch(value)
    if match is not None and match.group(2) in _MONTHS:
        day, month, year, hour, minute, second = match.groups()
        try:
            return datetime(
                int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second), tzinfo=UTC
            )
        except ValueError as exc:  # 31 Feb, hour 25, ...
            raise SignatureError("malformed", f"unparsable Date {value!r}") from exc
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError) as exc:
        raise SignatureError("malformed", f"unparsable Date {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def from_unix(value: object, what: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SignatureError("malformed", f"{what} is not an integer timestamp")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise SignatureError("malformed", f"{what} is out of range") from exc


def require_aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("pass a timezone-aware datetime (fedcoop never guesses the zone)")
    return moment


def check_time_window(created: datetime, expires: datetime | None, now: datetime) -> None:
    """Raise `future` or `expired` unless `now` is inside the accepted window."""
    now = require_aware(now)
    if created - now > MAX_FUTURE_SKEW:
        raise SignatureError("future", f"created {created.isoformat()} is in the future")
    deadline = created + MAX_AGE
    if expires is not None:
        deadline = min(expires, created + MAX_EXPIRES_AFTER_CREATED)
    if now > deadline:
        raise SignatureError("expired", f"signature valid until {deadline.isoformat()}")


def primitive_for_key(key: PublicKey | PrivateKey) -> Primitive:
    """The only primitive each key type is used with in the fediverse."""
    primitive = _primitive_for_type(type(key))
    if primitive is None:
        raise SignatureError("unsupported_algorithm", f"unsupported key type {type(key).__name__}")
    return primitive


@functools.cache
def _primitive_for_type(cls: type) -> Primitive | None:
    # Keyed by the concrete class: the key types are ABCs, and checking an instance against
    # an ABC on every request costs more than the rest of this module's bookkeeping.
    if issubclass(cls, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return "rsa-pkcs1-sha256"
    if issubclass(cls, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return "ed25519"
    return None


_PKCS1: Final = padding.PKCS1v15()
_SHA256: Final = hashes.SHA256()


def sign_bytes(private_key: PrivateKey, data: bytes) -> bytes:
    if isinstance(private_key, rsa.RSAPrivateKey):
        return private_key.sign(data, _PKCS1, _SHA256)
    return private_key.sign(data)


def verify_bytes(primitive: Primitive, public_key: PublicKey, data: bytes, sig: bytes) -> bool:
    """True when `sig` is a valid signature of `data`; a key of the wrong type is refused."""
    if primitive_for_key(public_key) != primitive:
        raise SignatureError(
            "unsupported_algorithm", f"{primitive} cannot be verified with this key type"
        )
    try:
        if primitive == "rsa-pkcs1-sha256":
            cast(rsa.RSAPublicKey, public_key).verify(sig, data, _PKCS1, _SHA256)
        else:
            cast(ed25519.Ed25519PublicKey, public_key).verify(sig, data)
    except InvalidSignature:
        return False
    return True


def verify_parsed_crypto(parsed: ParsedSignature, primitive: Primitive, key: PublicKey) -> None:
    """Check the signature over the signing string, then once over the fallback if any."""
    if verify_bytes(primitive, key, parsed.signing_string, parsed.signature):
        return
    fallback = parsed.fallback_signing_string
    if fallback is not None and verify_bytes(primitive, key, fallback, parsed.signature):
        return
    raise SignatureError("bad_signature", f"signature by {parsed.key_id} does not verify")


def refuse_acct_key_id(key_id: str) -> None:
    # An `acct:` keyId names an account, not a key document that can be fetched and checked for
    # its owner, so PROTOCOL.md section 2 refuses it before any network work.
    if key_id.strip().lower().startswith("acct:"):
        raise SignatureError("acct_keyid", f"keyId {key_id!r} is an acct: URI")
    if not key_id.strip():
        raise SignatureError("malformed", "empty keyId")
