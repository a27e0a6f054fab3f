"""A user's second-factor methods through the admin API: the Pocket plugin lists and
removes them through MethodAdmin; the core knows no plugin's words."""

from __future__ import annotations

from tests.admin_api.conftest import AdminApi, admin_client, client_token, refused
from tests.plugins.pocket_mfa.conftest import PocketEnv, paired_phone


def test_methods_are_listed_removed_one_by_one_and_reset(pocket: PocketEnv) -> None:
    user = pocket.store.find_user("alice")
    paired_phone(pocket, name="Pixel 8")
    paired_phone(pocket, name="iPhone 15")
    pocket.run(pocket.plugin.services.recovery.issue, user.sub, 10)
    api = AdminApi(pocket, client_token(pocket, *admin_client(pocket)))
    methods = api.get(f"/users/{user.sub}/methods").json()["items"]
    # phones paired within one second come in any order
    assert [(m["kind"], m["device"]) for m in methods] == [
        ("pocket", True),
        ("pocket", True),
        ("recovery codes", False),
    ]
    assert sorted(m["label"] for m in methods[:2]) == ["Pixel 8", "iPhone 15"]
    assert "10" in methods[2]["label"]
    phone = methods[0]["id"]
    assert phone.startswith("pocket:dev_")
    assert api.delete(f"/users/{user.sub}/methods/{phone}").status_code == 204
    refused(api.delete(f"/users/{user.sub}/methods/{phone}"), 404, None)
    refused(api.delete(f"/users/{user.sub}/methods/other:{phone}"), 404, None)
    left = [m["kind"] for m in api.get(f"/users/{user.sub}/methods").json()["items"]]
    assert left == ["pocket", "recovery codes"]
    events = pocket.run(pocket.plugin.services.push.audit.events)
    assert [e["event"] for e in events if e["event"] == "device_removed"] == ["device_removed"]
    assert api.post(f"/users/{user.sub}/second-factor/reset").json() == {
        "removed": 11
    }  # a phone, ten codes
    assert api.get(f"/users/{user.sub}/methods").json()["items"] == []
    refused(api.post("/users/nobody/second-factor/reset"), 404, None)
