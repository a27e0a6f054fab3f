"""Storage backends behind one interface (see base.py)."""

from idp.settings import StoreSettings
from idp.store.base import Client, SigningKey, Store, User


def open_store(settings: StoreSettings) -> Store:
    if settings.backend == "sqlite":
        from idp.store.sqlite import SqliteStore

        return SqliteStore(settings.path)
    raise ValueError(f"unknown store backend {settings.backend!r}")


def upgrade_store(settings: StoreSettings) -> tuple[str, int, int]:
    """Bring the store's schema up to this version's: where it is, the versions before
    and after."""
    if settings.backend == "sqlite":
        from idp.store.sqlite_schema import upgrade_file

        before, after = upgrade_file(settings.path)
        return settings.path, before, after
    raise ValueError(f"unknown store backend {settings.backend!r}")


__all__ = ["Client", "SigningKey", "Store", "User", "open_store", "upgrade_store"]
