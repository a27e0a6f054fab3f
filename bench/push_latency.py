"""Pocket push latency: from the phone's approve to the waiting browser page.

Not a test: a script a person runs against live `idp serve` processes that it starts
itself (the Pocket plugin on, a client that requires a second factor, one user with one
paired phone), side by side on two stores:

- sqlite, one process: the browser and the phone talk to the same process;
- PostgreSQL, two processes on one database: the browser's page waits on one process and
  the phone answers on the other, so the answer reaches the page through a wake-up that
  crosses processes (LISTEN/NOTIFY);
- redis: the same two processes on PostgreSQL with a Redis cache (`[store] cache`): the
  challenge and its outcome are kept in Redis, and the wake-up crosses processes through
  Redis pub/sub.

    .venv/bin/python bench/push_latency.py                 # 300 logins each, 1000 held
    .venv/bin/python bench/push_latency.py --logins 500 --held 2000 --stores postgresql,redis

Part 1, latency: for each login the browser's long-poll (`push/<login>/wait`) is parked
first; then the phone sends its signed approval (device token and signature are made
beforehand, so only the request is timed). Measured is the time from sending the
approve request to the browser's long-poll receiving its answer; p50 / p90 / p99 / max
over all logins.

Part 2, capacity (on the first store): `--held` logins each leave a pending challenge
with a browser long-poll parked on it, all at once. The server's RSS is read from /proc
before and while they are held: the delta per held challenge, and how many fit in 1 GiB.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import html
import json
import re
import resource
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from harness.idp_processes import IdpProcess, idp_processes  # noqa: E402
from harness.push_memory import push_service_memory  # noqa: E402
from harness.stores import running_store  # noqa: E402

from plugins.pocket_mfa.client import device_key  # noqa: E402
from plugins.pocket_mfa.push.protocol import answer_message, api_base, parse_pairing_uri  # noqa: E402

PASSWORD = "bench bench bench"
REDIRECT = "http://127.0.0.1/cb"
#: the bench sends many pushes to one person: lift the push-bombing cap for it
CONFIG_EXTRA = "\n[plugins.pocket.push]\npush_limit = 1000000\npush_window = 60\n"


#: the server processes' settings: the Pocket push on; cheap password hashing, and no
#: login throttle for the one person who logs in hundreds of times at once (the bench is
#: about the push, not argon2id or guessing)
ENVIRON = {
    "IDP_FACTORS_ENABLED": "pocket",
    "IDP_FACTORS_REQUIRED": "true",
    "IDP_PASSWORDS_TIME_COST": "1",
    "IDP_PASSWORDS_MEMORY_COST": "8192",
    "IDP_LOGIN_SLOW_AFTER": "1000000",
    "IDP_LOGIN_ACCOUNT_LIMIT": "1000000",
    "IDP_LOGIN_ADDRESS_LIMIT": "1000000",
}
STORES = {
    "sqlite": "sqlite, 1 process",
    "postgresql": "PostgreSQL, 2 processes",
    "redis": "PG + Redis, 2 processes",
}
#: this script's store names -> the harness's
_RUNNING = {"sqlite": "sqlite", "postgresql": "pg", "redis": "pg+redis"}


@contextmanager
def servers(store: str, folder: Path) -> Iterator[list[IdpProcess]]:
    """One process on a sqlite file, or two on one PostgreSQL database (with Redis)."""
    folder.chmod(0o755)  # PostgreSQL runs as its own user and must reach its folder
    with running_store(_RUNNING[store], folder / "store") as running:
        count = 1 if store == "sqlite" else 2
        with idp_processes(folder, count, CONFIG_EXTRA, ENVIRON | running.environ) as started:
            yield started


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


async def enroll(server: IdpProcess, client_id: str) -> Phone:
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
async def one_login(
    server: IdpProcess, client_id: str, phone: Phone, http: httpx.AsyncClient
) -> tuple[float, float]:
    """One timed login: the browser waits on `server`, the phone answers through `http`.
    In ms from sending the answer: to the page's long-poll answered, and to the phone's
    own answer."""
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
        replied = time.perf_counter()
        assert response.json() == {"status": "approved"}, response.text
        await asyncio.wait_for(answered.wait(), 10)
        await waiting
        finished = await browser.http.get(url)
        assert finished.headers["location"].startswith(REDIRECT), finished.text
        return (arrived[0] - sent) * 1000, (replied - sent) * 1000
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


async def hold(server: IdpProcess, client_id: str, count: int, concurrency: int) -> Held:
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


async def latencies(
    store: str, args: argparse.Namespace
) -> tuple[list[tuple[float, float]], Held | None]:
    """Timed logins on `store`; with `args.held`, also part 2 on its first process."""
    with tempfile.TemporaryDirectory(prefix="push-bench-") as tmp, servers(store, Path(tmp)) as on:
        browser_side, phone_side = on[0], on[-1]
        browser_side.idp("users", "add", "bench", "--password-stdin", stdin=PASSWORD + "\n")
        created = json.loads(
            browser_side.idp(
                "clients", "add", "Bench RP", "--public", "--redirect-uri", REDIRECT,
                "--mfa", "required", "--first-party", "--scope", "openid", "--json",
            )
        )  # fmt: skip
        client_id = created["client_id"]
        phone = await enroll(browser_side, client_id)
        async with httpx.AsyncClient(base_url=phone_side.url, timeout=60) as http:
            for _ in range(args.warmup):
                await one_login(browser_side, client_id, phone, http)
            timed = [
                await one_login(browser_side, client_id, phone, http) for _ in range(args.logins)
            ]
        held = (
            await hold(browser_side, client_id, args.held, args.concurrency) if args.held else None
        )
    return timed, held


async def main_async(args: argparse.Namespace) -> None:
    measured: dict[str, list[tuple[float, float]]] = {}
    held: Held | None = None
    for n, store in enumerate(args.stores):
        measured[store], on_store = await latencies(store, args if n == 0 else _no_hold(args))
        held = held or on_store
    per_waiting, per_record = await push_service_memory(args.held) if args.held else (0.0, 0.0)

    print()
    print("Pocket push latency: approve request -> browser long-poll answered, in ms")
    print(f"({args.logins} logins each; with two processes the page waits on the other one)")
    head = f"{'store':<24} {'':<8} {'p50':>8} {'p90':>8} {'p99':>8} {'max':>8} {'mean':>8}"
    print(head + "  p99 < 50 ms")
    for store, timed in measured.items():
        for n, what in enumerate(("page", "phone")):
            values = [pair[n] for pair in timed]
            row = [percentile(values, q) for q in (50, 90, 99)]
            row += [max(values), statistics.fmean(values)]
            label = STORES[store] if n == 0 else ""
            line = f"{label:<24} {what:<8} " + " ".join(f"{v:8.2f}" for v in row)
            print(line + (f"  {'met' if row[2] < 50 else 'NOT met'}" if n == 0 else ""))
    print("page: the waiting page's long-poll answered; phone: the phone's answer replied to")
    if held is None:
        return
    print()
    print(f"Pending challenges held by one server process ({STORES[args.stores[0]]}):")
    print(f"{held.count} at once, each with a parked browser long-poll (server RSS from /proc)")
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


def _no_hold(args: argparse.Namespace) -> argparse.Namespace:
    return argparse.Namespace(**{**vars(args), "held": 0})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logins", type=int, default=300, help="timed logins (>= 200)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--held", type=int, default=1000, help="pending challenges held at once")
    parser.add_argument("--concurrency", type=int, default=50, help="logins opened in parallel")
    parser.add_argument(
        "--stores",
        type=lambda text: text.split(","),
        default=list(STORES),
        help="comma-separated: sqlite (one process), postgresql and redis (two processes)",
    )
    args = parser.parse_args()
    if unknown := set(args.stores) - set(STORES):
        parser.error(f"unknown store: {', '.join(sorted(unknown))}")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
