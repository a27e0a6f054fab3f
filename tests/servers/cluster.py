"""Two or more `idp serve` processes on one PostgreSQL behind HAProxy, seen as one server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.live import LiveServer
from tests.servers.fixtures import Starter
from tests.servers.haproxy import HaproxyServer
from tests.servers.idp_nodes import IdpNodes, shared_store_settings
from tests.servers.processes import free_port


@dataclass
class Cluster(LiveServer):
    """The nodes behind HAProxy: the issuer and the URL a person uses are HAProxy's."""

    nodes: IdpNodes | None = None
    proxy: HaproxyServer | None = None

    @property
    def issuer(self) -> str:
        assert self.nodes is not None
        return self.nodes.issuer

    @property
    def url(self) -> str:
        return self.issuer

    @property
    def environ(self) -> dict[str, str]:
        assert self.nodes is not None
        return self.nodes.environ

    def logs(self) -> dict[str, str]:
        assert self.nodes is not None
        return self.nodes.logs()


def start_cluster(
    postgres_url: str,
    start_idp_nodes: Starter[..., IdpNodes],
    start_haproxy: Starter[..., HaproxyServer],
    *,
    count: int = 2,
    settings: dict[str, str] | None = None,
    health_interval: float = 0.2,
    **node_options: Any,
) -> Cluster:
    """`count` nodes on the PostgreSQL at `postgres_url`, sharing one Pocket key, behind
    HAProxy's round robin per request; HAProxy sends requests to the nodes whose
    /readyz, on their management port, said they can serve when it last asked (every
    `health_interval` seconds)."""
    entry = free_port()
    environ = shared_store_settings(
        postgres_url,
        # HAProxy's X-Forwarded-For (option forwardfor) says where a request came from
        IDP_SERVER_FORWARDED_ALLOW_IPS="127.0.0.1",
        **(settings or {}),
    )
    nodes = start_idp_nodes(
        count,
        issuer=f"http://127.0.0.1:{entry}",
        settings=environ,
        management=True,
        **node_options,
    )
    proxy = start_haproxy(
        nodes.addresses,
        entry,
        health_path="/readyz",
        health_ports=nodes.management_ports,
        health_interval=health_interval,
    )
    return Cluster(nodes[0], nodes=nodes, proxy=proxy)
