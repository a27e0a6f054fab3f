"""Pocket push on its own: a small Starlette app that mounts the device API on a real
sqlite store, a clock the tests move, and a phone that signs like the reference client.

The service's methods are coroutines. A test that runs no event loop of its own has them
run on the test client's (`PushEnv.run`); an async test awaits them."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from idp.audit import AuditTrail
from idp.settings import AuditSettings
from idp.store import User
from idp.store.sqlite import SqliteStore
from plugins.pocket_mfa.client import device_key
from plugins.pocket_mfa.push.api import device_routes
from plugins.pocket_mfa.push.challenge import Challenge, Outcome, PushContext
from plugins.pocket_mfa.push.config import PushConfig
from plugins.pocket_mfa.push.devices import Device
from plugins.pocket_mfa.push.protocol import API_PATH, answer_message, api_base
from plugins.pocket_mfa.push.service import PushService
from tests.served import serve as served

P = ParamSpec("P")
T = TypeVar("T")

ISSUER = "https://idp.test"
#: the plugin's name: its records are kept under it
NAMESPACE = "pocket"
CONTEXT = PushContext(
    client_name="Test RP", ip="192.0.2.7", browser="Firefox 128", location="Utrecht, NL"
)


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def add_user(store: SqliteStore, username: str) -> User:
    user = User(sub=str(uuid.uuid4()), username=username, password_hash="-")
    await store.add_user(user)
    return user


def build_service(store: SqliteStore, issuer: str = ISSUER, **options: Any) -> PushService:
    """The push service of the plugin's records in `store`, with its users; its events
    go to the store's audit trail, as a host's do (no JSON lines)."""
    audit = AuditTrail(store, AuditSettings(output="off"))
    return PushService.build(store.records(NAMESPACE), store, issuer, audit, **options)


def make_app(service: PushService) -> Starlette:
    return Starlette(routes=[Mount(API_PATH, routes=device_routes(service))])


@dataclass
class Phone:
    """A device as a phone app would be: its own key, signed requests."""

    client: TestClient
    clock: Clock
    issuer: str = ISSUER
    kind: str = "ec"
    device_id: str = ""
    private_key: dict[str, Any] = field(default_factory=dict)
    alg: str = ""

    def __post_init__(self) -> None:
        self.private_key, self.alg = device_key.generate(self.kind)

    @property
    def public_key(self) -> dict[str, Any]:
        return device_key.public_part(self.private_key)

    def pair(self, token: str, name: str = "Pixel 8", **extra: Any) -> httpx.Response:
        body = {"pairing_token": token, "public_key": self.public_key, "device_name": name}
        response = self.client.post(f"{API_PATH}/pair", json={**body, **extra})
        if response.status_code == 201:
            self.device_id = response.json()["device_id"]
        return response

    def token(self) -> str:
        return device_key.device_token(
            self.private_key, self.alg, self.device_id, api_base(self.issuer), now=self.clock()
        )

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"authorization": f"Device {token or self.token()}"}

    def challenges(self, wait: int = 0) -> list[dict[str, Any]]:
        response = self.client.get(f"{API_PATH}/challenges?wait={wait}", headers=self.auth())
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["challenges"]
        return found

    def signature(self, challenge_id: str, decision: str, number: int | None, fraud: bool) -> str:
        message = answer_message(challenge_id, decision, number, fraud)
        raw = device_key.sign(self.private_key, message)
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def answer(
        self,
        challenge_id: str,
        decision: str,
        number: int | None = None,
        fraud: bool = False,
        signature: str | None = None,
    ) -> httpx.Response:
        body: dict[str, Any] = {"decision": decision, "fraud": fraud}
        if number is not None:
            body["number"] = number
        body["signature"] = signature or self.signature(challenge_id, decision, number, fraud)
        url = f"{API_PATH}/challenges/{challenge_id}/answer"
        return self.client.post(url, json=body, headers=self.auth())


@dataclass
class PushEnv:
    service: PushService
    store: SqliteStore
    client: TestClient
    clock: Clock
    user: User

    def run(self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run the coroutine function to its end on the test client's event loop."""
        assert self.client.portal is not None
        return self.client.portal.call(lambda: fn(*args, **kwargs))

    def add_user(self, username: str) -> User:
        return self.run(add_user, self.store, username)

    def phone(self, kind: str = "ec") -> Phone:
        return Phone(self.client, self.clock, kind=kind)

    def paired_phone(self, user: User | None = None, kind: str = "ec") -> Phone:
        token, _ = self.run(self.service.pairing.create_pairing, (user or self.user).sub)
        phone = self.phone(kind)
        response = phone.pair(token)
        assert response.status_code == 201, response.text
        return phone

    def challenge(self, user: User | None = None) -> Challenge:
        return self.run(self.service.challenges.open, (user or self.user).sub, CONTEXT)

    def outcome(self, challenge_id: str) -> Outcome:
        return self.run(self.service.challenges.outcome, challenge_id)

    def devices(self, user: User | None = None) -> list[Device]:
        return self.run(self.service.devices.list, (user or self.user).sub)

    def audit(self) -> list[dict[str, Any]]:
        return self.run(self.service.audit.events)

    def audit_events(self) -> list[str]:
        return [e["event"] for e in self.audit()]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(tmp_path / "push.sqlite3")
    yield store
    store.close_now()


@pytest.fixture
def push(store: SqliteStore) -> Iterator[PushEnv]:
    clock = Clock()
    service = build_service(store, config=PushConfig(), notifiers=[], clock=clock)
    with TestClient(make_app(service), base_url=ISSUER) as client:
        assert client.portal is not None
        user = client.portal.call(add_user, store, "alice")
        yield PushEnv(service, store, client, clock, user)


@contextmanager
def serve(make_app: Callable[[str], Any]) -> Iterator[str]:
    """Run `make_app(base_url)` with uvicorn on a free port of 127.0.0.1; yields the URL."""
    with served(make_app, lifespan="off", ws="none", http="h11") as url:
        yield url
