"""What a serving process does as soon as it is asked to stop (SIGTERM, SIGINT), before
the server waits for its open requests: besides the handler in place (uvicorn's, which
begins the shutdown), an action of ours runs on the event loop.

The server waits for every request under way before the app's own shutdown; a long poll
(a page waiting for a push answer or a pairing) would hold a stopping node for its whole
timeout. The action answers them at once instead (Provider.stopping)."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def on_stop_signal(action: Callable[[], None]) -> Callable[[], None]:
    """Run `action` on the running event loop when a stop signal arrives, then what the
    signal did before. Returns the function that puts the earlier handlers back. Only
    the main thread can handle signals: in another (a test client's) it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    earlier: dict[int, Any] = {}

    def handle(signum: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(action)  # (safe in a signal handler; `action` is not)
        before = earlier.get(signum)
        if callable(before):
            before(signum, frame)
        elif before == signal.SIG_DFL:  # no server of ours handles it: stop as it would
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    for signum in STOP_SIGNALS:
        earlier[signum] = signal.signal(signum, handle)

    def undo() -> None:
        for signum, before in earlier.items():
            if signal.getsignal(signum) is handle:
                signal.signal(signum, before)

    return undo
