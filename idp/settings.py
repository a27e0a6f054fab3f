"""Typed settings: config/idp.toml, overridden by IDP_<SECTION>_<KEY> environment variables.

Every default lives here, beside the setting it belongs to. Loading checks the whole
file at once and fails with one line per problem, each naming the key.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from idp.errors import ConfigError


@dataclass(frozen=True)
class ServerSettings:
    issuer: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    #: the proxies whose X-Forwarded-For / -Proto are trusted: comma-separated addresses
    #: or networks ("*" for any client). Empty: none, every request's address is the one
    #: that connected (a header from any local process would otherwise choose the address
    #: the login throttle counts)
    forwarded_allow_ips: str = ""
    #: log every HTTP request (costs about a third of the throughput of light endpoints;
    #: a TLS proxy in front usually keeps this log already)
    access_log: bool = False
    #: a second port, on `host`, for load balancers and monitoring: GET /healthz (the
    #: process is up) and GET /readyz (it can serve: the store, and the Redis cache if
    #: any, answer, with the schema this version needs). 0: none
    management_port: int = 0

    @property
    def trusted_proxies(self) -> tuple[str, ...]:
        """The entries of `forwarded_allow_ips`; none when it is empty."""
        return tuple(part.strip() for part in self.forwarded_allow_ips.split(",") if part.strip())


@dataclass(frozen=True)
class StoreSettings:
    #: PostgreSQL, which several processes and nodes share:
    #: postgresql://user@host:port/database (a password is better kept in IDP_STORE_URL or
    #: ~/.pgpass). Empty: the embedded sqlite file at `path`, for one process
    url: str = ""
    #: sqlite: the database file. A relative path in the config file is taken from the
    #: file's folder; one from IDP_STORE_PATH (or without a config file) from the working
    #: directory. Loaded settings always hold it absolute.
    path: str = "var/idp.sqlite3"
    #: beside a PostgreSQL `url` only: redis://host:port/db, where short-lived records
    #: (codes, pending logins and pushes: idp/store/short_lived.py) and every counter are
    #: kept instead, and through which wake-ups reach the other processes. Empty: all in
    #: PostgreSQL
    cache: str = ""

    @property
    def backend(self) -> str:
        """ "postgresql" when `url` names a database, else "sqlite"."""
        return "postgresql" if self.url else "sqlite"

    @property
    def networked(self) -> bool:
        """Several processes may share this store."""
        return self.backend != "sqlite"

    @property
    def local_folder(self) -> Path | None:
        """The folder of the embedded store's file, where files that belong with the data
        may be kept; None for a store that several processes share."""
        return None if self.networked else Path(self.path).parent


@dataclass(frozen=True)
class KeySettings:
    #: signing algorithm of new keys: RS256 (OpenID default) or ES256
    algorithm: str = "RS256"
    rsa_bits: int = 2048


@dataclass(frozen=True)
class TokenSettings:
    code_ttl: int = 60
    access_token_ttl: int = 3600
    id_token_ttl: int = 3600
    refresh_token_ttl: int = 30 * 24 * 3600
    #: PKCE (RFC 7636) is always required for public clients; this extends it to all
    require_pkce: bool = False


@dataclass(frozen=True)
class SessionSettings:
    cookie_name: str = "idp_session"
    ttl: int = 12 * 3600
    #: how long a started login (password page, second factor) may take
    login_ttl: int = 30 * 60


@dataclass(frozen=True)
class LoginSettings:
    #: failures in `window` seconds after which each attempt is slowed down
    slow_after: int = 3
    #: failures per account in `window` seconds after which it is refused
    account_limit: int = 10
    #: failures per IP address in `window` seconds after which it is refused
    address_limit: int = 50
    window: int = 15 * 60
    #: the delay added per failure past `slow_after`, capped at 5 seconds
    delay_step: float = 0.5
    #: how long a browser that logged in keeps its own allowance of attempts (seconds)
    device_cookie_ttl: int = 180 * 24 * 3600


@dataclass(frozen=True)
class RateLimitSettings:
    """Requests allowed per `window` seconds before the next is answered 429 Too Many
    Requests with Retry-After (RFC 6585 4); 0 turns a limit off. Counted in the store, so
    every process shares the counts (in Redis with a [store] cache)."""

    window: int = 60
    #: per client (the one a request names), on /token, /introspect and /revoke; off by
    #: default, since a busy machine client or resource server asks many times a second
    #: and counting costs every such request a write
    token: int = 0
    #: per address, GET and POST of the password page
    login: int = 120
    #: per address, the device API of second-factor plugins (a phone's requests)
    device_api: int = 300
    #: per client of the admin API (/admin/api/v1)
    admin_api: int = 600


@dataclass(frozen=True)
class LoggingSettings:
    #: "text" (lines for people) or "json" (one JSON object per line, for collectors)
    format: str = "text"


@dataclass(frozen=True)
class AuditSettings:
    """The security audit trail (idp.audit): every event is a JSON line and a record in
    the durable store, readable at GET /admin/api/v1/audit-events."""

    #: where the JSON lines go: "stdout", "file" (at `file`) or "off" (the store only)
    output: str = "stdout"
    #: with output = "file": the file the lines are appended to
    file: str = ""
    #: how long events are kept in the store, in days
    retention: int = 90
    #: a receiver that each event is POSTed to as JSON, signed with
    #: X-Idp-Signature: sha256=HMAC-SHA256(webhook_secret, body). Empty: none
    webhook_url: str = ""
    webhook_secret: str = ""
    #: how many times a delivery is tried before it is given up (with a log line)
    webhook_tries: int = 5
    #: events waiting for delivery at most; past it a new event's delivery is dropped
    #: (with a log line): the webhook never holds up a request
    webhook_queue: int = 1000


@dataclass(frozen=True)
class PasswordSettings:
    """argon2id parameters (RFC 9106, second recommended option)."""

    time_cost: int = 3
    memory_cost: int = 64 * 1024
    parallelism: int = 1


@dataclass(frozen=True)
class FactorSettings:
    #: second-factor plugins to enable, by entry-point name (group `idp.factors`)
    enabled: tuple[str, ...] = ()
    #: a second factor is mandatory unless a client's registration relaxes it
    required: bool = True
    #: "remember this browser for N days" after a second factor (0: not offered)
    remember_days: int = 0
    #: users who existed when a postponement was configured may set up their second
    #: factor later until this date (YYYY-MM-DD, UTC; "" for no date) ...
    enroll_by: str = ""
    #: ... and/or for this many logins (0: no count)
    enroll_within_logins: int = 0


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    keys: KeySettings = field(default_factory=KeySettings)
    tokens: TokenSettings = field(default_factory=TokenSettings)
    session: SessionSettings = field(default_factory=SessionSettings)
    login: LoginSettings = field(default_factory=LoginSettings)
    rate_limits: RateLimitSettings = field(default_factory=RateLimitSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    audit: AuditSettings = field(default_factory=AuditSettings)
    passwords: PasswordSettings = field(default_factory=PasswordSettings)
    factors: FactorSettings = field(default_factory=FactorSettings)
    #: plugin sections ([plugins.NAME]) are handed to each plugin as they are
    plugins: Mapping[str, Mapping[str, object]] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return self.server.issuer

    @property
    def https(self) -> bool:
        """The issuer is https: TLS ends at this server or at a proxy in front of it."""
        return self.server.issuer.startswith("https://")

    @property
    def secure_cookies(self) -> bool:
        return self.https


#: settings that are gone, and what took their place
_RETIRED = {
    "store.backend": "no longer a setting: the store is PostgreSQL when store.url is set,"
    " else the sqlite file at store.path",
}

_SECTIONS = {f.name: f.type for f in dataclasses.fields(Settings) if f.name != "plugins"}


def load_settings(
    path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the TOML file (if any), apply IDP_* overrides, validate everything at once."""
    environ = os.environ if environ is None else environ
    raw: dict[str, object] = {}
    if path is not None:
        try:
            with open(path, "rb") as fh:
                raw = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None

    problems: list[str] = []
    sections: dict[str, object] = {}
    hints = typing.get_type_hints(Settings)
    for name in raw:
        if name not in _SECTIONS and name != "plugins":
            problems.append(f"[{name}]: unknown section")
    for name in _SECTIONS:
        cls = hints[name]
        given = raw.get(name, {})
        if not isinstance(given, dict):
            problems.append(f"{name}: must be a table")
            continue
        sections[name] = _build_section(name, cls, given, environ, problems)
    plugins = raw.get("plugins", {})
    if not isinstance(plugins, dict):
        problems.append("plugins: must be a table of tables")
        plugins = {}
    if problems:
        raise ConfigError("; ".join(problems))
    store = sections["store"]
    assert isinstance(store, StoreSettings)
    from_file = path is not None and "IDP_STORE_PATH" not in environ
    anchor = Path(path).parent if path is not None and from_file else Path.cwd()
    sections["store"] = _anchored(store, anchor)
    settings = Settings(**sections, plugins=plugins)  # type: ignore[arg-type]
    _validate(settings, problems)
    if problems:
        raise ConfigError("; ".join(problems))
    return settings


