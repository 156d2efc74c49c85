"""Admission: work in flight is bounded by its cost, and each key by a rate (token buckets).

A request is charged by its estimated work in tokens (`limits.request_cost`), not counted as one:
a 32-item explanation of long posts costs thousands of times a one-line post. `CostBudget` admits
requests while the work in flight stays under a total and refuses the rest at once (503 with
Retry-After), so memory and queueing stay bounded by work, not by a count of requests.

`RateLimiter` keeps two token buckets per key name (requests per minute and items per minute):
each refills continuously, holds at most a minute's allowance, and a request that would overdraw
either is refused (429) with the seconds until it would fit.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = ["CostBudget", "OverBudget", "Quota", "RateLimited", "RateLimiter"]


class OverBudget(RuntimeError):
    """The work in flight plus this request's cost is over the total budget."""

    def __init__(self, cost: int, in_flight: int, limit: int) -> None:
        super().__init__(
            f"this request costs ~{cost} tokens of work and {in_flight} are in flight; the "
            f"service admits {limit} at once"
        )
        self.cost, self.in_flight, self.limit = cost, in_flight, limit


class CostBudget:
    """The estimated work (tokens) admitted at once, across requests; one event loop, no locks."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"the in-flight budget must be >= 1 token; found {limit}")
        self.limit = limit
        self.in_flight = 0

    @contextlib.contextmanager
    def admit(self, cost: int) -> Iterator[None]:
        """Hold `cost` while the block runs; raise `OverBudget` at once if it does not fit.

        A request alone is always admitted (the per-request limit is checked before), so a cost
        at the limit cannot wait forever."""
        if self.in_flight and self.in_flight + cost > self.limit:
            raise OverBudget(cost, self.in_flight, self.limit)
        self.in_flight += cost
        try:
            yield
        finally:
            self.in_flight -= cost


@dataclass(frozen=True)
class Quota:
    """What a key has left of its tightest bucket, for the RateLimit-* headers."""

    limit: int  # per minute
    remaining: int
    reset_s: int  # seconds until the bucket is full again

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
        }


class RateLimited(RuntimeError):
    """A key's bucket cannot pay for this request yet."""

    def __init__(self, what: str, asked: int, quota: Quota, retry_after_s: int) -> None:
        fix = (
            f"retry after {retry_after_s} s or send fewer {what} per minute"
            if asked <= quota.limit
            else f"send at most {quota.limit} {what} per request"
        )
        super().__init__(
            f"{asked} {what} asked; {quota.remaining} of {quota.limit} {what} per minute are "
            f"left for this key; {fix}"
        )
        self.quota, self.retry_after_s = quota, retry_after_s


class _Bucket:
    def __init__(self, per_minute: int, now: float) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self.tokens = self.capacity
        self.updated = now

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def wait_for(self, amount: float) -> float:
        """Seconds until `amount` tokens are there (inf if more than the bucket holds)."""
        if amount > self.capacity:
            return math.inf
        return max(0.0, (amount - self.tokens) / self.rate)

    def quota(self) -> Quota:
        reset = (self.capacity - self.tokens) / self.rate
        return Quota(int(self.capacity), int(self.tokens), math.ceil(reset))


class RateLimiter:
    """Per key name: a requests-per-minute and an items-per-minute bucket (0 turns one off)."""

    def __init__(
        self,
        requests_per_minute: int,
        items_per_minute: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.requests_per_minute = requests_per_minute
        self.items_per_minute = items_per_minute
        self.clock = clock
        self._buckets: dict[str, tuple[_Bucket | None, _Bucket | None]] = {}

    def charge(self, key: str, items: int) -> Quota | None:
        """Take one request and `items` items from `key`'s buckets, or raise `RateLimited`
        (taking nothing). Returns the tightest bucket's state after the charge (None: no limit)."""
        now = self.clock()
        buckets = self._buckets.get(key)
        if buckets is None:  # one pair per configured key name: bounded by the key ring
            buckets = tuple(
                _Bucket(n, now) if n > 0 else None
                for n in (self.requests_per_minute, self.items_per_minute)
            )
            self._buckets[key] = buckets
        requests, items_bucket = buckets
        for bucket, asked, what in ((requests, 1, "requests"), (items_bucket, items, "items")):
            if bucket is None:
                continue
            bucket.refill(now)
            wait = bucket.wait_for(asked)
            if wait > 0:
                retry = max(1, math.ceil(wait)) if math.isfinite(wait) else 60
                raise RateLimited(what, asked, bucket.quota(), retry)
        for bucket, asked in ((requests, 1), (items_bucket, items)):
            if bucket is not None:
                bucket.tokens -= asked
        active = [b for b in buckets if b is not None]
        if not active:
            return None
        return min((b.quota() for b in active), key=lambda q: q.remaining / max(q.limit, 1))
