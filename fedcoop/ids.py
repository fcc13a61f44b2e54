"""Time-sortable identifiers (ULID layout): row ids and Mastodon `max_id` pagination.

A ULID is 48 bits of milliseconds since the epoch and 80 random bits, written as 26 Crockford
base32 characters, so ids sort by creation time as plain strings. GoToSocial uses the same
shape for its Mastodon API ids, which real clients accept (they treat ids as opaque strings).
Within one millisecond the random part is incremented, so ids made by one process are strictly
increasing.
"""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {c: i for i, c in enumerate(_ALPHABET)}
_RANDOM_BITS = 80


class _Generator:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_random = 0

    def new(self, now_ms: int | None = None) -> str:
        ms = int(time.time() * 1000) if now_ms is None else now_ms
        with self._lock:
            if ms <= self._last_ms:
                # Same (or earlier, if the clock stepped back) millisecond: keep order.
                ms = self._last_ms
                rnd = self._last_random + 1
                if rnd >= 1 << _RANDOM_BITS:
                    ms += 1
                    rnd = int.from_bytes(os.urandom(10), "big") >> 1
            else:
                # Keep the top bit clear so the increment above has room.
                rnd = int.from_bytes(os.urandom(10), "big") >> 1
            self._last_ms, self._last_random = ms, rnd
        return encode((ms << _RANDOM_BITS) | rnd)


_generator = _Generator()


def new_id(now_ms: int | None = None) -> str:
    """A new 26-character time-sortable id."""
    return _generator.new(now_ms)


def encode(value: int) -> str:
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def is_valid(value: str) -> bool:
    return len(value) == 26 and all(c in _DECODE for c in value) and value[0] in "01234567"


def timestamp_ms(value: str) -> int:
    """The creation time in milliseconds of an id made by `new_id`."""
    n = 0
    for c in value:
        n = (n << 5) | _DECODE[c]
    return n >> _RANDOM_BITS


def lowest_id_at(ms: int) -> str:
    """The smallest id that could have been made at `ms` (for time-based pagination)."""
    return encode(ms << _RANDOM_BITS)
