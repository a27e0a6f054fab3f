"""Settings: TOML file, IDP_* overrides, and one clear line naming each bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from idp.errors import ConfigError
from idp.settings import load_settings

EXAMPLE = Path(__file__).parent.parent / "config" / "idp.toml"


def test_the_shipped_example_loads() -> None:
    settings = load_settings(EXAMPLE, environ={})
    assert settings.issuer == "http://127.0.0.1:8000"
    assert settings.store.backend == "sqlite"
    assert settings.server.trusted_proxies == ()  # no proxy unless one is configured


def test_the_store_path_is_taken_from_the_config_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # `make serve` (idp --config config/idp.toml, from the top of the project) keeps using
    # var/idp.sqlite3 there, and so does every command wherever it runs
    shipped = load_settings(EXAMPLE, environ={}).store.path
    assert shipped == str(EXAMPLE.parent.parent / "var" / "idp.sqlite3")
    site = tmp_path / "site"
    site.mkdir()
    (site / "idp.toml").write_text("[server]\nport = 9000\n")
    relative_config = load_settings("site/idp.toml", environ={}).store.path
    assert relative_config == str(site / "var" / "idp.sqlite3")
    # a path from the environment, or with no file at all, is the working directory's
    from_env = load_settings(site / "idp.toml", environ={"IDP_STORE_PATH": "x/s.db"}).store
    assert from_env.path == str(tmp_path / "x" / "s.db")
    assert load_settings(None, environ={}).store.path == str(tmp_path / "var" / "idp.sqlite3")
    absolute = load_settings(None, environ={"IDP_STORE_PATH": "/srv/idp.db"}).store.path
    assert absolute == "/srv/idp.db"


def test_a_store_url_chooses_postgresql() -> None:
    default = load_settings(None, environ={}).store
    assert (default.backend, default.networked) == ("sqlite", False)
    shared = load_settings(None, environ={"IDP_STORE_URL": "postgresql://idp@db/idp"}).store
    assert (shared.backend, shared.networked) == ("postgresql", True)


def test_a_store_cache_puts_short_lived_records_beside_postgresql_in_redis() -> None:
    from idp.store import open_store
    from idp.store.cached import CachedStore
    from idp.store.postgres import PostgresStore

    environ = {"IDP_STORE_URL": "postgresql://idp@db/idp"}
    assert isinstance(open_store(load_settings(None, environ=environ).store), PostgresStore)
    environ["IDP_STORE_CACHE"] = "redis://cache.example.org:6379/2"
    settings = load_settings(None, environ=environ).store
    assert settings.cache == "redis://cache.example.org:6379/2"
    store = open_store(settings)
    assert isinstance(store, CachedStore) and store.cache.connections.db == 2


def test_no_proxy_is_trusted_by_default() -> None:
    assert load_settings(None, environ={}).server.trusted_proxies == ()
    configured = load_settings(None, environ={"IDP_SERVER_FORWARDED_ALLOW_IPS": "10.0.0.5, ::1"})
    assert configured.server.trusted_proxies == ("10.0.0.5", "::1")


def test_no_management_port_unless_configured() -> None:
    assert load_settings(None, environ={}).server.management_port == 0
    configured = load_settings(None, environ={"IDP_SERVER_MANAGEMENT_PORT": "9000"})
    assert configured.server.management_port == 9000


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    config = tmp_path / "idp.toml"
    config.write_text('[server]\nissuer = "https://a.example"\nport = 9000\n')
    settings = load_settings(
        config,
        environ={"IDP_SERVER_ISSUER": "https://b.example", "IDP_FACTORS_ENABLED": "x, y"},
    )
    assert settings.issuer == "https://b.example"
    assert settings.server.port == 9000
    assert settings.factors.enabled == ("x", "y")
    assert settings.secure_cookies


@pytest.mark.parametrize(
    ("text", "environ", "message"),
    [
        ("[server]\nport = 'eighty'\n", {}, "server.port: expected a whole number"),
        ("[server]\nissuer = 'ftp://x'\n", {}, "server.issuer: must be an absolute http"),
        ("[server]\nissuer = 'https://x/'\n", {}, "no query, fragment or trailing slash"),
        ("[keys]\nalgorithm = 'HS256'\n", {}, "keys.algorithm: must be RS256 or ES256"),
        ("[tokens]\nttl = 5\n", {}, "tokens.ttl: unknown setting"),
        ("[nonsense]\n", {}, "[nonsense]: unknown section"),
        ("", {"IDP_SERVER_PORT": "http"}, "IDP_SERVER_PORT: expected a whole number"),
        ("[store]\nurl = 'mysql://db/idp'\n", {}, "store.url: must be a postgresql://"),
        ("", {"IDP_STORE_URL": "db.example.org/idp"}, "store.url: must be a postgresql://"),
        ("[store]\nbackend = 'sqlite'\n", {}, "store.backend: no longer a setting"),
        (
            "[store]\ncache = 'redis://127.0.0.1:6379/0'\n",
            {},
            "store.cache: a Redis cache goes beside a PostgreSQL store.url only",
        ),
        (
            "",
            {"IDP_STORE_URL": "postgresql://db/idp", "IDP_STORE_CACHE": "memcached://c"},
            "store.cache: must be a redis://host:port/db URL",
        ),
        (
            "[server]\nforwarded_allow_ips = 'proxy.lan'\n",
            {},
            "server.forwarded_allow_ips: 'proxy.lan' is not an IP address or a network",
        ),
        (
            "",
            {"IDP_SERVER_FORWARDED_ALLOW_IPS": "10.0.0.5/24"},
            "server.forwarded_allow_ips: '10.0.0.5/24' is not an IP address or a network",
        ),
        (
            "[server]\nforwarded_allow_ips = '10.0.0.5, *'\n",
            {},
            "server.forwarded_allow_ips: * (any client) stands alone",
        ),
        (
            "[server]\nmanagement_port = 70000\n",
            {},
            "server.management_port: must be between 1 and 65535 (0: none)",
        ),
        (
            "[server]\nport = 9000\n",
            {"IDP_SERVER_MANAGEMENT_PORT": "9000"},
            "server.management_port: must differ from server.port",
        ),
        ("[rate_limits]\nlogin = -1\n", {}, "rate_limits.login: must be 0 (no limit) or more"),
        ("", {"IDP_RATE_LIMITS_WINDOW": "0"}, "rate_limits.window: must be positive"),
        ("", {"IDP_LOGGING_FORMAT": "xml"}, 'logging.format: must be "text" or "json"'),
    ],
)
def test_bad_values_name_the_key(
    tmp_path: Path, text: str, environ: dict[str, str], message: str
) -> None:
    config = tmp_path / "idp.toml"
    config.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(config, environ=environ)
    assert message in str(info.value)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    config = tmp_path / "idp.toml"
    config.write_text("[server]\nport = 'x'\n[tokens]\ncode_ttl = 'y'\n")
    with pytest.raises(ConfigError) as info:
        load_settings(config, environ={})
    assert "server.port" in str(info.value) and "tokens.code_ttl" in str(info.value)


def test_missing_and_broken_files_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "absent.toml", environ={})
    broken = tmp_path / "broken.toml"
    broken.write_text("[server\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken, environ={})
