"""The audit trail end to end: every kind of event, driven through the pages, the device
API, the admin API and the `idp` command, is kept in the store, written as a JSON line and
delivered, signed, to a webhook that refuses its first tries; and no secret used on the
way shows up in any of them."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from idp.app import create_app
from idp.cli import main
from tests.admin_api.conftest import AdminApi, admin_client, client_token
from tests.conftest import ISSUER, PASSWORD, RP, authorize, exchange, submit_password
from tests.plugins.pocket_mfa.conftest import (
    Clock,
    PocketEnv,
    enroll,
    form_post,
    paired_phone,
    pocket_settings,
    wait_url_on,
)

HOOK_SECRET = "hook-secret-0123456789"
WRONG = ["wrong-pass-one", "wrong-pass-two", "wrong-pass-three"]
ADMIN_SET_PASSWORD = "admin-chosen-pass-42"
CLI_PASSWORD = "cli-chosen-pass-77"


class Receiver:
    """A webhook receiver on a free loopback port that answers 500 to its first
    `failures` requests, then keeps each body with its signature."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.tries = 0
        self.bodies: list[tuple[bytes, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.tries += 1
                if receiver.tries <= receiver.failures:
                    self.send_response(500)
                else:
                    receiver.bodies.append((body, self.headers["x-idp-signature"]))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/audit"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for body, _ in self.bodies]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver(failures=2)
    yield found
    found.close()


@pytest.fixture
def audited(tmp_path: Path, receiver: Receiver) -> Iterator[PocketEnv]:
    settings = pocket_settings(
        tmp_path,
        IDP_AUDIT_OUTPUT="file",
        IDP_AUDIT_FILE=str(tmp_path / "audit.jsonl"),
        IDP_AUDIT_WEBHOOK_URL=receiver.url,
        IDP_AUDIT_WEBHOOK_SECRET=HOOK_SECRET,
        IDP_LOGIN_ACCOUNT_LIMIT="2",
        IDP_LOGIN_SLOW_AFTER="50",
    )
    app = create_app(settings)
    with TestClient(app, base_url=ISSUER, follow_redirects=False) as client:
        env = PocketEnv(app, client, settings, Clock())
        env.plugin.services.checker.clock = env.clock
        env.add_client(mfa="required")
        yield env


def password_step(env: PocketEnv, username: str, password: str) -> Any:
    response = authorize(env, prompt="login")
    assert response.status_code == 303, response.text
    return submit_password(env, response.headers["location"], username, password)


def push_page(env: PocketEnv, username: str) -> tuple[str, Any]:
    """A password login that goes on to push: the push is sent, its page shown."""
    response = password_step(env, username, PASSWORD)
    location = response.headers["location"]
    assert env.client.get(location).status_code == 303
    return location, env.client.get(location)


def shown_number(page_html: str) -> int:
    found = re.search(r'id="push-number"[^>]*>(\d+)<', page_html)
    assert found, page_html
    return int(found.group(1))


def cli(tmp_path: Path, receiver: Receiver, *args: str) -> int:
    config = tmp_path / "cli.toml"
    config.write_text(
        f'[store]\npath = "{tmp_path / "idp.sqlite3"}"\n'
        "[passwords]\ntime_cost = 1\nmemory_cost = 8192\n"
        '[factors]\nenabled = ["pocket"]\n'
        f'[audit]\nwebhook_url = "{receiver.url}"\nwebhook_secret = "{HOOK_SECRET}"\n'
    )
    return main(["--config", str(config), *args])


def test_every_event_is_kept_written_and_delivered_without_a_secret(
    audited: PocketEnv,
    receiver: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env = audited
    secrets: list[str] = [PASSWORD, HOOK_SECRET, *WRONG, ADMIN_SET_PASSWORD, CLI_PASSWORD]
    alice = env.add_user("alice")
    bob = env.add_user("bob")
    carol = env.add_user("carol", disabled=True)

    # the password step's refusals
    assert password_step(env, "nobody", WRONG[0]).status_code == 401
    assert password_step(env, "carol", PASSWORD).status_code == 401
    assert password_step(env, "bob", WRONG[1]).status_code == 401
    assert password_step(env, "bob", WRONG[2]).status_code == 401
    assert password_step(env, "bob", PASSWORD).status_code == 429

    # alice enrolls an authenticator app at her first login, then changes her password
    factor = password_step(env, "alice", PASSWORD).headers["location"]
    enrolled = enroll(env, factor)
    secrets += [enrolled.secret, *enrolled.codes, enrolled.rp_query["code"]]
    tokens = exchange(env, enrolled.rp_query["code"]).json()
    secrets += [tokens["access_token"], tokens["id_token"]]
    env.clock.advance()
    code = env.code(enrolled.secret)
    secrets.append(code)
    page = env.client.get("/account/password")
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    new_password = "a brand new passphrase"
    secrets.append(new_password)
    changed = env.client.post(
        "/account/password",
        data={**form, "current": PASSWORD, "new": new_password, "repeat": new_password}
        | {"code": code, "action": "change"},
    )
    assert changed.status_code == 303, changed.text

    # dave logs in by push: approved, denied, reported as fraud, stopped (withdrawn)
    dave = env.add_user("dave")
    phone = paired_phone(env, "dave")
    location, page = push_page(env, "dave")
    [challenge] = phone.challenges()
    phone.answer(challenge["id"], "approve", shown_number(page.text))
    assert env.client.get(location).headers["location"].startswith(RP)
    location, page = push_page(env, "dave")
    [challenge] = phone.challenges()
    assert phone.answer(challenge["id"], "deny").json() == {"status": "denied"}
    location, page = push_page(env, "dave")
    [challenge] = phone.challenges()
    assert phone.answer(challenge["id"], "deny", fraud=True).json() == {"status": "fraud"}
    assert env.client.get(location).status_code == 403
    location, page = push_page(env, "dave")
    stopped = form_post(env, location, page.text, action="stop")
    assert "error=access_denied" in stopped.headers["location"]
    # erin's push is not answered in time
    erin = env.add_user("erin")
    paired_phone(env, "erin", "Fairphone")
    location, page = push_page(env, "erin")
    challenges = env.plugin.services.push.challenges
    challenges.clock = lambda: time.time() + challenges.config.challenge_ttl + 1
    try:
        assert env.client.get(wait_url_on(page.text)).json()["done"] is True
    finally:
        challenges.clock = time.time

    # an administrator through the admin API
    client_id, client_secret = admin_client(env)
    token = client_token(env, client_id, client_secret)
    secrets += [client_secret, token]
    api = AdminApi(env, token)
    made = api.post("/users", json={"username": "frank", "password": ADMIN_SET_PASSWORD})
    frank = made.json()["id"]
    assert api.patch(f"/users/{frank}", json={"disabled": True}).status_code == 200
    assert api.post(f"/users/{frank}/password", json={"password": PASSWORD}).status_code == 204
    assert api.delete(f"/users/{dave.sub}/sessions").status_code == 200
    [device] = [m for m in api.get(f"/users/{erin.sub}/methods").json()["items"] if m["device"]]
    assert api.delete(f"/users/{erin.sub}/methods/{device['id']}").status_code == 204
    reset = api.post(f"/users/{alice.sub}/second-factor/reset")
    assert reset.status_code == 200, reset.text
    rp = api.post("/clients", json={"name": "Wiki", "redirect_uris": ["https://wiki.test/cb"]})
    rp_id = rp.json()["client_id"]
    secrets.append(rp.json()["client_secret"])
    assert api.patch(f"/clients/{rp_id}", json={"name": "Team wiki"}).status_code == 200
    rotated = api.post(f"/clients/{rp_id}/secret")
    secrets.append(rotated.json()["client_secret"])
    assert api.delete(f"/clients/{rp_id}").status_code == 204
    assert api.post("/keys/rotate", json={"algorithms": ["ES256"]}).status_code == 200
    assert api.delete(f"/users/{frank}").status_code == 204

    # and through the idp command
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO(CLI_PASSWORD + "\n"))
    assert cli(tmp_path, receiver, "users", "add", "gina", "--password-stdin") == 0
    assert (
        cli(
            tmp_path,
            receiver,
            "clients",
            "add",
            "Export",
            "--grant",
            "client_credentials",
            "--json",
        )
        == 0
    )
    assert cli(tmp_path, receiver, "keys", "rotate") == 0
    out, err = capsys.readouterr()
    secrets.append(json.loads(out.splitlines()[1])["client_secret"])
    cli_lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert [e["event"] for e in cli_lines] == ["user_created", "client_created", "keys_rotated"]
    assert all(e["actor"] == "cli" for e in cli_lines)

    # every event, through the admin API, a page at a time
    kept: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"limit": "7", **({"cursor": cursor} if cursor else {})}
        answer = api.get("/audit-events", params=query)
        assert answer.status_code == 200, answer.text
        kept += answer.json()["items"]
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            break
    assert len({e["id"] for e in kept}) == len(kept)

    def one(event: str, **fields: Any) -> dict[str, Any]:
        found = [
            e for e in kept if e["event"] == event and all(e.get(k) == v for k, v in fields.items())
        ]
        assert found, (event, fields, [e["event"] for e in kept])
        for name in ("time", "outcome", "reason", "sub", "client", "ip", "user_agent"):
            assert name in found[0]
        return found[0]

    for sub, reason in [
        (None, "unknown_user"),
        (carol.sub, "disabled_user"),
        (bob.sub, "bad_password"),
        (None, "throttled"),
    ]:
        failed = one("login_failed", reason=reason, sub=sub, client="rp", outcome="failure")
        assert failed["ip"] == "testclient" and failed["request_id"]
        assert failed["user_agent"] == "testclient"
    one("login_failed", reason="factor_failed", sub=dave.sub)
    one("enrolled", sub=alice.sub, method="totp")
    one("factor_used", sub=alice.sub, methods=["otp"])
    one("factor_used", sub=dave.sub, methods=["swk"])
    one("login_succeeded", sub=alice.sub, client="rp", methods=["pwd", "otp"])
    one("password_changed", sub=alice.sub, reason="by_user", confirmed_by="code")
    one("device_added", sub=dave.sub, name="Pixel 8")
    for event in ("push_sent", "approved", "denied", "fraud", "withdrawn"):
        one(event, sub=dave.sub)
    one("expired", sub=erin.sub, outcome="failure")
    admin = {"actor": client_id}
    one("user_created", sub=frank, **admin)
    one("user_changed", sub=frank, disabled=True, **admin)
    one("sessions_ended", sub=frank, **admin)
    one("password_changed", sub=frank, reason="set_by_admin", **admin)
    one("sessions_ended", sub=dave.sub, **admin)
    one("device_removed", sub=erin.sub)
    one("method_removed", sub=erin.sub, **admin)
    one("second_factor_reset", sub=alice.sub, **admin)
    for event in ("client_created", "client_updated", "client_secret_rotated", "client_deleted"):
        one(event, client=rp_id, **admin)
    one("keys_rotated", algorithms=["ES256"], **admin)
    one("user_removed", sub=frank, **admin)
    one("user_created", username="gina", actor="cli")
    one("keys_rotated", actor="cli")

    # filters: by user and event, and by time
    mine = api.get("/audit-events", params={"user": dave.sub, "event": "fraud"}).json()
    assert [e["event"] for e in mine["items"]] == ["fraud"]
    middle = kept[len(kept) // 2]["at"]
    later = api.get("/audit-events", params={"since": str(middle), "limit": "500"}).json()
    assert later["items"] and all(e["at"] >= middle for e in later["items"])
    earlier = api.get("/audit-events", params={"until": str(middle), "limit": "500"}).json()
    assert earlier["items"] and all(e["at"] <= middle for e in earlier["items"])

    # the JSON lines of the server, and the webhook's deliveries
    lines = (tmp_path / "audit.jsonl").read_text()
    written = {json.loads(line)["id"] for line in lines.splitlines()}
    served = {e["id"] for e in kept if e.get("actor") != "cli"}
    assert served <= written
    deadline = time.monotonic() + 20
    while not {e["id"] for e in kept} <= {e["id"] for e in receiver.events()}:
        assert time.monotonic() < deadline, "the webhook did not deliver every event"
        time.sleep(0.1)
    assert receiver.tries > len(receiver.bodies)  # the first tries were refused
    for body, signature in receiver.bodies:
        expected = hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert signature == "sha256=" + expected

    everything = "\n".join(
        [json.dumps(kept), lines, err, *(b.decode() for b, _ in receiver.bodies)]
    )
    for secret in secrets:
        assert secret not in everything, secret
    stored = json.dumps(
        [r.payload for r in env.run(env.provider.store.export_all).records if r.model == "audit"]
    )
    for secret in secrets:
        assert secret not in stored, secret


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("since", "yesterday"),
        ("until", "2024-01-01T00:00:00"),
        ("until", "nan"),
        ("event", "Login Failed"),
        ("limit", "0"),
        ("cursor", "not-a-cursor"),
    ],
)
def test_a_bad_filter_is_refused_naming_the_field(
    audited: PocketEnv, name: str, value: str
) -> None:
    client_id, secret = admin_client(audited)
    api = AdminApi(audited, client_token(audited, client_id, secret))
    answer = api.get("/audit-events", params={name: value})
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request" and answer.json()["field"] == name
