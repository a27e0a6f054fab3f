"""Command line: start the targets, run every workload against each, report."""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from . import argon, calibrate, interpreter, npm, report
from .driver import Timing
from .measure import OTHER_CPU_WARN, measure
from .ours import ProvisionError, start_ours
from .paths import DRIVER_DIR, IDP_BIN, PEER_DIR, REPO, RESULTS_DIR
from .peer import PASSWORD_CHECK, start_peer
from .procs import DRIVER_CPU, SERVER_CPU, Server, background_cpu_pct, can_pin
from .target import TOTP_USERS, Target
from .workloads import WORKLOADS, select

Starter = Callable[[Path], tuple[Target, Server]]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/run.py",
        description="Benchmark Pocket IdP against panva/oidc-provider on the same workloads.",
        epilog="workloads: " + ", ".join(w.name for w in WORKLOADS),
    )
    p.add_argument("--quick", action="store_true", help="a few seconds per workload")
    p.add_argument("--only", metavar="NAME[,NAME]", help="run only these workloads")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--peer-only", action="store_true", help="measure only the peer")
    who.add_argument("--ours-only", action="store_true", help="measure only our IdP")
    p.add_argument("--calibrate", action="store_true", help="measure the driver alone and exit")
    p.add_argument("--runs", type=int, help="runs per target and workload (default 3, quick 2)")
    p.add_argument("--duration", type=float, help="measured seconds per run (default 5, quick 1)")
    p.add_argument("--warmup", type=float, help="unmeasured seconds before each run (default 1)")
    p.add_argument(
        "--retries",
        type=int,
        default=2,
        help="repeat a run this often while other processes disturb it (default 2)",
    )
    p.add_argument(
        "--python",
        metavar="PATH",
        help="the CPython to serve our IdP with (default: the fastest found, see README)",
    )
    p.add_argument(
        "--idp",
        type=Path,
        help=f"our `idp` command, as it is (e.g. {IDP_BIN}); overrides --python",
    )
    p.add_argument(
        "--serve-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for `idp serve` (repeatable), e.g. --serve-arg=--access-log",
    )
    p.add_argument(
        "--output", type=Path, default=RESULTS_DIR / "latest.json", help="where to write JSON"
    )
    return p.parse_args(argv)


def _git_commit() -> str | None:
    out = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip() or None


def _served_by_note(served_by: dict[str, Any]) -> str:
    chosen = served_by["chosen"]
    timed = ", ".join(
        f"{t['path']} {t['loop_ms']:.1f} ms"
        for t in sorted(served_by["timed"], key=lambda t: float(t["loop_ms"]))
    )
    return (
        f"served by CPython {chosen['version']} at {chosen['path']}, the fastest CPython "
        f"found at the interpreter check (a pure-Python loop, best of 15: {timed})"
    )


