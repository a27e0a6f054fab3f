"""The store as a dimension of our IdP's speed: the sqlite file, PostgreSQL, and PostgreSQL
with a Redis cache, each served by one node and (the networked stores) by two.

Run: .venv/bin/python bench/store_matrix.py [--duration 5] [--runs 3] [--only cc_opaque]
     .venv/bin/python bench/store_matrix.py --stores pg,pg+redis --nodes 1,2

Each configuration is provisioned with the `idp` command and served by `idp serve`
(two nodes: `idp serve --workers 2`, two processes on one listening socket, among which
the kernel spreads the connections), and the project's load generator drives it. Every
configuration is started first; then each measurement runs on each of them in turn, the
order reversed from run to run, so that the machine's drift hits them alike. A row
reports operations per second and operations per server CPU-second, counting every
server-side process: the IdP's processes and, where they run, PostgreSQL's postmaster
with all its backends and redis-server. This machine is noisy: read the ratios, not
the absolute figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from harness.driver import Timing, run_driver
from harness.npm import ensure_installed
from harness.ours import start_ours
from harness.paths import DRIVER_DIR
from harness.stores import STORES, running_store
from harness.target import Target
from harness.workloads import BY_NAME

WORKLOAD_NAMES = ("cc_opaque", "introspect", "refresh", "login_sso", "login_argon2")
CONCURRENCY = {"login_argon2": (1, 8), "login_sso": (1, 8)}
#: CPU use (% of one core) by processes neither the server side's nor the driver's
#: above which a run is called disturbed
OTHER_CPU_WARN = 15.0
#: (numerator, denominator, column head): ratios of per-CPU-second medians
RATIOS = (
    ("pg 1n", "sqlite 1n", "pg/sqlite 1n"),
    ("pg+redis 1n", "pg 1n", "redis/pg 1n"),
    ("pg+redis 2n", "pg 2n", "redis/pg 2n"),
    ("pg 2n", "pg 1n", "2n/1n pg"),
    ("pg+redis 2n", "pg+redis 1n", "2n/1n redis"),
)


@dataclass(frozen=True)
class Config:
    store: str
    nodes: int

    @property
    def label(self) -> str:
        return f"{self.store} {self.nodes}n"

    @property
    def slug(self) -> str:
        """The label as a file name."""
        return f"{self.store.replace('+', '-')}-{self.nodes}n"


@dataclass
class Served:
    config: Config
    target: Target
    #: the IdP's first process and the store's servers: roots of the server side
    tree: list[int]
    runs: dict[tuple[str, int], list[dict[str, Any]]]


@contextmanager
def _served(config: Config, folder: Path, workloads: list[str]) -> Iterator[Served]:
    with running_store(config.store, folder / "store") as store:
        (folder / "idp").mkdir(parents=True)
        target, server = start_ours(
            folder / "idp",
            serve_args=["--workers", str(config.nodes)],
            extra_env=store.environ,
            log_name=f"ours-{config.slug}",
            with_totp_users="login_totp" in workloads,
        )
        try:
            yield Served(config, target, [server.pid, *store.pids], {})
        finally:
            server.stop()


def _per_cpu(result: dict[str, Any]) -> float:
    return float(result["ops"]) / max(result["server_tree_cpu_s"] or 0, 1e-9)


def _other_cpu(result: dict[str, Any]) -> float:
    """% of one core used by neither the server side nor the driver during the run."""
    server = 100 * (result["server_tree_cpu_s"] or 0) / result["elapsed_s"]
    return sum(result["cpu_busy_pct"].values()) - server - result["driver_cpu_pct"]


def _measure(on: Served, name: str, c: int, run: int, args: argparse.Namespace) -> None:
    result = run_driver(
        on.target.driver_spec(),
        name,
        c,
        Timing(warmup_s=args.warmup, duration_s=args.duration),
        server_pid=on.tree[0],
        setup_allowance_s=BY_NAME[name].setup_per_worker_s,
        server_tree_pids=on.tree,
    )
    other = _other_cpu(result)
    print(
        f"  {on.config.label:<12} {name:<12} c={c:<3} run {run + 1}: "
        f"{result['ops_per_s']:>9,.1f} ops/s  {_per_cpu(result):>8,.1f} per cpu-s  "
        f"p50 {result['latency_ms']['p50'] or 0:6.2f} ms  other cpu {max(other, 0):3.0f}%"
        + (f"  errors {result['errors']}" if result["errors"] else ""),
        flush=True,
    )
    on.runs.setdefault((name, c), []).append(result)


def _table(served: list[Served], names: list[str], args: argparse.Namespace) -> None:
    by_label = {s.config.label: s for s in served}
    ratios = [r for r in RATIOS if r[0] in by_label and r[1] in by_label]
    head = f"{'workload':<12} {'c':>3}"
    for s in served:
        head += f" | {s.config.label:>11} {'/cpu-s':>7}"
    head += " |" + "".join(f" {r[2]:>12}" for r in ratios)
    print("\n" + head + "\n" + "-" * len(head))
    disturbed = 0
    for name in names:
        for c in CONCURRENCY.get(name, (1, 32)):
            line = f"{name:<12} {c:>3}"
            per_cpu = {}
            for s in served:
                rows = s.runs[(name, c)]
                per_cpu[s.config.label] = statistics.median(_per_cpu(r) for r in rows)
                ops = statistics.median(r["ops_per_s"] for r in rows)
                line += f" | {ops:>11,.1f} {per_cpu[s.config.label]:>7,.1f}"
                disturbed += sum(_other_cpu(r) > OTHER_CPU_WARN for r in rows)
            line += " |" + "".join(f" {per_cpu[a] / per_cpu[b]:>11.2f}x" for a, b, _ in ratios)
            print(line)
    print(
        f"\nops/s and ops per server CPU-second (/cpu-s), medians of {args.runs} runs of"
        f" {args.duration:g} s; every server-side process counted (the IdP's, PostgreSQL's,"
        " redis-server's). Ratios are of /cpu-s; 'n' is nodes (IdP processes)."
    )
    if disturbed:
        print(
            f"warning: other processes used more than {OTHER_CPU_WARN:.0f}% of a core during"
            f" {disturbed} run(s): those figures are noisy"
        )


def _list(choices: tuple[str, ...] | list[str], convert: Any = str) -> Any:
    def parse(text: str) -> list[Any]:
        values = [part.strip() for part in text.split(",") if part.strip()]
        if unknown := [v for v in values if v not in choices]:
            raise argparse.ArgumentTypeError(
                f"unknown: {', '.join(unknown)}; choose from {', '.join(choices)}"
            )
        return [convert(v) for v in values]

    return parse


def _ram_disk() -> Path | None:
    """/dev/shm when it can hold the stores. On a RAM disk an fsync costs about what it
    costs on a disk with a write cache (a server's RAID controller, an SSD with power
    loss protection). This project's virtual machines take 4 to 5 ms per fsync, and a
    server process that waits that long for each commit spends about twice the CPU per
    request (its wake-ups cost more), which would measure the disk, not the store."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--only", type=_list(list(BY_NAME)), default=list(WORKLOAD_NAMES), help="workloads"
    )
    parser.add_argument(
        "--stores",
        type=_list(list(STORES)),
        default=list(STORES),
        help=f"comma-separated, of {', '.join(STORES)} (default: all)",
    )
    parser.add_argument(
        "--nodes",
        type=_list(("1", "2"), int),
        default=[1, 2],
        help="IdP processes, comma-separated: 1, 2 (sqlite serves one only)",
    )
    parser.add_argument(
        "--folder",
        type=Path,
        default=_ram_disk(),
        help="where the stores' files go (default: /dev/shm, a RAM disk, when there is one)",
    )
    args = parser.parse_args()
    configs = [
        Config(store, nodes)
        for store in args.stores
        for nodes in args.nodes
        if store != "sqlite" or nodes == 1
    ]
    if not configs:
        parser.error("no configuration left: sqlite serves one node only")
    ensure_installed(DRIVER_DIR)
    print(f"stores in {args.folder or tempfile.gettempdir()}", flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="idp-store-matrix-", dir=args.folder) as folder,
        ExitStack() as stack,
    ):
        Path(folder).chmod(0o755)  # PostgreSQL runs as its own user and must reach its folder
        served = []
        for config in configs:
            print(f"starting {config.label}", flush=True)
            served.append(
                stack.enter_context(_served(config, Path(folder) / config.slug, args.only))
            )
        for name in args.only:
            for c in CONCURRENCY.get(name, (1, 32)):
                for run in range(args.runs):
                    for on in served if run % 2 == 0 else reversed(served):
                        _measure(on, name, c, run, args)
        _table(served, args.only, args)


if __name__ == "__main__":
    main()
