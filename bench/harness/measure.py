"""The run loop: every workload and concurrency, the targets alternating."""

from __future__ import annotations

from typing import Any

from . import report
from .driver import DriverError, Timing, run_driver
from .target import Target
from .workloads import Workload

#: CPU use (% of one core) by other processes above which a run is called disturbed
OTHER_CPU_WARN = 15.0


def _describe(result: dict[str, Any]) -> str:
    text = (
        f"{result['ops_per_s']:>9,.1f} ops/s  "
        f"p50 {result['latency_ms']['p50'] or 0:.2f} ms  "
        f"server cpu {result['server_cpu_pct'] or 0:.0f}%  "
        f"driver cpu {result['driver_cpu_pct']:.0f}%"
    )
    other = report.other_cpu_pct(result)
    if other is not None:
        text += f"  other cpu {max(other, 0.0):.0f}%"
    if result["errors"]:
        text += f"  errors {result['errors']}"
    return text


def _run(
    target: Target, w: Workload, c: int, timing: Timing, label: str, retries: int
) -> dict[str, Any]:
    """One measurement, repeated while other processes disturb it; keeps the
    least disturbed attempt. Raises DriverError."""
    best: dict[str, Any] | None = None
    for attempt in range(retries + 1):
        result = run_driver(
            target.driver_spec(),
            w.name,
            c,
            timing,
            server_pid=target.pid,
            setup_allowance_s=w.setup_per_worker_s,
        )
        if "totp_state" in result and target.totp is not None:
            target.totp["state"] = result["totp_state"]  # the next run goes on from here
        other = report.other_cpu_pct(result) or 0.0
        disturbed = other > OTHER_CPU_WARN
        note = "  (disturbed, again)" if disturbed and attempt < retries else ""
        print(f"{label}: {_describe(result)}{note}", flush=True)
        if best is None or other < (report.other_cpu_pct(best) or 0.0):
            best = result
        if not disturbed:
            break
    assert best is not None
    return best


def _row(
    w: Workload, c: int, targets: list[Target], runs: int, timing: Timing, retries: int
) -> dict[str, Any]:
    if w.ours_only:
        targets = [t for t in targets if t.name == "ours"]
    cells = {t.name: report.Cell() for t in targets}
    failures: dict[str, str] = {}
    for i in range(runs):
        # alternate, and flip the order every run so drift hits both alike
        order = targets if i % 2 == 0 else list(reversed(targets))
        for t in order:
            if t.name in failures:
                continue
            label = f"  {w.name:<12} c={c:<3} {t.name:<4} run {i + 1}/{runs}"
            try:
                cells[t.name].runs.append(_run(t, w, c, timing, label, retries))
            except DriverError as exc:
                failures[t.name] = str(exc)
                print(f"{label}: FAILED: {exc}", flush=True)
    summaries = {name: cell.summary() for name, cell in cells.items()}
    for name, message in failures.items():
        summaries[name]["failure"] = message
    return {
        "workload": w.name,
        "title": w.title,
        "concurrency": c,
        "targets": summaries,
        "ratio": report.ratio(summaries.get("ours"), summaries.get("peer")),
    }


def measure(
    targets: list[Target],
    workloads: list[Workload],
    runs: int,
    timing: Timing,
    *,
    retries: int = 2,
) -> list[dict[str, Any]]:
    rows = []
    names = {t.name for t in targets}
    for w in workloads:
        if w.ours_only and "ours" not in names:
            continue
        run_timing = Timing(timing.warmup_s, max(timing.duration_s, w.min_duration_s))
        for c in w.concurrencies:
            rows.append(_row(w, c, targets, runs, run_timing, retries))
    return rows
