"""/clients and /keys through HTTP with a real admin token."""

from __future__ import annotations

from tests.admin_api.conftest import AdminApi, refused
from tests.conftest import Env


def test_a_client_is_registered_changed_its_secret_rotated_and_removed(
    api: AdminApi, env: Env
) -> None:
    created = api.post(
        "/clients",
        json={"name": "Batch", "grant_types": ["client_credentials"], "scopes": ["profile"]},
    )
    assert created.status_code == 201, created.text
    client = created.json()
    secret = client.pop("client_secret")
    assert api.get(f"/clients/{client['client_id']}").json() == client
    token = {"grant_type": "client_credentials"}
    assert env.client.post("/token", data=token, auth=(client["client_id"], secret)).is_success
    changed = api.patch(f"/clients/{client['client_id']}", json={"name": "Nightly"}).json()
    assert changed["name"] == "Nightly"
    rotated = api.post(f"/clients/{client['client_id']}/secret").json()
    assert rotated["client_id"] == client["client_id"] and rotated["client_secret"] != secret
    old = env.client.post("/token", data=token, auth=(client["client_id"], secret))
    assert old.status_code == 401
    new = env.client.post(
        "/token", data=token, auth=(client["client_id"], rotated["client_secret"])
    )
    assert new.is_success
    assert "Nightly" in [c["name"] for c in api.get("/clients").json()["items"]]
    assert api.delete(f"/clients/{client['client_id']}").status_code == 204
    refused(api.get(f"/clients/{client['client_id']}"), 404, None)


def test_wrong_client_settings_are_named_and_nothing_is_kept(api: AdminApi) -> None:
    before = api.get("/clients").json()
    cases = [
        ({"redirect_uris": ["https://a/cb"]}, "name"),
        ({"name": "W"}, "redirect_uris"),
        ({"name": "W", "redirect_uris": ["/relative"]}, "redirect_uris"),
        ({"name": "W", "redirect_uris": ["https://a/cb#frag"]}, "redirect_uris"),
        (
            {"name": "W", "redirect_uris": ["https://a/cb"], "grant_types": ["implicit"]},
            "grant_types",
        ),
        ({"name": "W", "redirect_uris": ["https://a/cb"], "scopes": ["openid", "admin"]}, "scopes"),
        ({"name": "W", "grant_types": ["client_credentials"], "public": True}, "grant_types"),
        (
            {
                "name": "W",
                "grant_types": ["client_credentials"],
                "token_endpoint_auth_method": "private_key_jwt",
            },
            "jwks",
        ),
        (
            {
                "name": "W",
                "grant_types": ["client_credentials"],
                "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]},
            },
            "jwks",
        ),
        ({"name": "W", "client_id": "../x", "grant_types": ["client_credentials"]}, "client_id"),
    ]
    for body, field in cases:
        refused(api.post("/clients", json=body), 400, field)
    created = api.post("/clients", json={"name": "W", "grant_types": ["client_credentials"]})
    client_id = created.json()["client_id"]
    refused(api.patch(f"/clients/{client_id}", json={"public": True}), 400, "public")
    refused(
        api.patch(f"/clients/{client_id}", json={"grant_types": ["authorization_code"]}),
        400,
        "redirect_uris",
    )
    assert api.get(f"/clients/{client_id}").json()["grant_types"] == ["client_credentials"]
    assert len(api.get("/clients").json()["items"]) == len(before["items"]) + 1


def test_keys_are_listed_and_rotated(api: AdminApi, env: Env) -> None:
    before = api.get("/keys").json()["items"]
    assert {k["state"] for k in before} == {"active"} and "private_jwk" not in before[0]
    refused(api.post("/keys/rotate", json={"algorithms": ["HS256"]}), 400, "algorithms")
    new = api.post("/keys/rotate", json={"algorithms": ["ES256"]}).json()["items"]
    assert [k["alg"] for k in new] == ["ES256"]
    states = {k["kid"]: k["state"] for k in api.get("/keys").json()["items"]}
    old_es = next(k["kid"] for k in before if k["alg"] == "ES256")
    assert states[old_es] == "published" and states[new[0]["kid"]] == "active"
    assert new[0]["kid"] in env.client.get("/jwks").text


def test_a_client_may_forbid_remembered_browsers_and_postponed_enrollment(api: AdminApi) -> None:
    created = api.post("/clients", json={"name": "Admin tool", "redirect_uris": ["https://a/cb"]})
    client = created.json()
    assert client["remember_browser"] is True and client["postpone_enrollment"] is True
    path = f"/clients/{client['client_id']}"
    changed = api.patch(path, json={"remember_browser": False, "postpone_enrollment": False})
    assert changed.status_code == 200, changed.text
    shown = api.get(path).json()
    assert shown["remember_browser"] is False and shown["postpone_enrollment"] is False
    refused(api.patch(path, json={"remember_browser": "no"}), 400, "remember_browser")
