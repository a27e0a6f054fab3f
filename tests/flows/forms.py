"""A small form-filling browser for the end-to-end tests: it follows redirects by hand,
reads a page's forms the way a browser would submit them, and stops as soon as the
provider sends it elsewhere (to a relying party, which does not exist here).

Only what is on the page is used: the form's action, its hidden inputs, the enabled
choices and the buttons. Submitting a field or a button the page does not have fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import requests

MAX_HOPS = 10
#: inputs whose value a person types in
TEXT_TYPES = {"text", "password", "email", "number", "search", "tel", "url", ""}
#: elements without an end tag
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


@dataclass
class Form:
    action: str
    method: str = "post"
    #: what the browser sends without anyone typing: hidden and prefilled inputs, checked choices
    fields: dict[str, str] = field(default_factory=dict)
    #: inputs a person can type into
    text_inputs: set[str] = field(default_factory=set)
    #: radio buttons and checkboxes by name: the values that can be chosen (not disabled)
    choices: dict[str, list[str]] = field(default_factory=dict)
    #: every choice by name, with whether it is disabled
    all_choices: dict[str, dict[str, bool]] = field(default_factory=dict)
    #: submit buttons (name, value), in page order
    buttons: list[tuple[str, str]] = field(default_factory=list)

    def data(self, button: tuple[str, str] | None, **values: str) -> dict[str, str]:
        """The body a browser sends when `button` is pressed after typing/choosing `values`."""
        data = dict(self.fields)
        for name, value in values.items():
            if name in self.choices:
                assert value in self.choices[name], (name, value, self.all_choices[name])
            else:
                assert name in self.text_inputs, (name, sorted(self.text_inputs))
            data[name] = value
        if button is not None:
            assert button in self.buttons, (button, self.buttons)
            data[button[0]] = button[1]
        return data


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.texts: dict[str, str] = {}
        self.items: dict[str, list[str]] = {}
        self.alerts: list[str] = []
        self._stack: list[tuple[str, str | None, bool]] = []  # tag, id, role=alert
        self._form: Form | None = None

    # --- elements
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self._element(tag, a)
        if tag not in VOID:
            self._stack.append((tag, a.get("id") or None, a.get("role") == "alert"))
            if tag == "li":
                for _tag, ident, _alert in self._stack[:-1]:
                    if ident is not None:
                        self.items.setdefault(ident, []).append("")
            if a.get("role") == "alert":
                self.alerts.append("")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, {k: v or "" for k, v in attrs})

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        for depth in range(len(self._stack) - 1, -1, -1):
            if self._stack[depth][0] == tag:
                del self._stack[depth:]
                break

    def handle_data(self, data: str) -> None:
        in_li = False
        for tag, ident, alert in reversed(self._stack):
            in_li = in_li or tag == "li"
            if ident is not None:
                self.texts[ident] = self.texts.get(ident, "") + data
                if in_li and ident in self.items:
                    self.items[ident][-1] += data
            if alert:
                self.alerts[-1] += data

    def _element(self, tag: str, a: dict[str, str]) -> None:
        if tag == "form":
            self._form = Form(a.get("action", ""), a.get("method", "get").lower())
            self.forms.append(self._form)
            return
        form = self._form
        name = a.get("name")
        if form is None or not name:
            return
        disabled = "disabled" in a
        if tag == "input":
            kind = a.get("type", "").lower()
            if kind in ("radio", "checkbox"):
                value = a.get("value", "on")
                form.all_choices.setdefault(name, {})[value] = disabled
                if not disabled:
                    form.choices.setdefault(name, []).append(value)
                    if "checked" in a:
                        form.fields[name] = value
            elif kind in ("submit", "image"):
                form.buttons.append((name, a.get("value", "")))
            elif not disabled:
                form.fields[name] = a.get("value", "")
                if kind in TEXT_TYPES:
                    form.text_inputs.add(name)
        elif tag == "button" and a.get("type", "submit").lower() == "submit" and not disabled:
            form.buttons.append((name, a.get("value", "")))


@dataclass
class Page:
    """A page of the provider, or (`away`) the address it sent the browser to elsewhere."""

    url: str
    status: int = 0
    html: str = ""
    forms: list[Form] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)
    items: dict[str, list[str]] = field(default_factory=dict)
    alerts: list[str] = field(default_factory=list)
    away: bool = False

    @classmethod
    def parse(cls, response: requests.Response) -> Page:
        parser = _Parser()
        parser.feed(response.text)
        parser.close()
        for form in parser.forms:
            form.action = urljoin(response.url, form.action)
        return cls(
            response.url,
            response.status_code,
            response.text,
            parser.forms,
            {k: " ".join(v.split()) for k, v in parser.texts.items()},
            {k: [" ".join(i.split()) for i in v] for k, v in parser.items.items()},
            [" ".join(a.split()) for a in parser.alerts],
        )

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def form(self) -> Form:
        """The page's only form."""
        assert len(self.forms) == 1, (self.url, self.status, self.html[:2000])
        return self.forms[0]

    def text(self, element_id: str) -> str:
        """The text inside the element with this id, whitespace collapsed."""
        assert element_id in self.texts, (element_id, self.url, self.html[:2000])
        return self.texts[element_id]

    def describe(self) -> str:
        return f"{self.status} {self.url}\n{self.html[:2000]}"


class Browser:
    """Cookies, redirects and forms against one provider; leaving it ends a navigation."""

    def __init__(self, provider: str) -> None:
        self.provider = provider.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Accept-Language"] = "en"

    def open(self, url: str) -> Page:
        return self._follow(self.session.get(url, allow_redirects=False, timeout=30))

    def submit(
        self, page: Page, button: tuple[str, str] | None, *, form: int = 0, **values: str
    ) -> Page:
        """Fill in `values`, press `button` on the page's form number `form`, follow."""
        assert not page.away, page.url
        assert len(page.forms) > form, page.describe()
        chosen = page.forms[form]
        data = chosen.data(button, **values)
        if chosen.method == "post":
            response = self.session.post(
                chosen.action, data=data, allow_redirects=False, timeout=30
            )
        else:
            response = self.session.get(
                chosen.action, params=data, allow_redirects=False, timeout=30
            )
        return self._follow(response)

    def _follow(self, response: requests.Response) -> Page:
        for _hop in range(MAX_HOPS):
            if not response.is_redirect:
                return Page.parse(response)
            location = urljoin(response.url, response.headers["location"])
            if not (location == self.provider or location.startswith(self.provider + "/")):
                return Page(location, response.status_code, away=True)
            response = self.session.get(location, allow_redirects=False, timeout=30)
        raise AssertionError(f"more than {MAX_HOPS} redirects, last {response.url}")


def password_step(browser: Browser, page: Page, username: str, password: str) -> Page:
    """Fill in the login page's username and password and press "log in"."""
    assert page.status == 200 and not page.away, page.describe()
    form = page.form
    assert {"username", "password"} <= form.text_inputs, form
    return browser.submit(page, ("action", "login"), username=username, password=password)
