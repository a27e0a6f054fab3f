"""Every page a person can reach speaks the visitor's language, and only that one.

The pages are walked through HTTP as a browser would, once in English and once in
Dutch: the login with its errors and its lockout, consent, the enrollment wizard for the
authenticator app and for Pocket, the code and push steps with each outcome, the account
and its management pages, logout, the error pages and the demo application with an
error. No page may show a text from the other language's catalogue: every catalogue
text (the fixed parts between its placeholders) of at least MIN_LENGTH characters that
the page's own language does not share.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from idp.app import create_app
from idp.demo import ensure_demo
from idp.i18n import LOCALES, Catalogue
from plugins.pocket_mfa.push.protocol import parse_pairing_uri
from tests.conftest import ISSUER, PASSWORD, RP, authorize, hidden_inputs, make_settings
from tests.plugins.pocket_mfa.conftest import (
    Clock,
    PocketEnv,
    codes_on,
    form_post,
    new_phone,
    paired_phone,
    pairing_uri_on,
    secret_on,
)
from tests.plugins.pocket_mfa.push.conftest import Phone

#: shorter catalogue texts ("Code", "Volgende") say too little about a page's language
MIN_LENGTH = 12
IE11 = "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko"
MANAGE = "/factors/pocket/manage"
#: attributes whose text a person reads or hears
READ_ATTRIBUTES = ("aria-label", "title", "alt", "placeholder")


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        self.parts.extend(v for k, v in attrs if k in READ_ATTRIBUTES and v)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def foreign_texts(catalogue: Catalogue, locale: str) -> set[str]:
    """The texts of the other language that `locale`'s catalogue does not hold."""
    own = [" ".join(text.split()) for text in catalogue.messages(locale).values()]
    found = set()
    for other in LOCALES:
        if other == locale:
            continue
        for text in catalogue.messages(other).values():
            for piece in re.split(r"\{[^}]*\}", text):
                piece = " ".join(piece.split())
                if len(piece) >= MIN_LENGTH and not any(piece in mine for mine in own):
                    found.add(piece)
    return found


@dataclass
class Walk:
    env: PocketEnv
    locale: str
    #: page name -> what a person sees on it
    pages: dict[str, str] = field(default_factory=dict)

    @property
    def client(self) -> TestClient:
        return self.env.client

    def seen(self, name: str, response: Any, status: int = 200) -> str:
        assert response.status_code == status, (name, response.status_code, response.text)
        assert f'<html lang="{self.locale}">' in response.text, (name, response.text[:300])
        self.pages[name] = visible_text(response.text)
        html: str = response.text
        return html

    def new_browser(self) -> None:
        self.client.cookies.clear()

    def login_page(self, **params: str) -> str:
        response = authorize(self.env, ui_locales=self.locale, **params)
        assert response.status_code == 303, response.text
        location: str = response.headers["location"]
        assert location.startswith("/login/"), location
        return location

    def password(self, username: str, **params: str) -> str:
        """A login up to the second-factor step; where it goes then."""
        location = self.login_page(**params)
        page = self.client.get(location)
        response = form_post(
            self.env, location, page.text, username=username, password=PASSWORD, action="login"
        )
        assert response.status_code == 303, response.text
        found: str = response.headers["location"]
        return found

    def arrive(self, response: Any) -> None:
        """The relying party (or the account page's callback) was reached."""
        assert response.status_code == 303, response.text
        location = response.headers["location"]
        assert location.startswith((RP, f"{ISSUER}/account/callback")), location
        if location.startswith(ISSUER):
            assert self.client.get(location).status_code == 303


def wizard_with_the_app(walk: Walk, username: str) -> tuple[str, list[str]]:
    """The wizard from its first page to the relying party; the secret and the codes."""
    env = walk.env
    location = walk.password(username)
    choose = walk.seen("wizard: choose", env.client.get(location))
    missing = form_post(env, location, choose, action="next", method="")
    walk.seen("wizard: no method chosen", missing, 400)
    app_url = form_post(env, location, choose, method="pocket:totp", action="next").headers[
        "location"
    ]
    app = walk.seen("wizard: authenticator app", env.client.get(app_url))
    wrong = form_post(env, app_url, app, code="000000", action="next")
    walk.seen("wizard: wrong code", wrong, 400)
    ie = env.client.get(app_url, headers={"user-agent": IE11})
    walk.seen("wizard: Internet Explorer", ie)
    secret = secret_on(app)
    done_url = form_post(env, app_url, app, code=env.code(secret), action="next")
    done = walk.seen("wizard: done", env.client.get(done_url.headers["location"]))
    codes = codes_on(done)
    walk.seen("wizard: done, reloaded", env.client.get(done_url.headers["location"]))
    walk.arrive(form_post(env, done_url.headers["location"], done, action="next"))
    return secret, codes


