"""A Docker engine for the tests, and the images they need that cannot be pulled.

`DockerEngine` uses the engine the machine runs, or else starts dockerd itself as this
machine allows (no iptables, no default bridge, the vfs storage driver), with its data
under the test's folder and its sockets under /tmp; `stop` ends only a daemon it
started, and removes everything it kept. `build_local_images` makes the stand-ins for
the public images of docker-compose.yml from Debian's packages: a base from debootstrap,
imported once per run, and small images on it with Python, PostgreSQL, Redis, HAProxy.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.deploy.compose import ROOT

IMAGES = ROOT / "tests" / "deploy" / "images"
#: the local images that stand in for the public ones, by compose variable
LOCAL_IMAGES = {
    "python": "local/pocket-test-python:3.11",
    "POSTGRES_IMAGE": "local/pocket-test-postgres",
    "REDIS_IMAGE": "local/pocket-test-redis",
    "HAPROXY_IMAGE": "local/pocket-test-haproxy",
}
BASE_IMAGE = "local/pocket-test-debian:bookworm"
START_TIMEOUT = 30.0


class EngineUnavailable(Exception):
    """No Docker engine can run here; the message says why."""


def debian_mirror() -> str:
    """The Debian mirror apt uses on this machine."""
    for path in [Path("/etc/apt/sources.list.d/debian.sources"), Path("/etc/apt/sources.list")]:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            words = line.split()
            if line.startswith("URIs:") and "security" not in line:
                return words[1]
            if line.startswith("deb ") and "debian" in line and "security" not in line:
                return next(w for w in words[1:] if w.startswith("http"))
    return "http://deb.debian.org/debian"


class DockerEngine:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None
        self.sockets: Path | None = None
        self.environ: dict[str, str] = dict(os.environ)
        self.docker = "docker"
        #: whether this engine started a dockerd of its own
        self.process_started = False

    @property
    def log_path(self) -> Path:
        return self.folder / "dockerd.log"

    def start(self) -> None:
        """Use the machine's engine, or start one; EngineUnavailable when neither works."""
        dockerd = shutil.which("dockerd")
        # the client of Debian's docker.io speaks the daemon's BuildKit; another one found
        # first on PATH may want a buildx plugin
        client = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else shutil.which("docker")
        if client is None:
            raise EngineUnavailable("no docker command: apt-get install docker.io")
        self.docker = client
        if self._answers():
            return
        if dockerd is None:
            raise EngineUnavailable("no dockerd: apt-get install docker.io")
        if os.geteuid() != 0:
            raise EngineUnavailable("dockerd needs root")
        # unix sockets have short paths: the daemon's live under /tmp
        self.sockets = Path(tempfile.mkdtemp(prefix="pocket-docker-", dir="/tmp"))
        self.environ["DOCKER_HOST"] = f"unix://{self.sockets}/docker.sock"
        command = [
            dockerd,
            "--host",
            self.environ["DOCKER_HOST"],
            "--data-root",
            str(self.folder / "data"),
            "--exec-root",
            str(self.sockets / "exec"),
            "--pidfile",
            str(self.sockets / "dockerd.pid"),
            "--iptables=false",
            "--bridge=none",
            "--storage-driver=vfs",
        ]
        self.process_started = True
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-5:])
                self.stop()
                raise EngineUnavailable(f"dockerd did not start:\n{tail}")
            time.sleep(0.2)

    def _answers(self) -> bool:
        done = subprocess.run(
            [self.docker, "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            env=self.environ,
            check=False,
        )
        return done.returncode == 0

    def run(self, *args: str, stdin: bytes | None = None, timeout: float = 600) -> str:
        """`docker ARGS`; its output, or an AssertionError with its messages."""
        done = subprocess.run(
            [self.docker, *args],
            input=stdin,
            capture_output=True,
            env={**self.environ, "DOCKER_BUILDKIT": "1"},
            timeout=timeout,
            check=False,
        )
        output = done.stdout.decode(errors="replace")
        assert done.returncode == 0, f"docker {args[0]}: {output}{done.stderr.decode()}"
        return output

    def stop(self) -> None:
        """Stop the daemon this engine started (with its containerd), and remove its
        images and containers; an engine of the machine is left alone."""
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
            self.process = None
            for folder in (self.folder / "data", self.sockets):
                if folder is not None:
                    unmount_under(folder)
                    shutil.rmtree(folder, ignore_errors=True)
            self.sockets = None


def unmount_under(folder: Path) -> None:
    """Unmount what a stopped daemon left mounted in `folder` (its network namespace)."""
    mounts = Path("/proc/mounts").read_text().splitlines()
    points = [line.split()[1] for line in mounts if len(line.split()) > 1]
    for point in sorted((p for p in points if p.startswith(f"{folder}/")), reverse=True):
        subprocess.run(["umount", "--lazy", point], capture_output=True, check=False)


def build_local_images(engine: DockerEngine, folder: Path, timings: dict[str, float]) -> None:
    """The base image from debootstrap, then the images of `LOCAL_IMAGES` on it (built
    side by side); the seconds each stage took go into `timings`."""
    started = time.monotonic()
    rootfs = folder / "rootfs"
    subprocess.run(
        ["debootstrap", "--variant=minbase", "bookworm", str(rootfs), debian_mirror()],
        check=True,
        capture_output=True,
    )
    timings["debootstrap"] = time.monotonic() - started
    started = time.monotonic()
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    assert tar.stdout is not None
    subprocess.run(
        [engine.docker, "import", "-", BASE_IMAGE],
        stdin=tar.stdout,
        env=engine.environ,
        check=True,
        capture_output=True,
    )
    tar.stdout.close()
    assert tar.wait() == 0
    shutil.rmtree(rootfs, ignore_errors=True)
    timings["docker import"] = time.monotonic() - started
    started = time.monotonic()

    def build(kind: str, tag: str) -> None:
        name = kind.removesuffix("_IMAGE").lower()
        engine.run(
            "build",
            "--network",
            "host",
            "--build-arg",
            f"BASE={BASE_IMAGE}",
            "--file",
            str(IMAGES / f"{name}.Dockerfile"),
            "--tag",
            tag,
            str(IMAGES),
        )

    with ThreadPoolExecutor(max_workers=len(LOCAL_IMAGES)) as pool:
        for done in [pool.submit(build, kind, tag) for kind, tag in LOCAL_IMAGES.items()]:
            done.result()
    timings["local images (apt-get)"] = time.monotonic() - started


def image_variables(idp_image: str) -> Mapping[str, str]:
    """The compose file's image variables pointing at the local images."""
    chosen = {k: v for k, v in LOCAL_IMAGES.items() if k.endswith("_IMAGE")}
    return {**chosen, "IDP_IMAGE": idp_image}
