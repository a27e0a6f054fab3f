"""Rate limits: how many requests one client or address may make in a window.

Each limit counts requests in fixed windows of `[rate_limits] window` seconds, aligned on
the clock: the counter of a window is a store counter (`Store.hit`) whose key names the
window, so every process shares it (in Redis with a [store] cache) and a refused caller
is told exactly when the next window begins (Retry-After, RFC 6585 4 and RFC 9110
10.2.3). These limits count requests; the login throttle (idp.login.throttle) counts
failed passwords on counters of its own.
"""

from __future__ import annotations

import math
import time
from typing import Literal

from idp.settings import RateLimitSettings
from idp.store.base import RecordView

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
        count = await self.store.hit(f"rate:{kind}:{current}:{who}", window)
        if count <= limit:
            return None
        return max(1, math.ceil((current + 1) * window - now))
