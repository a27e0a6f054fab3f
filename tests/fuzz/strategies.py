"""Hypothesis strategies for the fuzz tests: noise, and requests that are well formed but
for one part (a few parameters, the body, a header or the method).

Spoiling one part at a time lets the noise get past the checks of the other parts, to
the code behind them. Every strategy here is made once and drawn from many times:
making a strategy costs more than drawing from it.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple
from urllib.parse import quote_from_bytes

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from plugins.pocket_mfa.client import device_key

#: bounded and reproducible: a fixed seed, no example database, no deadline
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "100")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FORM = "application/x-www-form-urlencoded"
METHODS = ("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH")

# --- noise
#: text that can travel percent-encoded: any code point but lone surrogates
CHARS = st.characters(exclude_categories=("Cs",))
#: hostile values first: what a strategy draws most readily
NASTY = (
    '"\\\u00e9\u202e\ufeff',
    "\uff11\uff12\uff13\uff14\uff15\uff16",  # digits, but not ASCII ones
    "\u0663\u0663\u0663\u0663\u0663\u0663",
    "[" * 1500,
    '{"a":' * 500,
    "99999999999999999999",
    "1e309",
    "NaN",
    "-1",
    "\x00",
    "%ff",
    "a" * 2000,
    "a.b.c",
    "../../etc/passwd",
    "null",
    "[]",
    "{}",
    "true",
    "0",
    " ",
    "",
)
#: a parameter value: a hostile one, any text, or raw bytes that are often not UTF-8
VALUE = st.one_of(
    st.sampled_from(NASTY),
    st.text(CHARS, min_size=1, max_size=12),
    st.binary(min_size=1, max_size=16),
)
TEXT = st.one_of(st.sampled_from(NASTY), st.text(CHARS, max_size=12))
#: a header value: bytes without CR, LF or NUL, as a server would pass them on
HEADER = st.binary(max_size=30).map(lambda b: bytes(c for c in b if c not in b"\r\n\x00"))
#: arrays nested far past Python's recursion limit, past it, and a few levels deep
DEEP_JSON = st.sampled_from((30000, 3000, 300, 40, 2)).map(lambda n: b"[" * n + b"]" * n)
JSON_VALUE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from((2**64, -(2**63) - 1, 10**30))
    | st.floats()
    | st.text(CHARS, max_size=10)
    | st.just("\ud800"),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(CHARS, max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
CONTENT_TYPES = st.sampled_from(
    (
        None,
        FORM,
        f"{FORM}; charset=iso-8859-1",
        "application/json",
        "multipart/form-data",
        "multipart/form-data; boundary=xyz",
        "text/plain",
        "",
        "\x7f;;==",
    )
)
AUTHORIZATION_NOISE = st.one_of(
    st.none(),
    HEADER,
    HEADER.map(lambda b: b"Basic " + b),
    st.binary(max_size=40).map(lambda b: b"Basic " + base64.b64encode(b)),
    HEADER.map(lambda b: b"Bearer " + b),
    HEADER.map(lambda b: b"Device " + b),
)
COOKIE_NOISE = st.one_of(st.none(), HEADER, HEADER.map(lambda b: b"idp_browser=" + b))


def encode(value: str | bytes) -> str:
    raw = value if isinstance(value, bytes) else value.encode()
    return quote_from_bytes(raw, safe="")


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def as_json(value: Any) -> bytes:
    """JSON text; NaN, Infinity and lone surrogates too, which JSON has not."""
    return json.dumps(value).encode()


def basic(client_id: str, secret: str) -> bytes:
    return b"Basic " + base64.b64encode(f"{client_id}:{secret}".encode())


# --- parameters
#: the good values of a parameter: a few to pick from, or a strategy to draw one with
Good = Sequence[str | bytes] | st.SearchStrategy[Any]
Fields = tuple[tuple[str, st.SearchStrategy[Any]], ...]

STRAY = st.lists(st.tuples(VALUE, VALUE), min_size=1, max_size=2)
SPOILT = st.sampled_from((1, 1, 2, 3))


def _strategy(good: Good) -> st.SearchStrategy[Any]:
    if isinstance(good, st.SearchStrategy):
        return good
    return st.sampled_from(good) if good else VALUE


@st.composite
def _params(draw: st.DrawFn, fields: Fields, optional: Fields, spoil: bool) -> str:
    """The fields and some of the optional ones, urlencoded, with good values; spoilt: a
    few left out or replaced by noise, at times a stray parameter or one repeated."""
    chosen = [*fields, *(field for field in optional if draw(st.integers(0, 2)) == 0)]
    spoilt: set[int] = set()
    if spoil and chosen:
        spoilt = {draw(st.integers(0, len(chosen) - 1)) for _ in range(draw(SPOILT))}
    pairs: list[tuple[str | bytes, str | bytes]] = []
    for index, (name, good) in enumerate(chosen):
        if index not in spoilt:
            pairs.append((name, draw(good)))
        elif draw(st.booleans()):
            pairs.append((name, draw(VALUE)))
    if spoil and draw(st.integers(0, 3)) == 0:
        pairs += draw(STRAY)
    if spoil and pairs and draw(st.integers(0, 5)) == 0:
        pairs.append(pairs[draw(st.integers(0, len(pairs) - 1))])
    if pairs:
        turn = draw(st.integers(0, len(pairs) - 1))
        pairs = pairs[turn:] + pairs[:turn]
    return "&".join(f"{encode(k)}={encode(v)}" for k, v in pairs)


@dataclass(frozen=True)
class Form:
    """Urlencoded parameters: all good, or some spoilt."""

    clean: st.SearchStrategy[str]
    spoilt: st.SearchStrategy[str]


def form(fields: Mapping[str, Good], optional: Mapping[str, Good] | None = None) -> Form:
    made = tuple((name, _strategy(good)) for name, good in fields.items())
    maybe = tuple((name, _strategy(good)) for name, good in (optional or {}).items())
    return Form(_params(made, maybe, False), _params(made, maybe, True))


# --- JSON and JWTs
@st.composite
def _json_object(draw: st.DrawFn, fields: Mapping[str, st.SearchStrategy[Any]], spoil: bool) -> Any:
    if not spoil:
        return {name: draw(good) for name, good in fields.items()}
    if draw(st.integers(0, 5)) == 0:
        return draw(JSON_VALUE)
    return {
        name: draw(good) if draw(st.integers(0, 3)) > 0 else draw(JSON_VALUE)
        for name, good in fields.items()
        if draw(st.integers(0, 5)) > 0
    }


def json_object(fields: Mapping[str, st.SearchStrategy[Any]], spoil: bool = True) -> Any:
    """An object with the known members and good values; spoilt: members left out or
    replaced by any JSON, or any JSON instead of the object."""
    return _json_object(dict(fields), spoil)


@dataclass(frozen=True)
class JsonBody:
    """A JSON request body: the object with good members, or spoilt."""

    clean: st.SearchStrategy[Any]
    spoilt: st.SearchStrategy[Any]


def json_body(fields: Mapping[str, st.SearchStrategy[Any]]) -> JsonBody:
    return JsonBody(json_object(fields, spoil=False), json_object(fields))


JWT_HEADER = json_object(
    {
        "alg": st.sampled_from(("ES256", "RS256", "none", "HS256", "ES256\u00e9")),
        "typ": st.sampled_from(("JWT", "at+jwt")),
        "kid": st.sampled_from(("k", "")),
        "crit": st.sampled_from((["exp"], [5], "b64")),
    }
)
JWT_PART_NOISE = st.one_of(
    st.sampled_from((3000, 40)).map(lambda n: b64(b"[" * n + b"]" * n)),
    st.binary(max_size=30).map(b64),
    TEXT,
)
JWT_SIGNATURE_NOISE = st.one_of(st.binary(max_size=64).map(b64), TEXT)


@st.composite
def jwts(draw: st.DrawFn, claims: st.SearchStrategy[Any], key: dict[str, Any] | None = None) -> str:
    """A compact JWS of `claims`, now and then signed with `key` (an EC P-256 private
    JWK, ES256); its parts at times deep, not JSON, or not base64url."""
    parts = []
    for value in (draw(JWT_HEADER), draw(claims)):
        parts.append(b64(as_json(value)) if draw(st.integers(0, 4)) > 0 else draw(JWT_PART_NOISE))
    signing_input = ".".join(parts).encode()
    if key is not None and draw(st.booleans()):
        signature = b64(device_key.sign(key, signing_input))
    else:
        signature = draw(JWT_SIGNATURE_NOISE)
    return f"{parts[0]}.{parts[1]}.{signature}"


# --- headers and bodies
@dataclass(frozen=True)
class Headers:
    """Authorization, Cookie, Content-Type and Accept-Language: good, or some noisy."""

    good: st.SearchStrategy[dict[str, Any]]
    noisy: st.SearchStrategy[dict[str, Any]]


def _good_or(good: Sequence[st.SearchStrategy[Any]], noise: st.SearchStrategy[Any]) -> Any:
    """Half of the time one of the good values, if there are any; else the noise."""
    return st.one_of(st.one_of(*good), noise) if good else noise


def headers(
    authorization: Sequence[st.SearchStrategy[Any]] = (),
    cookies: Sequence[str] = (),
    content_type: str = FORM,
) -> Headers:
    good = {
        "authorization": st.one_of(*authorization) if authorization else st.none(),
        "cookie": st.sampled_from(cookies) if cookies else st.none(),
        "content-type": st.just(content_type),
        "accept-language": st.none(),
    }
    noisy = {
        "authorization": _good_or(authorization, AUTHORIZATION_NOISE),
        "cookie": _good_or([st.sampled_from(cookies)] if cookies else [], COOKIE_NOISE),
        "content-type": _good_or([st.just(content_type)], CONTENT_TYPES),
        "accept-language": st.one_of(st.none(), HEADER),
    }
    return Headers(st.fixed_dictionaries(good), st.fixed_dictionaries(noisy))


NOISE_BODY = st.one_of(
    form({"a": ("b",)}).spoilt.map(str.encode),
    JSON_VALUE.map(as_json),
    DEEP_JSON,
    st.binary(max_size=64),
)


# --- requests
class Request(NamedTuple):
    method: str
    query: str
    content: bytes | None
    headers: dict[str, Any]


#: which part of a request is spoilt (twice as often the parameters)
SPOILABLE = ("fields", "fields", "body", "headers", "method", "none")


@st.composite
def requests(
    draw: st.DrawFn,
    methods: Sequence[str],
    fields: Form,
    sent: Headers,
    json: JsonBody | None = None,
) -> Request:
    """A request well formed but for one part. The fields go in the query of a GET and
    in the body of anything else; with a JSON body, they are the query."""
    spoilt = draw(st.sampled_from(SPOILABLE))
    method = draw(st.sampled_from(METHODS if spoilt == "method" else methods))
    params = draw(fields.spoilt if spoilt == "fields" else fields.clean)
    if json is not None:
        query, content = params, as_json(draw(json.spoilt if spoilt == "fields" else json.clean))
    elif method == "GET":
        query, content = params, None
    else:
        query, content = "", params.encode()
    if spoilt == "body":
        content = draw(NOISE_BODY)
    headers_ = draw(sent.noisy if spoilt == "headers" else sent.good)
    return Request(method, query, content, headers_)
