"""The second-factor plugin interface and its registry.

A plugin owns one step of the login pipeline. The provider asks it whether a user has
the factor enrolled and hands it the browser with `begin`; the plugin shows its own
pages (mounted under /factors/<name>/) and ends the step through the `FactorHost`:
`finish` with the RFC 8176 methods it used, or `fail`. Plugins are found by entry point
(group `idp.factors`) and enabled by name in [factors] enabled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute

from idp.errors import ConfigError
from idp.i18n import DEFAULT_LOCALE

if TYPE_CHECKING:
    from idp.i18n import Translator
    from idp.login.state import SsoSession
    from idp.metrics import Metrics
    from idp.rate_limits import RateLimits
    from idp.settings import Settings
    from idp.store import Client, User
    from idp.store.base import RecordView

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


T = TypeVar("T")


class Pages(Protocol):
    """The host's pages, as plugins use them: templates rendered in a language, and the
    error page."""

    def render(
        self,
        request: Request,
        template: str,
        *,
        locale: str | None = None,
        status_code: int = 200,
        **context: Any,
    ) -> HTMLResponse: ...

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
    ) -> HTMLResponse: ...

    def translator(self, locale: str) -> Translator: ...

    def locale_for(self, request: Request, ui_locales: str | None = None) -> str: ...

    def add_folder(self, folder: Path) -> None: ...


class PendingLoginView(Protocol):
    """The pending login as a plugin reads it."""

    @property
    def id(self) -> str: ...

    @property
    def sub(self) -> str | None:
        """The user the login is for; None before anyone is proven (the password page)."""
        ...

    @property
    def locale(self) -> str: ...

    @property
    def client_id(self) -> str: ...

    @property
    def csrf(self) -> str:
        """The token that this login's forms carry."""
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
    coroutine; the plugin's own records are `records(name)`."""

    pages: Pages
    settings: Settings
    #: the host serves logins (a server). The `idp` command, which administers the store,
    #: does not: the plugin makes no files of its own for it (a key to seal secrets with)
    serving: bool
    #: what the process counts for its operators (`GET /metrics`): a plugin reports its
    #: login outcomes, refusals and challenge answer times here (idp.metrics)
    metrics: Metrics
    #: the provider's rate limits; a plugin's device API counts its requests under
    #: "device_api" ([rate_limits] device_api)
    rate_limits: RateLimits
    #: the security audit trail: a plugin records its events here (push answers,
    #: enrollments, devices added and removed), never in records of its own
    audit: AuditLog

    def records(self, namespace: str) -> RecordView:
        """The plugin's own records and counters, kept apart under its name."""
        ...

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking work (hashing, QR rendering, crypto) off the event loop."""
        ...

    def add_messages(self, folder: Path) -> None:
        """Add the plugin's message catalogues (`en.toml`, `nl.toml` in `folder`)."""
        ...

    async def load_login(self, request: Request, login_id: str) -> PendingLoginView | None:
        """The pending login of this browser, or None if it has expired or is foreign."""
        ...

    async def get_user(self, sub: str) -> User | None: ...

    async def session_user(self, request: Request) -> User | None:
        """The user of this browser's SSO session, if any (account pages)."""
        ...

    async def session(self, request: Request) -> SsoSession | None:
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

    async def finish_passwordless(
        self, request: Request, login: PendingLoginView, user: User, amr: Sequence[str]
    ) -> Response:
        """The plugin proved `user` alone, without the password, with these RFC 8176
        methods (see PasswordlessLogin): the login continues as theirs. It counts as two
        factors only when `amr` says so ("mfa"); otherwise the second-factor step still
        follows where one is needed."""
        ...


@runtime_checkable
class FactorPlugin(Protocol):
    """A second factor. Besides what is declared here, a plugin may define
    `async def aclose(self) -> None`: awaited once when the server shuts down, before the
    store closes, to finish or cancel background work (deliveries under way, say)."""

    #: the entry-point name, also the URL prefix /factors/<name>/
    name: str

    def setup(self, host: FactorHost, config: Mapping[str, Any]) -> None:
        """Called once at start-up with the plugin's [plugins.<name>] table."""
        ...

    def routes(self) -> Sequence[BaseRoute]: ...

    def template_folders(self) -> Sequence[Path]: ...

    async def is_enrolled(self, user: User) -> bool: ...

    async def begin(self, request: Request, login: PendingLoginView, user: User) -> Response:
        """Show the step's first page (enrollment if the user has no factor yet)."""
        ...

    async def methods(self, user: User, locale: str = DEFAULT_LOCALE) -> Sequence[EnrolledMethod]:
        """What the user has enrolled with this plugin, labelled in `locale` (the account
        page asks in the user's language, the `idp` command in English)."""
        ...

    async def reset(self, user: User) -> int:
        """Remove everything the user enrolled; returns how many items."""
        ...


@dataclass(frozen=True)
class OfferedMethod:
    """A method a user may enroll with a plugin, as the method chooser shows it."""

    plugin: str
    #: e.g. "push", "totp", "passkey": what `begin(..., method=)` takes
    method: str
    label: str
    description: str
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
