"""The IdP served by uvicorn for tests that need requests to arrive at the same time."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from idp.app import create_app
from tests.conftest import Env, make_settings
from tests.served import serve


@contextmanager
def served_idp(tmp_path: Path, **environ: str) -> Iterator[tuple[str, Env]]:
    """The IdP on a free port, its issuer that URL; yields the URL and an Env (without a
    test client) on the same app, for setting up and reading the store."""
    envs: list[Env] = []

    def make_app(url: str) -> object:
        settings = make_settings(tmp_path, IDP_SERVER_ISSUER=url, **environ)
        app = create_app(settings)
        envs.append(Env(app, None, settings))  # type: ignore[arg-type]
        return app

    with serve(make_app) as url:
        yield url, envs[0]


def post_at_once(
    base_url: str, cookies: httpx.Cookies, path: str, forms: list[dict[str, str]]
) -> list[int]:
    """POST each form to `path` from one browser, all at the same time; their statuses."""

    async def post_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=base_url, cookies=cookies) as browser:
            return await asyncio.gather(*(browser.post(path, data=form) for form in forms))

    return [answer.status_code for answer in asyncio.run(post_all())]
