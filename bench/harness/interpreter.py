"""The CPython our IdP is served by while it is measured.

Our Dockerfile runs the IdP on the python:3.11-slim image, whose CPython is built with
profile-guided and link-time optimisation. A CPython built from source without
`--enable-optimizations` (pyenv's default, for one) runs the same Python code a fifth
to a quarter slower, and the project's `.venv` is made from whatever `python3` comes
first on PATH. So the harness times a short pure-Python loop on every CPython it finds
(the one the project's `.venv` was made from, `python3` on PATH, /usr/bin/python3) and
serves our IdP from the fastest: from the project's `.venv` when that is the one, else
from a virtualenv of its own, bench/.venv-ours (git-ignored), with the project
installed in editable mode, so that the working tree is what is measured. The peer,
likewise, runs on the official Node.js release build (see npm.py).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .paths import BENCH, IDP_BIN, REPO
from .procs import SERVER_CPU, pinned

OURS_VENV = BENCH / ".venv-ours"
_STAMP = OURS_VENV / "made-from.json"
_MIN_VERSION = (3, 11)

#: object creation, method calls, attribute access and arithmetic: the interpreter loop's
#: own work, which an optimised build speeds up (C code it calls, such as dict and str
#: methods, runs alike in either); prints the best of 15 runs, in seconds
_CHECK = """
import json, os, platform, sys, time
class Point:
    __slots__ = ("x", "y")
    def __init__(self, x, y):
        self.x = x
        self.y = y
    def moved(self, dx):
        return Point(self.x + dx, self.y - dx)
def work():
    point, total = Point(0, 0), 0
    for i in range(20000):
        point = point.moved(i & 7)
        total += point.x if i % 3 else point.y
    return total
best = float("inf")
for _ in range(15):
    start = time.perf_counter()
    work()
    best = min(best, time.perf_counter() - start)
print(json.dumps({"executable": os.path.realpath(sys.executable),
                  "version": platform.python_version(),
                  "supported": sys.version_info[:2] >= MIN_VERSION, "seconds": best}))
""".replace("MIN_VERSION", repr(_MIN_VERSION))


@dataclass(frozen=True)
class Interpreter:
    path: str  # the interpreter's own executable, every link resolved
    version: str
    loop_ms: float

    def describe(self) -> str:
        return f"{self.path} (CPython {self.version}, {self.loop_ms:.1f} ms)"


class InterpreterError(RuntimeError):
    pass


def project_base() -> str | None:
    """The CPython the project's .venv was made from."""
    cfg = REPO / ".venv" / "pyvenv.cfg"
    if not cfg.exists():
        return None
    for line in cfg.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "executable":
            return str(Path(value.strip()).resolve())
    venv_python = REPO / ".venv" / "bin" / "python"
    return str(venv_python.resolve()) if venv_python.exists() else None


def candidates() -> list[str]:
    """Where to look for a CPython; several may lead to one interpreter (see choose)."""
    found = [project_base(), shutil.which("python3"), "/usr/bin/python3"]
    return [path for path in found if path and Path(path).exists()]


def time_interpreter(path: str) -> Interpreter | None:
    """The interpreter's time for the check loop, on the server core; None if it cannot
    run the IdP (older than 3.11, or it fails)."""
    try:
        out = subprocess.run(
            pinned([path, "-c", _CHECK], SERVER_CPU),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        result = json.loads(out.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    if not result["supported"]:
        return None
    return Interpreter(result["executable"], result["version"], result["seconds"] * 1000)


def choose(forced: str | None = None) -> tuple[Interpreter, list[Interpreter]]:
    """The interpreter to serve our IdP with (the fastest, or `forced`), and all timed."""
    paths = [forced] if forced else candidates()
    timed: list[Interpreter] = []
    for path in paths:
        found = time_interpreter(path)
        # a launcher (pyenv's shim, say) may lead to an interpreter timed already
        if found is not None and all(t.path != found.path for t in timed):
            timed.append(found)
    if not timed:
        wanted = ".".join(map(str, _MIN_VERSION))
        raise InterpreterError(f"no CPython >= {wanted} found among {', '.join(paths)}")
    return min(timed, key=lambda t: t.loop_ms), timed


def _wanted_stamp(interpreter: Interpreter) -> dict[str, str]:
    pyproject = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()
    return {"interpreter": interpreter.path, "version": interpreter.version, "pyproject": pyproject}


def idp_command(interpreter: Interpreter) -> Path:
    """The `idp` command served by `interpreter`: the project's own, or bench/.venv-ours's,
    made (again) when missing or made from another interpreter or project file."""
    if interpreter.path == project_base() and IDP_BIN.exists():
        return IDP_BIN
    wanted = _wanted_stamp(interpreter)
    idp = OURS_VENV / "bin" / "idp"
    if idp.exists() and _STAMP.exists() and json.loads(_STAMP.read_text()) == wanted:
        return idp
    print(f"making {OURS_VENV.relative_to(REPO)} from {interpreter.path} ...", flush=True)
    shutil.rmtree(OURS_VENV, ignore_errors=True)
    pip = str(OURS_VENV / "bin" / "pip")
    steps = [
        [interpreter.path, "-m", "venv", str(OURS_VENV)],
        [pip, "install", "--quiet", "--disable-pip-version-check", "-e", str(REPO)],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            shutil.rmtree(OURS_VENV, ignore_errors=True)
            said = (done.stderr or done.stdout).strip()[-1500:]
            raise InterpreterError(f"`{' '.join(step)}` failed:\n{said}")
    _STAMP.write_text(json.dumps(wanted))
    return idp


if __name__ == "__main__":  # python -m harness.interpreter: what would be chosen
    best, timed = choose(sys.argv[1] if len(sys.argv) > 1 else None)
    for t in sorted(timed, key=lambda t: t.loop_ms):
        print(("* " if t is best else "  ") + t.describe())