def wizard_with_pocket(walk: Walk, username: str) -> Phone:
    env = walk.env
    location = walk.password(username)
    choose = env.client.get(location).text
    install_url = form_post(env, location, choose, method="pocket:push", action="next")
    install_url = install_url.headers["location"]
    install = walk.seen("wizard: install Pocket", env.client.get(install_url))
    pair_url = form_post(env, install_url, install, action="next").headers["location"]
    pair = walk.seen("wizard: pair Pocket", env.client.get(pair_url))
    walk.seen("wizard: not paired yet", form_post(env, pair_url, pair, action="check"))
    phone = new_phone(env)
    assert phone.pair(parse_pairing_uri(pairing_uri_on(pair))[1]).status_code == 201
    done_url = env.client.get(pair_url).headers["location"]
    done = walk.seen("wizard: done with Pocket", env.client.get(done_url))
    walk.arrive(form_post(env, done_url, done, action="next"))
    return phone


def push_page(walk: Walk, location: str) -> str:
    sent = walk.client.get(location)
    if sent.status_code == 303:  # the push was sent: the page that waits for it
        sent = walk.client.get(location)
    return walk.seen("push: waiting", sent)


def shown_number(html: str) -> int:
    found = re.search(r'id="push-number"[^>]*>(\d+)<', html)
    assert found, html
    return int(found.group(1))


def push_outcomes(walk: Walk, phone: Phone, username: str) -> None:
    """Denied, wrong number, expired, withdrawn, the push limit, use a code, fraud."""
    env = walk.env
    location = walk.password(username)
    page = push_page(walk, location)
    [challenge] = phone.challenges()
    phone.answer(challenge["id"], "deny")
    denied = walk.seen("push: denied", env.client.get(location))
    form_post(env, location, denied, action="send")
    page = env.client.get(location).text
    [challenge] = phone.challenges()
    wrong = next(n for n in challenge["numbers"] if n != shown_number(page))
    phone.answer(challenge["id"], "approve", wrong)
    wrong_page = walk.seen("push: wrong number", env.client.get(location))
    form_post(env, location, wrong_page, action="send")
    [challenge] = phone.challenges()
    phone.answer(challenge["id"], "deny")
    # three pushes unanswered within a minute: the next one waits
    limited = form_post(env, location, env.client.get(location).text, action="send")
    walk.seen("push: limit, or use a code", limited, 429)
    verify_url = location.replace("/push/", "/verify/")
    verify = walk.seen("code step: recovery codes only", env.client.get(verify_url))
    refused = form_post(env, verify_url, verify, code="aaaaa-aaaaa", action="next")
    walk.seen("code step: wrong recovery code", refused, 400)
    form_post(env, location, limited.text, action="stop")


def push_expired_withdrawn_fraud(walk: Walk, username: str) -> None:
    env = walk.env
    phone = paired_phone(env, username)
    challenges = env.plugin.services.push.challenges
    location = walk.password(username)
    push_page(walk, location)
    [shown] = phone.challenges()
    challenge = env.run(challenges.get, shown["id"])
    env.run(challenges.withdraw, challenge, "sent_again")
    withdrawn = walk.seen("push: withdrawn", env.client.get(location))
    form_post(env, location, withdrawn, action="send")
    challenges.clock = lambda: time.time() + challenges.config.challenge_ttl + 1
    try:
        walk.seen("push: expired", env.client.get(location))
    finally:
        challenges.clock = time.time
    form_post(env, location, env.client.get(location).text, action="stop")
    walk.new_browser()
    location = walk.password(username)
    push_page(walk, location)
    [shown] = phone.challenges()
    phone.answer(shown["id"], "deny", fraud=True)
    walk.seen("push: fraud reported", env.client.get(location), 403)


def push_limit_without_a_code(walk: Walk, username: str) -> None:
    env = walk.env
    phone = paired_phone(env, username)
    for _ in range(env.plugin.services.push.config.push_limit):
        walk.new_browser()
        location = walk.password(username)
        push_page(walk, location)
        [challenge] = phone.challenges()
        phone.answer(challenge["id"], "deny")
    walk.new_browser()
    location = walk.password(username)
    walk.seen("push: limit, no code to use", env.client.get(location), 429)


def code_step(walk: Walk, username: str, secret: str) -> None:
    env = walk.env
    location = walk.password(username)
    page = walk.seen("code step: authenticator app", env.client.get(location))
    walk.seen("code step: wrong code", form_post(env, location, page, code="000000"), 400)
    for _ in range(4):
        form_post(env, location, page, code="000000")
    walk.seen("code step: locked", form_post(env, location, page, code="000000"), 429)


