"""`idp store copy`: move an installation from one store to another, losing nothing."""

from __future__ import annotations

import argparse
from pathlib import Path

from idp.cli.common import CliError
from idp.settings import Settings
from idp.store import Store, open_store_at


async def cmd_store(args: argparse.Namespace, settings: Settings) -> None:
    source = _open(args.source, source=True)
    target = _open(args.target, source=False)
    try:
        await source.start()
        await target.start()
        await copy(source, target, args.source, args.target)
    finally:
        await source.close()
        await target.close()


async def copy(source: Store, target: Store, source_name: str, target_name: str) -> None:
    """Copy everything, then check that the target holds as many of each as the source."""
    before = await target.export_all()
    if any(before.counts().values()):
        raise CliError(f"{target_name} is not empty; copy only into a new store")
    snapshot = await source.export_all()
    await target.import_all(snapshot)
    wanted, found = snapshot.counts(), (await target.export_all()).counts()
    width = max((len(name) for name in wanted), default=0)
    for name, count in wanted.items():
        print(f"  {name:<{width}}  {count:>8}")
    if found != wanted:
        differing = ", ".join(
            sorted(n for n in wanted.keys() | found.keys() if wanted.get(n) != found.get(n))
        )
        raise CliError(f"the copy in {target_name} differs from {source_name} in: {differing}")
    print(f"copied {source_name} to {target_name}: every count matches")


def _open(url: str, source: bool) -> Store:
    """The store `url` names; a sqlite source must exist, and is only read."""
    if url.startswith("sqlite:"):
        path = Path(url.removeprefix("sqlite:"))
        if source and not path.is_file():
            raise CliError(f"there is no sqlite store at {path}")
        if source:
            from idp.store.sqlite import SqliteStore

            return SqliteStore(path, read_only=True)
    try:
        return open_store_at(url)
    except ValueError as exc:
        raise CliError(str(exc)) from None
