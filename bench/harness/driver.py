"""Running the Node load driver for one measurement."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .paths import DRIVER_DIR
from .procs import DRIVER_CPU, pinned


@dataclass(frozen=True)
class Timing:
    warmup_s: float
    duration_s: float


class DriverError(RuntimeError):
    pass


def run_driver(
    target_spec: dict[str, Any],
    workload: str,
    concurrency: int,
    timing: Timing,
    *,
    server_pid: int | None,
    setup_allowance_s: float = 0.0,
    server_tree_pids: Sequence[int] = (),
) -> dict[str, Any]:
    """One closed-loop measurement; returns the driver's JSON result. The CPU time of
    server_tree_pids and all their descendants comes back as server_tree_cpu_s."""
    spec = {
        "target": target_spec,
        "workload": workload,
        "concurrency": concurrency,
        "warmup_s": timing.warmup_s,
        "duration_s": timing.duration_s,
        "server_pid": server_pid,
        "server_tree_pids": list(server_tree_pids),
        "clk_tck": os.sysconf("SC_CLK_TCK"),
    }
    timeout = 60 + timing.warmup_s + timing.duration_s + setup_allowance_s * concurrency
    try:
        out = subprocess.run(
            pinned(["node", str(DRIVER_DIR / "driver.mjs")], DRIVER_CPU),
            input=json.dumps(spec),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=DRIVER_DIR,
        )
    except subprocess.TimeoutExpired as exc:
        raise DriverError(
            f"driver timed out after {timeout:.0f}s ({workload}, c={concurrency})"
        ) from exc
    if out.returncode != 0:
        raise DriverError(
            f"driver failed ({workload}, c={concurrency}): {out.stderr.strip()[-2000:]}"
        )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result
