"""Answers to the relying party by redirect (RFC 6749 4.1.2, RFC 9207 `iss`)."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from authlib.oauth2.base import OAuth2Error
from starlette.responses import RedirectResponse

from idp.pages import PAGE_HEADERS


def add_query(uri: str, params: dict[str, str | None]) -> str:
    """Append parameters to a redirect URI, keeping the query it already has."""
    parts = urlsplit(uri)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def redirect(uri: str, params: dict[str, str | None]) -> RedirectResponse:
    return RedirectResponse(add_query(uri, params), status_code=303, headers=PAGE_HEADERS)


def error_redirect(
    redirect_uri: str, error: OAuth2Error, state: str | None, issuer: str
) -> RedirectResponse:
    return redirect(
        redirect_uri,
        {
            "error": error.error,
            "error_description": error.description or None,
            "state": state,
            "iss": issuer,
        },
    )
