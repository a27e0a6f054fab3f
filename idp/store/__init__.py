"""Storage backends behind one interface (see base.py)."""

from idp.settings import StoreSettings
from idp.store.base import Client, SigningKey, Store, User


def open_store(settings: StoreSettings) -> Store:
    if settings.backend == "sqlite":
        from idp.store.sqlite import SqliteStore

        return SqliteStore(settings.path)
    raise ValueError(f"unknown store backend {settings.backend!r}")


def open_store_at(url: str) -> Store:
    """The store a URL names: `sqlite:PATH` or `postgresql://...`."""
    if url.startswith("sqlite:"):
        from idp.store.sqlite import SqliteStore

        return SqliteStore(url.removeprefix("sqlite:"))
    if url.startswith(("postgresql://", "postgres://")):
        from idp.store.postgres import PostgresStore

        return PostgresStore(url)
    raise ValueError(f"{url!r} names no store: use sqlite:PATH or postgresql://...")


def upgrade_store(settings: StoreSettings) -> tuple[str, int, int]:
    """Bring the store's schema up to this version's: where it is, the versions before
    and after."""
    if settings.backend == "sqlite":
        from idp.store.sqlite_schema import upgrade_file

        before, after = upgrade_file(settings.path)
        return settings.path, before, after
    raise ValueError(f"unknown store backend {settings.backend!r}")


__all__ = ["Client", "SigningKey", "Store", "User", "open_store", "open_store_at", "upgrade_store"]
