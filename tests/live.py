"""The real provider as a separate process, for end-to-end tests.

`live_server(folder)` starts `idp serve` (the same command an operator runs) on a free
port of 127.0.0.1 with its sqlite store in `folder`, waits until discovery answers,
and stops it afterwards. Users and clients are provisioned through the `idp` command
line too, with passwords on standard input, so the tests go through every public
surface an operator or a relying party uses. The process itself is an
`tests.servers.idp_nodes.IdpNode`, as each node of a deployment is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.servers.idp_nodes import ROOT, IdpNode, idp_environ, run_idp

__all__ = ["ROOT", "LiveServer", "live_server"]


@dataclass
class LiveServer:
    node: IdpNode
    users: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return self.node.issuer

    @property
    def url(self) -> str:
        return self.node.url

    @property
    def folder(self) -> Path:
        return self.node.folder

    @property
    def environ(self) -> dict[str, str]:
        return {**self.node.environ, "IDP_SERVER_ISSUER": self.issuer}

    def log(self) -> str:
        return self.node.log()

    def logs(self) -> dict[str, str]:
        return self.node.logs()

    def idp(self, *args: str, stdin: str | None = None) -> str:
        """Run `idp --config ... ARGS` against this server's store; returns stdout."""
        return run_idp(self.environ, *args, stdin=stdin or "")

    def add_user(
        self,
        username: str,
        password: str,
        *,
        name: str = "",
        given_name: str = "",
        family_name: str = "",
        email: str = "",
        email_verified: bool = True,
        locale: str = "",
    ) -> dict[str, Any]:
        """`idp users add --json` with the password on stdin; returns the user as
        `idp users show` has it."""
        args = ["users", "add", username, "--password-stdin", "--json"]
        for flag, value in (
            ("--name", name),
            ("--given-name", given_name),
            ("--family-name", family_name),
            ("--email", email),
            ("--locale", locale),
        ):
            if value:
                args += [flag, value]
        if email_verified:
            args.append("--email-verified")
        shown: dict[str, Any] = json.loads(self.idp(*args, stdin=password + "\n"))
        self.users[username] = shown
        return shown

    def add_client(
        self,
        name: str,
        *,
        client_id: str | None = None,
        redirect_uris: Sequence[str] = (),
        post_logout_redirect_uris: Sequence[str] = (),
        grants: Sequence[str] = ("authorization_code", "refresh_token"),
        scope: str = "openid profile email offline_access",
        first_party: bool = True,
        public: bool = False,
        mfa: str = "optional",
    ) -> dict[str, Any]:
        """`idp clients add ... --json`; returns {"client_id", "client_secret"}."""
        args = ["clients", "add", name, "--scope", scope, "--mfa", mfa, "--json"]
        if client_id:
            args += ["--client-id", client_id]
        for uri in redirect_uris:
            args += ["--redirect-uri", uri]
        for uri in post_logout_redirect_uris:
            args += ["--post-logout-redirect-uri", uri]
        for grant in grants:
            args += ["--grant", grant]
        if first_party:
            args.append("--first-party")
        if public:
            args.append("--public")
        created: dict[str, Any] = json.loads(self.idp(*args))
        return created


@contextmanager
def live_server(
    folder: Path,
    *,
    demo: bool = False,
    settings: Mapping[str, str] | None = None,
    log_level: str = "warning",
) -> Iterator[LiveServer]:
    """Run `idp serve` on a free 127.0.0.1 port with its store in `folder`.

    `settings` are extra IDP_<SECTION>_<KEY> variables for the server and the CLI.
    """
    folder.mkdir(parents=True, exist_ok=True)
    node = IdpNode("server", folder, idp_environ(folder, settings), demo=demo, log_level=log_level)
    node.start()
    try:
        yield LiveServer(node)
    finally:
        node.stop()
