"""Pocket push latency: from the phone's approve to the waiting browser page.

Not a test: a script a person runs against a live `idp serve` that it starts itself
(sqlite store in a temporary folder, the Pocket plugin on, a client that requires a
second factor, one user with one paired phone):

    .venv/bin/python bench/push_latency.py                 # 300 logins, 1000 held
    .venv/bin/python bench/push_latency.py --logins 500 --held 2000

Part 1, latency: for each login the browser's long-poll (`push/<login>/wait`) is parked
first; then the phone sends its signed approval (device token and signature are made
beforehand, so only the request is timed). Measured is the time from sending the
approve request to the browser's long-poll receiving its answer; p50 / p90 / p99 / max
over all logins.

Part 2, capacity: `--held` logins each leave a pending challenge with a browser
long-poll parked on it, all at once. The server's RSS is read from /proc before and
while they are held: the delta per held challenge, and how many fit in 1 GiB.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import html
import json
import os
import re
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from plugins.pocket_mfa.client import device_key  # noqa: E402
from plugins.pocket_mfa.push.protocol import answer_message, api_base, parse_pairing_uri  # noqa: E402

PASSWORD = "bench bench bench"
REDIRECT = "http://127.0.0.1/cb"
#: the bench sends many pushes to one person: lift the push-bombing cap for it
CONFIG_EXTRA = "\n[plugins.pocket.push]\npush_limit = 1000000\npush_window = 60\n"


@dataclass
class Server:
    issuer: str
    process: subprocess.Popen[bytes]
    environ: dict[str, str]
    config: Path

    def idp(self, *args: str, stdin: str = "") -> str:
        result = subprocess.run(
            [sys.executable, "-m", "idp.cli", "--config", str(self.config), *args],
            input=stdin,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=self.environ,
            check=True,
        )
        return result.stdout

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")


@contextmanager
def live_server(folder: Path) -> Iterator[Server]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    issuer = f"http://127.0.0.1:{port}"
    config = folder / "idp.toml"
    config.write_text((ROOT / "config" / "idp.toml").read_text() + CONFIG_EXTRA)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("IDP_")}
    environ |= {
        "IDP_SERVER_ISSUER": issuer,
        "IDP_STORE_PATH": str(folder / "idp.sqlite3"),
        "IDP_FACTORS_ENABLED": "pocket",
        "IDP_FACTORS_REQUIRED": "true",
        # cheap password hashing: the bench is about the push, not argon2id
        "IDP_PASSWORDS_TIME_COST": "1",
        "IDP_PASSWORDS_MEMORY_COST": "8192",
    }
    command = [sys.executable, "-m", "idp.cli", "--config", str(config), "serve"]
    command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    log = open(folder / "server.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(command, cwd=ROOT, env=environ, stdout=log, stderr=log)
    server = Server(issuer, process, environ, config)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration"):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit((folder / "server.log").read_text()) from None
                time.sleep(0.1)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


# --- a browser and a phone
def hidden(page: str) -> dict[str, str]:
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    return {k: html.unescape(v) for k, v in found}


class Browser:
    def __init__(self, issuer: str, client_id: str) -> None:
        self.http = httpx.AsyncClient(base_url=issuer, follow_redirects=False, timeout=60)
        self.client_id = client_id

    async def aclose(self) -> None:
        await self.http.aclose()

    async def password(self) -> str:
        """Authorize and log in; returns the factor step's first URL."""
        verifier = secrets.token_urlsafe(32)
        digest = hashlib.sha256(verifier.encode()).digest()
        query = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": REDIRECT,
            "scope": "openid",
            "state": secrets.token_urlsafe(8),
            "code_challenge": base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
            "code_challenge_method": "S256",
        }
        response = await self.http.get("/authorize", params=query)
        login_url = response.headers["location"]
        page = await self.http.get(login_url)
        form = hidden(page.text) | {"username": "bench", "password": PASSWORD}
        response = await self.http.post(login_url, data=form | {"action": "login"})
        return str(response.headers["location"])

    async def push_page(self) -> tuple[str, str, int]:
        """Log in up to the waiting page (the push is sent): its URL, wait URL, number."""
        url = await self.password()
        assert "/push/" in url, url
        await self.http.get(url)  # sends the push, 303 to itself
        page = await self.http.get(url)
        wait = re.search(r'data-pocket-wait="([^"]+)"', page.text)
        number = re.search(r'id="push-number"[^>]*>(\d+)<', page.text)
        assert wait and number, page.text
        return url, html.unescape(wait.group(1)), int(number.group(1))


