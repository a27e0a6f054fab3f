"""What a process counts for its operators, in Prometheus' terms (`GET /metrics` on the
management port, idp.management).

Every metric is named `idp_...` and has only labels with few values: an outcome, a grant
type, a registered client's id, a route's template, never a user, an address or a raw
path. The provider holds one `Metrics`; plugins reach it as `FactorHost.metrics`.

Counting costs a dictionary look-up and an increment: the labelled children are kept
here once made. With several worker processes (`idp serve --workers N`), the serve
command sets PROMETHEUS_MULTIPROC_DIR before the workers start; each then writes its
values to files there, and `/metrics` adds up every worker's (`exposition`).
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

#: where prometheus-client keeps the values of every worker process (multiprocess mode)
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"

#: a token request takes milliseconds: most fall in the first buckets
_REQUEST_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
#: a store operation takes well under a millisecond in sqlite, a round trip or two over
#: a network
_STORE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
#: a person answers a challenge on a phone in seconds
_ANSWER_BUCKETS = (1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)

#: Prometheus' text format, which every version of its server reads (the names here need
#: none of the escaping of version 1.0.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """The provider's metrics, registered in `registry` (a new one by default, so that
    each app in a process counts on its own)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.http_requests = Counter(
            "idp_http_requests",
            "HTTP requests answered, by route template and status class",
            ["route", "status"],
            registry=r,
        )
        self.logins = Counter(
            "idp_logins",
            "Login steps ended, by outcome (success or why not) and factor (RFC 8176 methods)",
            ["outcome", "factor"],
            registry=r,
        )
        self.tokens_issued = Counter(
            "idp_tokens_issued",
            "Token responses issued by the token endpoint, by grant type and client",
            ["grant_type", "client_id"],
            registry=r,
        )
        self.token_seconds = Histogram(
            "idp_token_request_duration_seconds",
            "Time to answer a request to the token endpoint",
            buckets=_REQUEST_BUCKETS,
            registry=r,
        )
        self.factor_answer_seconds = Histogram(
            "idp_factor_answer_seconds",
            "Time from a second-factor challenge sent to its answer, by factor",
            ["factor"],
            buckets=_ANSWER_BUCKETS,
            registry=r,
        )
        self.refusals = Counter(
            "idp_refusals",
            "Requests refused by throttling or a rate limit, by kind",
            ["kind"],
            registry=r,
        )
        self.store_errors = Counter(
            "idp_store_errors",
            "Requests that met a store error: unavailable (cannot be reached) or failed",
            ["kind"],
            registry=r,
        )
        self.store_seconds = Histogram(
            "idp_store_operation_seconds",
            "Time of store operations, by kind (read, write, counter, unit) and backend"
            " (sqlite, postgresql, redis); a unit of work counts its start and landing",
            ["kind", "backend"],
            buckets=_STORE_BUCKETS,
            registry=r,
        )
        self._requests: dict[tuple[str, int], Counter] = {}

    def request_answered(self, route: str, status: int) -> None:
        """One HTTP request answered with `status` (counted by its class, 2xx...)."""
        key = (route, status // 100)
        child = self._requests.get(key)
        if child is None:
            child = self.http_requests.labels(route, f"{status // 100}xx")
            self._requests[key] = child
        child.inc()

    def login(self, outcome: str, factor: str) -> None:
        """A login step ended: `outcome` is "success" or why not ("wrong_password",
        "throttled", ...), `factor` the RFC 8176 methods it was about ("pwd", "pwd+otp")."""
        self.logins.labels(outcome, factor).inc()

    def token_issued(self, grant_type: str, client_id: str) -> None:
        self.tokens_issued.labels(grant_type, client_id).inc()

    def factor_answered(self, factor: str, seconds: float) -> None:
        """A second-factor challenge was answered `seconds` after it was sent."""
        self.factor_answer_seconds.labels(factor).observe(max(0.0, seconds))

    def refused(self, kind: str) -> None:
        """A request refused by throttling or a rate limit of `kind`."""
        self.refusals.labels(kind).inc()

    def store_error(self, unavailable: bool) -> None:
        self.store_errors.labels("unavailable" if unavailable else "failed").inc()

    def exposition(self) -> bytes:
        """Every metric in Prometheus' text format: of this process, or, in multiprocess
        mode, of every worker process added up."""
        if os.environ.get(MULTIPROC_DIR):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)
