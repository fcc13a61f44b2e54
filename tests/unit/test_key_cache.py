"""The in-memory cache of verified keys: expiry, least-recently-used eviction, forgetting."""

from __future__ import annotations

from fedcoop.activitypub.keys import generate_ed25519_private_key
from fedcoop.federation.key_cache import KeyCache

KEY = generate_ed25519_private_key().public_key()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_entry_lives_until_its_ttl() -> None:
    clock = Clock()
    cache = KeyCache(ttl=60, monotonic=clock)
    cache.put("https://r.example/u#k", "https://r.example/u", KEY)
    clock.now += 59
    hit = cache.get("https://r.example/u#k")
    assert hit is not None and (hit.owner, hit.public_key) == ("https://r.example/u", KEY)
    clock.now += 1
    assert cache.get("https://r.example/u#k") is None
    assert len(cache) == 0


def test_least_recently_used_goes_first() -> None:
    cache = KeyCache(size=2, monotonic=Clock())
    cache.put("a", "A", KEY)
    cache.put("b", "B", KEY)
    assert cache.get("a") is not None  # a is now the most recently used
    cache.put("c", "C", KEY)
    assert [k for k in ("a", "b", "c") if cache.get(k) is not None] == ["a", "c"]


def test_forget() -> None:
    cache = KeyCache(monotonic=Clock())
    cache.put("a", "A", KEY)
    cache.forget("a")
    cache.forget("never there")
    assert cache.get("a") is None
