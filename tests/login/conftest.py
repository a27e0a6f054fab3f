"""A second-factor plugin made for tests, and a provider that runs it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.testclient import TestClient

from idp.app import create_app
from idp.factors import FactorHost, OfferedMethod, PendingLoginView
from idp.store import User
from tests.conftest import ISSUER, Env, make_settings

CODE = "424242"


@dataclass(frozen=True)
class Method:
    kind: str
    label: str
    created_at: int


class CodePlugin:
    """Asks for a fixed code; 'deny' fails the step. Users named new* are not enrolled."""

    name = "testcode"

    def setup(self, host: FactorHost, config: Mapping[str, Any]) -> None:
        self.host = host
        self.config = dict(config)

    def routes(self) -> Sequence[BaseRoute]:
        return [Route("/{login_id}", self.submit, methods=["POST"])]

    def template_folders(self) -> Sequence[Path]:
        return []

    async def is_enrolled(self, user: User) -> bool:
        return not user.username.startswith("new")

    async def methods(self, user: User, locale: str = "en") -> Sequence[Method]:
        return [Method("code", "Test code", 1)] if self.is_enrolled(user) else []

    async def reset(self, user: User) -> int:
        return 0

    async def aclose(self) -> None:
        pass

    async def offered_methods(self, user: User, locale: str) -> Sequence[OfferedMethod]:
        return [OfferedMethod(self.name, "code", "Test code", "A code that tests know")]

    async def begin(
        self,
        request: Request,
        login: PendingLoginView,
        user: User,
        method: str | None = None,
    ) -> Response:
        kind = "verify" if await self.is_enrolled(user) else "enroll"
        return HTMLResponse(f"<p>{kind}</p><form action='/factors/testcode/{login.id}'></form>")

    async def submit(self, request: Request) -> Response:
        login = await self.host.load_login(request, request.path_params["login_id"])
        if login is None:
            return self.host.expired(request)
        form = await request.form()
        if form.get("code") == CODE:
            return await self.host.finish(request, login, ["otp"])
        return await self.host.fail(request, login, "The code was refused.")


@pytest.fixture
def mfa_env(tmp_path: Path) -> Iterator[Env]:
    settings = make_settings(tmp_path, IDP_FACTORS_ENABLED="testcode")
    app = create_app(settings, plugins={"testcode": CodePlugin()})
    with TestClient(app, base_url=ISSUER, follow_redirects=False) as client:
        env = Env(app, client, settings)
        env.add_user()
        env.add_client("strict", mfa="required")
        env.add_client("relaxed", mfa="optional")
        yield env
