"""The second-factor plugin interface and its registry.

A plugin owns one step of the login pipeline. The provider asks it whether a user has
the factor enrolled and hands it the browser with `begin`; the plugin shows its own
pages (mounted under /factors/<name>/) and ends the step through the `FactorHost`:
`finish` with the RFC 8176 methods it used, or `fail`. Plugins are found by entry point
(group `idp.factors`) and enabled by name in [factors] enabled, in the order in which
they are offered.

A plugin imports from idp only this module and `idp.store`'s public names; everything
else reaches it through the host.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from idp.errors import ConfigError
from idp.i18n import DEFAULT_LOCALE
from idp.json_input import JsonInputError, parse_json
from idp.pages import PAGE_HEADERS

if TYPE_CHECKING:
    from idp.settings import Settings
    from idp.store import Client, RecordView, User

__all__ = [
    "DEFAULT_LOCALE",
    "PAGE_HEADERS",
    "REMEMBER_FIELD",
    "AdminMethod",
    "AuditLog",
    "ChangeConfirmer",
    "CodeCheck",
    "ConfigError",
    "ConfirmWays",
    "EnrolledMethod",
    "FactorHost",
    "FactorMetrics",
    "FactorPlugin",
    "JsonInputError",
    "MethodAdmin",
    "OfferedMethod",
    "Pages",
    "PasswordlessLogin",
    "PasswordlessOption",
    "PendingLoginView",
    "Postponement",
    "RateLimiter",
    "SessionView",
    "Translate",
    "load_plugins",
    "parse_json",
    "set_up_plugins",
]

T = TypeVar("T")

ENTRY_POINT_GROUP = "idp.factors"

#: the checkbox "remember this browser for N days" on a plugin's page where the user
#: proves the factor: value "1" when ticked (see FactorHost.remember_days)
REMEMBER_FIELD = "remember_browser"


@dataclass(frozen=True)
class Postponement:
    """The "Set up later" button of an enrollment's first page: a form that POSTs the
    login's `csrf` field to `url`; `label` is its text in the login's language."""

    url: str
    label: str


class Translate(Protocol):
    """The texts of one language: `t("key", count=2)` (see idp.i18n)."""

    locale: str

    def __call__(self, key: str, **values: object) -> str: ...


class Pages(Protocol):
    """The host's pages: templates (the plugin's folders first), in the visitor's
    language, with the headers every page gets (PAGE_HEADERS)."""

    def render(
        self,
        request: Request,
        template: str,
        *,
        locale: str | None = None,
        status_code: int = 200,
        **context: Any,
    ) -> Response: ...

    def error(
        self,
        request: Request,
        title_key: str,
        message_key: str,
        *,
        status_code: int = 400,
        locale: str | None = None,
        detail: str | None = None,
        link: tuple[str, str] | None = None,
    ) -> Response: ...

    def translator(self, locale: str) -> Translate: ...

    def locale_for(self, request: Request, ui_locales: str | None = None) -> str: ...

    def add_folder(self, folder: Path) -> None: ...


class PendingLoginView(Protocol):
    """What a plugin reads of the login it carries on (it changes nothing of it)."""

    @property
    def id(self) -> str: ...

    @property
    def sub(self) -> str | None: ...

    @property
    def locale(self) -> str: ...

    @property
    def csrf(self) -> str:
        """The login's form token: every form of the login's pages carries it."""
        ...

    @property
    def client_id(self) -> str:
        """The application that asked for the login."""
        ...


class SessionView(Protocol):
    """A browser's SSO session, as a plugin reads it."""

    @property
    def sid(self) -> str: ...

    @property
    def sub(self) -> str: ...

    @property
    def auth_time(self) -> int: ...

    @property
    def amr(self) -> Sequence[str]: ...

    @property
    def acr(self) -> str: ...


class FactorMetrics(Protocol):
    """What a plugin counts for the operators (`GET /metrics`, see idp.metrics)."""

    def login(self, outcome: str, factor: str) -> None:
        """A login's second factor ended: "success", "wrong_code", "denied", ..."""
        ...

    def factor_answered(self, factor: str, seconds: float) -> None:
        """How long the user took to answer (a push approved on the phone)."""
        ...

    def refused(self, kind: str) -> None:
        """A limit refused a request ("code_attempts", "push_limit", ...)."""
        ...


