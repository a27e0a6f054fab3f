"""The second-factor step of the pipeline, exercised by a small plugin made for tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jwcrypto import jwt
from starlette.responses import Response
from starlette.testclient import TestClient

from idp.app import create_app
from idp.errors import ConfigError
from idp.factors import load_plugins
from idp.login.acr import ACR_MFA, ACR_PASSWORD
from tests.conftest import ISSUER, RP, Env, authorize, exchange, make_settings, query_of
from tests.conftest import submit_password as password_step
from tests.login.conftest import CODE, CodePlugin


def _claims(env: Env, code: str, client_id: str) -> dict[str, Any]:
    response = exchange(env, code, client_id=client_id)
    assert response.status_code == 200, response.text
    token = jwt.JWT(jwt=response.json()["id_token"])
    return dict(json.loads(token.token.objects["payload"]))


def _through_password(env: Env, client_id: str, **params: str) -> Response:
    location = authorize(env, client_id=client_id, **params).headers["location"]
    return password_step(env, location)


def test_required_client_gets_both_factors_in_amr_and_acr(mfa_env: Env) -> None:
    page = _through_password(mfa_env, "strict")
    assert page.status_code == 200 and "<p>verify</p>" in page.text
    login_id = page.text.split("/factors/testcode/")[1].split("'")[0]
    done = mfa_env.client.post(f"/factors/testcode/{login_id}", data={"code": CODE})
    assert done.status_code == 303 and done.headers["location"].startswith(RP)
    claims = _claims(mfa_env, query_of(done.headers["location"])["code"], "strict")
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["acr"] == ACR_MFA


def test_optional_client_completes_with_the_password_alone(mfa_env: Env) -> None:
    response = _through_password(mfa_env, "relaxed")
    assert response.status_code == 303
    claims = _claims(mfa_env, query_of(response.headers["location"])["code"], "relaxed")
    assert claims["amr"] == ["pwd"] and claims["acr"] == ACR_PASSWORD


def test_unenrolled_user_is_sent_to_enrollment(mfa_env: Env) -> None:
    mfa_env.add_user("newcomer")
    location = authorize(mfa_env, client_id="strict").headers["location"]
    page = password_step(mfa_env, location, username="newcomer")
    assert "<p>enroll</p>" in page.text


def test_step_up_with_acr_values_asks_only_for_the_second_factor(mfa_env: Env) -> None:
    first = _through_password(mfa_env, "relaxed")
    assert first.status_code == 303
    response = authorize(mfa_env, client_id="relaxed", acr_values=ACR_MFA)
    assert response.status_code == 200 and "<p>verify</p>" in response.text
    login_id = response.text.split("/factors/testcode/")[1].split("'")[0]
    done = mfa_env.client.post(f"/factors/testcode/{login_id}", data={"code": CODE})
    claims = _claims(mfa_env, query_of(done.headers["location"])["code"], "relaxed")
    assert claims["acr"] == ACR_MFA and "otp" in claims["amr"]
    # the upgraded session now satisfies the strict client without asking again
    again = authorize(mfa_env, client_id="strict")
    assert again.status_code == 303 and again.headers["location"].startswith(RP)


def test_prompt_none_when_the_factor_is_missing_is_interaction_required(mfa_env: Env) -> None:
    _through_password(mfa_env, "relaxed")
    response = authorize(mfa_env, client_id="strict", prompt="none")
    params = query_of(response.headers["location"])
    assert params["error"] == "interaction_required" and params["state"] == "st4te"


def test_failed_factor_returns_access_denied_and_opens_no_session(mfa_env: Env) -> None:
    page = _through_password(mfa_env, "strict")
    login_id = page.text.split("/factors/testcode/")[1].split("'")[0]
    response = mfa_env.client.post(f"/factors/testcode/{login_id}", data={"code": "000000"})
    assert query_of(response.headers["location"])["error"] == "access_denied"
    assert "idp_session" not in mfa_env.client.cookies
    again = mfa_env.client.post(f"/factors/testcode/{login_id}", data={"code": CODE})
    assert again.status_code == 400


def test_unknown_plugin_name_stops_start_up_with_the_key_named() -> None:
    with pytest.raises(ConfigError, match=r"factors\.enabled: no plugin named 'nope'"):
        load_plugins(["nope"])


class ClosingPlugin(CodePlugin):
    """CodePlugin with a shutdown hook."""

    def __init__(self, events: list[str], fail: bool = False) -> None:
        self.events = events
        self.fail = fail

    async def aclose(self) -> None:
        self.events.append("plugin")
        if self.fail:
            raise RuntimeError("the relay is gone")


def app_with_closing_plugin(tmp_path: Path, events: list[str], fail: bool = False) -> Any:
    settings = make_settings(tmp_path, IDP_FACTORS_ENABLED="testcode")
    app = create_app(settings, plugins={"testcode": ClosingPlugin(events, fail)})
    store = app.state.provider.store
    close = store.close

    async def recording_close() -> None:
        events.append("store")
        await close()

    store.close = recording_close
    return app


def test_a_plugin_shuts_down_once_before_the_store_closes(tmp_path: Path) -> None:
    events: list[str] = []
    with TestClient(app_with_closing_plugin(tmp_path, events), base_url=ISSUER):
        assert events == []

    assert events == ["plugin", "store"]


def test_a_plugin_that_fails_to_shut_down_is_logged_and_the_store_still_closes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[str] = []
    with TestClient(app_with_closing_plugin(tmp_path, events, fail=True), base_url=ISSUER):
        pass

    assert events == ["plugin", "store"]
    assert "plugin testcode failed to shut down" in caplog.text
