"""The client API's rate limiter: a fixed window per key that starts with its first request."""

from __future__ import annotations

from fedcoop.web.mastodon.ratelimit import RateLimiter


def test_each_key_has_its_own_allowance_within_the_window() -> None:
    limiter = RateLimiter(limit=2, window_seconds=60)
    first, second, third = (limiter.hit("token:a", now=t) for t in (100.0, 110.0, 120.0))
    assert [q.remaining for q in (first, second, third)] == [1, 0, -1]
    assert third.exhausted and not second.exhausted
    assert first.reset_at == third.reset_at == 160.0
    assert limiter.hit("addr:1.2.3.4", now=120.0).remaining == 1


def test_a_new_window_starts_once_the_old_one_is_over() -> None:
    limiter = RateLimiter(limit=1, window_seconds=60)
    limiter.hit("k", now=0.0)
    assert limiter.hit("k", now=59.0).exhausted
    fresh = limiter.hit("k", now=60.0)
    assert fresh.remaining == 0 and fresh.reset_at == 120.0
