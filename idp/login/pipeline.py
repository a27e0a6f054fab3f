"""The login pipeline: password step -> second-factor step -> consent -> respond.

Each call to `resume` looks at what the pending login has proven so far and sends the
browser to the first step still missing; the last step issues the authorization code.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from authlib.oauth2.base import OAuth2Error
from authlib.oidc.core.errors import (
    ConsentRequiredError,
    InteractionRequiredError,
    LoginRequiredError,
)
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from idp.login.acr import ACR_MFA, achieved_acr, answered_acr, needs_second_factor
from idp.login.state import PendingLogin, SsoSession
from idp.oidc.models import new_token, token_id
from idp.oidc.redirects import error_redirect, redirect
from idp.pages import PAGE_HEADERS

if TYPE_CHECKING:
    from idp.provider import Provider
    from idp.store import Client, User


@dataclass(frozen=True)
class Step:
    name: str  # "login", "factor", "consent", "respond", "gone"
    user: User | None = None
    client: Client | None = None
    plugin: str | None = None
    error: OAuth2Error | None = None


class LoginPipeline:
    def __init__(self, provider: Provider) -> None:
        self.p = provider

    # --- deciding
    def _session_usable(self, session: SsoSession, login: PendingLogin) -> bool:
        auth = login.request
        if "login" in auth.prompt:
            return False
        if auth.max_age is not None and session.auth_time + auth.max_age < time.time():
            return False
        return not (auth.id_token_hint_sub and auth.id_token_hint_sub != session.sub)

    async def _factor_needed(
        self, request: Request, login: PendingLogin, client: Client, user: User
    ) -> str | None:
        """The plugin that must run now (the first that the user is enrolled with, in
        the configured order; the first of all for a user enrolled with none), or None.
        A login whose relying party asks for a second factor itself (acr step-up) always
        gets it; one that the IdP's policy alone asks it for may skip it on a remembered
        browser, or postpone enrollment."""
        plugins = self.p.plugins
        if not plugins or login.factor_done:
            return None
        step_up = needs_second_factor(login.request)
        required = self.p.settings.factors.required and client.mfa == "required"
        if not (step_up or required):
            return None
        enrolled = None
        for name, plugin in plugins.items():
            if await plugin.is_enrolled(user):
                enrolled = name
                break
        if not step_up:
            if enrolled is not None and await self._remembered(request, login, client, user):
                return None
            if enrolled is None and login.enrollment_postponed:
                return None
        return enrolled or next(iter(plugins))

    async def _remembered(
        self, request: Request, login: PendingLogin, client: Client, user: User
    ) -> bool:
        """This browser is remembered for the user and may skip the factor: not for a
        client that forbids it, nor when the relying party asks for an authentication
        made now (prompt=login, max_age): a remembered browser is no such proof."""
        if login.browser_remembered:
            return True
        auth = login.request
        if not self.p.remember_offered(client) or "login" in auth.prompt:
            return False
        if auth.max_age is not None:
            return False
        login.browser_remembered = await self.p.remembered.recognises(request, user.sub)
        return login.browser_remembered

    async def _consent_needed(self, login: PendingLogin, client: Client, user: User) -> bool:
        if client.first_party or login.consented:
            return False
        if "consent" in login.request.prompt:
            return True
        granted = await self.p.store.find("consent", f"{user.sub}:{client.client_id}")
        return not (granted and set(login.request.scope) <= set(granted.get("scope", [])))

    async def decide(self, request: Request, login: PendingLogin) -> Step:
        store = self.p.store
        client = await store.get_client(login.request.client_id)
        if client is None:
            return Step("gone")
        if login.sub is None:
            session = await self.p.state.current_session(request)
            if session is not None and self._session_usable(session, login):
                login.sub = session.sub
                login.auth_time = session.auth_time
                login.amr = list(session.amr)
                login.factor_done = session.acr == ACR_MFA
            else:
                return Step("login", client=client, error=LoginRequiredError())
        user = await store.get_user(login.sub)
        if user is None:
            login.sub = None
            return Step("login", client=client, error=LoginRequiredError())
        plugin = await self._factor_needed(request, login, client, user)
        if plugin is not None:
            return Step("factor", user, client, plugin, InteractionRequiredError())
        if await self._consent_needed(login, client, user):
            return Step("consent", user, client, error=ConsentRequiredError())
        return Step("respond", user, client)

    # --- acting
    async def resume(self, request: Request, login: PendingLogin) -> Response:
        step = await self.decide(request, login)
        auth = login.request
        if step.name == "gone":
            return self.p.pages.error(
                request, "error.client_gone.title", "error.client_gone.text", locale=login.locale
            )
        if step.name != "respond" and "none" in auth.prompt and step.error is not None:
            await self.p.state.finish(login)
            return error_redirect(auth.redirect_uri, step.error, auth.state, self.p.settings.issuer)
        if step.name == "respond":
            assert step.user is not None and step.client is not None
            return await self.respond(request, login, step.user, step.client)
        first_stored = not login.stored
        if step.name == "factor":
            assert step.plugin is not None and step.user is not None
            await self.p.factor_methods.prepare(login, step.user, step.plugin)
        await self.p.state.save(login)
        response = await self._show(request, login, step)
        if first_stored:  # the browser keeps the way back into it (login/restarts.py)
            url = self.p.restart_url(login)
            self.p.restarts.remember(request, response, login.id, url, login.locale)
        return response

    async def _show(self, request: Request, login: PendingLogin, step: Step) -> Response:
        """The page of a step that needs the browser back: login, factor or consent."""
        if step.name == "login":
            return RedirectResponse(f"/login/{login.id}", status_code=303, headers=PAGE_HEADERS)
        if step.name == "factor":
            assert step.user is not None
            return await self.p.factor_methods.begin(request, login, step.user)
        return RedirectResponse(f"/consent/{login.id}", status_code=303, headers=PAGE_HEADERS)

    async def respond(
        self, request: Request, login: PendingLogin, user: User, client: Client
    ) -> Response:
        """Issue the authorization code and send the browser back (RFC 6749 4.1.2)."""
        if not await self.p.state.finish(login):
            return self.p.pages.error(
                request, "error.login_used.title", "error.login_used.text", locale=login.locale
            )
        if login.fresh:  # a login by password (and factor), not one an SSO session spared
            methods = "+".join(m for m in login.amr if m != "mfa")
            self.p.metrics.login("success", methods)
            await self.p.audit.record(
                "login_succeeded",
                sub=user.sub,
                client=client.client_id,
                request=request,
                methods=[m for m in login.amr if m != "mfa"],
            )
        auth = login.request
        code = new_token()
        response = redirect(
            auth.redirect_uri, {"code": code, "state": auth.state, "iss": self.p.settings.issuer}
        )
        self.p.restarts.forget(request, response, login.id)
        session = await self._session_for(request, response, login, user)
        grant_id = uuid.uuid4().hex
        await self.p.store.upsert(
            "code",
            token_id(code),
            {
                "client_id": client.client_id,
                "redirect_uri": auth.redirect_uri,
                "scope": " ".join(auth.scope),
                "nonce": auth.nonce,
                "sub": user.sub,
                "grant_id": grant_id,
                "code_challenge": auth.code_challenge,
                "code_challenge_method": auth.code_challenge_method,
                "claims": auth.claims,
                "auth": {
                    "auth_time": session.auth_time,
                    "acr": answered_acr(auth, login.factor_done),
                    "amr": session.amr,
                    "sid": session.sid,
                },
            },
            expires_in=self.p.settings.tokens.code_ttl,
            grant_id=grant_id,
        )
        return response

    async def _session_for(
        self, request: Request, response: Response, login: PendingLogin, user: User
    ) -> SsoSession:
        """The SSO session this login continues, or a new one if it proved something new."""
        session = await self.p.state.current_session(request)
        if (
            session is not None
            and session.sub == user.sub
            and not login.fresh
            and not (login.factor_done and session.acr != ACR_MFA)
        ):
            return session
        if session is not None:
            await self.p.state.end_session(request)
        return await self.p.state.open_session(
            response,
            user.sub,
            login.auth_time or int(time.time()),
            login.amr,
            achieved_acr(login.factor_done),
        )