def account_pages(walk: Walk, secret: str) -> None:
    """The user is logged in with the authenticator app (and has recovery codes)."""
    env = walk.env
    walk.seen("account", env.client.get("/account"))
    manage = walk.seen("manage", env.client.get(MANAGE))
    refused = form_post(env, MANAGE, manage, action="codes", current="000000")
    walk.seen("manage: wrong code", refused, 400)
    env.clock.advance()
    codes = form_post(env, MANAGE, refused.text, action="codes", current=env.code(secret))
    walk.seen("manage: new recovery codes", codes)
    manage = env.client.get(MANAGE).text
    env.clock.advance()
    app_url = form_post(env, MANAGE, manage, action="app", current=env.code(secret))
    app = walk.seen("manage: another app", env.client.get(app_url.headers["location"]))
    wrong = form_post(env, app_url.headers["location"], app, code="000000", action="next")
    walk.seen("manage: another app, wrong code", wrong, 400)
    manage = env.client.get(MANAGE).text
    env.clock.advance()
    pair_url = form_post(env, MANAGE, manage, action="pocket", current=env.code(secret))
    pair = walk.seen("manage: pair a phone", env.client.get(pair_url.headers["location"]))
    form_post(env, pair_url.headers["location"], pair, action="cancel")


def removal_pages(walk: Walk, phone: Phone, username: str) -> None:
    """A user with a phone and recovery codes (no app) logs in by push and removes it."""
    env = walk.env
    walk.new_browser()
    location = walk.password(username)
    page = push_page(walk, location)
    [challenge] = phone.challenges()
    phone.answer(challenge["id"], "approve", shown_number(page))
    walk.arrive(env.client.get(location))
    walk.seen("account: phone and recovery codes", env.client.get("/account"))
    manage = walk.seen("manage: phone and recovery codes", env.client.get(MANAGE))
    remove_url = re.search(r'href="(/factors/pocket/manage/remove/[^"]+)"', manage)
    assert remove_url, manage
    remove = walk.seen("manage: remove a phone", env.client.get(remove_url.group(1)))
    refused = form_post(env, remove_url.group(1), remove, action="remove", current="aaaaa-aaaaa")
    walk.seen("manage: remove, wrong recovery code", refused, 400)


def consent_and_logout(walk: Walk, username: str) -> None:
    env = walk.env
    walk.new_browser()
    location = walk.password(username, client_id="wiki")
    consent = walk.seen("consent", env.client.get(location))
    walk.arrive(form_post(env, location, consent, action="allow"))
    walk.seen("account: a consent, no second factor", env.client.get("/account"))
    question = walk.seen("logout: asked", env.client.get(f"/logout?ui_locales={walk.locale}"))
    stay = env.client.post("/logout/confirm", data={**hidden_inputs(question), "action": "stay"})
    walk.seen("logout: stayed", stay)
    question = env.client.get(f"/logout?ui_locales={walk.locale}").text
    out = env.client.post("/logout/confirm", data={**hidden_inputs(question), "action": "logout"})
    walk.seen("logout: done", out)
    walk.seen("manage: not logged in", env.client.get(MANAGE))


def login_errors(walk: Walk) -> None:
    env = walk.env
    location = walk.login_page()
    page = walk.seen("login", env.client.get(location))
    walk.seen("login: nothing typed", form_post(env, location, page, action="login"), 400)
    for _ in range(3):
        wrong = form_post(env, location, page, username="dave", password="nope", action="login")
        walk.seen("login: wrong password", wrong, 401)
    locked = form_post(env, location, page, username="dave", password="nope", action="login")
    walk.seen("login: locked for a while", locked, 429)
    csrf = env.client.post(location, data={"csrf": "x", "username": "dave", "action": "login"})
    walk.seen("error: form expired", csrf, 403)


def error_pages(walk: Walk) -> None:
    env = walk.env
    walk.seen("error: not found", env.client.get("/no/such/page"), 404)
    walk.seen("error: login expired", env.client.get("/login/no-such-login"), 400)
    unknown = authorize(env, ui_locales=walk.locale, client_id="nobody")
    walk.seen("error: unknown application", unknown, 400)
    evil = authorize(env, ui_locales=walk.locale, redirect_uri="https://evil.test/cb")
    walk.seen("error: return address", evil, 400)
    hint = env.client.get(f"/logout?id_token_hint=x.y.z&ui_locales={walk.locale}")
    walk.seen("error: logout token", hint, 400)
    bad = env.client.get(
        f"/logout?client_id=rp&post_logout_redirect_uri=https://evil.test&ui_locales={walk.locale}"
    )
    walk.seen("error: logout address", bad, 400)
    walk.seen("help", env.client.get(f"/factors/pocket/help?lang={walk.locale}"))