def _anchored(store: StoreSettings, folder: Path) -> StoreSettings:
    """The store settings with the sqlite path made absolute, taken from `folder`: every
    command then finds the same file, wherever it is run from."""
    if store.path == ":memory:" or Path(store.path).is_absolute():
        return store
    return dataclasses.replace(store, path=os.path.abspath(folder / store.path))


def _build_section(
    section: str,
    cls: type,
    given: dict[str, object],
    environ: Mapping[str, str],
    problems: list[str],
) -> object:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    for key in given:
        if key not in known:
            gone = _RETIRED.get(f"{section}.{key}", "unknown setting")
            problems.append(f"{section}.{key}: {gone}")
    values: dict[str, object] = {}
    for f in dataclasses.fields(cls):
        env_name = f"IDP_{section}_{f.name}".upper()
        if env_name in environ:
            value: object = _from_env(environ[env_name], hints[f.name])
            where = env_name
        elif f.name in given:
            value, where = given[f.name], f"{section}.{f.name}"
        else:
            continue
        checked = _check_type(value, hints[f.name])
        if checked is None:
            problems.append(f"{where}: expected {_type_name(hints[f.name])}, got {value!r}")
        else:
            values[f.name] = checked
    return cls(**values)


def _from_env(text: str, kind: object) -> object:
    if kind is bool:
        lowered = text.strip().lower()
        return {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}.get(
            lowered, text
        )
    if kind is int:
        try:
            return int(text)
        except ValueError:
            return text
    if kind is float:
        try:
            return float(text)
        except ValueError:
            return text
    if typing.get_origin(kind) is tuple:
        return tuple(part.strip() for part in text.split(",") if part.strip())
    return text


