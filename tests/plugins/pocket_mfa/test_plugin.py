"""The plugin as the provider and the `idp` command see it: entry point, methods, reset."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from idp.app import create_app
from idp.factors import FactorPlugin, load_plugins
from plugins.pocket_mfa import PocketFactor
from plugins.pocket_mfa.push.challenge import Challenge
from plugins.pocket_mfa.push.devices import Device
from tests.conftest import ISSUER
from tests.plugins.pocket_mfa.conftest import PocketEnv, enroll, pocket_settings, start


def test_the_entry_point_gives_the_plugin() -> None:
    plugin = load_plugins(["pocket"])["pocket"]
    assert isinstance(plugin, PocketFactor)
    assert isinstance(plugin, FactorPlugin)
    assert plugin.name == "pocket"


def test_methods_list_what_was_enrolled_with_dates(pocket: PocketEnv) -> None:
    user = pocket.store.find_user("alice")
    assert pocket.run(pocket.plugin.methods, user) == []
    enroll(pocket, start(pocket))
    methods = pocket.run(pocket.plugin.methods, user)
    assert [(m.kind, m.label) for m in methods] == [
        ("totp", "Authenticator app"),
        ("recovery codes", "10 recovery codes left"),
    ]
    assert all(m.created_at > 1_600_000_000 for m in methods)


def test_reset_removes_every_factor_and_recovery_code(pocket: PocketEnv) -> None:
    enrolled = enroll(pocket, start(pocket))
    user = pocket.store.find_user("alice")
    assert pocket.run(pocket.plugin.reset, user) == 11
    assert pocket.run(pocket.plugin.methods, user) == []
    assert not pocket.run(pocket.plugin.is_enrolled, user)
    assert pocket.run(pocket.plugin.reset, user) == 0
    # the next login enrolls again; old recovery codes are gone
    pocket.client.cookies.clear()
    location = start(pocket)
    assert location.endswith("/methods")
    assert not pocket.run(pocket.plugin.services.recovery.use, user.sub, enrolled.codes[0])


def test_reset_lifts_a_lockout(pocket: PocketEnv) -> None:
    enroll(pocket, start(pocket))
    user = pocket.store.find_user("alice")
    checker = pocket.plugin.services.checker
    for _ in range(5):
        pocket.run(checker.check_login, user.sub, "000000")
    assert pocket.run(checker.locked, user.sub)
    pocket.run(pocket.plugin.reset, user)
    assert pocket.run(checker.locked, user.sub) is None


class RecordingNotifier:
    def __init__(self) -> None:
        self.closed = 0

    def notify(self, device: Device, challenge: Challenge) -> None:
        pass

    async def aclose(self) -> None:
        self.closed += 1


def test_push_deliveries_are_closed_when_the_server_shuts_down(tmp_path: Path) -> None:
    app = create_app(pocket_settings(tmp_path))
    plugin = app.state.provider.plugins["pocket"]
    notifier = RecordingNotifier()
    plugin.services.push.challenges.notifiers = [notifier]
    with TestClient(app, base_url=ISSUER):
        assert notifier.closed == 0

    assert notifier.closed == 1