class RateLimiter(Protocol):
    """The provider's rate limits ([rate_limits]), counted per address."""

    async def retry_after(self, kind: Any, who: str) -> int | None:
        """Count a request of `who`; None if allowed, else the seconds to wait."""
        ...


class AuditLog(Protocol):
    """The security audit trail (idp.audit.AuditTrail), as plugins write to it. An
    event names the user and client concerned; `request` gives its address and user
    agent (or `ip` and `user_agent` do). Details are names and ids, never a secret."""

    async def record(
        self,
        event: str,
        *,
        outcome: str = "success",
        reason: str | None = None,
        sub: str | None = None,
        client: str | None = None,
        ip: str | None = None,
        user_agent: str | None = None,
        request: Request | None = None,
        **details: str | int | float | bool | list[str] | None,
    ) -> dict[str, Any]: ...

    async def events(self, since: float = 0, sub: str | None = None) -> list[dict[str, Any]]:
        """The kept events from `since` on (of one user, with `sub`), oldest first."""
        ...


class FactorHost(Protocol):
    """What the provider offers a plugin. Every method that reaches the store is a
    coroutine; the plugin's own records are `records(name)`. A plugin reads the
    attributes below and changes none of them."""

    @property
    def pages(self) -> Pages: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def serving(self) -> bool:
        """The host serves logins (a server). The `idp` command, which administers the
        store, does not: the plugin makes no files of its own for it (a key to seal
        secrets with)."""
        ...

    @property
    def metrics(self) -> FactorMetrics:
        """What the process counts for its operators (`GET /metrics`): a plugin reports
        its login outcomes, refusals and challenge answer times here."""
        ...

    @property
    def rate_limits(self) -> RateLimiter:
        """The provider's rate limits; a plugin's device API counts its requests under
        "device_api" ([rate_limits] device_api)."""
        ...

    @property
    def audit(self) -> AuditLog:
        """The security audit trail: a plugin records its events here (push answers,
        enrollments, devices added and removed), never in records of its own."""
        ...

    def records(self, namespace: str) -> RecordView:
        """The plugin's own records and counters, kept apart under its name."""
        ...

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking work (hashing, drawing a QR code, slow crypto) in a worker
        thread, off the event loop, as the provider runs its own (README, "Blocking
        work")."""
        ...

    def add_messages(self, folder: Path) -> None:
        """Add the plugin's message catalogues (`en.toml`, `nl.toml` in `folder`) to the
        texts that `pages.translator` and the templates' `t` give."""
        ...

    async def load_login(self, request: Request, login_id: str) -> PendingLoginView | None:
        """The pending login of this browser, or None if it has expired or is foreign."""
        ...

    async def get_user(self, sub: str) -> User | None: ...

    async def session_user(self, request: Request) -> User | None:
        """The user of this browser's SSO session, if any (account pages)."""
        ...

    async def session(self, request: Request) -> SessionView | None:
        """This browser's SSO session (sub, auth_time, amr, acr), if any."""
        ...

    async def get_client(self, client_id: str) -> Client | None: ...

    async def application_name(self, login: PendingLoginView) -> str | None:
        """The name of the application that the login goes on to (its client's name), or
        None when it goes to this provider's own account page."""
        ...

    async def finish(
        self,
        request: Request,
        login: PendingLoginView,
        amr: Sequence[str],
        *,
        remember: bool = False,
    ) -> Response:
        """The factor was passed with these methods: continue the login. `remember`: the
        user ticked REMEMBER_FIELD (the host remembers the browser only where it offers
        that, see remember_days)."""
        ...

    async def remember_days(self, login: PendingLoginView) -> int:
        """For how many days the page where the user proves the factor offers to remember
        this browser (a REMEMBER_FIELD checkbox); 0: it offers nothing."""
        ...

    async def postponement(self, login: PendingLoginView) -> Postponement | None:
        """The "Set up later" button for the first page of an enrollment, when the user
        may still postpone it (an enrollment deadline); None: they must enroll now."""
        ...

    async def fail(self, request: Request, login: PendingLoginView, reason: str) -> Response:
        """The factor failed for good (denied, fraud, abandoned): end the login."""
        ...

    def expired(self, request: Request, locale: str | None = None) -> Response:
        """The page for a login that no longer exists."""
        ...

    def restart_url(self, login: PendingLoginView) -> str:
        """The login's authorization request as an absolute URL: opened in any browser,
        it starts the same login afresh (for a browser the plugin cannot serve)."""
        ...

    def other_methods_url(self, login: PendingLoginView) -> str:
        """The host's page that lists the other methods of this login's step, across
        plugins: at enrollment every method offered, at login the user's other enrolled
        ones. "" when there is no other (a factor page then shows no link to it)."""
        ...

    async def finish_passwordless(
        self, request: Request, login: PendingLoginView, user: User, amr: Sequence[str]
    ) -> Response:
        """The plugin proved `user` alone, without the password, with these RFC 8176
        methods (see PasswordlessLogin): the login continues as theirs. It counts as two
        factors only when `amr` says so ("mfa"); otherwise the second-factor step still
        follows where one is needed."""
        ...


@dataclass(frozen=True)
class OfferedMethod:
    """A way through the second-factor step that a plugin offers a user."""

    #: the plugin's name
    plugin: str
    #: what `begin(method=...)` takes: "push", "totp", "passkey"
    method: str
    #: in the language asked for: "Pocket app", "Authenticator app"
    label: str
    #: a sentence under the label
    description: str
    #: preselected on the host's method chooser (the first recommended one, in the
    #: configured order of the plugins)
    recommended: bool = False


@dataclass(frozen=True)
class PasswordlessOption:
    """A way to log in without the password, shown on the login page."""

    #: message key (the plugin's catalogue) of the button
    label: str
    #: URL of the script that runs the option on the login page
    script: str
    #: where the script posts (the plugin's route for this login)
    url: str
    #: a token the username field's `autocomplete` gets besides "username" (for the
    #: browser to offer the plugin's credentials there), or None
    autocomplete: str | None = None


@runtime_checkable
class PasswordlessLogin(Protocol):
    """What a plugin may offer besides FactorPlugin: logging a user in with its factor
    alone. Its option is shown on the login page; when it has proven a user, the plugin
    ends the password step with `FactorHost.finish_passwordless`."""

    def passwordless_option(self, login: PendingLoginView) -> PasswordlessOption: ...


@runtime_checkable
class FactorPlugin(Protocol):
    """A second factor."""

    #: the entry-point name, also the URL prefix /factors/<name>/
    name: str

    def setup(self, host: FactorHost, config: Mapping[str, Any]) -> None:
        """Called once at start-up with the plugin's [plugins.<name>] table."""
        ...

    def routes(self) -> Sequence[BaseRoute]: ...

    def template_folders(self) -> Sequence[Path]: ...

    async def aclose(self) -> None:
        """Awaited once when the server shuts down, before the store closes, to finish
        or cancel background work (deliveries under way, say); a no-op for a plugin
        with none."""
        ...

    async def is_enrolled(self, user: User) -> bool:
        """Whether the user can pass this factor now (awaited on the event loop: it
        reads the store, and does nothing slow besides)."""
        ...

    async def offered_methods(self, user: User, locale: str) -> Sequence[OfferedMethod]:
        """The methods of this plugin for this user at a login, labelled in `locale`: for
        a user enrolled with the plugin the ones the user has, in the order the plugin
        prefers them; else the ones the user may enroll (the host's chooser lists them).
        """
        ...

    async def begin(
        self,
        request: Request,
        login: PendingLoginView,
        user: User,
        method: str | None = None,
    ) -> Response:
        """Show the step's first page. With `method` None the plugin picks: the user's
        enrolled method, else its own enrollment; with a method (one of
        `offered_methods`), that one: a login with it if the user has it, else its
        enrollment. The host asks for an enrollment only of a user with no second
        factor in any plugin."""
        ...

    async def methods(self, user: User, locale: str = DEFAULT_LOCALE) -> Sequence[EnrolledMethod]:
        """What the user has enrolled with this plugin, labelled in `locale` (the account
        page asks in the user's language, the `idp` command in English)."""
        ...

    async def reset(self, user: User) -> int:
        """Remove everything the user enrolled; returns how many items."""
        ...


@dataclass(frozen=True)
class ConfirmWays:
    """How a user can confirm a change with a plugin's factor; the labels are message
    keys (the plugin's catalogue), None where the user has no such way."""

    #: the label of a field for a code (an authenticator code, a recovery code)
    code_label: str | None
    #: the label of a button that confirms without typing (a push to a phone)
    button_label: str | None


@dataclass(frozen=True)
class CodeCheck:
    ok: bool
    #: when codes are refused for now (too many wrong ones): the minutes to wait
    retry_minutes: int = 0


@runtime_checkable
class ChangeConfirmer(Protocol):
    """What a plugin may offer besides FactorPlugin: confirming, with the user's factor,
    a change that the user of an SSO session asks for on an account page (a new
    password). The page asks `ways`; a code is checked at once (`check_code`); a button
    hands the browser to the plugin (`start_confirmation`), which sends it to `done_url`
    once the user has confirmed, and there the page takes the confirmation, once."""

    async def ways(self, user: User) -> ConfirmWays: ...

    async def check_code(self, user: User, code: str) -> CodeCheck:
        """A code of the user's factor; each counts against the plugin's code limits."""
        ...

    async def start_confirmation(
        self, request: Request, user: User, *, purpose: str, done_url: str, back_url: str
    ) -> Response:
        """Begin a confirmation for this browser's SSO session; `purpose` says what is
        confirmed (shown to the user), `back_url` is where cancelling leads."""
        ...

    async def take_confirmation(self, request: Request, user: User, done_url: str) -> bool:
        """Whether this SSO session confirmed the change of `done_url`; True only once."""
        ...


@dataclass(frozen=True)
class AdminMethod:
    """One thing a user enrolled, as an administrator sees it."""

    #: names it among the plugin's methods of that user (what remove_method takes)
    id: str
    #: e.g. "totp", "recovery codes", or the kind of a device
    kind: str
    #: in English: "Authenticator app", or the name the user gave a device
    label: str
    #: Unix time of enrollment
    created_at: int
    #: Unix time of the last use, where the plugin keeps it
    last_used: int | None = None
    #: a device the user paired (a phone), rather than a secret or codes
    device: bool = False


@runtime_checkable
class MethodAdmin(Protocol):
    """What a plugin may offer besides FactorPlugin: an administrator lists a user's
    enrolled methods one by one and removes one (the admin API, `idp users show`).
    FactorPlugin.reset removes them all."""

    async def admin_methods(self, user: User) -> Sequence[AdminMethod]: ...

    async def remove_method(self, user: User, method_id: str) -> bool:
        """Remove one of the user's methods; False if the user has none of that id."""
        ...


class EnrolledMethod(Protocol):
    @property
    def kind(self) -> str:
        """e.g. "totp", "pocket", "recovery codes"."""
        ...

    @property
    def label(self) -> str:
        """A name the user recognises, in the language asked for ("Authenticator app",
        "Authenticatie-app"), or the name the user gave it ("Pixel 8")."""
        ...

    @property
    def created_at(self) -> int:
        """Unix time of enrollment."""
        ...


def set_up_plugins(
    host: FactorHost, given: Mapping[str, FactorPlugin] | None = None
) -> dict[str, FactorPlugin]:
    """The enabled plugins, each set up with its [plugins.<name>] table and its
    templates added to the host's pages."""
    plugins = load_plugins(host.settings.factors.enabled, given)
    for name, plugin in plugins.items():
        for folder in plugin.template_folders():
            host.pages.add_folder(folder)
        plugin.setup(host, host.settings.plugins.get(name, {}))
    return plugins


def load_plugins(
    names: Sequence[str], given: Mapping[str, FactorPlugin] | None = None
) -> dict[str, FactorPlugin]:
    """The enabled plugins, in the configured order; `given` ones win over entry points."""
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    plugins: dict[str, FactorPlugin] = {}
    for name in names:
        if given and name in given:
            plugins[name] = given[name]
            continue
        if name not in found:
            known = ", ".join(sorted(found)) or "none installed"
            raise ConfigError(f"factors.enabled: no plugin named {name!r} (known: {known})")
        factory = found[name].load()
        plugin = factory() if callable(factory) else factory
        if not isinstance(plugin, FactorPlugin):
            raise ConfigError(f"factors.enabled: {name!r} is not a second-factor plugin")
        plugins[name] = plugin
    return plugins
