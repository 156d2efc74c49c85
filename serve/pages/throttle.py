"""Per-address rate limiting for the keyless self-check page: the service's `RateLimiter` (the
same token buckets as a key's quota) on a store of bounded size.

A keyed caller is charged against its key's buckets. A caller without a key is known only by its
address, and addresses are unbounded, so their buckets live in `BoundedBuckets`: at most
`max_keys` addresses, the least recently seen dropped first (a dropped address starts again with
a full minute, which only someone with thousands of addresses can use). Behind a reverse proxy
every caller shares the proxy's address: require keys (`NETRALITAS_SELF_CHECK_KEY_REQUIRED`) or
limit at the proxy.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from netralitas.serve.admission import Bucket, BucketChange, RateLimiter

__all__ = ["BoundedBuckets", "address_limiter"]


class BoundedBuckets:
    """A `BucketStore` (serve/admission.py) of at most `max_keys` keys, in this process."""

    def __init__(self, max_keys: int = 4_096) -> None:
        if max_keys < 1:
            raise ValueError(f"max_keys must be >= 1; found {max_keys}")
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, dict[str, Bucket]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def update(self, key: str, names: Sequence[str], change: BucketChange) -> None:
        current = self._buckets.get(key, {})
        new = change({name: current.get(name) for name in names})
        if new:
            self._buckets[key] = current | new
        if key in self._buckets:
            self._buckets.move_to_end(key)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)


def address_limiter(
    per_minute: int, max_addresses: int = 4_096, clock: Callable[[], float] = time.time
) -> RateLimiter:
    """Requests per minute per client address (0: no limit); `charge(address, 1)`."""
    return RateLimiter(per_minute, 0, clock=clock, store=BoundedBuckets(max_addresses))
