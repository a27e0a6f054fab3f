"""Rate limits: how many requests one client or address may make in a window.

Each limit counts requests in fixed windows of `[rate_limits] window` seconds, aligned on
the clock: the counter of a window is a store counter (`Store.hit`) whose key names the
window, so every process shares it (in Redis with a [store] cache) and a refused caller
is told exactly when the next window begins (Retry-After, RFC 6585 4 and RFC 9110
10.2.3). These limits count requests; the login throttle (idp.login.throttle) counts
failed passwords on counters of its own.

A limit whose counter cannot be reached (the Redis cache or PostgreSQL is down), or not
within COUNT_TIMEOUT, lets the request through: it then gets what it would have got
without limits, as soon as it would have, so that what needs only PostgreSQL (refresh
tokens, client_credentials) is still served while Redis is down, and what needs the
store that is down is answered 503 within the same bound as before.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Literal

from idp.errors import StoreUnavailable
from idp.settings import RateLimitSettings
from idp.store.base import RecordView

#: how long a request waits for its count (a store round trip takes a millisecond or so)
#: before it goes on uncounted. The store's own fail-fast is not enough here: Redis has no
#: outage memory (idp.store.outages is PostgreSQL's), so while it hangs (SIGSTOP) each call
#: waits its whole 1 s timeout, and a count followed by the request's own read would take
#: 2 s (tests/flows/test_redis_outage.py holds such a page under 2 s).
COUNT_TIMEOUT = 0.25

#: the limited kinds of request, as named in [rate_limits]
Kind = Literal["token", "login", "device_api", "admin_api"]


class RateLimits:
    def __init__(self, store: RecordView, settings: RateLimitSettings) -> None:
        self.store = store
        self.settings = settings

    async def retry_after(self, kind: Kind, who: str) -> int | None:
        """Count one request of `kind` by `who` (a client id or an address); None if it
        is within the limit, else the seconds until the next window begins."""
        limit: int = getattr(self.settings, kind)
        if limit <= 0:
            return None
        window = self.settings.window
        now = time.time()
        current = int(now // window)
        hit = asyncio.ensure_future(self.store.hit(f"rate:{kind}:{current}:{who}", window))
        done, _ = await asyncio.wait((hit,), timeout=COUNT_TIMEOUT)
        if not done:
            # left to finish (a store call is not cut short), or to fail, on its own
            hit.add_done_callback(_result_read)
            return None
        try:
            count = hit.result()
        except StoreUnavailable:
            return None
        if count <= limit:
            return None
        return max(1, math.ceil((current + 1) * window - now))


def _result_read(hit: asyncio.Future[int]) -> None:
    """Take a late count's outcome, so that a failure is not reported as never read."""
    if not hit.cancelled():
        hit.exception()
