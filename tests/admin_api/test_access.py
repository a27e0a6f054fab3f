"""Who may call the admin API: RFC 6750's errors for every token that may not, and the
`admin` scope out of reach of ordinary clients."""

from __future__ import annotations

import pytest

from idp.admin.clients import ClientAdmin
from idp.admin.errors import InvalidField
from tests.admin_api.conftest import API, AdminApi, admin_client, client_token, refused
from tests.conftest import Env, authorize


def test_an_admin_token_is_let_in(api: AdminApi) -> None:
    assert api.get("/users").status_code == 200


def test_no_token_is_told_how_to_authenticate(env: Env) -> None:
    answer = env.client.get(f"{API}/users")
    refused(answer, 401, None)
    assert answer.headers["www-authenticate"] == 'Bearer realm="admin"'
    assert answer.headers["content-type"] == "application/json"


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Basic YWRtaW46YWRtaW4=", "Bearer "])
def test_an_unknown_token_is_invalid(env: Env, header: str) -> None:
    answer = env.client.get(f"{API}/users", headers={"Authorization": header})
    refused(answer, 401, None)
    assert answer.headers["www-authenticate"].startswith('Bearer realm="admin"')


def test_a_revoked_token_is_invalid(env: Env, api: AdminApi) -> None:
    client_id, secret = admin_client(env)
    token = client_token(env, client_id, secret)
    revoked = env.client.post("/revoke", data={"token": token}, auth=(client_id, secret))
    assert revoked.status_code == 200
    answer = AdminApi(env, token).get("/users")
    refused(answer, 401, None)
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]


def test_an_expired_token_is_invalid(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    client_id, secret = admin_client(env)
    token = client_token(env, client_id, secret)
    later = __import__("time").time() + env.settings.tokens.access_token_ttl + 5
    monkeypatch.setattr("idp.admin_api.access.time.time", lambda: later)
    answer = AdminApi(env, token).get("/users")
    refused(answer, 401, None)
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]


def test_the_token_of_a_removed_client_is_invalid(env: Env) -> None:
    client_id, secret = admin_client(env)
    token = client_token(env, client_id, secret)
    env.run(ClientAdmin(env.provider.store, env.provider.audit.acting("cli")).remove, client_id)
    refused(AdminApi(env, token).get("/users"), 401, None)


def test_a_token_without_the_admin_scope_is_insufficient(env: Env) -> None:
    client_id, secret = admin_client(env, scope="admin profile")
    token = client_token(env, client_id, secret, scope="profile")
    answer = AdminApi(env, token).get("/users")
    refused(answer, 403, None)
    challenge = answer.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="admin"' in challenge


def test_a_user_token_never_opens_the_api(env: Env) -> None:
    """An ordinary client cannot be given `admin`, and /authorize never grants it."""
    with pytest.raises(InvalidField) as refusal:
        env.run(
            ClientAdmin(env.provider.store, env.provider.audit.acting("cli")).register,
            {"name": "Web", "redirect_uris": ["https://rp.test/cb"], "scopes": ["openid", "admin"]},
        )
    assert refusal.value.field == "scopes"
    env.add_client(scopes=("openid", "admin"))  # as an older store might hold it
    answer = authorize(env, scope="admin")
    assert answer.status_code == 303 and "error=invalid_scope" in answer.headers["location"]


def test_a_client_without_admin_gets_no_admin_token(env: Env) -> None:
    client_id, secret = admin_client(env, scope="profile")
    token = client_token(env, client_id, secret, scope="admin")
    refused(AdminApi(env, token).get("/users"), 403, None)


def test_an_unknown_path_and_method_answer_json(api: AdminApi) -> None:
    refused(api.get("/nothing-here"), 404, None)
    assert api.call("PUT", "/users").json()["error"] == "invalid_request"
