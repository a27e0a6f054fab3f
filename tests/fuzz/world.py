"""The app the fuzz tests send their requests to, with things in it that a request may
name, and the check every answer must pass: no 5xx, nothing logged as an error."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.testclient import TestClient

from plugins.pocket_mfa.client import device_key
from plugins.pocket_mfa.push.challenge import PushContext
from plugins.pocket_mfa.push.errors import PushLimitError
from tests.conftest import PASSWORD, RP, Env, hidden_inputs, pkce_pair
from tests.fuzz.strategies import FORM, Request
from tests.plugins.pocket_mfa.push.conftest import Phone

CONTEXT = PushContext(client_name="Fuzz RP", ip="192.0.2.9", browser="Firefox", location="")
#: stand-ins in a drawn request for what only exists once the request is sent: the
#: cookie of a new browser, and the token (CSRF, logout id) of the page it came from
BROWSER = "<browser>"
TOKEN = "PAGE_TOKEN"


class ErrorRecords(logging.Handler):
    """Every log record of level ERROR or with a traceback."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)


class World:
    """Clients of every kind, alice's tokens and a browser with her SSO session (`sso`,
    its cookies), bob's paired phone."""

    def __init__(self, env: Env, errors: list[logging.LogRecord]) -> None:
        self.env = env
        self.errors = errors
        self._strategies: dict[object, Any] = {}
        env.add_client(mfa="optional")
        env.add_client("third", first_party=False, mfa="optional")
        env.add_client("strict", first_party=False, mfa="required")
        env.add_client("spa", secret=None, public=True, token_endpoint_auth_method="none")
        env.add_client("poster", token_endpoint_auth_method="client_secret_post")
        env.add_client("svc", grant_types=("client_credentials",), access_token_format="jwt")
        self.client_key, _ = device_key.generate("ec")
        env.add_client(
            "pkjwt",
            secret=None,
            token_endpoint_auth_method="private_key_jwt",
            jwks={"keys": [device_key.public_part(self.client_key)]},
        )
        env.add_user("alice")
        self.bob = env.add_user("bob").sub
        tokens = self._log_in_alice()
        self.access_token = tokens["access_token"]
        self.refresh_token = tokens["refresh_token"]
        self.id_token = tokens["id_token"]
        self.sso = "; ".join(f"{k}={v}" for k, v in env.client.cookies.items())
        env.client.cookies.clear()
        service = env.client.post(
            "/token", data={"grant_type": "client_credentials"}, auth=("svc", "s3cret")
        )
        self.jwt_access_token = service.json()["access_token"]
        self.phone = self._pair_phone()

    def __repr__(self) -> str:
        return "World()"

    @property
    def client(self) -> TestClient:
        return self.env.client

    @property
    def plugin(self) -> Any:
        return self.env.provider.plugins["pocket"]

    def strategy(self, key: object, build: Callable[[World], Any]) -> Any:
        """The strategy `build` makes for this world, made once."""
        if key not in self._strategies:
            self._strategies[key] = build(self)
        return self._strategies[key]

    # --- requests
    def send(
        self,
        method: str,
        path: str,
        query: str = "",
        content: bytes | None = None,
        headers: Mapping[str, str | bytes | None] | None = None,
    ) -> httpx.Response:
        """One request with exactly these headers (cookies included): nothing is kept, and
        the error records start empty."""
        self.errors.clear()
        self.client.cookies.clear()
        sent = {
            k: v.encode() if isinstance(v, str) else v
            for k, v in (headers or {}).items()
            if v is not None
        }
        url = f"{path}?{query}" if query else path
        response = self.client.request(method, url, content=content, headers=sent)
        self.client.cookies.clear()
        return response

    def check(self, response: httpx.Response) -> httpx.Response:
        """No server error, and nothing logged as an error."""
        request = response.request
        assert response.status_code < 500, (request.method, str(request.url), response.text)
        assert not self.errors, [r.getMessage() for r in self.errors]
        return response

    def fuzz(
        self, path: str, request: Request, cookie: str | None = None, token: str = ""
    ) -> httpx.Response:
        """Send a drawn request, with the stand-ins filled in, and check the answer."""
        query = request.query.replace(TOKEN, token)
        content = request.content
        if content is not None:
            content = content.replace(TOKEN.encode(), token.encode())
        sent = dict(request.headers)
        if sent.get("cookie") == BROWSER:
            sent["cookie"] = cookie or self.sso
        return self.check(self.send(request.method, path, query, content, sent))

    # --- things a request may name
    def _log_in_alice(self) -> dict[str, str]:
        """Alice logs in at "rp" in the client's cookie jar; the tokens."""
        client = self.client
        query = {
            "response_type": "code",
            "client_id": "rp",
            "redirect_uri": RP,
            "scope": "openid profile email offline_access",
        }
        where = client.get("/authorize", params=query).headers["location"]
        fields = hidden_inputs(client.get(where).text)
        sent = {**fields, "username": "alice", "password": PASSWORD, "action": "login"}
        back = client.post(where, data=sent).headers["location"]
        code = httpx.URL(back).params["code"]
        sent = {"grant_type": "authorization_code", "code": code, "redirect_uri": RP}
        response = client.post("/token", data=sent, auth=("rp", "s3cret"))
        assert response.status_code == 200, response.text
        tokens: dict[str, str] = response.json()
        return tokens

    def _pair_phone(self) -> Phone:
        token, _ = self.env.run(self.plugin.services.push.pairing.create_pairing, self.bob)
        phone = Phone(self.client, time.time)
        response = phone.pair(token)
        assert response.status_code == 201, response.text
        self.client.cookies.clear()
        return phone

    def paired_phone(self) -> Phone:
        """Bob's phone, paired anew if a request unpaired it."""
        if self.env.run(self.plugin.services.push.devices.get, self.phone.device_id) is None:
            self.phone = self._pair_phone()
        return self.phone

    def challenge_id(self) -> str:
        """A new push challenge for bob (or, past the limit of them, a made-up id)."""
        try:
            return str(
                self.env.run(self.plugin.services.push.challenges.open, self.bob, CONTEXT).id
            )
        except PushLimitError:
            return "ch_limit"

    def pairing_token(self) -> str:
        token, _ = self.env.run(self.plugin.services.push.pairing.create_pairing, self.bob)
        return str(token)

    def pending_login(
        self, client_id: str = "rp", username: str | None = None, **extra: str
    ) -> tuple[str, str, str]:
        """A real pending login in a new browser: the page it is at, the browser's cookie
        and the page's CSRF token; with a username, past the password step."""
        cookie = {"cookie": f"idp_browser={secrets.token_urlsafe(12)}"}
        _, challenge = pkce_pair()
        query = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": RP,
            "scope": "openid profile email",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **extra,
        }
        where = self.send("GET", "/authorize", urlencode(query), headers=cookie)
        page = where.headers["location"]
        fields = hidden_inputs(self.send("GET", page, headers=cookie).text)
        if username is not None:
            sent = {**fields, "username": username, "password": PASSWORD, "action": "login"}
            posted = {**cookie, "content-type": FORM}
            answer = self.send("POST", page, content=urlencode(sent).encode(), headers=posted)
            page = answer.headers["location"]
            fields = hidden_inputs(self.send("GET", page, headers=cookie).text)
        return page, cookie["cookie"], fields.get("csrf", "")
