"""A small in-memory cache of verified signing keys, in front of the fetcher's database cache.

A busy inbox verifies the same few hundred keys over and over; asking the fetcher each time
costs a read-pool round trip, host normalisation and parsing the PEM again, which is more than
the RSA check itself. An entry lives `ttl` seconds at most, so a key changed in the database (an
actor's signed Update, a refetch by another worker) or an actor deleted there stops counting
here soon after; an entry that fails a verification is forgotten at once, and the caller asks
the fetcher again. The federation policy is always checked before the cache is consulted.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from fedcoop.activitypub.keys import PublicKey

DEFAULT_SIZE: Final = 4096
DEFAULT_TTL: Final = 60.0


@dataclass(frozen=True)
class CachedKey:
    owner: str
    public_key: PublicKey
    expires_at: float


class KeyCache:
    """key id -> (owner uri, parsed public key), least recently used out first."""

    def __init__(
        self,
        size: int = DEFAULT_SIZE,
        ttl: float = DEFAULT_TTL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._size = size
        self._ttl = ttl
        self._monotonic = monotonic
        self._entries: OrderedDict[str, CachedKey] = OrderedDict()

    def get(self, key_id: str) -> CachedKey | None:
        entry = self._entries.get(key_id)
        if entry is None:
            return None
        if entry.expires_at <= self._monotonic():
            del self._entries[key_id]
            return None
        self._entries.move_to_end(key_id)
        return entry

    def put(self, key_id: str, owner: str, public_key: PublicKey) -> None:
        self._entries[key_id] = CachedKey(owner, public_key, self._monotonic() + self._ttl)
        self._entries.move_to_end(key_id)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def forget(self, key_id: str) -> None:
        self._entries.pop(key_id, None)

    def __len__(self) -> int:
        return len(self._entries)
