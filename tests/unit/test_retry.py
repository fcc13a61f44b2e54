"""The delivery retry policy: every rule of `next_attempt`'s docstring, with an explicit `now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fedcoop.federation.retry import (
    GIVE_UP_AFTER,
    MAX_STEP,
    RETRY_AFTER_CAP,
    backoff,
    elapsed_before,
    next_attempt,
)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def mid() -> float:
    return 0.5  # no jitter: the nominal delay


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_2xx_is_sent(status: int) -> None:
    decision = next_attempt(1, status, None, NOW)
    assert decision.final_state == "sent"
    assert decision.retry_at is None


@pytest.mark.parametrize("status", [400, 403, 404, 405, 410, 413, 415, 422, 301, 308])
def test_client_errors_and_redirects_fail_at_once(status: int) -> None:
    decision = next_attempt(1, status, None, NOW)
    assert decision.final_state == "failed"
    assert decision.retry_at is None
    assert str(status) in decision.reason


@pytest.mark.parametrize("status", [None, 500, 502, 504, 408])
def test_server_errors_and_no_answer_back_off_exponentially(status: int | None) -> None:
    delays = [next_attempt(n, status, None, NOW, rand=mid).retry_at for n in (1, 2, 3, 4)]
    assert [d - NOW for d in delays if d] == [
        timedelta(seconds=30),
        timedelta(seconds=60),
        timedelta(seconds=120),
        timedelta(seconds=240),
    ]
    assert all(next_attempt(n, status, None, NOW).final_state == "queued" for n in (1, 2, 3))


def test_jitter_spreads_delays_by_at_most_ten_percent() -> None:
    low = next_attempt(5, 500, None, NOW, rand=lambda: 0.0).retry_at
    high = next_attempt(5, 500, None, NOW, rand=lambda: 0.999999).retry_at
    nominal = backoff(5)
    assert low is not None and high is not None
    assert low - NOW == nominal * 0.9
    assert nominal < high - NOW <= nominal * 1.1


def test_each_step_is_capped_at_six_hours() -> None:
    assert backoff(12) == MAX_STEP
    assert backoff(40) == MAX_STEP
    retry_at = next_attempt(15, 502, None, NOW, rand=mid).retry_at
    assert retry_at == NOW + MAX_STEP


def test_gives_up_after_the_attempt_that_starts_two_days_in() -> None:
    last = next(n for n in range(1, 100) if elapsed_before(n) >= GIVE_UP_AFTER)
    assert timedelta(hours=48) <= elapsed_before(last) < timedelta(hours=54)
    assert next_attempt(last - 1, 500, None, NOW).final_state == "queued"
    final = next_attempt(last, 500, None, NOW)
    assert final.final_state == "failed" and final.retry_at is None
    assert "gave up" in final.reason
    # A success is still a success on the last attempt.
    assert next_attempt(last, 202, None, NOW).final_state == "sent"


@pytest.mark.parametrize("status", [429, 503])
def test_rate_limits_wait_for_retry_after(status: int) -> None:
    decision = next_attempt(1, status, 120.0, NOW, rand=mid)
    assert decision.final_state == "queued"
    assert decision.retry_at == NOW + timedelta(seconds=120)


def test_retry_after_is_capped_at_an_hour() -> None:
    decision = next_attempt(1, 429, 86400.0, NOW, rand=mid)
    assert decision.retry_at == NOW + RETRY_AFTER_CAP


def test_retry_after_is_never_sooner_than_the_backoff() -> None:
    decision = next_attempt(6, 503, 1.0, NOW, rand=mid)
    assert decision.retry_at == NOW + backoff(6)


def test_rate_limit_without_retry_after_backs_off() -> None:
    assert next_attempt(3, 429, None, NOW, rand=mid).retry_at == NOW + backoff(3)


def test_unauthorized_is_retried_twice_then_failed() -> None:
    assert next_attempt(1, 401, None, NOW).final_state == "queued"
    assert next_attempt(2, 401, None, NOW).final_state == "queued"
    third = next_attempt(3, 401, None, NOW)
    assert third.final_state == "failed" and third.retry_at is None