def _check_type(value: object, kind: object) -> object | None:
    if kind is bool:
        return value if isinstance(value, bool) else None
    if kind is int:
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return float(value) if ok else None  # type: ignore[arg-type]
    if kind is str:
        return value if isinstance(value, str) else None
    if typing.get_origin(kind) is tuple:
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return tuple(value)
        return None
    return value


_TYPE_NAMES: dict[object, str] = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "a string",
}


def _type_name(kind: object) -> str:
    if typing.get_origin(kind) is tuple:
        return "a list of strings"
    return _TYPE_NAMES.get(kind, str(kind))


def _validate(s: Settings, problems: list[str]) -> None:
    parts = urlsplit(s.server.issuer)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        problems.append("server.issuer: must be an absolute http(s) URL")
    elif parts.query or parts.fragment or s.server.issuer.endswith("/"):
        problems.append("server.issuer: must have no query, fragment or trailing slash")
    if not 0 < s.server.port < 65536:
        problems.append("server.port: must be between 1 and 65535")
    if not 0 <= s.server.management_port < 65536:
        problems.append("server.management_port: must be between 1 and 65535 (0: none)")
    elif s.server.management_port == s.server.port:
        problems.append("server.management_port: must differ from server.port")
    proxies = s.server.trusted_proxies
    if "*" in proxies and len(proxies) > 1:
        problems.append("server.forwarded_allow_ips: * (any client) stands alone")
    for proxy in proxies:
        if proxy != "*" and not _is_network(proxy):
            problems.append(
                f"server.forwarded_allow_ips: {proxy!r} is not an IP address or a network"
            )
    if s.store.url and not s.store.url.startswith(("postgresql://", "postgres://")):
        problems.append(
            "store.url: must be a postgresql://user@host:port/database URL"
            " (or empty for the sqlite file at store.path)"
        )
    if s.store.cache and not s.store.url:
        problems.append(
            "store.cache: a Redis cache goes beside a PostgreSQL store.url only; the"
            " embedded sqlite store keeps short-lived records itself (remove store.cache"
            " or set store.url)"
        )
    elif s.store.cache and not s.store.cache.startswith(("redis://", "rediss://", "unix://")):
        problems.append(
            "store.cache: must be a redis://host:port/db URL (rediss:// for TLS,"
            " unix:///path?db=N for a socket)"
        )
    if s.keys.algorithm not in ("RS256", "ES256"):
        problems.append("keys.algorithm: must be RS256 or ES256")
    if s.keys.rsa_bits < 2048:
        problems.append("keys.rsa_bits: must be at least 2048")
    for name in ("code_ttl", "access_token_ttl", "id_token_ttl", "refresh_token_ttl"):
        if getattr(s.tokens, name) <= 0:
            problems.append(f"tokens.{name}: must be positive")
    for name in ("ttl", "login_ttl"):
        if getattr(s.session, name) <= 0:
            problems.append(f"session.{name}: must be positive")
    if s.login.account_limit < 1 or s.login.address_limit < 1 or s.login.window < 1:
        problems.append("login: account_limit, address_limit and window must be positive")
    if s.login.device_cookie_ttl < 1:
        problems.append("login.device_cookie_ttl: must be positive")
    if s.rate_limits.window < 1:
        problems.append("rate_limits.window: must be positive")
    for name in ("token", "login", "device_api", "admin_api"):
        if getattr(s.rate_limits, name) < 0:
            problems.append(f"rate_limits.{name}: must be 0 (no limit) or more")
    if s.logging.format not in ("text", "json"):
        problems.append('logging.format: must be "text" or "json"')
    if not 0 <= s.factors.remember_days <= 400:
        problems.append("factors.remember_days: must be from 0 (not offered) to 400")
    if s.factors.enroll_within_logins < 0:
        problems.append("factors.enroll_within_logins: must be 0 (no count) or more")
    if s.factors.enroll_by and not _is_date(s.factors.enroll_by):
        problems.append("factors.enroll_by: must be a date, YYYY-MM-DD (or empty for none)")
    _validate_audit(s.audit, problems)
    if s.passwords.memory_cost < 8 * 1024 or s.passwords.time_cost < 1:
        problems.append("passwords: memory_cost must be at least 8192 KiB and time_cost >= 1")


def _is_date(text: str) -> bool:
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def _validate_audit(a: AuditSettings, problems: list[str]) -> None:
    if a.output not in ("stdout", "file", "off"):
        problems.append('audit.output: must be "stdout", "file" or "off"')
    elif a.output == "file" and not a.file:
        problems.append('audit.file: must name a file when audit.output is "file"')
    if a.retention < 1:
        problems.append("audit.retention: must be at least 1 (days)")
    if a.webhook_url and not a.webhook_url.startswith(("http://", "https://")):
        problems.append("audit.webhook_url: must be an http(s) URL (or empty for none)")
    elif a.webhook_url and not a.webhook_secret:
        problems.append("audit.webhook_secret: must be set when audit.webhook_url is")
    if a.webhook_tries < 1 or a.webhook_queue < 1:
        problems.append("audit: webhook_tries and webhook_queue must be positive")


def _is_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text)  # as uvicorn reads it: no host bits in a network
    except ValueError:
        return False
    return True
