"""Storage backends behind one interface (see base.py): the embedded sqlite file, or
PostgreSQL when `[store] url` names a database."""

from idp.settings import StoreSettings
from idp.store.base import Client, SigningKey, Store, User


def open_store(settings: StoreSettings) -> Store:
    if settings.url:
        from idp.store.postgres import PostgresStore

        return PostgresStore(settings.url)
    from idp.store.sqlite import SqliteStore

    return SqliteStore(settings.path)


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


__all__ = ["Client", "SigningKey", "Store", "User", "open_store", "upgrade_store"]
