"""The second-factor step across the plugins: the method a login begins with, the
chooser of a user with no second factor yet, and "use another method".

Plugins are asked in the configured order ([factors] enabled). A user enrolled with
any begins with the first such plugin, which picks its method. The host's page at
/login/<id>/methods (`FactorHost.other_methods_url`) lists the other methods: for a
user with none enrolled, every method the plugins offer, the first recommended one
preselected, and the chosen plugin enrolls it; for a user with several, the user's
other enrolled methods, and the chosen plugin begins a login with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idp.factors import OfferedMethod
from idp.login.password import csrf_ok
from idp.pages import PAGE_HEADERS

if TYPE_CHECKING:
    from idp.login.state import PendingLogin
    from idp.provider import Provider
    from idp.store import User

#: why a login ends when the user stops on the chooser (access_denied to the app)
STOPPED = "The user stopped the 2FA enrollment."


def method_key(method: OfferedMethod) -> str:
    """What the chooser's form sends for a method: "<plugin>:<method>"."""
    return f"{method.plugin}:{method.method}"


@dataclass(frozen=True)
class Choices:
    #: the user has a second factor: these are the enrolled methods, else enrollable ones
    enrolled: bool
    methods: list[OfferedMethod]


class FactorMethods:
    def __init__(self, provider: Provider) -> None:
        self.p = provider

    def url(self, login: PendingLogin) -> str:
        """The methods page of this login, or "" when it has nothing else to offer."""
        return f"/login/{login.id}/methods" if login.other_methods else ""

    async def choices(self, user: User, locale: str) -> Choices:
        """The user's enrolled methods across plugins, in the configured order; for a
        user with none, every method that the plugins offer."""
        enrolled: list[OfferedMethod] = []
        for plugin in self.p.plugins.values():
            if await plugin.is_enrolled(user):
                enrolled += await plugin.offered_methods(user, locale)
        if enrolled:
            return Choices(True, enrolled)
        offered: list[OfferedMethod] = []
        for plugin in self.p.plugins.values():
            offered += await plugin.offered_methods(user, locale)
        return Choices(False, offered)

    def _others(self, login: PendingLogin, choices: Choices) -> list[OfferedMethod]:
        """The methods besides the one the login's step runs now."""
        if not choices.enrolled:
            return choices.methods
        mine = [m for m in choices.methods if m.plugin == login.factor_plugin]
        current = login.factor_method or (mine[0].method if mine else None)
        return [
            m
            for m in choices.methods
            if not (m.plugin == login.factor_plugin and m.method == current)
        ]

    async def prepare(self, login: PendingLogin, user: User, plugin: str) -> None:
        """Before the step's first page (the login is saved next): which plugin it
        begins with, and whether the methods page has others to offer."""
        choices = await self.choices(user, login.locale)
        login.factor_plugin = plugin if choices.enrolled else None
        login.factor_method = None
        # nothing to choose from (unless "Set up later" is a choice: then the chooser
        # shows it, beside the one method)
        single = not choices.enrolled and len(choices.methods) == 1
        if single and await self.p.postponement(login) is None:
            login.factor_plugin, login.factor_method = plugin, choices.methods[0].method
            login.other_methods = 0
            return
        login.other_methods = len(self._others(login, choices))

    async def begin(self, request: Request, login: PendingLogin, user: User) -> Response:
        """The step's first page: the enrolled plugin's, else the chooser."""
        if login.factor_plugin is not None:
            plugin = self.p.plugins[login.factor_plugin]
            return await plugin.begin(request, login, user, method=login.factor_method)
        return RedirectResponse(f"/login/{login.id}/methods", status_code=303, headers=PAGE_HEADERS)

    async def page(self, request: Request) -> Response:
        """GET shows the methods; POST begins the chosen one (or stops an enrollment)."""
        p = self.p
        login = await p.state.load(request, request.path_params["login_id"])
        if login is None or login.sub is None:
            return p.expired(request)
        step = await p.pipeline.decide(request, login)
        if step.name != "factor" or step.user is None:
            return await p.pipeline.resume(request, login)
        user = step.user
        choices = await self.choices(user, login.locale)
        others = self._others(login, choices)
        error = None
        if request.method == "POST":
            form = await request.form()
            if not csrf_ok(login, form.get("csrf")):
                return p.pages.error(
                    request,
                    "error.csrf.title",
                    "error.csrf.text",
                    status_code=403,
                    locale=login.locale,
                )
            if form.get("action") == "stop":
                return await p.fail(request, login, STOPPED)
            chosen = next((m for m in others if method_key(m) == form.get("method")), None)
            if chosen is not None:
                return await self._begin_chosen(request, login, user, choices, chosen)
            error = p.pages.translator(login.locale)("factor.choose.missing")
        preselected = next((m for m in others if m.recommended), None)
        return p.pages.render(
            request,
            "factor_methods.html",
            locale=login.locale,
            status_code=400 if error else 200,
            login=login,
            enrolling=not choices.enrolled,
            methods=[(method_key(m), m) for m in others],
            preselected=method_key(preselected) if preselected and not choices.enrolled else None,
            error=error,
            # "Set up later", where the host lets the user postpone (an enrollment deadline)
            later=None if choices.enrolled else await p.postponement(login),
        )

    async def _begin_chosen(
        self,
        request: Request,
        login: PendingLogin,
        user: User,
        choices: Choices,
        chosen: OfferedMethod,
    ) -> Response:
        login.factor_plugin, login.factor_method = chosen.plugin, chosen.method
        login.other_methods = len(self._others(login, choices))
        await self.p.state.save(login)
        plugin = self.p.plugins[chosen.plugin]
        return await plugin.begin(request, login, user, method=chosen.method)


async def methods_page(request: Request) -> Response:
    provider: Provider = request.app.state.provider
    return await provider.factor_methods.page(request)
