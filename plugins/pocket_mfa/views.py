"""What every Pocket page shares: rendering, CSRF checks, redirects, the TOTP setup view."""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from idp.factors import PAGE_HEADERS, PendingLoginView
from idp.store import User
from plugins.pocket_mfa.qr import qr_code
from plugins.pocket_mfa.services import Services
from plugins.pocket_mfa.totp import grouped, provisioning_uri

PREFIX = "/factors/pocket"


def render(
    s: Services,
    request: Request,
    template: str,
    locale: str,
    *,
    status_code: int = 200,
    **context: Any,
) -> Response:
    return s.host.pages.render(
        request,
        template,
        locale=locale,
        status_code=status_code,
        prefix=PREFIX,
        help_url=f"{PREFIX}/help?lang={locale}",
        **context,
    )


async def load_login(s: Services, request: Request) -> tuple[PendingLoginView, User] | Response:
    """The pending login named in the path and its user, or the expired page."""
    host = s.host
    login = await host.load_login(request, request.path_params["login_id"])
    if login is None or login.sub is None:
        return host.expired(request)
    user = await host.get_user(login.sub)
    if user is None:
        return host.expired(request, login.locale)
    return login, user


def csrf_ok(expected: str, submitted: object) -> bool:
    # as bytes: compare_digest refuses str with anything but ASCII in it
    return isinstance(submitted, str) and hmac.compare_digest(submitted.encode(), expected.encode())


def csrf_failed(s: Services, request: Request, locale: str) -> Response:
    return s.host.pages.error(
        request, "error.csrf.title", "error.csrf.text", status_code=403, locale=locale
    )


def see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303, headers=PAGE_HEADERS)


async def totp_view(
    s: Services, user: User, secret: str, locale: str, *, with_qr: bool = True
) -> dict[str, Any]:
    """The QR code (unless the browser cannot show it) and the details of a new
    authenticator setup that a person types in by hand."""
    issuer = s.config.issuer_name
    account = user.username
    t = s.host.pages.translator(locale)
    qr = None
    if with_qr:
        uri = provisioning_uri(secret, account, issuer, s.params)
        qr = await qr_code(s.host, uri, t("pocket.app.qr_label"))
    return {
        "qr": qr,
        "secret_text": grouped(secret),
        "account": account,
        "issuer": issuer,
        "digits": s.params.digits,
        "period": s.params.period,
        "algorithm": s.params.algorithm.upper(),
    }


def codes_view(s: Services, user: User, codes: list[str], locale: str) -> dict[str, Any]:
    """New recovery codes, and the same as a text file to download: a data: URL in the
    page itself, so the codes are nowhere else to fetch (the page is never cached)."""
    t = s.host.pages.translator(locale)
    heading = t("pocket.codes.file_heading", account=user.username, issuer=s.config.issuer_name)
    text = "\n".join([heading, "", *codes, ""])
    return {
        "codes": codes,
        "codes_download": "data:text/plain;charset=utf-8," + quote(text),
        "codes_file": t("pocket.codes.file_name"),
    }


def refusal(s: Services, locale: str, locked_minutes: int, *, has_app: bool) -> str:
    """Why a code was refused; a user without an app is asked for a recovery code."""
    t = s.host.pages.translator(locale)
    if locked_minutes:
        return t("pocket.code.locked", count=locked_minutes)
    return t("pocket.code.wrong" if has_app else "pocket.code.wrong_recovery")


def help_route(s: Services) -> Route:
    async def help_page(request: Request) -> Response:
        locale = s.host.pages.locale_for(request, request.query_params.get("lang"))
        return render(s, request, "pocket/help.html", locale, digits=s.params.digits)

    return Route("/help", help_page, methods=["GET"])


async def pair_view(s: Services, uri: str, locale: str) -> dict[str, Any]:
    """The QR code of a Pocket pairing URI (one-time pairing token and the issuer)."""
    t = s.host.pages.translator(locale)
    return {"qr": await qr_code(s.host, uri, t("pocket.pair.qr_label")), "pairing_uri": uri}


def wait_json(done: bool, next_url: str) -> Response:
    """The answer of a long-poll endpoint that the page's script waits on."""
    return JSONResponse({"done": done, "next": next_url}, headers={"Cache-Control": "no-store"})
