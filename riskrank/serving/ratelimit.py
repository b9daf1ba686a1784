"""Failed authentication attempts per client address: after `limit` failures within `window` seconds, the address
gets 429 (with Retry-After) until its oldest failure in the window has aged out.

In memory, per server process, and bounded: at most `max_addresses` addresses are tracked; when a new one
comes in beyond that, the address whose last failure is oldest is forgotten. An address over the limit is
refused before its token is looked at, so it learns nothing more about any token while it waits.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class FailedAuthLimiter:
    def __init__(self, limit: int = 30, window: float = 60.0, max_addresses: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.max_addresses = max_addresses
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()  # oldest last failure first
        self._lock = threading.Lock()

    def retry_after(self, address: str) -> int | None:
        """Seconds until `address` may try again (at least 1), or None if it is not over the limit."""
        if not self._failures:  # the usual case: nothing to look at, no lock taken
            return None
        with self._lock:
            times = self._failures.get(address)
            if times is None:
                return None
            now = self._clock()
            self._expire(times, now)
            if not times:
                del self._failures[address]
                return None
            if len(times) < self.limit:
                return None
            return max(1, math.ceil(times[0] + self.window - now))

    def failed(self, address: str) -> None:
        """Record a failed attempt (a wrong, unknown, inactive or expired token, or a malformed header)."""
        with self._lock:
            now = self._clock()
            times = self._failures.pop(address, None)
            if times is None:
                times = deque(maxlen=self.limit)  # more than `limit` failures tell nothing more
                while len(self._failures) >= self.max_addresses:
                    self._failures.popitem(last=False)
            self._expire(times, now)
            times.append(now)
            self._failures[address] = times  # now the most recent

    def tracked(self) -> int:
        return len(self._failures)

    def _expire(self, times: deque[float], now: float) -> None:
        while times and times[0] <= now - self.window:
            times.popleft()
