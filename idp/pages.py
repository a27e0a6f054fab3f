"""Server-rendered pages: Jinja2 templates in the visitor's language, with safe headers."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from idp.i18n import Catalogue, Translator, negotiate
from idp.request_ids import request_id

#: pages never end up in a shared cache, and cannot be framed
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'"
    ),
}


def _datetime(timestamp: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


class Pages:
    def __init__(self, extra_folders: Sequence[Path] = ()) -> None:
        folders = [*extra_folders, Path(__file__).parent / "templates"]
        self.env = Environment(
            loader=ChoiceLoader([FileSystemLoader(str(f)) for f in folders]),
            autoescape=select_autoescape(["html"]),
            enable_async=False,
        )
        self.env.filters["datetime"] = _datetime
        #: the texts of the pages: the core's and the plugins' (FactorHost.add_messages)
        self.catalogue = Catalogue()

    def add_folder(self, folder: Path) -> None:
        loader = self.env.loader
        assert isinstance(loader, ChoiceLoader)
        loader.loaders = [FileSystemLoader(str(folder)), *loader.loaders]

    def translator(self, locale: str) -> Translator:
        return Translator(locale, self.catalogue)

    def locale_for(self, request: Request, ui_locales: str | None = None) -> str:
        return negotiate(
            ui_locales or request.query_params.get("ui_locales"),
            request.headers.get("accept-language"),
        )

    def render(
        self,
        request: Request,
        template: str,
        *,
        locale: str | None = None,
        status_code: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        locale = locale or self.locale_for(request)
        html = self.env.get_template(template).render(
            t=self.translator(locale), locale=locale, request=request, **context
        )
        return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)

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
    ) -> HTMLResponse:
        """An error page; `link` (URL, message key of its label) offers a way on. The page
        ends with the request's id, for a user's report to be found in the log."""
        return self.render(
            request,
            "error.html",
            locale=locale,
            status_code=status_code,
            title_key=title_key,
            message_key=message_key,
            detail=detail,
            link=link,
            request_id=request_id.get(),
        )
