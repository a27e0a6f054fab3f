"""Summarising runs into the comparison table and the JSON beside it."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def other_cpu_pct(run: dict[str, Any]) -> float | None:
    """CPU time that neither the server nor the driver used during a run (all cores)."""
    busy = run.get("cpu_busy_pct")
    if not busy or run.get("server_cpu_pct") is None:
        return None
    return float(sum(busy.values()) - run["server_cpu_pct"] - run["driver_cpu_pct"])


@dataclass
class Cell:
    """All runs of one workload at one concurrency against one target."""

    runs: list[dict[str, Any]] = field(default_factory=list)

    def _values(self, key: str) -> list[float]:
        return [float(r[key]) for r in self.runs if r.get(key) is not None]

    def _latency(self, key: str) -> list[float]:
        return [
            float(r["latency_ms"][key]) for r in self.runs if r["latency_ms"].get(key) is not None
        ]

    def summary(self) -> dict[str, Any]:
        ops = self._values("ops_per_s")
        p50 = self._latency("p50")
        p99 = self._latency("p99")
        server_cpu = self._values("server_cpu_pct")
        return {
            "ops_per_s": statistics.median(ops) if ops else None,
            "ops_per_s_min": min(ops) if ops else None,
            "ops_per_s_max": max(ops) if ops else None,
            "ops_per_s_stdev": statistics.stdev(ops) if len(ops) > 1 else 0.0,
            "requests_per_s": statistics.median(self._values("requests_per_s")) if ops else None,
            "p50_ms": statistics.median(p50) if p50 else None,
            "p99_ms": statistics.median(p99) if p99 else None,
            "errors": sum(int(r["errors"]) for r in self.runs),
            "error_samples": [s for r in self.runs for s in r.get("error_samples", [])][:5],
            "server_cpu_pct": statistics.median(server_cpu) if server_cpu else None,
            "driver_cpu_pct_max": max(self._values("driver_cpu_pct"), default=None),
            "other_cpu_pct_max": max(
                (v for v in map(other_cpu_pct, self.runs) if v is not None), default=None
            ),
            "runs": self.runs,
        }


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _spread(s: dict[str, Any]) -> str:
    if s["ops_per_s_min"] is None:
        return "-"
    return f"{_num(s['ops_per_s_min'])}-{_num(s['ops_per_s_max'])}"


def _side(s: dict[str, Any] | None) -> list[str]:
    if s is None:
        return ["n/a", "", "", "", ""]
    ops = _num(s["ops_per_s"]) + ("!" if s["errors"] else "")
    cpu = "-" if s["server_cpu_pct"] is None else f"{s['server_cpu_pct']:.0f}%"
    return [ops, _spread(s), _num(s["p50_ms"]), _num(s["p99_ms"]), cpu]


def ratio(ours: dict[str, Any] | None, peer: dict[str, Any] | None) -> float | None:
    if not ours or not peer or not ours["ops_per_s"] or not peer["ops_per_s"]:
        return None
    return float(ours["ops_per_s"]) / float(peer["ops_per_s"])


def render_table(rows: list[dict[str, Any]], targets: list[str]) -> str:
    side_head = ["ops/s", "min-max", "p50 ms", "p99 ms", "cpu"]
    header = ["workload", "c"]
    for t in targets:
        header += [f"{t} {h}" if i == 0 else h for i, h in enumerate(side_head)]
    if len(targets) == 2:
        header.append("ours/peer")
    lines: list[list[str]] = [header]
    for row in rows:
        line = [row["workload"], str(row["concurrency"])]
        for t in targets:
            line += _side(row["targets"].get(t))
        if len(targets) == 2:
            r = row.get("ratio")
            line.append("-" if r is None else f"{r:.2f}x")
        lines.append(line)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for n, line in enumerate(lines):
        cells = [c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(line)]
        out.append("  ".join(cells))
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(document, indent=2) + "\n")
    tmp.replace(path)
