"""Failing fast while a networked store cannot be reached.

Without this, every call made while the server is down waits the whole `timeout` for a
connection before it fails, and a page that makes three calls takes three times as
long to say so. Once a call has found the server unreachable, the calls that follow
fail at once; one call at a time, at most once a second, tries again, and the first
that gets through ends the outage for all.
"""

from __future__ import annotations

import time

#: while the server is unreachable, a call tries it again at most this often
PROBE_SECONDS = 1.0


class Outage:
    def __init__(self, probe_every: float = PROBE_SECONDS) -> None:
        self.probe_every = probe_every
        self._down = False
        self._probing = False
        self._last_probe = 0.0

    def may_try(self) -> bool:
        """May this call go to the server? If so, it must call `tried` when done (and
        `failed` or `ended` as it went)."""
        if not self._down:
            return True
        now = time.monotonic()
        if self._probing or now - self._last_probe < self.probe_every:
            return False
        self._probing, self._last_probe = True, now
        return True

    def tried(self) -> None:
        self._probing = False

    def failed(self) -> None:
        """The server could not be reached."""
        if not self._down:
            self._down, self._last_probe = True, time.monotonic()

    def ended(self) -> None:
        """The server was reached."""
        self._down = False
