"""The store as a dimension of our IdP's speed: the sqlite file with one process,
PostgreSQL with one process, PostgreSQL with two (`idp serve --workers 2`).

Run: .venv/bin/python bench/store_matrix.py [--duration 5] [--runs 3] [--only cc_opaque]

Each configuration is provisioned with the `idp` command and served by `idp serve`, and
the project's load generator drives it. A row reports requests per second and requests
per server CPU-second, counting every server-side process: the IdP's processes and,
for PostgreSQL, the postmaster and all its backends. Ratios are against sqlite with one
process (PostgreSQL) and against PostgreSQL with one process (two processes); this
machine is noisy, so read the ratios, not the absolute figures.
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from harness.driver import Timing, run_driver
from harness.npm import ensure_installed
from harness.ours import start_ours
from harness.paths import DRIVER_DIR
from harness.postgres import start_postgres, stop_postgres
from harness.workloads import WORKLOADS

BY_NAME = {w.name: w for w in WORKLOADS}

#: (label, store, worker processes)
CONFIGS = (("sqlite 1p", "sqlite", 1), ("pg 1p", "postgresql", 1), ("pg 2p", "postgresql", 2))
WORKLOAD_NAMES = ("cc_opaque", "introspect", "refresh", "login_sso", "login_argon2")
CONCURRENCY = {"login_argon2": (1, 8), "login_sso": (1, 8)}


def _measure(config: tuple[str, str, int], names: list[str], args: argparse.Namespace) -> dict:
    label, store, workers = config
    results: dict[tuple[str, int], list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="idp-store-matrix-") as folder:
        work = Path(folder)
        work.chmod(0o755)  # PostgreSQL runs as its own user and must reach its folder
        extra: dict[str, str] = {}
        pg_pid = None
        if store == "postgresql":
            pg_pid, conninfo = start_postgres(work / "pg")
            port = dict(part.split("=") for part in conninfo.split())["port"]
            key = base64.urlsafe_b64encode(os.urandom(32)).decode()
            extra = {
                "IDP_STORE_URL": f"postgresql://postgres@127.0.0.1:{port}/postgres",
                "IDP_POCKET_ENCRYPTION_KEY": key,
            }
        (work / "idp").mkdir()
        target, server = start_ours(
            work / "idp", serve_args=["--workers", str(workers)], extra_env=extra
        )
        tree = [server.pid, *([pg_pid] if pg_pid else [])]
        try:
            timing = Timing(warmup_s=args.warmup, duration_s=args.duration)
            for name in names:
                workload = BY_NAME[name]
                for c in CONCURRENCY.get(name, (1, 32)):
                    for run in range(args.runs):
                        result = run_driver(
                            target.driver_spec(),
                            name,
                            c,
                            timing,
                            server_pid=server.pid,
                            setup_allowance_s=workload.setup_per_worker_s,
                            server_tree_pids=tree,
                        )
                        per_cpu = result["ops"] / max(result["server_tree_cpu_s"] or 0, 1e-9)
                        print(
                            f"  {label:<9} {name:<12} c={c:<3} run {run + 1}: "
                            f"{result['ops_per_s']:>9,.1f} ops/s  {per_cpu:>8,.1f} per cpu-s",
                            flush=True,
                        )
                        results.setdefault((name, c), []).append(result)
        finally:
            server.stop()
            if pg_pid:
                stop_postgres(pg_pid)
    return results


def _median(results: list[dict[str, Any]], key: str) -> float:
    if key == "per_cpu":
        return statistics.median(r["ops"] / max(r["server_tree_cpu_s"] or 0, 1e-9) for r in results)
    return statistics.median(r[key] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", help="workloads, comma-separated")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(WORKLOAD_NAMES)
    ensure_installed(DRIVER_DIR)
    measured = {config[0]: _measure(config, names, args) for config in CONFIGS}

    labels = [config[0] for config in CONFIGS]
    head = f"{'workload':<12} {'c':>3}"
    for label in labels:
        head += f" | {label + ' ops/s':>15} {'per cpu-s':>9}"
    head += " | pg1p/sqlite  pg2p/pg1p (per cpu-s)"
    print("\n" + head + "\n" + "-" * len(head))
    for name in names:
        for c in CONCURRENCY.get(name, (1, 32)):
            line = f"{name:<12} {c:>3}"
            per_cpu = {}
            for label in labels:
                rows = measured[label][(name, c)]
                per_cpu[label] = _median(rows, "per_cpu")
                line += f" | {_median(rows, 'ops_per_s'):>15,.1f} {per_cpu[label]:>9,.1f}"
            pg_vs_sqlite = per_cpu["pg 1p"] / per_cpu["sqlite 1p"]
            two_vs_one = per_cpu["pg 2p"] / per_cpu["pg 1p"]
            print(f"{line} | {pg_vs_sqlite:>10.2f}x {two_vs_one:>9.2f}x")
    print(f"\nmedian of {args.runs} runs of {args.duration:g} s; every server process counted")


if __name__ == "__main__":
    main()