def _footer(doc: dict[str, Any]) -> str:
    t = doc["timing"]
    a = doc["argon2"]
    lines = [
        f"ops/s: median of {t['runs']} runs of {t['duration_s']:g} s each "
        f"(after {t['warmup_s']:g} s warm-up), the targets alternating; "
        "min-max: spread of ops/s across runs; p50/p99: median over runs, ms per operation.",
        "An operation is one request, except login and login_argon2 (authorize, form, sign-in, "
        "redirects, token exchange, ID token check) and login_sso (authorize, token exchange, "
        "ID token check).",
        f"cpu: server process CPU use while measured (100% = its core, CPU {SERVER_CPU}, "
        f"saturated); driver on CPU {DRIVER_CPU}, its highest CPU use in any run: "
        f"{doc['driver_cpu_pct_max']}.",
    ]
    totp_rows = [row for row in doc["rows"] if row["workload"] == "login_totp"]
    if totp_rows:
        lines.append(
            "login_totp (ours only: the peer has no second factor): the login above with a "
            "client that requires the second factor, so the authenticator-app step follows "
            "the password (code page, code from the app's secret), and the ID token must "
            f"carry amr otp; {TOTP_USERS} users, enrolled through the wizard before the "
            "clock starts, since each code is accepted once."
        )
        waits = sum(
            int(run.get("totp_waits", 0))
            for row in totp_rows
            for s in row["targets"].values()
            for run in s.get("runs", [])
        )
        if waits:
            lines.append(
                f"WARNING: login_totp waited {waits} time(s) for a fresh code: too few users "
                "for this rate, so its figure is low."
            )
    if any(s.get("errors") for row in doc["rows"] for s in row["targets"].values()):
        lines.append("! after ops/s: some operations failed (listed below, and in the JSON).")
    noisy = [
        (row["workload"], row["concurrency"], name, s["other_cpu_pct_max"])
        for row in doc["rows"]
        for name, s in row["targets"].items()
        if (s.get("other_cpu_pct_max") or 0) > OTHER_CPU_WARN
    ]
    if noisy:
        worst = max(noisy, key=lambda n: n[3])
        lines.append(
            f"WARNING: other processes used CPU during {len(noisy)} measurement(s) (up to "
            f"{worst[3]:.0f}% of a core in {worst[0]} c={worst[1]} {worst[2]}): "
            "those figures are disturbed; rerun on a quiet machine."
        )
    ceiling = doc.get("driver_ceiling")
    if ceiling:
        lines.append(
            f"Driver ceiling: {ceiling['ops_per_s']:,.0f} req/s at c={ceiling['concurrency']} "
            "against a static server (bench/run.py --calibrate)."
        )
    per_login = {
        name: f"{s['requests_per_s'] / s['ops_per_s']:.1f}"
        for row in doc["rows"]
        if row["workload"] == "login"
        for name, s in row["targets"].items()
        if s.get("ops_per_s")
    }
    if per_login:
        shown = ", ".join(f"{name} {n}" for name, n in per_login.items())
        lines.append(f"HTTP requests per login: {shown}.")
    if "verify_ms" in a:
        lines.append(
            f"Password check at sign-in - ours: one argon2id verify, {a['verify_ms']:.1f} ms "
            f"(t={a['time_cost']}, m={a['memory_cost_kib']} KiB, p={a['parallelism']}; "
            f"{a['source']}); peer, in login: {PASSWORD_CHECK}, no hashing. "
            "The rows of workload login therefore compare a real password hash against none."
        )
    else:
        lines.append(f"argon2id verify: {a['source']}; peer: {PASSWORD_CHECK}.")
    if any(row["workload"] == "login_argon2" and "peer" in row["targets"] for row in doc["rows"]):
        lines.append(
            "In login_argon2 the peer verifies the same kind of argon2id hash (same parameters, "
            "made by our hasher) with the npm argon2 package "
            f"{npm.installed_version(PEER_DIR, 'argon2')}, so both servers pay one argon2id "
            "verify per sign-in."
        )
    for name, notes in doc["targets"].items():
        lines.append(f"{name}: " + "; ".join(notes["notes"]))
    for row in doc["rows"]:
        for name, s in row["targets"].items():
            if "failure" in s:
                lines.append(
                    f"FAILED {row['workload']} c={row['concurrency']} {name}: {s['failure']}"
                )
            elif s["errors"]:
                lines.append(
                    f"errors {row['workload']} c={row['concurrency']} {name}: {s['errors']}, "
                    f"e.g. {s['error_samples'][:1]}"
                )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quick = args.quick
    runs = args.runs or (2 if quick else 3)
    timing = Timing(
        warmup_s=args.warmup if args.warmup is not None else (0.5 if quick else 1.0),
        duration_s=args.duration or (1.0 if quick else 5.0),
    )
    if not can_pin():
        print("warning: fewer than 2 CPUs or no taskset: processes are not pinned", file=sys.stderr)
    npm.ensure_installed(DRIVER_DIR)

    if args.calibrate:
        results = calibrate.calibrate(timing)
        print(calibrate.render(results))
        report.write_json(RESULTS_DIR / "calibration.json", {"calibration": results})
        return 0

    workloads = select(args.only)
    background = background_cpu_pct()
    if background is not None and background > OTHER_CPU_WARN:
        print(
            f"warning: the machine is busy before the start ({background:.0f}% of a core in use "
            "by other processes): the figures will be disturbed",
            file=sys.stderr,
            flush=True,
        )
    starters: list[Starter] = []
    served_by: dict[str, Any] | None = None
    if not args.peer_only:
        idp = args.idp
        if idp is None:
            try:
                chosen, timed = interpreter.choose(args.python)
                idp = interpreter.idp_command(chosen)
            except interpreter.InterpreterError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            served_by = {"chosen": asdict(chosen), "timed": [asdict(t) for t in timed]}
            print(f"ours is served by {chosen.describe()}", flush=True)
        starters.append(functools.partial(start_ours, idp=idp, serve_args=args.serve_arg))
    if not args.ours_only:
        starters.append(start_peer)
        npm.ensure_installed(PEER_DIR)

    servers: list[Server] = []
    targets: list[Target] = []
    with tempfile.TemporaryDirectory(prefix="pocket-idp-bench-") as tmp:
        try:
            for start in starters:
                try:
                    target, server = start(Path(tmp))
                except (ProvisionError, RuntimeError) as exc:
                    print(f"error: could not start a target: {exc}", file=sys.stderr)
                    return 2
                servers.append(server)
                targets.append(target)
                if target.name == "ours" and served_by is not None:
                    target.notes.append(_served_by_note(served_by))
                print(f"{target.name}: {target.issuer} (pid {server.pid})", flush=True)
            rows = measure(targets, workloads, runs, timing, retries=args.retries)
        finally:
            for server in servers:
                server.stop()

    ceiling = calibrate.calibrate(Timing(0.5, 2.0), concurrencies=(32,))[0]
    driver_max = max(
        (
            s["driver_cpu_pct_max"]
            for row in rows
            for s in row["targets"].values()
            if s.get("driver_cpu_pct_max") is not None
        ),
        default=None,
    )
    doc: dict[str, Any] = {
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": _git_commit(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "driver_node": npm.node_version(),
        "python": platform.python_version(),
        "ours_served_by": served_by,
        "timing": {"runs": runs, "warmup_s": timing.warmup_s, "duration_s": timing.duration_s},
        "pinning": {"servers": SERVER_CPU, "driver": DRIVER_CPU} if can_pin() else None,
        "targets": {t.name: {"issuer": t.issuer, "notes": t.notes} for t in targets},
        "background_cpu_pct_at_start": background,
        "argon2": argon.measure(),
        "driver_ceiling": ceiling,
        "driver_cpu_pct_max": None if driver_max is None else f"{driver_max:.0f}%",
        "rows": rows,
    }
    print()
    print(report.render_table(rows, [t.name for t in targets]))
    print()
    print(_footer(doc))
    report.write_json(args.output, doc)
    print(f"\nJSON: {args.output}")
    return 0
