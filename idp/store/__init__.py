"""Storage backends behind one interface (see base.py)."""

from idp.settings import StoreSettings
from idp.store.base import Client, SigningKey, Store, User


def open_store(settings: StoreSettings) -> Store:
    if settings.backend == "sqlite":
        from idp.store.sqlite import SqliteStore

        return SqliteStore(settings.path)
    raise ValueError(f"unknown store backend {settings.backend!r}")


__all__ = ["Client", "SigningKey", "Store", "User", "open_store"]