@dataclass
class Phone:
    issuer: str
    device_id: str
    private_key: dict[str, Any]
    alg: str

    def auth(self) -> dict[str, str]:
        token = device_key.device_token(
            self.private_key, self.alg, self.device_id, api_base(self.issuer)
        )
        return {"authorization": f"Device {token}"}

    def approval(self, challenge: dict[str, Any], number: int) -> tuple[str, dict[str, Any]]:
        """The answer request, signed beforehand: (path, body)."""
        assert number in challenge["numbers"], (number, challenge)
        message = answer_message(challenge["id"], "approve", number, False)
        signature = device_key.sign(self.private_key, message)
        body = {
            "decision": "approve",
            "fraud": False,
            "number": number,
            "signature": base64.urlsafe_b64encode(signature).rstrip(b"=").decode(),
        }
        return f"/factors/pocket/api/v1/challenges/{challenge['id']}/answer", body


async def enroll(server: Server, client_id: str) -> Phone:
    browser = Browser(server.issuer, client_id)
    try:
        url = await browser.password()
        page = await browser.http.get(url)
        await browser.http.post(url, data=hidden(page.text) | {"method": "push", "action": "next"})
        page = await browser.http.get(f"{url}/pair")
        link = re.search(r'<a href="(pocket://pair\?[^"]+)"', page.text)
        assert link, page.text
        _, token = parse_pairing_uri(html.unescape(link.group(1)))
        private_key, alg = device_key.generate("ec")
        body = {
            "pairing_token": token,
            "public_key": device_key.public_part(private_key),
            "device_name": "bench phone",
        }
        paired = await browser.http.post("/factors/pocket/api/v1/pair", json=body)
        assert paired.status_code == 201, paired.text
        done = await browser.http.get(f"{url}/pair")
        done_url = done.headers["location"]
        page = await browser.http.get(done_url)
        await browser.http.post(done_url, data=hidden(page.text) | {"action": "next"})
        return Phone(server.issuer, paired.json()["device_id"], private_key, alg)
    finally:
        await browser.aclose()


# --- part 1: latency
async def one_login(server: Server, client_id: str, phone: Phone, http: httpx.AsyncClient) -> float:
    browser = Browser(server.issuer, client_id)
    try:
        url, wait_url, number = await browser.push_page()
        found = await http.get("/factors/pocket/api/v1/challenges", headers=phone.auth())
        [challenge] = found.json()["challenges"]
        path, body = phone.approval(challenge, number)
        headers = phone.auth()
        answered = asyncio.Event()
        arrived: list[float] = []

        async def long_poll() -> None:
            response = await browser.http.get(wait_url)
            arrived.append(time.perf_counter())
            assert response.json()["done"] is True, response.text
            answered.set()

        waiting = asyncio.create_task(long_poll())
        await asyncio.sleep(0.02)  # the long-poll is parked on the server
        sent = time.perf_counter()
        response = await http.post(path, json=body, headers=headers)
        assert response.json() == {"status": "approved"}, response.text
        await asyncio.wait_for(answered.wait(), 10)
        await waiting
        finished = await browser.http.get(url)
        assert finished.headers["location"].startswith(REDIRECT), finished.text
        return (arrived[0] - sent) * 1000
    finally:
        await browser.aclose()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


# --- part 2: how many pending challenges one process holds
@dataclass
class Held:
    count: int
    #: server RSS in KiB: at the start, with the challenges made, with the long-polls parked
    start: int
    created: int
    parked: int

    @property
    def per_parked(self) -> float:
        """KiB per held challenge for its parked long-poll (connection, request, waiter)."""
        return (self.parked - self.created) / self.count


async def hold(server: Server, client_id: str, count: int, concurrency: int) -> Held:
    """`count` logins each leave a pending challenge; then each browser parks a long-poll."""
    limit = asyncio.Semaphore(concurrency)
    browsers = [Browser(server.issuer, client_id) for _ in range(count)]

    async def open_one(browser: Browser) -> str:
        async with limit:
            return (await browser.push_page())[1]

    # warm-up: logins in parallel grow the server's allocator arenas (argon2id buffers in
    # worker threads) once; they are not what a held challenge costs
    warm = [Browser(server.issuer, client_id) for _ in range(min(count, 4 * concurrency))]
    await asyncio.gather(*(open_one(b) for b in warm))
    await asyncio.gather(*(b.aclose() for b in warm))
    await asyncio.sleep(1)
    start = server.rss_kib()
    waits = await asyncio.gather(*(open_one(b) for b in browsers))
    await asyncio.sleep(1)
    created = server.rss_kib()
    polls = [asyncio.create_task(b.http.get(w)) for b, w in zip(browsers, waits, strict=True)]
    await asyncio.sleep(3)  # every long-poll parked
    parked = server.rss_kib()
    for poll in polls:
        poll.cancel()
    await asyncio.gather(*polls, return_exceptions=True)
    await asyncio.gather(*(b.aclose() for b in browsers))
    return Held(count, start, created, parked)