def demo_pages(walk: Walk) -> None:
    env = walk.env
    walk.new_browser()
    walk.seen("demo", env.client.get("/demo"))
    start = env.client.get(f"/demo/start?prompt=none&ui_locales={walk.locale}")
    callback = env.client.get(start.headers["location"]).headers["location"]
    assert "error=login_required" in callback, callback
    walk.seen("demo: login required", env.client.get(callback))
    start = env.client.get(f"/demo/start?ui_locales={walk.locale}")
    location = env.client.get(start.headers["location"]).headers["location"]
    page = env.client.get(location).text
    wizard = form_post(env, location, page, username="gina", password=PASSWORD, action="login")
    choose = env.client.get(wizard.headers["location"]).text
    stopped = form_post(env, wizard.headers["location"], choose, action="stop")
    assert "error=access_denied" in stopped.headers["location"], stopped.headers
    walk.seen("demo: login stopped", env.client.get(stopped.headers["location"]))


@pytest.fixture(params=LOCALES)
def walk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Walk]:
    locale: str = request.param
    # a lockout of one window of a minute: "1 minute", not "1 minutes"
    settings = make_settings(
        tmp_path, IDP_FACTORS_ENABLED="pocket", IDP_LOGIN_ACCOUNT_LIMIT="3", IDP_LOGIN_WINDOW="60"
    )
    app = create_app(settings, with_demo=True)
    headers = {"accept-language": locale}
    with TestClient(app, base_url=ISSUER, follow_redirects=False, headers=headers) as client:
        env = PocketEnv(app, client, settings, Clock())
        env.plugin.services.checker.clock = env.clock
        env.add_client(mfa="required")
        env.add_client("wiki", name="Team wiki", first_party=False, mfa="optional")
        env.run(ensure_demo, env.provider, tmp_path / "demo-account.json")
        for username in ("alice", "bob", "carol", "dave", "gina", "hans", "ivan"):
            env.add_user(username, locale=locale)
        yield Walk(env, locale)


def test_every_page_speaks_one_language(walk: Walk) -> None:
    login_errors(walk)
    error_pages(walk)
    walk.new_browser()
    secret, _ = wizard_with_the_app(walk, "alice")
    account_pages(walk, secret)
    walk.new_browser()
    code_step(walk, "alice", secret)
    walk.new_browser()
    phone = wizard_with_pocket(walk, "bob")
    removal_pages(walk, phone, "bob")
    walk.new_browser()
    push_outcomes(walk, phone, "bob")
    walk.new_browser()
    push_expired_withdrawn_fraud(walk, "ivan")
    push_limit_without_a_code(walk, "hans")
    consent_and_logout(walk, "carol")
    demo_pages(walk)

    foreign = foreign_texts(walk.env.provider.pages.catalogue, walk.locale)
    assert len(foreign) > 100  # the catalogues are there to compare with
    mixed = {
        name: sorted(text for text in foreign if text in shown)
        for name, shown in walk.pages.items()
    }
    assert {name: found for name, found in mixed.items() if found} == {}
    assert len(walk.pages) >= 50, sorted(walk.pages)


#: a wait of one minute, in the singular
ONE_MINUTE = {
    "login: locked for a while": {"en": "try again in 1 minute.", "nl": "over 1 minuut opnieuw"},
    "push: limit, no code to use": {"en": "wait 1 minute,", "nl": "Wacht 1 minuut "},
}


def test_pages_say_what_they_mean_in_both_languages(walk: Walk) -> None:
    """Counts in the singular, the account page's factors and consents in words, and the
    demo application's own explanation of an error."""
    login_errors(walk)
    walk.new_browser()
    push_limit_without_a_code(walk, "hans")
    walk.new_browser()
    wizard_with_the_app(walk, "alice")
    walk.seen("account", walk.client.get("/account"))
    consent_and_logout(walk, "carol")
    demo_pages(walk)
    t = walk.env.provider.pages.translator(walk.locale)
    for page, said in ONE_MINUTE.items():
        assert said[walk.locale] in walk.pages[page], walk.pages[page]
    account = walk.pages["account"]
    assert t("pocket.manage.app") in account and t("pocket.manage.codes_count", count=10) in account
    consents = walk.pages["account: a consent, no second factor"]
    assert t("scope.email") in consents and t("scope.profile") in consents
    assert t("demo.error.access_denied") in walk.pages["demo: login stopped"]
    assert t("demo.error.login_required") in walk.pages["demo: login required"]
