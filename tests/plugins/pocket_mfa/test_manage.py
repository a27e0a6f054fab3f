"""The manage page: enrolled methods, replacing the app, new recovery codes."""

from __future__ import annotations

from tests.conftest import authorize, submit_password
from tests.plugins.pocket_mfa.conftest import (
    PocketEnv,
    codes_on,
    enroll,
    form_post,
    secret_on,
    start,
    verify,
)

MANAGE = "/factors/pocket/manage"


def test_without_a_session_the_page_points_to_the_account(pocket: PocketEnv) -> None:
    page = pocket.client.get(MANAGE)
    assert page.status_code == 200
    assert "You are not logged in" in page.text
    assert 'href="/account"' in page.text
    assert pocket.client.post(MANAGE, data={"action": "codes"}).status_code == 200


def test_the_page_lists_the_enrolled_methods(pocket: PocketEnv) -> None:
    enroll(pocket, start(pocket))
    page = pocket.client.get(MANAGE)
    assert page.status_code == 200
    assert "Linked on 20" in page.text
    assert "10 unused, made on 20" in page.text
    assert "Link another authenticator app" in page.text


def test_new_recovery_codes_replace_the_old_ones(pocket: PocketEnv) -> None:
    enrolled = enroll(pocket, start(pocket))
    old = enrolled.codes
    page = pocket.client.get(MANAGE)
    current = pocket.code(enrolled.secret, 1)
    shown = form_post(pocket, MANAGE, page.text, action="codes", current=current)
    assert shown.status_code == 200
    new = codes_on(shown.text)
    assert len(new) == 10 and not set(new) & set(old)
    pocket.client.cookies.delete("idp_session")
    location = start(pocket, prompt="login")
    assert verify(pocket, location, old[0]).status_code == 400
    assert verify(pocket, location, new[0]).status_code == 303


def test_replacing_the_app_needs_a_right_code_from_the_new_one(pocket: PocketEnv) -> None:
    first = enroll(pocket, start(pocket))
    page = pocket.client.get(MANAGE)
    current = pocket.code(first.secret, 1)
    response = form_post(pocket, MANAGE, page.text, action="app", current=current)
    assert response.status_code == 303
    setup_url = response.headers["location"]
    setup = pocket.client.get(setup_url)
    secret = secret_on(setup.text)
    assert secret != first.secret
    pocket.clock.advance()
    wrong = form_post(pocket, setup_url, setup.text, code=pocket.code(first.secret), action="next")
    assert wrong.status_code == 400
    assert enrolled_secret(pocket) == first.secret
    right = form_post(pocket, setup_url, wrong.text, code=pocket.code(secret), action="next")
    assert right.status_code == 303 and right.headers["location"] == MANAGE + "?done=app"
    assert "Your authenticator app is linked" in pocket.client.get(right.headers["location"]).text
    assert enrolled_secret(pocket) == secret
    # the old app no longer logs in, the new one does
    pocket.client.cookies.delete("idp_session")
    location = start(pocket, prompt="login")
    pocket.clock.advance()
    assert verify(pocket, location, pocket.code(first.secret)).status_code == 400
    assert verify(pocket, location, pocket.code(secret)).status_code == 303


def test_cancel_keeps_the_old_app(pocket: PocketEnv) -> None:
    first = enroll(pocket, start(pocket))
    page = pocket.client.get(MANAGE)
    current = pocket.code(first.secret, 1)
    response = form_post(pocket, MANAGE, page.text, action="app", current=current)
    setup_url = response.headers["location"]
    setup = pocket.client.get(setup_url)
    response = form_post(pocket, setup_url, setup.text, action="cancel")
    assert response.headers["location"] == MANAGE
    assert pocket.client.get(setup_url).headers["location"] == MANAGE  # the setup is gone
    assert enrolled_secret(pocket) == first.secret


def test_forms_need_the_token_of_their_own_page(pocket: PocketEnv) -> None:
    enrolled = enroll(pocket, start(pocket))
    current = pocket.code(enrolled.secret, 1)
    assert pocket.client.post(MANAGE, data={"action": "codes"}).status_code == 403
    page = pocket.client.get(MANAGE)
    assert form_post(pocket, MANAGE, page.text, action="codes", current=current).status_code == 200
    # a token works once
    assert form_post(pocket, MANAGE, page.text, action="codes", current=current).status_code == 403


def test_changing_a_factor_takes_a_code_from_the_current_one(pocket: PocketEnv) -> None:
    enrolled = enroll(pocket, start(pocket))
    page = pocket.client.get(MANAGE)
    assert 'name="current"' in page.text
    refused = form_post(pocket, MANAGE, page.text, action="app")
    assert refused.status_code == 400
    assert "That code is not right" in refused.text
    refused = form_post(pocket, MANAGE, refused.text, action="codes", current="000000")
    assert refused.status_code == 400
    # a recovery code does instead, once
    shown = form_post(pocket, MANAGE, refused.text, action="codes", current=enrolled.codes[0])
    assert shown.status_code == 200 and len(codes_on(shown.text)) == 10


def test_a_token_is_bound_to_its_user(pocket: PocketEnv) -> None:
    enroll(pocket, start(pocket))
    page = pocket.client.get(MANAGE)
    pocket.client.cookies.clear()
    pocket.add_user("bob")
    enroll(pocket, start_as(pocket, "bob"))
    assert form_post(pocket, MANAGE, page.text, action="codes").status_code == 403


def test_a_user_without_a_factor_can_add_one_and_gets_recovery_codes(
    pocket: PocketEnv,
) -> None:
    pocket.add_client("relaxed", mfa="optional")
    response = submit_password(pocket, authorize(pocket, client_id="relaxed").headers["location"])
    assert response.status_code == 303  # logged in with the password alone
    page = pocket.client.get(MANAGE)
    assert "Link an authenticator app" in page.text
    setup_url = form_post(pocket, MANAGE, page.text, action="app").headers["location"]
    setup = pocket.client.get(setup_url)
    response = form_post(
        pocket, setup_url, setup.text, code=pocket.code(secret_on(setup.text)), action="next"
    )
    assert response.status_code == 200
    assert len(codes_on(response.text)) == 10
    assert pocket.run(pocket.plugin.is_enrolled, pocket.store.find_user("alice"))


def first_sub(env: PocketEnv) -> str:
    user = env.store.find_user("alice")
    assert user is not None
    sub: str = user.sub
    return sub


def enrolled_secret(env: PocketEnv) -> str | None:
    return env.run(env.plugin.services.enrollments.totp_secret, first_sub(env))


def start_as(env: PocketEnv, username: str) -> str:
    response = submit_password(env, authorize(env).headers["location"], username=username)
    location: str = response.headers["location"]
    return location
