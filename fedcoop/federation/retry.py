"""The delivery retry policy, in one function (DESIGN.md habit 4).

Everything the delivery worker decides after an attempt comes from `next_attempt`; its
docstring is the rulebook. It is pure: the caller passes the attempt count, the outcome and
`now`, and a `rand` function when a test needs the jitter pinned.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

BASE_DELAY: Final = timedelta(seconds=30)
MAX_STEP: Final = timedelta(hours=6)
RETRY_AFTER_CAP: Final = timedelta(hours=1)
GIVE_UP_AFTER: Final = timedelta(hours=48)
JITTER: Final = 0.1  # each delay is spread over ±10% so a burst of failures does not return in step
UNAUTHORIZED_ATTEMPTS: Final = 3
RATE_LIMITED: Final = frozenset({429, 503})


@dataclass(frozen=True)
class Decision:
    retry_at: datetime | None  # set only when final_state is "queued"
    final_state: str  # a DeliveryStates state: "sent", "queued" (try again) or "failed"
    reason: str  # short code recorded as the delivery's last_error


def backoff(attempts: int) -> timedelta:
    """The nominal wait after the `attempts`-th failed attempt: 30 s, 1 min, 2 min, … ≤ 6 h."""
    step = BASE_DELAY * (2 ** min(max(attempts - 1, 0), 20))
    return min(step, MAX_STEP)


def elapsed_before(attempts: int) -> timedelta:
    """Nominal time between the first attempt and attempt number `attempts`."""
    return sum((backoff(n) for n in range(1, attempts)), timedelta())


def next_attempt(
    attempts: int,
    status: int | None,
    retry_after: float | None,
    now: datetime,
    *,
    rand: Callable[[], float] = random.random,
) -> Decision:
    """What to do after attempt number `attempts` (1 for the first) got `status`.

    `status` is the HTTP status, or None when there was no answer (timeout, connection refused
    or reset, DNS failure). `retry_after` is the answer's `Retry-After` in seconds from now
    (`http_client.parse_retry_after` reads both of its forms), if it had one.

    - 2xx: sent.
    - 429 and 503: try again at `Retry-After` (seconds or an HTTP date), capped at 1 h and never
      sooner than the backoff below; without a usable header, the backoff.
    - other 5xx, 408, and no answer: exponential backoff, 30 s * 2^(n-1) with ±10% jitter,
      capped at 6 h per step. The attempt whose nominal start is 48 h or more after the first
      attempt is the last (with these numbers the 18th, about 50 h in): its failure is final.
    - 401: the receiver may have cached an old key of ours and refetch it, so it is retried
      with the backoff, but failed after 3 attempts.
    - other 4xx (400, 403, 404, 410, 422, …) and anything else (3xx: an inbox does not move):
      failed at once, never retried.

    A request refused before any connection is not an attempt this function judges: the worker
    skips a delivery to a host the policy blocks, and fails one whose URL or address is refused,
    since waiting cannot change either.

    Every attempt is signed anew by the client, so a retried delivery carries a fresh `Date`
    and the receiver's clock-skew window applies to the retry, not to the first try.
    """
    if status is not None and 200 <= status < 300:
        return Decision(None, "sent", f"http {status}")
    if attempts >= 1 and elapsed_before(attempts) >= GIVE_UP_AFTER:
        return Decision(None, "failed", f"gave up after {attempts} attempts: {_describe(status)}")
    delay = backoff(attempts) * (1 + JITTER * (2 * rand() - 1))
    if status is None or status == 408:
        return Decision(now + delay, "queued", _describe(status))
    if status in RATE_LIMITED:
        if retry_after is not None:
            delay = max(delay, min(timedelta(seconds=retry_after), RETRY_AFTER_CAP))
        return Decision(now + delay, "queued", _describe(status))
    if status >= 500:
        return Decision(now + delay, "queued", _describe(status))
    if status == 401 and attempts < UNAUTHORIZED_ATTEMPTS:
        return Decision(now + delay, "queued", _describe(status))
    return Decision(None, "failed", _describe(status))


def _describe(status: int | None) -> str:
    return "no answer" if status is None else f"http {status}"
