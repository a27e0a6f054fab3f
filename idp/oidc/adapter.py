"""The Starlette side of authlib: a framework request in, a framework response out.

authlib is synchronous; this is the one place where it meets the event loop. The form is
read here, and the authlib call runs in a greenlet (idp.oidc.bridge) within one unit of
work, so that what a grant writes lands together or not at all.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any
from urllib.parse import parse_qsl

import orjson
from authlib.oauth2.rfc6749 import (
    InvalidGrantError,
    InvalidRequestError,
    OAuth2Payload,
    OAuth2Request,
)
from starlette.requests import Request
from starlette.responses import Response

from idp.errors import AlreadyUsed, StoreError, StoreUnavailable
from idp.oidc.bridge import run_bridged
from idp.oidc.error_text import shown
from idp.oidc.rate_limit import named_client, rate_limited
from idp.rate_limits import RateLimits
from idp.store import Store

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_NO_STORE_RAW = [(k.lower().encode(), v.encode()) for k, v in NO_STORE.items()]
_JSON_RAW = (b"content-type", b"application/json")
SERVER_ERROR = "The server could not complete the request; try again later."
UNAVAILABLE = "The server cannot reach its store at the moment; try again shortly."

log = logging.getLogger("idp")


class FormPayload(OAuth2Payload):
    def __init__(self, values: dict[str, list[str]]) -> None:
        self._datalist = values
        self._data = {k: v[0] for k, v in values.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return defaultdict(list, self._datalist)

    def repeated(self) -> list[str]:
        """The parameters sent more than once (RFC 6749 3.2 forbids it)."""
        return sorted(k for k, v in self._datalist.items() if len(v) > 1)


class StarletteOAuth2Request(OAuth2Request):
    """An OAuth2Request from a Starlette request whose form has been read already.

    Transport security is the deployment's concern (the issuer's scheme), so authlib's
    own https check is not applied here.
    """

    payload: FormPayload

    def __init__(self, request: Request, form: list[tuple[str, str]]) -> None:
        # OAuth2Request.__init__ without authlib's InsecureTransportError check
        self.method = request.method
        self._request = request
        self.headers = request.headers
        self._body = None
        self.client = None
        self.auth_method = None
        self.user = None
        self.authorization_code = None
        self.refresh_token = None
        self.credential = None
        self._scope = None
        # a token request rarely has a query string: skip parsing an empty one
        query = request.query_params.multi_items() if request.scope.get("query_string") else []
        self._args: dict[str, str | None] = dict(query)
        self._form = dict(form)
        values: dict[str, list[str]] = {}
        for key, value in chain(query, form):
            values.setdefault(key, []).append(value)
        self.payload = FormPayload(values)

    @property
    def uri(self) -> str:  # type: ignore[override]
        return str(self._request.url)

    @property
    def args(self) -> dict[str, str | None]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


async def read_form(request: Request) -> list[tuple[str, str]]:
    """The parameters of the body every OAuth endpoint takes (RFC 6749 3.2): urlencoded,
    parsed directly; anything else goes through Starlette's general form parser, whose
    files are no parameters."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/x-www-form-urlencoded"):
        form = await request.form()
        return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    body = await request.body()
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        return []


def auth_methods_used(request: Request, form: dict[str, str]) -> list[str]:
    used = []
    if request.headers.get("authorization", "").lower().startswith("basic "):
        used.append("client_secret_basic")
    if form.get("client_secret"):
        used.append("client_secret_post")
    if form.get("client_assertion"):
        used.append("private_key_jwt")
    return used


def to_response(result: tuple[int, Any, Iterable[tuple[str, str]] | None]) -> Response:
    """authlib's (status, body, headers) as a response no cache keeps (RFC 6749 5.1); a
    dict body as JSON."""
    status, body, headers = result
    ours = list(_NO_STORE_RAW)
    if isinstance(body, dict):
        body = orjson.dumps(body)
        ours.append(_JSON_RAW)
    response = Response(body, status_code=status)
    set_here = {name for name, _ in ours}
    for name, value in headers or ():
        raw_name = name.lower().encode("latin-1")
        if raw_name not in set_here:
            ours.append((raw_name, value.encode("latin-1")))
    response.raw_headers.extend(ours)
    return response


async def oauth_response(
    request: Request,
    respond: Callable[[StarletteOAuth2Request], tuple[int, Any, Any]],
    store: Store,
    rate_limits: RateLimits,
    landed: Callable[[OAuth2Request, int], None] | None = None,
) -> Response:
    """Read the form, count the request against its client's rate limit, run `respond`
    (an authlib server call) in one unit of work, and translate its answer back; the
    answer leaves only once the unit's writes landed, and then `landed` hears of it
    (with the request and the answer's status)."""
    oauth_request = StarletteOAuth2Request(request, await read_form(request))
    repeated = oauth_request.payload.repeated()
    if repeated:
        names = ", ".join(shown(name) for name in repeated)
        error = InvalidRequestError(f"Parameters repeated: {names}.")
        return to_response(error())
    if len(auth_methods_used(request, oauth_request.form)) > 1:
        # RFC 6749 2.3: a client must not use more than one authentication method at once
        error = InvalidRequestError("More than one client authentication method was used.")
        return to_response(error())
    try:
        # counted on its own, outside the unit: a unit holds its counters until it ends,
        # which would line up every request of one client behind the one before
        client = named_client(request, oauth_request.form)
        retry_after = await rate_limits.retry_after("token", client)
        if retry_after is not None:
            return to_response(rate_limited(retry_after))
        async with store.unit():
            status, body, headers = await run_bridged(respond, oauth_request)
    except AlreadyUsed as used:
        return to_response((await refused_reuse(store, used))())
    except StoreUnavailable:
        raise  # answered as 503 with Retry-After by the app
    except Exception as exc:
        if isinstance(exc, StoreError):
            request.app.state.provider.metrics.store_error(unavailable=False)
        # what was written is rolled back already (Store.unit); the client gets the
        # error in OAuth's form, and the operator the traceback in the log
        log.exception("%s %s failed", request.method, request.url.path)
        return to_response(
            (500, {"error": "server_error", "error_description": SERVER_ERROR}, None)
        )
    if landed is not None:
        landed(oauth_request, status)
    return to_response((status, body, headers))


#: what a client is told of a code or refresh token used twice
_USED_ALREADY = {"code": "The code", "refresh_token": "The refresh token"}


async def refused_reuse(store: Store, used: AlreadyUsed) -> InvalidGrantError:
    """A code or refresh token used up by another request first (one that won a race):
    nothing of this request landed, and what the grant issued is revoked, as for any
    code or refresh token presented twice (RFC 6749 4.1.2, OAuth 2.0 Security BCP 4.14)."""
    record = await store.find(used.model, used.id)
    if record is not None and record.get("grant_id"):
        await store.revoke_by_grant_id(str(record["grant_id"]))
    what = _USED_ALREADY.get(used.model, "The grant")
    return InvalidGrantError(f"{what} has been used already.")
