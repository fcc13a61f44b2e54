"""RFC 8941 Structured Field dictionaries that keep each member's text exactly as received.

`http_sfv` parses values but only re-serialises them canonically. RFC 9421 signs the
`Signature-Input` member as the sender wrote it (`@signature-params`), and RFC 9530 byte sequences
must be checked for strict Base64, so this module walks the dictionary with http_sfv's own
key and member parsers and records where each member starts and ends.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from http_sfv.item import InnerList, Item
from http_sfv.list import parse_item_or_inner_list
from http_sfv.util import discard_http_ows, discard_ows, parse_key


class StructuredFieldError(ValueError):
    """A header value that is not a valid Structured Field."""


@dataclass(frozen=True)
class DictionaryMember:
    key: str
    raw: str  # the member value (item or inner list, with parameters) exactly as received
    value: Item | InnerList


def parse_dictionary(text: str) -> dict[str, DictionaryMember]:
    """Parse an SF Dictionary; a repeated key keeps its first position and its last value."""
    try:
        data = text.encode("ascii")
    except UnicodeEncodeError as exc:
        raise StructuredFieldError("structured field is not ASCII") from exc
    members: dict[str, DictionaryMember] = {}
    pos = discard_ows(data)
    end = len(data.rstrip(b" "))
    if pos >= end:
        raise StructuredFieldError("empty dictionary")
    try:
        while True:
            offset, key = parse_key(data[pos:end])
            pos += offset
            start = pos
            if pos < end and data[pos] == ord("="):
                pos += 1
                start = pos
                offset, value = parse_item_or_inner_list(data[pos:end])
                pos += offset
            else:
                value = Item(True)
                pos += value.params.parse(data[pos:end])
            members[key] = DictionaryMember(key, data[start:pos].decode("ascii"), value)
            pos += discard_http_ows(data[pos:end])
            if pos == end:
                return members
            if data[pos] != ord(","):
                raise StructuredFieldError(f"dictionary member {key!r} has trailing characters")
            pos += 1
            pos += discard_http_ows(data[pos:end])
            if pos == end:
                raise StructuredFieldError("dictionary has a trailing comma")
    except StructuredFieldError:
        raise
    except (ValueError, IndexError) as exc:
        raise StructuredFieldError(f"invalid structured field: {exc}") from exc


def strict_byte_sequence(member: DictionaryMember) -> bytes:
    """The bytes of a Byte Sequence member, refusing the sloppy Base64 http_sfv lets through.

    RFC 9530's own examples (B.5, B.6, B.11, C.1) print `...Dg==` with one `=` too many. That is
    not Base64 (RFC 4648) and http_sfv's lenient decoder accepts it anyway; we refuse it.
    """
    if not isinstance(member.value, Item) or not isinstance(member.value.value, bytes):
        raise StructuredFieldError(f"member {member.key!r} is not a byte sequence")
    raw = member.raw
    if not raw.startswith(":"):
        raise StructuredFieldError(f"member {member.key!r} is not a byte sequence")
    try:
        return strict_b64decode(raw[1 : raw.index(":", 1)])
    except ValueError as exc:
        raise StructuredFieldError(f"member {member.key!r}: {exc}") from exc


def strict_b64decode(text: str) -> bytes:
    """Standard Base64 with no stray padding; absent padding is tolerated.

    Python's decoder accepts `AAAA=` and similar; peers never send those on purpose, and a
    signature or digest that only decodes leniently is treated as malformed.
    """
    body = text.rstrip("=")
    padding = len(text) - len(body)
    if padding and (padding > 2 or len(text) % 4):
        raise ValueError("Base64 has stray padding")
    if not padding:
        # RFC 8941 section 4.2.7: parsers should not fail when the padding is merely absent.
        text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"not Base64: {exc}") from exc
