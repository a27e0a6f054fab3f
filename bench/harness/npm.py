"""Installing the Node packages of the peer and of the driver."""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
from pathlib import Path

_ARCH = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}


def system_node() -> str:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is required (the peer and the load driver run on Node.js)")
    return node


def node_version(node: str | None = None) -> str:
    out = subprocess.run(
        [node or system_node(), "--version"], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def local_node(folder: Path) -> str | None:
    """The Node.js binary that folder's optional node-linux-* package brought, if any."""
    node = folder / "node_modules" / ".bin" / "node"
    return str(node) if node.exists() else None


def _installed(folder: Path) -> bool:
    manifest = json.loads((folder / "package.json").read_text())
    wanted: dict[str, str] = dict(manifest.get("dependencies", {}))
    arch = _ARCH.get(platform.machine().lower())
    for name, version in manifest.get("optionalDependencies", {}).items():
        if arch and name == f"node-linux-{arch}" and sys.platform == "linux":
            wanted[name] = version
    for name, version in wanted.items():
        pkg = folder / "node_modules" / name / "package.json"
        if not pkg.exists() or json.loads(pkg.read_text()).get("version") != version:
            return False
    return True


def ensure_installed(folder: Path) -> None:
    """Install folder's pinned dependencies into folder/node_modules if missing."""
    if _installed(folder):
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is required to install " + str(folder / "package.json"))
    verb = "ci" if (folder / "package-lock.json").exists() else "install"
    print(f"npm {verb} in {folder} ...", flush=True)
    subprocess.run(
        [npm, verb, "--no-audit", "--no-fund", "--loglevel=error"], cwd=folder, check=True
    )


def installed_version(folder: Path, package: str) -> str:
    pkg = folder / "node_modules" / package / "package.json"
    return str(json.loads(pkg.read_text())["version"])
