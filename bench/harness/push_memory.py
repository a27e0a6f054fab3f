"""The push service's own memory per pending challenge, measured in this process."""

from __future__ import annotations

import asyncio
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any


async def push_service_memory(count: int) -> tuple[float, float]:
    """tracemalloc: bytes per pending challenge with a `wait_for_answer` parked on it, and
    without one; the push service on a sqlite store, without HTTP."""
    from idp.store import User
    from idp.store.sqlite import SqliteStore
    from plugins.pocket_mfa.push.challenge import PushContext
    from plugins.pocket_mfa.push.config import PushConfig
    from plugins.pocket_mfa.push.service import PushService

    with tempfile.TemporaryDirectory(prefix="push-mem-") as tmp:
        store = SqliteStore(Path(tmp) / "push.sqlite3")
        await store.start()
        try:
            records = store.records("pocket")
            service = PushService.build(
                records, store, "https://idp.test", PushConfig(push_limit=10**9)
            )
            await store.add_user(User(sub="bench", username="bench", password_hash="-"))
            key = {"kty": "OKP", "crv": "Ed25519", "x": "AA"}
            await service.devices.add("bench", "phone", key, "EdDSA")
            context = PushContext("Bench RP", "127.0.0.1", "Firefox 128")
            await service.challenges.open("bench", context)  # warm up caches
            tracemalloc.start()
            first = tracemalloc.take_snapshot()
            made = [await service.challenges.open("bench", context) for _ in range(count)]
            second = tracemalloc.take_snapshot()
            waits = [
                asyncio.create_task(service.challenges.wait_for_answer(c.id, 60)) for c in made
            ]
            # the plugin's wake-up keys carry its namespace's prefix in the store's wake-ups
            parked = [f"pocket-answer:{c.id}" for c in made]
            while sum(store.wakeups.count(key) for key in parked) < count:  # type: ignore[attr-defined]
                await asyncio.sleep(0.05)
            third = tracemalloc.take_snapshot()
            tracemalloc.stop()
            for task in waits:
                task.cancel()
            await asyncio.gather(*waits, return_exceptions=True)
        finally:
            await store.close()

    def grown(a: Any, b: Any) -> float:
        return float(sum(d.size_diff for d in b.compare_to(a, "filename")))

    return grown(first, third) / count, grown(first, second) / count
