"""Admission: work in flight is bounded by its cost, and each key by a rate (token buckets).

A request is charged by its estimated work in tokens (`limits.request_cost`), not counted as one:
a 32-item explanation of long posts costs thousands of times a one-line post. `CostBudget` admits
requests while the work in flight stays under a total and refuses the rest at once (503 with
Retry-After), so memory and queueing stay bounded by work, not by a count of requests.

`RateLimiter` keeps two token buckets per key name (requests per minute and items per minute):
each refills continuously, holds at most a minute's allowance, and a request that would overdraw
either is refused (429) with the seconds until it would fit. The buckets live in one process by
default, or in a database (`quota_store.SqlBuckets`) that every worker process shares.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "Bucket",
    "BucketChange",
    "BucketStore",
    "CostBudget",
    "MemoryBuckets",
    "OverBudget",
    "Quota",
    "RateLimited",
    "RateLimiter",
]


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


@dataclass(frozen=True)
class Bucket:
    """A token bucket's state: `tokens` left at time `updated` (seconds, the store's clock)."""

    tokens: float
    updated: float


@dataclass(frozen=True)
class _Rule:
    """One per-minute allowance: what it counts, its size, and its refill rate."""

    what: str  # "requests" or "items"
    per_minute: int

    @property
    def rate(self) -> float:  # tokens per second
        return self.per_minute / 60.0

    def refill(self, bucket: Bucket | None, now: float) -> float:
        """Tokens in the bucket at `now` (a new bucket starts full)."""
        if bucket is None:
            return float(self.per_minute)
        elapsed = max(0.0, now - bucket.updated)  # clocks of several machines may disagree
        return min(float(self.per_minute), bucket.tokens + elapsed * self.rate)

    def wait_for(self, tokens: float, amount: float) -> float:
        """Seconds until `amount` tokens are there (inf if more than the bucket holds)."""
        if amount > self.per_minute:
            return math.inf
        return max(0.0, (amount - tokens) / self.rate)

    def quota(self, tokens: float) -> Quota:
        reset = (self.per_minute - tokens) / self.rate
        return Quota(self.per_minute, int(tokens), math.ceil(reset))


# What a store applies to a key's buckets: their current states (None: not there yet) -> the
# states to store, or None to store nothing (the charge was refused).
BucketChange = Callable[[dict[str, "Bucket | None"]], "dict[str, Bucket] | None"]


class BucketStore(Protocol):
    """Where the buckets live. `update` reads the named buckets of a key, lets `change` compute
    their new states from the current ones (None: not there yet) and stores what it returns,
    atomically with respect to every other caller of the same store."""

    def update(self, key: str, names: Sequence[str], change: BucketChange) -> None: ...


class MemoryBuckets:
    """The buckets of one process (one event loop: no locks needed)."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str], Bucket] = {}

    def update(self, key: str, names: Sequence[str], change: BucketChange) -> None:
        new = change({name: self._buckets.get((key, name)) for name in names})
        for name, bucket in (new or {}).items():
            self._buckets[(key, name)] = bucket


class RateLimiter:
    """Per key name: a requests-per-minute and an items-per-minute bucket (0 turns one off).

    The buckets live in `store`: this process's memory by default; a `SqlBuckets` database when
    several worker processes (or machines) serve one key ring, so that a key's quota is one quota
    however many processes answer it, not one per process. `clock` is wall time for that reason:
    every process (and machine) must read the same clock.
    """

    def __init__(
        self,
        requests_per_minute: int,
        items_per_minute: int,
        clock: Callable[[], float] = time.time,
        store: BucketStore | None = None,
    ) -> None:
        self.requests_per_minute = requests_per_minute
        self.items_per_minute = items_per_minute
        self.clock = clock
        self.store = store if store is not None else MemoryBuckets()
        self._rules = [
            _Rule(what, n)
            for what, n in (("requests", requests_per_minute), ("items", items_per_minute))
            if n > 0
        ]

    @property
    def shared(self) -> bool:
        """Whether the buckets are shared with other processes (a blocking database call)."""
        return not isinstance(self.store, MemoryBuckets)

    async def acharge(self, key: str, items: int) -> Quota | None:
        """`charge` from the event loop: a shared store's database call runs in a thread."""
        if self.shared:
            return await asyncio.to_thread(self.charge, key, items)
        return self.charge(key, items)

    def charge(self, key: str, items: int) -> Quota | None:
        """Take one request and `items` items from `key`'s buckets, or raise `RateLimited`
        (taking nothing). Returns the tightest bucket's state after the charge (None: no limit)."""
        if not self._rules:
            return None
        asked = {"requests": 1, "items": items}
        now = self.clock()
        outcome: list[Quota | RateLimited] = []

        def change(current: dict[str, Bucket | None]) -> dict[str, Bucket] | None:
            tokens = {r.what: r.refill(current[r.what], now) for r in self._rules}
            for rule in self._rules:
                wait = rule.wait_for(tokens[rule.what], asked[rule.what])
                if wait > 0:
                    retry = max(1, math.ceil(wait)) if math.isfinite(wait) else 60
                    quota = rule.quota(tokens[rule.what])
                    outcome.append(RateLimited(rule.what, asked[rule.what], quota, retry))
                    return None
            left = {r.what: tokens[r.what] - asked[r.what] for r in self._rules}
            quotas = [r.quota(left[r.what]) for r in self._rules]
            outcome.append(min(quotas, key=lambda q: q.remaining / max(q.limit, 1)))
            return {what: Bucket(n, now) for what, n in left.items()}

        self.store.update(key, [r.what for r in self._rules], change)
        result = outcome[-1]
        if isinstance(result, RateLimited):
            raise result
        return result
