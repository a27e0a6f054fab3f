"""/users through HTTP with a real admin token: each operation, its refusals naming the
field, and nothing half-written."""

from __future__ import annotations

from typing import Any

from tests.admin_api.conftest import AdminApi, refused
from tests.conftest import Env, login


def _add(api: AdminApi, username: str = "zoe", **fields: Any) -> dict[str, Any]:
    answer = api.post("/users", json={"username": username, **fields})
    assert answer.status_code == 201, answer.text
    user: dict[str, Any] = answer.json()
    return user


def test_a_user_is_added_shown_changed_and_removed(api: AdminApi, env: Env) -> None:
    user = _add(api, claims={"name": "Zoë", "email": "zoe@example.org"}, password="long enough")
    assert user["username"] == "zoe" and user["claims"]["name"] == "Zoë"
    assert user["has_password"] and not user["disabled"]
    assert api.get(f"/users/{user['id']}").json() == user
    changed = api.patch(
        f"/users/{user['id']}", json={"claims": {"email": None, "email_verified": True}}
    ).json()
    assert changed["claims"]["email"] == "" and changed["claims"]["email_verified"]
    assert changed["claims"]["name"] == "Zoë"
    assert api.delete(f"/users/{user['id']}").status_code == 204
    refused(api.get(f"/users/{user['id']}"), 404, None)
    assert env.store.find_user("zoe") is None


def test_the_new_user_logs_in_with_the_password_given(api: AdminApi, env: Env) -> None:
    env.add_client()
    _add(api, password="long enough")
    assert "code" in login(env, "zoe", "long enough")


def test_users_come_in_pages_and_are_searched(api: AdminApi) -> None:
    for name in ("ann", "bob", "cat", "dan"):
        _add(api, name, claims={"email": f"{name}@{'smith' if name in 'ann dan' else 'x'}.org"})
    first = api.get("/users", params={"limit": 3}).json()
    assert [u["username"] for u in first["items"]] == ["ann", "bob", "cat"]
    rest = api.get("/users", params={"limit": 3, "cursor": first["next_cursor"]}).json()
    assert [u["username"] for u in rest["items"]] == ["dan"] and rest["next_cursor"] is None
    found = api.get("/users", params={"search": "SMITH"}).json()
    assert [u["username"] for u in found["items"]] == ["ann", "dan"]
    refused(api.get("/users", params={"limit": 0}), 400, "limit")
    refused(api.get("/users", params={"cursor": "%%%"}), 400, "cursor")


def test_every_wrong_field_is_named(api: AdminApi) -> None:
    cases = [
        ({"claims": {}}, "username"),
        ({"username": ""}, "username"),
        ({"username": "x", "password": "short"}, "password"),
        ({"username": "x", "claims": {"email": 3}}, "claims.email"),
        ({"username": "x", "claims": {"shoe_size": "44"}}, "claims.shoe_size"),
        ({"username": "x", "claims": {"address": {"planet": "Mars"}}}, "claims.address.planet"),
        ({"username": "x", "role": "admin"}, "role"),
    ]
    for body, field in cases:
        refused(api.post("/users", json=body), 400, field)
    refused(api.post("/users", content=b"[1, 2]"), 400, None)
    refused(api.post("/users", content=b"{not json"), 400, None)
    _add(api, "x")
    refused(api.post("/users", json={"username": "x"}), 409, "username")
    assert [u["username"] for u in api.get("/users").json()["items"]] == ["x"]


def test_a_refused_change_changes_nothing(api: AdminApi) -> None:
    user = _add(api, claims={"name": "Zoe"})
    answer = api.patch(f"/users/{user['id']}", json={"claims": {"name": "New"}, "disabled": "no"})
    refused(answer, 400, "disabled")
    assert api.get(f"/users/{user['id']}").json()["claims"]["name"] == "Zoe"


def test_a_disabled_user_cannot_log_in_and_loses_their_sessions(api: AdminApi, env: Env) -> None:
    env.add_client()
    user = env.add_user("alice")
    assert "code" in login(env)
    assert len(api.get(f"/users/{user.sub}/sessions").json()["items"]) == 1
    assert api.patch(f"/users/{user.sub}", json={"disabled": True}).json()["disabled"]
    assert api.get(f"/users/{user.sub}/sessions").json()["items"] == []
    env.client.cookies.clear()
    answer = env.client.get("/authorize", params=_auth_params())
    page = env.client.get(answer.headers["location"])
    assert page.status_code == 200
    from tests.conftest import submit_password

    assert submit_password(env, answer.headers["location"]).status_code == 401
    api.patch(f"/users/{user.sub}", json={"disabled": False})
    env.client.cookies.clear()
    assert "code" in login(env)


def _auth_params() -> dict[str, str]:
    from tests.conftest import RP

    return {
        "response_type": "code",
        "client_id": "rp",
        "redirect_uri": RP,
        "scope": "openid",
        "state": "s",
        "nonce": "n",
    }


def test_a_password_is_set(api: AdminApi, env: Env) -> None:
    env.add_client()
    user = _add(api)
    assert not user["has_password"]
    refused(api.post(f"/users/{user['id']}/password", json={"password": 8}), 400, "password")
    assert (
        api.post(f"/users/{user['id']}/password", json={"password": "a new one!"}).status_code
        == 204
    )
    assert "code" in login(env, "zoe", "a new one!")
    refused(api.post("/users/nobody/password", json={"password": "long enough"}), 404, None)


def test_sessions_are_listed_and_ended(api: AdminApi, env: Env) -> None:
    env.add_client()
    user = env.add_user("alice")
    login(env)
    env.client.cookies.clear()
    login(env)
    sessions = api.get(f"/users/{user.sub}/sessions").json()["items"]
    assert len(sessions) == 2 and sessions[0]["amr"] == ["pwd"]
    assert api.delete(f"/users/{user.sub}/sessions/{sessions[0]['sid']}").status_code == 204
    refused(api.delete(f"/users/{user.sub}/sessions/{sessions[0]['sid']}"), 404, None)
    assert [s["sid"] for s in api.get(f"/users/{user.sub}/sessions").json()["items"]] == [
        sessions[1]["sid"]
    ]
    assert api.delete(f"/users/{user.sub}/sessions").json() == {"ended": 1}
    assert api.get(f"/users/{user.sub}/sessions").json()["items"] == []
    refused(api.get("/users/nobody/sessions"), 404, None)
