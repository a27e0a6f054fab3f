"""One app for all the fuzz tests, with its clients, users, tokens and a paired phone."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from idp.app import create_app
from plugins.pocket_mfa import manage_pair, push_login, wizard_push
from tests.conftest import ISSUER, Env, make_settings
from tests.fuzz.world import ErrorRecords, World


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings = make_settings(
        tmp_path_factory.mktemp("fuzz"),
        IDP_FACTORS_ENABLED="pocket",
        # no slowing down or locking out: the fuzz fails many passwords on purpose
        IDP_LOGIN_SLOW_AFTER="1000000",
        IDP_LOGIN_ACCOUNT_LIMIT="1000000",
        IDP_LOGIN_ADDRESS_LIMIT="1000000",
        # nor rate limits: the fuzz sends many times the requests of a person or client
        IDP_RATE_LIMITS_TOKEN="0",
        IDP_RATE_LIMITS_LOGIN="0",
        IDP_RATE_LIMITS_DEVICE_API="0",
        IDP_RATE_LIMITS_ADMIN_API="0",
    )
    app = create_app(settings)
    handler = ErrorRecords()
    logging.getLogger().addHandler(handler)
    client = TestClient(app, base_url=ISSUER, follow_redirects=False, raise_server_exceptions=False)
    try:
        with pytest.MonkeyPatch.context() as patch, client:
            # the long-polls of the login pages would hold each request for 25 s
            for module in (push_login, wizard_push, manage_pair):
                patch.setattr(module, "WAIT", 0.01)
            yield World(Env(app, client, settings), handler.records)
    finally:
        logging.getLogger().removeHandler(handler)
