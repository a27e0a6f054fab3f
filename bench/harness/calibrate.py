"""The driver's own ceiling: the same driver against a trivial static server."""

from __future__ import annotations

import os
from typing import Any

from .driver import Timing, run_driver
from .paths import DRIVER_DIR, LOG_DIR
from .procs import free_port, start_server

CONCURRENCIES = (1, 32)


def calibrate(
    timing: Timing, concurrencies: tuple[int, ...] = CONCURRENCIES
) -> list[dict[str, Any]]:
    """Requests per second the driver reaches when the server costs ~nothing."""
    port = free_port()
    server = start_server(
        "static",
        ["node", str(DRIVER_DIR / "static.mjs"), str(port)],
        cwd=DRIVER_DIR,
        env=dict(os.environ),
        log_path=LOG_DIR / "static.log",
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        server.wait_ready(url)
        return [
            run_driver({"url": url}, "static", c, timing, server_pid=server.pid)
            for c in concurrencies
        ]
    finally:
        server.stop()


def render(results: list[dict[str, Any]]) -> str:
    lines = ["Driver ceiling (static ~2 KB JSON response; server on CPU 0, driver on CPU 1):"]
    for r in results:
        lines.append(
            f"  c={r['concurrency']:<3} {r['ops_per_s']:>9,.0f} req/s  "
            f"p50 {r['latency_ms']['p50']:.3f} ms  p99 {r['latency_ms']['p99']:.3f} ms  "
            f"driver cpu {r['driver_cpu_pct']:.0f}%  static server cpu {r['server_cpu_pct']:.0f}%"
        )
    return "\n".join(lines)
