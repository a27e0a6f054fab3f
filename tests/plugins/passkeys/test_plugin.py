"""What the plugin tells the provider: the method it offers, what a user enrolled, and
an administrator's view of each passkey."""

from __future__ import annotations

from idp.factors import OfferedMethod
from tests.conftest import Env
from tests.plugins.passkeys.conftest import enroll, new_authenticator


def test_it_offers_one_method_in_the_users_language(passkeys: Env) -> None:
    plugin = passkeys.provider.plugins["passkeys"]
    user = passkeys.store.find_user("alice")
    (offer,) = passkeys.run(plugin.offered_methods, user, "nl")
    assert offer == OfferedMethod(
        plugin="passkeys",
        method="passkey",
        label="Inloggen met een passkey",
        description=offer.description,
    )
    assert "vingerafdruk" in offer.description


def test_enrolled_passkeys_are_listed_and_removed(passkeys: Env) -> None:
    plugin = passkeys.provider.plugins["passkeys"]
    user = passkeys.store.find_user("alice")
    assert passkeys.run(plugin.is_enrolled, user) is False
    assert enroll(passkeys, new_authenticator()).status_code == 303
    assert passkeys.run(plugin.is_enrolled, user) is True
    (method,) = passkeys.run(plugin.methods, user, "en")
    assert (method.kind, method.label) == ("passkey", "Laptop")
    (admin,) = passkeys.run(plugin.admin_methods, user)
    assert (admin.kind, admin.label, admin.last_used) == ("passkey", "Laptop", None)
    assert passkeys.run(plugin.remove_method, user, "no-such-id") is False
    assert passkeys.run(plugin.remove_method, user, admin.id) is True
    assert passkeys.run(plugin.reset, user) == 0
