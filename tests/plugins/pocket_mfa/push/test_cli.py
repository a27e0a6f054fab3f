"""The `pocket` command end to end, against the device API served by uvicorn."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
import qrcode
from anyio.from_thread import BlockingPortal, start_blocking_portal
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from idp.store.sqlite import SqliteStore
from plugins.pocket_mfa.push.challenge import Challenge, Outcome
from plugins.pocket_mfa.push.config import PushConfig
from plugins.pocket_mfa.push.devices import Device
from plugins.pocket_mfa.push.service import PushService
from tests.plugins.pocket_mfa.push.conftest import (
    CONTEXT,
    add_user,
    build_service,
    make_app,
    serve,
)

ROOT = Path(__file__).resolve().parents[4]


@dataclass
class Live:
    service: PushService
    sub: str
    state: Path
    #: an event loop of the test's own, for the service's coroutines
    portal: BlockingPortal

    def pocket(
        self, *args: str, state: Path | None = None, stdin: str = ""
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "plugins.pocket_mfa.client", *args],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "POCKET_STATE": str(state or self.state)},
            timeout=60,
        )

    def challenge(self) -> Challenge:
        return self.portal.call(self.service.challenges.open, self.sub, CONTEXT)

    def outcome(self, challenge_id: str) -> Outcome:
        return self.portal.call(self.service.challenges.outcome, challenge_id)

    def new_pairing(self) -> tuple[str, str]:
        return self.portal.call(self.service.pairing.create_pairing, self.sub)

    def paired_device(self, token: str) -> Device | None:
        return self.portal.call(self.service.pairing.paired_device, token)

    def pair(self) -> None:
        _, uri = self.new_pairing()
        result = self.pocket("pair", uri, "--name", "Terminal")
        assert result.returncode == 0, result.stderr


@pytest.fixture
def live(store: SqliteStore, tmp_path: Path) -> Iterator[Live]:
    services: list[PushService] = []

    def app(base_url: str) -> object:
        config = PushConfig(push_limit=20)
        services.append(build_service(store, base_url, config=config, notifiers=[]))
        return make_app(services[0])

    with start_blocking_portal() as portal, serve(app):
        user = portal.call(add_user, store, "alice")
        yield Live(services[0], user.sub, tmp_path / "pocket" / "state.json", portal)


def test_pair_from_uri(live: Live) -> None:
    token, uri = live.new_pairing()
    result = live.pocket("pair", uri, "--name", "Terminal")
    assert result.returncode == 0, result.stderr
    assert "Paired 'Terminal' with alice" in result.stdout
    device = live.paired_device(token)
    assert device is not None and device.name == "Terminal"
    assert stat.S_IMODE(live.state.stat().st_mode) == 0o600
    saved = json.loads(live.state.read_text())
    assert saved["device_id"] == device.device_id and "d" in saved["private_key"]
    assert "d" not in device.public_key
    shown = live.pocket("devices")
    assert shown.returncode == 0, shown.stderr
    assert device.device_id in shown.stdout and "Terminal" in shown.stdout


def test_pair_from_png(live: Live, tmp_path: Path) -> None:
    """The `pocket` command as the README runs it, from a QR image, where nothing but the
    package and what installing it brings along can be imported (no test extras)."""
    token, uri = live.new_pairing()
    png = tmp_path / "qr.png"
    qrcode.make(uri).save(png)
    state = tmp_path / "phone2.json"
    result = _pocket_script_alone(tmp_path, "--state", str(state), "pair", str(png))
    assert result.returncode == 0, result.stderr
    assert live.paired_device(token) is not None
    assert json.loads(state.read_text())["alg"] == "ES256"


#: runs a script (argv[2], with the arguments after it) where the top-level modules named
#: in argv[1] cannot be imported, as if their distributions were not installed
_WITHOUT = """
import runpy, sys
absent = set(sys.argv[1].split(","))
class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in absent:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Absent())
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def _pocket_script_alone(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The `pocket` console script that installing the package made, run where only the
    distributions the package installs can be imported."""
    installed = _installed_with("pocket-idp")
    absent = {
        module
        for module, providers in metadata.packages_distributions().items()
        if not any(canonicalize_name(p) in installed for p in providers)
    }
    assert "pytest" in absent  # a test extra
    pocket = Path(sys.executable).with_name("pocket")
    return subprocess.run(
        [sys.executable, "-c", _WITHOUT, ",".join(sorted(absent)), str(pocket), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


def _installed_with(name: str) -> set[str]:
    """`name` and every distribution that installing it brings along: its requirements and
    theirs, with no extras but those a requirement asks for (uvicorn[standard])."""
    found: set[str] = set()
    seen: set[tuple[str, frozenset[str]]] = set()
    todo: list[tuple[str, frozenset[str]]] = [(name, frozenset())]
    while todo:
        distribution, extras = todo.pop()
        key = (canonicalize_name(distribution), extras)
        if key in seen:
            continue
        seen.add(key)
        try:
            requirements = metadata.requires(distribution) or []
        except metadata.PackageNotFoundError:  # not installed here: another platform's
            continue
        found.add(key[0])
        environments = [{"extra": extra} for extra in extras] or [{"extra": ""}]
        for text in requirements:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker is None or any(marker.evaluate(e) for e in environments):
                todo.append((requirement.name, frozenset(requirement.extras)))
    return found


def test_pair_refuses_other_codes(live: Live, tmp_path: Path) -> None:
    png = tmp_path / "activation.png"
    qrcode.make("ACT-1234-5678").save(png)
    for code in ("ACT-1234-5678", str(png)):
        result = live.pocket("pair", code)
        assert result.returncode == 1
        assert "not a Pocket pairing code" in result.stderr
        assert "activation code is not needed for logging in" in result.stderr
    assert not live.state.exists()
    _, uri = live.new_pairing()
    live.pocket("pair", uri)
    again = live.pocket("--state", str(tmp_path / "x.json"), "pair", uri)
    assert again.returncode == 1 and "used_pairing_token" in again.stderr


def test_pending_approve_with_number_and_deny_fraud(live: Live) -> None:
    live.pair()
    assert "No pending challenges." in live.pocket("pending").stdout
    challenge = live.challenge()
    pending = live.pocket("pending")
    assert challenge.id in pending.stdout and "Test RP" in pending.stdout
    assert all(str(n) in pending.stdout for n in challenge.numbers or [])
    no_number = live.pocket("approve")
    assert no_number.returncode == 1 and "--number" in no_number.stderr
    approved = live.pocket("approve", "--number", str(challenge.number))
    assert approved.returncode == 0, approved.stderr
    assert "Approved." in approved.stdout
    assert live.outcome(challenge.id) is Outcome.APPROVED

    second = live.challenge()
    denied = live.pocket("deny", "--fraud", second.id)
    assert denied.returncode == 0, denied.stderr
    assert "reported as fraud" in denied.stdout
    assert live.outcome(second.id) is Outcome.FRAUD
    replay = live.pocket("deny", second.id)
    assert replay.returncode == 1 and "challenge_closed" in replay.stderr


NO_LONGER_VALID = "This request is no longer valid: the login was stopped or has expired."


def test_an_answer_to_a_withdrawn_login_says_it_is_no_longer_valid(live: Live) -> None:
    live.pair()
    challenge = live.challenge()
    assert challenge.id in live.pocket("pending").stdout
    live.portal.call(live.service.challenges.withdraw, challenge, "stopped")
    assert "No pending challenges." in live.pocket("pending").stdout
    late = live.pocket("approve", "--number", str(challenge.number), challenge.id)
    assert late.returncode == 1
    assert NO_LONGER_VALID in late.stderr
    assert "Approved." not in late.stdout
    denied = live.pocket("deny", challenge.id)
    assert denied.returncode == 1 and NO_LONGER_VALID in denied.stderr
    assert live.outcome(challenge.id) is Outcome.WITHDRAWN


def test_watch_answers_and_stops_on_eof(live: Live) -> None:
    live.pair()
    first = live.challenge()
    proc = subprocess.Popen(
        [sys.executable, "-m", "plugins.pocket_mfa.client", "watch", "--wait", "5"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "POCKET_STATE": str(live.state)},
    )
    assert proc.stdin and proc.stdout and proc.stderr
    try:
        proc.stdin.write(f"y\n{first.number}\n")
        proc.stdin.close()
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if "Approved." in line:
                break
        assert live.outcome(first.id) is Outcome.APPROVED
        # the next challenge finds stdin at its end: watch stops
        live.challenge()
        assert proc.wait(timeout=30) == 0, "".join(seen) + proc.stdout.read() + proc.stderr.read()
        assert "Approve this login?" in "".join(seen)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
