"""Storage backends behind one interface (see base.py): the embedded sqlite file, or
PostgreSQL when `[store] url` names a database, with short-lived records in Redis when
`[store] cache` names one (cached.py).

Plugins reach the store only through the names exported here (the records view that
the host hands them, its JSON payloads, wake-ups and errors), never its submodules."""

from idp.errors import StoreError, StoreUnavailable
from idp.settings import StoreSettings
from idp.store.base import JSON, Client, RecordView, SigningKey, Store, User
from idp.store.wakeups import Wakeups, wait


def open_store(settings: StoreSettings) -> Store:
    if settings.url and settings.cache:
        from idp.store.cached import open_cached

        return open_cached(settings.url, settings.cache)
    if settings.url:
        from idp.store.postgres import PostgresStore

        return PostgresStore(settings.url)
    from idp.store.sqlite import SqliteStore

    return SqliteStore(settings.path)


def describe_store(settings: StoreSettings) -> str:
    """The store as messages name it: its kind and where it is (a URL without its
    password)."""
    if settings.url:
        from idp.store.postgres_connections import display

        return f"PostgreSQL store {display(settings.url)}"
    return f"sqlite store {settings.path}"


def open_store_at(url: str) -> Store:
    """The store a URL names: `sqlite:PATH` or `postgresql://...`."""
    if url.startswith("sqlite:"):
        from idp.store.sqlite import SqliteStore

        return SqliteStore(url.removeprefix("sqlite:"))
    if url.startswith(("postgresql://", "postgres://")):
        from idp.store.postgres import PostgresStore

        return PostgresStore(url)
    raise ValueError(f"{url!r} names no store: use sqlite:PATH or postgresql://...")


async def upgrade_store(settings: StoreSettings) -> tuple[str, int, int]:
    """Bring the store's schema up to this version's: where it is, the versions before
    and after."""
    if settings.url:
        from idp.store.postgres_connections import display, upgrade_database

        before, after = await upgrade_database(settings.url)
        return display(settings.url), before, after
    from idp.store.sqlite_schema import upgrade_file

    before, after = upgrade_file(settings.path)
    return settings.path, before, after


__all__ = [
    "JSON",
    "Client",
    "RecordView",
    "SigningKey",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "User",
    "Wakeups",
    "describe_store",
    "open_store",
    "open_store_at",
    "upgrade_store",
    "wait",
]