async def in_process(count: int) -> tuple[float, float]:
    """tracemalloc, in this process: the push service's own memory per pending challenge
    (the challenge made and a `wait_for_answer` parked on it), without HTTP; and per
    challenge without a waiter. In bytes."""
    import tracemalloc

    from idp.store import User
    from idp.store.sqlite import SqliteStore
    from plugins.pocket_mfa.push.challenge import PushContext
    from plugins.pocket_mfa.push.config import PushConfig
    from plugins.pocket_mfa.push.service import PushService

    with tempfile.TemporaryDirectory(prefix="push-mem-") as tmp:
        store = SqliteStore(Path(tmp) / "push.sqlite3")
        service = PushService.build(store, "https://idp.test", PushConfig(push_limit=10**9))
        store.add_user(User(sub="bench", username="bench", password_hash="-"))
        service.devices.add("bench", "phone", {"kty": "OKP", "crv": "Ed25519", "x": "AA"}, "EdDSA")
        context = PushContext("Bench RP", "127.0.0.1", "Firefox 128")
        service.challenges.open("bench", context)  # warm up caches
        tracemalloc.start()
        first = tracemalloc.take_snapshot()
        made = [service.challenges.open("bench", context) for _ in range(count)]
        second = tracemalloc.take_snapshot()
        waits = [asyncio.create_task(service.challenges.wait_for_answer(c.id, 60)) for c in made]
        while sum(service.challenges.waiters.count(f"answer:{c.id}") for c in made) < count:
            await asyncio.sleep(0.05)
        third = tracemalloc.take_snapshot()
        tracemalloc.stop()
        for task in waits:
            task.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
        store.close()

    def grown(a: Any, b: Any) -> float:
        return float(sum(d.size_diff for d in b.compare_to(a, "filename")))

    return grown(first, third) / count, grown(first, second) / count


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="push-bench-") as tmp, live_server(Path(tmp)) as server:
        server.idp("users", "add", "bench", "--password-stdin", stdin=PASSWORD + "\n")
        created = json.loads(
            server.idp(
                "clients", "add", "Bench RP", "--public", "--redirect-uri", REDIRECT,
                "--mfa", "required", "--first-party", "--scope", "openid", "--json",
            )
        )  # fmt: skip
        client_id = created["client_id"]
        phone = await enroll(server, client_id)
        async with httpx.AsyncClient(base_url=server.issuer, timeout=60) as http:
            for _ in range(args.warmup):
                await one_login(server, client_id, phone, http)
            latencies = [
                await one_login(server, client_id, phone, http) for _ in range(args.logins)
            ]
        held = await hold(server, client_id, args.held, args.concurrency)
    per_waiting, per_record = await in_process(args.held)

    print()
    print(
        f"Pocket push latency: approve request -> browser long-poll answered ({args.logins} logins)"
    )
    print(f"{'':>10} {'p50':>9} {'p90':>9} {'p99':>9} {'max':>9} {'mean':>9}")
    row = [percentile(latencies, q) for q in (50, 90, 99)]
    row += [max(latencies), statistics.fmean(latencies)]
    print(f"{'ms':>10} " + " ".join(f"{v:9.2f}" for v in row))
    print(f"target p99 < 50 ms: {'met' if row[2] < 50 else 'NOT met'}")
    print()
    print(f"Pending challenges held by one server process: {held.count} at once, each with a")
    print("parked browser long-poll (server RSS from /proc)")
    mib = 1024
    print(f"{'RSS at start':>22} {held.start / mib:9.1f} MiB")
    print(f"{'challenges made':>22} {held.created / mib:9.1f} MiB  (and their logins' records)")
    print(f"{'long-polls parked':>22} {held.parked / mib:9.1f} MiB")
    per = (held.parked - held.start) / held.count
    fit = int(2**20 / per) if per > 0 else 0
    print(f"{'per held challenge':>22} {per:9.1f} KiB  -> about {fit} in 1 GiB")
    print(f"{'of which the long-poll':>22} {held.per_parked:9.1f} KiB")
    print()
    print(f"In-process (tracemalloc, push service only, {args.held} challenges):")
    print(f"{'per pending challenge':>22} {per_record:9.0f} B   (the store keeps it in sqlite)")
    print(f"{'with a waiter parked':>22} {per_waiting:9.0f} B")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logins", type=int, default=300, help="timed logins (>= 200)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--held", type=int, default=1000, help="pending challenges held at once")
    parser.add_argument("--concurrency", type=int, default=50, help="logins opened in parallel")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
